import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { deadLetterRetentionSeconds, receiveWaitTimeSeconds } from "../defaults/queues";
import { policyDocument, serviceDelivery } from "../policies";

export interface ObjectEventQueueArgs {
    readonly description: string;
    /** Bucket whose "Object Created" events (sent to EventBridge) are queued. */
    readonly bucketName: pulumi.Input<string>;
    /** Only objects under this prefix. */
    readonly prefix: string;
    readonly kmsKeyArn: pulumi.Input<string>;
    /** At least six times the timeout of the consuming function, as Lambda advises (`visibilityTimeoutFor`). */
    readonly visibilityTimeoutSeconds: number;
    /** Deliveries before a message moves to the dead-letter queue. */
    readonly maxReceiveCount: number;
}

/**
 * A queue of the objects created under a bucket prefix: an EventBridge rule forwards each
 * "Object Created" event to an encrypted queue, whose messages move to a dead-letter queue after
 * `maxReceiveCount` failed deliveries.
 */
export class ObjectEventQueue extends pulumi.ComponentResource {
    readonly queue: aws.sqs.Queue;
    readonly deadLetterQueue: aws.sqs.Queue;

    constructor(name: string, args: ObjectEventQueueArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:events:ObjectEventQueue", name, {}, opts);
        this.deadLetterQueue = new aws.sqs.Queue(
            `${name}-dlq`,
            { kmsMasterKeyId: args.kmsKeyArn, messageRetentionSeconds: deadLetterRetentionSeconds },
            { parent: this },
        );
        this.queue = new aws.sqs.Queue(
            name,
            {
                kmsMasterKeyId: args.kmsKeyArn,
                visibilityTimeoutSeconds: args.visibilityTimeoutSeconds,
                receiveWaitTimeSeconds,
                redrivePolicy: pulumi.jsonStringify({
                    deadLetterTargetArn: this.deadLetterQueue.arn,
                    maxReceiveCount: args.maxReceiveCount,
                }),
            },
            { parent: this },
        );
        const rule = new aws.cloudwatch.EventRule(
            `${name}-created`,
            {
                description: args.description,
                eventPattern: pulumi.jsonStringify({
                    source: ["aws.s3"],
                    "detail-type": ["Object Created"],
                    detail: { bucket: { name: [args.bucketName] }, object: { key: [{ prefix: args.prefix }] } },
                }),
            },
            { parent: this },
        );
        const queuePolicy = new aws.sqs.QueuePolicy(
            `${name}-policy`,
            {
                queueUrl: this.queue.url,
                policy: policyDocument([
                    serviceDelivery("EventBridgeDeliversCreatedObjects", "events.amazonaws.com", "sqs:SendMessage", this.queue.arn, [
                        rule.arn,
                    ]),
                ]),
            },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-created-target`,
            { rule: rule.name, arn: this.queue.arn },
            { parent: this, dependsOn: [queuePolicy] },
        );
        this.registerOutputs({ queueArn: this.queue.arn, deadLetterQueueArn: this.deadLetterQueue.arn });
    }
}
