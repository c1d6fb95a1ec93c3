import type * as pulumi from "@pulumi/pulumi";
import runMetrics from "../../glue-scripts/ingest/contracts/run_metrics.json";
import { badArchiveNameMetric, type BadArchiveNameSeries } from "../../lambdas/extract-trigger/contract";

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

/**
 * Which series of an extract run metric: the stack and the pipeline. The stack is a dimension
 * because two stacks in one account and region may deploy the same pipeline, and each stack's
 * alarms and dashboard must watch its own runs only. The job publishes the same pair (its `stack`
 * argument), and the contract names each dimension.
 */
export type ExtractRunSeries = Readonly<Record<keyof typeof runMetrics.extractRuns.dimensions, string>>;

/** Which series of a lookup load metric: the stack and the lookup (see `ExtractRunSeries`). */
export type LookupLoadSeries = Readonly<Record<keyof typeof runMetrics.lookupLoads.dimensions, string>>;

/** A metric the extract job publishes for each run of `series.pipeline` in `series.stack`. */
export function extractRunMetric(metric: ExtractRunMetric, series: ExtractRunSeries): MetricId {
    const { dimensions, metrics } = runMetrics.extractRuns;
    return seriesMetric(runMetrics.namespace, metrics[metric].name, dimensions, series);
}

/** A metric the lookup loader publishes for each load of `series.lookup` in `series.stack`. */
export function lookupLoadMetric(metric: LookupLoadMetric, series: LookupLoadSeries): MetricId {
    const { dimensions, metrics } = runMetrics.lookupLoads;
    return seriesMetric(runMetrics.namespace, metrics[metric].name, dimensions, series);
}

/**
 * Objects the extract trigger of `series.pipeline` in `series.stack` quarantined for a name that is
 * not an archive name (`lambdas/extract-trigger/contract.ts`), by stack as the jobs' metrics are.
 */
export function badArchiveNamesMetric(series: BadArchiveNameSeries): MetricId {
    const { namespace, name, dimensions } = badArchiveNameMetric;
    return seriesMetric(namespace, name, dimensions, series);
}

/** A metric whose dimensions a contract names by key (`dimensions`), with the series' value for each key. */
function seriesMetric<Key extends string>(
    namespace: string,
    metricName: string,
    dimensions: Readonly<Record<Key, string>>,
    series: Readonly<Record<Key, string>>,
): MetricId {
    const keys = Object.keys(dimensions) as Key[];
    return { namespace, metricName, dimensions: Object.fromEntries(keys.map((key) => [dimensions[key], series[key]])) };
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
