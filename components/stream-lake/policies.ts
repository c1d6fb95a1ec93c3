import * as pulumi from "@pulumi/pulumi";
import { kmsUse, objectsUnder, type PolicyStatement } from "../policies";
import { glueArn, type AccountScope } from "../account-scope";
import type { BucketRef } from "../secure-bucket";

export interface FirehoseScope extends AccountScope {
    readonly streamArn: pulumi.Input<string>;
    /** Buckets and the prefixes Firehose writes under (empty prefix: the whole bucket). */
    readonly destinations: readonly { readonly bucket: BucketRef; readonly prefix: string }[];
    /** The Glue table whose schema drives record format conversion; omitted for JSON delivery. */
    readonly schemaTable?: { readonly databaseName: pulumi.Input<string>; readonly tableName: pulumi.Input<string> };
    readonly logGroupArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
}

/** The catalog, database and table ARNs that Glue table permissions must all name. */
export function tableArns(
    scope: AccountScope,
    databaseName: pulumi.Input<string>,
    tableName: pulumi.Input<string>,
): pulumi.Output<string>[] {
    return [
        glueArn(scope, "catalog"),
        glueArn(scope, pulumi.interpolate`database/${databaseName}`),
        glueArn(scope, pulumi.interpolate`table/${databaseName}/${tableName}`),
    ];
}

/** A Firehose delivery stream reads its Kinesis source and writes its buckets, nothing else. */
export function firehoseStatements(scope: FirehoseScope): PolicyStatement[] {
    return [
        {
            Sid: "ReadSourceStream",
            Effect: "Allow",
            Action: ["kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
            Resource: scope.streamArn,
        },
        {
            Sid: "FindDestinationBuckets",
            Effect: "Allow",
            Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
            Resource: scope.destinations.map((destination) => destination.bucket.arn),
        },
        {
            Sid: "WriteDeliveredObjects",
            Effect: "Allow",
            Action: ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            Resource: scope.destinations.map((destination) => objectsUnder(destination.bucket.arn, destination.prefix)),
        },
        ...(scope.schemaTable
            ? [
                  {
                      Sid: "ReadConversionSchema",
                      Effect: "Allow" as const,
                      Action: ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                      Resource: tableArns(scope, scope.schemaTable.databaseName, scope.schemaTable.tableName),
                  },
              ]
            : []),
        {
            Sid: "WriteDeliveryLogs",
            Effect: "Allow",
            Action: ["logs:PutLogEvents"],
            Resource: pulumi.interpolate`${scope.logGroupArn}:*`,
        },
        kmsUse(scope.kmsKeyArn),
    ];
}

export interface CrawlerScope extends AccountScope {
    readonly lake: BucketRef;
    readonly dataPrefix: string;
    readonly databaseName: pulumi.Input<string>;
    readonly tableName: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
    /** The crawler's security configuration and its own role, which together name its log group. */
    readonly securityConfigurationName: pulumi.Input<string>;
    readonly roleName: pulumi.Input<string>;
}

/**
 * The log group Glue writes a crawler's logs to when its security configuration encrypts CloudWatch
 * logs: `/aws-glue/crawlers-role<role path><role name>-<security configuration>` (without one, the
 * shared `/aws-glue/crawlers`). The crawler's role is its own, with path `/`.
 */
export function crawlerLogGroupName(
    securityConfigurationName: pulumi.Input<string>,
    roleName: pulumi.Input<string>,
): pulumi.Output<string> {
    return pulumi.interpolate`/aws-glue/crawlers-role/${roleName}-${securityConfigurationName}`;
}

/** The crawler reads the stream's data prefix and maintains the partitions of its one table. */
export function crawlerStatements(scope: CrawlerScope): PolicyStatement[] {
    return [
        {
            Sid: "ListStreamData",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: scope.lake.arn,
            Condition: { StringLike: { "s3:prefix": [`${scope.dataPrefix}*`] } },
        },
        {
            Sid: "ReadStreamData",
            Effect: "Allow",
            Action: ["s3:GetObject"],
            Resource: objectsUnder(scope.lake.arn, scope.dataPrefix),
        },
        {
            Sid: "MaintainTablePartitions",
            Effect: "Allow",
            Action: [
                "glue:BatchCreatePartition",
                "glue:BatchGetPartition",
                "glue:BatchUpdatePartition",
                "glue:CreatePartition",
                "glue:GetDatabase",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:GetTable",
                "glue:UpdatePartition",
            ],
            Resource: tableArns(scope, scope.databaseName, scope.tableName),
        },
        {
            // `<group>:*` is CloudWatch Logs' ARN of a group in policies: this group and its streams only.
            Sid: "WriteCrawlerLogs",
            Effect: "Allow",
            Action: ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: pulumi.interpolate`arn:${scope.partition}:logs:${scope.region}:${scope.accountId}:log-group:${crawlerLogGroupName(
                scope.securityConfigurationName,
                scope.roleName,
            )}:*`,
        },
        kmsUse(scope.kmsKeyArn),
    ];
}
