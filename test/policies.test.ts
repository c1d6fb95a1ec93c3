import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import {
    denyInsecureTransport,
    kmsUse,
    logWriting,
    objectsUnder,
    policyDocument,
    queueConsumption,
    serviceDelivery,
    serviceTrustPolicy,
    streamWriterStatement,
    xrayTraceWriting,
} from "../components/policies";
import { useMocks, valueOf } from "./support/pulumi-mocks";

const bucketArn = "arn:aws:s3:::lake";
const queueArn = "arn:aws:sqs:eu-west-1:123456789012:files";

describe("policy builders", () => {
    before(async () => {
        await useMocks();
    });

    it("write a document of the 2012-10-17 language holding exactly the statements given", async () => {
        expect(JSON.parse(await valueOf(policyDocument([kmsUse("arn:aws:kms:eu-west-1:123456789012:key/k")])))).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "UseProjectKey",
                    Effect: "Allow",
                    Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                    Resource: "arn:aws:kms:eu-west-1:123456789012:key/k",
                },
            ],
        });
    });

    it("let one service assume a role for this account only", async () => {
        expect(JSON.parse(await valueOf(serviceTrustPolicy("glue.amazonaws.com", "123456789012")))).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "AssumedByService",
                    Effect: "Allow",
                    Principal: { Service: "glue.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
                },
            ],
        });
    });

    it("name the objects under a prefix, or every object of the bucket without one", async () => {
        expect(await valueOf(objectsUnder(bucketArn, "customers/"))).to.equal("arn:aws:s3:::lake/customers/*");
        expect(await valueOf(objectsUnder(bucketArn))).to.equal("arn:aws:s3:::lake/*");
    });

    it("deny every request to a bucket and its objects that does not use TLS", async () => {
        const statement = denyInsecureTransport(bucketArn);
        expect({ ...statement, Resource: await valueOf(pulumi.output(statement.Resource)) }).to.deep.equal({
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:*"],
            Resource: ["arn:aws:s3:::lake", "arn:aws:s3:::lake/*"],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
    });

    it("let one service deliver to a queue or topic only from the given sources", () => {
        expect(
            serviceDelivery("EventBridgeDeliversCreatedObjects", "events.amazonaws.com", "sqs:SendMessage", queueArn, [
                "arn:aws:events:eu-west-1:123456789012:rule/files-created",
            ]),
        ).to.deep.equal({
            Sid: "EventBridgeDeliversCreatedObjects",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: ["sqs:SendMessage"],
            Resource: queueArn,
            Condition: { ArnEquals: { "aws:SourceArn": ["arn:aws:events:eu-west-1:123456789012:rule/files-created"] } },
        });
    });

    it("give a queue's consumer what an event source mapping calls, under the Sid given", () => {
        expect(queueConsumption(queueArn, "ConsumeFileQueue")).to.deep.equal({
            Sid: "ConsumeFileQueue",
            Effect: "Allow",
            Action: ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
            Resource: queueArn,
        });
        expect(kmsUse("arn:aws:kms:us-east-1:111111111111:key/upstream", "DecryptUpstream").Sid).to.equal("DecryptUpstream");
    });

    it("let a producer put records on one stream", () => {
        expect(streamWriterStatement("arn:aws:kinesis:eu-west-1:123456789012:stream/clicks")).to.deep.equal({
            Sid: "PutRecordsOnStream",
            Effect: "Allow",
            Action: ["kinesis:PutRecord", "kinesis:PutRecords"],
            Resource: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks",
        });
    });

    it("let a function write its own log group's streams, and send its traces where X-Ray allows only *", async () => {
        const logs = logWriting("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/fn");
        expect({ ...logs, Resource: await valueOf(pulumi.output(logs.Resource)) }).to.deep.equal({
            Sid: "WriteOwnLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/fn:*",
        });
        expect(xrayTraceWriting()).to.deep.equal({
            Sid: "SendTraces",
            Effect: "Allow",
            Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            Resource: "*",
        });
    });
});
