import { expect } from "chai";
import { ObjectEventQueue } from "../components/object-events";
import { policyOf, settle, useMocks, type RecordingMocks } from "./support/pulumi-mocks";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const queueArn = "arn:aws:sqs:eu-west-1:123456789012:queue/files";

describe("ObjectEventQueue", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        new ObjectEventQueue("files", {
            description: "Files landing under incoming/",
            bucketName: "source",
            prefix: "incoming/",
            kmsKeyArn: keyArn,
            visibilityTimeoutSeconds: 5400,
            maxReceiveCount: 3,
        });
        await settle();
    });

    it("declares its queue, dead-letter queue, rule, queue policy and target, named from the component", () => {
        expect(mocks.resources.map((resource) => [resource.type, resource.name])).to.have.deep.members([
            ["ingestion:events:ObjectEventQueue", "files"],
            ["aws:sqs/queue:Queue", "files-dlq"],
            ["aws:sqs/queue:Queue", "files"],
            ["aws:cloudwatch/eventRule:EventRule", "files-created"],
            ["aws:sqs/queuePolicy:QueuePolicy", "files-policy"],
            ["aws:cloudwatch/eventTarget:EventTarget", "files-created-target"],
        ]);
    });

    it("keeps dead letters 14 days, long-polls, and moves a message to them after its deliveries", () => {
        expect(mocks.named("files-dlq").inputs).to.deep.equal({ kmsMasterKeyId: keyArn, messageRetentionSeconds: 1_209_600 });
        const queue = mocks.ofType("aws:sqs/queue:Queue").find((resource) => resource.name === "files")!.inputs;
        expect({ ...queue, redrivePolicy: JSON.parse(queue.redrivePolicy as string) as unknown }).to.deep.equal({
            kmsMasterKeyId: keyArn,
            visibilityTimeoutSeconds: 5400,
            receiveWaitTimeSeconds: 20,
            redrivePolicy: { deadLetterTargetArn: "arn:aws:sqs:eu-west-1:123456789012:queue/files-dlq", maxReceiveCount: 3 },
        });
    });

    it("queues the objects created under the prefix of the bucket, and nothing else", () => {
        expect(mocks.named("files-created").inputs).to.deep.equal({
            description: "Files landing under incoming/",
            eventPattern: JSON.stringify({
                source: ["aws.s3"],
                "detail-type": ["Object Created"],
                detail: { bucket: { name: ["source"] }, object: { key: [{ prefix: "incoming/" }] } },
            }),
        });
        expect(mocks.named("files-created-target").inputs).to.deep.equal({ rule: "files-created", arn: queueArn });
    });

    it("lets EventBridge send to the queue from its own rule only", () => {
        expect(policyOf(mocks.named("files-policy")).Statement).to.deep.equal([
            {
                Sid: "EventBridgeDeliversCreatedObjects",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: ["sqs:SendMessage"],
                Resource: queueArn,
                // The rule's ARN, as the mocks name it.
                Condition: { ArnEquals: { "aws:SourceArn": ["arn:aws:cloudwatch:eu-west-1:123456789012:eventRule/files-created"] } },
            },
        ]);
    });
});
