import * as pulumi from "@pulumi/pulumi";

/** Glue 5.1: Spark 3.5.6 and Python 3.11, the versions the job is tested with locally. */
export const glueVersion = "5.1";

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
    workerType: "G.1X",
    maxWorkers: 10,
    flex: false,
    // The stack settings' defaults too: a run with its retries fits in the default latency promise.
    timeoutMinutes: 40,
    maxRetries: 0,
    maxConcurrentRuns: 2,
};

/**
 * A job's default arguments: Glue's own (see `glueRuntimeArguments`, then `glueArguments`, such as
 * `--datalake-formats`), its Python package, and the job's contract arguments as `--name value`.
 */
export function glueJobArguments(
    assetsBucket: pulumi.Input<string>,
    packageKey: pulumi.Input<string>,
    temporaryPrefix: string,
    contract: Record<string, pulumi.Input<string>>,
    glueArguments: Record<string, pulumi.Input<string>> = {},
): pulumi.Output<Record<string, string>> {
    return pulumi.all([assetsBucket, packageKey, contract, glueArguments]).apply(([bucket, key, values, glue]): Record<string, string> => ({
        ...glueRuntimeArguments(bucket, temporaryPrefix),
        ...glue,
        "--extra-py-files": `s3://${bucket}/${key}`,
        ...Object.fromEntries(Object.entries(values).map(([argument, value]) => [`--${argument}`, value])),
    }));
}

/**
 * Glue arguments that configure Spark and Glue itself, beside the job's own contract arguments. No
 * continuous-logging arguments: Glue 5 logs every job in real time to its error and output groups
 * (`glueJobLogGroupNames`), the only groups a job's role may write.
 */
export function glueRuntimeArguments(assetsBucket: string, pipeline: string): Record<string, string> {
    return {
        "--job-language": "python",
        "--enable-auto-scaling": "true",
        "--enable-metrics": "true",
        "--enable-observability-metrics": "true",
        "--enable-glue-datacatalog": "true",
        "--TempDir": `s3://${assetsBucket}/temporary/${pipeline}/`,
    };
}

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

/** SQS settings of the trigger queue. */
export const triggerQueue = {
    /** Lambda's guidance: at least six times the function timeout. */
    visibilityTimeoutSeconds: 180,
    /** Deliveries before a message moves to the dead-letter queue. */
    maxReceiveCount: 5,
    receiveWaitTimeSeconds: 20,
    deadLetterRetentionSeconds: 14 * 24 * 3600,
} as const;

/** Event source mapping of the trigger: small batches, and at most two pollers per pipeline. */
export const triggerPolling = {
    batchSize: 10,
    maximumBatchingWindowInSeconds: 5,
    /** The lowest value Lambda accepts; starting Glue runs needs no more. */
    maximumConcurrency: 2,
} as const;

export const triggerTimeoutSeconds = 30;

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

export { activeRunStates, failedRunStates } from "../../contracts/glue-run-states";
