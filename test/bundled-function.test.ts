import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { BundledFunction } from "../components/bundled-function";
import type { TracingMode } from "../components/bundled-function/lambda-settings";
import { policyOf, settle, useMocks, type RecordingMocks } from "./support/pulumi-mocks";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const deadLetterQueueArn = "arn:aws:sqs:eu-west-1:123456789012:queue/fn-dlq";
const code = new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") });

function declare(name: string, extra: { tracing?: TracingMode; reservedConcurrency: number }): BundledFunction {
    return new BundledFunction(name, {
        description: "A function",
        code,
        kmsKeyArn: keyArn,
        deadLetterQueueArn,
        policyStatements: [{ Sid: "ReadTable", Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: "arn:aws:dynamodb:::table/t" }],
        ...extra,
    });
}

function functionInputs(mocks: RecordingMocks, name: string): Record<string, unknown> {
    return mocks.ofType("aws:lambda/function:Function").find((resource) => resource.name === name)!.inputs;
}

describe("BundledFunction", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        declare("fn", { reservedConcurrency: 3 });
        declare("passing", { tracing: "PassThrough", reservedConcurrency: 1 });
        await settle();
    });

    it("gives its role its log group, the project key, its dead-letter queue and X-Ray traces, then the statements given", () => {
        expect(policyOf(mocks.named("fn-policy")).Statement).to.deep.equal([
            {
                Sid: "WriteOwnLogs",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:fn-logs:*",
            },
            {
                Sid: "UseProjectKey",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                Resource: keyArn,
            },
            { Sid: "SendFailedInvocationsToDeadLetterQueue", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: deadLetterQueueArn },
            // X-Ray has no resource type and no condition key for these two: "*" is the only Resource they take.
            { Sid: "SendTraces", Effect: "Allow", Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], Resource: "*" },
            { Sid: "ReadTable", Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: "arn:aws:dynamodb:::table/t" },
        ]);
    });

    it("traces actively unless told otherwise, and reserves the concurrency it is given", () => {
        const traced = (name: string) => {
            const inputs = functionInputs(mocks, name);
            return [inputs.tracingConfig, inputs.reservedConcurrentExecutions];
        };
        expect([traced("fn"), traced("passing")]).to.deep.equal([
            [{ mode: "Active" }, 3],
            [{ mode: "PassThrough" }, 1],
        ]);
    });

    it("encrypts its environment and logs with the project key, and sends failed invocations to its dead-letter queue", () => {
        expect(functionInputs(mocks, "fn")).to.deep.include({
            kmsKeyArn: keyArn,
            deadLetterConfig: { targetArn: deadLetterQueueArn },
            role: "arn:aws:iam:eu-west-1:123456789012:role/fn-role",
        });
        expect(mocks.named("fn-logs").inputs).to.deep.equal({ retentionInDays: 90, kmsKeyId: keyArn });
    });

    for (const reservedConcurrency of [0, -1, 1.5]) {
        it(`refuses a reservation of ${reservedConcurrency}, with which the function could not run as sized`, async () => {
            await useMocks();
            expect(() => declare("bad", { reservedConcurrency })).to.throw(
                `bad: reservedConcurrency must be a whole number of at least 1, not ${reservedConcurrency}`,
            );
        });
    }
});
