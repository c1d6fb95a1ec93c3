import * as fs from "fs";
import * as path from "path";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { expect } from "chai";
import type { LogEntry } from "../lambdas/shared/runtime";
import { createHandler, settingsFromEnvironment } from "../lambdas/stream-producer/handler";
import { clickstreamSchema } from "./support/clickstream";
import { createStream, interceptPutRecords, motoKinesisClient, streamContents } from "./support/kinesis";
import { useMotoServer } from "./support/moto";

const sample = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "lambdas", "stream-producer", "sample-events.json"), "utf8")) as {
    events: Record<string, unknown>[];
};

describe("stream producer: settings", () => {
    it("reads STREAM_NAME and STREAM_SCHEMA", () => {
        const settings = settingsFromEnvironment({ STREAM_NAME: "ingest-dev-clickstream", STREAM_SCHEMA: clickstreamSchema });
        expect(settings.streamName).to.equal("ingest-dev-clickstream");
        expect(settings.schema.fields.map((field) => field.name)).to.deep.equal(["event_id", "event_time", "amount", "item_count"]);
    });

    const broken: [NodeJS.ProcessEnv, string][] = [
        [{}, "the stream producer's environment lacks STREAM_NAME, STREAM_SCHEMA"],
        [
            { STREAM_NAME: "s", STREAM_SCHEMA: '{"stream":"s","fields":[],"eventTime":{"field":"t","format":"epoch-millis"}}' },
            'STREAM_SCHEMA is invalid: fields must be a non-empty array; eventTime.field "t" is not a declared field',
        ],
    ];
    for (const [environment, message] of broken) {
        it(`refuses ${JSON.stringify(environment)}`, () => {
            expect(() => settingsFromEnvironment(environment)).to.throw(message);
        });
    }
});

describe("stream producer", function () {
    const moto = useMotoServer();
    let kinesis: KinesisClient;
    let streams = 0;

    before(() => {
        kinesis = motoKinesisClient(moto.clientConfig);
    });

    async function producer() {
        streams += 1;
        const streamName = `clickstream-${streams}`;
        await createStream(kinesis, streamName, 2);
        const logs: LogEntry[] = [];
        const handle = createHandler({
            kinesis,
            settings: settingsFromEnvironment({ STREAM_NAME: streamName, STREAM_SCHEMA: clickstreamSchema }),
            sleep: () => Promise.resolve(),
            log: (entry) => logs.push(entry),
        });
        return { streamName, logs, handle };
    }

    it("puts the 20 sample events on the stream, each as its JSON and a line break", async () => {
        const { streamName, logs, handle } = await producer();
        expect(await handle(sample)).to.deep.equal({ stream: streamName, received: 20, sent: 20, rejected: [], failed: [] });
        const onStream = await streamContents(kinesis, streamName);
        expect(onStream).to.have.length(20);
        expect(onStream).to.include(
            '{"event_id":"3f9c2a8e-5b1d-4e7a-9c02-1d6f8b4e7a10","event_time":"2026-11-23T09:00:04.118Z","event_type":"page_view",' +
                '"user_id":"u-10482","session_id":"s-7f3a9c21","page":"/","amount":null,"item_count":null}\n',
        );
        expect(onStream).to.include(
            '{"event_id":"f2c7b3e9-5a8d-4e1f-b6c4-8d3a1f9e5b26","event_time":"2026-11-23T09:08:27.159Z","event_type":"purchase",' +
                '"user_id":"u-10482","session_id":"s-7f3a9c21","page":"/checkout/confirmation","amount":168.45,"item_count":3}\n',
        );
        // Valid events pass through unchanged: member order, values and all.
        expect(onStream).to.deep.equal(sample.events.map((event) => `${JSON.stringify(event)}\n`).sort());
        expect(logs).to.deep.equal([
            {
                level: "info",
                message: "test events put on the stream",
                stream: streamName,
                received: 20,
                sent: 20,
                rejected: 0,
                failed: 0,
                putRequests: 1,
                retries: 0,
            },
        ]);
    });

    it("sample events: every type is one of the four, and only cart and purchase events carry an amount", () => {
        const types = new Set(sample.events.map((event) => event.event_type));
        expect([...types].sort()).to.deep.equal(["add_to_cart", "page_view", "purchase", "search"]);
        for (const event of sample.events) {
            const priced = event.event_type === "purchase" || event.event_type === "add_to_cart";
            expect(event.amount === null, String(event.event_id)).to.equal(!priced);
        }
    });

    it("turns away events that do not match the schema and puts the rest, from a bare array too", async () => {
        const { streamName, handle } = await producer();
        const result = await handle([
            { event_id: "ok-1", event_time: "2026-11-23T09:00:00.000Z", amount: "19.90" },
            { event_id: "no-time" },
            { event_id: "bad-amount", event_time: "2026-11-23T09:00:01.000Z", amount: 19.999 },
            "page_view",
            // 66 characters before the note's text, 2 after, the line break and a 32-character key.
            { event_id: "big", event_time: "2026-11-23T09:00:02.000Z", note: "x".repeat(1_048_576) },
            { event_id: "ok-2", event_time: "2026-11-23T10:00:03.000+01:00", item_count: 4 },
        ]);
        expect(result).to.deep.equal({
            stream: streamName,
            received: 6,
            sent: 2,
            rejected: [
                { index: 1, reason: 'field "event_time" is required' },
                { index: 2, reason: 'field "amount": 19.999 has 3 fraction digits; decimal(12,2) allows at most 2' },
                { index: 3, reason: "not a JSON object" },
                { index: 4, reason: "record is 1048677 bytes; Kinesis accepts at most 1048576" },
            ],
            failed: [],
        });
        expect(await streamContents(kinesis, streamName)).to.deep.equal([
            '{"event_id":"ok-1","event_time":"2026-11-23T09:00:00.000Z","amount":19.90}\n',
            '{"event_id":"ok-2","event_time":"2026-11-23T10:00:03.000+01:00","item_count":4}\n',
        ]);
    });

    it("lists the events Kinesis kept refusing after the retries", async () => {
        const { streamName, logs, handle } = await producer();
        const remove = interceptPutRecords(kinesis, {
            recordFault: (text) =>
                text.includes('"e-2"') ? { code: "ProvisionedThroughputExceededException", message: "Rate exceeded for shard" } : undefined,
        });
        try {
            const result = await handle({
                events: ["e-1", "e-2", "e-3"].map((id) => ({ event_id: id, event_time: "2026-11-23T09:00:00.000Z" })),
            });
            expect(result).to.deep.equal({
                stream: streamName,
                received: 3,
                sent: 2,
                rejected: [],
                failed: [{ index: 1, errorCode: "ProvisionedThroughputExceededException", errorMessage: "Rate exceeded for shard" }],
            });
        } finally {
            remove();
        }
        expect(logs[0]).to.include({ level: "warn", sent: 2, failed: 1, putRequests: 5, retries: 4 });
    });

    const notEvents: [string, unknown, string][] = [
        [
            "an object without events",
            { event_id: "e-1" },
            'the test event must be {"events": [ ... ]} or an array of events; got {"event_id":"e-1"}',
        ],
        [
            "events that are not an array",
            { events: "e-1" },
            'the test event must be {"events": [ ... ]} or an array of events; got {"events":"e-1"}',
        ],
        ["nothing", undefined, 'the test event must be {"events": [ ... ]} or an array of events; got undefined'],
    ];
    for (const [name, event, message] of notEvents) {
        it(`fails clearly for ${name}`, async () => {
            const { handle } = await producer();
            let thrown: unknown;
            try {
                await handle(event);
            } catch (error) {
                thrown = error;
            }
            expect((thrown as Error).message).to.equal(message);
        });
    }
});
