import { AthenaClient } from "@aws-sdk/client-athena";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlueClient } from "@aws-sdk/client-glue";
import { S3Client } from "@aws-sdk/client-s3";
import { ExitCode, OperatorError } from "./terminal";

export interface AwsClients {
    readonly glue: GlueClient;
    readonly athena: AthenaClient;
    readonly s3: S3Client;
    readonly dynamodb: DynamoDBClient;
}

/** Clients configured the way the AWS CLI is: profile, region and credentials from the environment (and AWS_ENDPOINT_URL). */
export function environmentClients(): AwsClients {
    return { glue: new GlueClient({}), athena: new AthenaClient({}), s3: new S3Client({}), dynamodb: new DynamoDBClient({}) };
}

const rejectedCredentials = new Set([
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
]);

const deniedAccess = new Set(["AccessDenied", "AccessDeniedException"]);

/** The failures every command can meet before it gets to its own work: who the caller is and where. */
export function describeAwsFailure(error: unknown): OperatorError | undefined {
    if (!(error instanceof Error)) {
        return undefined;
    }
    if (error.name === "CredentialsProviderError") {
        return new OperatorError(
            ExitCode.credentials,
            "no AWS credentials: set AWS_PROFILE to a configured profile (after `aws sso login` if it uses SSO), " +
                "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        );
    }
    if (error.message === "Region is missing") {
        return new OperatorError(ExitCode.credentials, "no AWS region: set AWS_REGION, or a region in the profile AWS_PROFILE names");
    }
    if (rejectedCredentials.has(error.name)) {
        return new OperatorError(
            ExitCode.credentials,
            `AWS rejected the credentials (${error.name}: ${error.message}); renew them and retry`,
        );
    }
    if (deniedAccess.has(error.name)) {
        return new OperatorError(
            ExitCode.credentials,
            `AWS denied access (${error.message}); the credentials need the operator permissions listed in the README`,
        );
    }
    return undefined;
}
