import { z } from "zod";

/**
 * The stack outputs the operator's command line reads (cli/stack-outputs.ts parses a saved
 * `pulumi stack output --json` with these schemas) and the program exports (index.ts checks its
 * exports against `DeployedStackOutputs` at compile time): one list of names for both sides. The
 * program exports more than this; these are the outputs the command line needs.
 */

export const extractPipelineOutputsSchema = z.object({
    landingPrefix: z.string(),
    runLedgerTable: z.string(),
    jobName: z.string(),
});

/** A lookup's outputs: its loader job, where exports land, and where each load writes its report (`<reportPrefix><lookup>/<run id>/report.json`). */
export const lookupTableOutputsSchema = z.object({
    table: z.string(),
    exportsBucket: z.string(),
    exportsPrefix: z.string(),
    loaderJob: z.string(),
    reportBucket: z.string(),
    reportPrefix: z.string(),
});

/** A stream's outputs as `ingest runs --export` reads them: its warehouse export's job, when it has one. */
export const streamingLakeOutputsSchema = z.object({
    warehouse: z.object({ exportJob: z.string() }).optional(),
});

export const stackOutputsSchema = z.object({
    landingBucket: z.string(),
    lakeBucket: z.string(),
    quarantineBucket: z.string(),
    glueDatabase: z.string(),
    athenaWorkgroup: z.string(),
    extractPipelines: z.record(z.string(), extractPipelineOutputsSchema),
    // Each entry is read (lookupTableOutputsSchema) only when a command names a lookup, so that
    // outputs saved before a lookup output was added still serve the pipeline commands.
    lookupTables: z.record(z.string(), z.unknown()).default({}),
    // Likewise read (streamingLakeOutputsSchema) only when a command names a stream.
    streamingLakes: z.record(z.string(), z.unknown()).default({}),
});

export type StackOutputs = z.infer<typeof stackOutputsSchema>;
export type ExtractPipelineOutputs = z.infer<typeof extractPipelineOutputsSchema>;
export type LookupTableOutputs = z.infer<typeof lookupTableOutputsSchema>;
export type StreamingLakeOutputs = z.infer<typeof streamingLakeOutputsSchema>;

/** `T` with every string in it as a `Value`, such as the program's `pulumi.Input<string>`. */
export type Deployed<T, Value> = T extends string ? Value : T extends object ? { readonly [K in keyof T]: Deployed<T[K], Value> } : T;

/**
 * What the program must export for the command line, each string as a `Value`: every output it reads,
 * lookups and streams included (with every member the command line reads of an entry).
 */
export type DeployedStackOutputs<Value> = Deployed<
    Omit<StackOutputs, "lookupTables" | "streamingLakes"> & {
        readonly lookupTables: Record<string, LookupTableOutputs>;
        readonly streamingLakes: Record<string, StreamingLakeOutputs>;
    },
    Value
>;
