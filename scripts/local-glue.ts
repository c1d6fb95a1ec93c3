/**
 * What both local runs (a pipeline's extracts, a lookup's exports) do alike: run a real Glue entry
 * script on local Spark against the emulator, read a DynamoDB table back as plain JSON, and say
 * which runs failed.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DynamoDBClient, paginateScan, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GlueClient } from "@aws-sdk/client-glue";
import { S3Client } from "@aws-sdk/client-s3";
import { SNSClient } from "@aws-sdk/client-sns";
import type { SQSEvent } from "aws-lambda";
import { repositoryRoot } from "../config/load";
import { JsonNumber, stringifyJson, type JsonObject, type JsonValue } from "../lambdas/shared/json-text";
import { startMoto } from "../local/moto-server";

export const region = "us-east-1";
export const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
export const python = path.join(repositoryRoot, ".venv", "bin", "python");

export function say(message: string): void {
    process.stdout.write(`${message}\n`);
}

/** moto serving on loopback, and clients of the services the local runs use. */
export interface Emulator {
    readonly endpoint: string;
    readonly s3: S3Client;
    readonly dynamodb: DynamoDBClient;
    readonly glue: GlueClient;
    readonly sns: SNSClient;
}

/**
 * Starts moto, does `work` against it, and stops it whatever happens. `tell` gets the emulator's
 * two lines (stdout by default; a script whose stdout is its JSON result sends them elsewhere).
 */
export async function withEmulator<T>(work: (emulator: Emulator) => Promise<T>, tell: (message: string) => void = say): Promise<T> {
    const moto = await startMoto();
    try {
        tell(`AWS emulator (moto) listening on ${moto.endpoint}`);
        const config = { endpoint: moto.endpoint, region, credentials, forcePathStyle: true };
        return await work({
            endpoint: moto.endpoint,
            s3: new S3Client(config),
            dynamodb: new DynamoDBClient(config),
            glue: new GlueClient(config),
            sns: new SNSClient(config),
        });
    } finally {
        await moto.stop();
        tell("Stopped the local AWS emulator.");
    }
}

/** `--out DIR`: DIR/report.json (indented JSON) and DIR/items.jsonl (one item a line). */
export function writeOut(out: string, report: unknown, items: readonly JsonObject[]): void {
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(path.join(out, "items.jsonl"), items.map((item) => `${stringifyJson(item)}\n`).join(""));
    say(`Wrote ${path.join(out, "report.json")} and ${path.join(out, "items.jsonl")}`);
}

/**
 * The queue message a handler receives when an object version lands: S3's "Object Created" event
 * as EventBridge puts it on the object-events queue, stamped with the time S3 wrote the version.
 * `index` keeps the ids of successive messages apart.
 */
export function objectCreatedEvent(bucket: string, key: string, size: number, versionId: string, landedAt: Date, index: number): SQSEvent {
    const body = {
        version: "0",
        id: `local-event-${index}`,
        "detail-type": "Object Created",
        source: "aws.s3",
        account: "123456789012",
        time: landedAt.toISOString(),
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
                eventSourceARN: `arn:aws:sqs:${region}:123456789012:ingest-local-object-events`,
                awsRegion: region,
            },
        ],
    };
}

/** How a Glue script ended: its exit code and the last lines it wrote to stderr. */
export interface ScriptEnd {
    readonly exitCode: number;
    readonly stderrTail: string;
}

/**
 * Runs a Glue entry script of glue-scripts/ on local Spark with its job arguments, against the
 * emulator at `endpoint`, as Glue would with the `ingest` package on its Python path. Each line
 * the script prints goes to `progress` with the seconds since it started.
 */
export function runGlueScript(
    script: string,
    jobArgumentsByName: Record<string, string>,
    endpoint: string,
    progress: (line: string, seconds: number) => void,
): Promise<ScriptEnd> {
    const argv = [path.join(repositoryRoot, "glue-scripts", script)];
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
            progress(line, (Date.now() - started) / 1000);
        }
    });
    const errors: string[] = [];
    child.stderr.on("data", (chunk: Buffer) => errors.push(chunk.toString("utf8")));
    return new Promise((resolve) => {
        child.on("close", (code) => {
            const stderrTail = errors.join("").trim().split("\n").slice(-15).join("\n");
            resolve({ exitCode: code ?? 1, stderrTail });
        });
    });
}

/** "  12.3s  " in front of a progress line: the seconds since the script started. */
export function elapsed(seconds: number): string {
    return `  ${seconds.toFixed(1).padStart(6)}s  `;
}

/**
 * Every item of a table as plain JSON (not DynamoDB JSON), members sorted, numbers exactly as
 * stored, in the order `compare` gives (by default the order of their text).
 */
export async function scanItems(
    dynamodb: DynamoDBClient,
    table: string,
    compare: (a: JsonObject, b: JsonObject) => number = () => 0,
): Promise<JsonObject[]> {
    const items: { item: JsonObject; text: string }[] = [];
    for await (const page of paginateScan({ client: dynamodb }, { TableName: table, ConsistentRead: true })) {
        for (const attributes of page.Items ?? []) {
            const item = plainValue({ M: attributes }) as JsonObject;
            items.push({ item, text: stringifyJson(item) });
        }
    }
    const byText = (a: { text: string }, b: { text: string }) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
    return items.sort((a, b) => compare(a.item, b.item) || byText(a, b)).map(({ item }) => item);
}

/** DynamoDB numbers carry up to 38 digits; they are kept as their text rather than read into a double. */
function plainValue(value: AttributeValue): JsonValue {
    if (value.S !== undefined) return value.S;
    if (value.N !== undefined) return new JsonNumber(value.N);
    if (value.BOOL !== undefined) return value.BOOL;
    if (value.NULL !== undefined) return null;
    if (value.B !== undefined) return Buffer.from(value.B).toString("base64");
    if (value.L !== undefined) return value.L.map(plainValue);
    if (value.M !== undefined) {
        const members: JsonObject = new Map();
        for (const name of Object.keys(value.M).sort()) {
            members.set(name, plainValue(value.M[name]!));
        }
        return members;
    }
    if (value.SS !== undefined) return value.SS;
    if (value.NS !== undefined) return value.NS.map((number) => new JsonNumber(number));
    throw new Error(`unsupported attribute value ${JSON.stringify(value)}`);
}

/**
 * The last lines of a local run, on stderr: "1 of 3 runs failed:" and each failure as
 * "[2/3] <what>: <why>"; nothing when none failed. Returns the exit code: 0, or 1 when one failed.
 */
export function reportFailures(noun: string, outcomes: readonly { readonly name: string; readonly failure: string | undefined }[]): number {
    const failures = outcomes.flatMap(({ name, failure }, index) =>
        failure ? [`[${index + 1}/${outcomes.length}] ${name}: ${failure}`] : [],
    );
    if (failures.length === 0) {
        return 0;
    }
    console.error(`${failures.length} of ${outcomes.length} ${noun}s failed:\n  ${failures.join("\n  ")}`);
    return 1;
}
