import { plainTextSettings, type StackFile } from "./stack-file";
import { ConfigError } from "./yaml-source";

/**
 * The Snowflake provider's settings that are credentials (`snowflake:<key>` in the stack's config):
 * every input of `@pulumi/snowflake`'s Provider that authenticates.
 */
export const snowflakeCredentialKeys = [
    "snowflake:password",
    "snowflake:privateKey",
    "snowflake:privateKeyPassphrase",
    "snowflake:token",
    "snowflake:passcode",
    "snowflake:clientRequestMfaToken",
] as const;

/**
 * Refuses a stack file that holds a Snowflake credential in plain text, each at its line and
 * column: credentials reach the provider only as Pulumi secrets (encrypted in the stack file, or from
 * an environment). Nothing is declared before this check passes.
 */
export function refusePlainSnowflakeCredentials(stackFile: StackFile): void {
    const problems = plainTextSettings(
        stackFile,
        snowflakeCredentialKeys,
        "is plain text; a Snowflake credential must be a secret: pulumi config rm it, then pulumi config set --secret it",
    );
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
}
