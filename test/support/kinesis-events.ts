import type { KinesisStreamEvent } from "aws-lambda";

/** Lambda events of a Kinesis event source mapping, as the function receives them. */

export const streamArn = "arn:aws:kinesis:us-east-1:123456789012:stream/ingest-dev-events";

/** The nth sequence number of a shard: 56 digits, increasing with n. */
export function sequenceNumber(n: number): string {
    return `4965962348721654198736459012345678901234567890${String(n).padStart(10, "0")}`;
}

/**
 * One record per entry (text as UTF-8, or raw bytes), numbered from `first`, each arriving a
 * tenth of a second after the one before from `arrivedAt` (epoch seconds).
 */
export function kinesisEvent(data: readonly (string | Uint8Array)[], options: { first?: number; arrivedAt: number }): KinesisStreamEvent {
    const first = options.first ?? 1;
    return {
        Records: data.map((entry, index) => {
            const sequence = sequenceNumber(first + index);
            return {
                awsRegion: "us-east-1",
                eventID: `shardId-000000000000:${sequence}`,
                eventName: "aws:kinesis:record",
                eventSource: "aws:kinesis",
                eventSourceARN: streamArn,
                eventVersion: "1.0",
                invokeIdentityArn: "arn:aws:iam::123456789012:role/ingest-dev-event-filter",
                kinesis: {
                    approximateArrivalTimestamp: Math.round((options.arrivedAt + index / 10) * 1000) / 1000,
                    data: Buffer.from(typeof entry === "string" ? Buffer.from(entry, "utf8") : entry).toString("base64"),
                    kinesisSchemaVersion: "1.0",
                    partitionKey: `key-${first + index}`,
                    sequenceNumber: sequence,
                },
            };
        }),
    };
}
