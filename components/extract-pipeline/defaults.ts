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
    timeoutMinutes: 60,
    maxRetries: 1,
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

/** Glue arguments that configure Spark and Glue itself, beside the job's own contract arguments. */
export function glueRuntimeArguments(assetsBucket: string, pipeline: string): Record<string, string> {
    return {
        "--job-language": "python",
        "--enable-auto-scaling": "true",
        "--enable-metrics": "true",
        "--enable-observability-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true",
        "--enable-glue-datacatalog": "true",
        "--TempDir": `s3://${assetsBucket}/temporary/${pipeline}/`,
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

/** Glue job states that end a run unsuccessfully. */
export const failedRunStates = ["FAILED", "TIMEOUT", "STOPPED", "ERROR"] as const;
