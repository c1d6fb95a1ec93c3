import type { CsvCell } from "./csv";
import {
    fromPlainValue,
    isJsonObject,
    JsonNumber,
    JsonSyntaxError,
    parseJson,
    stringifyJson,
    type JsonObject,
    type JsonValue,
} from "./json-text";
import {
    checkTime,
    compileTimestampFormat,
    dateFormat,
    type FieldType,
    type PatternFormat,
    type StreamSchema,
    type TimestampFormat,
} from "./stream-schema";

/**
 * Checks events against the stream schema before they go on the stream, so a record Firehose
 * could not convert to Parquet is turned away at the door with a reason, not parked in the
 * delivery stream's error prefix. The producer and file-to-stream functions share it.
 *
 * Every declared field may be missing or null except the event time, when the stream has one (a
 * stream partitioned by arrival may not, and then requires no field); a present value must have
 * its field's type. Fields the schema does not declare pass through unchanged. A valid record
 * becomes one line of JSON and a "\n" (Firehose concatenates records and the lake's JSON reader is
 * line based), with every number's digits exactly as written.
 */

export type RecordResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

const integerRange = { name: "an integer", lowest: -(2n ** 31n), highest: 2n ** 31n - 1n } as const;
const longRange = { name: "a long", lowest: -(2n ** 63n), highest: 2n ** 63n - 1n } as const;
const integerText = /^-?\d+$/;
const decimalText = /^(-?)(\d+)(?:\.(\d+))?$/;
const jsonNumberText = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

type Checked = { readonly value: JsonValue } | { readonly problem: string };

export class RecordValidator {
    private readonly timestampFormat: TimestampFormat;
    private readonly types: ReadonlyMap<string, FieldType>;

    constructor(readonly schema: StreamSchema) {
        const compiled = compileTimestampFormat(schema.eventTime.format);
        if (!compiled.ok) {
            throw new Error(`eventTime.format: ${compiled.error}`);
        }
        this.timestampFormat = compiled.value;
        this.types = new Map(schema.fields.map((field) => [field.name, field.type]));
    }

    /** One line of a JSON-lines file. */
    validateLine(line: string): RecordResult {
        let value: JsonValue;
        try {
            value = parseJson(line);
        } catch (error) {
            if (error instanceof JsonSyntaxError) {
                return { ok: false, reason: `invalid JSON: ${error.message}` };
            }
            throw error;
        }
        return this.validateValue(value);
    }

    /** An event the Lambda runtime has already parsed. */
    validateEvent(event: unknown): RecordResult {
        return this.validateValue(fromPlainValue(event));
    }

    validateValue(value: JsonValue): RecordResult {
        if (!isJsonObject(value)) {
            return { ok: false, reason: "not a JSON object" };
        }
        const record: JsonObject = new Map(value);
        const problems: string[] = [];
        for (const field of this.schema.fields) {
            const present = value.get(field.name);
            if (present === undefined || present === null) {
                if (field.name === this.schema.eventTime.field) {
                    problems.push(`field "${field.name}" is required`);
                }
                continue;
            }
            const checked = this.check(field.type, present);
            if ("problem" in checked) {
                problems.push(`field "${field.name}": ${checked.problem}`);
            } else {
                record.set(field.name, checked.value);
            }
        }
        if (problems.length > 0) {
            return { ok: false, reason: problems.join("; ") };
        }
        return { ok: true, text: `${stringifyJson(record)}\n` };
    }

    /**
     * Checks a CSV header: every column a declared field, none twice, the event time present
     * (when the stream has one). Returns the problem that rejects the whole file, if any.
     */
    checkCsvHeader(columns: readonly string[]): string | undefined {
        const seen = new Set<string>();
        for (const column of columns) {
            if (!this.types.has(column)) {
                return `CSV header column "${column}" is not a declared field of stream ${this.schema.stream}`;
            }
            if (seen.has(column)) {
                return `CSV header column "${column}" appears twice`;
            }
            seen.add(column);
        }
        const eventField = this.schema.eventTime.field;
        if (eventField !== undefined && !seen.has(eventField)) {
            return `CSV header has no column "${eventField}", the event time`;
        }
        return undefined;
    }

    /**
     * One CSV row under a header checkCsvHeader accepted. Cells become typed JSON values: an empty
     * cell is null (a quoted empty cell in a string column is the empty string), numbers and
     * booleans are read from their text, everything else is checked as JSON input would be.
     */
    validateCsvRow(columns: readonly string[], cells: readonly CsvCell[]): RecordResult {
        if (cells.length !== columns.length) {
            return { ok: false, reason: `row has ${cells.length} cells; the header has ${columns.length}` };
        }
        const record: JsonObject = new Map();
        columns.forEach((column, index) => {
            record.set(column, this.csvValue(this.types.get(column)!, cells[index]!));
        });
        return this.validateValue(record);
    }

    private csvValue(type: FieldType, cell: CsvCell): JsonValue {
        const text = cell.text;
        if (text === "") {
            return cell.quoted && type.kind === "string" ? "" : null;
        }
        switch (type.kind) {
            case "integer":
            case "long":
                return /^[+-]?\d+$/.test(text) ? new JsonNumber(BigInt(text).toString()) : text;
            case "double":
                return jsonNumberText.test(text) ? new JsonNumber(text) : text;
            case "boolean":
                return text === "true" || text === "TRUE" || text === "True"
                    ? true
                    : text === "false" || text === "FALSE" || text === "False"
                      ? false
                      : text;
            case "timestamp":
                return this.timestampFormat.kind === "epoch-millis" && integerText.test(text)
                    ? new JsonNumber(BigInt(text).toString())
                    : text;
            default:
                return text;
        }
    }

    private check(type: FieldType, value: JsonValue): Checked {
        switch (type.kind) {
            case "string":
                return typeof value === "string" ? { value } : expected("a string", value);
            case "integer":
                return checkInteger(value, integerRange);
            case "long":
                return checkInteger(value, longRange);
            case "double":
                return value instanceof JsonNumber ? { value } : expected("a double", value);
            case "boolean":
                return typeof value === "boolean" ? { value } : expected("true or false", value);
            case "decimal":
                return checkDecimal(value, type.precision, type.scale);
            case "date":
                return checkTemporal(value, dateFormat, "a date");
            case "timestamp": {
                const format = this.timestampFormat;
                if (format.kind === "epoch-millis") {
                    return value instanceof JsonNumber && integerText.test(value.text) && Number.isSafeInteger(Number(value.text))
                        ? { value }
                        : expected("epoch milliseconds (an integer)", value);
                }
                return checkTemporal(value, format, "a timestamp");
            }
        }
    }
}

function checkInteger(value: JsonValue, range: { name: string; lowest: bigint; highest: bigint }): Checked {
    if (!(value instanceof JsonNumber) || !integerText.test(value.text)) {
        return expected(range.name, value);
    }
    // Up to 15 digits a double holds exactly; beyond, compare as BigInt.
    const number = value.text.length <= 15 ? Number(value.text) : BigInt(value.text);
    if (number < range.lowest || number > range.highest) {
        return { problem: `${value.text} is out of range for ${range.name} (${range.lowest} to ${range.highest})` };
    }
    return { value };
}

function checkDecimal(value: JsonValue, precision: number, scale: number): Checked {
    const type = `decimal(${precision},${scale})`;
    const text = value instanceof JsonNumber ? value.text : typeof value === "string" ? value : undefined;
    const match = text === undefined ? null : decimalText.exec(text);
    if (!match) {
        return expected(`a ${type}`, value);
    }
    const [, sign, whole = "", fraction] = match;
    const integerDigits = whole.replace(/^0+/, "");
    if (integerDigits.length > precision - scale) {
        return { problem: `${text} has ${integerDigits.length} integer digits; ${type} allows at most ${precision - scale}` };
    }
    if (fraction !== undefined && fraction.length > scale) {
        return { problem: `${text} has ${fraction.length} fraction digits; ${type} allows at most ${scale}` };
    }
    return { value: new JsonNumber(`${sign}${integerDigits || "0"}${fraction === undefined ? "" : `.${fraction}`}`) };
}

function checkTemporal(value: JsonValue, format: PatternFormat, name: string): Checked {
    if (typeof value !== "string") {
        return expected(`${name} in the format ${format.pattern}`, value);
    }
    const problem = checkTime(value, format);
    if (problem === "does not match") {
        return expected(`${name} in the format ${format.pattern}`, value);
    }
    return problem === undefined ? { value } : { problem: `${JSON.stringify(value)} ${problem}` };
}

function expected(what: string, value: JsonValue): Checked {
    return { problem: `expected ${what}, got ${preview(value)}` };
}

const previewCharacters = 60;

function preview(value: JsonValue): string {
    const text = stringifyJson(value);
    return text.length > previewCharacters ? `${text.slice(0, previewCharacters)}...` : text;
}
