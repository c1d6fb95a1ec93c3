import { epochMillis, maximumDecimalPrecision, simpleColumnKinds, type SimpleColumnKind } from "../../contracts/column-types";
import { datetimeDialects, quotedText, tokenizeDatetimePattern } from "../../contracts/datetime-pattern";
import type { ColumnType, StreamSchemaDocument, StreamSchemaField } from "../../contracts/stream-schema";

/**
 * The stream schema the deploy side hands the producer and file-to-stream functions in
 * STREAM_SCHEMA (contracts/stream-schema.ts): the declared fields with their types, the format every
 * timestamp field is written in (`epoch-millis`, or a pattern such as yyyy-MM-dd'T'HH:mm:ss.SSSXXX,
 * see compileTimestampFormat), and which field holds the event time, when the stream has one (a
 * stream partitioned by arrival may not). Parsing checks all of it at once and names every problem,
 * so a bad deployment fails at the first invocation with a message that says what to fix. The
 * contract's zod schema stays out of the bundle (its types only are imported here);
 * test/stream-records.test.ts checks this parser accepts and refuses what the contract does.
 */

export type FieldType = ColumnType;

export type StreamField = StreamSchemaField;

export type StreamSchema = StreamSchemaDocument;

/** Parses STREAM_SCHEMA; throws one Error naming every problem. Members it does not know are ignored. */
export function parseStreamSchema(text: string): StreamSchema {
    let document: unknown;
    try {
        document = JSON.parse(text);
    } catch (error) {
        throw new Error(`STREAM_SCHEMA is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!isRecord(document)) {
        throw new Error("STREAM_SCHEMA must be a JSON object with stream, fields and eventTime");
    }
    const problems: string[] = [];
    if (typeof document.stream !== "string" || document.stream === "") {
        problems.push("stream must be a non-empty string");
    }
    const fields: StreamField[] = [];
    if (!Array.isArray(document.fields) || document.fields.length === 0) {
        problems.push("fields must be a non-empty array");
    } else {
        document.fields.forEach((field: unknown, index) => {
            const parsed = parseField(field, `fields[${index}]`, problems);
            if (parsed && fields.some((earlier) => earlier.name === parsed.name)) {
                problems.push(`fields[${index}].name "${parsed.name}" is declared twice`);
            } else if (parsed) {
                fields.push(parsed);
            }
        });
    }
    const eventTime = document.eventTime;
    if (!isRecord(eventTime) || typeof eventTime.format !== "string") {
        problems.push("eventTime must be an object with a format, and the event-time field when records carry one");
    } else {
        const field = eventTime.field;
        if (field !== undefined && (typeof field !== "string" || field === "")) {
            problems.push(`eventTime.field must be a field name, or absent when records carry no event time; got ${JSON.stringify(field)}`);
        } else if (field !== undefined) {
            const declared = fields.find((candidate) => candidate.name === field);
            if (!declared && Array.isArray(document.fields)) {
                problems.push(`eventTime.field "${field}" is not a declared field`);
            } else if (declared && declared.type.kind !== "timestamp") {
                problems.push(`eventTime.field "${field}" is a ${declared.type.kind}; the event time must be a timestamp field`);
            }
        }
        const format = compileTimestampFormat(eventTime.format);
        if (!format.ok) {
            problems.push(`eventTime.format: ${format.error}`);
        }
    }
    if (problems.length > 0) {
        throw new Error(`STREAM_SCHEMA is invalid: ${problems.join("; ")}`);
    }
    const checked = document as { stream: string; eventTime: { field?: string; format: string } };
    const { field, format } = checked.eventTime;
    return { stream: checked.stream, fields, eventTime: field === undefined ? { format } : { field, format } };
}

function parseField(field: unknown, where: string, problems: string[]): StreamField | undefined {
    if (!isRecord(field) || typeof field.name !== "string" || field.name === "") {
        problems.push(`${where} must be an object with a non-empty name`);
        return undefined;
    }
    const type = field.type;
    if (!isRecord(type) || typeof type.kind !== "string") {
        problems.push(`${where}.type must be an object with a kind`);
        return undefined;
    }
    if ((simpleColumnKinds as readonly string[]).includes(type.kind)) {
        return { name: field.name, type: { kind: type.kind as SimpleColumnKind } };
    }
    if (type.kind !== "decimal") {
        problems.push(`${where}.type.kind is "${type.kind}"; expected one of ${simpleColumnKinds.join(", ")}, decimal`);
        return undefined;
    }
    const { precision, scale } = type;
    if (!Number.isInteger(precision) || (precision as number) < 1 || (precision as number) > maximumDecimalPrecision) {
        problems.push(`${where}.type.precision must be a whole number from 1 to ${maximumDecimalPrecision}`);
        return undefined;
    }
    if (!Number.isInteger(scale) || (scale as number) < 0 || (scale as number) > (precision as number)) {
        problems.push(`${where}.type.scale must be a whole number from 0 to the precision`);
        return undefined;
    }
    return { name: field.name, type: { kind: "decimal", precision: precision as number, scale: scale as number } };
}

/** The parts of a time a pattern can hold. */
export type TimeToken = "yyyy" | "MM" | "dd" | "HH" | "mm" | "ss" | "fraction" | "offset";

export type TimestampFormat =
    | { readonly kind: "epoch-millis" }
    | {
          readonly kind: "pattern";
          readonly pattern: string;
          /** Anchored; one group per entry of `groups`. */
          readonly regex: RegExp;
          readonly groups: readonly TimeToken[];
      };

export type PatternFormat = Extract<TimestampFormat, { kind: "pattern" }>;

export type Compiled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** The part of a time each of the Java dialect's field letters (contracts/datetime-pattern.ts) holds. */
const fieldTokens: Record<string, TimeToken> = { y: "yyyy", M: "MM", d: "dd", H: "HH", m: "mm", s: "ss", S: "fraction" };
/** What each of Java's offset widths reads: X is +01 or +0130, XX is +0130, XXX is +01:30; each writes Z for a zero offset. */
const offsetPatterns: Record<number, string> = { 1: "Z|[+-]\\d{2}(?:\\d{2})?", 2: "Z|[+-]\\d{4}", 3: "Z|[+-]\\d{2}:\\d{2}" };
const { fields: javaFields, offsetWidths, separators } = datetimeDialects.java;

/**
 * Compiles `epoch-millis` or a pattern of the Java dialect (contracts/datetime-pattern.ts: yyyy MM dd
 * HH mm ss, S to SSSSSSSSS, X XX XXX, 'quoted' literals and - : . / , space) into a regex a value
 * must match exactly.
 */
export function compileTimestampFormat(format: string): Compiled<TimestampFormat> {
    if (format === epochMillis) {
        return { ok: true, value: { kind: "epoch-millis" } };
    }
    let regex = "^";
    const groups: TimeToken[] = [];
    for (const piece of tokenizeDatetimePattern(format)) {
        if (piece.kind === "unclosed-quote") {
            return { ok: false, error: `pattern "${format}" has an unclosed quote` };
        }
        if (piece.kind === "quoted") {
            regex += escapeRegex(quotedText(piece));
            continue;
        }
        const { character, count } = piece;
        const field = javaFields[character];
        let token: TimeToken;
        if (separators.includes(character)) {
            regex += escapeRegex(character.repeat(count));
            continue;
        } else if (character === "X" && offsetWidths.includes(count)) {
            token = "offset";
            regex += `(${offsetPatterns[count]})`;
        } else if (field?.widths.includes(count)) {
            token = fieldTokens[character]!;
            regex += `(\\d{${count}})`;
        } else if (field || character === "X") {
            const expected = (field ?? { widths: offsetWidths }).widths.map((width) => character.repeat(width));
            const shown = expected.length > 3 ? `${expected[0]} to ${expected[expected.length - 1]}` : expected.join(", ");
            return { ok: false, error: `pattern "${format}" has ${character.repeat(count)}; expected ${shown}` };
        } else {
            return {
                ok: false,
                error: `pattern "${format}" has '${character}'; use yyyy MM dd HH mm ss, S to SSSSSSSSS, X XX XXX, 'quoted' literals and - : . / , or space, or ${epochMillis}`,
            };
        }
        if (groups.includes(token)) {
            return { ok: false, error: `pattern "${format}" has ${character} twice` };
        }
        groups.push(token);
    }
    if (!groups.includes("yyyy") || !groups.includes("MM") || !groups.includes("dd")) {
        return { ok: false, error: `pattern "${format}" must contain a year, month and day (yyyy, MM, dd)` };
    }
    return { ok: true, value: { kind: "pattern", pattern: format, regex: new RegExp(`${regex}$`), groups } };
}

/** Date-only values: the one format a date field takes. */
export const dateFormat: PatternFormat = {
    kind: "pattern",
    pattern: "yyyy-MM-dd",
    regex: /^(\d{4})-(\d{2})-(\d{2})$/,
    groups: ["yyyy", "MM", "dd"],
};

/**
 * Whether `text` matches the pattern and names a real time: undefined when it does, otherwise
 * what is wrong ("does not match", or the part out of range).
 */
export function checkTime(text: string, format: PatternFormat): string | undefined {
    const match = format.regex.exec(text);
    if (!match) {
        return "does not match";
    }
    const part = (token: TimeToken): string | undefined => {
        const position = format.groups.indexOf(token);
        return position < 0 ? undefined : match[position + 1];
    };
    for (const [token, name, lowest, highest] of timeRanges) {
        const value = part(token);
        if (value !== undefined && (Number(value) < lowest || Number(value) > highest)) {
            return `has ${name} ${value} (expected ${pad(lowest)} to ${highest})`;
        }
    }
    const [year = "", month = "", day = ""] = [part("yyyy"), part("MM"), part("dd")];
    const days = daysInMonth(Number(year), Number(month));
    if (Number(day) > days) {
        return `has day ${day}, but ${year}-${month} has ${days} days`;
    }
    const offset = part("offset");
    if (offset !== undefined && offset !== "Z") {
        const hours = Number(offset.slice(1, 3));
        const minutes = Number(offset.slice(-2));
        if (hours > 18 || (offset.length > 3 && minutes > 59)) {
            return `has offset ${offset} (expected at most 18 hours and 59 minutes)`;
        }
    }
    return undefined;
}

const timeRanges: readonly (readonly [TimeToken, string, number, number])[] = [
    ["MM", "month", 1, 12],
    ["dd", "day", 1, 31],
    ["HH", "hour", 0, 23],
    ["mm", "minute", 0, 59],
    ["ss", "second", 0, 59],
];

function daysInMonth(year: number, month: number): number {
    if (month === 2) {
        return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
    }
    return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function pad(value: number): string {
    return String(value).padStart(2, "0");
}

function escapeRegex(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
