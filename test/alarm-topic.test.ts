import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { alarmPublishing, AlarmTopic, anyCount, deadLetterAlarm, notifyingAlarm } from "../components/alarm-topic";
import { policyOf, settle, useMocks, valueOf, type RecordingMocks } from "./support/pulumi-mocks";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const topicArn = "arn:aws:sns:eu-west-1:123456789012:topic/alerts";
/** The topic policy's one statement: CloudWatch alarms of this account, and no one else, publish. */
const cloudWatchPublishes = {
    Sid: "CloudWatchAlarmsPublish",
    Effect: "Allow",
    Principal: { Service: "cloudwatch.amazonaws.com" },
    Action: ["sns:Publish"],
    Resource: topicArn,
    Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
};
const failedRuns = { namespace: "AWS/Events", metricName: "MatchedEvents", dimensions: { RuleName: "etl-run-failed" } };

/** A component of another part of the stack that alarms on the topic about its own resources. */
class Owner extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:index:Owner", name, {}, opts);
        this.registerOutputs({});
    }
}

describe("AlarmTopic", () => {
    let mocks: RecordingMocks;
    const alarmOptions: Record<string, pulumi.CustomResourceOptions> = {};
    let topic: AlarmTopic;
    let own: pulumi.Output<string>;
    let owned: pulumi.Output<string>;
    before(async () => {
        mocks = await useMocks();
        topic = new AlarmTopic("alerts", { kmsKeyArn: keyArn, notificationEmail: "ops@example.com" });
        new AlarmTopic("quiet", { kmsKeyArn: keyArn });
        own = topic.alarm("stale", "Nothing arrived", anyCount(failedRuns)).urn;
        const owner = new Owner("files", {
            transformations: [
                ({ type, name, opts }) => {
                    if (type === "aws:cloudwatch/metricAlarm:MetricAlarm") {
                        alarmOptions[name] = opts;
                    }
                    return undefined;
                },
            ],
        });
        owned = topic.alarm(
            "file-dead-letters",
            "Files wait in the dead-letter queue",
            deadLetterAlarm("files-dlq"),
            topic.ownedBy(owner),
        ).urn;
        await settle();
    });

    it("is an encrypted topic CloudWatch alarms of this account may publish to, with an e-mail subscription when given an address", () => {
        expect(mocks.ofType("aws:sns/topic:Topic").map((resource) => [resource.name, resource.inputs.kmsMasterKeyId])).to.deep.equal([
            ["alerts", keyArn],
            ["quiet", keyArn],
        ]);
        expect(policyOf(mocks.named("alerts-policy")).Statement).to.deep.equal([cloudWatchPublishes]);
        expect(
            mocks.ofType("aws:sns/topicSubscription:TopicSubscription").map((resource) => [resource.name, resource.inputs]),
        ).to.deep.equal([["alerts-email", { topic: topicArn, protocol: "email", endpoint: "ops@example.com" }]]);
    });

    it("names each alarm after the topic and notifies the topic when it fires and when it clears", () => {
        expect(mocks.named("alerts-stale").inputs).to.deep.equal({
            alarmDescription: "Nothing arrived",
            alarmActions: [topicArn],
            okActions: [topicArn],
            ...failedRuns,
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        });
    });

    it("holds its own alarms, and leaves an alarm another component owns in that component's subtree", async () => {
        expect(await valueOf(own)).to.equal(
            "urn:pulumi:test::ingestion::ingestion:notifications:AlarmTopic$aws:cloudwatch/metricAlarm:MetricAlarm::alerts-stale",
        );
        expect(await valueOf(owned)).to.equal(
            "urn:pulumi:test::ingestion::test:index:Owner$aws:cloudwatch/metricAlarm:MetricAlarm::alerts-file-dead-letters",
        );
        expect(mocks.named("alerts-file-dead-letters").inputs.alarmActions).to.deep.equal([topicArn]);
    });

    it("aliases an owned alarm to the topic, where it was declared before, so a deployed stack keeps it", () => {
        expect(alarmOptions["alerts-file-dead-letters"]!.aliases).to.deep.equal([{ parent: topic }]);
    });
});

describe("alarm settings", () => {
    it("anyCount fires on any count in a period, five minutes unless told, and clears by itself", () => {
        expect(anyCount(failedRuns, 3600)).to.deep.equal({
            ...failedRuns,
            statistic: "Sum",
            period: 3600,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        });
    });

    it("deadLetterAlarm fires while the queue holds any message", () => {
        expect(deadLetterAlarm("files-dlq")).to.deep.equal({
            namespace: "AWS/SQS",
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: "files-dlq" },
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        });
    });

    it("alarmPublishing lets only this account's alarms publish", () => {
        expect(alarmPublishing(topicArn, "123456789012")).to.deep.equal(cloudWatchPublishes);
    });
});

describe("notifyingAlarm", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        notifyingAlarm("etl-failures", "arn:aws:sns:eu-west-1:123456789012:runs", "A run failed", anyCount(failedRuns), {});
        await settle();
    });

    it("notifies the topic it is given, not an alarm topic of its own", () => {
        expect(mocks.resources.map((resource) => resource.name)).to.deep.equal(["etl-failures"]);
        expect(mocks.named("etl-failures").inputs).to.deep.include({
            alarmDescription: "A run failed",
            alarmActions: ["arn:aws:sns:eu-west-1:123456789012:runs"],
            okActions: ["arn:aws:sns:eu-west-1:123456789012:runs"],
        });
    });
});
