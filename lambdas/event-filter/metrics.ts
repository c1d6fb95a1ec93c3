import type { LogEntry } from "../shared/runtime";

/** What one invocation did with its batch. */
export interface FilterCounts {
    /** Records in the batch. */
    readonly received: number;
    /** Events whose key is in the table and not expired. */
    readonly matched: number;
    /** Events not passed on: key not in the table, or its item expired (`expired` of them). */
    readonly dropped: number;
    /** Of the dropped, those whose item is still in the table with a TTL in the past. */
    readonly expired: number;
    /** Records that are not a JSON object with a usable key; never passed on. */
    readonly malformed: number;
    /** Events delivered to the destination. */
    readonly forwarded: number;
}

export const metricNamespace = "Ingestion/EventFilter";

const countNames = [
    "received",
    "matched",
    "dropped",
    "expired",
    "malformed",
    "forwarded",
] as const satisfies readonly (keyof FilterCounts)[];

/**
 * The counts as one CloudWatch Embedded Metric Format line: CloudWatch Logs turns each count into
 * a metric of the namespace with the table as its dimension, and the line stays a searchable log
 * entry with `details` beside the counts.
 */
export function metricsEntry(table: string, counts: FilterCounts, timestamp: Date, details: Record<string, unknown>): LogEntry {
    return {
        level: "info",
        message: "event filter batch",
        _aws: {
            Timestamp: timestamp.getTime(),
            CloudWatchMetrics: [
                {
                    Namespace: metricNamespace,
                    Dimensions: [["Table"]],
                    Metrics: countNames.map((name) => ({ Name: name, Unit: "Count" })),
                },
            ],
        },
        Table: table,
        ...Object.fromEntries(countNames.map((name) => [name, counts[name]])),
        ...details,
    };
}
