import { PutRecordBatchCommand, type FirehoseClient, type PutRecordBatchResponseEntry } from "@aws-sdk/client-firehose";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { isTransient, type Backoff } from "../shared/backoff";
import type { KeyedEvent } from "./records";

/**
 * Where the events that pass the filter go: a Firehose delivery stream, or one S3 object per
 * batch. Either way each event is its JSON text and a line break, so what lands is JSON lines.
 */

export type Destination =
    | { readonly kind: "firehose"; readonly deliveryStream: string }
    | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string };

export interface Forwarded {
    /** Where the events went: the delivery stream, or the object written. */
    readonly to: string;
    /** Requests sent, retries included. */
    readonly requests: number;
    readonly retries: number;
}

/** Firehose takes at most this much per record and per PutRecordBatch call, and this many records per call. */
export const maximumFirehoseRecordBytes = 1_024_000;
export const maximumFirehoseBatchBytes = 4 * 1_048_576;
export const maximumFirehoseBatchRecords = 500;

export class ForwardError extends Error {
    override readonly name = "ForwardError";
}

export function describeDestination(destination: Destination): string {
    return destination.kind === "firehose" ? `firehose:${destination.deliveryStream}` : `s3://${destination.bucket}/${destination.prefix}`;
}

/**
 * PutRecordBatch in calls of at most 500 records and 4 MiB. A call is not all-or-nothing: records
 * with an ErrorCode are sent again with backoff, and a whole call refused for throttling is
 * retried the same way. Records still refused after the last attempt fail the invocation. Records
 * Firehose already took are then sent again with the retried batch: Firehose delivers at least
 * once in any case, and a lost event is worse than a repeated one.
 */
export async function putRecordBatches(
    firehose: FirehoseClient,
    deliveryStream: string,
    events: readonly KeyedEvent[],
    backoff: Backoff,
): Promise<Forwarded> {
    let requests = 0;
    let retries = 0;
    let batch: Uint8Array[] = [];
    let batchBytes = 0;

    async function send(records: Uint8Array[]): Promise<void> {
        let pending = records;
        for (let attempt = 1; ; attempt++) {
            if (attempt > 1) {
                retries++;
                await backoff.wait(attempt - 1);
            }
            requests++;
            let results: PutRecordBatchResponseEntry[];
            try {
                const response = await firehose.send(
                    new PutRecordBatchCommand({ DeliveryStreamName: deliveryStream, Records: pending.map((data) => ({ Data: data })) }),
                );
                results = response.RequestResponses ?? [];
            } catch (error) {
                if (!isTransient(error) || attempt >= backoff.maxAttempts) {
                    throw error;
                }
                continue;
            }
            const refused = pending.flatMap((data, index) => {
                const result = results[index];
                return result?.RecordId && !result.ErrorCode ? [] : [{ data, result }];
            });
            if (refused.length === 0) {
                return;
            }
            if (attempt >= backoff.maxAttempts) {
                const first = refused[0]!.result;
                throw new ForwardError(
                    `Firehose ${deliveryStream} refused ${refused.length} of ${records.length} records after ${backoff.maxAttempts} attempts, ` +
                        `the first with ${first?.ErrorCode ?? "no result"}: ${first?.ErrorMessage ?? "PutRecordBatch returned no result for it"}`,
                );
            }
            pending = refused.map(({ data }) => data);
        }
    }

    for (const event of events) {
        const data = Buffer.from(`${event.text}\n`, "utf8");
        if (batch.length === maximumFirehoseBatchRecords || batchBytes + data.byteLength > maximumFirehoseBatchBytes) {
            await send(batch);
            batch = [];
            batchBytes = 0;
        }
        batch.push(data);
        batchBytes += data.byteLength;
    }
    if (batch.length > 0) {
        await send(batch);
    }
    return { to: `firehose:${deliveryStream}`, requests, retries };
}

/**
 * The object a batch's events are written to: `<prefix><yyyy/MM/dd/HH>/<first>-<last>.jsonl`,
 * with the hour Kinesis took the first event (UTC) and the first and last events' sequence
 * numbers. Everything in it comes from the records, not the clock, so when the event source
 * mapping retries a batch the object is written again under the same key rather than a second time.
 */
export function objectKey(prefix: string, events: readonly KeyedEvent[]): string {
    const first = events[0];
    const last = events[events.length - 1];
    if (!first || !last) {
        throw new Error("no events to name an object after");
    }
    const arrived = new Date(Math.floor(first.arrivedAt * 1000));
    const pad = (value: number) => String(value).padStart(2, "0");
    const hour = `${arrived.getUTCFullYear()}/${pad(arrived.getUTCMonth() + 1)}/${pad(arrived.getUTCDate())}/${pad(arrived.getUTCHours())}`;
    return `${prefix}${hour}/${first.sequenceNumber}-${last.sequenceNumber}.jsonl`;
}

/** One PutObject of every event; the S3 client's own retries cover transient faults. */
export async function writeObject(s3: S3Client, bucket: string, prefix: string, events: readonly KeyedEvent[]): Promise<Forwarded> {
    const key = objectKey(prefix, events);
    await s3.send(
        new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: events.map((event) => `${event.text}\n`).join(""),
            ContentType: "application/x-ndjson",
        }),
    );
    return { to: `s3://${bucket}/${key}`, requests: 1, retries: 0 };
}
