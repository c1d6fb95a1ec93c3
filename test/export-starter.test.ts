import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlueClient } from "@aws-sdk/client-glue";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { SQSEvent } from "aws-lambda";
import { expect } from "chai";
import { exportMarkerPrefix } from "../contracts/glue-jobs";
import { createHandler, settingsFromEnvironment, type ExportStarterSettings } from "../lambdas/export-starter/handler";
import type { LogEntry } from "../lambdas/shared/runtime";
import { createJobAndLedger, ledgerClaims, runsOf } from "./support/claimed-runs";
import { useMotoServer } from "./support/moto";
import { eventBridgeBody, notificationBody, sqsEvent } from "./support/sqs-events";

const fixedNow = new Date("2026-11-23T10:00:00Z");
const deliveryPrefix = "clickstream/";
/** Objects as the warehouse Firehose names them under its prefix. */
const delivered = (hour: string, id: string) =>
    `clickstream/2026/11/23/${hour}/ingest-dev-clickstream-warehouse-delivery-1-2026-11-23-${hour}-05-01-${id}.gz`;

describe("export starter: settings", () => {
    it("names every missing variable", () => {
        expect(() => settingsFromEnvironment({ JOB_NAME: "export", DELIVERY_PREFIX: "" })).to.throw(
            "the export starter's environment lacks RUN_LEDGER_TABLE, DELIVERY_BUCKET, DELIVERY_PREFIX, MARKER_PREFIX",
        );
    });

    it("reads every setting", () => {
        expect(
            settingsFromEnvironment({
                JOB_NAME: "export",
                RUN_LEDGER_TABLE: "runs",
                DELIVERY_BUCKET: "delivery",
                DELIVERY_PREFIX: deliveryPrefix,
                MARKER_PREFIX: exportMarkerPrefix,
            }),
        ).to.deep.equal({
            jobName: "export",
            runLedgerTable: "runs",
            deliveryBucket: "delivery",
            deliveryPrefix,
            markerPrefix: "_exported/",
        });
    });
});

describe("export starter against moto", function () {
    this.timeout(60_000);
    const moto = useMotoServer();
    let glue: GlueClient;
    let dynamodb: DynamoDBClient;
    let s3: S3Client;
    let count = 0;

    before(async () => {
        glue = new GlueClient(moto.clientConfig);
        dynamodb = new DynamoDBClient(moto.clientConfig);
        s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
        await s3.send(new CreateBucketCommand({ Bucket: "delivery" }));
    });

    /** How moto moves Glue job runs on: "manual" keeps a run STARTING (one run at a time holds), "immediate" finishes it when read. */
    async function jobRunsProgress(progression: "manual" | "immediate"): Promise<void> {
        const transition = progression === "manual" ? { progression, times: 1_000_000 } : { progression };
        const response = await fetch(`${moto.endpoint}/moto-api/state-manager/set-transition`, {
            method: "POST",
            body: JSON.stringify({ model_name: "glue::job_run", transition }),
        });
        expect(response.status).to.equal(201);
    }

    afterEach(async () => {
        await jobRunsProgress("immediate");
    });

    /** A fresh export job (`maxConcurrentRuns` at once) and run ledger per test. */
    async function exportJob(maxConcurrentRuns: number): Promise<{
        settings: ExportStarterSettings;
        logs: LogEntry[];
        handle: (event: SQSEvent) => ReturnType<ReturnType<typeof createHandler>>;
    }> {
        count += 1;
        const settings: ExportStarterSettings = {
            jobName: `export-${count}`,
            runLedgerTable: `export-runs-${count}`,
            deliveryBucket: "delivery",
            deliveryPrefix,
            markerPrefix: exportMarkerPrefix,
        };
        await createJobAndLedger(glue, dynamodb, { ...settings, script: "s3://assets/stream_export_job.py", maxConcurrentRuns });
        const logs: LogEntry[] = [];
        const handle = createHandler({ glue, dynamodb, s3, settings, now: () => fixedNow, log: (entry) => logs.push(entry) });
        return { settings, logs, handle };
    }

    /** The delivered key each run of the job was started for, in start order. */
    async function runObjects(jobName: string): Promise<(string | undefined)[]> {
        const runs = await runsOf(glue, jobName);
        return runs.sort((a, b) => a.StartedOn!.getTime() - b.StartedOn!.getTime()).map((run) => run.Arguments?.["--delivered_key"]);
    }

    async function claims(table: string): Promise<[string, string][]> {
        return (await ledgerClaims(dynamodb, table)).map((claim) => [claim.archive!, claim.status!] as [string, string]).sort();
    }

    it("starts an object-scoped run naming the delivered object, and claims its version", async () => {
        const { settings, logs, handle } = await exportJob(1);
        const key = delivered("14", "0b6c1f0e");
        const result = await handle(sqsEvent(eventBridgeBody("delivery", key, "v1")));
        expect(result.batchItemFailures).to.deep.equal([]);
        const runs = await runsOf(glue, settings.jobName);
        expect(runs.map((run) => run.Arguments)).to.deep.equal([{ "--delivered_key": key }]);
        expect(await claims(settings.runLedgerTable)).to.deep.equal([[`archive#s3://delivery/${key}#v1`, "STARTED"]]);
        expect(logs).to.deep.equal([
            {
                level: "info",
                message: "started export run",
                bucket: "delivery",
                key,
                versionId: "v1",
                landedAt: "2026-11-23T09:59:58.000Z",
                jobRunId: runs[0]!.Id,
            },
        ]);
    });

    it("keeps the message of an object whose start Glue refuses (one run at a time) and starts its run on redelivery", async () => {
        const { settings, logs, handle } = await exportJob(1);
        await jobRunsProgress("manual"); // the first run stays STARTING: moto refuses a second as Glue does
        const first = delivered("14", "0b6c1f0e");
        const second = delivered("14", "7e2d4a90");
        const started = await handle(sqsEvent(eventBridgeBody("delivery", first, "v1")));
        const refused = await handle(sqsEvent(eventBridgeBody("delivery", second, "v1")));
        expect([started.batchItemFailures, refused.batchItemFailures]).to.deep.equal([[], [{ itemIdentifier: "message-0" }]]);
        expect(logs.filter((entry) => entry.level === "warn")).to.deep.equal([
            {
                level: "warn",
                message: "Glue could not start the run now (one run at a time); the message returns to the queue",
                bucket: "delivery",
                key: second,
                versionId: "v1",
                landedAt: "2026-11-23T09:59:58.000Z",
                error: `ConcurrentRunsExceededException: Job with name ${settings.jobName} already running`,
                messageId: "message-0",
            },
        ]);
        // The refused object's claim is released, so its redelivered message can claim it afresh.
        expect(await claims(settings.runLedgerTable)).to.deep.equal([[`archive#s3://delivery/${first}#v1`, "STARTED"]]);
        expect(await runObjects(settings.jobName)).to.deep.equal([first]);

        // Still running: the redelivered message is refused again, and kept again.
        expect((await handle(sqsEvent(eventBridgeBody("delivery", second, "v1")))).batchItemFailures).to.deep.equal([
            { itemIdentifier: "message-0" },
        ]);
        await jobRunsProgress("immediate");
        await runObjects(settings.jobName); // moto finishes the run as it is read
        await runObjects(settings.jobName);
        const redelivered = await handle(sqsEvent(eventBridgeBody("delivery", second, "v1")));
        expect(redelivered.batchItemFailures).to.deep.equal([]);
        expect(await runObjects(settings.jobName)).to.deep.equal([first, second]);
    });

    it("starts one run per object however often and however concurrently its delivery is repeated", async () => {
        const { settings, logs, handle } = await exportJob(10);
        const key = delivered("15", "c0ffee00");
        const other = delivered("15", "5eed0000");
        const body = eventBridgeBody("delivery", key, "v1");
        const batch = await handle(sqsEvent(body, body, notificationBody("delivery", [{ key, versionId: "v1" }])));
        expect(logs.filter((entry) => entry.message.startsWith("duplicate event")).length).to.equal(2);
        const concurrent = await Promise.all(Array.from({ length: 6 }, () => handle(sqsEvent(body))));
        // An invocation that lost the race saw the run started or is told to retry; the retry finds it started.
        const retried = await Promise.all(concurrent.flatMap((result) => result.batchItemFailures).map(() => handle(sqsEvent(body))));
        const otherObject = await handle(sqsEvent(eventBridgeBody("delivery", other, "v1")));
        expect([batch, ...retried, otherObject].flatMap((result) => result.batchItemFailures)).to.deep.equal([]);
        expect(await runObjects(settings.jobName)).to.deep.equal([key, other]);
    });

    it("starts no run for an object a run exported already, nor for objects that are not delivered records", async () => {
        const { settings, logs, handle } = await exportJob(1);
        const exported = delivered("16", "e0e0e0e0");
        await s3.send(new PutObjectCommand({ Bucket: "delivery", Key: `_exported/${exported}`, Body: "{}" }));
        const result = await handle(
            sqsEvent(
                eventBridgeBody("delivery", exported, "v1"),
                eventBridgeBody("other-bucket", delivered("16", "0a0a0a0a"), "v1"),
                eventBridgeBody("delivery", "clickstream-errors/processing-failed/2026-11-23/x.gz", "v1"),
                eventBridgeBody("delivery", "clickstream/2026/11/23/16/", "v1"),
                JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "delivery" }),
            ),
        );
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(await runObjects(settings.jobName)).to.deep.equal([]);
        expect(await claims(settings.runLedgerTable)).to.deep.equal([]);
        expect(logs.map((entry) => entry.message)).to.deep.equal([
            "already exported: a run exported this object before its own run started",
            "ignored: bucket is not the delivery bucket delivery",
            'ignored: key "clickstream-errors/processing-failed/2026-11-23/x.gz" is outside the delivery prefix "clickstream/"',
            'ignored: key "clickstream/2026/11/23/16/" is a folder marker, not a delivered object',
            "S3 test event acknowledged",
        ]);
    });

    it("keeps a message Glue refuses outright for the dead-letter queue, releasing its claim", async () => {
        const { settings, logs } = await exportJob(1);
        const broken = createHandler({
            glue,
            dynamodb,
            s3,
            settings: { ...settings, jobName: "no-such-job" },
            now: () => fixedNow,
            log: (entry) => logs.push(entry),
        });
        const result = await broken(sqsEvent(eventBridgeBody("delivery", delivered("17", "deadbeef"), "v1")));
        expect(result.batchItemFailures).to.deep.equal([{ itemIdentifier: "message-0" }]);
        expect(logs[0]).to.include({
            level: "error",
            message: "Glue refused the run; the message returns to the queue and reaches the dead-letter queue if this persists",
        });
        expect(String(logs[0]?.error)).to.match(/^EntityNotFoundException: /);
        expect(await claims(settings.runLedgerTable)).to.deep.equal([]);
    });
});
