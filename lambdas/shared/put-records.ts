import { createHash } from "crypto";
import { PutRecordsCommand, type KinesisClient, type PutRecordsResultEntry } from "@aws-sdk/client-kinesis";

/**
 * Puts records on a Kinesis data stream with PutRecords, within its limits: at most 500 records
 * and 5 MiB (data plus partition keys) per request, at most 1 MiB per record. PutRecords is not
 * all-or-nothing: each record can come back with an ErrorCode (throughput exceeded, internal
 * failure), and only those are sent again, with full-jitter exponential backoff, until the
 * attempts run out. A whole request refused for throttling or a transient fault is retried the
 * same way; any other error (no such stream, access denied, KMS key disabled) propagates.
 *
 * This is the one retry policy: clients passed in should not retry as well (the handlers build
 * theirs with `maxAttempts: 1`), or the attempts multiply.
 */

/** Kinesis accepts at most this many bytes of data plus partition key per record. */
export const maximumRecordBytes = 1_048_576;
export const maximumRequestBytes = 5 * 1_048_576;
export const maximumRequestRecords = 500;

export interface StreamRecord {
    readonly data: Uint8Array;
    readonly partitionKey: string;
    /** Where the record came from (a file's line, an event's index), for reporting failures. */
    readonly line: number;
}

export interface FailedRecord {
    readonly line: number;
    readonly errorCode: string;
    readonly errorMessage: string;
}

export interface PutOutcome {
    readonly put: number;
    readonly failed: readonly FailedRecord[];
    /** PutRecords requests sent, first attempts and retries. */
    readonly requests: number;
    readonly retries: number;
}

export interface PutOptions {
    /** Attempts per record, the first included. Defaults to 5. */
    readonly maxAttempts?: number;
    /** The backoff before the nth retry is drawn from 0 to baseDelayMs * 2^(n-1). Defaults to 100. */
    readonly baseDelayMs?: number;
    readonly sleep?: (milliseconds: number) => Promise<void>;
    /** Source of the jitter, 0 to 1. Defaults to Math.random. */
    readonly random?: () => number;
}

const maximumDelayMs = 10_000;

/** Errors of a whole PutRecords request that clear up by themselves. */
const retryableErrors = new Set([
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "KMSThrottlingException",
    "InternalFailure",
    "InternalFailureException",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeoutException",
    "TimeoutError",
]);
const retryableNetworkCodes = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN"]);

/** A record of `text`, keyed by a digest of its data so records spread evenly over the shards. */
export function streamRecord(text: string, line: number): StreamRecord {
    const data = Buffer.from(text, "utf8");
    return { data, partitionKey: partitionKeyOf(data), line };
}

/** The first 32 hex digits of the SHA-256 of the data. */
export function partitionKeyOf(data: Uint8Array): string {
    return createHash("sha256").update(data).digest("hex").slice(0, 32);
}

/** The size Kinesis counts against its limits: data plus partition key. */
export function recordBytes(record: Pick<StreamRecord, "data" | "partitionKey">): number {
    return record.data.byteLength + Buffer.byteLength(record.partitionKey, "utf8");
}

export function oversizeReason(bytes: number): string {
    return `record is ${bytes} bytes; Kinesis accepts at most ${maximumRecordBytes}`;
}

export async function putRecords(
    client: KinesisClient,
    streamName: string,
    records: readonly StreamRecord[],
    options: PutOptions = {},
): Promise<PutOutcome> {
    const writer = new StreamWriter(client, streamName, options);
    for (const record of records) {
        await writer.add(record);
    }
    return writer.finish();
}

/**
 * Sends records as batches fill, so a caller reading a large file holds one batch at a time.
 * Records over maximumRecordBytes are the caller's to turn away; add throws on one.
 */
export class StreamWriter {
    private batch: StreamRecord[] = [];
    private batchBytes = 0;
    private put = 0;
    private readonly failed: FailedRecord[] = [];
    private requests = 0;
    private retries = 0;
    private readonly maxAttempts: number;
    private readonly baseDelayMs: number;
    private readonly sleep: (milliseconds: number) => Promise<void>;
    private readonly random: () => number;

    constructor(
        private readonly client: KinesisClient,
        private readonly streamName: string,
        options: PutOptions = {},
    ) {
        this.maxAttempts = options.maxAttempts ?? 5;
        this.baseDelayMs = options.baseDelayMs ?? 100;
        this.sleep = options.sleep ?? ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)));
        this.random = options.random ?? Math.random;
        if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
            throw new Error(`maxAttempts must be a whole number of at least 1, not ${this.maxAttempts}`);
        }
    }

    async add(record: StreamRecord): Promise<void> {
        const bytes = recordBytes(record);
        if (bytes > maximumRecordBytes) {
            throw new Error(`line ${record.line}: ${oversizeReason(bytes)}`);
        }
        if (this.batch.length === maximumRequestRecords || this.batchBytes + bytes > maximumRequestBytes) {
            await this.flush();
        }
        this.batch.push(record);
        this.batchBytes += bytes;
    }

    /** Sends what is left and returns the totals. */
    async finish(): Promise<PutOutcome> {
        await this.flush();
        return this.totals();
    }

    /** What has been sent so far, without sending what is left: for a report of a read that failed. */
    totals(): PutOutcome {
        return { put: this.put, failed: [...this.failed], requests: this.requests, retries: this.retries };
    }

    private async flush(): Promise<void> {
        const batch = this.batch;
        this.batch = [];
        this.batchBytes = 0;
        if (batch.length > 0) {
            await this.send(batch);
        }
    }

    private async send(batch: StreamRecord[]): Promise<void> {
        let pending = batch;
        for (let attempt = 1; ; attempt++) {
            if (attempt > 1) {
                this.retries++;
                await this.sleep(this.backoff(attempt - 1));
            }
            this.requests++;
            let results: PutRecordsResultEntry[];
            try {
                const response = await this.client.send(
                    new PutRecordsCommand({
                        StreamName: this.streamName,
                        Records: pending.map((record) => ({ Data: record.data, PartitionKey: record.partitionKey })),
                    }),
                );
                results = response.Records ?? [];
            } catch (error) {
                if (!isRetryable(error)) {
                    throw error;
                }
                if (attempt >= this.maxAttempts) {
                    const { name, message } = error as Error;
                    this.failed.push(...pending.map((record) => ({ line: record.line, errorCode: name, errorMessage: message })));
                    return;
                }
                continue;
            }
            const again: { record: StreamRecord; result: PutRecordsResultEntry | undefined }[] = [];
            pending.forEach((record, index) => {
                const result = results[index];
                if (result?.ErrorCode || !result?.SequenceNumber) {
                    again.push({ record, result });
                } else {
                    this.put++;
                }
            });
            if (again.length === 0) {
                return;
            }
            if (attempt >= this.maxAttempts) {
                this.failed.push(
                    ...again.map(({ record, result }) => ({
                        line: record.line,
                        errorCode: result?.ErrorCode ?? "NoResult",
                        errorMessage: result?.ErrorMessage ?? "PutRecords returned no result for this record",
                    })),
                );
                return;
            }
            pending = again.map(({ record }) => record);
        }
    }

    /** Full jitter: uniformly from 0 to the exponential ceiling. */
    private backoff(retry: number): number {
        return Math.round(this.random() * Math.min(maximumDelayMs, this.baseDelayMs * 2 ** (retry - 1)));
    }
}

export function isRetryable(error: unknown): boolean {
    if (!(error instanceof Error)) {
        return false;
    }
    if (retryableErrors.has(error.name)) {
        return true;
    }
    const details = error as { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; code?: unknown };
    const status = details.$metadata?.httpStatusCode;
    return (
        Boolean(details.$retryable) ||
        (status !== undefined && (status >= 500 || status === 429)) ||
        (typeof details.code === "string" && retryableNetworkCodes.has(details.code))
    );
}
