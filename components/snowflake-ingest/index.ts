import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as snowflake from "@pulumi/snowflake";
import type { ColumnType } from "../../config/formats";
import { accountScope } from "../account-scope";
import { anyCount, type AlarmTopic } from "../alarm-topic";
import type { MetricId } from "../metrics";
import { policyDocument } from "../policies";
import { copyStatement, maxRoleNameLength, qualifiedName, snowflakeType, storageProviderOf } from "./defaults";
import { errorPublishingStatements, snowflakeIntegrationTrust, snowflakeReadStatements } from "./policies";
import type { BucketRef } from "../secure-bucket";

export interface SnowflakeTarget {
    /** An existing database. */
    readonly database: string;
    /** An existing schema of the database. */
    readonly schema: string;
    /** The table this component declares. */
    readonly table: string;
}

export interface SnowflakeIngestArgs {
    /** The stream loaded, for descriptions. */
    readonly stream: string;
    /** The stream's fields: one table column each, typed by `snowflakeType`. */
    readonly fields: readonly { readonly name: string; readonly type: ColumnType }[];
    readonly target: SnowflakeTarget;
    /**
     * Prefix of the account-level Snowflake integrations' names (`<prefix>_S3`, `<prefix>_ERRORS`),
     * which must be unique in the Snowflake account: one per stack and stream.
     */
    readonly integrationPrefix: string;
    /** The bucket the warehouse export writes Parquet to, encrypted with `kmsKeyArn`. */
    readonly destination: BucketRef;
    /** The prefix of `destination` Snowpipe loads (`<stream>/`). */
    readonly prefix: string;
    /** The project key: the destination bucket's and the error topic's. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Where the alarm on Snowpipe's published errors notifies. */
    readonly alarms: AlarmTopic;
    /** Let `pulumi destroy` (or removing the section) drop the table. Defaults to false: the table is retained. */
    readonly allowDataDeletion?: boolean;
}

/** Snowpipe's published load errors, per topic. */
export function publishedMessages(topicName: pulumi.Input<string>): MetricId {
    return { namespace: "AWS/SNS", metricName: "NumberOfMessagesPublished", dimensions: { TopicName: topicName } };
}

/**
 * Snowflake's side of the warehouse export, declared with the Snowflake provider in the same
 * deployment as the AWS side: a storage integration for the destination prefix, the role it assumes
 * (trusting the IAM user and external id the integration reports), the target table, a Parquet stage,
 * an auto-ingest pipe fed by the bucket's notifications, and an error notification integration that
 * publishes the pipe's load errors to an encrypted topic of the stack, with an alarm on it.
 *
 * The roles' names are fixed (`<name>-load`, `<name>-errors`) so their ARNs are known before they
 * exist: each integration is created naming its role, then the role trusts the integration's
 * outputs. Snowflake checks the trust only when it first assumes the role (a load or a notification),
 * so one `pulumi up` suffices; the pipe waits for both roles and their policies.
 */
export class SnowflakeIngest extends pulumi.ComponentResource {
    readonly storageIntegration: snowflake.StorageIntegration;
    readonly loadRole: aws.iam.Role;
    readonly table: snowflake.Table;
    readonly stage: snowflake.Stage;
    readonly errorTopic: aws.sns.Topic;
    readonly errorRole: aws.iam.Role;
    readonly errorIntegration: snowflake.NotificationIntegration;
    readonly pipe: snowflake.Pipe;
    readonly errorAlarm: aws.cloudwatch.MetricAlarm;

    constructor(name: string, args: SnowflakeIngestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:warehouse:SnowflakeIngest", name, {}, opts);
        const { target, stream } = args;
        const [loadRoleName, errorRoleName] = [`${name}-load`, `${name}-errors`];
        const tooLong = [loadRoleName, errorRoleName].filter((role) => role.length > maxRoleNameLength);
        if (tooLong.length > 0) {
            throw new Error(`Snowflake role names longer than ${maxRoleNameLength} characters: ${tooLong.join(", ")}`);
        }
        const scope = accountScope(this);
        const roleArn = (role: string) => pulumi.interpolate`arn:${scope.partition}:iam::${scope.accountId}:role/${role}`;
        const location = pulumi.interpolate`s3://${args.destination.name}/${args.prefix}`;

        this.storageIntegration = new snowflake.StorageIntegration(
            `${name}-storage`,
            {
                name: `${args.integrationPrefix}_S3`,
                comment: `Snowpipe loads of the ${stream} stream's Parquet export`,
                type: "EXTERNAL_STAGE",
                enabled: true,
                storageProvider: scope.partition.apply(storageProviderOf),
                storageAwsRoleArn: roleArn(loadRoleName),
                storageAllowedLocations: [location],
            },
            { parent: this },
        );
        this.loadRole = new aws.iam.Role(
            `${name}-load`,
            {
                name: loadRoleName,
                description: `Assumed by the Snowflake storage integration that loads ${stream}`,
                assumeRolePolicy: snowflakeIntegrationTrust(
                    "AssumedBySnowflakeStorageIntegration",
                    this.storageIntegration.storageAwsIamUserArn,
                    this.storageIntegration.storageAwsExternalId,
                ),
            },
            { parent: this },
        );
        const loadPolicy = new aws.iam.RolePolicy(
            `${name}-load-policy`,
            {
                role: this.loadRole.id,
                policy: policyDocument(
                    snowflakeReadStatements({
                        destination: args.destination,
                        prefix: args.prefix,
                        kmsKeyArn: args.kmsKeyArn,
                        region: scope.region,
                    }),
                ),
            },
            { parent: this },
        );

        this.table = new snowflake.Table(
            `${name}-table`,
            {
                database: target.database,
                schema: target.schema,
                name: target.table,
                comment: `The ${stream} stream, loaded by Snowpipe`,
                columns: args.fields.map((field) => ({ name: field.name, type: snowflakeType(field.type), nullable: true })),
            },
            // Loaded data is retained unless the stack allows deletion (STYLE rule 5).
            { parent: this, retainOnDelete: !(args.allowDataDeletion ?? false) },
        );
        this.stage = new snowflake.Stage(
            `${name}-stage`,
            {
                database: target.database,
                schema: target.schema,
                name: `${target.table}_STAGE`,
                comment: `The ${stream} stream's Parquet export`,
                url: location,
                storageIntegration: this.storageIntegration.name,
                fileFormat: "TYPE = PARQUET",
            },
            { parent: this },
        );

        this.errorTopic = new aws.sns.Topic(`${name}-errors`, { kmsMasterKeyId: args.kmsKeyArn }, { parent: this });
        this.errorIntegration = new snowflake.NotificationIntegration(
            `${name}-error-integration`,
            {
                name: `${args.integrationPrefix}_ERRORS`,
                comment: `Snowpipe load errors of the ${stream} stream`,
                enabled: true,
                // An AWS_SNS integration is outbound (Snowflake publishes); the provider sets DIRECTION = OUTBOUND for it.
                notificationProvider: "AWS_SNS",
                awsSnsTopicArn: this.errorTopic.arn,
                awsSnsRoleArn: roleArn(errorRoleName),
            },
            { parent: this },
        );
        this.errorRole = new aws.iam.Role(
            `${name}-errors-role`,
            {
                name: errorRoleName,
                description: `Assumed by the Snowflake notification integration that publishes ${stream}'s Snowpipe errors`,
                assumeRolePolicy: snowflakeIntegrationTrust(
                    "AssumedBySnowflakeErrorIntegration",
                    this.errorIntegration.awsSnsIamUserArn,
                    this.errorIntegration.awsSnsExternalId,
                ),
            },
            { parent: this },
        );
        const errorPolicy = new aws.iam.RolePolicy(
            `${name}-errors-policy`,
            {
                role: this.errorRole.id,
                policy: policyDocument(
                    errorPublishingStatements({ topicArn: this.errorTopic.arn, kmsKeyArn: args.kmsKeyArn, region: scope.region }),
                ),
            },
            { parent: this },
        );

        const tableName = pulumi
            .all([this.table.database, this.table.schema, this.table.name])
            .apply(([database, schema, table]) => qualifiedName(database, schema, table));
        const stageName = pulumi
            .all([this.stage.database, this.stage.schema, this.stage.name])
            .apply(([database, schema, stage]) => qualifiedName(database, schema, stage));
        this.pipe = new snowflake.Pipe(
            `${name}-pipe`,
            {
                database: target.database,
                schema: target.schema,
                name: `${target.table}_PIPE`,
                comment: `Loads the ${stream} stream's Parquet export as it arrives`,
                autoIngest: true,
                copyStatement: pulumi.all([tableName, stageName]).apply(([table, stage]) => copyStatement(table, stage)),
                errorIntegration: this.errorIntegration.name,
            },
            { parent: this, dependsOn: [loadPolicy, errorPolicy] },
        );
        // Each Parquet object the export writes under the prefix tells the pipe's queue (Snowflake's).
        new aws.s3.BucketNotification(
            `${name}-pipe-notifications`,
            {
                bucket: args.destination.name,
                queues: [{ queueArn: this.pipe.notificationChannel, events: ["s3:ObjectCreated:*"], filterPrefix: args.prefix }],
            },
            { parent: this },
        );
        this.errorAlarm = args.alarms.alarm(
            "snowpipe-errors",
            `Snowpipe reported an error loading the ${stream} stream into ${target.database}.${target.schema}.${target.table}`,
            anyCount(publishedMessages(this.errorTopic.name)),
            args.alarms.ownedBy(this),
        );

        this.registerOutputs({
            storageIntegration: this.storageIntegration.name,
            loadRoleArn: this.loadRole.arn,
            externalId: this.storageIntegration.storageAwsExternalId,
            pipe: this.pipe.name,
            notificationChannel: this.pipe.notificationChannel,
            errorTopicArn: this.errorTopic.arn,
        });
    }
}
