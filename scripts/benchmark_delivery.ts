import { spawn, spawnSync } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { gzipSync } from "zlib";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { CreateJobCommand, GetJobRunsCommand } from "@aws-sdk/client-glue";
import { CreateBucketCommand, ListObjectsV2Command, PutBucketVersioningCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { exportJob, exportPrefixes } from "../components/warehouse-export";
import { catalogTypeName } from "../config/formats";
import { repositoryRoot } from "../config/load";
import { parseStream, streamSchemaDocument, type StreamSchemaDocument } from "../config/stream";
import type exportArguments from "../glue-scripts/ingest/contracts/export_job_arguments.json";
import { exportMarkerPrefix } from "../contracts/glue-jobs";
import { createHandler } from "../lambdas/export-starter/handler";
import type { LogEntry } from "../lambdas/shared/runtime";
import { medianAndSpread, spreadText, writeSection, type Figure } from "../local/benchmarks";
import { credentials, objectCreatedEvent, python, runGlueScript, withEmulator, type Emulator, type ScriptEnd } from "./local-glue";

/**
 * How long an object Firehose delivers takes to become Parquet in the warehouse export's destination
 * when the export runs `trigger: on-delivery`, on this machine against moto. Each round delivers one
 * object shaped like Firehose's (gzip JSON lines of the clickstream's fields) with PutObject, hands the
 * real export starter (in-process) the queue message S3's "Object Created" event becomes, and runs the
 * Glue run it started as local-glue.ts does: the real entry script on local Spark, a fresh process
 * (cold, as every Glue run is), with the arguments the starter passed. The time runs from the PutObject
 * to the object's Parquet file being listed in the destination bucket, split at the starter's return.
 * In the same rounds, the honest floor: the same bytes put in S3 and converted by a plain spark-submit
 * of local/json_lines_to_parquet.py (Spark's JSON reader with the same schema, Parquet by event date, no
 * product code), timed the same way. Prints the figures as JSON and writes its section of BENCHMARKS.md:
 *
 *     npx tsx scripts/benchmark_delivery.ts [--runs 5] [--records 4000] [--output BENCHMARKS.md]
 *
 * Run it when no other heavy process runs: the figures are wall-clock times on a shared machine.
 */

const heading = "## Stream delivery to Parquet (on-delivery export)";
/** How often the destination is listed while a run goes: the resolution of the Parquet file's arrival. */
const pollMilliseconds = 250;
/** The name Firehose puts in front of every object it delivers. */
const deliveryStreamName = "ingest-bench-clickstream-warehouse";
const exportScript = "stream_export_job.py";
const floorScript = path.join(repositoryRoot, "local", "json_lines_to_parquet.py");

/** The example clickstream's fields and event time, written here so the figures do not move with edits of config/streams. */
const streamDefinition = `
stream: clickstream
fields:
  - { name: event_id, type: string }
  - { name: event_time, type: timestamp }
  - { name: event_type, type: string }
  - { name: user_id, type: string }
  - { name: session_id, type: string }
  - { name: page, type: string }
  - { name: amount, type: "decimal(12,2)" }
  - { name: item_count, type: integer }
  - { name: product_id, type: string }
eventTime: { field: event_time, format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" }
`;

interface Options {
    readonly runs: number;
    readonly records: number;
    readonly output: string;
}

function parseOptions(argv: readonly string[]): Options {
    let runs = 5;
    let records = 4000;
    let output = path.join(repositoryRoot, "BENCHMARKS.md");
    for (let index = 0; index < argv.length; index += 2) {
        const [name, value] = [argv[index], argv[index + 1]];
        if (name === "--runs" && value && /^[1-9]\d*$/.test(value)) {
            runs = Number(value);
        } else if (name === "--records" && value && /^[1-9]\d*$/.test(value)) {
            records = Number(value);
        } else if (name === "--output" && value) {
            output = path.resolve(value);
        } else {
            throw new Error("usage: npx tsx scripts/benchmark_delivery.ts [--runs N] [--records N] [--output BENCHMARKS.md]");
        }
    }
    return { runs, records, output };
}

function tell(message: string): void {
    process.stderr.write(`${message}\n`);
}

/** One object as Firehose delivers it: `count` clickstream events of the minute before `deliveredAt`, gzip JSON lines. */
function deliveredObject(count: number, deliveredAt: Date): Buffer {
    const eventTypes = ["page_view", "search", "add_to_cart", "purchase"] as const;
    const lines = Array.from({ length: count }, (_, index) => {
        const eventType = eventTypes[index % eventTypes.length]!;
        const product = eventType === "search" ? null : `p-${1000 + ((index * 131) % 9000)}`;
        const buys = eventType === "add_to_cart" || eventType === "purchase";
        return JSON.stringify({
            event_id: randomUUID(),
            event_time: new Date(deliveredAt.getTime() - 60_000 + Math.floor((index * 60_000) / count)).toISOString(),
            event_type: eventType,
            user_id: `u-${10_000 + ((index * 7919) % 5000)}`,
            session_id: `s-${((index * 104_729) % 0xffffff).toString(16).padStart(6, "0")}`,
            page: eventType === "search" ? `/search?q=item+${index % 97}` : `/products/${product}`,
            amount: eventType === "purchase" ? ((index * 3701) % 50_000) / 100 : null,
            item_count: buys ? 1 + (index % 5) : null,
            product_id: product,
        });
    });
    return gzipSync(`${lines.join("\n")}\n`);
}

/** The key Firehose gives an object it delivers at `deliveredAt`: its prefix, the UTC hour, the stream's name, the time and a UUID. */
function deliveredKey(prefix: string, deliveredAt: Date): string {
    const [date, time] = deliveredAt.toISOString().split("T") as [string, string];
    const [year, month, day] = date.split("-");
    const [hour, minute, second] = time.slice(0, 8).split(":");
    return `${prefix}${year}/${month}/${day}/${hour}/${deliveryStreamName}-1-${year}-${month}-${day}-${hour}-${minute}-${second}-${randomUUID()}.gz`;
}

/** What the stack declares for the export, in moto: buckets, the stream schema, the job, the starter's run ledger. */
interface Deployment {
    readonly document: StreamSchemaDocument;
    readonly jobName: string;
    readonly deployArguments: Record<keyof typeof exportArguments.deployArguments, string>;
    /** Where the floor's input objects and Parquet files go, apart from the export's. */
    readonly floorBucket: string;
    readonly starter: (event: SQSEvent) => Promise<SQSBatchResponse>;
    readonly starterLog: LogEntry[];
}

async function deploy({ s3, dynamodb, glue }: Emulator): Promise<Deployment> {
    const stream = parseStream("benchmark/clickstream.yaml", streamDefinition);
    const document = streamSchemaDocument(stream);
    const prefixes = exportPrefixes(stream.stream);
    const names = {
        delivery: "ingest-bench-intermediate",
        destination: "ingest-bench-destination",
        quarantine: "ingest-bench-quarantine",
        assets: "ingest-bench-glue-assets",
        floor: "ingest-bench-floor",
        job: "ingest-bench-clickstream-export",
        runLedger: "ingest-bench-clickstream-export-runs",
    };
    for (const bucket of [names.delivery, names.destination, names.quarantine, names.assets, names.floor]) {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    }
    await s3.send(new PutBucketVersioningCommand({ Bucket: names.delivery, VersioningConfiguration: { Status: "Enabled" } }));
    const schemaKey = `${prefixes.jobAssets}stream.json`;
    await s3.send(new PutObjectCommand({ Bucket: names.assets, Key: schemaKey, Body: JSON.stringify(document) }));
    await dynamodb.send(
        new CreateTableCommand({
            TableName: names.runLedger,
            BillingMode: "PAY_PER_REQUEST",
            KeySchema: [{ AttributeName: "archive", KeyType: "HASH" }],
            AttributeDefinitions: [{ AttributeName: "archive", AttributeType: "S" }],
        }),
    );
    const deployArguments: Deployment["deployArguments"] = {
        stream_uri: `s3://${names.assets}/${schemaKey}`,
        delivery_bucket: names.delivery,
        delivery_prefix: prefixes.delivered,
        destination_bucket: names.destination,
        destination_prefix: prefixes.destination,
        quarantine_bucket: names.quarantine,
        quarantine_prefix: prefixes.quarantine,
        staging_uri: `s3://${names.assets}/${prefixes.staging}`,
    };
    await glue.send(
        new CreateJobCommand({
            Name: names.job,
            Role: "arn:aws:iam::123456789012:role/ingest-bench-export",
            Command: { Name: "glueetl", ScriptLocation: `s3://${names.assets}/${prefixes.jobAssets}${exportScript}` },
            DefaultArguments: Object.fromEntries(Object.entries(deployArguments).map(([name, value]) => [`--${name}`, value])),
            ExecutionProperty: { MaxConcurrentRuns: exportJob.maxConcurrentRuns },
        }),
    );
    const starterLog: LogEntry[] = [];
    const starter = createHandler({
        glue,
        dynamodb,
        s3,
        settings: {
            jobName: names.job,
            runLedgerTable: names.runLedger,
            deliveryBucket: names.delivery,
            deliveryPrefix: prefixes.delivered,
            markerPrefix: exportMarkerPrefix,
        },
        now: () => new Date(),
        log: (entry) => starterLog.push(entry),
    });
    return { document, jobName: names.job, deployArguments, floorBucket: names.floor, starter, starterLog };
}

/** The keys of the Parquet files under `prefix` as a reader sees them: Spark's uncommitted `_temporary/` attempts left out. */
async function parquetKeys(s3: S3Client, bucket: string, prefix: string): Promise<Set<string>> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (listed.Contents ?? []).map((object) => object.Key!);
    return new Set(keys.filter((key) => key.endsWith(".parquet") && !key.includes("/_temporary/")));
}

/**
 * The moment (performance.now()) a Parquet file not in `before` is listed under `prefix`, polling while
 * the process converting the object runs; fails naming the process's last lines if it ends without one.
 */
async function parquetArrival(
    s3: S3Client,
    bucket: string,
    prefix: string,
    before: Set<string>,
    conversion: Promise<ScriptEnd>,
): Promise<number> {
    let ended: ScriptEnd | undefined;
    void conversion.then((end) => (ended = end));
    for (;;) {
        const finished = ended;
        const keys = await parquetKeys(s3, bucket, prefix);
        if ([...keys].some((key) => !before.has(key))) {
            return performance.now();
        }
        if (finished) {
            throw new Error(`no Parquet file reached s3://${bucket}/${prefix} (exit code ${finished.exitCode}):\n${finished.stderrTail}`);
        }
        await new Promise((resolve) => setTimeout(resolve, pollMilliseconds));
    }
}

/** One delivered object through the product: milliseconds from the PutObject to the starter's return, and to its Parquet file. */
interface Delivery {
    readonly starterMs: number;
    readonly parquetMs: number;
}

async function deliverAndExport(
    emulator: Emulator,
    deployment: Deployment,
    body: Buffer,
    key: string,
    index: number,
    records: number,
): Promise<Delivery> {
    const { s3, glue, endpoint } = emulator;
    const {
        delivery_bucket: deliveryBucket,
        destination_bucket: destination,
        destination_prefix: destinationPrefix,
    } = deployment.deployArguments;
    const before = await parquetKeys(s3, destination, destinationPrefix);
    const put = performance.now();
    const written = await s3.send(new PutObjectCommand({ Bucket: deliveryBucket, Key: key, Body: body }));
    const started = await deployment.starter(objectCreatedEvent(deliveryBucket, key, body.length, written.VersionId!, new Date(), index));
    const starterDone = performance.now();
    if (started.batchItemFailures.length > 0) {
        throw new Error(`the export starter kept the message of ${key}: ${JSON.stringify(deployment.starterLog.at(-1))}`);
    }
    const runs = await glue.send(new GetJobRunsCommand({ JobName: deployment.jobName }));
    const run = runs.JobRuns?.find((candidate) => candidate.Arguments?.["--delivered_key"] === key);
    if (!run?.Arguments) {
        throw new Error(`the export starter reported success but no Glue run for ${key} exists`);
    }
    const runArguments = Object.fromEntries(Object.entries(run.Arguments).map(([name, value]) => [name.replace(/^--/, ""), value]));
    let report: { status?: string; totals?: { exported?: number; quarantined?: number; files?: number } } | undefined;
    const script = runGlueScript(
        exportScript,
        { ...deployment.deployArguments, ...runArguments, JOB_RUN_ID: run.Id! },
        endpoint,
        (line) => {
            if (line.includes('"stream export finished"')) {
                report = JSON.parse(line) as typeof report;
            }
        },
    );
    const arrived = await parquetArrival(s3, destination, destinationPrefix, before, script);
    const end = await script;
    const { exported, quarantined, files } = report?.totals ?? {};
    if (end.exitCode !== 0 || report?.status !== "succeeded" || exported !== records || quarantined !== 0 || files !== 1) {
        throw new Error(
            `the export of ${key} did not convert all ${records} records into one file: ${JSON.stringify(report)}\n${end.stderrTail}`,
        );
    }
    return { starterMs: starterDone - put, parquetMs: arrived - put };
}

/** What local Spark's JVM takes (glue-scripts/ingest/spark_settings.py reads the same manifest): the jars and the Java options. */
const jvmManifest = JSON.parse(fs.readFileSync(path.join(repositoryRoot, "scripts", "jvm-dependencies.json"), "utf8")) as {
    jars: { coordinates: string }[];
    javaOptions: string;
};

/** The jars S3A needs (hadoop-aws and its AWS SDK), where the install step put them. */
function s3aJars(): string[] {
    return jvmManifest.jars.flatMap(({ coordinates }) => {
        const [, artifact = "", version = ""] = coordinates.split(":");
        return artifact === "hadoop-aws" || artifact === "aws-java-sdk-bundle"
            ? [path.join(repositoryRoot, ".jars", `${artifact}-${version}.jar`)]
            : [];
    });
}

/** spark-submit of the floor with what any Spark application needs to reach moto's S3, on the job's local master and driver memory. */
function submitFloor(endpoint: string, document: StreamSchemaDocument, source: string, target: string): Promise<ScriptEnd> {
    const settings: Record<string, string> = {
        "spark.ui.enabled": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        // The Java options the job's local JVM runs with.
        "spark.driver.extraJavaOptions": jvmManifest.javaOptions,
        // The job's event date is the UTC date of the event time.
        "spark.sql.session.timeZone": "UTC",
        "spark.hadoop.fs.s3a.endpoint": endpoint,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.access.key": credentials.accessKeyId,
        "spark.hadoop.fs.s3a.secret.key": credentials.secretAccessKey,
        "spark.hadoop.fs.s3a.change.detection.mode": "none",
    };
    const schema = document.fields.map((field) => `${field.name} ${catalogTypeName(field.type)}`).join(", ");
    const eventTimeField = document.eventTime.field;
    if (eventTimeField === undefined) {
        throw new Error("the floor files records by their event date: the stream needs an event time field");
    }
    const argv = [
        ...["--master", "local[2]", "--driver-memory", "2g", "--jars", s3aJars().join(",")],
        ...Object.entries(settings).flatMap(([name, value]) => ["--conf", `${name}=${value}`]),
        ...[floorScript, source, target, schema, eventTimeField, document.eventTime.format],
    ];
    const child = spawn(path.join(path.dirname(python), "spark-submit"), argv, {
        cwd: repositoryRoot,
        env: { ...process.env, PYSPARK_PYTHON: python, SPARK_LOCAL_IP: "127.0.0.1" },
        stdio: ["ignore", "ignore", "pipe"],
    });
    const errors: string[] = [];
    child.stderr.on("data", (chunk: Buffer) => errors.push(chunk.toString("utf8")));
    return new Promise((resolve) => {
        child.on("close", (code) => resolve({ exitCode: code ?? 1, stderrTail: errors.join("").trim().split("\n").slice(-15).join("\n") }));
    });
}

/** The floor over the same bytes: milliseconds from their PutObject to the Parquet file spark-submit writes. */
async function floor(emulator: Emulator, deployment: Deployment, body: Buffer, key: string, index: number): Promise<number> {
    const { s3, endpoint } = emulator;
    const bucket = deployment.floorBucket;
    const target = `parquet/${index}/`;
    const put = performance.now();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const submitted = submitFloor(endpoint, deployment.document, `s3a://${bucket}/${key}`, `s3a://${bucket}/${target}`);
    const arrived = await parquetArrival(s3, bucket, target, new Set(), submitted);
    const end = await submitted;
    if (end.exitCode !== 0) {
        throw new Error(`the floor's spark-submit for ${key} exited with ${end.exitCode}:\n${end.stderrTail}`);
    }
    return arrived - put;
}

interface Round {
    readonly starterMs: number;
    readonly glueRunSeconds: number;
    readonly deliveredSeconds: number;
    readonly floorSeconds: number;
}

/**
 * One unrecorded round first, so every jar and module is in the page cache before the first measured
 * run; then the export and the floor take turns going first, so the machine's drift falls on both.
 */
async function measure(emulator: Emulator, deployment: Deployment, options: Options): Promise<{ rounds: Round[]; objectBytes: number[] }> {
    const rounds: Round[] = [];
    const objectBytes: number[] = [];
    for (let round = 0; round <= options.runs; round++) {
        const deliveredAt = new Date(Date.UTC(2026, 10, 23, 14 + round, 5, 1));
        const body = deliveredObject(options.records, deliveredAt);
        const key = deliveredKey(deployment.deployArguments.delivery_prefix, deliveredAt);
        const exportRound = () => deliverAndExport(emulator, deployment, body, key, round, options.records);
        const floorRound = () => floor(emulator, deployment, body, key, round);
        let delivery: Delivery;
        let floorMs: number;
        if (round % 2 === 0) {
            delivery = await exportRound();
            floorMs = await floorRound();
        } else {
            floorMs = await floorRound();
            delivery = await exportRound();
        }
        const label = round === 0 ? "unrecorded round" : `round ${round}/${options.runs}`;
        tell(
            `${label}: delivered to Parquet ${(delivery.parquetMs / 1000).toFixed(2)} s (starter ${delivery.starterMs.toFixed(0)} ms), floor ${(floorMs / 1000).toFixed(2)} s`,
        );
        if (round > 0) {
            objectBytes.push(body.length);
            rounds.push({
                starterMs: delivery.starterMs,
                glueRunSeconds: (delivery.parquetMs - delivery.starterMs) / 1000,
                deliveredSeconds: delivery.parquetMs / 1000,
                floorSeconds: floorMs / 1000,
            });
        }
    }
    return { rounds, objectBytes };
}

function pysparkVersion(): string {
    const printed = spawnSync(python, ["-c", "import pyspark; print(pyspark.__version__)"], { encoding: "utf8" });
    return printed.stdout.trim();
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    // Every figure is wall-clock time on a shared machine: the load around the run says what they are worth.
    const loadAtStart = os.loadavg()[0]!;
    const { rounds, objectBytes } = await withEmulator(async (emulator) => measure(emulator, await deploy(emulator), options), tell);
    const figure = (pick: (round: Round) => number, digits = 2): Figure => medianAndSpread(rounds.map(pick), digits);
    const results = {
        machine: {
            cores: os.cpus().length,
            cpu: os.cpus()[0]?.model ?? "unknown",
            loadAverage: { start: Number(loadAtStart.toFixed(1)), end: Number(os.loadavg()[0]!.toFixed(1)) },
            node: process.version,
            pyspark: pysparkVersion(),
        },
        date: new Date().toISOString().slice(0, 10),
        runs: options.runs,
        records: options.records,
        objectBytes: medianAndSpread(objectBytes, 0),
        pollMilliseconds,
        deliveredToParquetSeconds: figure((round) => round.deliveredSeconds),
        eventToStarterDoneMs: figure((round) => round.starterMs, 1),
        glueRunSeconds: figure((round) => round.glueRunSeconds),
        floorSeconds: figure((round) => round.floorSeconds),
        // Paired by round (the two ran one after the other), so the machine's drift cancels out.
        deliveredOverFloor: figure((round) => round.deliveredSeconds / round.floorSeconds),
        glueRunOverFloor: figure((round) => round.glueRunSeconds / round.floorSeconds),
    };
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);

    const lines = [
        heading,
        "",
        `Measured ${results.date} by \`npx tsx scripts/benchmark_delivery.ts --runs ${options.runs} --records ${options.records}\` ` +
            `(${results.machine.cores} cores, ${results.machine.cpu}, shared: 1-minute load average ${results.machine.loadAverage.start} at the ` +
            `start, ${results.machine.loadAverage.end} at the end; Node ${results.machine.node}, PySpark ${results.machine.pyspark} ` +
            "local mode, moto server for S3, DynamoDB and Glue, started by the script on loopback).",
        `Each round delivers one object as Firehose does, ${options.records.toLocaleString("en-US")} clickstream events (the example stream's`,
        `nine fields) as gzip JSON lines, ${spreadText(
            medianAndSpread(
                objectBytes.map((bytes) => bytes / 1024),
                0,
            ),
        )} KiB, and times it from its`,
        "PutObject to its Parquet file being listed in the destination bucket (listed every " +
            `${pollMilliseconds} ms while the run goes):`,
        "(a) event to starter done: the real export starter (`lambdas/export-starter`), in-process, handed the queue message S3's",
        '"Object Created" event becomes, claims the object in its run ledger and starts an object-scoped run on moto\'s Glue;',
        "(b) the Glue run: the real entry script (`glue-scripts/stream_export_job.py`) on local Spark (`local[2]`) with the arguments",
        "the starter passed, in a fresh process each round (cold, as every Glue run is), as `scripts/run-local.ts` runs the extract",
        "job. The floor, in the same rounds: the same bytes put in S3 and converted by a plain `spark-submit` of",
        "`local/json_lines_to_parquet.py` (Spark's JSON reader with the same schema, failing on any record that does not fit,",
        "Parquet partitioned by event date; no product code), same master and driver memory, timed the same way. One unrecorded",
        `round first; then ${options.runs} measured, the export and the floor taking turns going first. Median (min–max); each ratio`,
        "is taken within a round, then its median.",
        "",
        "| delivered to Parquet s | (a) event to starter done ms | (b) Glue run s | floor s | delivered / floor | Glue run / floor |",
        "|---:|---:|---:|---:|---:|---:|",
        `| ${spreadText(results.deliveredToParquetSeconds)} | ${spreadText(results.eventToStarterDoneMs)} | ` +
            `${spreadText(results.glueRunSeconds)} | ${spreadText(results.floorSeconds)} | ` +
            `**${spreadText(results.deliveredOverFloor)}** | ${spreadText(results.glueRunOverFloor)} |`,
        "",
        `The starter is ${((results.eventToStarterDoneMs.median / 1000 / results.deliveredToParquetSeconds.median) * 100).toFixed(1)} % ` +
            `of the median latency; the rest is the Glue run, ${results.glueRunOverFloor.median} times the floor's conversion of the same object.`,
        "",
        "Not measured here, and added on AWS: the Glue job's own start (provisioning its workers, typically tens of seconds",
        "before the script runs) and Firehose's buffering interval (60 s in the seed example), which passes before an object is",
        "delivered at all; SQS's and EventBridge's delivery of the event and the starter's cold start add less.",
    ];
    writeSection(options.output, heading, `${lines.join("\n")}\n`);
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
