/**
 * `npm run local -- --lookup NAME --export ...`: a lookup's exports loaded end to end on this
 * machine. moto stands in for AWS with what the stack declares for the lookup (exports bucket, plan,
 * table with its key and TTL, loader job, reports bucket, topic); each export is uploaded as one
 * export folder and the real loader script (glue-scripts/lookup_load_job.py) loads it on local
 * Spark, one load after the other, as the deployed job would be started by hand.
 */
import * as fs from "fs";
import * as path from "path";
import { CreateTableCommand, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { CreateJobCommand, StartJobRunCommand } from "@aws-sdk/client-glue";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateTopicCommand } from "@aws-sdk/client-sns";
import { detailLines, readStoredJson } from "../cli/job-runs";
import { exportDetail, lookupReportKey, outcomeDetails, parseLoadReport, type LookupLoadReport } from "../cli/lookup-report";
import { formatBytes } from "../cli/query";
import { lookupPlan, parseLookup, type Lookup } from "../config/lookup";
import type { LookupPlan } from "../contracts/lookup-plan";
import { configDirectory, displayPath } from "../config/load";
import type lookupArguments from "../glue-scripts/ingest/contracts/lookup_job_arguments.json";
import { JsonNumber, stringifyJson, type JsonObject, type JsonValue } from "../lambdas/shared/json-text";
import { elapsed, reportFailures, runGlueScript, say, scanItems, withEmulator, writeOut, type Emulator } from "./local-glue";
import { UsageError, type LookupOptions } from "./local-options";

/** The marker written after a single file given as an export, which makes it a complete export folder. */
export const fileExportMarker = "_SUCCESS";

/** One object of an export folder: a file uploaded as it is, or (`file` null) the empty marker written for a single file. */
export interface ExportObject {
    readonly key: string;
    readonly file: string | null;
}

/** One --export as it is uploaded: its folder under the lookup's prefix, and its objects in upload order. */
export interface ExportUpload {
    readonly given: string;
    /** The folder's key, ending in /: the loader's --export. */
    readonly folder: string;
    readonly objects: readonly ExportObject[];
}

/**
 * The uploads of each --export, in the order given. A folder keeps its name, file names and
 * sub-folders under `prefix`, with the completion markers directly in it (names in `markers`)
 * uploaded last, as an exporter writes its marker once the parts are there. A single file becomes
 * the folder `<prefix><file name without extension>/` holding it and a `_SUCCESS` marker. Every
 * problem is reported at once.
 */
export function exportUploads(paths: readonly string[], prefix: string, markers: readonly string[]): ExportUpload[] {
    const problems: string[] = [];
    const uploads: ExportUpload[] = [];
    for (const given of paths) {
        const location = path.resolve(given);
        if (!fs.existsSync(location)) {
            problems.push(`${given}: no such file or folder`);
            continue;
        }
        if (!fs.statSync(location).isDirectory()) {
            const folder = `${prefix}${exportName(path.basename(location))}/`;
            const objects = [
                { key: `${folder}${path.basename(location)}`, file: location },
                { key: `${folder}${fileExportMarker}`, file: null },
            ];
            uploads.push({ given, folder, objects });
            continue;
        }
        const files = fs
            .readdirSync(location, { recursive: true, withFileTypes: true })
            .filter((entry) => entry.isFile())
            .map((entry) => path.relative(location, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
            .sort();
        if (files.length === 0) {
            problems.push(`${given}: the folder holds no files`);
            continue;
        }
        const folder = `${prefix}${path.basename(location)}/`;
        const isMarker = (name: string) => markers.includes(name);
        const ordered = [...files.filter((name) => !isMarker(name)), ...files.filter(isMarker)];
        uploads.push({ given, folder, objects: ordered.map((name) => ({ key: `${folder}${name}`, file: path.join(location, name) })) });
    }
    if (problems.length > 0) {
        throw new UsageError(`Not every export can be loaded:\n  ${problems.join("\n  ")}`);
    }
    return uploads;
}

/** "products-2026-11-26" of products-2026-11-26.jsonl or products-2026-11-26.jsonl.gz. */
function exportName(fileName: string): string {
    const withoutCompression = fileName.replace(/\.gz$/i, "");
    const extension = path.extname(withoutCompression);
    return extension && extension !== withoutCompression ? withoutCompression.slice(0, -extension.length) : withoutCompression;
}

/** The lookup definition: config/lookups/<lookup>.yaml, or the --lookup-config file, whose lookup: must be the --lookup name. */
export function readLookup(options: Pick<LookupOptions, "lookup" | "lookupConfig">): Lookup {
    const file = options.lookupConfig ?? path.join(configDirectory("lookups"), `${options.lookup}.yaml`);
    if (!fs.existsSync(file)) {
        throw new UsageError(
            options.lookupConfig
                ? `${options.lookupConfig}: no such lookup file`
                : `lookup "${options.lookup}" does not exist: there is no config/lookups/${options.lookup}.yaml (a file elsewhere goes with --lookup-config)`,
        );
    }
    const displayName = options.lookupConfig ?? displayPath(file);
    const lookup = parseLookup(displayName, fs.readFileSync(file, "utf8"));
    if (lookup.lookup !== options.lookup) {
        throw new UsageError(`${displayName} defines lookup "${lookup.lookup}", not "${options.lookup}"`);
    }
    return lookup;
}

/** What became of one export's load. */
interface Load {
    readonly upload: ExportUpload;
    readonly jobRunId: string;
    readonly exitCode: number;
    /** The report.json the load wrote, exactly as written; null when the script ended without one (or it is not JSON). */
    readonly document: unknown;
    readonly report: LookupLoadReport | undefined;
}

/** Loads every export; returns the exit code (1 when a load failed, its reason printed last). */
export async function loadLookupExports(options: LookupOptions): Promise<number> {
    const lookup = readLookup(options);
    const plan = lookupPlan(lookup);
    const uploads = exportUploads(options.exportPaths, lookup.source.prefix, plan.markers);
    const key = [plan.key.partition, ...(plan.key.sort ? [plan.key.sort] : [])].map((part) => `${part.attribute} (${part.type})`);
    say(
        `Lookup "${plan.lookup}": ${plan.format} exports under ${lookup.source.prefix}, keyed by ${key.join(", ")}` +
            `${plan.fullRefresh ? ", full refresh (keys an export no longer holds are deleted)" : ""}`,
    );
    const loads = await withEmulator((emulator) => runLoads(lookup, plan, uploads, options.out, emulator));
    return reportFailures(
        "load",
        loads.map((load) => ({ name: load.upload.folder, failure: failureOf(load) })),
    );
}

/** Why the load failed, or undefined when it succeeded. */
function failureOf(load: Load): string | undefined {
    if (load.exitCode === 0 && load.report?.status === "succeeded") {
        return undefined;
    }
    const failure = load.report?.failure;
    if (failure) {
        return failure.detail ? `${failure.reason}: ${failure.detail}` : failure.reason;
    }
    return `the Glue script exited with code ${load.exitCode}${load.report ? "" : " without writing a load report"}`;
}

async function runLoads(
    lookup: Lookup,
    plan: LookupPlan,
    uploads: readonly ExportUpload[],
    out: string | undefined,
    { endpoint, s3, dynamodb, glue, sns }: Emulator,
): Promise<Load[]> {
    // Where components/lookup-table puts them.
    const names = {
        exports: `ingest-local-${plan.lookup}-exports`,
        assets: "ingest-local-glue-assets",
        reports: "ingest-local-quarantine",
        table: `ingest-local-${plan.lookup}-table`,
        job: `ingest-local-${plan.lookup}-job`,
        planKey: `jobs/lookups/${plan.lookup}/lookup.json`,
        reportPrefix: "lookups/",
    };
    say("Creating what the stack declares: exports, assets and reports buckets, the plan, the lookup table, loader job and topic");
    for (const bucket of [names.exports, names.assets, names.reports]) {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    }
    await s3.send(new PutObjectCommand({ Bucket: names.assets, Key: names.planKey, Body: JSON.stringify(plan, null, 2) }));
    const keys = [plan.key.partition, ...(plan.key.sort ? [plan.key.sort] : [])];
    await dynamodb.send(
        new CreateTableCommand({
            TableName: names.table,
            BillingMode: "PAY_PER_REQUEST",
            KeySchema: keys.map((key, index) => ({ AttributeName: key.attribute, KeyType: index === 0 ? "HASH" : "RANGE" })),
            AttributeDefinitions: keys.map((key) => ({ AttributeName: key.attribute, AttributeType: key.type === "number" ? "N" : "S" })),
        }),
    );
    if (plan.ttl) {
        await dynamodb.send(
            new UpdateTimeToLiveCommand({
                TableName: names.table,
                TimeToLiveSpecification: { AttributeName: plan.ttl.attribute, Enabled: true },
            }),
        );
    }
    const topic = await sns.send(new CreateTopicCommand({ Name: `ingest-local-${plan.lookup}-alarms` }));
    const deployArguments: Record<keyof typeof lookupArguments.deployArguments, string> = {
        lookup_uri: `s3://${names.assets}/${names.planKey}`,
        table_name: names.table,
        export_bucket: names.exports,
        export_prefix: lookup.source.prefix,
        checkpoint_uri: `s3://${names.assets}/temporary/lookups/${plan.lookup}/checkpoints/`,
        report_bucket: names.reports,
        report_prefix: names.reportPrefix,
        notification_topic_arn: topic.TopicArn!,
        stack: "local",
    };
    await glue.send(
        new CreateJobCommand({
            Name: names.job,
            Role: "arn:aws:iam::123456789012:role/ingest-local-loader",
            Command: { Name: "glueetl", ScriptLocation: `s3://${names.assets}/jobs/lookups/${plan.lookup}/lookup_load_job.py` },
            DefaultArguments: Object.fromEntries(Object.entries(deployArguments).map(([name, value]) => [`--${name}`, value])),
            GlueVersion: "5.1",
            ExecutionProperty: { MaxConcurrentRuns: 1 },
        }),
    );

    const loads: Load[] = [];
    for (const [index, upload] of uploads.entries()) {
        let bytes = 0;
        for (const object of upload.objects) {
            const body = object.file === null ? Buffer.alloc(0) : fs.readFileSync(object.file);
            bytes += body.length;
            await s3.send(new PutObjectCommand({ Bucket: names.exports, Key: object.key, Body: body }));
        }
        const files = upload.objects.length;
        say(
            `\n[${index + 1}/${uploads.length}] Uploaded ${upload.given} as ${files} object${files === 1 ? "" : "s"} (${formatBytes(bytes)})` +
                ` to s3://${names.exports}/${upload.folder}`,
        );
        const runArguments: Record<keyof typeof lookupArguments.runArguments, string> = { export: upload.folder };
        const { JobRunId } = await glue.send(
            new StartJobRunCommand({ JobName: names.job, Arguments: { "--export": runArguments.export } }),
        );
        say(`  started Glue run ${JobRunId} of ${names.job} with --export ${upload.folder}`);
        const script = await runGlueScript(
            "lookup_load_job.py",
            { ...deployArguments, ...runArguments, JOB_RUN_ID: JobRunId! },
            endpoint,
            printLoaderProgress,
        );
        const reportLocation = { Bucket: names.reports, Key: lookupReportKey(names.reportPrefix, plan.lookup, JobRunId!) };
        const stored = await readStoredJson(s3, reportLocation.Bucket, reportLocation.Key);
        const document = stored.kind === "read" ? stored.document : null;
        const parsed =
            stored.kind === "read"
                ? parseLoadReport(stored.document)
                : stored.kind === "unreadable"
                  ? { problem: stored.problem }
                  : undefined;
        const load: Load = {
            upload,
            jobRunId: JobRunId!,
            exitCode: script.exitCode,
            document,
            report: parsed && "report" in parsed ? parsed.report : undefined,
        };
        loads.push(load);
        if (parsed && "problem" in parsed) {
            say(`  its report s3://${reportLocation.Bucket}/${reportLocation.Key} is ${parsed.problem}`);
        }
        if (load.report) {
            printLoad(load.report, lookup.source.prefix, upload.folder);
        }
        // A failure the loader anticipated is explained by its report; anything else needs the script's own last lines.
        const anticipated = load.report?.failure && load.report.failure.reason !== "unexpected-error";
        if (!load.report || (script.exitCode !== 0 && !anticipated)) {
            const written = load.report ? "" : " without writing a load report";
            say(`  the Glue script exited with code ${script.exitCode}${written}; its last lines:\n${script.stderrTail}`);
        }
    }

    const items = await scanItems(dynamodb, names.table, byKey(plan));
    say(`\nDynamoDB table ${names.table} now holds ${items.length} item${items.length === 1 ? "" : "s"}.`);
    if (out) {
        writeOut(
            out,
            loads.map((load) => load.document),
            items,
        );
    }
    return loads;
}

/** The loader's progress lines (JSON with a message) with the seconds since it started; other lines as they are. */
function printLoaderProgress(line: string, seconds: number): void {
    if (!line.trim()) {
        return;
    }
    try {
        const entry = JSON.parse(line) as { message?: unknown };
        if (typeof entry.message === "string") {
            say(`${elapsed(seconds)}${entry.message}`);
            return;
        }
    } catch {
        // not one of the loader's JSON lines
    }
    say(`  ${line}`);
}

function printLoad(report: LookupLoadReport, exportsPrefix: string, requested: string): void {
    const seconds = report.seconds !== undefined ? ` in ${report.seconds}s` : "";
    say(`  load ${report.status ?? "of unknown status"}${seconds}`);
    for (const line of detailLines([exportDetail(report, exportsPrefix, requested), ...outcomeDetails(report)], "    ")) {
        say(line);
    }
}

/** Items in key order: partition key, then sort key; a number key by its value, a string key by its characters. */
function byKey(plan: LookupPlan): (a: JsonObject, b: JsonObject) => number {
    const keys = [plan.key.partition, ...(plan.key.sort ? [plan.key.sort] : [])];
    return (a, b) => {
        for (const { attribute } of keys) {
            const order = compareValues(a.get(attribute), b.get(attribute));
            if (order !== 0) {
                return order;
            }
        }
        return 0;
    };
}

function compareValues(a: JsonValue | undefined, b: JsonValue | undefined): number {
    if (a instanceof JsonNumber && b instanceof JsonNumber) {
        return Number(a.text) - Number(b.text);
    }
    // Keys are strings or numbers (DynamoDB key types S and N): text order otherwise.
    const [first, second] = [keyText(a), keyText(b)];
    return first < second ? -1 : first > second ? 1 : 0;
}

function keyText(value: JsonValue | undefined): string {
    return value instanceof JsonNumber ? value.text : typeof value === "string" ? value : stringifyJson(value ?? null);
}
