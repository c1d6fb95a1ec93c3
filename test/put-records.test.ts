import {
    KinesisClient,
    KMSDisabledException,
    KMSThrottlingException,
    ProvisionedThroughputExceededException,
    ResourceNotFoundException,
} from "@aws-sdk/client-kinesis";
import { expect } from "chai";
import {
    isRetryable,
    maximumRecordBytes,
    partitionKeyOf,
    putRecords,
    recordBytes,
    StreamWriter,
    streamRecord,
    type PutOptions,
    type StreamRecord,
} from "../lambdas/shared/put-records";
import { createStream, interceptPutRecords, motoKinesisClient, readStream, streamContents, type PutRequestLog } from "./support/kinesis";
import { useMotoServer } from "./support/moto";

function events(count: number): string[] {
    return Array.from({ length: count }, (_, index) => `{"event_id":"e-${String(index).padStart(5, "0")}"}\n`);
}

function records(texts: readonly string[]): StreamRecord[] {
    return texts.map((text, index) => streamRecord(text, index + 1));
}

/** No real waiting: the delays asked for are recorded, the jitter is fixed at half. */
function fakeTime(): { delays: number[]; options: PutOptions } {
    const delays: number[] = [];
    return {
        delays,
        options: {
            sleep: (milliseconds) => {
                delays.push(milliseconds);
                return Promise.resolve();
            },
            random: () => 0.5,
        },
    };
}

const throughputExceeded = {
    code: "ProvisionedThroughputExceededException",
    message: "Rate exceeded for shard shardId-000000000000 in stream events under account 123456789012.",
};
const failedForThroughput = { errorCode: throughputExceeded.code, errorMessage: throughputExceeded.message };

describe("putRecords: record keys and sizes", () => {
    it("keys a record by the first 32 hex digits of the SHA-256 of its data", () => {
        expect(partitionKeyOf(Buffer.from("abc"))).to.equal("ba7816bf8f01cfea414140de5dae2223");
        expect(streamRecord("abc", 7)).to.deep.include({ partitionKey: "ba7816bf8f01cfea414140de5dae2223", line: 7 });
    });

    it("counts data and partition key bytes, as Kinesis does", () => {
        expect(recordBytes(streamRecord("é\n", 1))).to.equal(3 + 32);
        expect(maximumRecordBytes).to.equal(1_048_576);
    });

    const retryable: [string, unknown, boolean][] = [
        ["throughput exceeded", new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} }), true],
        ["KMS throttling", new KMSThrottlingException({ message: "slow down", $metadata: {} }), true],
        ["a 503", Object.assign(new Error("unavailable"), { name: "Unknown", $metadata: { httpStatusCode: 503 } }), true],
        ["a connection reset", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
        ["no such stream", new ResourceNotFoundException({ message: "Stream s not found", $metadata: {} }), false],
        ["a disabled KMS key", new KMSDisabledException({ message: "key disabled", $metadata: {} }), false],
        ["access denied", Object.assign(new Error("denied"), { name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } }), false],
        ["a thrown string", "boom", false],
    ];
    for (const [name, error, expected] of retryable) {
        it(`${expected ? "retries" : "does not retry"} ${name}`, () => {
            expect(isRetryable(error)).to.equal(expected);
        });
    }

    it("refuses a record over 1 MiB, which the caller should have turned away", async () => {
        const writer = new StreamWriter(new KinesisClient({ region: "us-east-1" }), "s");
        const record: StreamRecord = { data: new Uint8Array(maximumRecordBytes - 31), partitionKey: "k".repeat(32), line: 9 };
        let thrown: unknown;
        try {
            await writer.add(record);
        } catch (error) {
            thrown = error;
        }
        expect((thrown as Error).message).to.equal("line 9: record is 1048577 bytes; Kinesis accepts at most 1048576");
    });
});

describe("putRecords against a Kinesis stream", function () {
    const moto = useMotoServer();
    let kinesis: KinesisClient;
    let streams = 0;

    before(() => {
        kinesis = motoKinesisClient(moto.clientConfig);
    });

    async function stream(shards = 1): Promise<string> {
        streams += 1;
        const name = `events-${streams}`;
        await createStream(kinesis, name, shards);
        return name;
    }

    it("sends 1,234 records in requests of 500, 500 and 234, spread over the shards, all readable back", async () => {
        const name = await stream(4);
        const texts = events(1234);
        const requests: PutRequestLog[] = [];
        const remove = interceptPutRecords(kinesis, { requests });
        try {
            const outcome = await putRecords(kinesis, name, records(texts));
            expect(outcome).to.deep.equal({ put: 1234, failed: [], requests: 3, retries: 0 });
        } finally {
            remove();
        }
        expect(requests.map((request) => request.records)).to.deep.equal([500, 500, 234]);
        const shards = await readStream(kinesis, name);
        expect(shards.flat().sort()).to.deep.equal(texts);
        for (const shard of shards) {
            expect(shard.length).to.be.within(1234 / 4 - 60, 1234 / 4 + 60);
        }
    });

    it("starts a new request before the next record would take it over 5 MiB", async () => {
        const name = await stream();
        // Records of exactly 1 MiB with their 32-byte keys: five fill a request to the byte.
        const full = ["a", "b", "c", "d", "e", "f"].map((letter) => letter.repeat(maximumRecordBytes - 32));
        // Records of 1,000,032 bytes: five make 5,000,160, a sixth would pass 5,242,880.
        const large = Array.from({ length: 12 }, (_, index) => String(index % 10).repeat(1_000_000));
        const requests: PutRequestLog[] = [];
        const remove = interceptPutRecords(kinesis, { requests });
        try {
            expect(await putRecords(kinesis, name, records(full))).to.deep.equal({ put: 6, failed: [], requests: 2, retries: 0 });
            expect(await putRecords(kinesis, name, records(large))).to.deep.equal({ put: 12, failed: [], requests: 3, retries: 0 });
        } finally {
            remove();
        }
        expect(requests).to.deep.equal([
            { records: 5, bytes: 5_242_880 },
            { records: 1, bytes: 1_048_576 },
            { records: 5, bytes: 5_000_160 },
            { records: 5, bytes: 5_000_160 },
            { records: 2, bytes: 2_000_064 },
        ]);
        expect((await streamContents(kinesis, name)).map((text) => text.length)).to.deep.equal([
            ...Array<number>(12).fill(1_000_000),
            ...Array<number>(6).fill(maximumRecordBytes - 32),
        ]);
    });

    it("sends again only the records that came back failed, with backoff, and lands each exactly once", async () => {
        const name = await stream(2);
        const texts = events(60);
        const requests: PutRequestLog[] = [];
        const remove = interceptPutRecords(kinesis, {
            requests,
            recordFault: (text, attempt) => {
                const index = Number(/e-(\d+)/.exec(text)?.[1]);
                if (index % 10 === 0 && attempt <= 2) {
                    return { code: "InternalFailure", message: "Internal service failure." };
                }
                return index % 7 === 0 && attempt === 1 ? throughputExceeded : undefined;
            },
        });
        const time = fakeTime();
        try {
            const outcome = await putRecords(kinesis, name, records(texts), time.options);
            expect(outcome).to.deep.equal({ put: 60, failed: [], requests: 3, retries: 2 });
        } finally {
            remove();
        }
        // Of 0 to 59, the 9 multiples of 7 and the 6 of 10 (0 is both) fail once; those of 10 fail twice.
        expect(requests.map((request) => request.records)).to.deep.equal([60, 14, 6]);
        expect(time.delays).to.deep.equal([50, 100]);
        expect(await streamContents(kinesis, name)).to.deep.equal(texts);
    });

    it("gives up on records that fail every attempt and lists them with their error", async () => {
        const name = await stream();
        const texts = events(20);
        const failing = new Set([texts[3], texts[17]]);
        const remove = interceptPutRecords(kinesis, { recordFault: (text) => (failing.has(text) ? throughputExceeded : undefined) });
        const time = fakeTime();
        try {
            const outcome = await putRecords(kinesis, name, records(texts), time.options);
            expect(outcome).to.deep.equal({
                put: 18,
                failed: [
                    { line: 4, ...failedForThroughput },
                    { line: 18, ...failedForThroughput },
                ],
                requests: 5,
                retries: 4,
            });
        } finally {
            remove();
        }
        expect(time.delays).to.deep.equal([50, 100, 200, 400]);
        expect(await streamContents(kinesis, name)).to.deep.equal(texts.filter((text) => !failing.has(text)));
    });

    it("retries a whole request refused for throttling, and fails its records when every attempt is refused", async () => {
        const name = await stream();
        const texts = events(3);
        const throttled = () => new KMSThrottlingException({ message: "Rate exceeded for KMS key", $metadata: {} });
        let remove = interceptPutRecords(kinesis, { requestFault: (request) => (request === 1 ? throttled() : undefined) });
        const time = fakeTime();
        try {
            expect(await putRecords(kinesis, name, records(texts), { ...time.options, baseDelayMs: 40 })).to.deep.equal({
                put: 3,
                failed: [],
                requests: 2,
                retries: 1,
            });
        } finally {
            remove();
        }
        remove = interceptPutRecords(kinesis, { requestFault: throttled });
        try {
            expect(await putRecords(kinesis, name, records(texts), { ...time.options, maxAttempts: 3, baseDelayMs: 40 })).to.deep.equal({
                put: 0,
                failed: [1, 2, 3].map((line) => ({ line, errorCode: "KMSThrottlingException", errorMessage: "Rate exceeded for KMS key" })),
                requests: 3,
                retries: 2,
            });
        } finally {
            remove();
        }
        expect(time.delays).to.deep.equal([20, 20, 40]);
        expect(await streamContents(kinesis, name)).to.deep.equal(texts);
    });

    it("caps the backoff at 10 seconds", async () => {
        const name = await stream();
        const remove = interceptPutRecords(kinesis, { recordFault: () => throughputExceeded });
        const time = fakeTime();
        try {
            const outcome = await putRecords(kinesis, name, records(events(1)), { ...time.options, maxAttempts: 8, random: () => 1 });
            expect(outcome.failed.map((failure) => failure.line)).to.deep.equal([1]);
        } finally {
            remove();
        }
        expect(time.delays).to.deep.equal([100, 200, 400, 800, 1600, 3200, 6400]);
        const capped = fakeTime();
        const again = interceptPutRecords(kinesis, { recordFault: () => throughputExceeded });
        try {
            await putRecords(kinesis, name, records(events(1)), { ...capped.options, maxAttempts: 3, baseDelayMs: 8000, random: () => 1 });
        } finally {
            again();
        }
        expect(capped.delays).to.deep.equal([8000, 10_000]);
    });

    const propagated: [string, string, (() => Error) | undefined, string, string][] = [
        [
            "a stream that does not exist",
            "no-such-stream",
            undefined,
            "ResourceNotFoundException",
            "Stream no-such-stream under account 123456789012 not found.",
        ],
        [
            "a disabled KMS key",
            "events-1",
            () => new KMSDisabledException({ message: "The key is disabled", $metadata: {} }),
            "KMSDisabledException",
            "The key is disabled",
        ],
    ];
    for (const [name, streamName, requestFault, errorName, message] of propagated) {
        it(`lets the error of ${name} propagate, without retrying`, async () => {
            const requests: PutRequestLog[] = [];
            const remove = interceptPutRecords(kinesis, { requests, requestFault });
            let thrown: unknown;
            try {
                await putRecords(kinesis, streamName, records(events(2)), fakeTime().options);
            } catch (error) {
                thrown = error;
            } finally {
                remove();
            }
            expect([(thrown as Error).name, (thrown as Error).message]).to.deep.equal([errorName, message]);
            expect(requests).to.have.length(1);
        });
    }

    it("sends nothing for no records", async () => {
        const requests: PutRequestLog[] = [];
        const remove = interceptPutRecords(kinesis, { requests });
        try {
            expect(await putRecords(kinesis, "events-1", [])).to.deep.equal({ put: 0, failed: [], requests: 0, retries: 0 });
        } finally {
            remove();
        }
        expect(requests).to.deep.equal([]);
    });
});
