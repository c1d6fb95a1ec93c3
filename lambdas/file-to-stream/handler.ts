import { pipeline, Readable } from "stream";
import { createGunzip } from "zlib";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { CsvReader } from "../shared/csv";
import { landedObjectsHandler, type LandedObject } from "../shared/events";
import {
    maximumRecordBytes,
    recordBytes,
    StreamWriter,
    streamRecord,
    type FailedRecord,
    type PutOptions,
    type StreamRecord,
} from "../shared/put-records";
import { EnvironmentReader, errorText, jsonLog, sleep, type Log } from "../shared/runtime";
import { RecordValidator, type RecordResult } from "../shared/stream-records";
import { parseStreamSchema, type StreamSchema } from "../shared/stream-schema";
import { defaultMaxFileMiB, mebibyte, type FileToStreamVariable } from "./contract";
import { LineSplitter, type Line } from "./lines";

/**
 * Puts the events of a file landed in the stream's source bucket on the stream, record by record.
 * The queue this function reads receives the bucket's "Object Created" events from EventBridge.
 *
 * The format follows the extension: .jsonl, .ndjson and .json are JSON lines (one object per
 * line), .csv is CSV with a header of declared field names, and .gz on either is gunzipped first.
 * The object is read as a stream, chunk by chunk, and records go out in PutRecords batches as they
 * fill, so a file of hundreds of MB never sits in memory. Two bounds keep any file within memory
 * and time: a line longer than a record may be (Kinesis's 1 MiB) is never held, only counted, and
 * rejected with its number; and at most `maxFileBytes` of a file are read (after gunzip), so a gzip
 * bomb is rejected rather than read until the function times out. Blank lines are stepped over in
 * bulk (see lines.ts). Lines that fail the stream schema, and records over the limit, are skipped
 * and listed in the file's report, `s3://REPORT_BUCKET/REPORT_PREFIX<key>.json`, which is written
 * for every file read: also when the file is rejected, and when reading fails and the message goes
 * back to the queue (the report then says why; the next delivery overwrites it).
 *
 * Delivery is at least once. When records still fail after putRecords' retries, the message is
 * returned as a batch item failure and SQS delivers it again: the whole file is read and put again,
 * so its records that had landed land twice. Consumers deduplicate on the producer's event id.
 * A file that can never be read (unsupported type, bad header, corrupt gzip, deleted object, over
 * the size bound) is reported once and not retried; the records put before a bound or a corrupt
 * gzip stopped the reading stay on the stream, and the report counts them.
 */

export interface FileToStreamSettings {
    readonly streamName: string;
    readonly schema: StreamSchema;
    readonly sourceBucket: string;
    readonly reportBucket: string;
    /** Ends with "/"; the report of `<key>` is `<reportPrefix><key>.json`. */
    readonly reportPrefix: string;
    /** The most bytes read of one file, after gunzip; a larger file is rejected with its report. */
    readonly maxFileBytes: number;
}

export interface FileToStreamDependencies {
    readonly s3: S3Client;
    readonly kinesis: KinesisClient;
    readonly settings: FileToStreamSettings;
    readonly sleep?: (milliseconds: number) => Promise<void>;
    readonly log?: Log;
    /** Retry tuning for PutRecords; defaults as putRecords has them. */
    readonly retry?: Pick<PutOptions, "maxAttempts" | "baseDelayMs" | "random">;
}

export type FileFormat = "jsonl" | "jsonl+gzip" | "csv" | "csv+gzip";

/** What became of one file; written as JSON to the report bucket. */
export interface FileReport {
    readonly bucket: string;
    readonly key: string;
    readonly versionId: string;
    /** null when the extension is not one this function reads. */
    readonly format: FileFormat | null;
    /** Bytes read, after gunzip. */
    bytes: number;
    /** Physical lines read, blank ones and the CSV header included. */
    lines: number;
    /** Records found: non-blank JSON lines, CSV rows after the header. */
    records: number;
    recordsPut: number;
    /** Every record that failed the schema; only the first maximumListedBadLines are in badLines. */
    badLineCount: number;
    readonly badLines: { line: number; reason: string }[];
    /**
     * Records over Kinesis's limit: `bytes` is the record's size (data and partition key) or, for a
     * line longer than any record can be, the line's size, counted as it was skipped and never held
     * (up to where reading stopped, when the file ended or its bound was reached inside the line).
     */
    readonly oversize: { line: number; bytes: number }[];
    failed: FailedRecord[];
    putRequests: number;
    retries: number;
    fileError?: string;
}

export const maximumListedBadLines = 1000;

/** Gunzip's output chunks: larger than zlib's 16 KiB default, so a gzip bomb costs fewer turns of the read loop. */
const gunzipChunkBytes = 256 * 1024;

const missingObjectErrors = new Set(["NoSuchKey", "NoSuchVersion", "NotFound"]);

export function fileFormatOf(key: string): FileFormat | undefined {
    const name = key.toLowerCase();
    const gzip = name.endsWith(".gz");
    const base = gzip ? name.slice(0, -".gz".length) : name;
    const kind = /\.(jsonl|ndjson|json)$/.test(base) ? "jsonl" : base.endsWith(".csv") ? "csv" : undefined;
    return kind && (gzip ? `${kind}+gzip` : kind);
}

function emptyReport(landed: LandedObject, format: FileFormat | null): FileReport {
    return {
        bucket: landed.bucket,
        key: landed.key,
        versionId: landed.versionId,
        format,
        bytes: 0,
        lines: 0,
        records: 0,
        recordsPut: 0,
        badLineCount: 0,
        badLines: [],
        oversize: [],
        failed: [],
        putRequests: 0,
        retries: 0,
    };
}

export function createHandler(dependencies: FileToStreamDependencies): (event: SQSEvent) => Promise<SQSBatchResponse> {
    const { s3, kinesis, settings } = dependencies;
    const log = dependencies.log ?? jsonLog;
    const validator = new RecordValidator(settings.schema);
    const putOptions: PutOptions = { ...dependencies.retry, sleep: dependencies.sleep ?? sleep };

    /**
     * Reads a file's lines into records, putting them as batches fill. Each chunk is split into lines
     * synchronously and its records are put before the next chunk is read, so what is held is one
     * chunk's records and one line at most.
     */
    async function readRecords(input: AsyncIterable<Buffer>, format: FileFormat, report: FileReport, writer: StreamWriter): Promise<void> {
        const pending: StreamRecord[] = [];
        const accept = (result: RecordResult, line: number) => {
            if (!result.ok) {
                report.badLineCount++;
                if (report.badLines.length < maximumListedBadLines) {
                    report.badLines.push({ line, reason: result.reason });
                }
                return;
            }
            const record = streamRecord(result.text, line);
            const bytes = recordBytes(record);
            if (bytes > maximumRecordBytes) {
                report.oversize.push({ line, bytes });
            } else {
                pending.push(record);
            }
        };
        const withoutBom = (text: string, line: number) => (line === 1 && text.startsWith("\uFEFF") ? text.slice(1) : text);
        const jsonLines = format === "jsonl" || format === "jsonl+gzip";
        const splitter = new LineSplitter({ maxLineBytes: maximumRecordBytes, blank: jsonLines ? "whitespace" : "empty" });

        const jsonLine = (line: Line): boolean => {
            if (line.kind === "too-long") {
                report.records++;
                report.oversize.push({ line: line.number, bytes: line.bytes });
                return true;
            }
            const content = withoutBom(line.text, line.number);
            if (content.trim() !== "") {
                report.records++;
                accept(validator.validateLine(content), line.number);
            }
            return true;
        };

        const csv = new CsvReader(maximumRecordBytes);
        let columns: string[] | undefined;
        const csvLine = (line: Line): boolean => {
            if (line.kind === "too-long") {
                if (columns === undefined) {
                    report.fileError = `the CSV header on line ${line.number} is over ${maximumRecordBytes} bytes`;
                    return false;
                }
                report.records++;
                const open = csv.interrupt(
                    `a quoted field runs into line ${line.number}, which is over ${maximumRecordBytes} bytes (${line.bytes} read)`,
                );
                if (open) {
                    accept({ ok: false, reason: open.reason }, open.line);
                } else {
                    report.oversize.push({ line: line.number, bytes: line.bytes });
                }
                return true;
            }
            const row = csv.push(withoutBom(line.text, line.number), line.number);
            if (row === undefined || row.kind === "blank") {
                return true;
            }
            if (columns === undefined) {
                if (row.kind === "bad") {
                    report.fileError = `the CSV header on line ${row.line} is malformed: ${row.reason}`;
                    return false;
                }
                columns = row.cells.map((cell) => cell.text);
                report.fileError = validator.checkCsvHeader(columns);
                return report.fileError === undefined;
            }
            report.records++;
            accept(row.kind === "bad" ? { ok: false, reason: row.reason } : validator.validateCsvRow(columns, row.cells), row.line);
            return true;
        };
        const onLine = jsonLines ? jsonLine : csvLine;
        const skipBlank = jsonLines ? () => true : () => !csv.insideQuotes;
        const putPending = async () => {
            for (const record of pending.splice(0)) {
                await writer.add(record);
            }
        };

        for await (const chunk of input) {
            const room = settings.maxFileBytes - report.bytes;
            const over = chunk.length > room;
            const piece = over ? chunk.subarray(0, room) : chunk;
            report.bytes += piece.length;
            const reading = splitter.push(piece, onLine, skipBlank);
            report.lines = splitter.lines;
            await putPending();
            if (!reading) {
                return;
            }
            if (over) {
                const unfinished = splitter.unfinished();
                if (unfinished?.tooLong) {
                    report.records++;
                    report.oversize.push({ line: unfinished.number, bytes: unfinished.bytes });
                }
                const gunzipped = format.endsWith("+gzip") ? " once gunzipped" : "";
                report.fileError =
                    `the file is larger than ${settings.maxFileBytes} bytes${gunzipped}, the most this stream reads of one file ` +
                    `(fileSource.maxFileMiB); reading stopped in line ${splitter.lines}, and the records before it were put on the stream`;
                return;
            }
        }
        splitter.end(onLine);
        report.lines = splitter.lines;
        if (!jsonLines && report.fileError === undefined) {
            const unfinished = csv.end();
            if (columns === undefined) {
                report.fileError = unfinished ? `the CSV header is malformed: ${unfinished.reason}` : "the CSV file has no header line";
            } else if (unfinished) {
                report.records++;
                accept({ ok: false, reason: unfinished.reason }, unfinished.line);
            }
        }
        await putPending();
    }

    /** Reads and puts one file, filling in its report. Errors worth retrying propagate, the report as far as it got. */
    async function streamFile(landed: LandedObject, report: FileReport): Promise<void> {
        const format = report.format;
        if (!format) {
            report.fileError = "unsupported file type";
            return;
        }
        let body: Readable;
        let contentLength: number | undefined;
        try {
            const object = await s3.send(
                new GetObjectCommand({
                    Bucket: landed.bucket,
                    Key: landed.key,
                    VersionId: landed.versionId === "null" ? undefined : landed.versionId,
                }),
            );
            if (!(object.Body instanceof Readable)) {
                throw new Error("GetObject returned no readable body");
            }
            body = object.Body;
            contentLength = object.ContentLength;
        } catch (error) {
            if (error instanceof Error && missingObjectErrors.has(error.name)) {
                report.fileError = `the object no longer exists (${error.name})`;
                return;
            }
            throw error;
        }
        const gzip = format.endsWith("+gzip");
        if (!gzip && contentLength !== undefined && contentLength > settings.maxFileBytes) {
            body.destroy();
            report.fileError =
                `the file is ${contentLength} bytes, more than the ${settings.maxFileBytes} this stream reads of one file ` +
                "(fileSource.maxFileMiB); nothing was read";
            return;
        }
        const input: Readable = gzip ? pipeline(body, createGunzip({ chunkSize: gunzipChunkBytes }), () => undefined) : body;
        const writer = new StreamWriter(kinesis, settings.streamName, putOptions);
        try {
            await readRecords(input, format, report, writer);
            await writer.finish();
        } catch (error) {
            const code = (error as { code?: unknown }).code;
            if (typeof code !== "string" || !code.startsWith("Z_")) {
                throw error;
            }
            report.fileError = `the file is not valid gzip data: ${(error as Error).message}`;
            await writer.finish();
        } finally {
            const outcome = writer.totals();
            report.recordsPut = outcome.put;
            report.failed = [...outcome.failed];
            report.putRequests = outcome.requests;
            report.retries = outcome.retries;
            input.destroy();
            body.destroy();
        }
    }

    /** Returns whether the object is done with (false: the message should come back). */
    async function handleObject(landed: LandedObject): Promise<boolean> {
        if (landed.bucket !== settings.sourceBucket) {
            log({ level: "warn", message: `ignored: bucket is not the source bucket ${settings.sourceBucket}`, ...landed });
            return true;
        }
        if (landed.bucket === settings.reportBucket && landed.key.startsWith(settings.reportPrefix)) {
            log({ level: "warn", message: `ignored: a report of this function (under ${settings.reportPrefix})`, ...landed });
            return true;
        }
        const report = emptyReport(landed, fileFormatOf(landed.key) ?? null);
        let failure: { readonly error: unknown } | undefined;
        try {
            await streamFile(landed, report);
        } catch (error) {
            failure = { error };
            report.fileError = `reading failed and the message returns to the queue: ${errorText(error)}`;
        }
        const reportKey = `${settings.reportPrefix}${landed.key}.json`;
        await s3.send(
            new PutObjectCommand({
                Bucket: settings.reportBucket,
                Key: reportKey,
                Body: `${JSON.stringify(report, null, 2)}\n`,
                ContentType: "application/json",
            }),
        );
        if (failure) {
            // landedObjectsHandler logs the error and returns the message to the queue.
            throw failure.error;
        }
        const { badLines, oversize, failed, ...counts } = report;
        log({
            level: report.fileError || failed.length > 0 ? "warn" : "info",
            message: report.fileError
                ? `file rejected: ${report.fileError}`
                : failed.length > 0
                  ? "file streamed; some records failed and the message returns to the queue"
                  : "file streamed",
            ...counts,
            badLines: badLines.length,
            oversize: oversize.length,
            failed: failed.length,
            report: `s3://${settings.reportBucket}/${reportKey}`,
        });
        return failed.length === 0;
    }

    return landedObjectsHandler(handleObject, log);
}

/**
 * Reads the variables of `fileToStreamVariables`. MAX_FILE_BYTES, whole bytes of at least 1, may be
 * left out: the bound is then `defaultMaxFileMiB`, as the deploy side defaults it.
 */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): FileToStreamSettings {
    const reader = new EnvironmentReader<FileToStreamVariable>(environment, "the file-to-stream function");
    const streamName = reader.required("STREAM_NAME");
    const schema = reader.parsed("STREAM_SCHEMA", parseStreamSchema);
    const sourceBucket = reader.required("SOURCE_BUCKET");
    const reportBucket = reader.required("REPORT_BUCKET");
    const reportPrefix = reader.required("REPORT_PREFIX");
    if (reportPrefix !== "" && !reportPrefix.endsWith("/")) {
        reader.problem(`REPORT_PREFIX must end with "/", not "${reportPrefix}"`);
    }
    const maxFileBytes = reader.wholeNumber("MAX_FILE_BYTES", defaultMaxFileMiB * mebibyte, 1);
    reader.done();
    return { streamName, schema: schema!, sourceBucket, reportBucket, reportPrefix, maxFileBytes };
}

let configured: ((event: SQSEvent) => Promise<SQSBatchResponse>) | undefined;

/** Lambda entry point; clients and settings are made once per execution environment. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    // putRecords retries; the Kinesis client does not, so attempts do not multiply.
    configured ??= createHandler({
        s3: new S3Client({}),
        kinesis: new KinesisClient({ maxAttempts: 1 }),
        settings: settingsFromEnvironment(process.env),
    });
    return configured(event);
}
