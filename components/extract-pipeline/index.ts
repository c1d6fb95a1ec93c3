import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { JobPlan } from "../../config/job-plan";
import type jobArguments from "../../glue-scripts/ingest/contracts/job_arguments.json";
import { badArchiveNamePrefix, type TriggerVariable } from "../../lambdas/extract-trigger/contract";
import type { NotifierVariable } from "../../lambdas/run-notifier/contract";
import { alarmPublishing, anyCount, deadLetterAlarm, notifyingAlarm, type AlarmSettings } from "../alarm-topic";
import { BundledFunction } from "../bundled-function";
import { deadLetterRetentionSeconds, receiveWaitTimeSeconds } from "../defaults/queues";
import { runLedgerKey, tableDefaults } from "../defaults/tables";
import { reservedConcurrencyOf, type LambdaSettings } from "../bundled-function/lambda-settings";
import { glueAssetUri, glueJob } from "../glue-job";
import { failedRunRule, glueJobEventRule } from "../glue-job/run-events";
import { icebergJobArguments } from "../lake-access";
import { badArchiveNamesMetric, extractRunMetric, matchedEvents, oldestMessageAge, visibleMessages, type MetricId } from "../metrics";
import { objectsUnder, policyDocument, serviceDelivery } from "../policies";
import {
    defaultGlueJob,
    latencyThresholds,
    itemsTableThroughput,
    triggerPolling,
    triggerQueue,
    triggerTimeoutSeconds,
    type GlueJobSettings,
} from "./defaults";
import { jobRoleStatements, notifierStatements, runReportsPrefix, triggerStatements } from "./policies";
import { savedLakeQueries } from "./queries";
import { accountScope } from "../account-scope";
import type { BucketRef } from "../secure-bucket";

export type { GlueJobSettings } from "./defaults";

export interface ExtractPipelineArgs {
    /** The job plan built from the pipeline's mapping; it is uploaded beside the job. */
    readonly plan: JobPlan;
    /**
     * The Pulumi stack the pipeline belongs to. The job gets it as its `stack` argument and the trigger
     * as its `STACK` variable; each names it in every metric it publishes, beside the pipeline, so the
     * alarms and the dashboard watch this stack's runs and archives only.
     */
    readonly stack: string;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly landing: BucketRef;
    readonly lake: BucketRef;
    readonly quarantine: BucketRef;
    readonly glueAssets: BucketRef;
    readonly databaseName: pulumi.Input<string>;
    /** The Athena workgroup the pipeline's saved queries belong to. */
    readonly workgroupName: pulumi.Input<string>;
    readonly securityConfigurationName: pulumi.Input<string>;
    /** Bundle of the trigger handler (`lambdas/extract-trigger`). */
    readonly triggerCode: pulumi.asset.Archive;
    /** Bundle of the run notifier (`lambdas/run-notifier`). */
    readonly notifierCode: pulumi.asset.Archive;
    /** The Glue entry script (`glue-scripts/extract_job.py`). */
    readonly jobScript: pulumi.asset.Asset;
    /** Zip of the job's Python package (`glue-scripts/ingest`). */
    readonly jobPackage: pulumi.asset.Archive;
    /** Defaults to `defaultGlueJob`. */
    readonly glue?: Partial<GlueJobSettings>;
    /** Address subscribed to run notifications; the subscription must be confirmed by e-mail. */
    readonly notificationEmail?: string;
    /** Alarm when no run has succeeded for this many hours (1 to 168). */
    readonly freshnessHours: number;
    /**
     * Minutes from an archive landing to its items written that the stack promises: the latency
     * alarms (see `latencyThresholds`) and Glue's delay notification follow from it.
     */
    readonly latencyPromiseMinutes: number;
    /** Protects the items and run-ledger tables from deletion (production). */
    readonly deletionProtection: boolean;
    /**
     * Write units per second a run may spend on the items table, shared by its writer tasks; the
     * table's on-demand maximum and warm throughput follow from it (see `itemsTableThroughput`).
     */
    readonly itemsWriteUnitsPerSecond: number;
    /** Days the trigger's logs are kept. Defaults to 90. */
    readonly logRetentionDays?: number;
    /** X-Ray tracing and reserved-concurrency overrides of the functions (`ingestion:lambda`). Defaults to `defaultLambdaSettings`. */
    readonly lambda?: LambdaSettings;
}

/** The metrics of one pipeline: its latency, runs, rows and items, and its queues. */
export interface ExtractPipelineMetrics {
    /** Seconds from landing to items written, per run that succeeded. */
    readonly landingToItemsWritten: MetricId;
    /** Seconds from landing to the run's start, per run. */
    readonly landingToRunStart: MetricId;
    readonly succeededRuns: MetricId;
    /** Runs that failed, timed out, were stopped or could not start. */
    readonly failedRuns: MetricId;
    /** Runs Glue reported still going after the promise (its notifyDelayAfter). */
    readonly lateRuns: MetricId;
    readonly rowsAccepted: MetricId;
    readonly rowsQuarantined: MetricId;
    readonly itemsWritten: MetricId;
    /** Age of the oldest landed archive waiting in the trigger queue. */
    readonly oldestArchive: MetricId;
    /** Messages in the dead-letter queue. */
    readonly deadLetters: MetricId;
    /** Objects under the landing prefix the trigger quarantined for a name that is not an archive name. */
    readonly badArchiveNames: MetricId;
}

/**
 * One batch extract pipeline: an archive landing under the mapping's prefix is announced by
 * EventBridge to a queue (with a dead-letter queue); the trigger function claims the object
 * version once and starts the Glue job, which merges the extract into the lake's Iceberg tables and
 * writes the nested items table. Each run's outcome goes to an SNS topic once, from the job or, for
 * a run that died first, from the run notifier; alarms watch failures, the dead-letter queue,
 * freshness and the latency promise. Saved Athena queries show the items and a row's history.
 */
export class ExtractPipeline extends pulumi.ComponentResource {
    readonly itemsTable: aws.dynamodb.Table;
    readonly runLedger: aws.dynamodb.Table;
    readonly topic: aws.sns.Topic;
    readonly queue: aws.sqs.Queue;
    readonly deadLetterQueue: aws.sqs.Queue;
    readonly job: aws.glue.Job;
    readonly trigger: BundledFunction;
    /** Announces the runs that ended without announcing themselves. */
    readonly notifier: BundledFunction;
    /** What the pipeline's alarms watch, for the stack's dashboard to draw the same series. */
    readonly metrics: ExtractPipelineMetrics;
    readonly itemsTableName: pulumi.Output<string>;
    readonly jobName: pulumi.Output<string>;
    readonly topicArn: pulumi.Output<string>;

    constructor(name: string, args: ExtractPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:extract:ExtractPipeline", name, {}, opts);
        const { plan } = args;
        const glue = { ...defaultGlueJob, ...args.glue };
        const scope = accountScope(this);
        const encryptedTable = tableDefaults(args.kmsKeyArn, args.deletionProtection);

        const { partitionKey, sortKey } = plan.item;
        this.itemsTable = new aws.dynamodb.Table(
            `${name}-items`,
            {
                ...encryptedTable,
                hashKey: partitionKey.attribute,
                ...(sortKey ? { rangeKey: sortKey.attribute } : {}),
                attributes: [partitionKey, ...(sortKey ? [sortKey] : [])].map((key) => ({ name: key.attribute, type: key.type })),
                ttl: { attributeName: plan.item.ttl.attribute, enabled: true },
                ...itemsTableThroughput(args.itemsWriteUnitsPerSecond),
            },
            { parent: this },
        );
        this.runLedger = new aws.dynamodb.Table(
            `${name}-runs`,
            {
                ...encryptedTable,
                ...runLedgerKey(),
            },
            { parent: this },
        );

        this.topic = new aws.sns.Topic(`${name}-notifications`, { kmsMasterKeyId: args.kmsKeyArn }, { parent: this });
        if (args.notificationEmail) {
            new aws.sns.TopicSubscription(
                `${name}-notifications-email`,
                { topic: this.topic.arn, protocol: "email", endpoint: args.notificationEmail },
                { parent: this },
            );
        }

        this.deadLetterQueue = new aws.sqs.Queue(
            `${name}-archives-dlq`,
            { kmsMasterKeyId: args.kmsKeyArn, messageRetentionSeconds: deadLetterRetentionSeconds },
            { parent: this },
        );
        this.queue = new aws.sqs.Queue(
            `${name}-archives`,
            {
                kmsMasterKeyId: args.kmsKeyArn,
                visibilityTimeoutSeconds: triggerQueue.visibilityTimeoutSeconds,
                receiveWaitTimeSeconds,
                redrivePolicy: pulumi.jsonStringify({
                    deadLetterTargetArn: this.deadLetterQueue.arn,
                    maxReceiveCount: triggerQueue.maxReceiveCount,
                }),
            },
            { parent: this },
        );
        const landedRule = new aws.cloudwatch.EventRule(
            `${name}-archive-landed`,
            {
                description: `Archives landing under s3://…/${plan.extract.landingPrefix} for ${plan.pipeline}`,
                eventPattern: pulumi.jsonStringify({
                    source: ["aws.s3"],
                    "detail-type": ["Object Created"],
                    detail: {
                        bucket: { name: [args.landing.name] },
                        object: { key: [{ prefix: plan.extract.landingPrefix }] },
                    },
                }),
            },
            { parent: this },
        );
        const queuePolicy = new aws.sqs.QueuePolicy(
            `${name}-archives-policy`,
            {
                queueUrl: this.queue.url,
                policy: policyDocument([
                    serviceDelivery("EventBridgeDeliversLandedArchives", "events.amazonaws.com", "sqs:SendMessage", this.queue.arn, [
                        landedRule.arn,
                    ]),
                ]),
            },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-archive-landed-target`,
            { rule: landedRule.name, arn: this.queue.arn },
            { parent: this, dependsOn: [queuePolicy] },
        );

        const jobAssets = `jobs/${plan.pipeline}/`;
        const jobStatements = jobRoleStatements({
            ...scope,
            pipeline: plan.pipeline,
            landingPrefix: plan.extract.landingPrefix,
            landing: args.landing,
            lake: args.lake,
            quarantine: args.quarantine,
            glueAssets: args.glueAssets,
            databaseName: args.databaseName,
            lakeTables: plan.lake.tables,
            itemsTableArn: this.itemsTable.arn,
            runLedgerArn: this.runLedger.arn,
            topicArn: this.topic.arn,
            kmsKeyArn: args.kmsKeyArn,
        });
        const deployArguments: Record<keyof typeof jobArguments.deployArguments, pulumi.Input<string>> = {
            plan_uri: glueAssetUri(args.glueAssets, jobAssets, "plan.json"),
            lake_bucket: args.lake.name,
            quarantine_bucket: args.quarantine.name,
            items_table: this.itemsTable.name,
            glue_database: args.databaseName,
            notification_topic_arn: this.topic.arn,
            run_ledger_table: this.runLedger.name,
            staging_uri: pulumi.interpolate`s3://${args.glueAssets.name}/temporary/${plan.pipeline}/staging/`,
            changes_uri: pulumi.interpolate`s3://${args.glueAssets.name}/temporary/${plan.pipeline}/changes/`,
            items_write_units_per_second: String(args.itemsWriteUnitsPerSecond),
            stack: args.stack,
        };
        this.job = glueJob(
            `${name}-job`,
            {
                description: `Loads ${plan.pipeline} extracts into the lake and the items table`,
                scope,
                kmsKeyArn: args.kmsKeyArn,
                glueAssets: args.glueAssets,
                assetsPrefix: jobAssets,
                script: { file: "extract_job.py", source: args.jobScript },
                jobPackage: args.jobPackage,
                configuration: { suffix: "plan", file: "plan.json", document: plan },
                statements: jobStatements,
                contract: deployArguments,
                glueArguments: icebergJobArguments(args.lake.name),
                temporaryPrefix: plan.pipeline,
                capacity: {
                    workerType: glue.workerType,
                    numberOfWorkers: glue.maxWorkers,
                    flex: glue.flex,
                    timeoutMinutes: glue.timeoutMinutes,
                    maxRetries: glue.maxRetries,
                    maxConcurrentRuns: glue.maxConcurrentRuns,
                    queueRuns: true,
                    notifyDelayAfterMinutes: args.latencyPromiseMinutes,
                },
                securityConfigurationName: args.securityConfigurationName,
            },
            { parent: this },
        );
        this.jobName = this.job.name;

        const triggerEnvironment: Record<TriggerVariable, pulumi.Input<string>> = {
            JOB_NAME: this.job.name,
            RUN_LEDGER_TABLE: this.runLedger.name,
            LANDING_BUCKET: args.landing.name,
            LANDING_PREFIX: plan.extract.landingPrefix,
            ARCHIVE_NAMING: JSON.stringify(plan.extract.archiveNaming),
            PIPELINE: plan.pipeline,
            QUARANTINE_BUCKET: args.quarantine.name,
            STACK: args.stack,
        };
        // The trigger runs as many at once as its queue mapping polls for (a stack may raise both together).
        const triggerConcurrency = reservedConcurrencyOf(args.lambda, "extract-trigger", triggerPolling.maximumConcurrency);
        this.trigger = new BundledFunction(
            `${name}-trigger`,
            {
                description: `Starts the ${plan.pipeline} extract job for each archive that lands`,
                code: args.triggerCode,
                kmsKeyArn: args.kmsKeyArn,
                deadLetterQueueArn: this.deadLetterQueue.arn,
                timeoutSeconds: triggerTimeoutSeconds,
                ...(args.logRetentionDays ? { logRetentionDays: args.logRetentionDays } : {}),
                ...(args.lambda ? { tracing: args.lambda.tracing } : {}),
                reservedConcurrency: triggerConcurrency,
                environment: triggerEnvironment,
                policyStatements: triggerStatements({
                    jobArn: this.job.arn,
                    runLedgerArn: this.runLedger.arn,
                    queueArn: this.queue.arn,
                    landedArchives: objectsUnder(args.landing.arn, plan.extract.landingPrefix),
                    badNameQuarantine: objectsUnder(args.quarantine.arn, badArchiveNamePrefix(plan.pipeline)),
                }),
            },
            { parent: this },
        );
        new aws.lambda.EventSourceMapping(
            `${name}-trigger-source`,
            {
                eventSourceArn: this.queue.arn,
                functionName: this.trigger.arn,
                batchSize: triggerPolling.batchSize,
                maximumBatchingWindowInSeconds: triggerPolling.maximumBatchingWindowInSeconds,
                functionResponseTypes: ["ReportBatchItemFailures"],
                scalingConfig: { maximumConcurrency: triggerConcurrency },
            },
            { parent: this },
        );

        const jobName = this.job.name;
        const succeeded = glueJobEventRule(
            `${name}-run-succeeded`,
            {
                description: `Successful runs of the ${plan.pipeline} extract job`,
                jobName,
                detailType: "Glue Job State Change",
                states: ["SUCCEEDED"],
            },
            { parent: this },
        );
        const failed = failedRunRule(
            `${name}-run-failed`,
            { description: `Failed, stopped or timed-out runs of the ${plan.pipeline} extract job`, jobName },
            { parent: this },
        );
        // Glue sends it once for a run still going after the job's notifyDelayAfter (the promise).
        const delayed = glueJobEventRule(
            `${name}-run-delayed`,
            {
                description: `Runs of the ${plan.pipeline} extract job still going after the promise`,
                jobName,
                detailType: "Glue Job Run Status",
            },
            { parent: this },
        );
        new aws.sns.TopicPolicy(
            `${name}-notifications-policy`,
            { arn: this.topic.arn, policy: policyDocument([alarmPublishing(this.topic.arn, scope.accountId)]) },
            { parent: this },
        );

        // The job announces each of its runs; the notifier announces, in its place, a run that ended
        // without having done so (see lambdas/run-notifier). A run that succeeded has always announced itself.
        const notifierEnvironment: Record<NotifierVariable, pulumi.Input<string>> = {
            PIPELINE: plan.pipeline,
            LAKE_BUCKET: args.lake.name,
            TOPIC_ARN: this.topic.arn,
        };
        this.notifier = new BundledFunction(
            `${name}-run-notifier`,
            {
                description: `Announces ${plan.pipeline} runs that ended before the job could announce them`,
                code: args.notifierCode,
                kmsKeyArn: args.kmsKeyArn,
                deadLetterQueueArn: this.deadLetterQueue.arn,
                ...(args.logRetentionDays ? { logRetentionDays: args.logRetentionDays } : {}),
                ...(args.lambda ? { tracing: args.lambda.tracing } : {}),
                // Each failed run of the job invokes it once; no more runs than the job's concurrent runs end at once.
                reservedConcurrency: reservedConcurrencyOf(args.lambda, "run-notifier", glue.maxConcurrentRuns),
                environment: notifierEnvironment,
                policyStatements: notifierStatements({
                    jobArn: this.job.arn,
                    lakeArn: args.lake.arn,
                    reportsPrefix: runReportsPrefix(plan.pipeline),
                    topicArn: this.topic.arn,
                }),
            },
            { parent: this },
        );
        const notifierPermission = new aws.lambda.Permission(
            `${name}-run-notifier-permission`,
            {
                action: "lambda:InvokeFunction",
                function: this.notifier.functionName,
                principal: "events.amazonaws.com",
                sourceArn: failed.arn,
            },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-run-failed-target`,
            { rule: failed.name, arn: this.notifier.arn },
            { parent: this, dependsOn: [notifierPermission] },
        );

        const runs = { stack: args.stack, pipeline: plan.pipeline };
        this.metrics = {
            landingToItemsWritten: extractRunMetric("landingToItemsWritten", runs),
            landingToRunStart: extractRunMetric("landingToRunStart", runs),
            succeededRuns: matchedEvents(succeeded.name),
            failedRuns: matchedEvents(failed.name),
            lateRuns: matchedEvents(delayed.name),
            rowsAccepted: extractRunMetric("rowsAccepted", runs),
            rowsQuarantined: extractRunMetric("rowsQuarantined", runs),
            itemsWritten: extractRunMetric("itemsWritten", runs),
            oldestArchive: oldestMessageAge(this.queue.name),
            deadLetters: visibleMessages(this.deadLetterQueue.name),
            badArchiveNames: badArchiveNamesMetric(runs),
        };
        const thresholds = latencyThresholds(args.latencyPromiseMinutes);
        const waitMinutes = thresholds.waitSeconds / 60;

        // The pipeline's alarms notify its run topic, so one subscription hears of runs and alarms alike.
        const alarm = (suffix: string, description: string, settings: AlarmSettings) =>
            notifyingAlarm(`${name}-${suffix}`, this.topic.arn, description, settings, { parent: this });
        // The longest value seen in five minutes over `threshold` raises it; a period without one does not breach.
        const longestOver = (threshold: number) =>
            ({
                statistic: "Maximum",
                period: 300,
                evaluationPeriods: 1,
                threshold,
                comparisonOperator: "GreaterThanThreshold",
                treatMissingData: "notBreaching",
            }) as const;
        alarm("job-failures", `A ${plan.pipeline} extract run failed, timed out or was stopped`, anyCount(this.metrics.failedRuns));
        alarm(
            "dead-letters",
            `Landed ${plan.pipeline} archives that could not start a run, or failed runs that could not be announced, ` +
                "wait in the dead-letter queue",
            deadLetterAlarm(this.deadLetterQueue.name),
        );
        // One datapoint per hour; missing hours breach, so the alarm fires when none of the last
        // `freshnessHours` hours saw a successful run.
        alarm("stale", `No ${plan.pipeline} extract run succeeded in the last ${args.freshnessHours} hours`, {
            ...this.metrics.succeededRuns,
            statistic: "Sum",
            period: 3600,
            evaluationPeriods: args.freshnessHours,
            datapointsToAlarm: args.freshnessHours,
            threshold: 1,
            comparisonOperator: "LessThanThreshold",
            treatMissingData: "breaching",
        });
        // Each successful run publishes its latency once; a period without a run does not breach.
        alarm(
            "latency",
            `A ${plan.pipeline} extract took longer than the promised ${args.latencyPromiseMinutes} minutes from landing to items written`,
            { ...this.metrics.landingToItemsWritten, ...longestOver(thresholds.itemsWrittenSeconds) },
        );
        // The trigger takes an archive off the queue within seconds; one still there after a third of
        // the promise keeps failing to start its run (Glue refusing it, or the trigger failing).
        alarm(
            "archive-wait",
            `A landed ${plan.pipeline} archive has waited over ${waitMinutes} minutes in the trigger queue for its run to start`,
            { ...this.metrics.oldestArchive, ...longestOver(thresholds.waitSeconds) },
        );
        // Glue publishes no metric of the runs waiting in a job's queue (its AWS/Glue ResourceUsage is
        // the account's share of its concurrent-run quota, hourly, for all jobs). The closest real
        // signal is how long after landing each run started, which the job publishes as it starts: a
        // run that waited long in Glue's queue (or for Flex capacity) raises this while it still runs.
        alarm(
            "glue-queue",
            `A ${plan.pipeline} run started more than ${waitMinutes} minutes after its archive landed (it waited in Glue's queue)`,
            { ...this.metrics.landingToRunStart, ...longestOver(thresholds.waitSeconds) },
        );
        alarm(
            "late-runs",
            `A ${plan.pipeline} run is still going ${args.latencyPromiseMinutes} minutes after it started: its extract is late`,
            anyCount(this.metrics.lateRuns),
        );
        alarm(
            "bad-archive-names",
            `An object landed under ${plan.extract.landingPrefix} with a name that is not a ${plan.pipeline} archive name; ` +
                "it was quarantined, not loaded (ingest runs --failed lists it)",
            anyCount(this.metrics.badArchiveNames),
        );

        for (const saved of savedLakeQueries(plan)) {
            new aws.athena.NamedQuery(
                `${name}-${saved.name}`,
                {
                    name: `${plan.pipeline}-${saved.name}`,
                    description: saved.description,
                    workgroup: args.workgroupName,
                    database: args.databaseName,
                    query: saved.query,
                },
                { parent: this },
            );
        }

        this.itemsTableName = this.itemsTable.name;
        this.topicArn = this.topic.arn;
        this.registerOutputs({ itemsTableName: this.itemsTableName, jobName: this.jobName, topicArn: this.topicArn });
    }
}
