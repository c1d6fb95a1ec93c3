import { KinesisClient } from "@aws-sdk/client-kinesis";
import {
    oversizeReason,
    maximumRecordBytes,
    putRecords,
    recordBytes,
    streamRecord,
    type PutOptions,
    type StreamRecord,
} from "../shared/put-records";
import { EnvironmentReader, jsonLog, sleep, type Log } from "../shared/runtime";
import { RecordValidator } from "../shared/stream-records";
import { parseStreamSchema, type StreamSchema } from "../shared/stream-schema";
import type { StreamProducerVariable } from "./contract";

/**
 * A test producer for the stream: run it from the Lambda console with the JSON in
 * sample-events.json (or any `{"events": [...]}`, or a bare array) and it puts the events that
 * match the stream schema on the stream, returning which it turned away and why. Events are
 * checked exactly as files dropped in the source bucket are.
 */

export interface ProducerSettings {
    readonly streamName: string;
    readonly schema: StreamSchema;
}

export interface ProducerDependencies {
    readonly kinesis: KinesisClient;
    readonly settings: ProducerSettings;
    readonly sleep?: (milliseconds: number) => Promise<void>;
    readonly log?: Log;
    /** Retry tuning for PutRecords; defaults as putRecords has them. */
    readonly retry?: Pick<PutOptions, "maxAttempts" | "baseDelayMs" | "random">;
}

export interface ProducerResult {
    readonly stream: string;
    readonly received: number;
    /** Records now on the stream. */
    readonly sent: number;
    readonly rejected: readonly { readonly index: number; readonly reason: string }[];
    /** Valid events Kinesis still refused after the retries. */
    readonly failed: readonly { readonly index: number; readonly errorCode: string; readonly errorMessage: string }[];
}

export function createHandler(dependencies: ProducerDependencies): (event: unknown) => Promise<ProducerResult> {
    const { kinesis, settings } = dependencies;
    const log = dependencies.log ?? jsonLog;
    const validator = new RecordValidator(settings.schema);

    return async (event) => {
        const events = eventsOf(event);
        const rejected: { index: number; reason: string }[] = [];
        const records: StreamRecord[] = [];
        events.forEach((candidate, index) => {
            const result = validator.validateEvent(candidate);
            if (!result.ok) {
                rejected.push({ index, reason: result.reason });
                return;
            }
            const record = streamRecord(result.text, index);
            const bytes = recordBytes(record);
            if (bytes > maximumRecordBytes) {
                rejected.push({ index, reason: oversizeReason(bytes) });
            } else {
                records.push(record);
            }
        });
        const outcome = await putRecords(kinesis, settings.streamName, records, {
            ...dependencies.retry,
            sleep: dependencies.sleep ?? sleep,
        });
        const result: ProducerResult = {
            stream: settings.streamName,
            received: events.length,
            sent: outcome.put,
            rejected,
            failed: outcome.failed.map(({ line, errorCode, errorMessage }) => ({ index: line, errorCode, errorMessage })),
        };
        log({
            level: result.failed.length > 0 ? "warn" : "info",
            message: "test events put on the stream",
            stream: result.stream,
            received: result.received,
            sent: result.sent,
            rejected: rejected.length,
            failed: result.failed.length,
            putRequests: outcome.requests,
            retries: outcome.retries,
        });
        return result;
    };
}

function eventsOf(event: unknown): unknown[] {
    if (Array.isArray(event)) {
        return event;
    }
    if (typeof event === "object" && event !== null && Array.isArray((event as { events?: unknown }).events)) {
        return (event as { events: unknown[] }).events;
    }
    const text = JSON.stringify(event) ?? String(event);
    const shown = text.length > 200 ? `${text.slice(0, 200)}...` : text;
    throw new Error(`the test event must be {"events": [ ... ]} or an array of events; got ${shown}`);
}

/** Reads STREAM_NAME and STREAM_SCHEMA. */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): ProducerSettings {
    const reader = new EnvironmentReader<StreamProducerVariable>(environment, "the stream producer");
    const streamName = reader.required("STREAM_NAME");
    const schema = reader.parsed("STREAM_SCHEMA", parseStreamSchema);
    reader.done();
    return { streamName, schema: schema! };
}

let configured: ((event: unknown) => Promise<ProducerResult>) | undefined;

/** Lambda entry point; the client and settings are made once per execution environment. */
export async function handler(event: unknown): Promise<ProducerResult> {
    // putRecords retries; the client does not, so attempts do not multiply.
    configured ??= createHandler({ kinesis: new KinesisClient({ maxAttempts: 1 }), settings: settingsFromEnvironment(process.env) });
    return configured(event);
}
