import type * as pulumi from "@pulumi/pulumi";
import { kmsUse, objectsUnder, type PolicyStatement } from "../policies";
import type { AccountScope } from "../account-scope";
import type { BucketRef } from "../secure-bucket";

export interface LoaderScope extends AccountScope {
    readonly exports: BucketRef;
    readonly exportPrefix: string;
    readonly tableArn: pulumi.Input<string>;
    readonly glueAssets: BucketRef;
    readonly checkpointPrefix: string;
    readonly jobAssetsPrefix: string;
    readonly reports: BucketRef;
    readonly reportPrefix: string;
    readonly topicArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
}

/** The loader reads exports, writes (and on full refresh scans and deletes in) its one table, and keeps checkpoints. */
export function loaderStatements(scope: LoaderScope): PolicyStatement[] {
    return [
        {
            Sid: "FindExportsAndCheckpoints",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: [scope.exports.arn, scope.glueAssets.arn],
            Condition: { StringLike: { "s3:prefix": [`${scope.exportPrefix}*`, `${scope.checkpointPrefix}*`] } },
        },
        { Sid: "ReadExports", Effect: "Allow", Action: ["s3:GetObject"], Resource: objectsUnder(scope.exports.arn, scope.exportPrefix) },
        {
            Sid: "KeepCheckpoints",
            Effect: "Allow",
            Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            Resource: objectsUnder(scope.glueAssets.arn, scope.checkpointPrefix),
        },
        {
            Sid: "ReadJobCodeAndPlan",
            Effect: "Allow",
            Action: ["s3:GetObject"],
            Resource: objectsUnder(scope.glueAssets.arn, scope.jobAssetsPrefix),
        },
        {
            Sid: "WriteLoadReports",
            Effect: "Allow",
            Action: ["s3:PutObject"],
            Resource: objectsUnder(scope.reports.arn, scope.reportPrefix),
        },
        {
            Sid: "LoadLookupTable",
            Effect: "Allow",
            Action: ["dynamodb:BatchWriteItem", "dynamodb:DescribeTable", "dynamodb:Scan"],
            Resource: scope.tableArn,
        },
        { Sid: "NotifyLoadOutcomes", Effect: "Allow", Action: ["sns:Publish"], Resource: scope.topicArn },
        kmsUse(scope.kmsKeyArn),
    ];
}

export interface FilterScope {
    readonly streamArn: pulumi.Input<string>;
    /**
     * The key of a stream of another stack or account, and the stream's region: the filter may
     * decrypt with it only through Kinesis in that region, for that stream. A stream of the stack
     * uses the project key, which the function's own statements grant.
     */
    readonly streamKey?: { readonly arn: string; readonly region: string };
    readonly tableArn: pulumi.Input<string>;
    readonly failureQueueArn: pulumi.Input<string>;
    /** Where matching events go: objects under a bucket prefix, or a Firehose stream. */
    readonly destination: { readonly objects: pulumi.Input<string> } | { readonly firehoseArn: pulumi.Input<string> };
}

/** The filter reads its stream, looks keys up in its table, and writes matches to its destination. */
export function filterStatements(scope: FilterScope): PolicyStatement[] {
    return [
        {
            Sid: "ReadEventStream",
            Effect: "Allow",
            Action: [
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
            ],
            Resource: scope.streamArn,
        },
        ...(scope.streamKey
            ? [
                  {
                      Sid: "DecryptUpstreamStream",
                      Effect: "Allow" as const,
                      Action: ["kms:Decrypt"],
                      Resource: scope.streamKey.arn,
                      Condition: {
                          StringEquals: {
                              "kms:ViaService": `kinesis.${scope.streamKey.region}.amazonaws.com`,
                              // Kinesis passes the stream's ARN as the encryption context of every KMS call.
                              "kms:EncryptionContext:aws:kinesis:arn": scope.streamArn,
                          },
                      },
                  },
              ]
            : []),
        { Sid: "LookUpKeys", Effect: "Allow", Action: ["dynamodb:BatchGetItem"], Resource: scope.tableArn },
        "objects" in scope.destination
            ? { Sid: "WriteMatchingEvents", Effect: "Allow", Action: ["s3:PutObject"], Resource: scope.destination.objects }
            : {
                  Sid: "ForwardMatchingEvents",
                  Effect: "Allow",
                  Action: ["firehose:PutRecordBatch"],
                  Resource: scope.destination.firehoseArn,
              },
        { Sid: "RecordFailedBatches", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: scope.failureQueueArn },
    ];
}
