import { CreateJobCommand, GlueClient, StartJobRunCommand, type GetJobRunCommandOutput } from "@aws-sdk/client-glue";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import { notifierVariables } from "../lambdas/run-notifier/contract";
import {
    createHandler,
    settingsFromEnvironment,
    type JobStateChangeEvent,
    type NotifierOutcome,
    type NotifierSettings,
} from "../lambdas/run-notifier/handler";
import type { LogEntry } from "../lambdas/shared/runtime";
import { interceptCommand } from "./support/intercept";
import { useMotoServer } from "./support/moto";

/**
 * The run notifier against moto: Glue holds the runs, S3 the job's reports, and the pipeline's topic
 * delivers to an SQS queue, from which the tests read what was published, as a subscriber would.
 */

const extractId = "20261123T060000Z-000001";
const landedAt = "2026-11-23T06:00:12.000Z";
const archiveKey = "incoming/customers/crm_customers_20261123T060000Z_1.zip";

describe("run notifier: settings", () => {
    it("reads the pipeline, the lake bucket and the topic from the variables the contract names", () => {
        expect(notifierVariables).to.deep.equal(["PIPELINE", "LAKE_BUCKET", "TOPIC_ARN"]);
        expect(
            settingsFromEnvironment({ PIPELINE: "customers", LAKE_BUCKET: "lake", TOPIC_ARN: "arn:aws:sns:us-east-1:1:runs" }),
        ).to.deep.equal({
            pipeline: "customers",
            lakeBucket: "lake",
            topicArn: "arn:aws:sns:us-east-1:1:runs",
        });
    });

    it("names every missing variable, an empty one included", () => {
        expect(() => settingsFromEnvironment({ LAKE_BUCKET: "" })).to.throw(
            "the run notifier's environment lacks PIPELINE, LAKE_BUCKET, TOPIC_ARN",
        );
        expect(() => settingsFromEnvironment({ PIPELINE: "customers", LAKE_BUCKET: "lake" })).to.throw(
            "the run notifier's environment lacks TOPIC_ARN",
        );
    });
});

describe("run notifier against moto", function () {
    this.timeout(60_000);
    const moto = useMotoServer();
    let glue: GlueClient;
    let s3: S3Client;
    let sns: SNSClient;
    let sqs: SQSClient;
    let settings: NotifierSettings;
    let inbox: string;
    const jobName = "ingest-test-customers-job";

    before(async () => {
        glue = new GlueClient(moto.clientConfig);
        s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
        sns = new SNSClient(moto.clientConfig);
        sqs = new SQSClient(moto.clientConfig);
        await s3.send(new CreateBucketCommand({ Bucket: "lake" }));
        await glue.send(
            new CreateJobCommand({
                Name: jobName,
                Role: "arn:aws:iam::123456789012:role/job",
                Command: { Name: "glueetl", ScriptLocation: "s3://assets/extract_job.py" },
                ExecutionProperty: { MaxConcurrentRuns: 10 },
            }),
        );
        const topic = await sns.send(new CreateTopicCommand({ Name: "ingest-test-customers-notifications" }));
        inbox = (await sqs.send(new CreateQueueCommand({ QueueName: "subscriber" }))).QueueUrl!;
        const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: inbox, AttributeNames: ["QueueArn"] }))).Attributes!
            .QueueArn;
        await sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "sqs", Endpoint: queueArn }));
        settings = { pipeline: "customers", lakeBucket: "lake", topicArn: topic.TopicArn! };
    });

    afterEach(async () => {
        expect(await published(), "a message no test read").to.deep.equal([]);
    });

    /** Every message the topic delivered since the last call, as SNS hands it to a subscribed queue. */
    async function published(): Promise<{ Subject?: string; Message: string; TopicArn: string }[]> {
        const messages: { Subject?: string; Message: string; TopicArn: string }[] = [];
        for (;;) {
            const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: inbox, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
            if (!received.Messages?.length) {
                return messages;
            }
            for (const message of received.Messages) {
                messages.push(JSON.parse(message.Body!) as { Subject?: string; Message: string; TopicArn: string });
                await sqs.send(new DeleteMessageCommand({ QueueUrl: inbox, ReceiptHandle: message.ReceiptHandle }));
            }
        }
    }

    /** Starts a run of the job with the arguments the trigger gives it; returns its id. */
    async function startRun(extraArguments: Record<string, string> = {}): Promise<string> {
        const started = await glue.send(
            new StartJobRunCommand({
                JobName: jobName,
                Arguments: {
                    "--archive_bucket": "landing",
                    "--archive_key": archiveKey,
                    "--archive_version_id": "v1",
                    "--extract_id": extractId,
                    "--extract_version": "1795413600000001",
                    "--archive_landed_at": landedAt,
                    ...extraArguments,
                },
            }),
        );
        return started.JobRunId!;
    }

    /** The report the job keeps for a run (the fields the notifier reads, among those ingest/report.py writes). */
    async function putReport(jobRunId: string, fields: { notified: boolean; failure: { reason: string; detail: string } | null }) {
        const report = {
            pipeline: "customers",
            extractId,
            jobRunId,
            status: fields.failure ? "failed" : "succeeded",
            landedAt,
            startedAt: "2026-11-23T06:01:00Z",
            finishedAt: "2026-11-23T06:47:17Z",
            ...fields,
        };
        await s3.send(
            new PutObjectCommand({ Bucket: "lake", Key: `customers/_reports/${extractId}/${jobRunId}.json`, Body: JSON.stringify(report) }),
        );
    }

    function stateChange(jobRunId: string, state: string, message: string): JobStateChangeEvent {
        return {
            version: "0",
            id: "2f9c7d6e-0000-4000-8000-000000000000",
            "detail-type": "Glue Job State Change",
            source: "aws.glue",
            account: "123456789012",
            time: "2026-11-23T06:47:18Z",
            region: "us-east-1",
            resources: [],
            detail: { jobName, jobRunId, state, message },
        };
    }

    /**
     * The notifier with its log, and Glue answering that the run started at 06:01:00 and ended at
     * 06:47:17 (moto dates a run by when it was started, and ends every run at once).
     */
    function notifier(): { handle: (event: JobStateChangeEvent) => Promise<NotifierOutcome>; logs: LogEntry[]; restore: () => void } {
        const logs: LogEntry[] = [];
        const restore = interceptCommand<{ RunId?: string }, GetJobRunCommandOutput>(glue, "GetJobRunCommand", async (input, send) => {
            const found = await send(input);
            return {
                ...found,
                JobRun: { ...found.JobRun, StartedOn: new Date("2026-11-23T06:01:00Z"), CompletedOn: new Date("2026-11-23T06:47:17Z") },
            };
        });
        return { handle: createHandler({ glue, s3, sns, settings, log: (entry) => logs.push(entry) }), logs, restore };
    }

    it("publishes nothing for a run whose report says the job announced it", async () => {
        const jobRunId = await startRun();
        await putReport(jobRunId, { notified: true, failure: { reason: "row-count-mismatch", detail: "customers: read 3" } });
        const { handle, logs, restore } = notifier();
        try {
            expect(await handle(stateChange(jobRunId, "FAILED", "RunFailure: row-count-mismatch"))).to.deep.equal({
                outcome: "notified-by-job",
            });
        } finally {
            restore();
        }
        expect(await published()).to.deep.equal([]);
        expect(logs).to.deep.equal([{ level: "info", message: "the job announced this run itself", jobRunId, state: "FAILED", extractId }]);
    });

    it("publishes once, in the job's place, for a run whose report says its notification did not go out", async () => {
        const jobRunId = await startRun();
        await putReport(jobRunId, { notified: false, failure: { reason: "items-not-written", detail: "3 items failed" } });
        const { handle, logs, restore } = notifier();
        let outcome: NotifierOutcome;
        try {
            outcome = await handle(stateChange(jobRunId, "FAILED", "RunFailure: items-not-written: 3 items failed"));
        } finally {
            restore();
        }
        const subject = `[customers] extract ${extractId} FAILED 47m 05s after landing`;
        const messages = await published();
        expect(messages.map(({ Subject, Message, TopicArn }) => ({ Subject, Message, TopicArn }))).to.deep.equal([
            {
                Subject: subject,
                TopicArn: settings.topicArn,
                Message: [
                    subject,
                    `Glue run ${jobRunId} of ${jobName} ended FAILED: RunFailure: items-not-written: 3 items failed`,
                    `Archive: s3://landing/${archiveKey}?versionId=v1`,
                    `Landed ${landedAt}, run started 2026-11-23T06:01:00.000Z, ended 2026-11-23T06:47:17.000Z`,
                    `The job's report (s3://lake/customers/_reports/${extractId}/${jobRunId}.json) says it could not notify this run; ` +
                        "its reason: items-not-written: 3 items failed",
                ].join("\n"),
            },
        ]);
        expect(outcome).to.have.property("outcome", "published");
        expect(outcome)
            .to.have.property("messageId")
            .that.matches(/^[0-9a-f-]{36}$/);
        expect(logs).to.deep.equal([
            { level: "info", message: "announced a run the job did not", jobRunId, state: "FAILED", extractId, subject },
        ]);
    });

    it("publishes for a run that ended before the job could write its report, saying so", async () => {
        const jobRunId = await startRun();
        const { handle, restore } = notifier();
        try {
            await handle(stateChange(jobRunId, "TIMEOUT", "Job run timed out"));
        } finally {
            restore();
        }
        const subject = `[customers] extract ${extractId} TIMEOUT 47m 05s after landing`;
        expect((await published()).map(({ Subject, Message }) => ({ Subject, Message }))).to.deep.equal([
            {
                Subject: subject,
                Message: [
                    subject,
                    `Glue run ${jobRunId} of ${jobName} ended TIMEOUT: Job run timed out`,
                    `Archive: s3://landing/${archiveKey}?versionId=v1`,
                    `Landed ${landedAt}, run started 2026-11-23T06:01:00.000Z, ended 2026-11-23T06:47:17.000Z`,
                    "The run ended before the job could write its report (timed out, stopped, or out of memory); see its logs in CloudWatch",
                ].join("\n"),
            },
        ]);
    });

    it("reads only the run's own report, not another run's of the same extract", async () => {
        const earlier = await startRun();
        await putReport(earlier, { notified: true, failure: null });
        const jobRunId = await startRun();
        const { handle, restore } = notifier();
        try {
            expect(await handle(stateChange(jobRunId, "STOPPED", "Job run stopped"))).to.have.property("outcome", "published");
        } finally {
            restore();
        }
        expect((await published()).map((message) => message.Subject)).to.deep.equal([
            `[customers] extract ${extractId} STOPPED 47m 05s after landing`,
        ]);
    });

    it("says no latency for a run started by hand without a landing time", async () => {
        const started = await glue.send(new StartJobRunCommand({ JobName: jobName, Arguments: { "--extract_id": extractId } }));
        const { handle, restore } = notifier();
        try {
            await handle(stateChange(started.JobRunId!, "FAILED", "Job failed"));
        } finally {
            restore();
        }
        const [message] = await published();
        expect(message!.Subject).to.equal(`[customers] extract ${extractId} FAILED`);
        expect(message!.Message.split("\n").slice(2, 4)).to.deep.equal([
            "Archive: (unknown)",
            "Landed (unknown), run started 2026-11-23T06:01:00.000Z, ended 2026-11-23T06:47:17.000Z",
        ]);
    });

    it("fails the invocation, publishing nothing, when Glue does not know the run", async () => {
        const handle = createHandler({ glue, s3, sns, settings, log: () => undefined });
        const error = await handle(stateChange("jr_0000000000000000000000000000000000000000000000000000000000000000", "FAILED", "")).then(
            () => undefined,
            (thrown: unknown) => thrown,
        );
        expect(error).to.have.property("name", "EntityNotFoundException");
        expect(await published()).to.deep.equal([]);
    });

    it("fails the invocation, publishing nothing, when it cannot look for the run's report", async () => {
        const jobRunId = await startRun();
        const handle = createHandler({ glue, s3, sns, settings: { ...settings, lakeBucket: "no-such-lake" }, log: () => undefined });
        const error = await handle(stateChange(jobRunId, "TIMEOUT", "Job run timed out")).then(
            () => undefined,
            (thrown: unknown) => thrown,
        );
        expect(error).to.have.property("name", "NoSuchBucket");
        expect(await published()).to.deep.equal([]);
    });
});
