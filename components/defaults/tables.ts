import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

/** What every DynamoDB table of the platform is declared with, before its own keys and settings. */
export interface TableDefaults {
    readonly billingMode: "PAY_PER_REQUEST";
    readonly pointInTimeRecovery: { readonly enabled: true };
    readonly serverSideEncryption: { readonly enabled: true; readonly kmsKeyArn: pulumi.Input<string> };
    readonly deletionProtectionEnabled: boolean;
}

/**
 * On demand, point-in-time recovery on, encrypted with the project key, and protected from deletion
 * where the stack says so (production). A table's own keys, TTL and throughput go on top.
 */
export function tableDefaults(kmsKeyArn: pulumi.Input<string>, deletionProtection: boolean): TableDefaults {
    return {
        billingMode: "PAY_PER_REQUEST",
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true, kmsKeyArn },
        deletionProtectionEnabled: deletionProtection,
    };
}

/**
 * The key and TTL of a run ledger, where a function claims each landed archive or delivered object
 * version once (`lambdas/shared/run-ledger.ts` writes `archive` and `expiresAt`).
 */
export function runLedgerKey(): Required<Pick<aws.dynamodb.TableArgs, "hashKey" | "attributes" | "ttl">> {
    return {
        hashKey: "archive",
        attributes: [{ name: "archive", type: "S" }],
        ttl: { attributeName: "expiresAt", enabled: true },
    };
}
