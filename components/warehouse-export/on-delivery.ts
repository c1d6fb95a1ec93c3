import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { exportMarkerPrefix } from "../../contracts/glue-jobs";
import type { ExportStarterVariable } from "../../lambdas/export-starter/contract";
import { deadLetterAlarm, type AlarmTopic } from "../alarm-topic";
import { BundledFunction } from "../bundled-function";
import { visibilityTimeoutFor } from "../defaults/queues";
import { runLedgerKey, tableDefaults } from "../defaults/tables";
import { queueConcurrency, reservedConcurrencyOf, type LambdaSettings } from "../bundled-function/lambda-settings";
import { ObjectEventQueue } from "../object-events";
import { exportStarterStatements } from "./policies";
import type { BucketRef } from "../secure-bucket";

/**
 * The on-delivery starter's settings. Glue refuses a start while the job's one run is going
 * (ConcurrentRunsExceededException); the message then comes back after the visibility timeout,
 * up to `maxReceiveCount` times: an hour at 20 x 180 s, which the job's 15-minute sweep exceeds
 * several times over, so an object whose message does reach the dead-letter queue is exported by
 * the schedule all the same (and the dead-letter alarm says so).
 */
export const exportStarter = {
    timeoutSeconds: 30,
    visibilityTimeoutSeconds: visibilityTimeoutFor(30),
    maxReceiveCount: 20,
    /** One object a message, one run an object: a batch would only meet more refusals. */
    batchSize: 1,
    /** Lambda's lowest maximum for a queue mapping; the job takes one run at a time anyway. */
    maximumConcurrency: queueConcurrency.minimum,
} as const;

export interface OnDeliveryArgs {
    readonly stream: string;
    readonly delivery: BucketRef;
    /** Firehose's prefix in the delivery bucket, ending in `/`. */
    readonly deliveredPrefix: string;
    readonly job: aws.glue.Job;
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Bundle of `lambdas/export-starter`. */
    readonly code: pulumi.asset.Archive;
    readonly alarms: AlarmTopic;
    readonly deletionProtection: boolean;
    readonly logRetentionDays?: number;
    readonly lambda?: LambdaSettings;
}

export interface OnDelivery {
    readonly deliveries: ObjectEventQueue;
    readonly runLedger: aws.dynamodb.Table;
    readonly starter: BundledFunction;
}

/**
 * Seed 004's second Lambda: each object Firehose delivers (S3 Object Created -> EventBridge -> an
 * encrypted queue with a dead-letter queue) starts an export run for that object, claimed once per
 * object version in a run ledger of the export's own. Children are `<name>-deliveries` (the queue),
 * `<name>-runs` (the ledger), `<name>-starter` and its mapping `<name>-starter-source`.
 */
export function onDeliveryStarter(name: string, args: OnDeliveryArgs, opts: pulumi.CustomResourceOptions): OnDelivery {
    const deliveries = new ObjectEventQueue(
        `${name}-deliveries`,
        {
            description: `Objects Firehose delivers for the ${args.stream} warehouse export`,
            bucketName: args.delivery.name,
            prefix: args.deliveredPrefix,
            kmsKeyArn: args.kmsKeyArn,
            visibilityTimeoutSeconds: exportStarter.visibilityTimeoutSeconds,
            maxReceiveCount: exportStarter.maxReceiveCount,
        },
        opts,
    );
    const runLedger = new aws.dynamodb.Table(
        `${name}-runs`,
        {
            ...tableDefaults(args.kmsKeyArn, args.deletionProtection),
            ...runLedgerKey(),
        },
        opts,
    );
    // The starter runs as many at once as its queue mapping polls for (a stack may raise both together).
    const concurrency = reservedConcurrencyOf(args.lambda, "export-starter", exportStarter.maximumConcurrency);
    const environment: Record<ExportStarterVariable, pulumi.Input<string>> = {
        JOB_NAME: args.job.name,
        RUN_LEDGER_TABLE: runLedger.name,
        DELIVERY_BUCKET: args.delivery.name,
        DELIVERY_PREFIX: args.deliveredPrefix,
        MARKER_PREFIX: exportMarkerPrefix,
    };
    const starter = new BundledFunction(
        `${name}-starter`,
        {
            description: `Starts the ${args.stream} warehouse export for each object Firehose delivers`,
            code: args.code,
            kmsKeyArn: args.kmsKeyArn,
            deadLetterQueueArn: deliveries.deadLetterQueue.arn,
            timeoutSeconds: exportStarter.timeoutSeconds,
            ...(args.logRetentionDays ? { logRetentionDays: args.logRetentionDays } : {}),
            ...(args.lambda ? { tracing: args.lambda.tracing } : {}),
            reservedConcurrency: concurrency,
            environment,
            policyStatements: exportStarterStatements({
                queueArn: deliveries.queue.arn,
                runLedgerArn: runLedger.arn,
                jobArn: args.job.arn,
                delivery: args.delivery,
                exportedMarkers: `${exportMarkerPrefix}${args.deliveredPrefix}`,
            }),
        },
        opts,
    );
    new aws.lambda.EventSourceMapping(
        `${name}-starter-source`,
        {
            eventSourceArn: deliveries.queue.arn,
            functionName: starter.arn,
            batchSize: exportStarter.batchSize,
            functionResponseTypes: ["ReportBatchItemFailures"],
            scalingConfig: { maximumConcurrency: concurrency },
        },
        opts,
    );
    args.alarms.alarm(
        "export-dead-letters",
        `Objects delivered for the ${args.stream} warehouse export found no run and wait in the dead-letter queue (the schedule still exports them)`,
        deadLetterAlarm(deliveries.deadLetterQueue.name),
        // In the export's subtree (the parent of everything here), not the alarm topic's.
        opts.parent ? pulumi.mergeOptions(opts, args.alarms.ownedBy(opts.parent)) : opts,
    );
    return { deliveries, runLedger, starter };
}
