import {
    BatchWriteItemCommand,
    CreateTableCommand,
    DynamoDBClient,
    PutItemCommand,
    type AttributeValue,
    type BatchGetItemCommandInput,
    type BatchGetItemCommandOutput,
} from "@aws-sdk/client-dynamodb";
import {
    CreateDeliveryStreamCommand,
    FirehoseClient,
    type PutRecordBatchCommandInput,
    type PutRecordBatchCommandOutput,
} from "@aws-sdk/client-firehose";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { createHandler, handler, settingsFromEnvironment, type FilterResult, type FilterSettings } from "../lambdas/event-filter/handler";
import { canonicalNumber, readRecord, type EventShape } from "../lambdas/event-filter/records";
import { stdoutLog, type LogEntry } from "../lambdas/shared/runtime";
import { kinesisEvent, sequenceNumber } from "./support/kinesis-events";
import { failRecords, interceptCommand, type RecordFault } from "./support/intercept";
import { useMotoServer } from "./support/moto";

const fixedNow = new Date("2026-11-23T10:00:00Z");
const nowSeconds = fixedNow.getTime() / 1000;
/** Half an hour before `fixedNow`: objects are filed under the hour the events arrived, 09. */
const arrivedAt = nowSeconds - 30 * 60;

describe("event filter: settings", () => {
    const good: [string, NodeJS.ProcessEnv, FilterSettings][] = [
        [
            "a string key with a TTL, to Firehose",
            {
                LOOKUP_TABLE: "customers",
                KEY_ATTRIBUTE: "customer_id",
                KEY_TYPE: "S",
                EVENT_KEY_FIELD: "customer",
                TTL_ATTRIBUTE: "expires_at",
                DESTINATION: "firehose:ingest-dev-matched_v1.0",
            },
            {
                table: { name: "customers", keyAttribute: "customer_id", keyType: "S", ttlAttribute: "expires_at" },
                eventKeyField: "customer",
                destination: { kind: "firehose", deliveryStream: "ingest-dev-matched_v1.0" },
            },
        ],
        [
            "a number key without a TTL, to an S3 prefix",
            {
                LOOKUP_TABLE: "accounts",
                KEY_ATTRIBUTE: "account_id",
                KEY_TYPE: "N",
                EVENT_KEY_FIELD: "account",
                DESTINATION: "s3://ingest-dev-filtered/events/accounts/",
            },
            {
                table: { name: "accounts", keyAttribute: "account_id", keyType: "N" },
                eventKeyField: "account",
                destination: { kind: "s3", bucket: "ingest-dev-filtered", prefix: "events/accounts/" },
            },
        ],
        [
            "an empty TTL_ATTRIBUTE, to the top of a bucket",
            {
                LOOKUP_TABLE: "accounts",
                KEY_ATTRIBUTE: "account_id",
                KEY_TYPE: "N",
                EVENT_KEY_FIELD: "account",
                TTL_ATTRIBUTE: "",
                DESTINATION: "s3://filtered.example-1/",
            },
            {
                table: { name: "accounts", keyAttribute: "account_id", keyType: "N" },
                eventKeyField: "account",
                destination: { kind: "s3", bucket: "filtered.example-1", prefix: "" },
            },
        ],
    ];
    for (const [name, environment, settings] of good) {
        it(`reads ${name}`, () => {
            expect(settingsFromEnvironment(environment)).to.deep.equal(settings);
        });
    }

    const base = { LOOKUP_TABLE: "customers", KEY_ATTRIBUTE: "customer_id", KEY_TYPE: "S", EVENT_KEY_FIELD: "customer" };
    const bad: [NodeJS.ProcessEnv, string][] = [
        [{}, "the event filter's environment lacks LOOKUP_TABLE, KEY_ATTRIBUTE, KEY_TYPE, EVENT_KEY_FIELD, DESTINATION"],
        [{ ...base, KEY_TYPE: "B", DESTINATION: "" }, `the event filter's environment lacks DESTINATION; KEY_TYPE must be S or N, not "B"`],
        [
            { ...base, TTL_ATTRIBUTE: "customer_id", DESTINATION: "kinesis:other" },
            'TTL_ATTRIBUTE and KEY_ATTRIBUTE are both "customer_id"; the key cannot hold the expiry time; ' +
                'DESTINATION must be firehose:<delivery stream name> or s3://<bucket>/<prefix/>, not "kinesis:other"',
        ],
        [
            { ...base, DESTINATION: "firehose:" },
            'DESTINATION names delivery stream ""; a name is 1 to 64 letters, digits, underscores, periods and hyphens',
        ],
        [
            { ...base, DESTINATION: "firehose:matched events" },
            'DESTINATION names delivery stream "matched events"; a name is 1 to 64 letters, digits, underscores, periods and hyphens',
        ],
        [
            { ...base, DESTINATION: `firehose:${"f".repeat(65)}` },
            `DESTINATION names delivery stream "${"f".repeat(65)}"; a name is 1 to 64 letters, digits, underscores, periods and hyphens`,
        ],
        [
            { ...base, DESTINATION: "s3://filtered" },
            'DESTINATION "s3://filtered" has no prefix; write s3://<bucket>/ for the top of the bucket',
        ],
        [
            { ...base, DESTINATION: "s3://Filtered_Events/raw/" },
            'DESTINATION names bucket "Filtered_Events", which is not a valid S3 bucket name',
        ],
        [
            { ...base, DESTINATION: "s3://filtered..events/raw/" },
            'DESTINATION names bucket "filtered..events", which is not a valid S3 bucket name',
        ],
        [{ ...base, DESTINATION: "s3://filtered/raw" }, `DESTINATION's prefix "raw" must end with "/"`],
        [{ ...base, DESTINATION: "s3://filtered/raw//events/" }, `DESTINATION's prefix "raw//events/" has an empty path segment`],
        [{ ...base, DESTINATION: "s3://filtered//" }, `DESTINATION's prefix "/" has an empty path segment`],
    ];
    for (const [environment, message] of bad) {
        it(`refuses ${JSON.stringify(environment)}`, () => {
            expect(() => settingsFromEnvironment(environment)).to.throw(message);
        });
    }
});

describe("event filter: entry point and log", () => {
    const names = ["LOOKUP_TABLE", "KEY_ATTRIBUTE", "KEY_TYPE", "EVENT_KEY_FIELD", "TTL_ATTRIBUTE", "DESTINATION"];

    it("the Lambda entry point reads its settings on the first event, and fails naming what is missing", async () => {
        const saved = names.map((name) => [name, process.env[name]] as const);
        names.forEach((name) => delete process.env[name]);
        try {
            let thrown: unknown;
            try {
                await handler({ Records: [] });
            } catch (error) {
                thrown = error;
            }
            expect((thrown as Error).message).to.equal(
                "the event filter's environment lacks LOOKUP_TABLE, KEY_ATTRIBUTE, KEY_TYPE, EVENT_KEY_FIELD, DESTINATION",
            );
        } finally {
            for (const [name, value] of saved) {
                if (value !== undefined) {
                    process.env[name] = value;
                }
            }
        }
    });

    it("writes each entry to stdout as one JSON line, past the runtime's console", () => {
        const written: unknown[] = [];
        const write = process.stdout.write.bind(process.stdout);
        process.stdout.write = (chunk: unknown) => written.push(chunk) > 0;
        try {
            stdoutLog({ level: "info", message: "event filter batch", Table: "customers", received: 2 });
        } finally {
            process.stdout.write = write;
        }
        expect(written).to.deep.equal(['{"level":"info","message":"event filter batch","Table":"customers","received":2}\n']);
    });
});

describe("event filter: reading records", () => {
    const canonical: [string, string | undefined][] = [
        ["15", "15"],
        ["1.50e1", "15"],
        ["150E-1", "15"],
        ["-0.0", "0"],
        ["0", "0"],
        ["0.000120", "0.00012"],
        ["-12.340", "-12.34"],
        ["1e3", "1000"],
        ["007", "7"],
        ["12345678901234567890123456789012345678", "12345678901234567890123456789012345678"],
        ["123456789012345678901234567890123456789", undefined],
        ["1234567890123456789012345678901234567800", "1234567890123456789012345678901234567800"],
        ["9.9999999999999999999999999999999999999E+125", `99999999999999999999999999999999999999${"0".repeat(88)}`],
        ["1E+126", undefined],
        ["1E-130", `0.${"0".repeat(129)}1`],
        ["1E-131", undefined],
        ["", undefined],
        [".", undefined],
        ["1e", undefined],
    ];
    for (const [text, expected] of canonical) {
        it(`a number key "${text}" is ${expected === undefined ? "refused" : `"${expected.length > 40 ? `${expected.slice(0, 20)}...` : expected}"`}`, () => {
            expect(canonicalNumber(text)).to.equal(expected);
        });
    }

    const stringKeys: EventShape = { keyField: "customer", keyType: "S" };
    const numberKeys: EventShape = { keyField: "account", keyType: "N" };
    const firehoseSized: EventShape = { ...stringKeys, maximumLineBytes: 40 };
    const records: [string, EventShape, string | Uint8Array, { key: string; text: string } | string][] = [
        ["a string key", stringKeys, '{"customer":"c-1","amount":12.50}', { key: "c-1", text: '{"customer":"c-1","amount":12.50}' }],
        ["a trailing line break", stringKeys, '{"customer":"c-1"}\n', { key: "c-1", text: '{"customer":"c-1"}' }],
        ["a trailing CRLF", stringKeys, '{"customer":"c-1"}\r\n', { key: "c-1", text: '{"customer":"c-1"}' }],
        ["a number key", numberKeys, '{"account":2.50e0}', { key: "2.5", text: '{"account":2.50e0}' }],
        [
            "a line that just fits",
            firehoseSized,
            `{"customer":"c-1","pad":"${"x".repeat(12)}"}`,
            { key: "c-1", text: `{"customer":"c-1","pad":"${"x".repeat(12)}"}` },
        ],
        [
            "a line too long for Firehose",
            firehoseSized,
            `{"customer":"c-1","pad":"${"x".repeat(13)}"}`,
            "the event is 41 bytes with its line break; the destination takes at most 40",
        ],
        ["text that is not JSON", stringKeys, '{"customer":"c-1"', 'the record is not JSON: unexpected end of input; expected ","'],
        ["two JSON texts", stringKeys, '{"customer":"c-1"}\n{"customer":"c-2"}', 'the record is not JSON: unexpected "{" at column 20'],
        ["bytes that are not UTF-8", stringKeys, Uint8Array.from([0x7b, 0xff, 0x7d]), "the record is not UTF-8 text"],
        ["an array", stringKeys, '[{"customer":"c-1"}]', "the event is not a JSON object"],
        ["no key", stringKeys, '{"client":"c-1"}', 'the event has no "customer"'],
        ["a null key", stringKeys, '{"customer":null}', '"customer" is not a string'],
        ["a number for a string key", stringKeys, '{"customer":42}', '"customer" is not a string'],
        ["an empty key", stringKeys, '{"customer":""}', '"customer" is empty'],
        ["a lone surrogate", stringKeys, '{"customer":"c-\\ud800"}', '"customer" is not valid Unicode'],
        [
            "a key over 2048 bytes",
            stringKeys,
            `{"customer":"${"é".repeat(1025)}"}`,
            '"customer" is 2050 bytes; a DynamoDB key is at most 2048',
        ],
        ["a string for a number key", numberKeys, '{"account":"1"}', '"account" is not a number'],
        [
            "a number DynamoDB cannot hold",
            numberKeys,
            '{"account":1e200}',
            '"account" is 1e200; DynamoDB numbers have at most 38 digits, from 1E-130 to 1E+126',
        ],
    ];
    for (const [name, shape, data, expected] of records) {
        it(`reads ${name}`, () => {
            const [record] = kinesisEvent([data], { first: 7, arrivedAt }).Records;
            const sequence = sequenceNumber(7);
            expect(readRecord(record!, shape)).to.deep.equal(
                typeof expected === "string"
                    ? { ok: false, sequenceNumber: sequence, reason: expected }
                    : { ok: true, event: { sequenceNumber: sequence, arrivedAt, ...expected } },
            );
        });
    }
});

const customersTable = "customers";
const accountsTable = "accounts";
const bucket = "ingest-dev-filtered";
const deliveryStream = "ingest-dev-matched";

describe("event filter", function () {
    const moto = useMotoServer();
    let dynamodb: DynamoDBClient;
    let firehose: FirehoseClient;
    let s3: S3Client;
    let prefixes = 0;

    before(async () => {
        dynamodb = new DynamoDBClient({ ...moto.clientConfig, maxAttempts: 1 });
        firehose = new FirehoseClient({ ...moto.clientConfig, maxAttempts: 1 });
        s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await dynamodb.send(
            new CreateTableCommand({
                TableName: customersTable,
                AttributeDefinitions: [{ AttributeName: "customer_id", AttributeType: "S" }],
                KeySchema: [{ AttributeName: "customer_id", KeyType: "HASH" }],
                BillingMode: "PAY_PER_REQUEST",
            }),
        );
        const items: Record<string, AttributeValue>[] = [
            { customer_id: { S: "c-1" }, name: { S: "Ada" } },
            { customer_id: { S: "c-2" }, name: { S: "Grace" }, expires_at: { N: String(nowSeconds + 3600) } },
            // Past its TTL but not yet deleted, as DynamoDB leaves expired items for a while.
            { customer_id: { S: "c-3" }, name: { S: "Edsger" }, expires_at: { N: String(nowSeconds - 60) } },
            // DynamoDB's TTL ignores a value that is not a number: the item never expires.
            { customer_id: { S: "c-4" }, name: { S: "Barbara" }, expires_at: { S: "2020-01-01" } },
            ...Array.from({ length: 250 }, (_, index) => ({ customer_id: { S: bulkKey(index) } })),
        ];
        for (let start = 0; start < items.length; start += 25) {
            await dynamodb.send(
                new BatchWriteItemCommand({
                    RequestItems: { [customersTable]: items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } })) },
                }),
            );
        }
        await dynamodb.send(
            new CreateTableCommand({
                TableName: accountsTable,
                AttributeDefinitions: [{ AttributeName: "account_id", AttributeType: "N" }],
                KeySchema: [{ AttributeName: "account_id", KeyType: "HASH" }],
                BillingMode: "PAY_PER_REQUEST",
            }),
        );
        for (const id of ["1", "2.5", "12345678901234567890123456789012345678"]) {
            await dynamodb.send(new PutItemCommand({ TableName: accountsTable, Item: { account_id: { N: id } } }));
        }
        await firehose.send(
            new CreateDeliveryStreamCommand({
                DeliveryStreamName: deliveryStream,
                DeliveryStreamType: "DirectPut",
                ExtendedS3DestinationConfiguration: {
                    RoleARN: "arn:aws:iam::123456789012:role/ingest-dev-firehose",
                    BucketARN: `arn:aws:s3:::${bucket}`,
                    Prefix: "firehose/",
                },
            }),
        );
    });

    function bulkKey(index: number): string {
        return `k-${String(index).padStart(3, "0")}`;
    }

    /** A fresh S3 prefix per test, so each reads back only its own objects. */
    function s3Destination(): string {
        prefixes += 1;
        return `s3://${bucket}/filtered/run-${prefixes}/`;
    }

    function filter(environment: Record<string, string>, options: { maxAttempts?: number } = {}) {
        const logs: LogEntry[] = [];
        const sleeps: number[] = [];
        const settings = settingsFromEnvironment({
            LOOKUP_TABLE: customersTable,
            KEY_ATTRIBUTE: "customer_id",
            KEY_TYPE: "S",
            EVENT_KEY_FIELD: "customer",
            TTL_ATTRIBUTE: "expires_at",
            ...environment,
        });
        const handle = createHandler({
            dynamodb,
            firehose,
            s3,
            settings,
            now: () => fixedNow,
            sleep: (milliseconds) => {
                sleeps.push(milliseconds);
                return Promise.resolve();
            },
            log: (entry) => logs.push(entry),
            retry: { maxAttempts: options.maxAttempts ?? 5, baseDelayMs: 100, random: () => 0.5 },
        });
        return { handle, logs, sleeps };
    }

    async function objectsUnder(prefix: string): Promise<Map<string, string>> {
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
        const objects = new Map<string, string>();
        for (const { Key } of listed.Contents ?? []) {
            const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
            objects.set(Key!, await object.Body!.transformToString("utf8"));
        }
        return objects;
    }

    async function failure(promise: Promise<unknown>): Promise<Error> {
        try {
            await promise;
        } catch (error) {
            return error as Error;
        }
        throw new Error("expected the handler to fail");
    }

    function metricsLine(fields: string): string {
        return (
            '{"level":"info","message":"event filter batch","_aws":{"Timestamp":1795428000000,"CloudWatchMetrics":[{"Namespace":"Ingestion/EventFilter",' +
            '"Dimensions":[["Table"]],"Metrics":[{"Name":"received","Unit":"Count"},{"Name":"matched","Unit":"Count"},{"Name":"dropped","Unit":"Count"},' +
            '{"Name":"expired","Unit":"Count"},{"Name":"malformed","Unit":"Count"},{"Name":"forwarded","Unit":"Count"}]}]},' +
            fields +
            "}"
        );
    }

    const mixedBatch = [
        '{"customer":"c-1","action":"view","amount":12.50}',
        '{"customer":"x-9","action":"view"}',
        '{"customer":"c-1"',
        '{"customer":"c-2","action":"buy"}\n',
        '{"customer":"c-3","action":"view"}',
        '{"customer":"c-1","action":"leave"}',
        '{"customer":42}',
        '[{"customer":"c-1"}]',
        '{"action":"view"}',
        '{"customer":""}',
        '{"customer":"c-4","action":"view"}',
        '{"customer":"x-8"}',
        '{"customer":"c-3","again":true}',
    ];
    const mixedCounts = { received: 13, matched: 4, dropped: 4, expired: 2, malformed: 5, forwarded: 4 };
    const mixedForwarded =
        '{"customer":"c-1","action":"view","amount":12.50}\n' +
        '{"customer":"c-2","action":"buy"}\n' +
        '{"customer":"c-1","action":"leave"}\n' +
        '{"customer":"c-4","action":"view"}\n';
    const mixedMalformed: LogEntry = {
        level: "warn",
        message: "malformed records dropped",
        count: 5,
        records: [
            { sequenceNumber: sequenceNumber(3), reason: 'the record is not JSON: unexpected end of input; expected ","' },
            { sequenceNumber: sequenceNumber(7), reason: '"customer" is not a string' },
            { sequenceNumber: sequenceNumber(8), reason: "the event is not a JSON object" },
            { sequenceNumber: sequenceNumber(9), reason: 'the event has no "customer"' },
            { sequenceNumber: sequenceNumber(10), reason: '"customer" is empty' },
        ],
    };

    it("forwards the matching events to one S3 object named after them, and counts the rest", async () => {
        const destination = s3Destination();
        const { handle, logs, sleeps } = filter({ DESTINATION: destination });
        const result = await handle(kinesisEvent(mixedBatch, { arrivedAt }));
        expect(result).to.deep.equal({ batchItemFailures: [], counts: mixedCounts });
        const key = `filtered/run-${prefixes}/2026/11/23/09/${sequenceNumber(1)}-${sequenceNumber(11)}.jsonl`;
        expect(await objectsUnder(`filtered/run-${prefixes}/`)).to.deep.equal(new Map([[key, mixedForwarded]]));
        expect(logs).to.have.length(2);
        expect(logs[0]).to.deep.equal(mixedMalformed);
        expect(JSON.stringify(logs[1])).to.equal(
            metricsLine(
                '"Table":"customers","received":13,"matched":4,"dropped":4,"expired":2,"malformed":5,"forwarded":4,' +
                    `"destination":"s3://${bucket}/${key}","lookupRequests":1,"forwardRequests":1,"retries":0`,
            ),
        );
        expect(sleeps).to.deep.equal([]);
    });

    it("writes a retried batch to the same object again rather than to a second one", async () => {
        const destination = s3Destination();
        const { handle } = filter({ DESTINATION: destination });
        const event = kinesisEvent(mixedBatch, { first: 40, arrivedAt });
        await handle(event);
        await handle(event);
        const key = `filtered/run-${prefixes}/2026/11/23/09/${sequenceNumber(40)}-${sequenceNumber(50)}.jsonl`;
        expect(await objectsUnder(`filtered/run-${prefixes}/`)).to.deep.equal(new Map([[key, mixedForwarded]]));
    });

    it("writes no object when nothing matches", async () => {
        const destination = s3Destination();
        const { handle, logs } = filter({ DESTINATION: destination });
        const result = await handle(kinesisEvent(['{"customer":"x-1"}', '{"customer":"c-3"}', "null"], { arrivedAt }));
        expect(result).to.deep.equal({
            batchItemFailures: [],
            counts: { received: 3, matched: 0, dropped: 2, expired: 1, malformed: 1, forwarded: 0 },
        });
        expect(await objectsUnder(`filtered/run-${prefixes}/`)).to.deep.equal(new Map());
        expect(logs[1]).to.include({ destination, lookupRequests: 1, forwardRequests: 0 });
    });

    it("logs the reasons of the first ten malformed records and counts them all", async () => {
        const { handle, logs } = filter({ DESTINATION: s3Destination() });
        const result = await handle(
            kinesisEvent(
                Array.from({ length: 12 }, (_, index) => `{"customer":${index}}`),
                { arrivedAt },
            ),
        );
        expect(result.counts).to.deep.equal({ received: 12, matched: 0, dropped: 0, expired: 0, malformed: 12, forwarded: 0 });
        expect(logs[0]).to.deep.equal({
            level: "warn",
            message: "malformed records dropped",
            count: 12,
            records: Array.from({ length: 10 }, (_, index) => ({
                sequenceNumber: sequenceNumber(index + 1),
                reason: '"customer" is not a string',
            })),
        });
        expect(logs[1]).to.include({ malformed: 12, lookupRequests: 0, forwardRequests: 0 });
    });

    it("counts an empty batch without calling DynamoDB", async () => {
        const { handle, logs } = filter({ DESTINATION: s3Destination() });
        const calls = interceptBatchGetItem(dynamodb, {});
        try {
            expect(await handle({ Records: [] })).to.deep.equal({
                batchItemFailures: [],
                counts: { received: 0, matched: 0, dropped: 0, expired: 0, malformed: 0, forwarded: 0 },
            });
            expect(calls.inputs).to.deep.equal([]);
        } finally {
            calls.remove();
        }
        expect(logs).to.have.length(1);
    });

    it("looks up 250 distinct keys in three requests and forwards 600 events to Firehose in two calls", async () => {
        const texts = Array.from({ length: 600 }, (_, index) => `{"customer":"${bulkKey(index % 250)}","n":${index}}`);
        const { handle, logs } = filter({ DESTINATION: `firehose:${deliveryStream}` });
        const lookups = interceptBatchGetItem(dynamodb, {});
        const puts = interceptPutRecordBatch(firehose, {});
        let result: FilterResult;
        try {
            result = await handle(kinesisEvent(texts, { arrivedAt }));
        } finally {
            lookups.remove();
            puts.remove();
        }
        expect(result.counts).to.deep.equal({ received: 600, matched: 600, dropped: 0, expired: 0, malformed: 0, forwarded: 600 });
        expect(lookups.inputs.map((input) => input.RequestItems?.[customersTable]?.Keys?.length)).to.deep.equal([100, 100, 50]);
        const requested = lookups.inputs.flatMap((input) => input.RequestItems![customersTable]!.Keys!.map((key) => key.customer_id!.S));
        expect(requested).to.deep.equal(Array.from({ length: 250 }, (_, index) => bulkKey(index)));
        for (const input of lookups.inputs) {
            const { ProjectionExpression, ExpressionAttributeNames, ConsistentRead } = input.RequestItems![customersTable]!;
            expect({ ProjectionExpression, ExpressionAttributeNames, ConsistentRead }).to.deep.equal({
                ProjectionExpression: "#key, #ttl",
                ExpressionAttributeNames: { "#key": "customer_id", "#ttl": "expires_at" },
                ConsistentRead: false,
            });
        }
        expect(puts.inputs.map((input) => [input.DeliveryStreamName, input.Records?.length])).to.deep.equal([
            [deliveryStream, 500],
            [deliveryStream, 100],
        ]);
        // Moto's Firehose writes each PutRecordBatch call's records to one object, in order.
        const delivered = [...(await objectsUnder("firehose/")).values()].sort((a, b) => b.length - a.length);
        const lines = texts.map((text) => `${text}\n`);
        expect(delivered).to.deep.equal([lines.slice(0, 500).join(""), lines.slice(500).join("")]);
        expect(logs[0]).to.include({ destination: `firehose:${deliveryStream}`, lookupRequests: 3, forwardRequests: 2, retries: 0 });
    });

    it("asks again, after a full-jitter wait, for the keys BatchGetItem left unprocessed", async () => {
        const { handle, logs, sleeps } = filter({ DESTINATION: s3Destination() });
        const lookups = interceptBatchGetItem(dynamodb, { holdBack: (request) => (request === 1 ? 2 : 0) });
        let result: FilterResult;
        try {
            result = await handle(kinesisEvent(mixedBatch, { arrivedAt }));
        } finally {
            lookups.remove();
        }
        expect(result.counts).to.deep.equal(mixedCounts);
        const keys = lookups.inputs.map((input) => input.RequestItems![customersTable]!.Keys!.map((key) => key.customer_id!.S));
        expect(keys).to.deep.equal([
            ["c-1", "x-9", "c-2", "c-3", "c-4", "x-8"],
            ["c-4", "x-8"],
        ]);
        expect(sleeps).to.deep.equal([50]);
        expect(logs[1]).to.include({ lookupRequests: 2, retries: 1 });
    });

    it("retries a BatchGetItem refused for throttling", async () => {
        const { handle, logs, sleeps } = filter({ DESTINATION: s3Destination() });
        const lookups = interceptBatchGetItem(dynamodb, {
            requestFault: (request) => (request <= 2 ? throttled("ProvisionedThroughputExceededException") : undefined),
        });
        let result: FilterResult;
        try {
            result = await handle(kinesisEvent(mixedBatch, { arrivedAt }));
        } finally {
            lookups.remove();
        }
        expect(result.counts).to.deep.equal(mixedCounts);
        expect(lookups.inputs).to.have.length(3);
        expect(sleeps).to.deep.equal([50, 100]);
        expect(logs[1]).to.include({ lookupRequests: 3, retries: 2 });
    });

    it("fails the batch when keys are still unprocessed after the last attempt, forwarding nothing", async () => {
        const destination = s3Destination();
        const { handle, logs, sleeps } = filter({ DESTINATION: destination }, { maxAttempts: 3 });
        const lookups = interceptBatchGetItem(dynamodb, { holdBack: () => 1 });
        let error: Error;
        try {
            error = await failure(handle(kinesisEvent(mixedBatch, { arrivedAt })));
        } finally {
            lookups.remove();
        }
        expect(error.name).to.equal("LookupError");
        expect(error.message).to.equal("BatchGetItem on customers left 1 keys unprocessed after 3 attempts");
        expect(lookups.inputs).to.have.length(3);
        expect(sleeps).to.deep.equal([50, 100]);
        expect(await objectsUnder(`filtered/run-${prefixes}/`)).to.deep.equal(new Map());
        expect(logs).to.deep.equal([mixedMalformed]);
    });

    it("fails the batch when throttling outlasts the attempts", async () => {
        const { handle, sleeps } = filter({ DESTINATION: s3Destination() }, { maxAttempts: 2 });
        const lookups = interceptBatchGetItem(dynamodb, { requestFault: () => throttled("RequestLimitExceeded") });
        let error: Error;
        try {
            error = await failure(handle(kinesisEvent(mixedBatch, { arrivedAt })));
        } finally {
            lookups.remove();
        }
        expect([error.name, error.message]).to.deep.equal(["RequestLimitExceeded", "RequestLimitExceeded: slow down"]);
        expect(sleeps).to.deep.equal([50]);
    });

    it("fails at once on an error that will not clear up", async () => {
        const { handle, sleeps } = filter({ DESTINATION: s3Destination(), LOOKUP_TABLE: "no-such-table" });
        const error = await failure(handle(kinesisEvent(mixedBatch, { arrivedAt })));
        expect(error.name).to.equal("ResourceNotFoundException");
        expect(sleeps).to.deep.equal([]);
    });

    it("finds a number key however the event spells it, and forwards the event's own text", async () => {
        const destination = s3Destination();
        const { handle, logs } = filter({
            DESTINATION: destination,
            LOOKUP_TABLE: accountsTable,
            KEY_ATTRIBUTE: "account_id",
            KEY_TYPE: "N",
            EVENT_KEY_FIELD: "account",
            TTL_ATTRIBUTE: "",
        });
        const lookups = interceptBatchGetItem(dynamodb, {});
        let result: FilterResult;
        const batch = [
            '{"account":1,"v":1}',
            '{"account":1.0,"v":2}',
            '{"account":"1","v":3}',
            '{"account":25e-1,"v":4.10}',
            '{"account":3,"v":5}',
            '{"account":12345678901234567890123456789012345678,"v":6}',
            '{"account":1e200,"v":7}',
        ];
        try {
            result = await handle(kinesisEvent(batch, { first: 100, arrivedAt }));
        } finally {
            lookups.remove();
        }
        expect(result.counts).to.deep.equal({ received: 7, matched: 4, dropped: 1, expired: 0, malformed: 2, forwarded: 4 });
        expect(lookups.inputs.map((input) => input.RequestItems![accountsTable])).to.deep.equal([
            {
                Keys: ["1", "2.5", "3", "12345678901234567890123456789012345678"].map((id) => ({ account_id: { N: id } })),
                ProjectionExpression: "#key",
                ExpressionAttributeNames: { "#key": "account_id" },
                ConsistentRead: false,
            },
        ]);
        const key = `filtered/run-${prefixes}/2026/11/23/09/${sequenceNumber(100)}-${sequenceNumber(105)}.jsonl`;
        expect(await objectsUnder(`filtered/run-${prefixes}/`)).to.deep.equal(
            new Map([[key, [batch[0], batch[1], batch[3], batch[5]].map((text) => `${text}\n`).join("")]]),
        );
        expect(JSON.stringify(logs[1])).to.equal(
            metricsLine(
                '"Table":"accounts","received":7,"matched":4,"dropped":1,"expired":0,"malformed":2,"forwarded":4,' +
                    `"destination":"s3://${bucket}/${key}","lookupRequests":1,"forwardRequests":1,"retries":0`,
            ),
        );
    });

    it("sends again the records Firehose refused", async () => {
        const { handle, logs, sleeps } = filter({ DESTINATION: `firehose:${deliveryStream}` });
        const before = new Set((await objectsUnder("firehose/")).keys());
        const puts = interceptPutRecordBatch(firehose, {
            recordFault: (text, attempt) => (text.includes('"c-2"') && attempt === 1 ? serviceUnavailable : undefined),
        });
        let result: FilterResult;
        try {
            result = await handle(kinesisEvent(mixedBatch, { arrivedAt }));
        } finally {
            puts.remove();
        }
        expect(result.counts).to.deep.equal(mixedCounts);
        expect(puts.inputs.map((input) => input.Records?.length)).to.deep.equal([4, 1]);
        expect(sleeps).to.deep.equal([50]);
        const delivered = [...(await objectsUnder("firehose/")).entries()].filter(([key]) => !before.has(key)).map(([, text]) => text);
        expect(delivered.sort()).to.deep.equal(
            [
                '{"customer":"c-1","action":"view","amount":12.50}\n{"customer":"c-1","action":"leave"}\n{"customer":"c-4","action":"view"}\n',
                '{"customer":"c-2","action":"buy"}\n',
            ].sort(),
        );
        expect(logs[1]).to.include({ lookupRequests: 1, forwardRequests: 2, retries: 1 });
    });

    it("fails the batch when Firehose keeps refusing records", async () => {
        const { handle, logs, sleeps } = filter({ DESTINATION: `firehose:${deliveryStream}` }, { maxAttempts: 3 });
        const puts = interceptPutRecordBatch(firehose, {
            recordFault: (text) => (text.includes('"c-1"') ? serviceUnavailable : undefined),
        });
        let error: Error;
        try {
            error = await failure(handle(kinesisEvent(mixedBatch, { arrivedAt })));
        } finally {
            puts.remove();
        }
        expect([error.name, error.message]).to.deep.equal([
            "ForwardError",
            `Firehose ${deliveryStream} refused 2 of 4 records after 3 attempts, the first with ServiceUnavailableException: Slow down.`,
        ]);
        expect(puts.inputs.map((input) => input.Records?.length)).to.deep.equal([4, 2, 2]);
        expect(sleeps).to.deep.equal([50, 100]);
        expect(logs).to.deep.equal([mixedMalformed]);
    });
});

const serviceUnavailable = { code: "ServiceUnavailableException", message: "Slow down." };

function throttled(name: string): Error {
    const error = new Error(`${name}: slow down`);
    error.name = name;
    return error;
}

/**
 * Sees every BatchGetItem request before moto does: records its input, throws for the whole
 * request, or holds back the last `holdBack(request)` keys and returns them as UnprocessedKeys,
 * as DynamoDB does when it answers in part.
 */
function interceptBatchGetItem(
    dynamodb: DynamoDBClient,
    behaviour: { readonly requestFault?: (request: number) => Error | undefined; readonly holdBack?: (request: number) => number },
): { readonly inputs: BatchGetItemCommandInput[]; remove(): void } {
    const inputs: BatchGetItemCommandInput[] = [];
    const remove = interceptCommand<BatchGetItemCommandInput, BatchGetItemCommandOutput>(
        dynamodb,
        "BatchGetItemCommand",
        async (sent, send) => {
            const input = structuredClone(sent);
            inputs.push(input);
            const thrown = behaviour.requestFault?.(inputs.length);
            if (thrown) {
                throw thrown;
            }
            const held = behaviour.holdBack?.(inputs.length) ?? 0;
            if (held === 0) {
                return send(sent);
            }
            const table = Object.keys(input.RequestItems!)[0]!;
            const request = input.RequestItems![table]!;
            const keys = request.Keys!;
            const unprocessed = { [table]: { ...request, Keys: keys.slice(keys.length - held) } };
            if (held >= keys.length) {
                return { $metadata: {}, Responses: { [table]: [] }, UnprocessedKeys: unprocessed };
            }
            const answered = await send({ ...input, RequestItems: { [table]: { ...request, Keys: keys.slice(0, keys.length - held) } } });
            return { ...answered, UnprocessedKeys: unprocessed };
        },
    );
    return { inputs, remove };
}

/**
 * Sees every PutRecordBatch request before moto does: records its input and marks records failed.
 * A record `recordFault` fails for is held back from moto and comes back with that ErrorCode, as
 * Firehose reports a record it did not take; `attempt` counts the times the same data was sent.
 */
function interceptPutRecordBatch(
    firehose: FirehoseClient,
    behaviour: { readonly recordFault?: (text: string, attempt: number) => RecordFault },
): { readonly inputs: PutRecordBatchCommandInput[]; remove(): void } {
    const inputs: PutRecordBatchCommandInput[] = [];
    const attempts = new Map<string, number>();
    const remove = interceptCommand<PutRecordBatchCommandInput, PutRecordBatchCommandOutput>(
        firehose,
        "PutRecordBatchCommand",
        async (input, send) => {
            inputs.push(input);
            const records = input.Records ?? [];
            const { entries, failed } = await failRecords(records, attempts, behaviour.recordFault, async (passed) => [
                ...((await send({ ...input, Records: passed.map((index) => records[index]!) })).RequestResponses ?? []),
            ]);
            return { $metadata: {}, FailedPutCount: failed, RequestResponses: entries };
        },
    );
    return { inputs, remove };
}
