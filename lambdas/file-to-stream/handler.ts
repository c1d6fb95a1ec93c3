import { createInterface, type Interface } from "readline";
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
    type PutOutcome,
} from "../shared/put-records";
import { EnvironmentReader, jsonLog, sleep, type Log } from "../shared/runtime";
import { RecordValidator, type RecordResult } from "../shared/stream-records";
import { parseStreamSchema, type StreamSchema } from "../shared/stream-schema";

/**
 * Puts the events of a file landed in the stream's source bucket on the stream, record by record.
 * The queue this function reads receives the bucket's "Object Created" events from EventBridge.
 *
 * The format follows the extension: .jsonl, .ndjson and .json are JSON lines (one object per
 * line), .csv is CSV with a header of declared field names, and .gz on either is gunzipped first.
 * The object is read as a stream, line by line, and records go out in PutRecords batches as they
 * fill, so a file of hundreds of MB never sits in memory. Lines that fail the stream schema, and
 * records over Kinesis's 1 MiB limit, are skipped and listed in the file's report,
 * `s3://REPORT_BUCKET/REPORT_PREFIX<key>.json`, which is written for every file read.
 *
 * Delivery is at least once. When records still fail after putRecords' retries, the message is
 * returned as a batch item failure and SQS delivers it again: the whole file is read and put again,
 * so its records that had landed land twice. Consumers deduplicate on the producer's event id.
 * A file that can never be read (unsupported type, bad header, corrupt gzip, deleted object) is
 * reported once and not retried.
 */

export interface FileToStreamSettings {
    readonly streamName: string;
    readonly schema: StreamSchema;
    readonly sourceBucket: string;
    readonly reportBucket: string;
    /** Ends with "/"; the report of `<key>` is `<reportPrefix><key>.json`. */
    readonly reportPrefix: string;
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
    /** Physical lines read, blank ones and the CSV header included. */
    lines: number;
    /** Records found: non-blank JSON lines, CSV rows after the header. */
    records: number;
    recordsPut: number;
    /** Every record that failed the schema; only the first maximumListedBadLines are in badLines. */
    badLineCount: number;
    readonly badLines: { line: number; reason: string }[];
    readonly oversize: { line: number; bytes: number }[];
    failed: FailedRecord[];
    putRequests: number;
    retries: number;
    fileError?: string;
}

export const maximumListedBadLines = 1000;

const missingObjectErrors = new Set(["NoSuchKey", "NoSuchVersion", "NotFound"]);

export function fileFormatOf(key: string): FileFormat | undefined {
    const name = key.toLowerCase();
    const gzip = name.endsWith(".gz");
    const base = gzip ? name.slice(0, -".gz".length) : name;
    const kind = /\.(jsonl|ndjson|json)$/.test(base) ? "jsonl" : base.endsWith(".csv") ? "csv" : undefined;
    return kind && (gzip ? `${kind}+gzip` : kind);
}

export function createHandler(dependencies: FileToStreamDependencies): (event: SQSEvent) => Promise<SQSBatchResponse> {
    const { s3, kinesis, settings } = dependencies;
    const log = dependencies.log ?? jsonLog;
    const validator = new RecordValidator(settings.schema);
    const putOptions: PutOptions = { ...dependencies.retry, sleep: dependencies.sleep ?? sleep };

    async function streamLines(lines: Interface, format: FileFormat, report: FileReport, writer: StreamWriter): Promise<void> {
        const accept = async (result: RecordResult, line: number) => {
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
                await writer.add(record);
            }
        };
        const withoutBom = (text: string, line: number) => (line === 1 && text.startsWith("\uFEFF") ? text.slice(1) : text);

        if (format === "jsonl" || format === "jsonl+gzip") {
            for await (const text of lines) {
                const line = ++report.lines;
                const content = withoutBom(text, line);
                if (content.trim() !== "") {
                    report.records++;
                    await accept(validator.validateLine(content), line);
                }
            }
            return;
        }

        const csv = new CsvReader(maximumRecordBytes);
        let columns: string[] | undefined;
        for await (const text of lines) {
            const line = ++report.lines;
            const row = csv.push(withoutBom(text, line), line);
            if (row === undefined || row.kind === "blank") {
                continue;
            }
            if (columns === undefined) {
                if (row.kind === "bad") {
                    report.fileError = `the CSV header on line ${row.line} is malformed: ${row.reason}`;
                    return;
                }
                columns = row.cells.map((cell) => cell.text);
                const problem = validator.checkCsvHeader(columns);
                if (problem) {
                    report.fileError = problem;
                    return;
                }
                continue;
            }
            report.records++;
            await accept(row.kind === "bad" ? { ok: false, reason: row.reason } : validator.validateCsvRow(columns, row.cells), row.line);
        }
        const unfinished = csv.end();
        if (columns === undefined) {
            report.fileError = unfinished ? `the CSV header is malformed: ${unfinished.reason}` : "the CSV file has no header line";
        } else if (unfinished) {
            report.records++;
            await accept({ ok: false, reason: unfinished.reason }, unfinished.line);
        }
    }

    /** Reads and puts one file; returns its report. Errors worth retrying propagate. */
    async function streamFile(landed: LandedObject): Promise<FileReport> {
        const format = fileFormatOf(landed.key);
        const report: FileReport = {
            bucket: landed.bucket,
            key: landed.key,
            versionId: landed.versionId,
            format: format ?? null,
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
        if (!format) {
            report.fileError = "unsupported file type";
            return report;
        }
        let body: Readable;
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
        } catch (error) {
            if (error instanceof Error && missingObjectErrors.has(error.name)) {
                report.fileError = `the object no longer exists (${error.name})`;
                return report;
            }
            throw error;
        }
        const input = format.endsWith("+gzip") ? pipeline(body, createGunzip(), () => undefined) : body;
        const lines = createInterface({ input, crlfDelay: Infinity });
        const writer = new StreamWriter(kinesis, settings.streamName, putOptions);
        try {
            await streamLines(lines, format, report, writer);
        } catch (error) {
            const code = (error as { code?: unknown }).code;
            if (typeof code !== "string" || !code.startsWith("Z_")) {
                throw error;
            }
            report.fileError = `the file is not valid gzip data: ${(error as Error).message}`;
        } finally {
            lines.close();
            body.destroy();
        }
        const outcome: PutOutcome = await writer.finish();
        report.recordsPut = outcome.put;
        report.failed = [...outcome.failed];
        report.putRequests = outcome.requests;
        report.retries = outcome.retries;
        return report;
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
        const report = await streamFile(landed);
        const reportKey = `${settings.reportPrefix}${landed.key}.json`;
        await s3.send(
            new PutObjectCommand({
                Bucket: settings.reportBucket,
                Key: reportKey,
                Body: `${JSON.stringify(report, null, 2)}\n`,
                ContentType: "application/json",
            }),
        );
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

/** Reads STREAM_NAME, STREAM_SCHEMA, SOURCE_BUCKET, REPORT_BUCKET and REPORT_PREFIX. */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): FileToStreamSettings {
    const reader = new EnvironmentReader(environment, "the file-to-stream function");
    const streamName = reader.required("STREAM_NAME");
    const schema = reader.parsed("STREAM_SCHEMA", parseStreamSchema);
    const sourceBucket = reader.required("SOURCE_BUCKET");
    const reportBucket = reader.required("REPORT_BUCKET");
    const reportPrefix = reader.required("REPORT_PREFIX");
    if (reportPrefix !== "" && !reportPrefix.endsWith("/")) {
        reader.problem(`REPORT_PREFIX must end with "/", not "${reportPrefix}"`);
    }
    reader.done();
    return { streamName, schema: schema!, sourceBucket, reportBucket, reportPrefix };
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
