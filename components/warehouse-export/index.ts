import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { manualSnowflake, streamSchemaDocument, type Stream } from "../../config/stream";
import type exportArguments from "../../glue-scripts/ingest/contracts/export_job_arguments.json";
import { anyCount, type AlarmTopic } from "../alarm-topic";
import { defaultLogRetentionDays } from "../defaults/log-groups";
import { matchedEvents } from "../metrics";
import { policyDocument } from "../policies";
import { glueAssetUri, glueJob } from "../glue-job";
import { defaultWorkerType } from "../glue-job/defaults";
import { failedRunRule } from "../glue-job/run-events";
import { SecureBucket, type BucketRef } from "../secure-bucket";
import { serviceRole } from "../service-role";
import { firehoseStatements } from "../stream-lake/policies";
import { exportJobStatements, snowflakeTrustPolicy, type ExportPrefixes } from "./policies";
import { snowflakeReadStatements } from "../snowflake-ingest/policies";
import { accountScope } from "../account-scope";
import { deliveredTimeFolders, exportMarkerPrefix } from "../../contracts/glue-jobs";
import type { LambdaSettings } from "../bundled-function/lambda-settings";
import { onDeliveryStarter, type OnDelivery } from "./on-delivery";

export interface WarehouseExportArgs {
    readonly stream: Stream;
    /** The stream's `warehouse` section. */
    readonly warehouse: NonNullable<Stream["warehouse"]>;
    readonly streamArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly accessLogsBucketName: pulumi.Input<string>;
    readonly quarantine: BucketRef;
    readonly glueAssets: BucketRef;
    readonly securityConfigurationName: pulumi.Input<string>;
    /** The Glue entry script (`glue-scripts/stream_export_job.py`). */
    readonly jobScript: pulumi.asset.Asset;
    /** Zip of the job's Python package (`glue-scripts/ingest`). */
    readonly jobPackage: pulumi.asset.Archive;
    /** Topic the failed-run alarm notifies. */
    readonly alarms: AlarmTopic;
    /** Days delivered JSON and exported Parquet are kept. */
    readonly retentionDays: number;
    readonly logRetentionDays?: number;
    readonly allowDataDeletion?: boolean;
    /** Bundle of `lambdas/export-starter`; required when `warehouse.trigger` is `on-delivery`. */
    readonly starterCode?: pulumi.asset.Archive;
    /** Protects the on-delivery run ledger from deletion (production). Defaults to false. */
    readonly deletionProtection?: boolean;
    /** X-Ray tracing and reserved-concurrency overrides of the starter (`ingestion:lambda`). Defaults to `defaultLambdaSettings`. */
    readonly lambda?: LambdaSettings;
}

/**
 * A small job: two G.1X workers convert 15 minutes of JSON, or one delivered object. One run at a
 * time, never queued by Glue: a start while a run is going is refused, and the next schedule (or the
 * on-delivery message, redelivered) tries again.
 */
export const exportJob = {
    workerType: defaultWorkerType,
    numberOfWorkers: 2,
    timeoutMinutes: 30,
    maxRetries: 0,
    maxConcurrentRuns: 1,
} as const;

/** Where each part of the export lives, for a stream. */
export function exportPrefixes(stream: string): ExportPrefixes {
    return {
        delivered: `${stream}/`,
        exportedMarkers: `${exportMarkerPrefix}${stream}/`,
        destination: `${stream}/`,
        quarantine: `streams/${stream}/export/`,
        staging: `temporary/streams/${stream}/export/`,
        jobAssets: `jobs/streams/${stream}/`,
    };
}

/**
 * The file-to-warehouse leg (seed 004): a second Firehose delivers the stream's records as
 * compressed JSON to a delivery bucket; a Glue job converts what is new to Parquet in a destination
 * bucket, quarantining malformed records. The job runs on a schedule over every pending object,
 * and with `trigger: on-delivery` also once for each object Firehose delivers (`on-delivery.ts`).
 * Snowflake's Snowpipe loads the destination
 * through a storage integration role (external id from config) and the bucket's notifications to
 * the pipe's queue. Snowflake's own objects are not declared here: they live in Snowflake.
 */
export class WarehouseExport extends pulumi.ComponentResource {
    readonly delivery: SecureBucket;
    readonly destination: SecureBucket;
    readonly deliveryStream: aws.kinesis.FirehoseDeliveryStream;
    readonly job: aws.glue.Job;
    /** The queue, run ledger and starter of `trigger: on-delivery`; undefined for `schedule`. */
    readonly onDelivery: OnDelivery | undefined;
    /** The role the manual path's storage integration assumes; undefined where `snowflake.account` declares it (components/snowflake-ingest). */
    readonly snowflakeRole: aws.iam.Role | undefined;
    readonly destinationPrefix: string;
    /** The Snowpipe notification channel the destination bucket notifies, once configured. */
    readonly notificationQueueArn: string | undefined;

    constructor(name: string, args: WarehouseExportArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:streaming:WarehouseExport", name, {}, opts);
        const { stream, warehouse } = args;
        if (warehouse.trigger === "on-delivery" && !args.starterCode) {
            throw new Error(`${name}: warehouse.trigger on-delivery needs the export starter's bundle (starterCode)`);
        }
        const scope = accountScope(this);
        const prefixes = exportPrefixes(stream.stream);
        this.destinationPrefix = prefixes.destination;
        const manual = manualSnowflake(warehouse);
        this.notificationQueueArn = manual?.notificationChannel;
        const dataBucket = (suffix: string, extra: Partial<ConstructorParameters<typeof SecureBucket>[1]>) =>
            new SecureBucket(
                `${name}-${suffix}`,
                {
                    kmsKeyArn: args.kmsKeyArn,
                    accessLogs: { bucket: args.accessLogsBucketName, prefix: `${name}-${suffix}/` },
                    expirations: [{ id: `expire-${suffix}`, expireAfterDays: args.retentionDays }],
                    forceDestroy: args.allowDataDeletion ?? false,
                    ...extra,
                },
                { parent: this },
            );
        // On delivery, S3 sends each delivered object's "Object Created" event to EventBridge.
        this.delivery = dataBucket("intermediate", warehouse.trigger === "on-delivery" ? { eventBridge: true } : {});
        this.destination = dataBucket("destination", {
            queueNotifications: this.notificationQueueArn
                ? [{ queueArn: this.notificationQueueArn, filterPrefix: prefixes.destination }]
                : [],
        });

        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-delivery-logs`,
            { retentionInDays: args.logRetentionDays ?? defaultLogRetentionDays, kmsKeyId: args.kmsKeyArn },
            { parent: this },
        );
        const deliveryLog = new aws.cloudwatch.LogStream(
            `${name}-delivery-log`,
            { logGroupName: logGroup.name, name: "DestinationDelivery" },
            { parent: this },
        );
        const { role: deliveryRole, policy: deliveryPolicy } = serviceRole(
            `${name}-delivery`,
            {
                description: `Firehose JSON delivery of the ${stream.stream} stream for the warehouse`,
                service: "firehose.amazonaws.com",
                accountId: scope.accountId,
                statements: firehoseStatements({
                    ...scope,
                    streamArn: args.streamArn,
                    destinations: [{ bucket: this.delivery, prefix: "" }],
                    logGroupArn: logGroup.arn,
                    kmsKeyArn: args.kmsKeyArn,
                }),
            },
            { parent: this },
        );
        this.deliveryStream = new aws.kinesis.FirehoseDeliveryStream(
            `${name}-delivery`,
            {
                destination: "extended_s3",
                kinesisSourceConfiguration: { kinesisStreamArn: args.streamArn, roleArn: deliveryRole.arn },
                extendedS3Configuration: {
                    roleArn: deliveryRole.arn,
                    bucketArn: this.delivery.arn,
                    prefix: `${prefixes.delivered}!{timestamp:${deliveredTimeFolders}}/`,
                    errorOutputPrefix: `${stream.stream}-errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/`,
                    bufferingSize: stream.buffering.sizeMiB,
                    bufferingInterval: stream.buffering.intervalSeconds,
                    compressionFormat: "GZIP",
                    kmsKeyArn: args.kmsKeyArn,
                    cloudwatchLoggingOptions: { enabled: true, logGroupName: logGroup.name, logStreamName: deliveryLog.name },
                },
            },
            { parent: this, dependsOn: [deliveryPolicy] },
        );

        const jobStatements = exportJobStatements({
            ...scope,
            stream: stream.stream,
            delivery: this.delivery,
            destination: this.destination,
            quarantine: args.quarantine,
            glueAssets: args.glueAssets,
            prefixes,
            kmsKeyArn: args.kmsKeyArn,
        });
        const contract: Record<keyof typeof exportArguments.deployArguments, pulumi.Input<string>> = {
            stream_uri: glueAssetUri(args.glueAssets, prefixes.jobAssets, "stream.json"),
            delivery_bucket: this.delivery.name,
            delivery_prefix: prefixes.delivered,
            destination_bucket: this.destination.name,
            destination_prefix: prefixes.destination,
            quarantine_bucket: args.quarantine.name,
            quarantine_prefix: prefixes.quarantine,
            staging_uri: pulumi.interpolate`s3://${args.glueAssets.name}/${prefixes.staging}`,
        };
        this.job = glueJob(
            `${name}-job`,
            {
                description: `Converts the ${stream.stream} records Firehose delivered to Parquet for the warehouse`,
                scope,
                kmsKeyArn: args.kmsKeyArn,
                glueAssets: args.glueAssets,
                assetsPrefix: prefixes.jobAssets,
                script: { file: "stream_export_job.py", source: args.jobScript },
                jobPackage: args.jobPackage,
                configuration: { suffix: "schema", file: "stream.json", document: streamSchemaDocument(stream) },
                statements: jobStatements,
                contract,
                temporaryPrefix: `streams/${stream.stream}`,
                capacity: exportJob,
                securityConfigurationName: args.securityConfigurationName,
            },
            { parent: this },
        );
        new aws.glue.Trigger(
            `${name}-schedule`,
            {
                description: `Exports new ${stream.stream} records on schedule`,
                type: "SCHEDULED",
                schedule: warehouse.schedule,
                startOnCreation: true,
                actions: [{ jobName: this.job.name }],
            },
            { parent: this },
        );
        this.onDelivery =
            warehouse.trigger === "on-delivery"
                ? onDeliveryStarter(
                      name,
                      {
                          stream: stream.stream,
                          delivery: this.delivery,
                          deliveredPrefix: prefixes.delivered,
                          job: this.job,
                          kmsKeyArn: args.kmsKeyArn,
                          code: args.starterCode!,
                          alarms: args.alarms,
                          deletionProtection: args.deletionProtection ?? false,
                          ...(args.logRetentionDays ? { logRetentionDays: args.logRetentionDays } : {}),
                          ...(args.lambda ? { lambda: args.lambda } : {}),
                      },
                      { parent: this },
                  )
                : undefined;
        const failedRuns = failedRunRule(
            `${name}-run-failed`,
            { description: `Failed, stopped or timed-out runs of the ${stream.stream} export job`, jobName: this.job.name },
            { parent: this },
        );
        args.alarms.alarm(
            "export-failures",
            `A run of the ${stream.stream} warehouse export failed, timed out or was stopped`,
            anyCount(matchedEvents(failedRuns.name), 900),
            args.alarms.ownedBy(this),
        );

        this.snowflakeRole = manual && this.manualSnowflakeRole(name, stream.stream, manual, args.kmsKeyArn, prefixes.destination, scope);

        this.registerOutputs({ destinationBucket: this.destination.name, snowflakeRoleArn: this.snowflakeRole?.arn });
    }

    /** The manual path's role: trusts the IAM user from config, or this account until Snowflake has shown it. */
    private manualSnowflakeRole(
        name: string,
        streamName: string,
        manual: NonNullable<ReturnType<typeof manualSnowflake>>,
        kmsKeyArn: pulumi.Input<string>,
        prefix: string,
        scope: ReturnType<typeof accountScope>,
    ): aws.iam.Role {
        const role = new aws.iam.Role(
            `${name}-snowflake`,
            {
                description: `Assumed by the Snowflake storage integration that loads ${streamName}`,
                assumeRolePolicy: snowflakeTrustPolicy(
                    manual.iamUserArn ?? pulumi.interpolate`arn:${scope.partition}:iam::${scope.accountId}:root`,
                    manual.externalId,
                ),
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-snowflake-policy`,
            {
                role: role.id,
                policy: policyDocument(snowflakeReadStatements({ destination: this.destination, prefix, kmsKeyArn, region: scope.region })),
            },
            { parent: this },
        );
        return role;
    }
}
