import {
    CreateJobCommand,
    StartJobRunCommand,
    type GetJobRunsCommandInput,
    type GetJobRunsCommandOutput,
    type JobRun,
} from "@aws-sdk/client-glue";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import type { AwsClients } from "../cli/aws";
import { interceptCommand } from "./support/intercept";
import { useMotoServer } from "./support/moto";
import { deployOperatorStack, motoClients, runOperator, stackOutputsDocument, writeOutputsFile } from "./support/operator";

/** The clickstream stream as the dev stack's outputs name it (what the tool reads of it, and some it ignores). */
const clickstream = {
    kinesisStream: "ingest-dev-clickstream-stream",
    table: "clickstream_events",
    warehouse: {
        destinationBucket: "ingest-dev-clickstream-warehouse-destination",
        destinationPrefix: "clickstream/",
        exportJob: "ingest-dev-clickstream-warehouse-job",
    },
} as const;

const exportJob = clickstream.warehouse.exportJob;
const reports = "streams/clickstream/export/reports/";
const reportsAt = `s3://ingest-dev-quarantine/${reports}`;

/** A delivered object under the delivery prefix, as Firehose names it (shortened). */
const delivered = (name: string) => `clickstream/2026/11/26/09/${name}.gz`;

/** One delivered object's entry in a report. */
function converted(name: string, exported: number, quarantined: number): Record<string, unknown> {
    return {
        lines: exported + quarantined,
        exported,
        quarantined,
        files: [`s3://ingest-dev-clickstream-warehouse-destination/clickstream/event_date=2026-11-26/${name}.parquet`],
        quarantine: quarantined > 0 ? `s3://ingest-dev-quarantine/streams/clickstream/export/rejected/${delivered(name)}.jsonl` : null,
    };
}

/** A report as stream_export.py writes it for the objects given; `body` replaces any field. */
function exportReport(objects: Record<string, Record<string, unknown>>, body: Record<string, unknown> = {}): Record<string, unknown> {
    const entries = Object.values(objects) as { lines: number; exported: number; quarantined: number; files: string[] }[];
    const total = (field: "lines" | "exported" | "quarantined") => entries.reduce((sum, entry) => sum + entry[field], 0);
    return {
        job: "stream-export",
        stream: "clickstream",
        runId: "set by putReport",
        status: "succeeded",
        startedAt: "set by putReport",
        finishedAt: "2026-11-26T09:20:00.000000Z",
        objectsPending: entries.length,
        objectsExported: entries.length,
        objects: Object.fromEntries(Object.entries(objects).map(([name, entry]) => [delivered(name), entry])),
        failedObjects: {},
        totals: {
            lines: total("lines"),
            exported: total("exported"),
            quarantined: total("quarantined"),
            files: entries.reduce((sum, entry) => sum + entry.files.length, 0),
        },
        failure: null,
        ...body,
    };
}

describe("operator command line: runs --export", () => {
    const moto = useMotoServer();
    let clients: AwsClients;
    let outputs: string;
    /** What Glue says of each run in place of moto's (start, end, state, error): moto runs every run to success at once. */
    const glueSays = new Map<string, Partial<JobRun>>();

    /** A run of the export job that Glue says started at `startedAt` and ran `seconds` (still running without). */
    async function startExport(startedAt: string, seconds?: number, runArguments?: Record<string, string>): Promise<string> {
        const { JobRunId } = await clients.glue.send(
            new StartJobRunCommand({ JobName: exportJob, ...(runArguments ? { Arguments: runArguments } : {}) }),
        );
        const start = new Date(startedAt);
        glueSays.set(JobRunId!, {
            StartedOn: start,
            CompletedOn: seconds === undefined ? undefined : new Date(start.getTime() + seconds * 1000),
            ...(seconds === undefined ? { JobRunState: "RUNNING" } : {}),
        });
        return JobRunId!;
    }

    const failedByGlue = (id: string, error: string) =>
        glueSays.set(id, { ...glueSays.get(id), JobRunState: "FAILED", ErrorMessage: error });

    /** Writes a report the way the job names it: after Glue's run id. */
    async function putReport(runId: string, report: unknown): Promise<void> {
        await clients.s3.send(
            new PutObjectCommand({
                Bucket: "ingest-dev-quarantine",
                Key: `${reports}${runId}.json`,
                Body: typeof report === "string" ? report : JSON.stringify(report),
            }),
        );
    }

    before(async () => {
        clients = motoClients(moto.clientConfig);
        await deployOperatorStack(clients);
        await clients.glue.send(
            new CreateJobCommand({
                Name: exportJob,
                Role: `arn:aws:iam::123456789012:role/${exportJob}`,
                Command: { Name: "glueetl", ScriptLocation: "s3://ingest-dev-glue-assets/jobs/streams/clickstream/stream_export_job.py" },
                // The arguments of export_job_arguments.json that say where runs read and report.
                DefaultArguments: {
                    "--delivery_bucket": "ingest-dev-clickstream-warehouse-intermediate",
                    "--delivery_prefix": "clickstream/",
                    "--quarantine_bucket": "ingest-dev-quarantine",
                    "--quarantine_prefix": "streams/clickstream/export/",
                },
                // The stack's job runs one at a time; moto would refuse the next start while a run is going.
                ExecutionProperty: { MaxConcurrentRuns: 20 },
            }),
        );
        outputs = writeOutputsFile({ ...stackOutputsDocument(), streamingLakes: { clickstream } });
        interceptCommand<GetJobRunsCommandInput, GetJobRunsCommandOutput>(clients.glue, "GetJobRunsCommand", async (input, send) => {
            const output = await send(input);
            for (const run of output.JobRuns ?? []) {
                Object.assign(run, glueSays.get(run.Id!));
            }
            return output;
        });
    });

    const now = new Date("2026-11-26T10:00:00Z");
    const list = (...args: string[]) =>
        runOperator(["runs", "--outputs", outputs, "--export", "clickstream", ...args], clients, { start: now });
    const heading = `Runs of the warehouse export of stream clickstream (Glue job ${exportJob}), newest first:\n`;
    const failedHeading = `Failed runs of the warehouse export of stream clickstream (Glue job ${exportJob}), newest first:\n`;
    const short = (id: string) => id.slice(0, 12);

    it("says so when the export job has not run yet", async () => {
        const none = `No runs of the warehouse export of stream clickstream (Glue job ${exportJob}) yet.\n`;
        expect(await list()).to.deep.equal({ code: 0, stdout: none, stderr: "" });
        expect(await list("--failed")).to.deep.equal({ code: 0, stdout: none, stderr: "" });
    });

    const runs: Record<"unreported" | "nothing" | "scheduled" | "oneObject" | "running", string> = {} as never;

    it("lists runs newest first with the objects each converted and the records it wrote and rejected, from the report named after its run id", async () => {
        runs.unreported = await startExport("2026-11-26T08:45:00Z", 50);
        runs.nothing = await startExport("2026-11-26T09:00:00Z", 40);
        runs.scheduled = await startExport("2026-11-26T09:15:00Z", 75);
        // A run the on-delivery trigger started for one object.
        runs.oneObject = await startExport("2026-11-26T09:30:00Z", 61, { "--delivered_key": delivered("clicks-4") });
        runs.running = await startExport("2026-11-26T09:58:30Z");
        await putReport(runs.nothing, exportReport({}, { status: "nothing to export", objectsPending: 0 }));
        await putReport(
            runs.scheduled,
            exportReport({
                "clicks-1": converted("clicks-1", 120, 0),
                "clicks-2": converted("clicks-2", 98, 2),
                "clicks-3": converted("clicks-3", 40, 0),
            }),
        );
        await putReport(runs.oneObject, exportReport({ "clicks-4": converted("clicks-4", 7, 1) }));

        expect(await list()).to.deep.equal({
            code: 0,
            stdout:
                heading +
                "RUN           STARTED               STATE      OBJECTS  RECORDS  REJECTED  FILES  DURATION  CONVERTED\n" +
                `${short(runs.running)}  2026-11-26 09:58:30Z  RUNNING          -        -         -      -   1m 30s+  -\n` +
                `${short(runs.oneObject)}  2026-11-26 09:30:00Z  SUCCEEDED        1        7         1      1    1m 01s  2026/11/26/09/clicks-4.gz\n` +
                `${short(runs.scheduled)}  2026-11-26 09:15:00Z  SUCCEEDED        3      258         2      3    1m 15s  2026/11/26/09/clicks-1.gz +2 more\n` +
                `${short(runs.nothing)}  2026-11-26 09:00:00Z  SUCCEEDED        0        0         0      0       40s  -\n` +
                `${short(runs.unreported)}  2026-11-26 08:45:00Z  SUCCEEDED        -        -         -      -       50s  -\n` +
                `1 succeeded run(s) left no report in ${reportsAt}.\n`,
            stderr: "",
        });
        expect((await list("--limit", "1")).stdout).to.equal(
            heading +
                "RUN           STARTED               STATE    OBJECTS  RECORDS  REJECTED  FILES  DURATION  CONVERTED\n" +
                `${short(runs.running)}  2026-11-26 09:58:30Z  RUNNING        -        -         -      -   1m 30s+  -\n`,
        );
    });

    it("shows a failed run with Glue's error, the reason, each object converted or left pending, and where its report is", async () => {
        const partly = await startExport("2026-11-26T09:45:00Z", 90);
        failedByGlue(partly, "RunFailure: objects-not-exported");
        await putReport(
            partly,
            exportReport(
                { "clicks-5": converted("clicks-5", 10, 2) },
                {
                    status: "failed",
                    objectsPending: 2,
                    failedObjects: { [delivered("clicks-6")]: "not gzip: CRC check failed" },
                    failure: {
                        reason: "objects-not-exported",
                        detail: "1 of 2 pending object(s) could not be exported and stay pending (the others were exported)",
                    },
                },
            ),
        );
        // Killed before the driver wrote a report; the trigger had started it for one object.
        const killed = await startExport("2026-11-26T09:50:00Z", 20, { "--delivered_key": delivered("clicks-7") });
        failedByGlue(killed, "Command failed with exit code 137");

        expect(await list("--failed")).to.deep.equal({
            code: 0,
            stdout:
                failedHeading +
                "\n" +
                `${killed} FAILED at 2026-11-26 09:50:00Z after 20s\n` +
                `  given    --delivered_key ${delivered("clicks-7")}\n` +
                "  Glue     Command failed with exit code 137\n" +
                `  report   none at ${reportsAt}${killed}.json: the run ended before the job could write one (see the job's logs in CloudWatch)\n` +
                "\n" +
                `${partly} FAILED at 2026-11-26 09:45:00Z after 1m 30s\n` +
                "  Glue     RunFailure: objects-not-exported\n" +
                "  reason   objects-not-exported: 1 of 2 pending object(s) could not be exported and stay pending (the others were exported)\n" +
                "  objects  1 of 2 pending converted\n" +
                `  object   2026/11/26/09/clicks-5.gz: 10 written, 2 rejected (s3://ingest-dev-quarantine/streams/clickstream/export/rejected/${delivered("clicks-5")}.jsonl)\n` +
                "  pending  2026/11/26/09/clicks-6.gz: not gzip: CRC check failed\n" +
                "  records  12 read, 10 written, 2 rejected, 1 Parquet file\n" +
                `  report   ${reportsAt}${partly}.json\n`,
            stderr: "",
        });
        expect((await list("--limit", "3")).stdout.split("\n").slice(1)).to.deep.equal([
            "RUN           STARTED               STATE         OBJECTS  RECORDS  REJECTED  FILES  DURATION  CONVERTED",
            `${short(runs.running)}  2026-11-26 09:58:30Z  RUNNING             -        -         -      -   1m 30s+  -`,
            `${short(killed)}  2026-11-26 09:50:00Z  FAILED              -        -         -      -       20s  -`,
            `${short(partly)}  2026-11-26 09:45:00Z  FAILED   1 (1 failed)       10         2      1    1m 30s  2026/11/26/09/clicks-5.gz`,
            "",
        ]);
    });

    it("shows what a report has, '-' for what it lacks or gives in another type, and says which report is unreadable", async () => {
        // A newer job's report: fields this tool does not know, a count as a string, an object without counts.
        const newer = await startExport("2026-11-26T11:00:00Z", 30);
        await putReport(newer, {
            job: "stream-export",
            status: "succeeded",
            trigger: { kind: "on-delivery", object: delivered("clicks-8") },
            objectsExported: "1",
            objects: { [delivered("clicks-8")]: { bytes: 2048 } },
            totals: { exported: 5, quarantined: "none" },
        });
        const garbled = await startExport("2026-11-26T11:15:00Z", 30);
        await putReport(garbled, '{"job": "stream-export", "objects": ');
        const otherJob = await startExport("2026-11-26T11:30:00Z", 30);
        await putReport(otherJob, { job: "lookup-load", status: "succeeded" });
        const notAnObject = await startExport("2026-11-26T11:45:00Z", 30);
        await putReport(notAnObject, [1, 2]);
        // Glue counts it as succeeded; its report says it failed, without a reason.
        const reportFailed = await startExport("2026-11-26T12:00:00Z", 30);
        await putReport(reportFailed, { job: "stream-export", status: "failed" });

        const later = (...args: string[]) =>
            runOperator(["runs", "--outputs", outputs, "--export", "clickstream", ...args], clients, {
                start: new Date("2026-11-26T13:00:00Z"),
            });
        expect((await later("--limit", "5")).stdout).to.equal(
            heading +
                "RUN           STARTED               STATE                     OBJECTS  RECORDS  REJECTED  FILES  DURATION  CONVERTED\n" +
                `${short(reportFailed)}  2026-11-26 12:00:00Z  SUCCEEDED, report failed        -        -         -      -       30s  -\n` +
                `${short(notAnObject)}  2026-11-26 11:45:00Z  SUCCEEDED                       -        -         -      -       30s  -\n` +
                `${short(otherJob)}  2026-11-26 11:30:00Z  SUCCEEDED                       -        -         -      -       30s  -\n` +
                `${short(garbled)}  2026-11-26 11:15:00Z  SUCCEEDED                       -        -         -      -       30s  -\n` +
                `${short(newer)}  2026-11-26 11:00:00Z  SUCCEEDED                       1        5         -      -       30s  2026/11/26/09/clicks-8.gz\n` +
                `The report of ${short(notAnObject)} at ${reportsAt}${notAnObject}.json is not a JSON object.\n` +
                `The report of ${short(otherJob)} at ${reportsAt}${otherJob}.json is the report of job "lookup-load", not of a warehouse export.\n` +
                `The report of ${short(garbled)} at ${reportsAt}${garbled}.json is not JSON.\n`,
        );
        expect((await later("--failed", "--limit", "1")).stdout).to.equal(
            failedHeading +
                "\n" +
                `${reportFailed} SUCCEEDED at 2026-11-26 12:00:00Z after 30s\n` +
                "  reason   the report gives none\n" +
                `  report   ${reportsAt}${reportFailed}.json\n`,
        );
    });

    it("says so when none of the recorded runs failed", async () => {
        const quietJob = "ingest-dev-quiet-warehouse-job";
        await clients.glue.send(
            new CreateJobCommand({
                Name: quietJob,
                Role: "arn:aws:iam::123456789012:role/quiet",
                Command: { Name: "glueetl", ScriptLocation: "s3://b/k.py" },
            }),
        );
        await clients.glue.send(new StartJobRunCommand({ JobName: quietJob }));
        const quiet = writeOutputsFile({
            ...stackOutputsDocument(),
            streamingLakes: { clickstream: { ...clickstream, warehouse: { ...clickstream.warehouse, exportJob: quietJob } } },
        });
        expect(await runOperator(["runs", "--outputs", quiet, "--export", "clickstream", "--failed"], clients)).to.deep.equal({
            code: 0,
            stdout: "No failed runs among the 1 recorded runs of the warehouse export of stream clickstream.\n",
            stderr: "",
        });
    });

    it("refuses outputs naming an export job that does not exist with exit code 4", async () => {
        const stale = writeOutputsFile({
            ...stackOutputsDocument(),
            streamingLakes: { clickstream: { ...clickstream, warehouse: { ...clickstream.warehouse, exportJob: "ingest-dev-gone-job" } } },
        });
        expect(await runOperator(["runs", "--outputs", stale, "--export", "clickstream"], clients)).to.deep.equal({
            code: 4,
            stdout: "",
            stderr: "ingest: Glue job ingest-dev-gone-job does not exist: is the stack deployed, and are its outputs current?\n",
        });
    });

    const usageErrors: [string, () => unknown, string[], string][] = [
        [
            "an unknown stream, naming the stack's streams",
            () => ({ ...stackOutputsDocument(), streamingLakes: { clickstream, orders: clickstream } }),
            ["--export", "payments"],
            'ingest: unknown stream "payments": stack dev has clickstream, orders\n',
        ],
        [
            "a stream of a stack that has none",
            () => stackOutputsDocument(),
            ["--export", "clickstream"],
            'ingest: unknown stream "clickstream": stack dev has no streams\n',
        ],
        [
            "a stream without a warehouse export",
            () => ({ ...stackOutputsDocument(), streamingLakes: { clickstream: { ...clickstream, warehouse: undefined } } }),
            ["--export", "clickstream"],
            "ingest: stream clickstream of stack dev has no warehouse export (its stream file has no warehouse section)\n",
        ],
        [
            "outputs saved before the export job was exported",
            () => ({
                ...stackOutputsDocument(),
                streamingLakes: { clickstream: { ...clickstream, warehouse: { ...clickstream.warehouse, exportJob: undefined } } },
            }),
            ["--export", "clickstream"],
            "ingest: the stack outputs lack what this tool needs of stream clickstream (were they saved before the stack was last updated?):\n" +
                "  streamingLakes.clickstream.warehouse.exportJob: Invalid input: expected string, received undefined\n",
        ],
        [
            "an export and a lookup at once",
            () => ({ ...stackOutputsDocument(), streamingLakes: { clickstream } }),
            ["--export", "clickstream", "--lookup", "products"],
            "ingest: runs takes one of --pipeline, --lookup and --export, not --lookup and --export\n",
        ],
    ];
    for (const [title, document, args, stderr] of usageErrors) {
        it(`refuses ${title} with exit code 2`, async () => {
            const file = writeOutputsFile(document());
            expect(await runOperator(["runs", "--outputs", file, ...args], clients)).to.deep.equal({ code: 2, stdout: "", stderr });
        });
    }
});
