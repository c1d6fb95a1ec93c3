import * as pulumi from "@pulumi/pulumi";

/** Glue 5.1: Spark 3.5.6 and Python 3.11, the versions the job is tested with locally. */
export const glueVersion = "5.1";

/** The Spark worker types a Glue 5 job may ask for, smallest first. */
export const glueWorkerTypes = ["G.1X", "G.2X", "G.4X", "G.8X"] as const;

export type GlueWorkerType = (typeof glueWorkerTypes)[number];

/** The worker types a Flex run is offered on. */
export const flexWorkerTypes: readonly GlueWorkerType[] = ["G.1X", "G.2X"];

/**
 * The worker type of every job unless its settings say otherwise: G.1X, Glue's smallest Spark
 * worker, and one Flex runs on.
 */
export const defaultWorkerType: GlueWorkerType = "G.1X";

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
