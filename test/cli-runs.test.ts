import {
    GetJobRunsCommand,
    StartJobRunCommand,
    type GetJobRunsCommandInput,
    type GetJobRunsCommandOutput,
    type JobRun,
} from "@aws-sdk/client-glue";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import type { AwsClients } from "../cli/aws";
import { describeChanges, describeScan, runReportKey } from "../cli/run-report";
import { configDirectory, loadJobPlans } from "../config/load";
import { createHandler, type LogEntry } from "../lambdas/extract-trigger/handler";
import { describeSeconds } from "../lambdas/shared/durations";
import { fixtureRoot } from "./support/config-root";
import { interceptCommand } from "./support/intercept";
import { useMotoServer } from "./support/moto";
import { deployOperatorStack, motoClients, operatorStack, runOperator, setMotoTransition, writeOutputsFile } from "./support/operator";
import { eventBridgeBody, sqsEvent } from "./support/sqs-events";

/** A time as `runs` prints it. */
function utc(time: Date): string {
    return `${time.toISOString().slice(0, 10)} ${time.toISOString().slice(11, 19)}Z`;
}

/** Glue's text for the start of a run, as `runs` prints it. */
function started(run: JobRun): string {
    return utc(run.StartedOn!);
}

function reportOf(run: JobRun, extractId: string, body: Record<string, unknown>): Record<string, unknown> {
    return { pipeline: "customers", extractId, archive: run.Arguments!["--archive_key"], jobRunId: run.Id, ...body };
}

/** Tables of a report as the job writes them, with the data files and bytes each current table's scan read. */
const loadedTables = {
    customers: {
        files: ["customers.csv"],
        read: 120,
        accepted: 118,
        quarantined: 2,
        quarantinedByReason: { "bad-timestamp": 2 },
        orphans: 0,
        changes: { upsert: 117, delete: 1 },
        scanned: { files: 3, bytes: 524288 },
    },
    orders: {
        files: ["orders.csv"],
        read: 300,
        accepted: 300,
        quarantined: 0,
        quarantinedByReason: {},
        orphans: 0,
        changes: { upsert: 298, reroot: 2 },
        scanned: { files: 5, bytes: 1572864 },
    },
};

describe("operator command line: runs", () => {
    const moto = useMotoServer();
    let clients: AwsClients;
    let outputs: string;
    const runs: Record<"loaded" | "rejected" | "starting", JobRun> = {} as never;
    /** moto never fails a Glue run; these runs are given Glue's FAILED state and error in its responses. */
    const failedByGlue = new Map<string, string>();

    /** A run of the extract of 06:00 on 2026-11-<day>, whose archive landed 12 seconds later unless `landedAt` says. */
    async function startRun(day: number, landedAt = `2026-11-${day}T06:00:12.000Z`): Promise<JobRun> {
        const extractId = `202611${day}T060000Z-000001`;
        const { JobRunId } = await clients.glue.send(
            new StartJobRunCommand({
                JobName: operatorStack.jobName,
                Arguments: {
                    "--archive_bucket": operatorStack.landingBucket,
                    "--archive_key": `${operatorStack.landingPrefix}crm_customers_202611${day}T060000Z_1.zip`,
                    "--archive_version_id": "v1",
                    "--extract_id": extractId,
                    "--extract_version": "1",
                    "--archive_landed_at": landedAt,
                },
            }),
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
        const listed = await clients.glue.send(new GetJobRunsCommand({ JobName: operatorStack.jobName }));
        return listed.JobRuns!.find((run) => run.Id === JobRunId)!;
    }

    async function putReport(run: JobRun, report: Record<string, unknown>): Promise<void> {
        const key = runReportKey("customers", run.Arguments!["--extract_id"]!, run.Id!);
        await clients.s3.send(new PutObjectCommand({ Bucket: operatorStack.lakeBucket, Key: key, Body: JSON.stringify(report) }));
    }

    before(async () => {
        clients = motoClients(moto.clientConfig);
        await deployOperatorStack(clients);
        outputs = writeOutputsFile();
        interceptCommand<GetJobRunsCommandInput, GetJobRunsCommandOutput>(clients.glue, "GetJobRunsCommand", async (input, send) => {
            const output = await send(input);
            for (const run of output.JobRuns ?? []) {
                const error = failedByGlue.get(run.Id!);
                if (error) {
                    Object.assign(run, { JobRunState: "FAILED", ErrorMessage: error });
                }
            }
            return output;
        });
    });

    const list = (...args: string[]) => runOperator(["runs", "--outputs", outputs, ...args], clients);

    it("says so when the pipeline's job has not run yet", async () => {
        expect(await list()).to.deep.equal({
            code: 0,
            stdout: "No runs of pipeline customers (Glue job ingest-dev-customers-job) yet.\n",
            stderr: "",
        });
    });

    it("lists runs newest first with state, latency, extract, archive, the counts of each run's own report and the files and bytes it read", async () => {
        runs.loaded = await startRun(20);
        runs.rejected = await startRun(21);
        await setMotoTransition(moto.endpoint, "glue::job_run", 1000);
        // 19 minutes 48 seconds before the command's clock (2026-11-23T07:00:00Z), and still going.
        runs.starting = await startRun(22, "2026-11-23T06:40:12.000Z");
        await putReport(
            runs.loaded,
            reportOf(runs.loaded, "20261120T060000Z-000001", {
                status: "succeeded",
                failure: null,
                tables: loadedTables,
                items: { touched: 90, written: 88, stale: 2, oversize: 0 },
                latencySeconds: 775,
                quarantineLocation: "s3://ingest-dev-quarantine/customers/rows/ingest_extract_id=20261120T060000Z-000001/",
            }),
        );
        await putReport(
            runs.rejected,
            reportOf(runs.rejected, "20261121T060000Z-000001", {
                status: "failed",
                failure: { reason: "archive-path-traversal", detail: "entry ../../etc/cron.d/job escapes the extraction directory" },
                tables: {},
                items: {},
                quarantineLocation: "s3://ingest-dev-quarantine/customers/archives/20261121T060000Z-000001/",
            }),
        );
        failedByGlue.set(
            runs.rejected.Id!,
            "RunFailure: archive-path-traversal: entry ../../etc/cron.d/job escapes the extraction directory",
        );

        const result = await list();
        expect(result).to.deep.equal({
            code: 0,
            stdout:
                "Runs of pipeline customers (Glue job ingest-dev-customers-job), newest first:\n" +
                "RUN           STATE      STARTED               DURATION   LATENCY  EXTRACT                  ROWS  QUARANTINED  ITEMS  FILES  SCANNED  ARCHIVE\n" +
                `${runs.starting.Id!.slice(0, 12)}  STARTING   ${started(runs.starting)}        0s  19m 48s+  20261122T060000Z-000001     -            -      -      -        -  crm_customers_20261122T060000Z_1.zip\n` +
                `${runs.rejected.Id!.slice(0, 12)}  FAILED     ${started(runs.rejected)}        0s         -  20261121T060000Z-000001     0            0      -      -        -  crm_customers_20261121T060000Z_1.zip\n` +
                `${runs.loaded.Id!.slice(0, 12)}  SUCCEEDED  ${started(runs.loaded)}        0s   12m 55s  20261120T060000Z-000001   418            2     88      8  2.00 MB  crm_customers_20261120T060000Z_1.zip\n`,
            stderr: "",
        });
    });

    it("shows only as many runs as --limit asks for", async () => {
        const result = await list("--limit", "1");
        expect(result.stdout.split("\n").slice(2)).to.deep.equal([
            `${runs.starting.Id!.slice(0, 12)}  STARTING  ${started(runs.starting)}        0s  19m 48s+  20261122T060000Z-000001     -            -      -      -        -  crm_customers_20261122T060000Z_1.zip`,
            "",
        ]);
    });

    it("shows a failed run with Glue's error, the report's reason and where the archive was quarantined", async () => {
        expect(await list("--failed")).to.deep.equal({
            code: 0,
            stdout:
                "Failed runs of pipeline customers (Glue job ingest-dev-customers-job), newest first:\n" +
                "\n" +
                `${runs.rejected.Id} FAILED at ${started(runs.rejected)} after 0s\n` +
                "  extract  20261121T060000Z-000001\n" +
                "  archive  crm_customers_20261121T060000Z_1.zip\n" +
                "  Glue     RunFailure: archive-path-traversal: entry ../../etc/cron.d/job escapes the extraction directory\n" +
                "  reason   archive-path-traversal: entry ../../etc/cron.d/job escapes the extraction directory\n" +
                "  kept in  s3://ingest-dev-quarantine/customers/archives/20261121T060000Z-000001/\n" +
                "\n" +
                "No archives of pipeline customers were quarantined for a bad name.\n",
            stderr: "",
        });
    });

    it("shows the rows a failed run quarantined by reason, and a run that ended before writing a report", async () => {
        const overThreshold = await startRun(23);
        await putReport(
            overThreshold,
            reportOf(overThreshold, "20261123T060000Z-000001", {
                status: "failed",
                failure: {
                    reason: "too-many-rejected-rows",
                    detail: "customers: 40 of 100 rows rejected (40.00%, the mapping allows 5.00%); nothing was loaded",
                },
                tables: {
                    // Nothing was merged, so nothing changed and nothing was read from the current table.
                    customers: {
                        files: ["customers.csv"],
                        read: 100,
                        accepted: 60,
                        quarantined: 40,
                        quarantinedByReason: { "bad-number": 30, "missing-value": 10 },
                        orphans: 0,
                        changes: {},
                        scanned: {},
                    },
                },
                items: {},
                quarantineLocation: "s3://ingest-dev-quarantine/customers/rows/ingest_extract_id=20261123T060000Z-000001/",
            }),
        );
        failedByGlue.set(overThreshold.Id!, "RunFailure: too-many-rejected-rows");
        const unreported = await startRun(24);
        failedByGlue.set(unreported.Id!, "Command failed with exit code 137");

        const result = await list("--failed", "--limit", "2");
        expect(result.stdout).to.equal(
            "Failed runs of pipeline customers (Glue job ingest-dev-customers-job), newest first:\n" +
                "\n" +
                `${unreported.Id} FAILED at ${started(unreported)} after 0s\n` +
                "  extract  20261124T060000Z-000001\n" +
                "  archive  crm_customers_20261124T060000Z_1.zip\n" +
                "  Glue     Command failed with exit code 137\n" +
                "  report   none: the run ended before the job could write one (see the job's logs in CloudWatch)\n" +
                "\n" +
                `${overThreshold.Id} FAILED at ${started(overThreshold)} after 0s\n` +
                "  extract  20261123T060000Z-000001\n" +
                "  archive  crm_customers_20261123T060000Z_1.zip\n" +
                "  Glue     RunFailure: too-many-rejected-rows\n" +
                "  reason   too-many-rejected-rows: customers: 40 of 100 rows rejected (40.00%, the mapping allows 5.00%); nothing was loaded\n" +
                "  rows     customers: 40 of 100 quarantined (bad-number 30, missing-value 10)\n" +
                "  kept in  s3://ingest-dev-quarantine/customers/rows/ingest_extract_id=20261123T060000Z-000001/\n" +
                "\n" +
                "No archives of pipeline customers were quarantined for a bad name.\n",
        );
    });

    it("shows per table the files and bytes a failed run read, and the extract a dead run left that it completed first", async () => {
        const leaseLost = await startRun(25);
        const detail = "LeaseLost: the lake lease of 20261125T060000Z-000001 expired while it wrote its items";
        await putReport(
            leaseLost,
            reportOf(leaseLost, "20261125T060000Z-000001", {
                status: "failed",
                failure: { reason: "unexpected-error", detail },
                completedExtract: "20261124T060000Z-000001",
                tables: {
                    ...loadedTables,
                    // Its file was in the archive, but no touched root had an address: the table was not read.
                    addresses: { ...loadedTables.orders, files: ["addresses.csv"], changes: {}, scanned: {} },
                },
                items: { touched: 90, written: 88, deleted: 1, stale: 1, oversize: 0 },
                quarantineLocation: null,
            }),
        );
        failedByGlue.set(leaseLost.Id!, detail);

        expect((await list("--failed", "--limit", "1")).stdout).to.equal(
            "Failed runs of pipeline customers (Glue job ingest-dev-customers-job), newest first:\n" +
                "\n" +
                `${leaseLost.Id} FAILED at ${started(leaseLost)} after 0s\n` +
                "  extract  20261125T060000Z-000001\n" +
                "  archive  crm_customers_20261125T060000Z_1.zip\n" +
                `  Glue     ${detail}\n` +
                `  reason   unexpected-error: ${detail}\n` +
                "  first    completed extract 20261124T060000Z-000001, whose run died with its lake changes half applied\n" +
                "  rows     customers: 2 of 120 quarantined (bad-timestamp 2)\n" +
                "  scanned  customers: 3 files, 512.0 KB\n" +
                "  scanned  orders: 5 files, 1.50 MB\n" +
                "\n" +
                "No archives of pipeline customers were quarantined for a bad name.\n",
        );
        expect((await list("--limit", "1")).stdout.split("\n").slice(2)).to.deep.equal([
            `${leaseLost.Id!.slice(0, 12)}  FAILED  ${started(leaseLost)}        0s        -  20261125T060000Z-000001   718            2     88      8  2.00 MB  crm_customers_20261125T060000Z_1.zip`,
            "",
        ]);
    });

    it("says so when none of the recorded runs failed", async () => {
        failedByGlue.clear();
        expect((await list("--failed")).stdout).to.equal(
            "No failed runs among the 6 recorded runs of pipeline customers.\n" +
                "\n" +
                "No archives of pipeline customers were quarantined for a bad name.\n",
        );
    });

    it("lists the archives the trigger quarantined for a bad name, newest first, with the object, reason and naming expected", async () => {
        const { archiveNaming } = loadJobPlans(["customers"], configDirectory("mappings", fixtureRoot))[0]!.extract;
        const logs: LogEntry[] = [];
        const trigger = createHandler({
            glue: clients.glue,
            dynamodb: clients.dynamodb,
            s3: clients.s3,
            settings: {
                stack: "dev",
                pipeline: operatorStack.pipeline,
                jobName: operatorStack.jobName,
                runLedgerTable: operatorStack.runLedgerTable,
                landingBucket: operatorStack.landingBucket,
                landingPrefix: operatorStack.landingPrefix,
                archiveNaming,
                quarantineBucket: operatorStack.quarantineBucket,
            },
            now: () => new Date("2026-11-25T06:01:00Z"),
            log: (entry) => logs.push(entry),
        });
        /** Lands `name` under the prefix, hands the trigger its event, and returns what `runs --failed` should say of it. */
        async function quarantine(name: string): Promise<string> {
            const key = `${operatorStack.landingPrefix}${name}`;
            const { VersionId } = await clients.s3.send(
                new PutObjectCommand({ Bucket: operatorStack.landingBucket, Key: key, Body: name }),
            );
            const result = await trigger(sqsEvent(eventBridgeBody(operatorStack.landingBucket, key, VersionId)));
            expect(result.batchItemFailures).to.deep.equal([]);
            const head = await clients.s3.send(new HeadObjectCommand({ Bucket: operatorStack.landingBucket, Key: key, VersionId }));
            return (
                `${name} landed at ${utc(head.LastModified!)}\n` +
                `  object   s3://ingest-dev-landing/incoming/customers/${name} version ${VersionId}\n` +
                `  reason   bad-archive-name: "${name}" does not match the archive naming ${archiveNaming.regex}\n` +
                `  naming   expected a file directly under incoming/customers/ matching ${archiveNaming.regex}, ` +
                "timestamp yyyyMMdd'T'HHmmss'Z' (UTC, 1970 or later), sequence up to 999999\n" +
                `  kept in  ${String(logs.at(-1)!.keptIn)}\n`
            );
        }
        const partial = await quarantine("crm_customers_20261125T060000Z_1.zip.part");
        // The listing orders them by the second their reason.json was written.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const nested = await quarantine("2026-11-25/crm_customers_20261125T060000Z_2.zip");

        const heading = "Archives of pipeline customers quarantined for a bad name, newest first (they started no run):\n";
        const noFailedRuns = "No failed runs among the 6 recorded runs of pipeline customers.\n\n";
        expect(await list("--failed")).to.deep.equal({
            code: 0,
            stdout: `${noFailedRuns}${heading}\n${nested}\n${partial}`,
            stderr: "",
        });
        expect((await list("--failed", "--limit", "1")).stdout).to.equal(`${noFailedRuns}${heading}\n${nested}`);
    });

    it("keeps reports per run, in the layout the Glue job writes (tests-py/test_contracts.py checks the job's side)", () => {
        expect(runReportKey("customers", "20261101T101500Z-000001", "jr_0a1b")).to.equal(
            "customers/_reports/20261101T101500Z-000001/jr_0a1b.json",
        );
    });

    const usageErrors: [string, string[], string][] = [
        ["a limit that is not a count", ["--limit", "ten"], "ingest: --limit ten is not a whole number of at least 1\n"],
        ["an unknown pipeline", ["--pipeline", "orders"], 'ingest: unknown pipeline "orders": stack dev has customers\n'],
        ["an unknown option", ["--everything"], "ingest: runs has no option --everything (ingest --help)\n"],
        ["an extra argument", ["customers"], 'ingest: runs: unexpected argument "customers" (ingest --help)\n'],
    ];
    for (const [title, args, stderr] of usageErrors) {
        it(`refuses ${title} with exit code 2`, async () => {
            expect(await list(...args)).to.deep.equal({ code: 2, stdout: "", stderr });
        });
    }
});

describe("run report wording", () => {
    const changes: [Parameters<typeof describeChanges>[0], string][] = [
        [{ upsert: 12, delete: 1, reroot: 3 }, "12 upserts, 1 delete, 3 rerooted"],
        [{ forget: 2, reroot: 1, upsert: 1, delete: 0 }, "1 upsert, 1 rerooted, 2 forgotten"],
        [{ delete: 4 }, "4 deletes"],
        [{}, "no changes"],
    ];
    for (const [counts, text] of changes) {
        it(`says ${text} for ${JSON.stringify(counts)}`, () => {
            expect(describeChanges(counts)).to.equal(text);
        });
    }

    it("writes durations in seconds, minutes and hours, as the job's notifications do (tests-py/test_report.py)", () => {
        expect([0, 59, 60, 775, 3599, 3600, 3725].map(describeSeconds)).to.deep.equal([
            "0s",
            "59s",
            "1m 00s",
            "12m 55s",
            "59m 59s",
            "1h 00m 00s",
            "1h 02m 05s",
        ]);
    });

    it("says how many data files and bytes a scan read", () => {
        expect([
            describeScan({ files: 1, bytes: 5924 }),
            describeScan({ files: 0, bytes: 0 }),
            describeScan({ files: 8, bytes: 2097152 }),
        ]).to.deep.equal(["1 file, 5.79 KB", "0 files, 0 B", "8 files, 2.00 MB"]);
    });
});
