import { CreateTableCommand, type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { CreateJobCommand, GetJobRunsCommand, type GlueClient, type JobRun } from "@aws-sdk/client-glue";

/**
 * For tests of the functions that claim a run per landed object before they start it (the extract
 * trigger, the export starter): a Glue job and its empty run ledger in moto, and what they hold after.
 */

export interface ClaimedRunsJob {
    readonly jobName: string;
    readonly runLedgerTable: string;
    /** Such as `s3://assets/extract_job.py`. */
    readonly script: string;
    readonly maxConcurrentRuns: number;
}

export async function createJobAndLedger(glue: GlueClient, dynamodb: DynamoDBClient, job: ClaimedRunsJob): Promise<void> {
    await glue.send(
        new CreateJobCommand({
            Name: job.jobName,
            Role: "arn:aws:iam::123456789012:role/job",
            Command: { Name: "glueetl", ScriptLocation: job.script },
            ExecutionProperty: { MaxConcurrentRuns: job.maxConcurrentRuns },
        }),
    );
    await dynamodb.send(
        new CreateTableCommand({
            TableName: job.runLedgerTable,
            KeySchema: [{ AttributeName: "archive", KeyType: "HASH" }],
            AttributeDefinitions: [{ AttributeName: "archive", AttributeType: "S" }],
            BillingMode: "PAY_PER_REQUEST",
        }),
    );
}

/** The job's runs, as Glue lists them. */
export async function runsOf(glue: GlueClient, jobName: string): Promise<JobRun[]> {
    return (await glue.send(new GetJobRunsCommand({ JobName: jobName }))).JobRuns ?? [];
}

/** Every claim in the ledger, each attribute as its string or number text. */
export async function ledgerClaims(dynamodb: DynamoDBClient, table: string): Promise<Record<string, string>[]> {
    const scanned = await dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    return (scanned.Items ?? []).map((item) =>
        Object.fromEntries(Object.entries(item).map(([name, value]) => [name, value.S ?? value.N ?? ""])),
    );
}
