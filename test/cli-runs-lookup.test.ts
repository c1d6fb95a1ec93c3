import {
    CreateJobCommand,
    GetJobRunsCommand,
    StartJobRunCommand,
    type GetJobRunsCommandInput,
    type GetJobRunsCommandOutput,
    type JobRun,
} from "@aws-sdk/client-glue";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import type { AwsClients } from "../cli/aws";
import { lookupReportKey } from "../cli/lookup-report";
import { loadStackOutputs, selectExport, selectLookup } from "../cli/stack-outputs";
import { interceptCommand } from "./support/intercept";
import { useMotoServer } from "./support/moto";
import { deployOperatorStack, motoClients, runOperator, stackOutputsDocument, writeOutputsFile } from "./support/operator";
import { runProgramWithExports } from "./support/program";

/** The products lookup as the dev stack's outputs name it (those the tool reads). */
const products = {
    table: "ingest-dev-products-table",
    exportsBucket: "ingest-dev-products-exports",
    exportsPrefix: "exports/",
    loaderJob: "ingest-dev-products-job",
    reportBucket: "ingest-dev-quarantine",
    reportPrefix: "lookups/",
} as const;

/** A loader job none of whose loads failed. */
const operatorJobWithoutFailures = "ingest-dev-quiet-job";

/** A time as `runs` prints it. */
function started(run: JobRun): string {
    const time = run.StartedOn!.toISOString();
    return `${time.slice(0, 10)} ${time.slice(11, 19)}Z`;
}

/** Where a load's report is, as `runs --failed` prints it. */
function reportAt(run: JobRun): string {
    return `s3://ingest-dev-quarantine/lookups/products/${run.Id}/report.json`;
}

/** A load's report as the loader writes it, for the export folder `exports/<folder>`; `body` replaces any field. */
function loadReport(run: JobRun, folder: string, body: Record<string, unknown>): Record<string, unknown> {
    return {
        job: "lookup-load",
        lookup: "products",
        runId: run.Id,
        status: "succeeded",
        table: products.table,
        export: {
            folder: `exports/${folder}`,
            marker: `exports/${folder}_SUCCESS`,
            listing: "folder",
            digest: "9f86d081884c7d65",
            parts: [
                { key: `exports/${folder}part-00000.gz`, bytes: 1024, gzip: true },
                { key: `exports/${folder}part-00001.gz`, bytes: 1024, gzip: true },
                { key: `exports/${folder}part-00002.jsonl`, bytes: 2048, gzip: false },
            ],
            unlisted: [],
        },
        loadGeneration: "g-9f86d081",
        lines: 10,
        loaded: 8,
        rejected: 2,
        rejectedByReason: { "invalid-json": 2 },
        duplicates: 0,
        deleted: 1,
        deletion: { status: "done" },
        ranges: { total: 3, skipped: 0, loaded: 3, failed: 0, failures: {} },
        requests: 1,
        retries: 0,
        unprocessedRetried: 0,
        seconds: 3.2,
        rejectedLocation: `s3://ingest-dev-quarantine/lookups/products/${run.Id}/rejected.jsonl`,
        startedAt: "2026-11-20T08:00:00.000000Z",
        finishedAt: "2026-11-20T08:00:03.200000Z",
        failure: null,
        ...body,
    };
}

describe("operator command line: runs --lookup", () => {
    const moto = useMotoServer();
    let clients: AwsClients;
    let outputs: string;
    const runs: Record<"loaded" | "missingPart" | "running", JobRun> = {} as never;
    /** moto runs every run to success at once; these runs are given another state (and Glue's error) in its responses. */
    const glueSays = new Map<string, Partial<JobRun>>();
    const failedByGlue = (run: JobRun, error: string) => glueSays.set(run.Id!, { JobRunState: "FAILED", ErrorMessage: error });

    async function startLoad(runArguments?: Record<string, string>): Promise<JobRun> {
        const { JobRunId } = await clients.glue.send(
            new StartJobRunCommand({ JobName: products.loaderJob, ...(runArguments ? { Arguments: runArguments } : {}) }),
        );
        // Runs started in the same millisecond would list in no particular order.
        await new Promise((resolve) => setTimeout(resolve, 20));
        const listed = await clients.glue.send(new GetJobRunsCommand({ JobName: products.loaderJob }));
        return listed.JobRuns!.find((run) => run.Id === JobRunId)!;
    }

    /** A loader job as the stack declares it, but for the runs at once it lets moto start. */
    async function createLoaderJob(name: string): Promise<void> {
        await clients.glue.send(
            new CreateJobCommand({
                Name: name,
                Role: `arn:aws:iam::123456789012:role/${name}`,
                Command: { Name: "glueetl", ScriptLocation: "s3://ingest-dev-glue-assets/jobs/lookups/products/lookup_load_job.py" },
                // The stack's loader runs one load at a time; moto would refuse the next one while a run is going.
                ExecutionProperty: { MaxConcurrentRuns: 20 },
            }),
        );
    }

    async function putReport(run: JobRun, report: unknown): Promise<void> {
        await clients.s3.send(
            new PutObjectCommand({
                Bucket: products.reportBucket,
                Key: lookupReportKey(products.reportPrefix, "products", run.Id!),
                Body: typeof report === "string" ? report : JSON.stringify(report),
            }),
        );
    }

    before(async () => {
        clients = motoClients(moto.clientConfig);
        await deployOperatorStack(clients);
        await createLoaderJob(products.loaderJob);
        outputs = writeOutputsFile({ ...stackOutputsDocument(), lookupTables: { products } });
        interceptCommand<GetJobRunsCommandInput, GetJobRunsCommandOutput>(clients.glue, "GetJobRunsCommand", async (input, send) => {
            const output = await send(input);
            for (const run of output.JobRuns ?? []) {
                Object.assign(run, glueSays.get(run.Id!));
            }
            return output;
        });
    });

    const list = (...args: string[]) => runOperator(["runs", "--outputs", outputs, "--lookup", "products", ...args], clients);
    const heading = "Loads of lookup products (Glue job ingest-dev-products-job), newest first:\n";
    const failedHeading = "Failed loads of lookup products (Glue job ingest-dev-products-job), newest first:\n";

    it("says so when the lookup's loader has not run yet", async () => {
        expect(await list()).to.deep.equal({
            code: 0,
            stdout: "No loads of lookup products (Glue job ingest-dev-products-job) yet.\n",
            stderr: "",
        });
        expect(await list("--failed")).to.deep.equal({
            code: 0,
            stdout: "No loads of lookup products (Glue job ingest-dev-products-job) yet.\n",
            stderr: "",
        });
    });

    it("lists loads newest first with the export folder, parts and counts of each load's own report, rejected lines by reason", async () => {
        runs.loaded = await startLoad();
        runs.missingPart = await startLoad({ "--export": "2026-11-21/" });
        runs.running = await startLoad();
        glueSays.set(runs.running.Id!, { JobRunState: "RUNNING", CompletedOn: undefined });
        await putReport(runs.loaded, loadReport(runs.loaded, "2026-11-20/", {}));
        await putReport(
            runs.missingPart,
            loadReport(runs.missingPart, "2026-11-21/", {
                status: "failed",
                export: {
                    folder: "exports/2026-11-21/",
                    marker: "exports/2026-11-21/manifest",
                    listing: "manifest",
                    digest: "60303ae22b998861",
                    parts: [
                        { key: "exports/2026-11-21/part-00000.gz", bytes: 1024, gzip: true },
                        { key: "exports/2026-11-21/part-00001.gz", bytes: 1024, gzip: true },
                    ],
                    unlisted: ["exports/2026-11-21/notes.txt"],
                },
                lines: 0,
                loaded: 0,
                rejected: 0,
                rejectedByReason: {},
                deleted: 0,
                deletion: { status: "skipped", reason: "the export was not loaded" },
                rejectedLocation: null,
                failure: { reason: "missing-part", detail: "exports/2026-11-21/part-00001.gz is in the manifest but not in the folder" },
            }),
        );
        failedByGlue(runs.missingPart, "RunFailure: missing-part");
        glueSays.set(runs.loaded.Id!, { CompletedOn: new Date(runs.loaded.StartedOn!.getTime() + 41_000) });

        expect(await list()).to.deep.equal({
            code: 0,
            stdout:
                heading +
                "RUN           STARTED               STATE      EXPORT       PARTS  LINES  LOADED  REJECTED            DELETED  DURATION\n" +
                `${runs.running.Id!.slice(0, 12)}  ${started(runs.running)}  RUNNING    -                -      -       -  -                         -       0s+\n` +
                `${runs.missingPart.Id!.slice(0, 12)}  ${started(runs.missingPart)}  FAILED     2026-11-21/      2      0       0  0                         0        0s\n` +
                `${runs.loaded.Id!.slice(0, 12)}  ${started(runs.loaded)}  SUCCEEDED  2026-11-20/      3     10       8  2 (invalid-json 2)        1       41s\n`,
            stderr: "",
        });
        expect((await list("--limit", "1")).stdout).to.equal(
            heading +
                "RUN           STARTED               STATE    EXPORT  PARTS  LINES  LOADED  REJECTED  DELETED  DURATION\n" +
                `${runs.running.Id!.slice(0, 12)}  ${started(runs.running)}  RUNNING  -           -      -       -  -               -       0s+\n`,
        );
    });

    it("shows a failed load with its export, Glue's error, the reason, its counts and where its report is", async () => {
        expect(await list("--failed")).to.deep.equal({
            code: 0,
            stdout:
                failedHeading +
                "\n" +
                `${runs.missingPart.Id} FAILED at ${started(runs.missingPart)} after 0s\n` +
                "  export   2026-11-21/: 2 parts, 2.00 KB (2 gzip), marker manifest, 1 other object not loaded\n" +
                "  Glue     RunFailure: missing-part\n" +
                "  reason   missing-part: exports/2026-11-21/part-00001.gz is in the manifest but not in the folder\n" +
                "  lines    0 read, 0 loaded, 0 rejected, 0 duplicates, 0 deleted\n" +
                "  deletion skipped: the export was not loaded\n" +
                `  report   ${reportAt(runs.missingPart)}\n`,
            stderr: "",
        });
    });

    it("shows the loads that failed before their export was found or their report written, and the ones only the report says failed", async () => {
        const noExport = await startLoad();
        await putReport(
            noExport,
            loadReport(noExport, "", {
                status: "failed",
                export: null,
                lines: 0,
                loaded: 0,
                rejected: 0,
                rejectedByReason: {},
                deleted: 0,
                deletion: { status: "not requested" },
                rejectedLocation: null,
                failure: { reason: "no-export", detail: "no completion marker (_SUCCESS, manifest-summary.json, manifest) under exports/" },
            }),
        );
        failedByGlue(noExport, "RunFailure: no-export");
        // Glue counts it as succeeded; the report says two of its ranges were not written, so nothing was deleted.
        const rangesFailed = await startLoad();
        await putReport(
            rangesFailed,
            loadReport(rangesFailed, "2026-11-23/", {
                status: "failed",
                loaded: 5,
                deleted: 0,
                deletion: { status: "skipped", reason: "not every range was loaded" },
                ranges: {
                    total: 3,
                    skipped: 0,
                    loaded: 1,
                    failed: 2,
                    failures: { "1": "throttled past the deadline", "2": "AccessDenied" },
                },
                failure: { reason: "ranges-failed", detail: "2 of 3 range(s) were not fully loaded" },
            }),
        );
        const unreported = await startLoad({ "--export": "2026-11-24/" });
        failedByGlue(unreported, "Command failed with exit code 137");

        expect((await list("--failed", "--limit", "3")).stdout).to.equal(
            failedHeading +
                "\n" +
                `${unreported.Id} FAILED at ${started(unreported)} after 0s\n` +
                "  export   2026-11-24/\n" +
                "  Glue     Command failed with exit code 137\n" +
                `  report   none at ${reportAt(unreported)}: the run ended before the job could write one (see the job's logs in CloudWatch)\n` +
                "\n" +
                `${rangesFailed.Id} SUCCEEDED at ${started(rangesFailed)} after 0s\n` +
                "  export   2026-11-23/: 3 parts, 4.00 KB (2 gzip), marker _SUCCESS\n" +
                "  reason   ranges-failed: 2 of 3 range(s) were not fully loaded\n" +
                "  lines    10 read, 5 loaded, 2 rejected (invalid-json 2), 0 duplicates, 0 deleted\n" +
                "  ranges   2 of 3 not loaded; range 1: throttled past the deadline; range 2: AccessDenied\n" +
                "  deletion skipped: not every range was loaded\n" +
                `  rejected s3://ingest-dev-quarantine/lookups/products/${rangesFailed.Id}/rejected.jsonl\n` +
                `  report   ${reportAt(rangesFailed)}\n` +
                "\n" +
                `${noExport.Id} FAILED at ${started(noExport)} after 0s\n` +
                "  export   none found for --export latest\n" +
                "  Glue     RunFailure: no-export\n" +
                "  reason   no-export: no completion marker (_SUCCESS, manifest-summary.json, manifest) under exports/\n" +
                "  lines    0 read, 0 loaded, 0 rejected, 0 duplicates, 0 deleted\n" +
                `  report   ${reportAt(noExport)}\n`,
        );
        expect((await list("--limit", "3")).stdout.split("\n").slice(1)).to.deep.equal([
            "RUN           STARTED               STATE                     EXPORT       PARTS  LINES  LOADED  REJECTED            DELETED  DURATION",
            `${unreported.Id!.slice(0, 12)}  ${started(unreported)}  FAILED                    -                -      -       -  -                         -        0s`,
            `${rangesFailed.Id!.slice(0, 12)}  ${started(rangesFailed)}  SUCCEEDED, report failed  2026-11-23/      3     10       5  2 (invalid-json 2)        0        0s`,
            `${noExport.Id!.slice(0, 12)}  ${started(noExport)}  FAILED                    -                -      0       0  0                         0        0s`,
            "",
        ]);
    });

    it("shows what a report has and says which report is unreadable, and which succeeded load left none", async () => {
        // A report of an older loader: no export, parts or deletion, and a count of the wrong type.
        const older = await startLoad();
        await putReport(older, { job: "lookup-load", status: "succeeded", lines: "12", loaded: 12, rejected: 0 });
        const garbled = await startLoad();
        await putReport(garbled, '{"job": "lookup-load", "lines": 1');
        const otherJob = await startLoad();
        await putReport(otherJob, { job: "extract", status: "succeeded" });
        const unreported = await startLoad();

        expect((await list("--limit", "4")).stdout).to.equal(
            heading +
                "RUN           STARTED               STATE      EXPORT  PARTS  LINES  LOADED  REJECTED  DELETED  DURATION\n" +
                `${unreported.Id!.slice(0, 12)}  ${started(unreported)}  SUCCEEDED  -           -      -       -  -               -        0s\n` +
                `${otherJob.Id!.slice(0, 12)}  ${started(otherJob)}  SUCCEEDED  -           -      -       -  -               -        0s\n` +
                `${garbled.Id!.slice(0, 12)}  ${started(garbled)}  SUCCEEDED  -           -      -       -  -               -        0s\n` +
                `${older.Id!.slice(0, 12)}  ${started(older)}  SUCCEEDED  -           -      -      12  0               -        0s\n` +
                `The report of ${otherJob.Id!.slice(0, 12)} at ${reportAt(otherJob)} is the report of job "extract", not of a lookup load.\n` +
                `The report of ${garbled.Id!.slice(0, 12)} at ${reportAt(garbled)} is not JSON.\n` +
                "1 succeeded load(s) left no report in s3://ingest-dev-quarantine/lookups/products/.\n",
        );
    });

    it("says so when none of the recorded loads failed", async () => {
        const stack = stackOutputsDocument();
        const quiet = writeOutputsFile({ ...stack, lookupTables: { products: { ...products, loaderJob: operatorJobWithoutFailures } } });
        await createLoaderJob(operatorJobWithoutFailures);
        await clients.glue.send(new StartJobRunCommand({ JobName: operatorJobWithoutFailures }));
        expect(await runOperator(["runs", "--outputs", quiet, "--lookup", "products", "--failed"], clients)).to.deep.equal({
            code: 0,
            stdout: "No failed loads among the 1 recorded loads of lookup products.\n",
            stderr: "",
        });
    });

    const usageErrors: [string, () => unknown, string[], string][] = [
        [
            "an unknown lookup, naming the stack's lookups",
            () => ({ ...stackOutputsDocument(), lookupTables: { products, prices: products } }),
            ["--lookup", "stores"],
            'ingest: unknown lookup "stores": stack dev has prices, products\n',
        ],
        [
            "a lookup of a stack that has none",
            () => stackOutputsDocument(),
            ["--lookup", "products"],
            'ingest: unknown lookup "products": stack dev has no lookups\n',
        ],
        [
            "outputs saved before the lookup's report location was exported",
            () => ({
                ...stackOutputsDocument(),
                lookupTables: { products: { ...products, reportBucket: undefined, reportPrefix: undefined } },
            }),
            ["--lookup", "products"],
            "ingest: the stack outputs lack what this tool needs of lookup products (were they saved before the stack was last updated?):\n" +
                "  lookupTables.products.reportBucket: Invalid input: expected string, received undefined\n" +
                "  lookupTables.products.reportPrefix: Invalid input: expected string, received undefined\n",
        ],
        [
            "a pipeline and a lookup at once",
            () => ({ ...stackOutputsDocument(), lookupTables: { products } }),
            ["--lookup", "products", "--pipeline", "customers"],
            "ingest: runs takes one of --pipeline, --lookup and --export, not --pipeline and --lookup\n",
        ],
        [
            "a limit that is not a count",
            () => ({ ...stackOutputsDocument(), lookupTables: { products } }),
            ["--lookup", "products", "--limit", "0"],
            "ingest: --limit 0 is not a whole number of at least 1\n",
        ],
    ];
    for (const [title, document, args, stderr] of usageErrors) {
        it(`refuses ${title} with exit code 2`, async () => {
            const file = writeOutputsFile(document());
            expect(await runOperator(["runs", "--outputs", file, ...args], clients)).to.deep.equal({ code: 2, stdout: "", stderr });
        });
    }

    it("reads the lookup and warehouse export outputs the program exports (index.ts), and lists pipelines from outputs saved before them", async () => {
        const { exports } = await runProgramWithExports("dev");
        const saved = await loadStackOutputs({ stack: "dev", file: writeOutputsFile(exports) });
        expect(selectLookup(saved, "dev", "products")).to.deep.equal({ lookup: "products", ...products });
        // `runs --export` (test/cli-runs-export.test.ts) reads the rest from the job's own arguments.
        expect(selectExport(saved, "dev", "clickstream")).to.deep.equal({
            stream: "clickstream",
            exportJob: "ingest-dev-clickstream-warehouse-job",
        });
        const withoutLookups = stackOutputsDocument();
        delete withoutLookups.lookupTables;
        const older = writeOutputsFile(withoutLookups);
        expect((await runOperator(["runs", "--outputs", older, "--limit", "1"], clients)).code).to.equal(0);
    });
});
