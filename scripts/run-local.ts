/**
 * The batch pipeline end to end on this machine: moto server on 127.0.0.1 stands in for AWS, the
 * real trigger handler receives the real event shape, and the real Glue entry script runs on local
 * Spark with the arguments the handler started the run with. With --lookup, a lookup's exports
 * are loaded into its table by the real loader script instead (scripts/local-lookup.ts).
 * `npm run local -- --help` lists the options.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { CreateDatabaseCommand, CreateJobCommand, GetJobRunsCommand } from "@aws-sdk/client-glue";
import { CreateBucketCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateTopicCommand } from "@aws-sdk/client-sns";
import { readStoredJson } from "../cli/job-runs";
import { describeChanges, describeScan, runReportKey, type RunReport } from "../cli/run-report";
import type { JobPlan } from "../config/job-plan";
import { loadJobPlan, repositoryRoot } from "../config/load";
import { defaultItemsWriteUnitsPerSecond } from "../config/stack-settings";
import { ConfigError } from "../config/yaml-source";
import type jobArguments from "../glue-scripts/ingest/contracts/job_arguments.json";
import { readExtractName, type ExtractIdentity } from "../lambdas/extract-trigger/extract-name";
import { createHandler } from "../lambdas/extract-trigger/handler";
import { describeSeconds } from "../lambdas/shared/durations";
import { indentJson } from "../lambdas/shared/json-text";
import {
    elapsed,
    objectCreatedEvent,
    python,
    reportFailures,
    runGlueScript,
    say,
    scanItems,
    withEmulator,
    writeOut,
    type Emulator,
} from "./local-glue";
import { loadLookupExports } from "./local-lookup";
import { parseLocalOptions, usage, UsageError, type PipelineOptions, type SampleSettings } from "./local-options";

interface Archive {
    readonly file: string;
    readonly extract: ExtractIdentity;
}

/**
 * The archives in landing order: each path in the order given, a folder's archives in extract
 * order. Every name must fit the mapping's archive naming, which also orders a folder; the
 * trigger would start no run for any other name. Every problem is reported at once.
 */
function archivesToLand(paths: readonly string[], plan: JobPlan): Archive[] {
    const { landingPrefix, archiveNaming } = plan.extract;
    const problems: string[] = [];
    const identified = (given: string): Archive[] => {
        const name = readExtractName(`${landingPrefix}${path.basename(given)}`, landingPrefix, archiveNaming);
        if (!name.accepted) {
            problems.push(`${given}: ${name.reason}`);
            return [];
        }
        return [{ file: path.resolve(given), extract: name.extract }];
    };
    const archives: Archive[] = [];
    for (const given of paths) {
        const file = path.resolve(given);
        if (!fs.existsSync(file)) {
            problems.push(`${given}: no such file or folder`);
        } else if (!fs.statSync(file).isDirectory()) {
            archives.push(...identified(given));
        } else {
            const names = fs
                .readdirSync(file, { withFileTypes: true })
                .filter((entry) => entry.isFile())
                .map((entry) => entry.name);
            if (names.length === 0) {
                problems.push(`${given}: the folder holds no archives`);
            }
            const inFolder = names.flatMap((name) => identified(path.join(given, name)));
            // Two names may give the same extract (a sequence written as 1 and 01); the file name breaks the tie.
            inFolder.sort((a, b) => a.extract.extractVersion - b.extract.extractVersion || (a.file < b.file ? -1 : 1));
            archives.push(...inFolder);
        }
    }
    if (problems.length > 0) {
        throw new UsageError(`Not every archive can be landed:\n  ${problems.join("\n  ")}`);
    }
    return archives;
}

/** What became of one landed archive. */
interface LandedRun {
    readonly file: string;
    readonly extractId: string;
    readonly jobRunId: string;
    readonly exitCode: number;
    /** The report the run wrote next to the lake, with every field; null when the script ended without one. */
    readonly report: RunReport | null;
}

/** Why the run failed, or undefined when it succeeded. */
function failureOf(run: LandedRun): string | undefined {
    if (run.exitCode === 0 && run.report?.status === "succeeded") {
        return undefined;
    }
    if (run.report?.failure) {
        return `${run.report.failure.reason}: ${run.report.failure.detail}`;
    }
    return `the Glue script exited with code ${run.exitCode}${run.report ? "" : " without writing a run report"}`;
}

async function main(): Promise<number> {
    const settings = parseLocalOptions(process.argv.slice(2));
    if (!settings) {
        say(usage);
        return 0;
    }
    return settings.kind === "lookup" ? loadLookupExports(settings) : landExtracts(settings);
}

/** The pipeline's local run: each archive landed, its run started by the trigger, the Glue script run. */
async function landExtracts(settings: PipelineOptions): Promise<number> {
    const plan = loadJobPlan(settings.mapping);
    const given = archivesToLand(settings.extractPaths, plan);
    say(`Pipeline "${plan.pipeline}": ${plan.tables.length} tables, items keyed by ${plan.item.partitionKey.attribute}`);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ingest-local-"));
    let runs: LandedRun[];
    try {
        const archives = given.length > 0 ? given : archivesToLand(await generateExtracts(plan, settings.sample, workDir), plan);
        runs = await withEmulator((emulator) => runPipeline(plan, archives, settings.out, emulator));
    } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
    }
    return reportFailures(
        "run",
        runs.map((run) => ({ name: path.basename(run.file), failure: failureOf(run) })),
    );
}

async function runPipeline(
    plan: JobPlan,
    archives: readonly Archive[],
    out: string | undefined,
    { endpoint, s3, dynamodb, glue, sns }: Emulator,
): Promise<LandedRun[]> {
    const names = {
        landing: "ingest-local-landing",
        lake: "ingest-local-lake",
        quarantine: "ingest-local-quarantine",
        assets: "ingest-local-glue-assets",
        items: `ingest-local-${plan.pipeline}-items`,
        ledger: `ingest-local-${plan.pipeline}-runs`,
        database: "ingest_local",
        job: `ingest-local-${plan.pipeline}`,
    };
    say("Creating what the stack declares: buckets, DynamoDB tables, Glue database and job, SNS topic");
    for (const bucket of [names.landing, names.lake, names.quarantine, names.assets]) {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    }
    await s3.send(new PutBucketVersioningCommand({ Bucket: names.landing, VersioningConfiguration: { Status: "Enabled" } }));
    const planKey = `jobs/${plan.pipeline}/plan.json`;
    await s3.send(new PutObjectCommand({ Bucket: names.assets, Key: planKey, Body: JSON.stringify(plan, null, 2) }));
    const keys = [plan.item.partitionKey, ...(plan.item.sortKey ? [plan.item.sortKey] : [])];
    await dynamodb.send(
        new CreateTableCommand({
            TableName: names.items,
            BillingMode: "PAY_PER_REQUEST",
            KeySchema: keys.map((key, index) => ({ AttributeName: key.attribute, KeyType: index === 0 ? "HASH" : "RANGE" })),
            AttributeDefinitions: keys.map((key) => ({ AttributeName: key.attribute, AttributeType: key.type })),
        }),
    );
    await dynamodb.send(
        new CreateTableCommand({
            TableName: names.ledger,
            BillingMode: "PAY_PER_REQUEST",
            KeySchema: [{ AttributeName: "archive", KeyType: "HASH" }],
            AttributeDefinitions: [{ AttributeName: "archive", AttributeType: "S" }],
        }),
    );
    // The stack declares the lake's Iceberg tables too, but moto's Glue cannot write Iceberg metadata:
    // here the job creates each table, from the plan, the first time it needs it.
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: names.database } }));
    const topic = await sns.send(new CreateTopicCommand({ Name: `ingest-local-${plan.pipeline}-notifications` }));
    const deployArguments: Record<keyof typeof jobArguments.deployArguments, string> = {
        plan_uri: `s3://${names.assets}/${planKey}`,
        lake_bucket: names.lake,
        quarantine_bucket: names.quarantine,
        items_table: names.items,
        glue_database: names.database,
        notification_topic_arn: topic.TopicArn!,
        run_ledger_table: names.ledger,
        staging_uri: `s3://${names.assets}/temporary/${plan.pipeline}/staging/`,
        changes_uri: `s3://${names.assets}/temporary/${plan.pipeline}/changes/`,
        items_write_units_per_second: String(defaultItemsWriteUnitsPerSecond),
        stack: "local",
    };
    await glue.send(
        new CreateJobCommand({
            Name: names.job,
            Role: "arn:aws:iam::123456789012:role/ingest-local-job",
            Command: { Name: "glueetl", ScriptLocation: `s3://${names.assets}/jobs/${plan.pipeline}/extract_job.py` },
            DefaultArguments: Object.fromEntries(Object.entries(deployArguments).map(([name, value]) => [`--${name}`, value])),
            GlueVersion: "5.1",
            ExecutionProperty: { MaxConcurrentRuns: 1 },
        }),
    );

    const trigger = createHandler({
        glue,
        dynamodb,
        s3,
        settings: {
            stack: deployArguments.stack,
            pipeline: plan.pipeline,
            jobName: names.job,
            runLedgerTable: names.ledger,
            landingBucket: names.landing,
            landingPrefix: plan.extract.landingPrefix,
            archiveNaming: plan.extract.archiveNaming,
            quarantineBucket: names.quarantine,
        },
        now: () => new Date(),
    });
    const runs: LandedRun[] = [];
    for (const [index, archive] of archives.entries()) {
        const key = `${plan.extract.landingPrefix}${path.basename(archive.file)}`;
        const body = fs.readFileSync(archive.file);
        const put = await s3.send(new PutObjectCommand({ Bucket: names.landing, Key: key, Body: body }));
        say(`\n[${index + 1}/${archives.length}] Landed s3://${names.landing}/${key} (${body.length} bytes, version ${put.VersionId})`);
        // S3 stamps its event with the time it wrote the version, which Last-Modified gives.
        const head = await s3.send(new HeadObjectCommand({ Bucket: names.landing, Key: key, VersionId: put.VersionId }));
        const event = objectCreatedEvent(names.landing, key, body.length, put.VersionId!, head.LastModified!, index);
        const result = await trigger(event);
        if (result.batchItemFailures.length > 0) {
            throw new Error(`the trigger did not start a run for ${key}; see its log lines above`);
        }
        const startedRuns = await glue.send(new GetJobRunsCommand({ JobName: names.job }));
        // The same archive may be landed again (a rerun): its run is the one for this version.
        const run = startedRuns.JobRuns?.find(
            (candidate) => candidate.Arguments?.["--archive_key"] === key && candidate.Arguments["--archive_version_id"] === put.VersionId,
        );
        if (!run?.Arguments) {
            throw new Error(`the trigger reported success but no Glue run for ${key} exists`);
        }
        const extractId = run.Arguments["--extract_id"]!;
        say(`  trigger started Glue run ${run.Id} for extract ${extractId}`);
        const script = await runGlueScript(
            "extract_job.py",
            { ...deployArguments, ...stripDashes(run.Arguments), JOB_RUN_ID: run.Id! },
            endpoint,
            printProgress,
        );
        const report = await readReport(s3, names.lake, runReportKey(plan.pipeline, extractId, run.Id!));
        const landed: LandedRun = { file: archive.file, extractId, jobRunId: run.Id!, exitCode: script.exitCode, report };
        runs.push(landed);
        if (landed.report) {
            printReport(landed.report);
        }
        // A failure the job anticipated is explained by its report; anything else needs the script's own last lines.
        const anticipated = landed.report?.failure && landed.report.failure.reason !== "unexpected-error";
        if (!landed.report || (script.exitCode !== 0 && !anticipated)) {
            const written = landed.report ? "" : " without writing a run report";
            say(`  the Glue script exited with code ${script.exitCode}${written}; its last lines:\n${script.stderrTail}`);
        }
    }

    const items = await scanItems(dynamodb, names.items);
    say(`\nDynamoDB table ${names.items} now holds ${items.length} items.`);
    if (items[0]) {
        say(`A sample item:\n${indentJson(items[0]).split("\n").slice(0, 40).join("\n")}`);
    }
    if (out) {
        writeOut(out, runs, items);
    }
    return runs;
}

async function generateExtracts(plan: JobPlan, sample: SampleSettings, workDir: string): Promise<string[]> {
    const planFile = path.join(workDir, "plan.json");
    fs.writeFileSync(planFile, JSON.stringify(plan));
    say(`Generating ${sample.extracts} sample extract(s) with ${sample.roots} ${plan.item.root.table} (seed ${sample.seed})`);
    const output = await collect(python, [
        "-m",
        "local.sample_extract",
        "--plan",
        planFile,
        "--out",
        path.join(workDir, "extracts"),
        "--roots",
        String(sample.roots),
        "--extracts",
        String(sample.extracts),
        "--seed",
        String(sample.seed),
    ]);
    return output
        .split("\n")
        .filter((line) => line.trim().startsWith("{"))
        .map((line) => (JSON.parse(line) as { archive: string }).archive);
}

function stripDashes(argumentsWithDashes: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(argumentsWithDashes).map(([name, value]) => [name.replace(/^--/, ""), value]));
}

function printProgress(line: string, seconds: number): void {
    try {
        const entry = JSON.parse(line) as { message?: string; step?: string; seconds?: number; table?: string };
        if (entry.message === "step started") {
            say(`${elapsed(seconds)}${entry.step} ...`);
        } else if (entry.message === "step finished") {
            say(`${elapsed(seconds)}${entry.step} done in ${entry.seconds}s`);
        } else if (entry.message === "merged") {
            say(`  merged ${entry.table}`);
        }
    } catch {
        if (line.trim()) {
            say(`  ${line}`);
        }
    }
}

function printReport(report: RunReport): void {
    say(`  extract ${report.extractId}: ${report.status}${report.failure ? ` (${report.failure.reason}: ${report.failure.detail})` : ""}`);
    for (const [name, counts] of Object.entries(report.tables)) {
        const reasons = Object.entries(counts.quarantinedByReason)
            .map(([reason, count]) => `${reason} ${count}`)
            .join(", ");
        say(
            `    ${name.padEnd(14)} read ${String(counts.read).padStart(7)}  accepted ${String(counts.accepted).padStart(7)}  quarantined ${String(counts.quarantined).padStart(5)}${reasons ? ` (${reasons})` : ""}${counts.orphans ? `  orphans ${counts.orphans}` : ""}`,
        );
    }
    if (report.completedExtract) {
        say(`    first completed extract ${report.completedExtract}, whose run died with its lake changes half applied`);
    }
    for (const [name, counts] of Object.entries(report.tables)) {
        if (counts.changes) {
            say(`    changes  ${name}: ${describeChanges(counts.changes)}`);
        }
    }
    for (const [name, counts] of Object.entries(report.tables)) {
        if (counts.scanned && Object.keys(counts.scanned).length > 0) {
            say(`    scanned  ${name}: ${describeScan(counts.scanned)}`);
        }
    }
    if (Object.keys(report.items).length > 0) {
        say(
            `    items: ${Object.entries(report.items)
                .map(([name, value]) => `${name} ${value}`)
                .join(", ")}`,
        );
    }
    if (report.latencySeconds !== undefined && report.latencySeconds !== null) {
        say(`    latency: ${describeSeconds(report.latencySeconds)} from landing to items written`);
    }
    if (report.quarantineLocation) {
        say(`    kept in quarantine: ${report.quarantineLocation}`);
    }
}

/** The run's report as the job wrote it (every field, not only those RunReport names), or null when there is none. */
async function readReport(s3: S3Client, bucket: string, key: string): Promise<RunReport | null> {
    const stored = await readStoredJson(s3, bucket, key);
    if (stored.kind === "unreadable") {
        throw new Error(`the run report s3://${bucket}/${key} is ${stored.problem}`);
    }
    return stored.kind === "read" ? (stored.document as RunReport) : null;
}

function collect(command: string, argv: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, argv, {
            cwd: repositoryRoot,
            env: { ...process.env, PYTHONPATH: repositoryRoot },
            stdio: ["ignore", "pipe", "inherit"],
        });
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
        child.on("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${argv.join(" ")} exited with ${code}`))));
    });
}

main().then(
    (exitCode) => {
        process.exitCode = exitCode;
    },
    (error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exitCode = error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
    },
);
