/**
 * How every function of the platform is traced and how much concurrency it reserves: X-Ray tracing
 * (Checkov CKV_AWS_50) and reserved concurrency (CKV_AWS_115), both per stack
 * (`ingestion:lambda` in Pulumi.<stack>.yaml). A function's reservation is sized from its trigger,
 * the most it can be asked to run at once; a stack may override it per function role.
 */

/** Every kind of function the platform declares: the keys of `ingestion:lambda.reservedConcurrency`. */
export const functionRoles = [
    "extract-trigger",
    "run-notifier",
    "file-loader",
    "event-filter",
    "stream-producer",
    "crawler-starter",
    "export-starter",
] as const;
export type FunctionRole = (typeof functionRoles)[number];

/**
 * Lambda's tracing modes. Active samples and traces every invocation; PassThrough traces only
 * requests an upstream service already sampled. Checkov's CKV_AWS_50 accepts either.
 */
export const tracingModes = ["Active", "PassThrough"] as const;
export type TracingMode = (typeof tracingModes)[number];

export interface LambdaSettings {
    /** Defaults to Active. */
    readonly tracing: TracingMode;
    /** Per function role, the concurrent executions to reserve instead of the size taken from its trigger. */
    readonly reservedConcurrency: Readonly<Partial<Record<FunctionRole, number>>>;
}

export const defaultLambdaSettings: LambdaSettings = { tracing: "Active", reservedConcurrency: {} };

/**
 * The bounds Lambda sets on an SQS event source's maximum concurrency. A queue consumer's
 * reservation is also its mapping's maximum concurrency: a reservation below the mapping's maximum
 * would throttle messages the pollers already received back to the queue, and after the queue's
 * receive count to its dead-letter queue.
 */
export const queueConcurrency = { minimum: 2, maximum: 1000 } as const;

/** The functions a queue mapping polls for. */
export const queueConsumers: readonly FunctionRole[] = ["extract-trigger", "file-loader", "export-starter"];

/** A function started by a schedule or by hand, never asked to run twice at once. */
export const oneAtATime = 1;

/**
 * The shards a stream consumer sizes for when the stream's shard count is not declared: an on-demand
 * stream starts with the write capacity of four shards (4 MB/s) and splits shards as writes grow; a
 * stream of another stack is sized as one. A consumer that reserves fewer than the stream's shards
 * falls behind (its iterator age alarm says so) but loses nothing the stream still retains.
 */
export const undeclaredStreamShards = 4;

/** A Kinesis event source runs one batch per shard and per parallelization factor at a time. */
export function streamConsumerConcurrency(shards: number | undefined, parallelizationFactor = 1): number {
    return (shards ?? undeclaredStreamShards) * parallelizationFactor;
}

/** A function's reservation: the stack's override for its role, else the size taken from its trigger. */
export function reservedConcurrencyOf(settings: LambdaSettings | undefined, role: FunctionRole, fromTrigger: number): number {
    return settings?.reservedConcurrency[role] ?? fromTrigger;
}
