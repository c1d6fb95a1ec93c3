import { defaultWorkerType } from "../glue-job/defaults";
import { visibilityTimeoutFor } from "../defaults/queues";

export interface GlueJobSettings {
    /** G.1X or G.2X (Flex runs only on these), or G.4X / G.8X for very large extracts. */
    readonly workerType: string;
    /** Upper bound for auto scaling; Glue starts small and adds workers as the extract needs. */
    readonly maxWorkers: number;
    /** Run on spare capacity at a lower price; starts may be delayed. */
    readonly flex: boolean;
    readonly timeoutMinutes: number;
    readonly maxRetries: number;
    /** Extracts processed at once; further runs wait in Glue's job run queue. */
    readonly maxConcurrentRuns: number;
}

export const defaultGlueJob: GlueJobSettings = {
    workerType: defaultWorkerType,
    maxWorkers: 10,
    flex: false,
    // The stack settings' defaults too: a run with its retries fits in the default latency promise.
    timeoutMinutes: 40,
    maxRetries: 0,
    maxConcurrentRuns: 2,
};

/** Write units per second a new on-demand DynamoDB table takes at once (its warm throughput). */
export const onDemandWarmWriteUnitsPerSecond = 4000;

/** The items table's throughput settings for the write budget the job paces itself to. */
export interface ItemsTableThroughput {
    readonly onDemandThroughput: { readonly maxWriteRequestUnits: number };
    readonly warmThroughput?: { readonly writeUnitsPerSecond: number };
}

/**
 * The table never takes (nor bills) more writes a second than the budget; it is pre-warmed to the
 * budget when a new table would not take that at once. At or below that, warm throughput is left to
 * DynamoDB: a declared one could never be lowered again, and DynamoDB raises it itself as the table
 * is used. Reads have no maximum: the application reads the table too.
 */
export function itemsTableThroughput(writeUnitsPerSecond: number): ItemsTableThroughput {
    return {
        onDemandThroughput: { maxWriteRequestUnits: writeUnitsPerSecond },
        ...(writeUnitsPerSecond > onDemandWarmWriteUnitsPerSecond ? { warmThroughput: { writeUnitsPerSecond } } : {}),
    };
}

export const triggerTimeoutSeconds = 30;

/** SQS settings of the trigger queue. */
export const triggerQueue = {
    visibilityTimeoutSeconds: visibilityTimeoutFor(triggerTimeoutSeconds),
    /** Deliveries before a message moves to the dead-letter queue. */
    maxReceiveCount: 5,
} as const;

/** Event source mapping of the trigger: small batches, and at most two pollers per pipeline. */
export const triggerPolling = {
    batchSize: 10,
    maximumBatchingWindowInSeconds: 5,
    /** The lowest value Lambda accepts; starting Glue runs needs no more. */
    maximumConcurrency: 2,
} as const;

/** Minutes from an archive landing to its items written a stack promises unless it says otherwise (the seed's hour, less a margin). */
export const defaultLatencyPromiseMinutes = 45;

/**
 * What the latency alarms compare with, from the stack's promise (minutes from an archive landing
 * to its items written): the items must be written within it, and an archive may wait for its run
 * (in the trigger queue, then in Glue's queue and start-up) a third of it, which leaves the run
 * two thirds for its work.
 */
export function latencyThresholds(promiseMinutes: number): { readonly itemsWrittenSeconds: number; readonly waitSeconds: number } {
    return { itemsWrittenSeconds: promiseMinutes * 60, waitSeconds: Math.ceil(promiseMinutes / 3) * 60 };
}
