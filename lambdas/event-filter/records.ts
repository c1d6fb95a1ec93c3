import type { KinesisStreamRecord } from "aws-lambda";
import { isJsonObject, JsonNumber, JsonSyntaxError, parseJson } from "../shared/json-text";

/**
 * Reading the events on a Kinesis batch: each record is one JSON object (UTF-8, possibly with a
 * trailing line break) whose key field names an item of the lookup table. An event kept is
 * forwarded as the text it arrived with, so numbers keep their digits and members their order.
 */

export type KeyType = "S" | "N";

/** An event read from its record, with its key in the form used for the lookup. */
export interface KeyedEvent {
    readonly sequenceNumber: string;
    /** When Kinesis took the record, in epoch seconds. */
    readonly arrivedAt: number;
    /** The event's JSON text, without its line break. */
    readonly text: string;
    /** A string key as is; a number key in canonical form (see canonicalNumber). */
    readonly key: string;
}

export type ReadRecord =
    { readonly ok: true; readonly event: KeyedEvent } | { readonly ok: false; readonly sequenceNumber: string; readonly reason: string };

export interface EventShape {
    readonly keyField: string;
    readonly keyType: KeyType;
    /** The largest event, in UTF-8 bytes with its line break, the destination takes; undefined for no limit. */
    readonly maximumLineBytes?: number;
}

/** DynamoDB refuses a partition key value of more than 2048 bytes. */
export const maximumStringKeyBytes = 2048;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function readRecord(record: KinesisStreamRecord, shape: EventShape): ReadRecord {
    const { sequenceNumber, approximateArrivalTimestamp: arrivedAt } = record.kinesis;
    const malformed = (reason: string): ReadRecord => ({ ok: false, sequenceNumber, reason });
    const data = Buffer.from(record.kinesis.data, "base64");
    let text: string;
    try {
        text = utf8.decode(data).replace(/\r?\n$/, "");
    } catch {
        return malformed("the record is not UTF-8 text");
    }
    if (shape.maximumLineBytes !== undefined) {
        const bytes = Buffer.byteLength(text, "utf8") + 1;
        if (bytes > shape.maximumLineBytes) {
            return malformed(`the event is ${bytes} bytes with its line break; the destination takes at most ${shape.maximumLineBytes}`);
        }
    }
    let document;
    try {
        document = parseJson(text);
    } catch (error) {
        if (error instanceof JsonSyntaxError) {
            return malformed(`the record is not JSON: ${error.message}`);
        }
        throw error;
    }
    if (!isJsonObject(document)) {
        return malformed("the event is not a JSON object");
    }
    const value = document.get(shape.keyField);
    if (value === undefined) {
        return malformed(`the event has no "${shape.keyField}"`);
    }
    const key = shape.keyType === "S" ? stringKey(value, shape.keyField) : numberKey(value, shape.keyField);
    if (!key.ok) {
        return malformed(key.reason);
    }
    return { ok: true, event: { sequenceNumber, arrivedAt, text, key: key.key } };
}

type Key = { readonly ok: true; readonly key: string } | { readonly ok: false; readonly reason: string };

function stringKey(value: unknown, field: string): Key {
    if (typeof value !== "string") {
        return { ok: false, reason: `"${field}" is not a string` };
    }
    if (value === "") {
        return { ok: false, reason: `"${field}" is empty` };
    }
    const encoded = Buffer.from(value, "utf8");
    // A lone surrogate (from a "\ud800" escape) has no UTF-8 form, so it could never match a key.
    if (encoded.toString("utf8") !== value) {
        return { ok: false, reason: `"${field}" is not valid Unicode` };
    }
    const bytes = encoded.byteLength;
    if (bytes > maximumStringKeyBytes) {
        return { ok: false, reason: `"${field}" is ${bytes} bytes; a DynamoDB key is at most ${maximumStringKeyBytes}` };
    }
    return { ok: true, key: value };
}

function numberKey(value: unknown, field: string): Key {
    if (!(value instanceof JsonNumber)) {
        return { ok: false, reason: `"${field}" is not a number` };
    }
    const key = canonicalNumber(value.text);
    if (key === undefined) {
        return { ok: false, reason: `"${field}" is ${value.text}; DynamoDB numbers have at most 38 digits, from 1E-130 to 1E+126` };
    }
    return { ok: true, key };
}

const numberPattern = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * A number as plain decimal text with no superfluous zeros ("1.50e1" and "15" are both "15"), so
 * that two spellings of one DynamoDB number are one key: DynamoDB compares numbers by value and
 * refuses a BatchGetItem that names the same key twice. Undefined for text that is not a number
 * or a number DynamoDB cannot hold (more than 38 significant digits, magnitude outside
 * 1E-130 to 9.99...E+125).
 */
export function canonicalNumber(text: string): string | undefined {
    const match = numberPattern.exec(text);
    if (!match) {
        return undefined;
    }
    const [, sign = "", whole = "", fraction = "", exponent = "0"] = match;
    if (whole === "" && fraction === "") {
        return undefined;
    }
    let digits = (whole + fraction).replace(/^0+/, "");
    if (digits === "") {
        return "0";
    }
    // The value is digits * 10^scale.
    let scale = Number(exponent) - fraction.length;
    const trimmed = digits.replace(/0+$/, "");
    scale += digits.length - trimmed.length;
    digits = trimmed;
    const magnitude = digits.length + scale - 1;
    if (digits.length > 38 || magnitude < -130 || magnitude > 125) {
        return undefined;
    }
    let plain: string;
    if (scale >= 0) {
        plain = digits + "0".repeat(scale);
    } else if (-scale < digits.length) {
        plain = `${digits.slice(0, digits.length + scale)}.${digits.slice(digits.length + scale)}`;
    } else {
        plain = `0.${"0".repeat(-scale - digits.length)}${digits}`;
    }
    return sign === "-" ? `-${plain}` : plain;
}
