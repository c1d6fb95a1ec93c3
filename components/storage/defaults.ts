import * as pulumi from "@pulumi/pulumi";
import type { PolicyStatement } from "../policies";

/** Days before Glue temporary files and Athena query results expire. */
export const defaultScratchDays = 7;
/** Days S3 server access logs are kept. */
export const defaultAccessLogDays = 365;
/** Days before a KMS key scheduled for deletion is deleted (the maximum waiting period). */
export const keyDeletionWindowDays = 30;

/**
 * The key policy of the project key. AWS services that write encrypted data on the platform's
 * behalf (CloudWatch Logs for Lambda and Glue logs; EventBridge and CloudWatch alarms publishing
 * to encrypted SNS topics and SQS queues) are granted use of the key for this account only.
 */
export function projectKeyPolicy(
    accountId: pulumi.Input<string>,
    region: pulumi.Input<string>,
    partition: pulumi.Input<string>,
): PolicyStatement[] {
    return [
        {
            // The account root statement is AWS's default key policy: it delegates access to IAM so
            // the key can never become unmanageable. In a key policy, Resource "*" means this key.
            Sid: "DelegateToAccountIam",
            Effect: "Allow",
            Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${accountId}:root` },
            Action: ["kms:*"],
            Resource: "*",
        },
        {
            Sid: "CloudWatchLogsEncryptsLogGroups",
            Effect: "Allow",
            Principal: { Service: pulumi.interpolate`logs.${region}.amazonaws.com` },
            Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
            Resource: "*",
            Condition: {
                ArnLike: {
                    "kms:EncryptionContext:aws:logs:arn": pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:*`,
                },
            },
        },
        {
            Sid: "ServicesPublishToEncryptedTopicsAndQueues",
            Effect: "Allow",
            Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": accountId } },
        },
    ];
}
