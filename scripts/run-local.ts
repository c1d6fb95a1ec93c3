/**
 * The batch pipeline end to end on this machine: moto server on 127.0.0.1 stands in for AWS, the
 * real trigger handler receives the real event shape, and the real Glue entry script runs on local
 * Spark with the arguments the handler started the run with.
 *
 *     npm run local -- [--mapping customers | config/mappings/x.yaml] [--extract my.zip] [--roots 200]
 *                      [--extracts 2] [--seed 7] [--out DIR]
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { CreateTableCommand, DynamoDBClient, paginateScan, type AttributeValue } from "@aws-sdk/client-dynamodb";
import {
    CreateDatabaseCommand,
    CreateJobCommand,
    CreateTableCommand as CreateGlueTableCommand,
    GetJobRunsCommand,
    GlueClient,
} from "@aws-sdk/client-glue";
import { CreateBucketCommand, GetObjectCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import type { SQSEvent } from "aws-lambda";
import { runReportKey, type RunReport } from "../cli/run-report";
import { catalogTables, type JobPlan } from "../config/job-plan";
import { loadJobPlans, mappingsDirectory, repositoryRoot } from "../config/load";
import type jobArguments from "../glue-scripts/ingest/contracts/job_arguments.json";
import { createHandler } from "../lambdas/extract-trigger/handler";
import { startMoto, type MotoServer } from "../local/moto-server";

const region = "us-east-1";
const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
const python = path.join(repositoryRoot, ".venv", "bin", "python");

interface Options {
    mapping: string;
    extract?: string;
    roots: number;
    extracts: number;
    seed: number;
    out?: string;
}

function options(): Options {
    const { values } = parseArgs({
        options: {
            mapping: { type: "string", default: "customers" },
            extract: { type: "string" },
            roots: { type: "string", default: "200" },
            extracts: { type: "string", default: "2" },
            seed: { type: "string", default: "7" },
            out: { type: "string" },
        },
    });
    const number = (name: string, text: string): number => {
        const value = Number(text);
        if (!Number.isInteger(value) || value < 1) {
            throw new Error(`--${name} must be a whole number of at least 1, not "${text}"`);
        }
        return value;
    };
    return {
        mapping: values.mapping,
        ...(values.extract ? { extract: path.resolve(values.extract) } : {}),
        roots: number("roots", values.roots),
        extracts: values.extract ? 1 : number("extracts", values.extracts),
        seed: number("seed", values.seed),
        ...(values.out ? { out: path.resolve(values.out) } : {}),
    };
}

function say(message: string): void {
    process.stdout.write(`${message}\n`);
}

/** Loads the mapping by name (config/mappings/<name>.yaml) or by path. */
function planFor(mapping: string): JobPlan {
    if (mapping.endsWith(".yaml") || mapping.endsWith(".yml")) {
        const file = path.resolve(mapping);
        const [plan] = loadJobPlans([path.basename(file).replace(/\.ya?ml$/, "")], path.dirname(file));
        return plan!;
    }
    const [plan] = loadJobPlans([mapping], mappingsDirectory);
    return plan!;
}

async function main(): Promise<void> {
    const settings = options();
    const plan = planFor(settings.mapping);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ingest-local-"));
    say(`Pipeline "${plan.pipeline}": ${plan.tables.length} tables, items keyed by ${plan.item.partitionKey.attribute}`);
    const moto = await startMoto();
    try {
        await runPipeline(plan, settings, moto, workDir);
    } finally {
        await moto.stop();
        fs.rmSync(workDir, { recursive: true, force: true });
        say("Stopped the local AWS emulator.");
    }
}

async function runPipeline(plan: JobPlan, settings: Options, moto: MotoServer, workDir: string): Promise<void> {
    say(`AWS emulator (moto) listening on ${moto.endpoint}`);
    const clientConfig = { endpoint: moto.endpoint, region, credentials, forcePathStyle: true };
    const s3 = new S3Client(clientConfig);
    const dynamodb = new DynamoDBClient(clientConfig);
    const glue = new GlueClient(clientConfig);
    const sns = new SNSClient(clientConfig);

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
    say("Creating what the stack declares: buckets, DynamoDB tables, Glue database, tables and job, SNS topic");
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
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: names.database } }));
    for (const table of catalogTables(plan)) {
        await glue.send(
            new CreateGlueTableCommand({
                DatabaseName: names.database,
                TableInput: {
                    Name: table.name,
                    PartitionKeys: table.partitionKeys.map((key) => ({ Name: key.name, Type: key.type })),
                    StorageDescriptor: {
                        Columns: table.columns.map((column) => ({ Name: column.name, Type: column.type })),
                        Location: `s3://${names.lake}/${table.lakePrefix}`,
                    },
                },
            }),
        );
    }
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

    const archives = settings.extract ? [settings.extract] : await generateExtracts(plan, settings, workDir);
    const trigger = createHandler({
        glue,
        dynamodb,
        settings: {
            jobName: names.job,
            runLedgerTable: names.ledger,
            landingBucket: names.landing,
            landingPrefix: plan.extract.landingPrefix,
            archiveNaming: plan.extract.archiveNaming,
        },
        now: () => new Date(),
    });
    const reports: unknown[] = [];
    for (const [index, archive] of archives.entries()) {
        const key = `${plan.extract.landingPrefix}${path.basename(archive)}`;
        const body = fs.readFileSync(archive);
        const put = await s3.send(new PutObjectCommand({ Bucket: names.landing, Key: key, Body: body }));
        say(`\n[${index + 1}/${archives.length}] Landed s3://${names.landing}/${key} (${body.length} bytes, version ${put.VersionId})`);
        const event = objectCreatedEvent(names.landing, key, body.length, put.VersionId!, index);
        const result = await trigger(event);
        if (result.batchItemFailures.length > 0) {
            throw new Error(`the trigger did not start a run for ${key}; see its log lines above`);
        }
        const runs = await glue.send(new GetJobRunsCommand({ JobName: names.job }));
        const run = runs.JobRuns?.find((candidate) => candidate.Arguments?.["--archive_key"] === key);
        if (!run?.Arguments) {
            throw new Error(`the trigger reported success but no Glue run for ${key} exists`);
        }
        say(`  trigger started Glue run ${run.Id} for extract ${run.Arguments["--extract_id"]}`);
        const status = await runGlueScript({ ...deployArguments, ...stripDashes(run.Arguments), JOB_RUN_ID: run.Id! }, moto.endpoint);
        const report = await readJson(s3, names.lake, runReportKey(plan.pipeline, run.Arguments["--extract_id"]!, run.Id!));
        reports.push(report);
        printReport(report);
        if (status !== 0) {
            say(`  the run failed (exit code ${status}); the archive was quarantined in s3://${names.quarantine}/${plan.pipeline}/`);
        }
    }

    const items = await scanItems(dynamodb, names.items);
    say(`\nDynamoDB table ${names.items} now holds ${items.length} items.`);
    if (items[0]) {
        say(`A sample item:\n${JSON.stringify(JSON.parse(items[0]), null, 2).split("\n").slice(0, 40).join("\n")}`);
    }
    if (settings.out) {
        fs.mkdirSync(settings.out, { recursive: true });
        fs.writeFileSync(
            path.join(settings.out, "report.json"),
            `${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`,
        );
        fs.writeFileSync(path.join(settings.out, "items.jsonl"), items.map((item) => `${item}\n`).join(""));
        say(`Wrote ${path.join(settings.out, "report.json")} and ${path.join(settings.out, "items.jsonl")}`);
    }
}

async function generateExtracts(plan: JobPlan, settings: Options, workDir: string): Promise<string[]> {
    const planFile = path.join(workDir, "plan.json");
    fs.writeFileSync(planFile, JSON.stringify(plan));
    say(`Generating ${settings.extracts} sample extract(s) with ${settings.roots} ${plan.item.root.table} (seed ${settings.seed})`);
    const output = await collect(python, [
        "-m",
        "local.sample_extract",
        "--plan",
        planFile,
        "--out",
        path.join(workDir, "extracts"),
        "--roots",
        String(settings.roots),
        "--extracts",
        String(settings.extracts),
        "--seed",
        String(settings.seed),
    ]);
    return output
        .split("\n")
        .filter((line) => line.trim().startsWith("{"))
        .map((line) => (JSON.parse(line) as { archive: string }).archive);
}

function objectCreatedEvent(bucket: string, key: string, size: number, versionId: string, index: number): SQSEvent {
    const body = {
        version: "0",
        id: `local-event-${index}`,
        "detail-type": "Object Created",
        source: "aws.s3",
        account: "123456789012",
        time: new Date().toISOString(),
        region,
        resources: [`arn:aws:s3:::${bucket}`],
        detail: {
            version: "0",
            bucket: { name: bucket },
            object: { key, size, etag: "local", "version-id": versionId, sequencer: `00${index}` },
            "request-id": `local-${index}`,
            requester: "123456789012",
            reason: "PutObject",
        },
    };
    return {
        Records: [
            {
                messageId: `local-message-${index}`,
                receiptHandle: `local-receipt-${index}`,
                body: JSON.stringify(body),
                attributes: {
                    ApproximateReceiveCount: "1",
                    SentTimestamp: String(Date.now()),
                    SenderId: "events.amazonaws.com",
                    ApproximateFirstReceiveTimestamp: String(Date.now()),
                },
                messageAttributes: {},
                md5OfBody: "",
                eventSource: "aws:sqs",
                eventSourceARN: `arn:aws:sqs:${region}:123456789012:ingest-local-archives`,
                awsRegion: region,
            },
        ],
    };
}

function stripDashes(argumentsWithDashes: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(argumentsWithDashes).map(([name, value]) => [name.replace(/^--/, ""), value]));
}

/** Runs the real Glue entry script on local Spark, streaming its progress as readable lines. */
function runGlueScript(jobArgumentsByName: Record<string, string>, endpoint: string): Promise<number> {
    const argv = [path.join(repositoryRoot, "glue-scripts", "extract_job.py")];
    for (const [name, value] of Object.entries(jobArgumentsByName)) {
        argv.push(`--${name}`, value);
    }
    const child = spawn(python, argv, {
        cwd: repositoryRoot,
        env: {
            ...process.env,
            AWS_ENDPOINT_URL: endpoint,
            AWS_ACCESS_KEY_ID: credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
            AWS_DEFAULT_REGION: region,
            PYTHONPATH: path.join(repositoryRoot, "glue-scripts"),
            SPARK_LOCAL_IP: "127.0.0.1",
        },
        stdio: ["ignore", "pipe", "pipe"],
    });
    const started = Date.now();
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
            printProgress(line, started);
        }
    });
    const errors: string[] = [];
    child.stderr.on("data", (chunk: Buffer) => errors.push(chunk.toString("utf8")));
    return new Promise((resolve) => {
        child.on("close", (code) => {
            if (code !== 0) {
                const tail = errors.join("").trim().split("\n").slice(-15).join("\n");
                say(`  Glue script output (last lines):\n${tail}`);
            }
            resolve(code ?? 1);
        });
    });
}

function printProgress(line: string, started: number): void {
    try {
        const entry = JSON.parse(line) as { message?: string; step?: string; seconds?: number };
        const elapsed = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
        if (entry.message === "step started") {
            say(`  ${elapsed}s  ${entry.step} ...`);
        } else if (entry.message === "step finished") {
            say(`  ${elapsed}s  ${entry.step} done in ${entry.seconds}s`);
        }
    } catch {
        if (line.trim()) {
            say(`  ${line}`);
        }
    }
}

function printReport(raw: unknown): void {
    const report = raw as RunReport;
    say(`  extract ${report.extractId}: ${report.status}${report.failure ? ` (${report.failure.reason}: ${report.failure.detail})` : ""}`);
    for (const [name, counts] of Object.entries(report.tables)) {
        const reasons = Object.entries(counts.quarantinedByReason)
            .map(([reason, count]) => `${reason} ${count}`)
            .join(", ");
        say(
            `    ${name.padEnd(14)} read ${String(counts.read).padStart(7)}  accepted ${String(counts.accepted).padStart(7)}  quarantined ${String(counts.quarantined).padStart(5)}${reasons ? ` (${reasons})` : ""}${counts.orphans ? `  orphans ${counts.orphans}` : ""}`,
        );
    }
    if (Object.keys(report.items).length > 0) {
        say(
            `    items: ${Object.entries(report.items)
                .map(([name, value]) => `${name} ${value}`)
                .join(", ")}`,
        );
    }
}

async function readJson(s3: S3Client, bucket: string, key: string): Promise<unknown> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await object.Body!.transformToString("utf8"));
}

/** Every item as one line of plain JSON (not DynamoDB JSON), numbers exactly as stored, sorted. */
async function scanItems(dynamodb: DynamoDBClient, table: string): Promise<string[]> {
    const items: string[] = [];
    for await (const page of paginateScan({ client: dynamodb }, { TableName: table, ConsistentRead: true })) {
        for (const item of page.Items ?? []) {
            items.push(plainJson({ M: item }));
        }
    }
    return items.sort();
}

/** DynamoDB numbers carry up to 38 digits; they are written verbatim rather than through a double. */
function plainJson(value: AttributeValue): string {
    if (value.S !== undefined) return JSON.stringify(value.S);
    if (value.N !== undefined) return value.N;
    if (value.BOOL !== undefined) return String(value.BOOL);
    if (value.NULL !== undefined) return "null";
    if (value.B !== undefined) return JSON.stringify(Buffer.from(value.B).toString("base64"));
    if (value.L !== undefined) return `[${value.L.map(plainJson).join(",")}]`;
    if (value.M !== undefined) {
        const members = Object.keys(value.M)
            .sort()
            .map((name) => `${JSON.stringify(name)}:${plainJson(value.M[name]!)}`);
        return `{${members.join(",")}}`;
    }
    if (value.SS !== undefined) return JSON.stringify(value.SS);
    if (value.NS !== undefined) return `[${value.NS.join(",")}]`;
    throw new Error(`unsupported attribute value ${JSON.stringify(value)}`);
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

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
});
