import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { streamSchemaDocumentSchema } from "../contracts/stream-schema";
import { readEventTime } from "../config/event-time";
import { loadStreams } from "../config/load";
import { parseStream, streamSchemaDocument, type Stream } from "../config/stream";
import { type ConfigError } from "../config/yaml-source";
import { configExample } from "./support/config-example";
import { useConfigRoot } from "./support/config-root";
import { repositoryRoot } from "./support/program";

const file = "config/streams/clickstream.yaml";
const { valid, problemsOf, variant } = configExample(file, parseStream);

describe("stream definitions", () => {
    it("accepts the example, with typed fields for the catalog", () => {
        const stream = parseStream(file, valid);
        expect(stream.typedFields.map((field) => [field.name, field.catalogType])).to.deep.equal([
            ["event_id", "string"],
            ["event_time", "timestamp"],
            ["event_type", "string"],
            ["user_id", "string"],
            ["session_id", "string"],
            ["page", "string"],
            ["amount", "decimal(12,2)"],
            ["item_count", "int"],
            ["product_id", "string"],
        ]);
        expect(stream.partitioning).to.deep.equal({ by: "event", granularity: "hour", keys: ["event_type"] });
        // Seed 002: a Parquet object at least every minute, crawled at :15 and :45, raw records kept 30 days.
        expect(stream.buffering).to.deep.equal({ sizeMiB: 64, intervalSeconds: 60 });
        expect(stream.partitions).to.deep.equal({ mode: "crawler", schedule: "cron(15,45 * * * ? *)" });
        expect(stream.rawBackup).to.deep.equal({ retentionDays: 30 });
        expect(stream.serdeTimestampFormat).to.equal("yyyy-MM-dd'T'HH:mm:ss.SSSZZ");
        expect(stream.timePartition).to.deep.equal({
            by: "event",
            column: "event_hour",
            query: '(.event_time[0:4] + "-" + .event_time[5:7] + "-" + .event_time[8:10] + "-" + .event_time[11:13])',
        });
        expect(stream.fileSource).to.deep.equal({ prefix: "incoming/" });
        expect(stream.warehouse).to.deep.equal({
            trigger: "on-delivery",
            schedule: "cron(0/15 * * * ? *)",
            snowflake: { externalId: "ACME_SFCRole=2_kT7yQ1mZ0bX9cV3nL5pR8sW2uE4=" },
        });
    });

    const readings: [string, "year" | "month" | "day" | "hour", string, string][] = [
        ["yyyy-MM-dd HH:mm:ss", "day", "yyyy-MM-dd HH:mm:ss", '(.t[0:4] + "-" + .t[5:7] + "-" + .t[8:10])'],
        ["dd/MM/yyyy'T'HH:mm:ssXX", "month", "dd/MM/yyyy'T'HH:mm:ssZ", '(.t[6:10] + "-" + .t[3:5])'],
        ["yyyyMMdd''HH", "hour", "yyyyMMdd''HH", '(.t[0:4] + "-" + .t[4:6] + "-" + .t[6:8] + "-" + .t[9:11])'],
        ["epoch-millis", "year", "millis", '(.t / 1000 | floor | strftime("%Y"))'],
    ];
    for (const [format, granularity, serdeFormat, partitionQuery] of readings) {
        it(`reads ${format} by ${granularity} as ${serdeFormat} and ${partitionQuery}`, () => {
            expect(readEventTime("t", format, granularity)).to.deep.equal({ ok: true, value: { serdeFormat, partitionQuery } });
        });
    }

    it("fills in seed 002's defaults: 60 s / 64 MiB buffer, crawler at :15 and :45, 30 days of raw backup, on-demand stream", () => {
        const stream = parseStream(
            "config/streams/minimal.yaml",
            "stream: minimal\nfields: [{ name: at, type: timestamp }]\neventTime: { field: at }\n",
        );
        expect({ ...stream, typedFields: undefined }).to.deep.equal({
            stream: "minimal",
            fields: [{ name: "at", type: "timestamp" }],
            eventTime: { field: "at", format: "epoch-millis" },
            partitioning: { by: "event", granularity: "hour", keys: [] },
            kinesis: { mode: "on-demand", retentionHours: 24 },
            buffering: { sizeMiB: 64, intervalSeconds: 60 },
            rawBackup: { retentionDays: 30 },
            errorPrefix: "errors/",
            partitions: { mode: "crawler", schedule: "cron(15,45 * * * ? *)" },
            typedFields: undefined,
            serdeTimestampFormat: "millis",
            timePartition: { by: "event", column: "event_hour", query: '(.at / 1000 | floor | strftime("%Y-%m-%d-%H"))' },
        });
    });

    const arrivals: [string, string, string, Stream["timePartition"]][] = [
        // The event time's pattern need not hold the hour: only the SerDe reads it.
        ["hour", `"yyyy-MM-dd"`, "yyyy-MM-dd", { by: "arrival", column: "arrival_hour", prefixExpression: "!{timestamp:yyyy-MM-dd-HH}" }],
        ["day", "epoch-millis", "millis", { by: "arrival", column: "arrival_day", prefixExpression: "!{timestamp:yyyy-MM-dd}" }],
        [
            "month",
            `"dd/MM/yyyy HH:mm"`,
            "dd/MM/yyyy HH:mm",
            { by: "arrival", column: "arrival_month", prefixExpression: "!{timestamp:yyyy-MM}" },
        ],
    ];
    for (const [granularity, format, serdeFormat, timePartition] of arrivals) {
        it(`partitions by arrival ${granularity} with the event time ${format} read only as a timestamp`, () => {
            const stream = parseStream(
                file,
                variant("granularity: hour", `granularity: ${granularity}\n  by: arrival`).replace(
                    `format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"`,
                    `format: ${format}`,
                ),
            );
            expect([stream.partitioning, stream.serdeTimestampFormat, stream.timePartition]).to.deep.equal([
                { by: "arrival", granularity, keys: ["event_type"] },
                serdeFormat,
                timePartition,
            ]);
        });
    }

    const cases: [string, string, string, string[]][] = [
        [
            "a buffer below Parquet conversion's minimum",
            "sizeMiB: 64",
            "sizeMiB: 32",
            [`${file}:19:14: buffering.sizeMiB: Firehose needs a buffer of at least 64 MiB to convert records to Parquet, not 32`],
        ],
        [
            "a buffer above Firehose's maximum",
            "sizeMiB: 64",
            "sizeMiB: 256",
            [`${file}:19:14: buffering.sizeMiB: Firehose buffers 1 to 128 MiB, not 256`],
        ],
        [
            "an interval above Firehose's maximum",
            "intervalSeconds: 60",
            "intervalSeconds: 1200",
            [`${file}:19:27: buffering.intervalSeconds: Firehose buffers 0 to 900 seconds, not 1200`],
        ],
        [
            "zero buffering, which dynamic partitioning does not allow",
            "intervalSeconds: 60",
            "intervalSeconds: 0",
            [
                `${file}:19:27: buffering.intervalSeconds: partitioning by event time uses Firehose dynamic partitioning, which needs a buffer interval of at least 60 seconds, not 0`,
            ],
        ],
        [
            "an unknown time source",
            "granularity: hour",
            "granularity: hour\n  by: ingestion",
            [`${file}:17:3: partitioning.by: Invalid option: expected one of "event"|"arrival"`],
        ],
        [
            "an unknown field type",
            "type: integer",
            "type: int32",
            [
                `${file}:12:25: fields[7].type: unknown type "int32"; expected one of string, integer, long, double, boolean, date, timestamp or decimal(precision,scale)`,
            ],
        ],
        [
            "a field declared twice",
            "name: page,",
            "name: user_id,",
            [`${file}:10:7: fields[5].name: field "user_id" is already declared at fields[3]`],
        ],
        [
            "an event time that is not a field",
            "field: event_time,",
            "field: occurred_at,",
            [`${file}:14:14: eventTime.field: "occurred_at" is not one of the declared fields`],
        ],
        [
            "an event time that is not a timestamp",
            "field: event_time,",
            "field: page,",
            [`${file}:14:14: eventTime.field: "page" is a string; the event time must be a timestamp field`],
        ],
        [
            "a bad event time pattern",
            `format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"`,
            `format: "yyyy-MM-ddTHH:mm"`,
            [
                `${file}:14:33: eventTime.format: pattern "yyyy-MM-ddTHH:mm" has 'T', which Firehose cannot parse; use yyyy MM dd HH mm ss S, XX or XXX, quoted literals and - : . / , or space; or use epoch-millis`,
            ],
        ],
        [
            "a partition key that is not a field",
            "keys: [event_type]",
            "keys: [channel]",
            [`${file}:17:10: partitioning.keys[0]: "channel" is not one of the declared fields`],
        ],
        [
            "the event time as a partition key",
            "keys: [event_type]",
            "keys: [event_time]",
            [`${file}:17:10: partitioning.keys[0]: "event_time" is the event time, which partitions by hour already`],
        ],
        [
            "a decimal partition key",
            "keys: [event_type]",
            "keys: [amount]",
            [
                `${file}:17:10: partitioning.keys[0]: "amount" is a decimal(12,2); partition keys must be string, integer, long or boolean fields`,
            ],
        ],
        [
            "a partition key listed twice",
            "keys: [event_type]",
            "keys: [event_type, event_type]",
            [`${file}:17:22: partitioning.keys[1]: "event_type" is listed twice`],
        ],
        [
            "an unknown granularity",
            "granularity: hour",
            "granularity: minute",
            [`${file}:16:3: partitioning.granularity: Invalid option: expected one of "year"|"month"|"day"|"hour"`],
        ],
        [
            "a provisioned stream without shards",
            "mode: on-demand,",
            "mode: provisioned,",
            [`${file}:18:1: kinesis: a provisioned stream needs shards: 1 or more`],
        ],
        [
            "shards on an on-demand stream",
            "mode: on-demand,",
            "mode: on-demand, shards: 4,",
            [`${file}:18:29: kinesis.shards: an on-demand stream scales by itself; remove shards or set mode: provisioned`],
        ],
        [
            "a raw backup kept for no days",
            "retentionDays: 30",
            "retentionDays: 0",
            [`${file}:20:14: rawBackup.retentionDays: Too small: expected number to be >=1`],
        ],
        [
            "an error prefix without a trailing slash",
            "errorPrefix: errors/",
            "errorPrefix: errors",
            [`${file}:21:1: errorPrefix: "errors" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`],
        ],
        [
            "a crawler schedule that is not cron",
            `schedule: "cron(15,45 * * * ? *)"`,
            `schedule: "every 30 minutes"`,
            [
                `${file}:22:30: partitions.schedule: "every 30 minutes" is not a schedule; expected cron(minutes hours day-of-month month day-of-week year)`,
            ],
        ],
        [
            "projection without the values of a key",
            `partitions: { mode: crawler, schedule: "cron(15,45 * * * ? *)" }`,
            `partitions: { mode: projection, since: "2026-01-01" }`,
            [`${file}:22:1: partitions.keyValues: partition projection needs the values of key "event_type"`],
        ],
        [
            "epoch seconds, which Firehose cannot parse",
            `format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"`,
            `format: epoch-seconds`,
            [
                `${file}:14:33: eventTime.format: pattern "epoch-seconds" has 'e', which Firehose cannot parse; use yyyy MM dd HH mm ss S, XX or XXX, quoted literals and - : . / , or space; or use epoch-millis`,
            ],
        ],
        [
            "an offset Firehose cannot parse",
            `format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"`,
            `format: "yyyy-MM-dd'T'HH:mm:ss.SSSX"`,
            [
                `${file}:14:33: eventTime.format: pattern "yyyy-MM-dd'T'HH:mm:ss.SSSX" has an offset Firehose cannot parse; use XX (+0100) or XXX (+01:00 or Z); or use epoch-millis`,
            ],
        ],
        [
            "an event time without the hour it is partitioned by",
            `format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"`,
            `format: "yyyy-MM-dd"`,
            [`${file}:14:33: eventTime.format: pattern "yyyy-MM-dd" has no 'H', which partitioning by hour needs; or use epoch-millis`],
        ],
        [
            "an event time whose hour follows the offset",
            `format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"`,
            `format: "yyyy-MM-ddXXX HH"`,
            [
                `${file}:14:33: eventTime.format: pattern "yyyy-MM-ddXXX HH" has 'H' after a field of varying width; put the offset last; or use epoch-millis`,
            ],
        ],
        [
            "a two-digit year",
            `format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"`,
            `format: "yy-MM-dd'T'HH"`,
            [`${file}:14:33: eventTime.format: pattern "yy-MM-dd'T'HH" has 'yy'; expected yyyy; or use epoch-millis`],
        ],
        [
            "a file source prefix that is absolute",
            "fileSource: { prefix: incoming/ }",
            "fileSource: { prefix: /incoming/ }",
            [`${file}:24:15: fileSource.prefix: "/incoming/" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`],
        ],
        [
            "a file source bound of no bytes",
            "fileSource: { prefix: incoming/ }",
            "fileSource: { prefix: incoming/, maxFileMiB: 0 }",
            [`${file}:24:34: fileSource.maxFileMiB: must be a whole number of MiB, at least 1`],
        ],
        [
            "a warehouse schedule that is not cron",
            `schedule: "cron(0/15 * * * ? *)"`,
            `schedule: "rate(15 minutes)"`,
            [
                `${file}:27:3: warehouse.schedule: "rate(15 minutes)" is not a schedule; expected cron(minutes hours day-of-month month day-of-week year)`,
            ],
        ],
        [
            "an empty Snowflake external id",
            `externalId: "ACME_SFCRole=2_kT7yQ1mZ0bX9cV3nL5pR8sW2uE4="`,
            `externalId: ""`,
            [`${file}:29:5: warehouse.snowflake.externalId: must not be empty`],
        ],
        [
            "a Snowflake user that is not an IAM user ARN",
            `externalId: "ACME_SFCRole=2_kT7yQ1mZ0bX9cV3nL5pR8sW2uE4="`,
            `externalId: "ACME_SFCRole=2_kT7yQ1mZ0bX9cV3nL5pR8sW2uE4="\n    iamUserArn: "arn:aws:iam::123456789012:role/snowflake"`,
            [`${file}:30:5: warehouse.snowflake.iamUserArn: must be an IAM user ARN, as DESC INTEGRATION shows it`],
        ],
        [
            "a notification channel that is not a queue",
            `externalId: "ACME_SFCRole=2_kT7yQ1mZ0bX9cV3nL5pR8sW2uE4="`,
            `externalId: "ACME_SFCRole=2_kT7yQ1mZ0bX9cV3nL5pR8sW2uE4="\n    notificationChannel: "arn:aws:sns:eu-west-1:123456789012:pipe"`,
            [`${file}:30:5: warehouse.snowflake.notificationChannel: must be an SQS queue ARN, as SHOW PIPES shows it`],
        ],
        [
            "a field named like the warehouse export's date column",
            "name: session_id,",
            "name: event_date,",
            [
                `${file}:9:7: fields[4].name: "event_date" is the date column the warehouse export adds (event_date=YYYY-MM-DD/ in the export); a field cannot share its name, so rename the field`,
            ],
        ],
        [
            "an unknown setting",
            "errorPrefix: errors/",
            "errorPrefix: errors/\nretries: 3",
            [`${file}:22:1: retries: unknown field "retries"`],
        ],
    ];
    for (const [label, search, replacement, expected] of cases) {
        it(`rejects ${label}`, () => {
            expect(problemsOf(variant(search, replacement))).to.deep.equal(expected);
        });
    }

    // By arrival (`by: arrival` inserted after line 16, so what follows moves a line down).
    const arrivalCases: [string, [string, string][], string[]][] = [
        [
            "30 s buffering with partition keys, which dynamic partitioning does not allow",
            [["intervalSeconds: 60", "intervalSeconds: 30"]],
            [
                `${file}:20:27: buffering.intervalSeconds: partitioning by keys uses Firehose dynamic partitioning, which needs a buffer interval of at least 60 seconds, not 30`,
            ],
        ],
        [
            "zero buffering without keys, which the raw backup does not allow",
            [
                ["keys: [event_type]", "keys: []"],
                ["intervalSeconds: 60", "intervalSeconds: 0"],
            ],
            [
                `${file}:20:27: buffering.intervalSeconds: Firehose's zero buffering is not available for an S3 backup, and every stream backs up its raw records; use 1 to 900 seconds`,
            ],
        ],
        [
            "a field named like the arrival partition column",
            [["name: session_id,", "name: arrival_hour,"]],
            [
                `${file}:9:7: fields[4].name: "arrival_hour" is the partition column that partitioning by arrival hour adds (arrival_hour=.../ in the lake); a field cannot share its name, so rename the field`,
            ],
        ],
        [
            "the event time as a partition key, a timestamp",
            [["keys: [event_type]", "keys: [event_time]"]],
            [
                `${file}:18:10: partitioning.keys[0]: "event_time" is a timestamp; partition keys must be string, integer, long or boolean fields`,
            ],
        ],
    ];
    for (const [label, replacements, expected] of arrivalCases) {
        it(`rejects by arrival ${label}`, () => {
            const text = replacements.reduce(
                (current, [search, replacement]) => current.replace(search, replacement),
                variant("granularity: hour", "granularity: hour\n  by: arrival"),
            );
            expect(problemsOf(text)).to.deep.equal(expected);
        });
    }

    it("rejects a definition in a file named after another stream", () => {
        expect(problemsOf(valid, "config/streams/clicks.yaml")).to.deep.equal([
            'config/streams/clicks.yaml:2:1: stream: stream "clickstream" must be defined in a file named clickstream.yaml',
        ]);
    });

    it("reports every problem at once, in file order", () => {
        const text = variant("sizeMiB: 64", "sizeMiB: 8").replace("keys: [event_type]", "keys: [channel]");
        expect(problemsOf(text)).to.deep.equal([
            `${file}:17:10: partitioning.keys[0]: "channel" is not one of the declared fields`,
            `${file}:19:14: buffering.sizeMiB: Firehose needs a buffer of at least 64 MiB to convert records to Parquet, not 8`,
        ]);
    });
});

describe("stream definitions by arrival, without an event time", () => {
    const pings = "test/fixtures/streams-arrival/pings.yaml";
    const example = configExample(pings, parseStream);
    const withoutEventTime = example.variant(`eventTime: { format: "yyyy-MM-dd HH:mm:ss" }\n`, "");
    /** The stream schema document the runtime reads; the Python export's tests read the same file. */
    const schemaDocument: unknown = JSON.parse(
        fs.readFileSync(path.join(repositoryRoot, "tests-py/fixtures/stream-schema-pings.json"), "utf8"),
    );

    it("parses a stream whose eventTime gives only the format of its timestamp fields", () => {
        const stream = parseStream(pings, example.valid);
        expect({ ...stream, typedFields: undefined }).to.deep.equal({
            stream: "pings",
            description: "Device heartbeats, filed by the hour Firehose received them",
            fields: [
                { name: "device_id", type: "string" },
                { name: "battery", type: "integer" },
                { name: "last_boot", type: "timestamp", description: "when the device last started, if it knows" },
            ],
            eventTime: { format: "yyyy-MM-dd HH:mm:ss" },
            partitioning: { by: "arrival", granularity: "hour", keys: [] },
            kinesis: { mode: "on-demand", retentionHours: 24 },
            buffering: { sizeMiB: 64, intervalSeconds: 60 },
            rawBackup: { retentionDays: 30 },
            errorPrefix: "errors/",
            partitions: { mode: "crawler", schedule: "cron(15,45 * * * ? *)" },
            typedFields: undefined,
            serdeTimestampFormat: "yyyy-MM-dd HH:mm:ss",
            timePartition: { by: "arrival", column: "arrival_hour", prefixExpression: "!{timestamp:yyyy-MM-dd-HH}" },
        });
        expect(streamSchemaDocument(stream)).to.deep.equal(schemaDocument);
        expect(Object.keys(streamSchemaDocument(stream).eventTime)).to.deep.equal(["format"]);
    });

    it("parses it with no eventTime at all: timestamps are epoch milliseconds", () => {
        const stream = parseStream(pings, withoutEventTime);
        expect([stream.eventTime, stream.serdeTimestampFormat, stream.timePartition]).to.deep.equal([
            { format: "epoch-millis" },
            "millis",
            { by: "arrival", column: "arrival_hour", prefixExpression: "!{timestamp:yyyy-MM-dd-HH}" },
        ]);
        expect(streamSchemaDocument(stream).eventTime).to.deep.equal({ format: "epoch-millis" });
    });

    it("keeps an event-time field a stream by arrival names, checked and handed to the runtime", () => {
        const stream = parseStream(pings, example.variant("eventTime: { format:", "eventTime: { field: last_boot, format:"));
        expect([stream.eventTime, streamSchemaDocument(stream).eventTime]).to.deep.equal([
            { field: "last_boot", format: "yyyy-MM-dd HH:mm:ss" },
            { field: "last_boot", format: "yyyy-MM-dd HH:mm:ss" },
        ]);
    });

    const required =
        "eventTime.field: partitioning by event time (partitioning.by: event, the default) needs the timestamp field that holds the event time; " +
        "name it, or set partitioning.by: arrival";
    const refusals: [string, string, string[]][] = [
        ["by event with eventTime.format only, at eventTime", example.variant("by: arrival", "by: event"), [`${pings}:9:1: ${required}`]],
        [
            "by event with no eventTime, at partitioning.by",
            withoutEventTime.replace("by: arrival", "by: event"),
            [`${pings}:9:17: ${required}`],
        ],
        [
            "by event by default with no eventTime, at the top",
            withoutEventTime.replace("partitioning: { by: arrival, granularity: hour }\n", ""),
            [`${pings}:3:1: ${required}`],
        ],
        [
            "by arrival with an event time that is not a timestamp",
            example.variant("eventTime: { format:", "eventTime: { field: battery, format:"),
            [`${pings}:9:14: eventTime.field: "battery" is a integer; the event time must be a timestamp field`],
        ],
    ];
    for (const [label, text, expected] of refusals) {
        it(`refuses ${label}`, () => {
            expect(example.problemsOf(text)).to.deep.equal(expected);
        });
    }
});

describe("loadStreams", () => {
    useConfigRoot();
    it("loads the streams a stack names", () => {
        expect(loadStreams(["clickstream"]).map((stream) => stream.stream)).to.deep.equal(["clickstream"]);
    });

    it("reports a missing file and the problems of every other file at once", () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), "streams-"));
        fs.writeFileSync(path.join(directory, "clickstream.yaml"), valid.replace("sizeMiB: 64", "sizeMiB: 8"));
        const relative = path.relative(repositoryRoot, directory);
        try {
            loadStreams(["orders", "clickstream"], directory);
            expect.fail("loadStreams accepted a missing stream");
        } catch (error) {
            expect((error as ConfigError).problems).to.deep.equal([
                `${relative}/orders.yaml: stream "orders" does not exist; the stack's ingestion:streams names it`,
                `${relative}/clickstream.yaml:19:14: buffering.sizeMiB: Firehose needs a buffer of at least 64 MiB to convert records to Parquet, not 8`,
            ]);
        }
    });
});

describe("stream schema documents (contracts/stream-schema.ts)", () => {
    const pings = "test/fixtures/streams-arrival/pings.yaml";
    const documents: [string, Stream][] = [
        ["the example stream", parseStream(file, valid)],
        ["the stream by arrival", parseStream(pings, fs.readFileSync(path.join(repositoryRoot, pings), "utf8"))],
    ];
    for (const [name, stream] of documents) {
        it(`what the deploy side writes for ${name} is a document the contract accepts, unchanged`, () => {
            const document = streamSchemaDocument(stream);
            expect(streamSchemaDocumentSchema.parse(document)).to.deep.equal(document);
        });
    }
});
