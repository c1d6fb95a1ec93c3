import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { AlarmTopic } from "../components/alarm-topic";
import { WarehouseExport, type WarehouseExportArgs } from "../components/warehouse-export";
import { exportStarter } from "../components/warehouse-export/on-delivery";
import { parseStream, type Stream } from "../config/stream";
import { policyOf, settle, useMocks, type RecordingMocks } from "./support/pulumi-mocks";
import { fixtureText } from "./support/config-root";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const clickstream = parseStream("config/streams/clickstream.yaml", fixtureText("config/streams/clickstream.yaml"));
const bucket = (name: string) => ({ name, arn: `arn:aws:s3:::${name}` });
const code = new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") });
const queueArn = (name: string) => `arn:aws:sqs:eu-west-1:123456789012:queue/${name}`;

/** The resources `trigger: on-delivery` adds to a warehouse export named clicks-warehouse. */
const onDeliveryResources = [
    "clicks-warehouse-deliveries",
    "clicks-warehouse-deliveries-dlq",
    "clicks-warehouse-deliveries-created",
    "clicks-warehouse-deliveries-policy",
    "clicks-warehouse-deliveries-created-target",
    "clicks-warehouse-runs",
    "clicks-warehouse-starter",
    "clicks-warehouse-starter-source",
    "clicks-alarms-export-dead-letters",
    "clicks-warehouse-intermediate-notifications",
];

function declareExport(stream: Stream, extra: Partial<WarehouseExportArgs> = {}): WarehouseExport {
    return new WarehouseExport("clicks-warehouse", {
        stream,
        warehouse: stream.warehouse!,
        streamArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream",
        kmsKeyArn: keyArn,
        accessLogsBucketName: "access-logs",
        quarantine: bucket("quarantine"),
        glueAssets: bucket("assets"),
        securityConfigurationName: "lake-security",
        jobScript: new pulumi.asset.StringAsset("print('export')"),
        jobPackage: new pulumi.asset.AssetArchive({}),
        alarms: new AlarmTopic("clicks-alarms", { kmsKeyArn: keyArn }),
        retentionDays: 90,
        ...extra,
    });
}

describe("WarehouseExport on delivery (the example stream's choice)", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        expect(clickstream.warehouse?.trigger).to.equal("on-delivery");
        declareExport(clickstream, { starterCode: code, deletionProtection: true });
        await settle();
    });

    it("sends the delivery bucket's object events to EventBridge, and queues those under the stream's prefix", () => {
        expect(mocks.named("clicks-warehouse-intermediate-notifications").inputs).to.deep.equal({
            bucket: "clicks-warehouse-intermediate-id",
            eventbridge: true,
        });
        expect(JSON.parse(mocks.named("clicks-warehouse-deliveries-created").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: { bucket: { name: ["clicks-warehouse-intermediate"] }, object: { key: [{ prefix: "clickstream/" }] } },
        });
        expect(mocks.named("clicks-warehouse-deliveries-created-target").inputs).to.deep.equal({
            rule: "clicks-warehouse-deliveries-created",
            arn: queueArn("clicks-warehouse-deliveries"),
        });
        expect(policyOf(mocks.named("clicks-warehouse-deliveries-policy")).Statement).to.deep.equal([
            {
                Sid: "EventBridgeDeliversCreatedObjects",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: ["sqs:SendMessage"],
                Resource: queueArn("clicks-warehouse-deliveries"),
                Condition: {
                    ArnEquals: {
                        "aws:SourceArn": ["arn:aws:cloudwatch:eu-west-1:123456789012:eventRule/clicks-warehouse-deliveries-created"],
                    },
                },
            },
        ]);
    });

    it("keeps a refused object's message for an hour of redeliveries, then in an encrypted dead-letter queue watched by an alarm", () => {
        // The ObjectEventQueue component and its queue share the name; the queue is the SQS resource.
        const deliveries = mocks.ofType("aws:sqs/queue:Queue").find((resource) => resource.name === "clicks-warehouse-deliveries")!.inputs;
        expect({ ...deliveries, redrivePolicy: JSON.parse(deliveries.redrivePolicy as string) as unknown }).to.deep.equal({
            kmsMasterKeyId: keyArn,
            visibilityTimeoutSeconds: 180,
            receiveWaitTimeSeconds: 20,
            redrivePolicy: { deadLetterTargetArn: queueArn("clicks-warehouse-deliveries-dlq"), maxReceiveCount: 20 },
        });
        expect(exportStarter.visibilityTimeoutSeconds).to.equal(6 * exportStarter.timeoutSeconds);
        expect(mocks.named("clicks-warehouse-deliveries-dlq").inputs).to.deep.equal({
            kmsMasterKeyId: keyArn,
            messageRetentionSeconds: 14 * 24 * 3600,
        });
        const alarm = mocks.named("clicks-alarms-export-dead-letters").inputs;
        expect([alarm.namespace, alarm.metricName, alarm.dimensions, alarm.threshold, alarm.alarmActions]).to.deep.equal([
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            { QueueName: "clicks-warehouse-deliveries-dlq" },
            1,
            ["arn:aws:sns:eu-west-1:123456789012:topic/clicks-alarms"],
        ]);
    });

    it("claims each delivered object in an encrypted, recoverable run ledger of its own", () => {
        expect(mocks.named("clicks-warehouse-runs").inputs).to.deep.equal({
            billingMode: "PAY_PER_REQUEST",
            pointInTimeRecovery: { enabled: true },
            serverSideEncryption: { enabled: true, kmsKeyArn: keyArn },
            deletionProtectionEnabled: true,
            hashKey: "archive",
            attributes: [{ name: "archive", type: "S" }],
            ttl: { attributeName: "expiresAt", enabled: true },
        });
    });

    it("starts the export from a traced starter that reserves what its queue mapping polls, one message at a time", () => {
        const starter = mocks.ofType("aws:lambda/function:Function").find((resource) => resource.name === "clicks-warehouse-starter")!;
        const inputs = starter.inputs;
        expect([inputs.timeout, inputs.reservedConcurrentExecutions, inputs.tracingConfig, inputs.deadLetterConfig]).to.deep.equal([
            30,
            2,
            { mode: "Active" },
            { targetArn: queueArn("clicks-warehouse-deliveries-dlq") },
        ]);
        expect(inputs.environment).to.deep.equal({
            variables: {
                JOB_NAME: "clicks-warehouse-job",
                RUN_LEDGER_TABLE: "clicks-warehouse-runs",
                DELIVERY_BUCKET: "clicks-warehouse-intermediate",
                DELIVERY_PREFIX: "clickstream/",
                MARKER_PREFIX: "_exported/",
            },
        });
        expect(mocks.named("clicks-warehouse-starter-source").inputs).to.deep.equal({
            eventSourceArn: queueArn("clicks-warehouse-deliveries"),
            functionName: "arn:aws:lambda:eu-west-1:123456789012:function/clicks-warehouse-starter",
            batchSize: 1,
            functionResponseTypes: ["ReportBatchItemFailures"],
            scalingConfig: { maximumConcurrency: 2 },
        });
    });

    it("lets the starter consume its queue, claim in its ledger, list markers and start this job only", () => {
        expect(policyOf(mocks.named("clicks-warehouse-starter-policy")).Statement.slice(4)).to.deep.equal([
            {
                Sid: "ConsumeDeliveryQueue",
                Effect: "Allow",
                Action: ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                Resource: queueArn("clicks-warehouse-deliveries"),
            },
            {
                Sid: "ClaimDeliveredObjectsInRunLedger",
                Effect: "Allow",
                Action: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                Resource: "arn:aws:dynamodb:eu-west-1:123456789012:table/clicks-warehouse-runs",
            },
            {
                Sid: "FindExportedMarkers",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::clicks-warehouse-intermediate",
                Condition: { StringLike: { "s3:prefix": ["_exported/clickstream/*"] } },
            },
            {
                Sid: "StartExportJob",
                Effect: "Allow",
                Action: ["glue:StartJobRun"],
                Resource: "arn:aws:glue:eu-west-1:123456789012:job/clicks-warehouse-job",
            },
        ]);
    });

    it("keeps the job to one run at a time, refused rather than queued, and keeps the schedule as the sweep", () => {
        const job = mocks.named("clicks-warehouse-job").inputs;
        expect([job.executionProperty, job.jobRunQueuingEnabled, job.maxRetries]).to.deep.equal([{ maxConcurrentRuns: 1 }, undefined, 0]);
        expect(mocks.named("clicks-warehouse-schedule").inputs).to.deep.include({
            type: "SCHEDULED",
            schedule: "cron(0/15 * * * ? *)",
            actions: [{ jobName: "clicks-warehouse-job" }],
        });
    });
});

describe("WarehouseExport on schedule only", () => {
    it("declares no queue, ledger, starter or bucket events", async () => {
        const mocks = await useMocks();
        declareExport({ ...clickstream, warehouse: { ...clickstream.warehouse!, trigger: "schedule" } });
        await settle();
        const names = new Set(mocks.resources.map((resource) => resource.name));
        expect(onDeliveryResources.filter((name) => names.has(name))).to.deep.equal([]);
        expect(names.has("clicks-warehouse-schedule")).to.equal(true);
    });

    it("refuses on-delivery without the starter's bundle", async () => {
        await useMocks();
        expect(() => declareExport(clickstream)).to.throw(
            "clicks-warehouse: warehouse.trigger on-delivery needs the export starter's bundle (starterCode)",
        );
    });
});
