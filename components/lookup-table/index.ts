import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { importTableCompressions, importTableFormats, lookupPlan, type Lookup, type UpstreamStream } from "../../config/lookup";
import type lookupArguments from "../../glue-scripts/ingest/contracts/lookup_job_arguments.json";
import { AlarmTopic, anyCount, deadLetterAlarm } from "../alarm-topic";
import type { EventFilterEnvironment } from "../../lambdas/event-filter/contract";
import { BundledFunction } from "../bundled-function";
import { deadLetterRetentionSeconds } from "../defaults/queues";
import { tableDefaults } from "../defaults/tables";
import { reservedConcurrencyOf, streamConsumerConcurrency, type LambdaSettings } from "../bundled-function/lambda-settings";
import { lookupLoadMetric, matchedEvents, type MetricId } from "../metrics";
import { objectsUnder } from "../policies";
import { glueAssetUri, glueJob } from "../glue-job";
import { defaultWorkerType } from "../glue-job/defaults";
import { failedRunRule } from "../glue-job/run-events";
import { SecureBucket, type BucketRef } from "../secure-bucket";
import { serviceRole } from "../service-role";
import { filterStatements, loaderStatements } from "./policies";
import { accountScope, glueArn, type AccountScope } from "../account-scope";

export interface LookupFilterArgs {
    /**
     * The stream whose events are filtered: a stream of this stack (encrypted with the project key),
     * or the stream of another stack or account the lookup's `filter.stream` names by ARN, with the
     * key its records are encrypted with (`upstreamStreamOf` in config/lookup.ts). A stream of this
     * stack gives its shards when it is provisioned; the filter reserves one execution per shard
     * (`streamConsumerConcurrency`), or `undeclaredStreamShards` when they are not known.
     */
    readonly stream: { readonly arn: pulumi.Input<string>; readonly shards?: number } | UpstreamStream;
    /** Bundle of `lambdas/event-filter`. */
    readonly code: pulumi.asset.Archive;
    /** Bucket of `destination.prefix` (the lake), when matching events go to a prefix. */
    readonly bucket: BucketRef;
}

export interface LookupTableArgs {
    /** The validated lookup definition (`config/lookups/<lookup>.yaml`). */
    readonly lookup: Lookup;
    /**
     * The Pulumi stack the lookup belongs to. The loader gets it as its `stack` argument and names it
     * in every metric it publishes, beside the lookup, so the dashboard draws this stack's loads only.
     */
    readonly stack: string;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly accessLogsBucketName: pulumi.Input<string>;
    /** Bucket of the load reports (the quarantine bucket), under `lookups/<lookup>/`. */
    readonly reports: BucketRef;
    readonly glueAssets: BucketRef;
    readonly securityConfigurationName: pulumi.Input<string>;
    /** The Glue entry script (`glue-scripts/lookup_load_job.py`). */
    readonly jobScript: pulumi.asset.Asset;
    /** Zip of the job's Python package (`glue-scripts/ingest`). */
    readonly jobPackage: pulumi.asset.Archive;
    /** Days exports are kept. */
    readonly retentionDays: number;
    /** Protects the table from deletion (production). */
    readonly deletionProtection: boolean;
    /** The event filter's stream and code, when the lookup declares a filter. */
    readonly filter?: LookupFilterArgs;
    readonly notificationEmail?: string;
    readonly logRetentionDays?: number;
    readonly allowDataDeletion?: boolean;
    /** X-Ray tracing and reserved-concurrency overrides of the functions (`ingestion:lambda`). Defaults to `defaultLambdaSettings`. */
    readonly lambda?: LambdaSettings;
}

/**
 * The loader is a Glue Spark job, not a Lambda: exports of millions of lines outlast Lambda's 15
 * minutes, and Spark spreads the export's byte ranges over workers that write in parallel, each
 * range checkpointed, so a crashed load resumes where it stopped. One G.1X pair is plenty for
 * lookup-sized exports and costs cents per run; one run at a time keeps checkpoints consistent.
 */
export const loaderJob = {
    workerType: defaultWorkerType,
    numberOfWorkers: 2,
    timeoutMinutes: 120,
    maxRetries: 1,
    maxConcurrentRuns: 1,
} as const;

/** The event filter's source mapping: split a failing batch to isolate the bad record, give up after a day. */
export const filterPolling = { bisectBatchOnFunctionError: true, maximumRetryAttempts: 10, maximumRecordAgeInSeconds: 86_400 } as const;

/**
 * The EventBridge pattern of a completed export folder: an object named one of `markers` created in
 * a folder under `prefix` of the exports bucket (key `<prefix><folder...>/<marker>`; a marker right
 * under the prefix is in no folder). EventBridge's `wildcard` matches the whole key, `*` standing for
 * any characters, `/` included; prefixes and marker names hold no `*` or `\`, the only characters it
 * treats specially.
 */
export function exportCompletedPattern(bucketName: pulumi.Input<string>, prefix: string, markers: readonly string[]) {
    return {
        source: ["aws.s3"],
        "detail-type": ["Object Created"],
        detail: { bucket: { name: [bucketName] }, object: { key: markers.map((marker) => ({ wildcard: `${prefix}*/${marker}` })) } },
    };
}

/** The metrics of one lookup: the counts of each load (from the loader), and failed loads (also alarmed). */
export interface LookupTableMetrics {
    readonly linesRead: MetricId;
    readonly itemsLoaded: MetricId;
    readonly linesRejected: MetricId;
    readonly itemsDeleted: MetricId;
    readonly failedLoads: MetricId;
}

/**
 * A lookup table loaded from exports in S3 (replacing Data Pipeline's DynamoDB import): the table
 * (on demand, PITR, project key, TTL, deletion protection), an exports bucket, the Glue loader job
 * run on schedule and/or as each export lands, alarms and run outcomes on a topic; optionally the
 * table created from the first exports by DynamoDB ImportTable, and an event filter on a stream.
 */
export class LookupTable extends pulumi.ComponentResource {
    readonly table: aws.dynamodb.Table;
    readonly exports: SecureBucket;
    readonly job: aws.glue.Job;
    readonly alarms: AlarmTopic;
    readonly filter?: BundledFunction;
    /** What the stack's dashboard draws of the lookup. */
    readonly metrics: LookupTableMetrics;

    constructor(name: string, args: LookupTableArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:lookup:LookupTable", name, {}, opts);
        const { lookup } = args;
        const scope = accountScope(this);
        const exportPrefix = lookup.source.prefix;
        const jobAssetsPrefix = `jobs/lookups/${lookup.lookup}/`;
        const checkpointPrefix = `temporary/lookups/${lookup.lookup}/checkpoints/`;
        const reportPrefix = `lookups/${lookup.lookup}/`;

        this.exports = new SecureBucket(
            `${name}-exports`,
            {
                kmsKeyArn: args.kmsKeyArn,
                accessLogs: { bucket: args.accessLogsBucketName, prefix: `${name}-exports/` },
                eventBridge: lookup.refresh.onNewExport,
                expirations: [{ id: "expire-exports", expireAfterDays: args.retentionDays }],
                forceDestroy: args.allowDataDeletion ?? false,
            },
            { parent: this },
        );

        const keys = [lookup.key.partition, ...(lookup.key.sort ? [lookup.key.sort] : [])];
        const dynamoType = (type: string) => (type === "number" ? "N" : "S");
        this.table = new aws.dynamodb.Table(
            `${name}-table`,
            {
                ...tableDefaults(args.kmsKeyArn, args.deletionProtection),
                hashKey: lookup.key.partition.attribute,
                ...(lookup.key.sort ? { rangeKey: lookup.key.sort.attribute } : {}),
                attributes: keys.map((key) => ({ name: key.attribute, type: dynamoType(key.type) })),
                ...(lookup.ttl ? { ttl: { attributeName: lookup.ttl.attribute, enabled: true } } : {}),
                // ImportTable creates the table from the exports; it applies to a new table only, so
                // changing it later replaces nothing (it is ignored after creation).
                ...(lookup.bootstrap.importTable
                    ? {
                          importTable: {
                              // Validation admits importTable only for the formats ImportTable reads.
                              inputFormat: importTableFormats[lookup.source.format]!,
                              inputCompressionType: importTableCompressions[lookup.bootstrap.compression],
                              // ImportTable reads every object under the prefix, manifests included.
                              s3BucketSource: { bucket: this.exports.name, keyPrefix: lookup.bootstrap.keyPrefix ?? exportPrefix },
                          },
                      }
                    : {}),
            },
            { parent: this, ignoreChanges: ["importTable"] },
        );

        // The loader tells this topic of every load with its counts; alarms notify it too.
        this.alarms = new AlarmTopic(
            `${name}-alarms`,
            { kmsKeyArn: args.kmsKeyArn, ...(args.notificationEmail ? { notificationEmail: args.notificationEmail } : {}) },
            { parent: this },
        );
        const jobStatements = loaderStatements({
            ...scope,
            exports: this.exports,
            exportPrefix,
            tableArn: this.table.arn,
            glueAssets: args.glueAssets,
            checkpointPrefix,
            jobAssetsPrefix,
            reports: args.reports,
            reportPrefix,
            topicArn: this.alarms.topicArn,
            kmsKeyArn: args.kmsKeyArn,
        });
        const contract: Record<
            keyof typeof lookupArguments.deployArguments | keyof typeof lookupArguments.runArguments,
            pulumi.Input<string>
        > = {
            lookup_uri: glueAssetUri(args.glueAssets, jobAssetsPrefix, "lookup.json"),
            table_name: this.table.name,
            export_bucket: this.exports.name,
            export_prefix: exportPrefix,
            checkpoint_uri: pulumi.interpolate`s3://${args.glueAssets.name}/${checkpointPrefix}`,
            report_bucket: args.reports.name,
            // The loader adds `<lookup>/<run id>/` under it, inside the role's reportPrefix.
            report_prefix: "lookups/",
            notification_topic_arn: this.alarms.topicArn,
            stack: args.stack,
            // Scheduled and event-started runs load the newest export; a person can pass a key.
            export: "latest",
        };
        this.job = glueJob(
            `${name}-job`,
            {
                description: `Loads ${lookup.lookup} exports into the lookup table`,
                scope,
                kmsKeyArn: args.kmsKeyArn,
                glueAssets: args.glueAssets,
                assetsPrefix: jobAssetsPrefix,
                script: { file: "lookup_load_job.py", source: args.jobScript },
                jobPackage: args.jobPackage,
                configuration: { suffix: "plan", file: "lookup.json", document: lookupPlan(lookup) },
                statements: jobStatements,
                contract,
                temporaryPrefix: `lookups/${lookup.lookup}`,
                capacity: loaderJob,
                securityConfigurationName: args.securityConfigurationName,
            },
            { parent: this },
        );

        if (lookup.refresh.schedule) {
            new aws.glue.Trigger(
                `${name}-schedule`,
                {
                    description: `Reloads the newest ${lookup.lookup} export on schedule`,
                    type: "SCHEDULED",
                    schedule: lookup.refresh.schedule,
                    startOnCreation: true,
                    actions: [{ jobName: this.job.name }],
                },
                { parent: this },
            );
        }
        if (lookup.refresh.onNewExport) {
            this.startOnNewExport(name, scope, exportPrefix, lookupPlan(lookup).markers);
        }

        const failed = failedRunRule(
            `${name}-load-failed`,
            { description: `Failed, stopped or timed-out loads of the ${lookup.lookup} lookup`, jobName: this.job.name },
            { parent: this },
        );
        const loads = { stack: args.stack, lookup: lookup.lookup };
        this.metrics = {
            linesRead: lookupLoadMetric("linesRead", loads),
            itemsLoaded: lookupLoadMetric("itemsLoaded", loads),
            linesRejected: lookupLoadMetric("linesRejected", loads),
            itemsDeleted: lookupLoadMetric("itemsDeleted", loads),
            failedLoads: matchedEvents(failed.name),
        };
        this.alarms.alarm(
            "load-failures",
            `A load of the ${lookup.lookup} lookup failed, timed out or was stopped`,
            anyCount(this.metrics.failedLoads, 3600),
        );

        if (lookup.filter && args.filter) {
            this.filter = this.declareFilter(name, args, lookup.filter, args.filter);
        }

        this.registerOutputs({ tableName: this.table.name, exportsBucket: this.exports.name, jobName: this.job.name });
    }

    /**
     * A Glue workflow whose event trigger starts the loader when EventBridge sees an export folder
     * completed: a completion marker created in a folder under the prefix. The parts that land first
     * start nothing.
     */
    private startOnNewExport(name: string, scope: AccountScope, prefix: string, markers: readonly string[]): void {
        const workflow = new aws.glue.Workflow(
            `${name}-workflow`,
            { description: `Loads each new ${name} export`, maxConcurrentRuns: 1 },
            { parent: this },
        );
        new aws.glue.Trigger(
            `${name}-on-export`,
            {
                description: "Starts the loader for a completed export",
                type: "EVENT",
                workflowName: workflow.name,
                eventBatchingConditions: [{ batchSize: 1, batchWindow: 900 }],
                actions: [{ jobName: this.job.name }],
            },
            { parent: this },
        );
        const rule = new aws.cloudwatch.EventRule(
            `${name}-export-landed`,
            {
                description: `Export folders under ${prefix} completed by ${markers.join(", ")}`,
                eventPattern: pulumi.jsonStringify(exportCompletedPattern(this.exports.name, prefix, markers)),
            },
            { parent: this },
        );
        const workflowArn = glueArn(scope, pulumi.interpolate`workflow/${workflow.name}`);
        const { role, policy } = serviceRole(
            `${name}-export-events`,
            {
                description: `EventBridge notifies the ${name} loader workflow of landed exports`,
                service: "events.amazonaws.com",
                accountId: scope.accountId,
                statements: [{ Sid: "NotifyLoaderWorkflow", Effect: "Allow", Action: ["glue:notifyEvent"], Resource: workflowArn }],
            },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-export-landed-target`,
            { rule: rule.name, arn: workflowArn, roleArn: role.arn },
            { parent: this, dependsOn: [policy] },
        );
    }

    /**
     * The event filter: a function on the stream that forwards the events whose key is in the
     * table. A failing batch is split to isolate the bad record; what still fails is recorded in a
     * queue (the mapping's on-failure destination), which an alarm watches.
     */
    private declareFilter(
        name: string,
        args: LookupTableArgs,
        filter: NonNullable<Lookup["filter"]>,
        wiring: LookupFilterArgs,
    ): BundledFunction {
        const { lookup } = args;
        const upstream = "kmsKeyArn" in wiring.stream ? wiring.stream : undefined;
        const streamLabel = upstream ? `${upstream.name} (account ${upstream.accountId})` : filter.stream;
        const failures = new aws.sqs.Queue(
            `${name}-filter-failures`,
            { kmsMasterKeyId: args.kmsKeyArn, messageRetentionSeconds: deadLetterRetentionSeconds },
            { parent: this },
        );
        const toPrefix = "prefix" in filter.destination ? filter.destination.prefix : undefined;
        const firehoseName = "firehose" in filter.destination ? filter.destination.firehose : undefined;
        const scope = accountScope(this);
        const destination =
            toPrefix !== undefined ? pulumi.interpolate`s3://${wiring.bucket.name}/${toPrefix}` : `firehose:${firehoseName}`;
        const filterFunction = new BundledFunction(
            `${name}-filter`,
            {
                description: `Forwards the ${streamLabel} events whose ${filter.eventField} is in the ${lookup.lookup} table`,
                code: wiring.code,
                kmsKeyArn: args.kmsKeyArn,
                deadLetterQueueArn: failures.arn,
                timeoutSeconds: 60,
                ...(args.logRetentionDays ? { logRetentionDays: args.logRetentionDays } : {}),
                ...(args.lambda ? { tracing: args.lambda.tracing } : {}),
                // The source mapping runs one batch per shard at a time (parallelization factor 1).
                reservedConcurrency: reservedConcurrencyOf(
                    args.lambda,
                    "event-filter",
                    streamConsumerConcurrency("shards" in wiring.stream ? wiring.stream.shards : undefined),
                ),
                environment: {
                    LOOKUP_TABLE: this.table.name,
                    KEY_ATTRIBUTE: lookup.key.partition.attribute,
                    KEY_TYPE: lookup.key.partition.type === "number" ? "N" : "S",
                    EVENT_KEY_FIELD: filter.eventField,
                    ...(lookup.ttl ? { TTL_ATTRIBUTE: lookup.ttl.attribute } : {}),
                    DESTINATION: destination,
                } satisfies EventFilterEnvironment<pulumi.Input<string>>,
                policyStatements: filterStatements({
                    streamArn: wiring.stream.arn,
                    ...(upstream ? { streamKey: { arn: upstream.kmsKeyArn, region: upstream.region } } : {}),
                    tableArn: this.table.arn,
                    failureQueueArn: failures.arn,
                    destination:
                        toPrefix !== undefined
                            ? { objects: objectsUnder(wiring.bucket.arn, toPrefix) }
                            : {
                                  firehoseArn: pulumi.interpolate`arn:${scope.partition}:firehose:${scope.region}:${scope.accountId}:deliverystream/${firehoseName}`,
                              },
                }),
            },
            { parent: this },
        );
        new aws.lambda.EventSourceMapping(
            `${name}-filter-source`,
            {
                eventSourceArn: wiring.stream.arn,
                functionName: filterFunction.arn,
                startingPosition: "LATEST",
                batchSize: filter.batchSize,
                ...filterPolling,
                functionResponseTypes: ["ReportBatchItemFailures"],
                destinationConfig: { onFailure: { destinationArn: failures.arn } },
            },
            { parent: this },
        );
        this.alarms.alarm(
            "filter-failures",
            `Batches of ${streamLabel} events the ${lookup.lookup} filter could not process`,
            deadLetterAlarm(failures.name),
        );
        return filterFunction;
    }
}
