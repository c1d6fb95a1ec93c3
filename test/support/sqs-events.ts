import type { SQSEvent } from "aws-lambda";

/** Queue messages as S3, EventBridge and SQS deliver them to a handler. */

export function eventBridgeBody(bucket: string, encodedKey: string, versionId?: string): string {
    return JSON.stringify({
        version: "0",
        id: "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        source: "aws.s3",
        account: "123456789012",
        time: "2026-11-23T09:59:58Z",
        region: "us-east-1",
        resources: [`arn:aws:s3:::${bucket}`],
        detail: {
            version: "0",
            bucket: { name: bucket },
            object: {
                key: encodedKey,
                size: 1024,
                etag: "d41d8cd98f00b204e9800998ecf8427e",
                ...(versionId ? { "version-id": versionId } : {}),
                sequencer: "0064D3901D00059242",
            },
            "request-id": "XRRTKJXSZQCWNQR1",
            requester: "123456789012",
            reason: "PutObject",
        },
    });
}

export function notificationBody(bucket: string, objects: { key: string; versionId?: string }[]): string {
    return JSON.stringify({
        Records: objects.map((object) => ({
            eventVersion: "2.1",
            eventSource: "aws:s3",
            awsRegion: "us-east-1",
            eventTime: "2026-11-23T09:59:58.000Z",
            eventName: "ObjectCreated:Put",
            s3: {
                s3SchemaVersion: "1.0",
                bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
                object: {
                    key: object.key,
                    size: 1024,
                    ...(object.versionId ? { versionId: object.versionId } : {}),
                    sequencer: "0055AED6DCD90281E5",
                },
            },
        })),
    });
}

export function sqsEvent(...bodies: string[]): SQSEvent {
    return {
        Records: bodies.map((body, index) => ({
            messageId: `message-${index}`,
            receiptHandle: `receipt-${index}`,
            body,
            attributes: {
                ApproximateReceiveCount: "1",
                SentTimestamp: "1700000000000",
                SenderId: "AIDAEXAMPLE",
                ApproximateFirstReceiveTimestamp: "1700000000000",
            },
            messageAttributes: {},
            md5OfBody: "",
            eventSource: "aws:sqs",
            eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:ingest-dev-customers-archives",
            awsRegion: "us-east-1",
        })),
    };
}
