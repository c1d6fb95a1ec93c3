import type * as pulumi from "@pulumi/pulumi";
import runMetrics from "../../glue-scripts/ingest/contracts/run_metrics.json";

/**
 * A CloudWatch metric as CloudWatch names it: what an alarm watches and what a dashboard widget
 * draws. Each component builds the metrics it alarms on once, with these functions, and hands the
 * same values to its alarms and to the stack's dashboard, so the two never watch different series.
 */
export interface MetricId {
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Readonly<Record<string, pulumi.Input<string>>>;
}

/** Namespace of the metrics the jobs publish (`glue-scripts/ingest/contracts/run_metrics.json`). */
export const jobMetricsNamespace = runMetrics.namespace;

export type ExtractRunMetric = keyof typeof runMetrics.extractRuns.metrics;
export type LookupLoadMetric = keyof typeof runMetrics.lookupLoads.metrics;

/** A metric the extract job publishes for each run of `pipeline`. */
export function extractRunMetric(metric: ExtractRunMetric, pipeline: string): MetricId {
    const { dimension, metrics } = runMetrics.extractRuns;
    return { namespace: runMetrics.namespace, metricName: metrics[metric].name, dimensions: { [dimension]: pipeline } };
}

/** A metric the lookup loader publishes for each load of `lookup`. */
export function lookupLoadMetric(metric: LookupLoadMetric, lookup: string): MetricId {
    const { dimension, metrics } = runMetrics.lookupLoads;
    return { namespace: runMetrics.namespace, metricName: metrics[metric].name, dimensions: { [dimension]: lookup } };
}

/** Events an EventBridge rule matched: runs in a state, scheduled starts. */
export function matchedEvents(ruleName: pulumi.Input<string>): MetricId {
    return { namespace: "AWS/Events", metricName: "MatchedEvents", dimensions: { RuleName: ruleName } };
}

/** Messages a queue holds that a consumer may receive now: for a dead-letter queue, what was given up on. */
export function visibleMessages(queueName: pulumi.Input<string>): MetricId {
    return { namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: queueName } };
}

/** The age of the oldest message a queue holds: how long the longest-waiting delivery has waited. */
export function oldestMessageAge(queueName: pulumi.Input<string>): MetricId {
    return { namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: queueName } };
}
