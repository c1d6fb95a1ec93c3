import { createHash } from "crypto";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { ConcurrentRunsExceededException, GlueClient } from "@aws-sdk/client-glue";
import {
    CreateBucketCommand,
    GetObjectCommand,
    GetObjectTaggingCommand,
    HeadObjectCommand,
    ListObjectsV2Command,
    PutBucketVersioningCommand,
    PutObjectCommand,
    S3Client,
    type Tag,
} from "@aws-sdk/client-s3";
import type { SQSEvent } from "aws-lambda";
import { expect } from "chai";
import { parseQueueMessage, type LandedObject } from "../lambdas/shared/events";
import { parseTimestamp, readExtractName } from "../lambdas/extract-trigger/extract-name";
import { createHandler, settingsFromEnvironment, type LogEntry, type TriggerSettings } from "../lambdas/extract-trigger/handler";
import { createJobAndLedger, ledgerClaims, runsOf } from "./support/claimed-runs";
import { interceptCommand } from "./support/intercept";
import { useMotoServer } from "./support/moto";
import { eventBridgeBody, notificationBody, sqsEvent } from "./support/sqs-events";

const archiveNaming = {
    regex: "^crm_customers_(\\d{4}\\d{2}\\d{2}T\\d{2}\\d{2}\\d{2}Z)_(\\d+)\\.zip$",
    groups: ["timestamp", "sequence"] as ("timestamp" | "sequence")[],
    timestampFormat: "yyyyMMdd'T'HHmmss'Z'",
};
const landingPrefix = "incoming/customers/";
/** The stack the trigger of the moto tests belongs to, which it names in its metric. */
const stack = "dev";
const fixedNow = new Date("2026-11-23T10:00:00Z");
/** When the objects of the test events landed (their `time` or `eventTime`), as the trigger passes it on. */
const eventTime = "2026-11-23T09:59:58.000Z";

describe("extract trigger: archive names", () => {
    it("reads the extract id and version from the archive name", () => {
        expect(readExtractName(`${landingPrefix}crm_customers_20261122T031500Z_7.zip`, landingPrefix, archiveNaming)).to.deep.equal({
            accepted: true,
            extract: { extractId: "20261122T031500Z-000007", extractVersion: 1795317300_000007 },
        });
    });

    it("orders extracts by timestamp, then sequence", () => {
        const versions = ["20261122T031500Z_2", "20261122T031500Z_10", "20261121T235959Z_99"].map((stamp) => {
            const name = readExtractName(`${landingPrefix}crm_customers_${stamp}.zip`, landingPrefix, archiveNaming);
            return name.accepted ? name.extract.extractVersion : -1;
        });
        expect(versions[2]).to.be.lessThan(versions[0]!);
        expect(versions[0]).to.be.lessThan(versions[1]!);
    });

    const rejected: [string, string][] = [
        [
            "other/crm_customers_20261122T031500Z_1.zip",
            'key "other/crm_customers_20261122T031500Z_1.zip" is outside the landing prefix "incoming/customers/"',
        ],
        [`${landingPrefix}notes.txt`, `"notes.txt" does not match the archive naming ${archiveNaming.regex}`],
        [
            `${landingPrefix}nested/crm_customers_20261122T031500Z_1.zip`,
            `"nested/crm_customers_20261122T031500Z_1.zip" does not match the archive naming ${archiveNaming.regex}`,
        ],
        [
            `${landingPrefix}crm_customers_20261332T031500Z_1.zip`,
            `"crm_customers_20261332T031500Z_1.zip" has no valid timestamp in the format yyyyMMdd'T'HHmmss'Z'`,
        ],
        [
            `${landingPrefix}crm_customers_20260230T031500Z_1.zip`,
            `"crm_customers_20260230T031500Z_1.zip" has no valid timestamp in the format yyyyMMdd'T'HHmmss'Z'`,
        ],
        [
            `${landingPrefix}crm_customers_20261122T031500Z_1000000.zip`,
            `"crm_customers_20261122T031500Z_1000000.zip" has sequence 1000000; the largest supported is 999999`,
        ],
    ];
    for (const [key, reason] of rejected) {
        it(`refuses ${key}`, () => {
            expect(readExtractName(key, landingPrefix, archiveNaming)).to.deep.equal({ accepted: false, reason });
        });
    }

    it("parses timestamps with separators and literals, and rejects text that does not fit", () => {
        expect(parseTimestamp("2026-11-22_03.15", "yyyy-MM-dd_HH.mm")).to.equal(Date.UTC(2026, 10, 22, 3, 15) / 1000);
        expect(parseTimestamp("20261122", "yyyyMMdd")).to.equal(Date.UTC(2026, 10, 22) / 1000);
        expect(parseTimestamp("2026-11-22", "yyyyMMdd")).to.equal(undefined);
        expect(parseTimestamp("20261122X", "yyyyMMdd")).to.equal(undefined);
        expect(parseTimestamp("20261122T241500Z", "yyyyMMdd'T'HHmmss'Z'")).to.equal(undefined);
    });
});

describe("extract trigger: messages", () => {
    it("decodes keys: '+' is a space and %2B a plus, in both event shapes", () => {
        const key = "incoming/customers/crm customers+extra%2Bv2 (1).zip";
        const encoded = "incoming/customers/crm+customers%2Bextra%252Bv2+%281%29.zip";
        expect(parseQueueMessage(eventBridgeBody("landing", encoded, "v1"))).to.deep.equal({
            kind: "objects",
            objects: [{ bucket: "landing", key, versionId: "v1", landedAt: eventTime }],
        });
        expect(parseQueueMessage(notificationBody("landing", [{ key: encoded }]))).to.deep.equal({
            kind: "objects",
            objects: [{ bucket: "landing", key, versionId: "null", landedAt: eventTime }],
        });
    });

    it("takes when each object landed from its own event: EventBridge's time, each record's eventTime, to the millisecond", () => {
        const eventBridge = JSON.parse(eventBridgeBody("landing", "incoming/customers/a.zip", "v1")) as Record<string, unknown>;
        expect(parseQueueMessage(JSON.stringify({ ...eventBridge, time: "2026-11-23T23:59:59Z" }))).to.deep.equal({
            kind: "objects",
            objects: [{ bucket: "landing", key: "incoming/customers/a.zip", versionId: "v1", landedAt: "2026-11-23T23:59:59.000Z" }],
        });
        const notification = JSON.parse(notificationBody("landing", [{ key: "a.zip" }, { key: "b.zip" }])) as {
            Records: Record<string, unknown>[];
        };
        const [first, second] = notification.Records;
        const records = [
            { ...first, eventTime: "2026-11-23T09:59:58.123456Z" },
            { ...second, eventTime: "2026-11-24T00:00:01.5Z" },
        ];
        expect(parseQueueMessage(JSON.stringify({ Records: records }))).to.deep.equal({
            kind: "objects",
            objects: [
                { bucket: "landing", key: "a.zip", versionId: "null", landedAt: "2026-11-23T09:59:58.123Z" },
                { bucket: "landing", key: "b.zip", versionId: "null", landedAt: "2026-11-24T00:00:01.500Z" },
            ],
        });
    });

    it("recognises the S3 test event", () => {
        expect(parseQueueMessage(JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "landing" }))).to.deep.equal({
            kind: "test-event",
        });
    });

    const malformed: [string, string][] = [
        ["not json", "the message body is not JSON: not json"],
        ["[1]", "the message body is not a JSON object: [1]"],
        ['{"hello":"world"}', 'the message is neither an S3 "Object Created" event nor an S3 event notification: {"hello":"world"}'],
        ['{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"}}}', "detail.object.key is missing"],
        [
            '{"Records":[{"eventName":"ObjectRemoved:Delete"}]}',
            'Records[0].eventName is "ObjectRemoved:Delete"; the trigger handles only ObjectCreated events',
        ],
        [
            '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":7}}}]}',
            "Records[0].s3.object.key is not a string",
        ],
        [
            '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a%zz"}}}]}',
            'object key "a%zz" is not valid URL encoding',
        ],
        ['{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}', "time is missing"],
        [
            '{"source":"aws.s3","detail-type":"Object Created","time":"23/11/2026 09:59","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}',
            'time "23/11/2026 09:59" is not an ISO 8601 time in UTC',
        ],
        [
            '{"Records":[{"eventName":"ObjectCreated:Put","eventTime":"2026-11-23T09:59:58+01:00","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}',
            'Records[0].eventTime "2026-11-23T09:59:58+01:00" is not an ISO 8601 time in UTC',
        ],
        [
            '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}',
            "Records[0].eventTime is missing",
        ],
        // Dates that do not exist, which JavaScript's Date would roll over to March 2nd and the next midnight.
        [
            '{"source":"aws.s3","detail-type":"Object Created","time":"2026-02-30T10:00:00Z","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}',
            'time "2026-02-30T10:00:00Z" is not an ISO 8601 time in UTC',
        ],
        [
            '{"Records":[{"eventName":"ObjectCreated:Put","eventTime":"2026-11-23T24:00:00.000Z","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}',
            'Records[0].eventTime "2026-11-23T24:00:00.000Z" is not an ISO 8601 time in UTC',
        ],
    ];
    for (const [body, message] of malformed) {
        it(`rejects ${body.slice(0, 60)}`, () => {
            expect(() => parseQueueMessage(body)).to.throw(message);
        });
    }
});

describe("extract trigger: settings", () => {
    it("names every missing variable", () => {
        expect(() => settingsFromEnvironment({ JOB_NAME: "job", LANDING_PREFIX: "" })).to.throw(
            "the trigger's environment lacks RUN_LEDGER_TABLE, LANDING_BUCKET, LANDING_PREFIX, ARCHIVE_NAMING, PIPELINE, QUARANTINE_BUCKET, STACK",
        );
    });

    it("rejects archive naming that is not the plan's shape", () => {
        const environment = {
            JOB_NAME: "job",
            RUN_LEDGER_TABLE: "runs",
            LANDING_BUCKET: "landing",
            LANDING_PREFIX: "in/",
            PIPELINE: "customers",
            QUARANTINE_BUCKET: "quarantine",
            STACK: "dev",
        };
        expect(() => settingsFromEnvironment({ ...environment, ARCHIVE_NAMING: "{" })).to.throw("ARCHIVE_NAMING is not JSON");
        expect(() => settingsFromEnvironment({ ...environment, ARCHIVE_NAMING: '{"regex":"x"}' })).to.throw(
            "ARCHIVE_NAMING must hold regex, groups and timestampFormat",
        );
        expect(settingsFromEnvironment({ ...environment, ARCHIVE_NAMING: JSON.stringify(archiveNaming) })).to.deep.equal({
            stack: "dev",
            pipeline: "customers",
            jobName: "job",
            runLedgerTable: "runs",
            landingBucket: "landing",
            landingPrefix: "in/",
            archiveNaming,
            quarantineBucket: "quarantine",
        });
    });
});

describe("extract trigger against moto", function () {
    this.timeout(60_000);
    const moto = useMotoServer();
    let glue: GlueClient;
    let dynamodb: DynamoDBClient;
    let s3: S3Client;
    let tableCount = 0;

    before(async () => {
        glue = new GlueClient(moto.clientConfig);
        dynamodb = new DynamoDBClient(moto.clientConfig);
        s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
        await s3.send(new CreateBucketCommand({ Bucket: "landing" }));
        await s3.send(new PutBucketVersioningCommand({ Bucket: "landing", VersioningConfiguration: { Status: "Enabled" } }));
        await s3.send(new CreateBucketCommand({ Bucket: "quarantine" }));
    });

    /** A fresh job, run ledger and quarantine folder per test, so runs, claims and quarantined archives never leak between tests. */
    async function pipeline(): Promise<{
        settings: TriggerSettings;
        logs: LogEntry[];
        handle: (event: SQSEvent) => ReturnType<ReturnType<typeof createHandler>>;
    }> {
        tableCount += 1;
        const settings: TriggerSettings = {
            stack,
            pipeline: `customers-${tableCount}`,
            jobName: `extract-${tableCount}`,
            runLedgerTable: `runs-${tableCount}`,
            landingBucket: "landing",
            landingPrefix,
            archiveNaming,
            quarantineBucket: "quarantine",
        };
        await createJobAndLedger(glue, dynamodb, { ...settings, script: "s3://assets/extract_job.py", maxConcurrentRuns: 10 });
        const logs: LogEntry[] = [];
        const handle = createHandler({ glue, dynamodb, s3, settings, now: () => fixedNow, log: (entry) => logs.push(entry) });
        return { settings, logs, handle };
    }

    /** Puts `body` at `key` in `bucket` and returns the version S3 gave it ("null" where versioning is off). */
    async function land(key: string, body: string, bucket = "landing"): Promise<string> {
        return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId ?? "null";
    }

    /** Every object in the pipeline's quarantine folder of archives with a bad name, with its text. */
    async function quarantined(pipelineName: string): Promise<Record<string, string>> {
        const listed = await s3.send(
            new ListObjectsV2Command({ Bucket: "quarantine", Prefix: `${pipelineName}/archives/bad-archive-name/` }),
        );
        const objects: Record<string, string> = {};
        for (const { Key } of listed.Contents ?? []) {
            objects[Key!] = await (await s3.send(new GetObjectCommand({ Bucket: "quarantine", Key }))).Body!.transformToString();
        }
        return objects;
    }

    async function tagsOf({ bucket, key, versionId }: LandedObject): Promise<Tag[]> {
        const version = versionId === "null" ? {} : { VersionId: versionId };
        return (await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, ...version }))).TagSet ?? [];
    }

    async function landedAt({ bucket, key, versionId }: LandedObject): Promise<string> {
        const version = versionId === "null" ? {} : { VersionId: versionId };
        return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...version }))).LastModified!.toISOString();
    }

    /** The layout's folder of one object version: 32 hex digits of the SHA-256 of its bucket, key and version. */
    function badNameFolder(pipelineName: string, { bucket, key, versionId }: LandedObject): string {
        const digest = createHash("sha256").update(`${bucket}\n${key}\n${versionId}`).digest("hex").slice(0, 32);
        return `${pipelineName}/archives/bad-archive-name/${digest}/`;
    }

    const quarantineTags = [
        { Key: "ingest-status", Value: "quarantined" },
        { Key: "ingest-reason", Value: "bad-archive-name" },
    ];

    /** The reason.json of an archive quarantined for its name, and the line that counts it in the stack's pipeline's metric. */
    async function expectedQuarantine(
        pipelineName: string,
        landed: LandedObject,
        detail: string,
    ): Promise<{ reason: Record<string, unknown>; entry: LogEntry }> {
        return {
            reason: {
                reason: "bad-archive-name",
                detail,
                archive: `s3://${landed.bucket}/${landed.key}?versionId=${landed.versionId}`,
                bucket: landed.bucket,
                key: landed.key,
                versionId: landed.versionId,
                landedAt: await landedAt(landed),
                expected: { landingPrefix, archiveNaming, maximumSequence: 999999 },
            },
            entry: {
                level: "error",
                message: `archive quarantined for its name: ${detail}`,
                _aws: {
                    Timestamp: fixedNow.getTime(),
                    CloudWatchMetrics: [
                        {
                            Namespace: "Ingestion/ExtractTrigger",
                            Dimensions: [["Stack", "Pipeline"]],
                            Metrics: [{ Name: "BadArchiveNames", Unit: "Count" }],
                        },
                    ],
                },
                Stack: stack,
                Pipeline: pipelineName,
                BadArchiveNames: 1,
                ...landed,
                keptIn: `s3://quarantine/${badNameFolder(pipelineName, landed)}`,
            },
        };
    }

    it("starts the job with the archive location and extract id from an EventBridge event", async () => {
        const { settings, handle } = await pipeline();
        const result = await handle(sqsEvent(eventBridgeBody("landing", "incoming/customers/crm_customers_20261122T031500Z_7.zip", "v-1")));
        expect(result).to.deep.equal({ batchItemFailures: [] });
        const runs = await runsOf(glue, settings.jobName);
        expect(runs.map((run) => run.Arguments)).to.deep.equal([
            {
                "--archive_bucket": "landing",
                "--archive_key": "incoming/customers/crm_customers_20261122T031500Z_7.zip",
                "--archive_version_id": "v-1",
                "--extract_id": "20261122T031500Z-000007",
                "--extract_version": "1795317300000007",
                "--archive_landed_at": eventTime,
            },
        ]);
        const [claim] = await ledgerClaims(dynamodb, settings.runLedgerTable);
        expect(claim).to.deep.equal({
            archive: "archive#s3://landing/incoming/customers/crm_customers_20261122T031500Z_7.zip#v-1",
            status: "STARTED",
            claimToken: claim?.claimToken,
            extractId: "20261122T031500Z-000007",
            claimedAt: "2026-11-23T10:00:00.000Z",
            startedAt: "2026-11-23T10:00:00.000Z",
            jobRunId: runs[0]?.Id,
            expiresAt: String(fixedNow.getTime() / 1000 + 90 * 24 * 3600),
        });
    });

    it("starts one run per record of an S3 notification and decodes their keys", async () => {
        const { settings, handle } = await pipeline();
        const result = await handle(
            sqsEvent(
                notificationBody("landing", [
                    { key: "incoming/customers/crm_customers_20261122T031500Z_1.zip", versionId: "a" },
                    { key: "incoming/customers/crm_customers_20261122T041500Z_2.zip", versionId: "b" },
                ]),
            ),
        );
        expect(result.batchItemFailures).to.deep.equal([]);
        const runs = (await runsOf(glue, settings.jobName)).map((run) => [
            run.Arguments?.["--extract_id"],
            run.Arguments?.["--archive_landed_at"],
        ]);
        expect(runs.sort()).to.deep.equal([
            ["20261122T031500Z-000001", eventTime],
            ["20261122T041500Z-000002", eventTime],
        ]);
    });

    it("acknowledges test events and objects that are certainly not archives sent to this pipeline, without a run or quarantine", async () => {
        const { settings, logs, handle } = await pipeline();
        const result = await handle(
            sqsEvent(
                JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "landing" }),
                eventBridgeBody("landing", "elsewhere/crm_customers_20261122T031500Z_1.zip", "v"),
                eventBridgeBody("landing", "incoming/customers/2026-11-22/", "v"),
                eventBridgeBody("another-bucket", "incoming/customers/crm_customers_20261122T031500Z_1.zip", "v"),
            ),
        );
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(await runsOf(glue, settings.jobName)).to.deep.equal([]);
        expect(await quarantined(settings.pipeline)).to.deep.equal({});
        expect(logs.map((entry) => [entry.level, entry.message])).to.deep.equal([
            ["info", "S3 test event acknowledged"],
            ["warn", 'ignored: key "elsewhere/crm_customers_20261122T031500Z_1.zip" is outside the landing prefix "incoming/customers/"'],
            ["warn", 'ignored: key "incoming/customers/2026-11-22/" is a folder marker, not an archive'],
            ["warn", "ignored: bucket is not the landing bucket landing"],
        ]);
    });

    it("treats a duplicate event for the same object version as handled, and a new version as a new extract delivery", async () => {
        const { settings, logs, handle } = await pipeline();
        const key = "incoming/customers/crm_customers_20261122T031500Z_1.zip";
        const first = await handle(sqsEvent(eventBridgeBody("landing", key, "v1"), eventBridgeBody("landing", key, "v1")));
        const again = await handle(sqsEvent(notificationBody("landing", [{ key, versionId: "v1" }])));
        const newVersion = await handle(sqsEvent(eventBridgeBody("landing", key, "v2")));
        expect([first, again, newVersion].map((result) => result.batchItemFailures)).to.deep.equal([[], [], []]);
        const runs = await runsOf(glue, settings.jobName);
        expect(runs.map((run) => run.Arguments?.["--archive_version_id"]).sort()).to.deep.equal(["v1", "v2"]);
        expect(logs.filter((entry) => entry.message.startsWith("duplicate event")).length).to.equal(2);
    });

    it("starts exactly one run when concurrent invocations receive the same object version", async () => {
        const { settings, handle } = await pipeline();
        const body = eventBridgeBody("landing", "incoming/customers/crm_customers_20261122T031500Z_1.zip", "v1");
        const results = await Promise.all(Array.from({ length: 6 }, () => handle(sqsEvent(body))));
        expect(await runsOf(glue, settings.jobName)).to.have.length(1);
        const failures = results.flatMap((result) => result.batchItemFailures);
        // An invocation that lost the race either saw the run started or is told to retry later;
        // a retry then finds the run started. Either way no second run starts.
        const retried = await Promise.all(failures.map(() => handle(sqsEvent(body))));
        expect(retried.flatMap((result) => result.batchItemFailures)).to.deep.equal([]);
        expect(await runsOf(glue, settings.jobName)).to.have.length(1);
    });

    it("returns the message to the queue when Glue reports too many concurrent runs, and starts the run on redelivery", async () => {
        const { settings, logs, handle } = await pipeline();
        let refusals = 1;
        glue.middlewareStack.add(
            (next, context) => async (args) => {
                if (context.commandName === "StartJobRunCommand" && refusals > 0) {
                    refusals -= 1;
                    throw new ConcurrentRunsExceededException({ message: "Concurrent runs exceeded for extract", $metadata: {} });
                }
                return next(args);
            },
            { step: "initialize", name: "refuseFirstStart" },
        );
        try {
            const body = eventBridgeBody("landing", "incoming/customers/crm_customers_20261122T031500Z_1.zip", "v1");
            const refused = await handle(
                sqsEvent(eventBridgeBody("landing", "incoming/customers/crm_customers_20261122T041500Z_2.zip", "v1"), body),
            );
            expect(refused.batchItemFailures).to.deep.equal([{ itemIdentifier: "message-0" }]);
            expect(logs.find((entry) => entry.level === "warn")).to.include({
                message: "Glue could not start the run now; the message returns to the queue",
                error: "ConcurrentRunsExceededException: Concurrent runs exceeded for extract",
            });
            expect((await ledgerClaims(dynamodb, settings.runLedgerTable)).map((claim) => [claim.extractId, claim.status])).to.deep.equal([
                ["20261122T031500Z-000001", "STARTED"],
            ]);

            const redelivered = await handle(
                sqsEvent(eventBridgeBody("landing", "incoming/customers/crm_customers_20261122T041500Z_2.zip", "v1")),
            );
            expect(redelivered.batchItemFailures).to.deep.equal([]);
            expect(await runsOf(glue, settings.jobName)).to.have.length(2);
        } finally {
            glue.middlewareStack.remove("refuseFirstStart");
        }
    });

    it("keeps failing a message Glue refuses outright (it ends in the dead-letter queue), releasing its claim each time", async () => {
        const { settings, logs, handle } = await pipeline();
        const broken = createHandler({
            glue,
            dynamodb,
            s3,
            settings: { ...settings, jobName: "no-such-job" },
            now: () => fixedNow,
            log: (entry) => logs.push(entry),
        });
        const body = eventBridgeBody("landing", "incoming/customers/crm_customers_20261122T031500Z_1.zip", "v1");
        expect((await broken(sqsEvent(body))).batchItemFailures).to.deep.equal([{ itemIdentifier: "message-0" }]);
        expect(logs[0]).to.include({
            level: "error",
            message: "Glue refused the run; the message returns to the queue and reaches the dead-letter queue if this persists",
        });
        expect(String(logs[0]?.error)).to.match(/^EntityNotFoundException: /);
        expect(await ledgerClaims(dynamodb, settings.runLedgerTable)).to.deep.equal([]);
        expect((await handle(sqsEvent(body))).batchItemFailures).to.deep.equal([]);
    });

    it("reports a malformed message as a failure without holding back the rest of the batch", async () => {
        const { settings, handle } = await pipeline();
        const result = await handle(
            sqsEvent("{not json", eventBridgeBody("landing", "incoming/customers/crm_customers_20261122T031500Z_1.zip", "v1")),
        );
        expect(result.batchItemFailures).to.deep.equal([{ itemIdentifier: "message-0" }]);
        expect(await runsOf(glue, settings.jobName)).to.have.length(1);
    });

    it("lets a claim whose lease ran out be taken over", async () => {
        const { settings, handle } = await pipeline();
        const archive = "archive#s3://landing/incoming/customers/crm_customers_20261122T031500Z_1.zip#v1";
        await dynamodb.send(
            new PutItemCommand({
                TableName: settings.runLedgerTable,
                Item: {
                    archive: { S: archive },
                    status: { S: "STARTING" },
                    claimToken: { S: "crashed" },
                    leaseExpiresAt: { N: String(fixedNow.getTime() / 1000 - 1) },
                },
            }),
        );
        expect(
            (await handle(sqsEvent(eventBridgeBody("landing", "incoming/customers/crm_customers_20261122T031500Z_1.zip", "v1"))))
                .batchItemFailures,
        ).to.deep.equal([]);
        const claim = await dynamodb.send(new GetItemCommand({ TableName: settings.runLedgerTable, Key: { archive: { S: archive } } }));
        expect(claim.Item?.status?.S).to.equal("STARTED");
        expect(await runsOf(glue, settings.jobName)).to.have.length(1);
    });

    /** Title, name under the prefix, the copy's file name in its quarantine folder, and why the name is refused. */
    const badNames: [string, string, string, string][] = [
        [
            "a date that does not exist",
            "crm_customers_20261332T031500Z_1.zip",
            "crm_customers_20261332T031500Z_1.zip",
            `"crm_customers_20261332T031500Z_1.zip" has no valid timestamp in the format yyyyMMdd'T'HHmmss'Z'`,
        ],
        [
            "a subfolder",
            "2026-11-22/crm_customers_20261122T031500Z_1.zip",
            "crm_customers_20261122T031500Z_1.zip",
            `"2026-11-22/crm_customers_20261122T031500Z_1.zip" does not match the archive naming ${archiveNaming.regex}`,
        ],
        [
            "the year 1969",
            "crm_customers_19691231T235959Z_1.zip",
            "crm_customers_19691231T235959Z_1.zip",
            `"crm_customers_19691231T235959Z_1.zip" has no valid timestamp in the format yyyyMMdd'T'HHmmss'Z'`,
        ],
        [
            "a sequence over 999999",
            "crm_customers_20261122T031500Z_1000000.zip",
            "crm_customers_20261122T031500Z_1000000.zip",
            `"crm_customers_20261122T031500Z_1000000.zip" has sequence 1000000; the largest supported is 999999`,
        ],
        [
            "a name that is not an archive's",
            "readme.txt",
            "readme.txt",
            `"readme.txt" does not match the archive naming ${archiveNaming.regex}`,
        ],
        [
            "the reason file's name",
            "reason.json",
            "landed-reason.json",
            `"reason.json" does not match the archive naming ${archiveNaming.regex}`,
        ],
    ];
    for (const [title, name, copyName, detail] of badNames) {
        it(`quarantines, tags and counts an object under the prefix named with ${title}, and starts no run`, async () => {
            const { settings, logs, handle } = await pipeline();
            const key = `${landingPrefix}${name}`;
            const landed = { bucket: "landing", key, versionId: await land(key, `bytes of ${name}`), landedAt: eventTime };
            const result = await handle(sqsEvent(eventBridgeBody("landing", key, landed.versionId)));
            expect(result).to.deep.equal({ batchItemFailures: [] });
            expect(await runsOf(glue, settings.jobName)).to.deep.equal([]);
            expect(await ledgerClaims(dynamodb, settings.runLedgerTable)).to.deep.equal([]);
            const folder = badNameFolder(settings.pipeline, landed);
            const kept = await quarantined(settings.pipeline);
            expect(Object.keys(kept).sort()).to.deep.equal([`${folder}${copyName}`, `${folder}reason.json`].sort());
            expect(kept[`${folder}${copyName}`]).to.equal(`bytes of ${name}`);
            const { reason, entry } = await expectedQuarantine(settings.pipeline, landed, detail);
            expect(JSON.parse(kept[`${folder}reason.json`]!)).to.deep.equal(reason);
            expect(await tagsOf(landed)).to.deep.equal(quarantineTags);
            expect(logs).to.deep.equal([entry]);
        });
    }

    it("keeps every version and subfolder apart, and writes the same objects again when an event is redelivered", async () => {
        const { settings, handle } = await pipeline();
        const key = `${landingPrefix}crm_customers_20261122T031500Z_1.ZIP`;
        const nestedKey = `${landingPrefix}late/crm_customers_20261122T031500Z_1.ZIP`;
        const first = { bucket: "landing", key, versionId: await land(key, "first"), landedAt: eventTime };
        const second = { bucket: "landing", key, versionId: await land(key, "second"), landedAt: eventTime };
        const nested = { bucket: "landing", key: nestedKey, versionId: await land(nestedKey, "nested"), landedAt: eventTime };
        const delivered = await handle(
            sqsEvent(...[first, second, nested].map((landed) => eventBridgeBody("landing", landed.key, landed.versionId))),
        );
        expect(delivered.batchItemFailures).to.deep.equal([]);
        const kept = await quarantined(settings.pipeline);
        const copies = Object.fromEntries(
            [first, second, nested].map((landed) => [
                `${badNameFolder(settings.pipeline, landed)}crm_customers_20261122T031500Z_1.ZIP`,
                landed,
            ]),
        );
        expect(Object.keys(kept).sort()).to.deep.equal(
            Object.keys(copies)
                .flatMap((copy) => [copy, copy.replace(/[^/]+$/, "reason.json")])
                .sort(),
        );
        expect(Object.keys(copies).map((copy) => kept[copy])).to.deep.equal(["first", "second", "nested"]);

        const redelivered = await handle(sqsEvent(eventBridgeBody("landing", key, first.versionId)));
        expect(redelivered.batchItemFailures).to.deep.equal([]);
        expect(await quarantined(settings.pipeline)).to.deep.equal(kept);
    });

    it('quarantines an object written while versioning was off under its "null" version', async () => {
        const { settings, logs } = await pipeline();
        await s3.send(new CreateBucketCommand({ Bucket: "landing-unversioned" }));
        const handle = createHandler({
            glue,
            dynamodb,
            s3,
            settings: { ...settings, landingBucket: "landing-unversioned" },
            now: () => fixedNow,
            log: (entry) => logs.push(entry),
        });
        const key = `${landingPrefix}crm customers+v2.zip`;
        const landed = {
            bucket: "landing-unversioned",
            key,
            versionId: await land(key, "unversioned", "landing-unversioned"),
            landedAt: eventTime,
        };
        expect(landed.versionId).to.equal("null");
        const result = await handle(
            sqsEvent(notificationBody("landing-unversioned", [{ key: "incoming/customers/crm+customers%2Bv2.zip" }])),
        );
        expect(result.batchItemFailures).to.deep.equal([]);
        const folder = badNameFolder(settings.pipeline, landed);
        const kept = await quarantined(settings.pipeline);
        expect(kept[`${folder}crm customers+v2.zip`]).to.equal("unversioned");
        const { reason, entry } = await expectedQuarantine(
            settings.pipeline,
            landed,
            `"crm customers+v2.zip" does not match the archive naming ${archiveNaming.regex}`,
        );
        expect(JSON.parse(kept[`${folder}reason.json`]!)).to.deep.equal(reason);
        expect(await tagsOf(landed)).to.deep.equal(quarantineTags);
        expect(logs).to.deep.equal([entry]);
    });

    const failingSteps: [string, string][] = [
        ["the copy", "CopyObjectCommand"],
        ["writing reason.json", "PutObjectCommand"],
        ["the tagging", "PutObjectTaggingCommand"],
    ];
    for (const [step, commandName] of failingSteps) {
        it(`returns the message to the queue when ${step} fails, leaving the landed version untagged, and keeps it on redelivery`, async () => {
            const { settings, logs, handle } = await pipeline();
            const key = `${landingPrefix}crm_customers_20261122T031500Z_1.tar.gz`;
            const landed = { bucket: "landing", key, versionId: await land(key, "archive"), landedAt: eventTime };
            const body = eventBridgeBody("landing", key, landed.versionId);
            const remove = interceptCommand(s3, commandName, () =>
                Promise.reject(Object.assign(new Error("We encountered an internal error. Please try again."), { name: "InternalError" })),
            );
            let failed;
            try {
                failed = await handle(sqsEvent(body));
            } finally {
                remove();
            }
            const detail = `"crm_customers_20261122T031500Z_1.tar.gz" does not match the archive naming ${archiveNaming.regex}`;
            expect(failed.batchItemFailures).to.deep.equal([{ itemIdentifier: "message-0" }]);
            expect(logs).to.deep.equal([
                {
                    level: "error",
                    message: "could not quarantine an archive with a bad name; the message returns to the queue",
                    ...landed,
                    detail,
                    error: "InternalError: We encountered an internal error. Please try again.",
                    messageId: "message-0",
                },
            ]);
            expect(await tagsOf(landed)).to.deep.equal([]);

            logs.length = 0;
            expect((await handle(sqsEvent(body))).batchItemFailures).to.deep.equal([]);
            expect(Object.keys(await quarantined(settings.pipeline)).length).to.equal(2);
            expect(await tagsOf(landed)).to.deep.equal(quarantineTags);
            expect(logs).to.deep.equal([(await expectedQuarantine(settings.pipeline, landed, detail)).entry]);
        });
    }

    it("writes the quarantine line to stdout by default, where CloudWatch reads it as Embedded Metric Format", async () => {
        const { settings } = await pipeline();
        const handle = createHandler({ glue, dynamodb, s3, settings, now: () => fixedNow });
        const key = `${landingPrefix}notes.txt`;
        const landed = { bucket: "landing", key, versionId: await land(key, "notes"), landedAt: eventTime };
        const written: unknown[] = [];
        const write = process.stdout.write.bind(process.stdout);
        process.stdout.write = (chunk: unknown) => written.push(chunk) > 0;
        try {
            await handle(sqsEvent(eventBridgeBody("landing", key, landed.versionId)));
        } finally {
            process.stdout.write = write;
        }
        const keptIn = `s3://quarantine/${badNameFolder(settings.pipeline, landed)}`;
        expect(written).to.deep.equal([
            '{"level":"error","message":"archive quarantined for its name: \\"notes.txt\\" does not match the archive naming ' +
                JSON.stringify(archiveNaming.regex).slice(1, -1) +
                '","_aws":{"Timestamp":1795428000000,"CloudWatchMetrics":[{"Namespace":"Ingestion/ExtractTrigger","Dimensions":[["Stack","Pipeline"]],' +
                `"Metrics":[{"Name":"BadArchiveNames","Unit":"Count"}]}]},"Stack":"dev","Pipeline":"${settings.pipeline}","BadArchiveNames":1,` +
                `"bucket":"landing","key":"${key}","versionId":"${landed.versionId}","landedAt":"${eventTime}","keptIn":"${keptIn}"}\n`,
        ]);
    });
});
