import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { S3Client } from "@aws-sdk/client-s3";
import type { KinesisStreamBatchItemFailure, KinesisStreamEvent } from "aws-lambda";
import { Backoff, type RetryOptions } from "../shared/backoff";
import { EnvironmentReader, sleep, stdoutLog, type Log } from "../shared/runtime";
import {
    describeDestination,
    maximumFirehoseRecordBytes,
    putRecordBatches,
    writeObject,
    type Destination,
    type Forwarded,
} from "./forward";
import type { EventFilterVariable } from "./contract";
import { lookUpKeys, type LookupTable } from "./lookup";
import { metricsEntry, type FilterCounts } from "./metrics";
import { readRecord, type KeyedEvent, type KeyType } from "./records";

/**
 * Filters a Kinesis stream against a DynamoDB lookup table: each record is one JSON event, and
 * only the events whose key field names an item of the table (not expired by its TTL) are passed
 * on, to a Firehose delivery stream or an S3 object per batch. The rest are counted and dropped,
 * as are records that are not usable events; neither holds up the batch.
 *
 * Failures are all-or-nothing: when the lookup or the forwarding cannot be completed, the handler
 * throws instead of reporting batch item failures. A Kinesis shard is read in order, so a
 * reported failure makes Lambda retry from the lowest reported sequence number to the end of the
 * batch anyway, and the failures here (throttling that outlasted the retries, a destination
 * refusing records) concern the batch, not one record. A partial report would also retry a
 * different range than the one already forwarded, so the S3 object's key (the forwarded range)
 * would change and events would be written twice; throwing retries the same batch, which writes
 * the same object again. The event source mapping's bisect-on-error halves a batch that keeps
 * failing, until what cannot be delivered reaches its on-failure destination.
 */

export interface FilterSettings {
    readonly table: LookupTable;
    /** The top-level member of an event that holds its key. */
    readonly eventKeyField: string;
    readonly destination: Destination;
}

export interface FilterDependencies {
    readonly dynamodb: DynamoDBClient;
    readonly firehose: FirehoseClient;
    readonly s3: S3Client;
    readonly settings: FilterSettings;
    /** The time TTLs are compared with, and the metrics' timestamp. Defaults to the clock. */
    readonly now?: () => Date;
    readonly sleep?: (milliseconds: number) => Promise<void>;
    /** Defaults to stdoutLog, so the metrics line stays Embedded Metric Format. */
    readonly log?: Log;
    /** Retry tuning for BatchGetItem and PutRecordBatch. */
    readonly retry?: RetryOptions;
}

/** Kinesis's ReportBatchItemFailures shape (always empty: see above), with the batch's counts. */
export interface FilterResult {
    readonly batchItemFailures: KinesisStreamBatchItemFailure[];
    readonly counts: FilterCounts;
}

/** Malformed records logged per invocation, with their reasons; the count covers them all. */
const loggedMalformedRecords = 10;

export function createHandler(dependencies: FilterDependencies): (event: KinesisStreamEvent) => Promise<FilterResult> {
    const { settings } = dependencies;
    const { table, destination } = settings;
    const now = dependencies.now ?? (() => new Date());
    const log = dependencies.log ?? stdoutLog;
    const backoff = new Backoff(dependencies.retry ?? {}, dependencies.sleep ?? sleep);
    const shape = {
        keyField: settings.eventKeyField,
        keyType: table.keyType,
        maximumLineBytes: destination.kind === "firehose" ? maximumFirehoseRecordBytes : undefined,
    };

    async function forward(events: readonly KeyedEvent[]): Promise<Forwarded> {
        if (events.length === 0) {
            return { to: describeDestination(destination), requests: 0, retries: 0 };
        }
        return destination.kind === "firehose"
            ? putRecordBatches(dependencies.firehose, destination.deliveryStream, events, backoff)
            : writeObject(dependencies.s3, destination.bucket, destination.prefix, events);
    }

    return async (event) => {
        const records = event.Records ?? [];
        const read = records.map((record) => readRecord(record, shape));
        const events = read.flatMap((result) => (result.ok ? [result.event] : []));
        const malformed = read.flatMap((result) => (result.ok ? [] : [{ sequenceNumber: result.sequenceNumber, reason: result.reason }]));
        if (malformed.length > 0) {
            log({
                level: "warn",
                message: "malformed records dropped",
                count: malformed.length,
                records: malformed.slice(0, loggedMalformedRecords),
            });
        }

        const lookup = await lookUpKeys(dependencies.dynamodb, table, [...new Set(events.map((kept) => kept.key))], backoff);
        const nowSeconds = now().getTime() / 1000;
        const matched: KeyedEvent[] = [];
        let dropped = 0;
        let expired = 0;
        for (const kept of events) {
            if (!lookup.found.has(kept.key)) {
                dropped++;
                continue;
            }
            // DynamoDB deletes expired items only eventually, often days later.
            const expiresAt = lookup.found.get(kept.key);
            if (expiresAt !== undefined && expiresAt < nowSeconds) {
                dropped++;
                expired++;
                continue;
            }
            matched.push(kept);
        }

        const forwarded = await forward(matched);
        const counts: FilterCounts = {
            received: records.length,
            matched: matched.length,
            dropped,
            expired,
            malformed: malformed.length,
            forwarded: matched.length,
        };
        log(
            metricsEntry(table.name, counts, now(), {
                destination: forwarded.to,
                lookupRequests: lookup.requests,
                forwardRequests: forwarded.requests,
                retries: lookup.retries + forwarded.retries,
            }),
        );
        return { batchItemFailures: [], counts };
    };
}

const keyTypes: readonly KeyType[] = ["S", "N"];
const deliveryStreamName = /^[a-zA-Z0-9_.-]{1,64}$/;
const bucketName = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const destinationForms = "firehose:<delivery stream name> or s3://<bucket>/<prefix/>";

/**
 * Reads LOOKUP_TABLE, KEY_ATTRIBUTE, KEY_TYPE (S or N), EVENT_KEY_FIELD, the optional
 * TTL_ATTRIBUTE and DESTINATION (firehose:<delivery stream name> or s3://<bucket>/<prefix/>).
 */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): FilterSettings {
    const reader = new EnvironmentReader<EventFilterVariable>(environment, "the event filter");
    const name = reader.required("LOOKUP_TABLE");
    const keyAttribute = reader.required("KEY_ATTRIBUTE");
    const keyType = reader.required("KEY_TYPE");
    const eventKeyField = reader.required("EVENT_KEY_FIELD");
    const ttlAttribute = reader.optional("TTL_ATTRIBUTE");
    const destinationText = reader.required("DESTINATION");
    if (keyType !== "" && !(keyTypes as readonly string[]).includes(keyType)) {
        reader.problem(`KEY_TYPE must be S or N, not "${keyType}"`);
    }
    if (ttlAttribute !== undefined && ttlAttribute === keyAttribute) {
        reader.problem(`TTL_ATTRIBUTE and KEY_ATTRIBUTE are both "${ttlAttribute}"; the key cannot hold the expiry time`);
    }
    let destination: Destination | undefined;
    if (destinationText !== "") {
        const parsed = parseDestination(destinationText);
        if (typeof parsed === "string") {
            reader.problem(parsed);
        } else {
            destination = parsed;
        }
    }
    reader.done();
    return {
        table: { name, keyAttribute, keyType: keyType as KeyType, ...(ttlAttribute === undefined ? {} : { ttlAttribute }) },
        eventKeyField,
        destination: destination!,
    };
}

/** The destination, or what is wrong with the text. */
function parseDestination(text: string): Destination | string {
    if (text.startsWith("firehose:")) {
        const deliveryStream = text.slice("firehose:".length);
        if (!deliveryStreamName.test(deliveryStream)) {
            return `DESTINATION names delivery stream "${deliveryStream}"; a name is 1 to 64 letters, digits, underscores, periods and hyphens`;
        }
        return { kind: "firehose", deliveryStream };
    }
    if (text.startsWith("s3://")) {
        const rest = text.slice("s3://".length);
        const slash = rest.indexOf("/");
        if (slash < 0) {
            return `DESTINATION "${text}" has no prefix; write s3://<bucket>/ for the top of the bucket`;
        }
        const bucket = rest.slice(0, slash);
        const prefix = rest.slice(slash + 1);
        if (!bucketName.test(bucket) || bucket.includes("..")) {
            return `DESTINATION names bucket "${bucket}", which is not a valid S3 bucket name`;
        }
        if (prefix !== "" && !prefix.endsWith("/")) {
            return `DESTINATION's prefix "${prefix}" must end with "/"`;
        }
        if (prefix.startsWith("/") || prefix.includes("//")) {
            return `DESTINATION's prefix "${prefix}" has an empty path segment`;
        }
        return { kind: "s3", bucket, prefix };
    }
    return `DESTINATION must be ${destinationForms}, not "${text}"`;
}

let configured: ((event: KinesisStreamEvent) => Promise<FilterResult>) | undefined;

/** Lambda entry point; the clients and settings are made once per execution environment. */
export async function handler(event: KinesisStreamEvent): Promise<FilterResult> {
    // The lookup and PutRecordBatch retry with backoff themselves, so those clients do not, or the
    // attempts would multiply; the one PutObject keeps the S3 client's own retries.
    configured ??= createHandler({
        dynamodb: new DynamoDBClient({ maxAttempts: 1 }),
        firehose: new FirehoseClient({ maxAttempts: 1 }),
        s3: new S3Client({}),
        settings: settingsFromEnvironment(process.env),
    });
    return configured(event);
}
