import { gzipSync } from "zlib";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import {
    CreateBucketCommand,
    GetObjectCommand,
    ListObjectsV2Command,
    PutBucketVersioningCommand,
    PutObjectCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { expect } from "chai";
import {
    createHandler,
    fileFormatOf,
    settingsFromEnvironment,
    type FileReport,
    type FileToStreamSettings,
} from "../lambdas/file-to-stream/handler";
import type { LogEntry } from "../lambdas/shared/runtime";
import { clickstreamSchema } from "./support/clickstream";
import { createStream, interceptPutRecords, motoKinesisClient, streamContents, type PutRequestLog } from "./support/kinesis";
import { useMotoServer } from "./support/moto";
import { eventBridgeBody, sqsEvent } from "./support/sqs-events";

const sourceBucket = "ingest-dev-clickstream-source";
const reportBucket = "ingest-dev-reports";
const reportPrefix = "streams/clickstream/file-reports/";

describe("file to stream: settings and formats", () => {
    it("reads its environment", () => {
        const settings = settingsFromEnvironment({
            STREAM_NAME: "ingest-dev-clickstream",
            STREAM_SCHEMA: clickstreamSchema,
            SOURCE_BUCKET: sourceBucket,
            REPORT_BUCKET: reportBucket,
            REPORT_PREFIX: reportPrefix,
        });
        expect({ ...settings, schema: settings.schema.stream }).to.deep.equal({
            streamName: "ingest-dev-clickstream",
            schema: "clickstream",
            sourceBucket,
            reportBucket,
            reportPrefix,
        });
    });

    const broken: [NodeJS.ProcessEnv, string][] = [
        [{}, "the file-to-stream function's environment lacks STREAM_NAME, STREAM_SCHEMA, SOURCE_BUCKET, REPORT_BUCKET, REPORT_PREFIX"],
        [
            { STREAM_NAME: "s", STREAM_SCHEMA: "[]", SOURCE_BUCKET: "b", REPORT_BUCKET: "r", REPORT_PREFIX: "reports" },
            'STREAM_SCHEMA must be a JSON object with stream, fields and eventTime; REPORT_PREFIX must end with "/", not "reports"',
        ],
    ];
    for (const [environment, message] of broken) {
        it(`refuses ${JSON.stringify(environment)}`, () => {
            expect(() => settingsFromEnvironment(environment)).to.throw(message);
        });
    }

    const formats: [string, string | undefined][] = [
        ["incoming/a.jsonl", "jsonl"],
        ["incoming/a.ndjson", "jsonl"],
        ["incoming/a.JSON", "jsonl"],
        ["incoming/a.jsonl.gz", "jsonl+gzip"],
        ["incoming/a.csv", "csv"],
        ["incoming/a.CSV.GZ", "csv+gzip"],
        ["incoming/a.parquet", undefined],
        ["incoming/a.gz", undefined],
        ["incoming/jsonl", undefined],
    ];
    for (const [key, format] of formats) {
        it(`reads ${key} as ${format ?? "nothing"}`, () => {
            expect(fileFormatOf(key)).to.equal(format);
        });
    }
});

describe("file to stream", function () {
    const moto = useMotoServer();
    let s3: S3Client;
    let kinesis: KinesisClient;
    let streams = 0;

    before(async () => {
        s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
        kinesis = motoKinesisClient(moto.clientConfig);
        for (const bucket of [sourceBucket, reportBucket, "elsewhere"]) {
            await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        }
        await s3.send(new PutBucketVersioningCommand({ Bucket: sourceBucket, VersioningConfiguration: { Status: "Enabled" } }));
    });

    async function pipeline(overrides: Partial<FileToStreamSettings> = {}) {
        streams += 1;
        const streamName = `clickstream-${streams}`;
        await createStream(kinesis, streamName, 2);
        const settings: FileToStreamSettings = {
            ...settingsFromEnvironment({
                STREAM_NAME: streamName,
                STREAM_SCHEMA: clickstreamSchema,
                SOURCE_BUCKET: sourceBucket,
                REPORT_BUCKET: reportBucket,
                REPORT_PREFIX: reportPrefix,
            }),
            ...overrides,
        };
        const logs: LogEntry[] = [];
        const handle = createHandler({ s3, kinesis, settings, sleep: () => Promise.resolve(), log: (entry) => logs.push(entry) });
        return { streamName, logs, handle };
    }

    /** Puts a file in the source bucket; returns the queue message EventBridge would send for it. */
    async function land(key: string, body: string | Uint8Array, bucket = sourceBucket): Promise<{ body: string; versionId: string }> {
        const put = await s3.send(
            new PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof body === "string" ? Buffer.from(body) : body }),
        );
        const versionId = put.VersionId ?? "null";
        return { body: eventBridgeBody(bucket, encodeURIComponent(key).replace(/%2F/g, "/"), put.VersionId), versionId };
    }

    async function reportOf(key: string): Promise<FileReport> {
        const object = await s3.send(new GetObjectCommand({ Bucket: reportBucket, Key: `${reportPrefix}${key}.json` }));
        return JSON.parse(await object.Body!.transformToString()) as FileReport;
    }

    async function reportKeys(): Promise<string[]> {
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: reportBucket }));
        return (listed.Contents ?? []).map((object) => object.Key ?? "");
    }

    function event(id: string, extra = ""): string {
        return `{"event_id":"${id}","event_time":"2026-11-23T09:00:00.000Z"${extra}}`;
    }

    it("puts the valid lines of a JSON-lines file on the stream and reports the rest by line", async () => {
        const { streamName, logs, handle } = await pipeline();
        const bigPrefix = '{"event_id":"big","event_time":"2026-11-23T09:00:00.000Z","note":"';
        // The record is the line, a line break and a 32-character partition key: 1,100,000 bytes.
        const big = `${bigPrefix}${"x".repeat(1_100_000 - bigPrefix.length - 2 - 1 - 32)}"}`;
        const lines = [
            event("e-1", ',"page":"/","amount":null'),
            event("e-2", ',"amount":"12.50","item_count":2'),
            "",
            '{"event_id":"e-x",',
            event("e-y", ',"item_count":"abc"'),
            '{"event_id":"e-z"}',
            big,
            `${event("e-3")}\r`,
            "   ",
            event("e-4", ',"amount":199999.99'),
        ];
        const key = "incoming/2026/11/23/web-0001.jsonl";
        const landed = await land(key, lines.join("\n"));
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });

        expect(await reportOf(key)).to.deep.equal({
            bucket: sourceBucket,
            key,
            versionId: landed.versionId,
            format: "jsonl",
            lines: 10,
            records: 8,
            recordsPut: 4,
            badLineCount: 3,
            badLines: [
                { line: 4, reason: "invalid JSON: unexpected end of input; expected a property name in double quotes" },
                { line: 5, reason: 'field "item_count": expected an integer, got "abc"' },
                { line: 6, reason: 'field "event_time" is required' },
            ],
            oversize: [{ line: 7, bytes: 1_100_000 }],
            failed: [],
            putRequests: 1,
            retries: 0,
        });
        expect(await streamContents(kinesis, streamName)).to.deep.equal([
            '{"event_id":"e-1","event_time":"2026-11-23T09:00:00.000Z","page":"/","amount":null}\n',
            '{"event_id":"e-2","event_time":"2026-11-23T09:00:00.000Z","amount":12.50,"item_count":2}\n',
            '{"event_id":"e-3","event_time":"2026-11-23T09:00:00.000Z"}\n',
            '{"event_id":"e-4","event_time":"2026-11-23T09:00:00.000Z","amount":199999.99}\n',
        ]);
        expect(logs).to.deep.equal([
            {
                level: "info",
                message: "file streamed",
                bucket: sourceBucket,
                key,
                versionId: landed.versionId,
                format: "jsonl",
                lines: 10,
                records: 8,
                recordsPut: 4,
                badLineCount: 3,
                badLines: 3,
                oversize: 1,
                failed: 0,
                putRequests: 1,
                retries: 0,
                report: `s3://${reportBucket}/${reportPrefix}${key}.json`,
            },
        ]);
    });

    it("reads CSV with quoted commas, quotes and line breaks, numbering rows by their first line", async () => {
        const { streamName, handle } = await pipeline();
        const csv = [
            "\uFEFFevent_id,event_time,amount,item_count",
            'e-1,2026-11-23T09:00:00.000Z,"1,234.50",2',
            '"e-2",2026-11-23T09:00:01.000Z,"19.90",1',
            '"e-3 ""gift""",2026-11-23T09:00:02.000Z,,',
            '"e-4',
            'second line",2026-11-23T09:00:03.000+01:00,5.00,3',
            "",
            "e-5,2026-11-23T09:00:04.000Z,1.5",
            "e-6,2026-11-23T09:00:05.000Z,0.99,1",
        ].join("\r\n");
        const key = "incoming/orders 23.11.csv";
        const landed = await land(key, csv);
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
        const report = await reportOf(key);
        expect(report).to.deep.include({ format: "csv", lines: 9, records: 6, recordsPut: 4, badLineCount: 2 });
        expect(report.badLines).to.deep.equal([
            { line: 2, reason: 'field "amount": expected a decimal(12,2), got "1,234.50"' },
            { line: 8, reason: "row has 3 cells; the header has 4" },
        ]);
        expect(await streamContents(kinesis, streamName)).to.deep.equal([
            '{"event_id":"e-2","event_time":"2026-11-23T09:00:01.000Z","amount":19.90,"item_count":1}\n',
            '{"event_id":"e-3 \\"gift\\"","event_time":"2026-11-23T09:00:02.000Z","amount":null,"item_count":null}\n',
            '{"event_id":"e-4\\nsecond line","event_time":"2026-11-23T09:00:03.000+01:00","amount":5.00,"item_count":3}\n',
            '{"event_id":"e-6","event_time":"2026-11-23T09:00:05.000Z","amount":0.99,"item_count":1}\n',
        ]);
    });

    it("rejects a CSV file whose header names a column the stream does not declare", async () => {
        const { streamName, logs, handle } = await pipeline();
        const key = "incoming/with-colour.csv";
        const landed = await land(key, "event_id,event_time,colour\ne-1,2026-11-23T09:00:00.000Z,red\n");
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
        expect(await reportOf(key)).to.deep.equal({
            bucket: sourceBucket,
            key,
            versionId: landed.versionId,
            format: "csv",
            lines: 1,
            records: 0,
            recordsPut: 0,
            badLineCount: 0,
            badLines: [],
            oversize: [],
            failed: [],
            putRequests: 0,
            retries: 0,
            fileError: 'CSV header column "colour" is not a declared field of stream clickstream',
        });
        expect(await streamContents(kinesis, streamName)).to.deep.equal([]);
        expect(logs[0]).to.include({
            level: "warn",
            message: 'file rejected: CSV header column "colour" is not a declared field of stream clickstream',
        });
    });

    it("gunzips a .jsonl.gz file and puts its records in batches as they fill", async () => {
        const { streamName, handle } = await pipeline();
        const texts = Array.from({ length: 1200 }, (_, index) => event(`e-${String(index).padStart(4, "0")}`, `,"item_count":${index}`));
        const key = "incoming/bulk.jsonl.gz";
        const landed = await land(key, gzipSync(`${texts.join("\n")}\n`));
        const requests: PutRequestLog[] = [];
        const remove = interceptPutRecords(kinesis, { requests });
        try {
            expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
        } finally {
            remove();
        }
        expect(requests.map((request) => request.records)).to.deep.equal([500, 500, 200]);
        expect(await reportOf(key)).to.deep.include({
            format: "jsonl+gzip",
            lines: 1200,
            records: 1200,
            recordsPut: 1200,
            badLineCount: 0,
            putRequests: 3,
        });
        expect(await streamContents(kinesis, streamName)).to.deep.equal(texts.map((text) => `${text}\n`));
    });

    const unreadable: [string, string, string | Uint8Array, string | null, string][] = [
        ["an unsupported file type", "incoming/events.parquet", "PAR1", null, "unsupported file type"],
        [
            "a corrupt gzip file",
            "incoming/broken.csv.gz",
            "not gzip at all",
            "csv+gzip",
            "the file is not valid gzip data: incorrect header check",
        ],
        ["a CSV file without a header", "incoming/empty.csv", "", "csv", "the CSV file has no header line"],
    ];
    for (const [name, key, body, format, fileError] of unreadable) {
        it(`reports ${name} once, without retrying`, async () => {
            const { streamName, handle } = await pipeline();
            const landed = await land(key, body);
            expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
            expect(await reportOf(key)).to.deep.include({ format, lines: 0, records: 0, recordsPut: 0, fileError });
            expect(await streamContents(kinesis, streamName)).to.deep.equal([]);
        });
    }

    it("reports an object deleted before it was read", async () => {
        const { handle } = await pipeline();
        const key = "incoming/gone.jsonl";
        expect(await handle(sqsEvent(eventBridgeBody(sourceBucket, key)))).to.deep.equal({ batchItemFailures: [] });
        expect(await reportOf(key)).to.deep.include({ versionId: "null", fileError: "the object no longer exists (NoSuchKey)" });
    });

    it("ignores objects of other buckets and its own reports, without writing a report", async () => {
        const { logs, handle } = await pipeline({ reportBucket: sourceBucket });
        const before = await reportKeys();
        const other = await land("incoming/a.jsonl", event("e-1"), "elsewhere");
        const ownReport = await land(`${reportPrefix}incoming/a.jsonl.json`, "{}");
        expect(await handle(sqsEvent(other.body, ownReport.body))).to.deep.equal({ batchItemFailures: [] });
        expect(await reportKeys()).to.deep.equal(before);
        expect(logs.map((entry) => [entry.level, entry.message, entry.bucket])).to.deep.equal([
            ["warn", `ignored: bucket is not the source bucket ${sourceBucket}`, "elsewhere"],
            ["warn", `ignored: a report of this function (under ${reportPrefix})`, sourceBucket],
        ]);
    });

    it("returns the message to the queue when records still fail after the retries, and lists them in the report", async () => {
        const { streamName, logs, handle } = await pipeline();
        const key = "incoming/throttled.jsonl";
        const landed = await land(key, [event("e-1"), event("e-2"), event("e-3")].join("\n"));
        const remove = interceptPutRecords(kinesis, {
            recordFault: (text) =>
                text.includes('"e-2"') ? { code: "ProvisionedThroughputExceededException", message: "Rate exceeded for shard" } : undefined,
        });
        try {
            const result = await handle(sqsEvent(eventBridgeBody(sourceBucket, "incoming/other.txt"), landed.body));
            expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: "message-1" }] });
        } finally {
            remove();
        }
        expect(await reportOf(key)).to.deep.include({
            records: 3,
            recordsPut: 2,
            failed: [{ line: 2, errorCode: "ProvisionedThroughputExceededException", errorMessage: "Rate exceeded for shard" }],
            putRequests: 5,
            retries: 4,
        });
        expect(await streamContents(kinesis, streamName)).to.deep.equal([`${event("e-1")}\n`, `${event("e-3")}\n`]);
        expect(logs.at(-1)).to.include({
            level: "warn",
            message: "file streamed; some records failed and the message returns to the queue",
        });
    });

    it("returns the message to the queue when the stream cannot be written at all", async () => {
        const { logs, handle } = await pipeline({ streamName: "no-such-stream" });
        const landed = await land("incoming/lost.jsonl", event("e-1"));
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [{ itemIdentifier: "message-0" }] });
        expect(logs).to.deep.equal([
            {
                level: "error",
                message: "message failed: ResourceNotFoundException: Stream no-such-stream under account 123456789012 not found.",
                messageId: "message-0",
            },
        ]);
    });

    it("keeps a malformed message for the dead-letter queue and acknowledges S3's test event", async () => {
        const { logs, handle } = await pipeline();
        const result = await handle(sqsEvent("{not json", JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent" })));
        expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: "message-0" }] });
        expect(logs.map((entry) => entry.message)).to.deep.equal([
            "malformed message kept for the dead-letter queue: the message body is not JSON: {not json",
            "S3 test event acknowledged",
        ]);
    });

    it("lists the first 1,000 bad lines and counts them all", async () => {
        const { handle } = await pipeline();
        const key = "incoming/mostly-bad.ndjson";
        const landed = await land(key, `${Array.from({ length: 1005 }, () => "[]").join("\n")}\n${event("e-1")}\n`);
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
        const report = await reportOf(key);
        expect(report).to.deep.include({ lines: 1006, records: 1006, recordsPut: 1, badLineCount: 1005 });
        expect(report.badLines).to.have.length(1000);
        expect(report.badLines.at(-1)).to.deep.equal({ line: 1000, reason: "not a JSON object" });
    });
});
