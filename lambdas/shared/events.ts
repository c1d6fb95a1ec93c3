/**
 * The shapes a queue message about landed objects can take (the extract trigger's queue and the
 * file-to-stream queue alike): an S3 "Object Created" event delivered by EventBridge, an S3 event
 * notification (one or more records), or the test event S3 sends when a notification is configured.
 */

import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { errorText, type Log } from "./runtime";

/** One object version that landed. */
export interface LandedObject {
    readonly bucket: string;
    /** Decoded object key. */
    readonly key: string;
    /** "null" for an object written while versioning was off, as S3 itself names it. */
    readonly versionId: string;
    /** When the version landed, ISO 8601 in UTC: the S3 event's time (its `time`, or a record's `eventTime`). */
    readonly landedAt: string;
}

export type QueueMessage = { readonly kind: "objects"; readonly objects: LandedObject[] } | { readonly kind: "test-event" };

export class MalformedMessage extends Error {
    override readonly name = "MalformedMessage";
}

export function parseQueueMessage(body: string): QueueMessage {
    let message: unknown;
    try {
        message = JSON.parse(body);
    } catch {
        throw new MalformedMessage(`the message body is not JSON: ${preview(body)}`);
    }
    if (!isRecord(message)) {
        throw new MalformedMessage(`the message body is not a JSON object: ${preview(body)}`);
    }
    if (message.Event === "s3:TestEvent") {
        return { kind: "test-event" };
    }
    if (message.source === "aws.s3" && message["detail-type"] === "Object Created") {
        return { kind: "objects", objects: [eventBridgeObject(message)] };
    }
    if (Array.isArray(message.Records)) {
        return { kind: "objects", objects: message.Records.map((record, index) => notificationObject(record, index)) };
    }
    throw new MalformedMessage(`the message is neither an S3 "Object Created" event nor an S3 event notification: ${preview(body)}`);
}

function eventBridgeObject(event: Record<string, unknown>): LandedObject {
    const bucket = field(event, ["detail", "bucket", "name"], "detail.bucket.name");
    const key = decodeObjectKey(field(event, ["detail", "object", "key"], "detail.object.key"));
    const versionId = optionalField(event, ["detail", "object", "version-id"], "detail.object.version-id");
    const landedAt = eventTime(field(event, ["time"], "time"), "time");
    return { bucket, key, versionId: versionId ?? "null", landedAt };
}

function notificationObject(record: unknown, index: number): LandedObject {
    const where = `Records[${index}]`;
    const eventName = field(record, ["eventName"], `${where}.eventName`);
    if (!eventName.startsWith("ObjectCreated:")) {
        throw new MalformedMessage(`${where}.eventName is "${eventName}"; the trigger handles only ObjectCreated events`);
    }
    const bucket = field(record, ["s3", "bucket", "name"], `${where}.s3.bucket.name`);
    const key = decodeObjectKey(field(record, ["s3", "object", "key"], `${where}.s3.object.key`));
    const versionId = optionalField(record, ["s3", "object", "versionId"], `${where}.s3.object.versionId`);
    const landedAt = eventTime(field(record, ["eventTime"], `${where}.eventTime`), `${where}.eventTime`);
    return { bucket, key, versionId: versionId ?? "null", landedAt };
}

/**
 * An event's time, which S3 and EventBridge write as ISO 8601 in UTC, normalized to milliseconds.
 * A date or time that does not exist (February 30th, 24:00) is refused: JavaScript would roll it
 * over into another moment rather than fail.
 */
function eventTime(text: string, name: string): string {
    const time = new Date(text);
    const valid =
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(text) &&
        !Number.isNaN(time.getTime()) &&
        time.toISOString().slice(0, 19) === text.slice(0, 19);
    if (!valid) {
        throw new MalformedMessage(`${name} "${text}" is not an ISO 8601 time in UTC`);
    }
    return time.toISOString();
}

/**
 * S3 sends object keys URL-encoded, with spaces as "+", in notifications and in EventBridge
 * events alike; a literal "+" in a key arrives as "%2B".
 */
export function decodeObjectKey(encoded: string): string {
    try {
        return decodeURIComponent(encoded.replace(/\+/g, " "));
    } catch {
        throw new MalformedMessage(`object key "${encoded}" is not valid URL encoding`);
    }
}

function field(value: unknown, path: string[], name: string): string {
    const found = optionalField(value, path, name);
    if (found === undefined || found === "") {
        throw new MalformedMessage(`${name} is missing`);
    }
    return found;
}

function optionalField(value: unknown, path: string[], name: string): string | undefined {
    let current = value;
    for (const step of path) {
        if (!isRecord(current)) {
            return undefined;
        }
        current = current[step];
    }
    if (current === undefined || current === null) {
        return undefined;
    }
    if (typeof current !== "string") {
        throw new MalformedMessage(`${name} is not a string`);
    }
    return current;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function preview(text: string): string {
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/**
 * The SQS handler of a queue of landed objects: each message's objects go to `handleObject`
 * (true when done with); a message with an object not done with, a malformed message or an
 * unexpected error is reported as a batch item failure, so SQS delivers it again and finally keeps
 * it in the dead-letter queue, without holding back the rest of the batch.
 */
export function landedObjectsHandler(
    handleObject: (landed: LandedObject, messageId: string) => Promise<boolean>,
    log: Log,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
    async function handleRecord(record: SQSRecord): Promise<boolean> {
        let message;
        try {
            message = parseQueueMessage(record.body);
        } catch (error) {
            if (error instanceof MalformedMessage) {
                log({
                    level: "error",
                    message: `malformed message kept for the dead-letter queue: ${error.message}`,
                    messageId: record.messageId,
                });
                return false;
            }
            throw error;
        }
        if (message.kind === "test-event") {
            log({ level: "info", message: "S3 test event acknowledged", messageId: record.messageId });
            return true;
        }
        let succeeded = true;
        for (const landed of message.objects) {
            succeeded = (await handleObject(landed, record.messageId)) && succeeded;
        }
        return succeeded;
    }

    return async (event) => {
        const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
        for (const record of event.Records) {
            let succeeded: boolean;
            try {
                succeeded = await handleRecord(record);
            } catch (error) {
                log({ level: "error", message: `message failed: ${errorText(error)}`, messageId: record.messageId });
                succeeded = false;
            }
            if (!succeeded) {
                batchItemFailures.push({ itemIdentifier: record.messageId });
            }
        }
        return { batchItemFailures };
    };
}

/** Where a function's objects land: a bucket and a prefix in it, named as the messages name them. */
export interface LandingPlace {
    readonly bucket: string;
    /** Ends in `/`. */
    readonly prefix: string;
    /** Such as "landing": the messages say "the landing bucket" and "the landing prefix". */
    readonly name: string;
    /** What is expected there, with its article, such as "an archive". */
    readonly object: string;
}

/**
 * Why an object certainly did not land in `place`, or undefined when it may have: another bucket (the
 * role may not even read it), a key outside the prefix, or a key ending in "/", a folder marker (the
 * console's "Create folder", sync tools) with no content.
 */
export function notLandedIn(landed: LandedObject, place: LandingPlace): string | undefined {
    if (landed.bucket !== place.bucket) {
        return `bucket is not the ${place.name} bucket ${place.bucket}`;
    }
    if (!landed.key.startsWith(place.prefix)) {
        return `key "${landed.key}" is outside the ${place.name} prefix "${place.prefix}"`;
    }
    if (landed.key.endsWith("/")) {
        return `key "${landed.key}" is a folder marker, not ${place.object}`;
    }
    return undefined;
}
