import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { JobPlan } from "../../config/job-plan";
import type jobArguments from "../../glue-scripts/ingest/contracts/job_arguments.json";
import { badArchiveNameMetric, badArchiveNamePrefix, type TriggerVariable } from "../../lambdas/extract-trigger/contract";
import { alarmPublishing, deadLetterAlarm, notifyingAlarm, type AlarmSettings } from "../alarm-topic";
import { BundledFunction } from "../bundled-function";
import { glueAssetUri, glueJob } from "../glue-job";
import { icebergJobArguments } from "../lake-access";
import { objectsUnder, policyDocument } from "../policies";
import { defaultGlueJob, failedRunStates, triggerPolling, triggerQueue, triggerTimeoutSeconds, type GlueJobSettings } from "./defaults";
import { jobRoleStatements, serviceDelivery, triggerStatements, type BucketRef } from "./policies";
import { savedLakeQueries } from "./queries";
import { accountScope } from "../account-scope";

export type { GlueJobSettings } from "./defaults";

export interface ExtractPipelineArgs {
    /** The job plan built from the pipeline's mapping; it is uploaded beside the job. */
    readonly plan: JobPlan;
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
    /** Protects the items and run-ledger tables from deletion (production). */
    readonly deletionProtection: boolean;
    /** Days the trigger's logs are kept. Defaults to 90. */
    readonly logRetentionDays?: number;
}

/**
 * One batch extract pipeline: an archive landing under the mapping's prefix is announced by
 * EventBridge to a queue (with a dead-letter queue); the trigger function claims the object
 * version once and starts the Glue job, which merges the extract into the lake's Iceberg tables and
 * writes the nested items table. Run outcomes go to an SNS topic; alarms watch failures, the
 * dead-letter queue and freshness. Saved Athena queries show the items and a row's history.
 */
export class ExtractPipeline extends pulumi.ComponentResource {
    readonly itemsTable: aws.dynamodb.Table;
    readonly runLedger: aws.dynamodb.Table;
    readonly topic: aws.sns.Topic;
    readonly queue: aws.sqs.Queue;
    readonly deadLetterQueue: aws.sqs.Queue;
    readonly job: aws.glue.Job;
    readonly trigger: BundledFunction;
    readonly itemsTableName: pulumi.Output<string>;
    readonly jobName: pulumi.Output<string>;
    readonly topicArn: pulumi.Output<string>;

    constructor(name: string, args: ExtractPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:extract:ExtractPipeline", name, {}, opts);
        const { plan } = args;
        const glue = { ...defaultGlueJob, ...args.glue };
        const scope = accountScope(this);
        const encryptedTable = {
            billingMode: "PAY_PER_REQUEST",
            pointInTimeRecovery: { enabled: true },
            serverSideEncryption: { enabled: true, kmsKeyArn: args.kmsKeyArn },
            deletionProtectionEnabled: args.deletionProtection,
        };

        const { partitionKey, sortKey } = plan.item;
        this.itemsTable = new aws.dynamodb.Table(
            `${name}-items`,
            {
                ...encryptedTable,
                hashKey: partitionKey.attribute,
                ...(sortKey ? { rangeKey: sortKey.attribute } : {}),
                attributes: [partitionKey, ...(sortKey ? [sortKey] : [])].map((key) => ({ name: key.attribute, type: key.type })),
                ttl: { attributeName: plan.item.ttl.attribute, enabled: true },
            },
            { parent: this },
        );
        this.runLedger = new aws.dynamodb.Table(
            `${name}-runs`,
            {
                ...encryptedTable,
                hashKey: "archive",
                attributes: [{ name: "archive", type: "S" }],
                ttl: { attributeName: "expiresAt", enabled: true },
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
            { kmsMasterKeyId: args.kmsKeyArn, messageRetentionSeconds: triggerQueue.deadLetterRetentionSeconds },
            { parent: this },
        );
        this.queue = new aws.sqs.Queue(
            `${name}-archives`,
            {
                kmsMasterKeyId: args.kmsKeyArn,
                visibilityTimeoutSeconds: triggerQueue.visibilityTimeoutSeconds,
                receiveWaitTimeSeconds: triggerQueue.receiveWaitTimeSeconds,
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
        };
        this.job = glueJob(
            `${name}-job`,
            {
                description: `Loads ${plan.pipeline} extracts into the lake and the items table`,
                accountId: scope.accountId,
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
        };
        this.trigger = new BundledFunction(
            `${name}-trigger`,
            {
                description: `Starts the ${plan.pipeline} extract job for each archive that lands`,
                code: args.triggerCode,
                kmsKeyArn: args.kmsKeyArn,
                deadLetterQueueArn: this.deadLetterQueue.arn,
                timeoutSeconds: triggerTimeoutSeconds,
                ...(args.logRetentionDays ? { logRetentionDays: args.logRetentionDays } : {}),
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
                scalingConfig: { maximumConcurrency: triggerPolling.maximumConcurrency },
            },
            { parent: this },
        );

        const runRule = (suffix: string, description: string, states: readonly string[], outcome: string) => {
            const rule = new aws.cloudwatch.EventRule(
                `${name}-${suffix}`,
                {
                    description,
                    eventPattern: pulumi.jsonStringify({
                        source: ["aws.glue"],
                        "detail-type": ["Glue Job State Change"],
                        detail: { jobName: [this.job.name], state: states },
                    }),
                },
                { parent: this },
            );
            return { rule, suffix, outcome };
        };
        const succeeded = runRule("run-succeeded", `Successful runs of the ${plan.pipeline} extract job`, ["SUCCEEDED"], "succeeded");
        const failed = runRule(
            "run-failed",
            `Failed, stopped or timed-out runs of the ${plan.pipeline} extract job`,
            failedRunStates,
            "did not succeed",
        );
        const topicPolicy = new aws.sns.TopicPolicy(
            `${name}-notifications-policy`,
            {
                arn: this.topic.arn,
                policy: policyDocument([
                    serviceDelivery("EventBridgePublishesRunOutcomes", "events.amazonaws.com", "sns:Publish", this.topic.arn, [
                        succeeded.rule.arn,
                        failed.rule.arn,
                    ]),
                    alarmPublishing(this.topic.arn, scope.accountId),
                ]),
            },
            { parent: this },
        );
        for (const { rule, suffix, outcome } of [succeeded, failed]) {
            new aws.cloudwatch.EventTarget(
                `${name}-${suffix}-target`,
                {
                    rule: rule.name,
                    arn: this.topic.arn,
                    inputTransformer: {
                        inputPaths: {
                            job: "$.detail.jobName",
                            run: "$.detail.jobRunId",
                            state: "$.detail.state",
                            message: "$.detail.message",
                            time: "$.time",
                        },
                        inputTemplate: `"[${plan.pipeline}] Glue run <run> of <job> ${outcome} at <time> (state <state>): <message>"`,
                    },
                },
                { parent: this, dependsOn: [topicPolicy] },
            );
        }

        // The pipeline's alarms notify its run topic, so one subscription hears of runs and alarms alike.
        const alarm = (suffix: string, description: string, settings: AlarmSettings) =>
            notifyingAlarm(`${name}-${suffix}`, this.topic.arn, description, settings, { parent: this });
        alarm("job-failures", `A ${plan.pipeline} extract run failed, timed out or was stopped`, {
            namespace: "AWS/Events",
            metricName: "MatchedEvents",
            dimensions: { RuleName: failed.rule.name },
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        });
        alarm(
            "dead-letters",
            `Landed ${plan.pipeline} archives could not start a run and wait in the dead-letter queue`,
            deadLetterAlarm(this.deadLetterQueue.name),
        );
        // One datapoint per hour; missing hours breach, so the alarm fires when none of the last
        // `freshnessHours` hours saw a successful run.
        alarm("stale", `No ${plan.pipeline} extract run succeeded in the last ${args.freshnessHours} hours`, {
            namespace: "AWS/Events",
            metricName: "MatchedEvents",
            dimensions: { RuleName: succeeded.rule.name },
            statistic: "Sum",
            period: 3600,
            evaluationPeriods: args.freshnessHours,
            datapointsToAlarm: args.freshnessHours,
            threshold: 1,
            comparisonOperator: "LessThanThreshold",
            treatMissingData: "breaching",
        });
        // Any archive quarantined for its name in five minutes raises it; a period without one has no
        // datapoint, which does not breach, so the alarm clears by itself after notifying.
        alarm(
            "bad-archive-names",
            `An object landed under ${plan.extract.landingPrefix} with a name that is not a ${plan.pipeline} archive name; ` +
                "it was quarantined, not loaded (ingest runs --failed lists it)",
            {
                namespace: badArchiveNameMetric.namespace,
                metricName: badArchiveNameMetric.name,
                dimensions: { [badArchiveNameMetric.dimension]: plan.pipeline },
                statistic: "Sum",
                period: 300,
                evaluationPeriods: 1,
                threshold: 1,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                treatMissingData: "notBreaching",
            },
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
