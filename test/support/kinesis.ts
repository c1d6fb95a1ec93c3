import {
    CreateStreamCommand,
    KinesisClient,
    GetRecordsCommand,
    GetShardIteratorCommand,
    ListShardsCommand,
    type PutRecordsCommandInput,
    type PutRecordsCommandOutput,
} from "@aws-sdk/client-kinesis";

import { NodeHttpHandler } from "@smithy/node-http-handler";
import { failRecords, interceptCommand, type RecordFault } from "./intercept";
import type { ClientConfig } from "./moto";

/** Kinesis test helpers: streams in moto, reading them back, and faults injected into PutRecords. */

/**
 * A client for moto. The Kinesis client speaks HTTP/2 by default (for SubscribeToShard) and moto
 * only HTTP/1.1. It does not retry, as the handlers' clients do not: putRecords owns the retries.
 */
export function motoKinesisClient(config: ClientConfig): KinesisClient {
    return new KinesisClient({ ...config, maxAttempts: 1, requestHandler: new NodeHttpHandler() });
}

export async function createStream(kinesis: KinesisClient, name: string, shards: number): Promise<void> {
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
}

/** Every record on the stream as text, shard by shard in sequence order. */
export async function readStream(kinesis: KinesisClient, name: string): Promise<string[][]> {
    const listed = await kinesis.send(new ListShardsCommand({ StreamName: name }));
    const shards: string[][] = [];
    for (const shard of listed.Shards ?? []) {
        const texts: string[] = [];
        let iterator = (
            await kinesis.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shard.ShardId, ShardIteratorType: "TRIM_HORIZON" }))
        ).ShardIterator;
        while (iterator) {
            const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
            texts.push(...(page.Records ?? []).map((record) => Buffer.from(record.Data ?? new Uint8Array()).toString("utf8")));
            iterator = (page.Records ?? []).length > 0 ? page.NextShardIterator : undefined;
        }
        shards.push(texts);
    }
    return shards;
}

/** All records on the stream, sorted, for comparing contents regardless of shard. */
export async function streamContents(kinesis: KinesisClient, name: string): Promise<string[]> {
    return (await readStream(kinesis, name)).flat().sort();
}

/** What each PutRecords request carried: record count and bytes (data plus partition keys). */
export interface PutRequestLog {
    readonly records: number;
    readonly bytes: number;
}

/**
 * Sees every PutRecords request before it is sent. It can record the request, throw for the whole
 * request, or mark records failed: a record `recordFault` fails for is held back from moto and
 * comes back with that ErrorCode, as Kinesis reports a record it did not take. `attempt` counts
 * the times the same data was sent. Returns a remover.
 */
export function interceptPutRecords(
    kinesis: KinesisClient,
    behaviour: {
        readonly requests?: PutRequestLog[];
        readonly requestFault?: (request: number) => Error | undefined;
        readonly recordFault?: (text: string, attempt: number) => RecordFault;
    },
): () => void {
    const attempts = new Map<string, number>();
    let request = 0;
    return interceptCommand<PutRecordsCommandInput, PutRecordsCommandOutput>(kinesis, "PutRecordsCommand", async (input, send) => {
        const records = input.Records ?? [];
        request += 1;
        behaviour.requests?.push({
            records: records.length,
            bytes: records.reduce((sum, record) => sum + (record.Data?.byteLength ?? 0) + Buffer.byteLength(record.PartitionKey ?? ""), 0),
        });
        const thrown = behaviour.requestFault?.(request);
        if (thrown) {
            throw thrown;
        }
        const { entries, failed } = await failRecords(records, attempts, behaviour.recordFault, async (passed) => [
            ...((await send({ ...input, Records: passed.map((index) => records[index]!) })).Records ?? []),
        ]);
        return { $metadata: {}, FailedRecordCount: failed, Records: entries };
    });
}
