import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AthenaClient, CreateNamedQueryCommand, CreateWorkGroupCommand } from "@aws-sdk/client-athena";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateJobCommand, GlueClient } from "@aws-sdk/client-glue";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";
import type { AwsClients } from "../../cli/aws";
import { runCli } from "../../cli/main";
import type { Terminal } from "../../cli/terminal";
import type { ClientConfig } from "./moto";

/** A deployed stack as the operator tool sees it: its outputs, and the resources they name, in moto. */

export const operatorStack = {
    landingBucket: "ingest-dev-landing",
    lakeBucket: "ingest-dev-lake",
    quarantineBucket: "ingest-dev-quarantine",
    athenaResultsBucket: "ingest-dev-athena-results",
    glueDatabase: "ingest_dev",
    athenaWorkgroup: "ingest-dev",
    pipeline: "customers",
    landingPrefix: "incoming/customers/",
    jobName: "ingest-dev-customers-job",
    runLedgerTable: "ingest-dev-customers-runs",
} as const;

/** The outputs `pulumi stack output --json` prints for the stack (those the tool reads, and some it ignores). */
export function stackOutputsDocument(): Record<string, unknown> {
    return {
        kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000",
        landingBucket: operatorStack.landingBucket,
        lakeBucket: operatorStack.lakeBucket,
        quarantineBucket: operatorStack.quarantineBucket,
        athenaResultsBucket: operatorStack.athenaResultsBucket,
        glueDatabase: operatorStack.glueDatabase,
        athenaWorkgroup: operatorStack.athenaWorkgroup,
        extractPipelines: {
            customers: {
                landingPrefix: operatorStack.landingPrefix,
                itemsTable: "ingest-dev-customers-items",
                runLedgerTable: operatorStack.runLedgerTable,
                jobName: operatorStack.jobName,
                notificationTopicArn: "arn:aws:sns:us-east-1:123456789012:ingest-dev-customers",
                triggerQueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/ingest-dev-customers-trigger",
                deadLetterQueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/ingest-dev-customers-dlq",
            },
        },
        streamingLakes: {},
        lookupTables: {},
    };
}

export function writeOutputsFile(document: unknown = stackOutputsDocument()): string {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "ingest-outputs-"));
    const file = path.join(directory, "dev-outputs.json");
    fs.writeFileSync(file, JSON.stringify(document, null, 2));
    return file;
}

export function motoClients(config: ClientConfig): AwsClients {
    return {
        glue: new GlueClient(config),
        athena: new AthenaClient(config),
        s3: new S3Client({ ...config, forcePathStyle: true }),
        dynamodb: new DynamoDBClient(config),
    };
}

/** Creates the buckets, ledger table, job, workgroup and saved queries the outputs name. */
export async function deployOperatorStack(clients: AwsClients): Promise<void> {
    for (const bucket of [
        operatorStack.landingBucket,
        operatorStack.lakeBucket,
        operatorStack.quarantineBucket,
        operatorStack.athenaResultsBucket,
    ]) {
        await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    }
    await clients.s3.send(
        new PutBucketVersioningCommand({ Bucket: operatorStack.landingBucket, VersioningConfiguration: { Status: "Enabled" } }),
    );
    await clients.dynamodb.send(
        new CreateTableCommand({
            TableName: operatorStack.runLedgerTable,
            KeySchema: [{ AttributeName: "archive", KeyType: "HASH" }],
            AttributeDefinitions: [{ AttributeName: "archive", AttributeType: "S" }],
            BillingMode: "PAY_PER_REQUEST",
        }),
    );
    await clients.glue.send(
        new CreateJobCommand({
            Name: operatorStack.jobName,
            Role: "arn:aws:iam::123456789012:role/ingest-dev-customers-job",
            Command: { Name: "glueetl", ScriptLocation: "s3://ingest-dev-glue-assets/jobs/customers/extract_job.py" },
            // The stack's job queues runs beyond its limit; moto refuses them instead, so it gets room here.
            ExecutionProperty: { MaxConcurrentRuns: 20 },
        }),
    );
    await clients.athena.send(
        new CreateWorkGroupCommand({
            Name: operatorStack.athenaWorkgroup,
            Configuration: {
                ResultConfiguration: { OutputLocation: `s3://${operatorStack.athenaResultsBucket}/results/` },
                EnforceWorkGroupConfiguration: true,
            },
        }),
    );
    for (const [name, sql] of [
        ["clickstream-recent-events", "SELECT * FROM clickstream_events LIMIT 10"],
        ["clickstream-events-per-hour", "SELECT event_hour, count(*) AS events FROM clickstream_events GROUP BY 1"],
    ] as const) {
        await clients.athena.send(
            new CreateNamedQueryCommand({
                Name: name,
                Database: operatorStack.glueDatabase,
                QueryString: sql,
                WorkGroup: operatorStack.athenaWorkgroup,
            }),
        );
    }
}

/** What one command line printed and returned. */
export interface CliResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * Runs the command line in-process against moto, on a clock that starts at `start` and moves only
 * when the tool sleeps, so elapsed times print the same on every run.
 */
export async function runOperator(
    argv: readonly string[],
    clients: AwsClients,
    options: {
        readonly start?: Date;
        /** Called each time the tool sleeps; `interrupt` is Ctrl-C. */
        readonly onSleep?: (interrupt: () => void) => Promise<void>;
        readonly environment?: NodeJS.ProcessEnv;
        /** Whether stderr is a terminal, where progress is redrawn in place. */
        readonly stderrIsTTY?: boolean;
    } = {},
): Promise<CliResult> {
    let stdout = "";
    let stderr = "";
    const interrupts = new Set<() => void>();
    let clock = (options.start ?? new Date("2026-11-23T07:00:00Z")).getTime();
    const terminal: Terminal = {
        stdout: { write: (text) => void (stdout += text), isTTY: false },
        stderr: { write: (text) => void (stderr += text), isTTY: options.stderrIsTTY ?? false },
        now: () => new Date(clock),
        sleep: async (milliseconds) => {
            clock += milliseconds;
            await options.onSleep?.(() => interrupts.forEach((handler) => handler()));
        },
        onInterrupt: (handler) => {
            interrupts.add(handler);
            return () => interrupts.delete(handler);
        },
    };
    const code = await runCli(argv, { terminal, environment: options.environment ?? {}, clients: () => clients });
    return { code, stdout, stderr };
}

/** Sets how moto moves a model's state (`manual` after `times` reads), or back to immediate. */
export async function setMotoTransition(endpoint: string, model: string, times: number | "immediate"): Promise<void> {
    const transition = times === "immediate" ? { progression: "immediate" } : { progression: "manual", times };
    const response = await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
        method: "POST",
        body: JSON.stringify({ model_name: model, transition }),
    });
    if (!response.ok) {
        throw new Error(`moto refused the ${model} transition: ${response.status} ${await response.text()}`);
    }
}
