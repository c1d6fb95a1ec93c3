import { createInterface } from "readline";
import { Readable } from "stream";
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
import { defaultMaxFileMiB, mebibyte } from "../lambdas/file-to-stream/contract";
import { LineSplitter, type Line, type LineSplitterOptions } from "../lambdas/file-to-stream/lines";
import type { LogEntry } from "../lambdas/shared/runtime";
import { clickstreamSchema } from "./support/clickstream";
import { createStream, interceptPutRecords, motoKinesisClient, streamContents, type PutRequestLog } from "./support/kinesis";
import { useMotoServer } from "./support/moto";
import { eventBridgeBody, sqsEvent } from "./support/sqs-events";

const sourceBucket = "ingest-dev-clickstream-source";
const reportBucket = "ingest-dev-reports";
const reportPrefix = "streams/clickstream/file-reports/";
const defaultMaxFileBytes = defaultMaxFileMiB * mebibyte;

describe("file to stream: settings and formats", () => {
    it("reads its environment", () => {
        const settings = settingsFromEnvironment({
            STREAM_NAME: "ingest-dev-clickstream",
            STREAM_SCHEMA: clickstreamSchema,
            SOURCE_BUCKET: sourceBucket,
            REPORT_BUCKET: reportBucket,
            REPORT_PREFIX: reportPrefix,
            MAX_FILE_BYTES: "536870912",
        });
        expect({ ...settings, schema: settings.schema.stream }).to.deep.equal({
            streamName: "ingest-dev-clickstream",
            schema: "clickstream",
            sourceBucket,
            reportBucket,
            reportPrefix,
            maxFileBytes: 536_870_912,
        });
    });

    it("bounds a file by its default when MAX_FILE_BYTES is unset", () => {
        const settings = settingsFromEnvironment({
            STREAM_NAME: "s",
            STREAM_SCHEMA: clickstreamSchema,
            SOURCE_BUCKET: "b",
            REPORT_BUCKET: "r",
            REPORT_PREFIX: "reports/",
        });
        expect(settings.maxFileBytes).to.equal(512 * 1_048_576);
    });

    const broken: [NodeJS.ProcessEnv, string][] = [
        [{}, "the file-to-stream function's environment lacks STREAM_NAME, STREAM_SCHEMA, SOURCE_BUCKET, REPORT_BUCKET, REPORT_PREFIX"],
        [
            {
                STREAM_NAME: "s",
                STREAM_SCHEMA: "[]",
                SOURCE_BUCKET: "b",
                REPORT_BUCKET: "r",
                REPORT_PREFIX: "reports",
                MAX_FILE_BYTES: "1e9",
            },
            'STREAM_SCHEMA must be a JSON object with stream, fields and eventTime; REPORT_PREFIX must end with "/", not "reports"; ' +
                'MAX_FILE_BYTES must be a whole number of at least 1, not "1e9"',
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

describe("file to stream: line splitter", () => {
    /** Splits `text` cut into chunks at `cuts`; returns every line handed over and the count of lines read. */
    function split(text: string, cuts: readonly number[], options: LineSplitterOptions): { lines: number; handed: [number, string][] } {
        const splitter = new LineSplitter(options);
        const handed: [number, string][] = [];
        const onLine = (line: Line) => {
            handed.push([line.number, line.kind === "text" ? line.text : `<${line.bytes} bytes>`]);
            return true;
        };
        const bytes = Buffer.from(text);
        let from = 0;
        for (const cut of [...cuts, bytes.length]) {
            splitter.push(bytes.subarray(from, cut), onLine);
            from = cut;
        }
        splitter.end(onLine);
        return { lines: splitter.lines, handed };
    }

    /** What readline makes of `text`, with the lines a mode skips left out and those over the bound by their size. */
    async function readlineLines(text: string, options: LineSplitterOptions): Promise<{ lines: number; handed: [number, string][] }> {
        const all: string[] = [];
        for await (const line of createInterface({ input: Readable.from([Buffer.from(text)]), crlfDelay: Infinity })) {
            all.push(line);
        }
        const handed = all
            .map((line, index): [number, string] => [index + 1, line])
            .filter(([, line]) => (options.blank === "whitespace" ? line.trim() !== "" : line !== ""))
            .map(([number, line]): [number, string] => {
                const bytes = Buffer.byteLength(line);
                return [
                    number,
                    bytes > options.maxLineBytes ? `<${bytes} bytes>` : options.blank === "whitespace" ? line.trimStart() : line,
                ];
            });
        return { lines: all.length, handed };
    }

    const cases: [string, string, LineSplitterOptions, [number, string][], number][] = [
        [
            "LF, CRLF and a lone CR",
            "a\nb\r\nc\rd",
            { maxLineBytes: 10, blank: "empty" },
            [
                [1, "a"],
                [2, "b"],
                [3, "c"],
                [4, "d"],
            ],
            4,
        ],
        ["blank JSON lines of whitespace", "  \n\t\r\n {}\n\n", { maxLineBytes: 10, blank: "whitespace" }, [[3, "{}"]], 4],
        ["spaces on a CSV line are not blank", "\n  \n\r\n", { maxLineBytes: 10, blank: "empty" }, [[2, "  "]], 3],
        [
            "a line over the bound, by its size",
            "ok\n0123456789x\nok",
            { maxLineBytes: 10, blank: "empty" },
            [
                [1, "ok"],
                [2, "<11 bytes>"],
                [3, "ok"],
            ],
            3,
        ],
        [
            "a last line without a break",
            "a\n\nb",
            { maxLineBytes: 10, blank: "empty" },
            [
                [1, "a"],
                [3, "b"],
            ],
            3,
        ],
    ];
    for (const [name, text, options, handed, lines] of cases) {
        it(`splits ${name}, cut anywhere`, () => {
            for (let cut = 0; cut <= Buffer.byteLength(text); cut++) {
                expect(split(text, [cut], options)).to.deep.equal({ lines, handed });
            }
        });
    }

    it("numbers lines as readline does, over runs of empty lines long enough to be stepped over a block at a time", async () => {
        let seed = 16;
        const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
        const pieces = ["\n", "\r\n", "\r", " ", "\t", "a", "{}", "0123456789abcdef"];
        for (let sample = 0; sample < 60; sample++) {
            let text = "";
            for (let piece = Math.floor(random() * 12); piece > 0; piece--) {
                text += pieces[Math.floor(random() * pieces.length)]!.repeat(Math.floor(random() * 6000));
            }
            const size = Buffer.byteLength(text);
            const cuts = [...new Set(Array.from({ length: 4 }, () => Math.floor(random() * (size + 1))))].sort(
                (left, right) => left - right,
            );
            for (const options of [
                { maxLineBytes: 64, blank: "whitespace" },
                { maxLineBytes: 64, blank: "empty" },
            ] as const) {
                expect(split(text, cuts, options), JSON.stringify({ sample, cuts, options })).to.deep.equal(
                    await readlineLines(text, options),
                );
            }
        }
    });
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
                MAX_FILE_BYTES: String(defaultMaxFileBytes),
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
        // A line of 1,048,560 bytes, within the line bound; its record is the line, a line break and a
        // 32-character partition key: 1,048,593 bytes, over Kinesis's 1,048,576.
        const big = `${bigPrefix}${"x".repeat(1_048_560 - bigPrefix.length - 2)}"}`;
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
            bytes: Buffer.byteLength(lines.join("\n")),
            lines: 10,
            records: 8,
            recordsPut: 4,
            badLineCount: 3,
            badLines: [
                { line: 4, reason: "invalid JSON: unexpected end of input; expected a property name in double quotes" },
                { line: 5, reason: 'field "item_count": expected an integer, got "abc"' },
                { line: 6, reason: 'field "event_time" is required' },
            ],
            oversize: [{ line: 7, bytes: 1_048_593 }],
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
                bytes: Buffer.byteLength(lines.join("\n")),
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
            bytes: 60,
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
        const key = "incoming/lost.jsonl";
        const landed = await land(key, event("e-1"));
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [{ itemIdentifier: "message-0" }] });
        const failure = "ResourceNotFoundException: Stream no-such-stream under account 123456789012 not found.";
        expect(logs).to.deep.equal([{ level: "error", message: `message failed: ${failure}`, messageId: "message-0" }]);
        expect(await reportOf(key)).to.deep.include({
            lines: 1,
            records: 1,
            recordsPut: 0,
            putRequests: 1,
            fileError: `reading failed and the message returns to the queue: ${failure}`,
        });
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

    /** A gzip file of `members` gzip members each holding `text` (Node gunzips members one after another), built without holding what it expands to. */
    function gzipMembers(text: string, members: number): Buffer {
        const member = gzipSync(text, { level: 9 });
        return Buffer.concat(Array.from({ length: members }, () => member));
    }

    it("rejects a gzip bomb of one line (1 MB gunzipping to 1 GiB, no line break) at the file bound, with its report", async () => {
        const { streamName, logs, handle } = await pipeline();
        const key = "incoming/bomb.jsonl.gz";
        // 1,024 members of 1 MiB of "x": 1 GiB once gunzipped, never held by the test or the handler.
        const bomb = gzipMembers("x".repeat(mebibyte), 1024);
        expect(bomb.length).to.be.below(1_100_000);
        const landed = await land(key, bomb);
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
        const fileError =
            `the file is larger than ${defaultMaxFileBytes} bytes once gunzipped, the most this stream reads of one file ` +
            "(fileSource.maxFileMiB); reading stopped in line 1, and the records before it were put on the stream";
        expect(await reportOf(key)).to.deep.equal({
            bucket: sourceBucket,
            key,
            versionId: landed.versionId,
            format: "jsonl+gzip",
            bytes: defaultMaxFileBytes,
            lines: 1,
            records: 1,
            recordsPut: 0,
            badLineCount: 0,
            badLines: [],
            oversize: [{ line: 1, bytes: defaultMaxFileBytes }],
            failed: [],
            putRequests: 0,
            retries: 0,
            fileError,
        });
        expect(await streamContents(kinesis, streamName)).to.deep.equal([]);
        expect(logs.map((entry) => [entry.level, entry.message])).to.deep.equal([["warn", `file rejected: ${fileError}`]]);
    });

    it("puts the records before the bound and names the line it stopped in (the bound scaled down through the settings)", async () => {
        const maxFileBytes = 2 * mebibyte;
        const { streamName, handle } = await pipeline({ maxFileBytes });
        const key = "incoming/too-big.ndjson.gz";
        const head = `${event("e-1")}\n${event("e-2")}\n`;
        const landed = await land(key, Buffer.concat([gzipSync(head), gzipMembers("y".repeat(mebibyte), 3)]));
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
        expect(await reportOf(key)).to.deep.include({
            bytes: maxFileBytes,
            lines: 3,
            records: 3,
            recordsPut: 2,
            oversize: [{ line: 3, bytes: maxFileBytes - head.length }],
            fileError:
                `the file is larger than ${maxFileBytes} bytes once gunzipped, the most this stream reads of one file ` +
                "(fileSource.maxFileMiB); reading stopped in line 3, and the records before it were put on the stream",
        });
        expect(await streamContents(kinesis, streamName)).to.deep.equal([`${event("e-1")}\n`, `${event("e-2")}\n`]);
    });

    it("rejects an uncompressed file over the bound by its size, reading nothing", async () => {
        const { handle } = await pipeline({ maxFileBytes: 100 });
        const key = "incoming/large.csv";
        const body = `event_id,event_time\n${"e-1,2026-11-23T09:00:00.000Z\n".repeat(4)}`;
        const landed = await land(key, body);
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
        expect(await reportOf(key)).to.deep.include({
            bytes: 0,
            lines: 0,
            records: 0,
            fileError: `the file is ${body.length} bytes, more than the 100 this stream reads of one file (fileSource.maxFileMiB); nothing was read`,
        });
    });

    const longLine = "z".repeat(2 * mebibyte);
    const longLines: [string, string, string | Buffer, Partial<FileReport>, string[]][] = [
        [
            "a JSON-lines file",
            "incoming/long-line.jsonl",
            [event("e-1"), "", longLine, event("e-2")].join("\n"),
            { lines: 4, records: 3, recordsPut: 2, badLineCount: 0, oversize: [{ line: 3, bytes: 2 * mebibyte }] },
            [`${event("e-1")}\n`, `${event("e-2")}\n`],
        ],
        [
            "a gzip CSV file",
            "incoming/long-line.csv.gz",
            gzipSync(["event_id,event_time", "e-1,2026-11-23T09:00:00.000Z", longLine, "e-2,2026-11-23T09:00:01.000Z"].join("\r\n")),
            { lines: 4, records: 3, recordsPut: 2, badLineCount: 0, oversize: [{ line: 3, bytes: 2 * mebibyte }] },
            [event("e-1"), '{"event_id":"e-2","event_time":"2026-11-23T09:00:01.000Z"}'].map((text) => `${text}\n`),
        ],
        [
            "a CSV file, inside a quoted field",
            "incoming/long-field.csv",
            ["event_id,event_time", '"e-1', longLine, 'e-1 end",2026-11-23T09:00:00.000Z', "e-2,2026-11-23T09:00:01.000Z"].join("\n"),
            {
                lines: 5,
                records: 3,
                recordsPut: 1,
                badLineCount: 2,
                badLines: [
                    { line: 2, reason: `a quoted field runs into line 3, which is over ${mebibyte} bytes (${2 * mebibyte} read)` },
                    { line: 4, reason: "cell 1 has a quote inside an unquoted value" },
                ],
                oversize: [],
            },
            ['{"event_id":"e-2","event_time":"2026-11-23T09:00:01.000Z"}\n'],
        ],
    ];
    for (const [name, key, body, expected, records] of longLines) {
        it(`rejects a line over the record limit in ${name} by its number, never holding it, and loads the rest`, async () => {
            const { streamName, handle } = await pipeline();
            const landed = await land(key, body);
            expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
            const report = await reportOf(key);
            expect(report).to.deep.include(expected);
            expect(report).not.to.have.property("fileError");
            expect(await streamContents(kinesis, streamName)).to.deep.equal(records);
        });
    }

    it("steps over 256 MiB of blank lines in bulk, counting them", async function () {
        // Read line by line this file took 225 s; in bulk it takes about what gunzipping it does.
        // A generous timeout, not a benchmark: a return to per-line cost fails it.
        this.timeout(60_000);
        const { streamName, handle } = await pipeline();
        const key = "incoming/blank.jsonl.gz";
        const forms = ["\n", "\r\n", "  \t\n"];
        const members = forms.map((form) => gzipSync(form.repeat(mebibyte / form.length), { level: 9 }));
        const landed = await land(
            key,
            Buffer.concat([...Array.from({ length: 256 }, (_, index) => members[index % 3]!), gzipSync(event("e-1"))]),
        );
        expect(await handle(sqsEvent(landed.body))).to.deep.equal({ batchItemFailures: [] });
        const linesPerMember = forms.map((form) => mebibyte / form.length);
        const blankLines = Array.from({ length: 256 }, (_, index) => linesPerMember[index % 3]!).reduce((sum, lines) => sum + lines, 0);
        expect(await reportOf(key)).to.deep.include({
            bytes: 256 * mebibyte + event("e-1").length,
            lines: blankLines + 1,
            records: 1,
            recordsPut: 1,
        });
        expect(await streamContents(kinesis, streamName)).to.deep.equal([`${event("e-1")}\n`]);
    });
});
