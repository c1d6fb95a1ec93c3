import * as pulumi from "@pulumi/pulumi";
import { kmsUse, objectsUnder, queueConsumption, type PolicyStatement } from "../policies";
import type { AccountScope } from "../account-scope";
import type { BucketRef } from "../secure-bucket";

export interface ExportJobScope extends AccountScope {
    readonly stream: string;
    readonly delivery: BucketRef;
    readonly destination: BucketRef;
    readonly quarantine: BucketRef;
    readonly glueAssets: BucketRef;
    /** Prefixes of this stream in each bucket. */
    readonly prefixes: ExportPrefixes;
    readonly kmsKeyArn: pulumi.Input<string>;
}

export interface ExportPrefixes {
    readonly delivered: string;
    readonly exportedMarkers: string;
    readonly destination: string;
    readonly quarantine: string;
    readonly staging: string;
    readonly jobAssets: string;
}

/** The export job reads what Firehose delivered, marks it exported, and writes Parquet, rejects and staging files. */
export function exportJobStatements(scope: ExportJobScope): PolicyStatement[] {
    const { prefixes } = scope;
    return [
        {
            Sid: "ListOwnPrefixes",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: [scope.delivery.arn, scope.destination.arn, scope.glueAssets.arn],
            Condition: {
                StringLike: {
                    "s3:prefix": [
                        `${prefixes.delivered}*`,
                        `${prefixes.exportedMarkers}*`,
                        `${prefixes.destination}*`,
                        `${prefixes.staging}*`,
                    ],
                },
            },
        },
        {
            Sid: "ReadDeliveredRecords",
            Effect: "Allow",
            Action: ["s3:GetObject"],
            Resource: objectsUnder(scope.delivery.arn, prefixes.delivered),
        },
        {
            Sid: "MarkExportedObjects",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:PutObject"],
            Resource: objectsUnder(scope.delivery.arn, prefixes.exportedMarkers),
        },
        {
            Sid: "WriteParquetRejectsAndStaging",
            Effect: "Allow",
            Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            Resource: [
                objectsUnder(scope.destination.arn, prefixes.destination),
                objectsUnder(scope.quarantine.arn, prefixes.quarantine),
                objectsUnder(scope.glueAssets.arn, prefixes.staging),
            ],
        },
        {
            Sid: "ReadJobCodeAndSchema",
            Effect: "Allow",
            Action: ["s3:GetObject"],
            Resource: objectsUnder(scope.glueAssets.arn, prefixes.jobAssets),
        },
        kmsUse(scope.kmsKeyArn),
    ];
}

/**
 * Trust for the Snowflake storage integration: its IAM user, or this account until Snowflake has
 * shown the user (Snowflake's documented first step), always with the integration's external id.
 */
export function snowflakeTrustPolicy(principal: pulumi.Input<string>, externalId: string): pulumi.Output<string> {
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AssumedBySnowflakeStorageIntegration",
                Effect: "Allow",
                Principal: { AWS: principal },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "sts:ExternalId": externalId } },
            },
        ],
    });
}

export interface ExportStarterScope {
    readonly queueArn: pulumi.Input<string>;
    readonly runLedgerArn: pulumi.Input<string>;
    readonly jobArn: pulumi.Input<string>;
    readonly delivery: BucketRef;
    /** The job's markers of exported objects in the delivery bucket, such as `_exported/clickstream/`. */
    readonly exportedMarkers: string;
}

/**
 * The on-delivery starter reads its queue, claims delivered objects in the export's run ledger,
 * lists an object's marker (an object already exported starts no run) and starts the export job.
 * It reads no delivered records: the job does.
 */
export function exportStarterStatements(scope: ExportStarterScope): PolicyStatement[] {
    return [
        queueConsumption(scope.queueArn, "ConsumeDeliveryQueue"),
        {
            Sid: "ClaimDeliveredObjectsInRunLedger",
            Effect: "Allow",
            Action: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            Resource: scope.runLedgerArn,
        },
        {
            Sid: "FindExportedMarkers",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: scope.delivery.arn,
            Condition: { StringLike: { "s3:prefix": [`${scope.exportedMarkers}*`] } },
        },
        {
            Sid: "StartExportJob",
            Effect: "Allow",
            Action: ["glue:StartJobRun"],
            Resource: scope.jobArn,
        },
    ];
}
