import {
    GetQueryExecutionCommand,
    ListQueryExecutionsCommand,
    type GetQueryExecutionCommandInput,
    type GetQueryExecutionCommandOutput,
} from "@aws-sdk/client-athena";
import { PutItemCommand, ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GetJobRunsCommand, type JobRun } from "@aws-sdk/client-glue";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import type { AwsClients } from "../cli/aws";
import { interceptCommand } from "./support/intercept";
import { useMotoServer } from "./support/moto";
import { deployOperatorStack, motoClients, operatorStack, runOperator, stackOutputsDocument, writeOutputsFile } from "./support/operator";

const archives = {
    first: "crm_customers_20261120T060000Z_1.zip",
    second: "crm_customers_20261121T060000Z_1.zip",
    third: "crm_customers_20261121T060000Z_2.zip",
};

/** The current and keys tables of the customers mapping, in plan order, as rebuild empties them. */
const deleteStatements = [
    'DELETE FROM "ingest_dev"."customers_customers"',
    'DELETE FROM "ingest_dev"."customers_customers_keys"',
    'DELETE FROM "ingest_dev"."customers_addresses"',
    'DELETE FROM "ingest_dev"."customers_addresses_keys"',
    'DELETE FROM "ingest_dev"."customers_orders"',
    'DELETE FROM "ingest_dev"."customers_orders_keys"',
    'DELETE FROM "ingest_dev"."customers_order_lines"',
    'DELETE FROM "ingest_dev"."customers_order_lines_keys"',
];

/** The command line's clock starts here (see runOperator). */
const now = new Date("2026-11-23T07:00:00Z");

function epochSeconds(time: Date): string {
    return String(Math.floor(time.getTime() / 1000));
}

describe("operator command line: rebuild", () => {
    const moto = useMotoServer();
    let clients: AwsClients;
    let outputs: string;
    const versions: Record<string, string> = {};
    /** moto never fails a query; while set, the nth statement (from 1) is given Athena's FAILED state and this reason. */
    let failStatement: { readonly sql: string; readonly reason: string } | undefined;

    const rebuild = (...args: string[]) => runOperator(["rebuild", "--outputs", outputs, ...args], clients);

    /** The run ledger as rebuild finds it: the trigger's claims and the lake's records of committed and pending extracts. */
    const ledgerRecords: Record<string, AttributeValue>[] = [
        { archive: { S: "lake-commit#20261120T060000Z-000001" }, sequence: { N: "1" }, extractVersion: { N: "1795154400000001" } },
        { archive: { S: "lake-commit#20261121T060000Z-000001" }, sequence: { N: "2" }, extractVersion: { N: "1795240800000001" } },
        { archive: { S: "lake-pending" }, extractId: { S: "20261121T060000Z-000002" }, appliedTables: { L: [{ S: "customers" }] } },
        { archive: { S: "lake-commit-counter" }, sequence: { N: "2" } },
    ];
    const claimKey = (name: string) =>
        `archive#s3://${operatorStack.landingBucket}/${operatorStack.landingPrefix}${name}#${versions[name]}`;

    async function putLedgerItem(item: Record<string, AttributeValue>): Promise<void> {
        await clients.dynamodb.send(new PutItemCommand({ TableName: operatorStack.runLedgerTable, Item: item }));
    }

    async function ledgerKeys(): Promise<string[]> {
        const scanned = await clients.dynamodb.send(new ScanCommand({ TableName: operatorStack.runLedgerTable, ConsistentRead: true }));
        return (scanned.Items ?? []).map((item) => item.archive!.S!).sort();
    }

    async function executedStatements(): Promise<{ sql: string; workgroup: string; database: string }[]> {
        const listed = await clients.athena.send(new ListQueryExecutionsCommand({ WorkGroup: operatorStack.athenaWorkgroup }));
        return Promise.all(
            (listed.QueryExecutionIds ?? []).map(async (id) => {
                const { QueryExecution } = await clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
                return {
                    sql: QueryExecution!.Query!,
                    workgroup: QueryExecution!.WorkGroup!,
                    database: QueryExecution!.QueryExecutionContext!.Database!,
                };
            }),
        );
    }

    async function jobRuns(): Promise<JobRun[]> {
        const listed = await clients.glue.send(new GetJobRunsCommand({ JobName: operatorStack.jobName }));
        return listed.JobRuns ?? [];
    }

    before(async () => {
        clients = motoClients(moto.clientConfig);
        await deployOperatorStack(clients);
        outputs = writeOutputsFile();
        // Landed out of order, beside objects the trigger starts no run for: rebuild replays the archives in extract order.
        for (const name of [
            archives.third,
            archives.first,
            "README.txt",
            "2026-11-22/crm_customers_20261122T060000Z_1.zip",
            archives.second,
        ]) {
            const put = await clients.s3.send(
                new PutObjectCommand({ Bucket: operatorStack.landingBucket, Key: `${operatorStack.landingPrefix}${name}`, Body: "PK" }),
            );
            versions[name] = put.VersionId!;
        }
        for (const item of ledgerRecords) {
            await putLedgerItem(item);
        }
        await putLedgerItem({ archive: { S: claimKey(archives.first) }, status: { S: "STARTED" }, jobRunId: { S: "jr_0" } });
        interceptCommand<GetQueryExecutionCommandInput, GetQueryExecutionCommandOutput>(
            clients.athena,
            "GetQueryExecutionCommand",
            async (input, send) => {
                const output = await send(input);
                if (failStatement && output.QueryExecution?.Query === failStatement.sql) {
                    output.QueryExecution.Status = {
                        ...output.QueryExecution.Status,
                        State: "FAILED",
                        StateChangeReason: failStatement.reason,
                    };
                }
                return output;
            },
        );
    });

    it("without --yes says what it would do, in order, and changes nothing", async () => {
        const keysBefore = await ledgerKeys();
        expect(await rebuild()).to.deep.equal({
            code: 0,
            stdout:
                "Rebuild of pipeline customers from the 3 archives landed in s3://ingest-dev-landing/incoming/customers/ (Glue job ingest-dev-customers-job).\n" +
                "With --yes it would:\n" +
                "  1. take the lake lease, which no run holds now, so that no run changes the lake meanwhile;\n" +
                "  2. delete the lake's 3 records in the run ledger ingest-dev-customers-runs (the archive claims and lake-commit-counter stay):\n" +
                "     lake-commit#20261120T060000Z-000001\n" +
                "     lake-commit#20261121T060000Z-000001\n" +
                "     lake-pending\n" +
                "  3. empty the current and keys tables in Athena workgroup ingest-dev (the history tables stay: each replayed run replaces its extract's partition):\n" +
                deleteStatements.map((sql) => `     ${sql}\n`).join("") +
                "  4. release the lease and replay every landed archive in extract order, as replay --force does:\n" +
                "     EXTRACT                  ARCHIVE\n" +
                "     20261120T060000Z-000001  crm_customers_20261120T060000Z_1.zip\n" +
                "     20261121T060000Z-000001  crm_customers_20261121T060000Z_1.zip\n" +
                "     20261121T060000Z-000002  crm_customers_20261121T060000Z_2.zip\n" +
                "Nothing was changed; run it again with --yes to rebuild.\n",
            stderr: "",
        });
        expect(await ledgerKeys()).to.deep.equal(keysBefore);
        expect(await executedStatements()).to.deep.equal([]);
        expect(await jobRuns()).to.deep.equal([]);
    });

    it("refuses, with or without --yes, while a run holds the lake lease, saying which extract's run and until when", async () => {
        const expiresAt = new Date(now.getTime() + 270_000);
        await putLedgerItem({
            archive: { S: "lake-lease" },
            owner: { S: "20261121T060000Z-000002" },
            expiresAt: { N: epochSeconds(expiresAt) },
        });
        const keysBefore = await ledgerKeys();
        const refusal =
            "ingest: the lake lease is held by the run of extract 20261121T060000Z-000002 until 2026-11-23 07:04:30Z: " +
            "it is changing the lake, so rebuild changed nothing. " +
            "Rebuild once it has finished (ingest runs shows the runs); the lease is renewed while its holder works\n";
        expect(await rebuild()).to.deep.equal({ code: 6, stdout: "", stderr: refusal });
        expect(await rebuild("--yes")).to.deep.equal({ code: 6, stdout: "", stderr: refusal });
        expect(await ledgerKeys()).to.deep.equal(keysBefore);
        expect(await executedStatements()).to.deep.equal([]);
        expect(await jobRuns()).to.deep.equal([]);
    });

    it("stops at a failed statement with exit code 5 and gives the lease back, so it can be run again", async () => {
        // The run that held the lease died: its lease has expired, and rebuild may take it over.
        await putLedgerItem({
            archive: { S: "lake-lease" },
            owner: { S: "20261121T060000Z-000002" },
            expiresAt: { N: epochSeconds(new Date(now.getTime() - 1000)) },
        });
        failStatement = { sql: deleteStatements[1]!, reason: "ICEBERG_COMMIT_ERROR: commit conflict" };
        try {
            const result = await rebuild("--yes");
            const executed = (await clients.athena.send(new ListQueryExecutionsCommand({ WorkGroup: operatorStack.athenaWorkgroup })))
                .QueryExecutionIds!;
            expect(result).to.deep.equal({
                code: 5,
                stdout:
                    "Rebuild of pipeline customers from the 3 archives landed in s3://ingest-dev-landing/incoming/customers/ (Glue job ingest-dev-customers-job).\n" +
                    "Took the lake lease in the run ledger ingest-dev-customers-runs.\n" +
                    "Deleted lake-commit#20261120T060000Z-000001 from the run ledger.\n" +
                    "Deleted lake-commit#20261121T060000Z-000001 from the run ledger.\n" +
                    "Deleted lake-pending from the run ledger.\n" +
                    `Emptied ingest_dev.customers_customers (query ${executed[0]}, 0 B scanned).\n`,
                stderr:
                    "query succeeded (0.0s)\n" +
                    "query failed (0.0s)\n" +
                    `ingest: emptying customers_customers_keys failed (query ${executed[1]}): ICEBERG_COMMIT_ERROR: commit conflict\n`,
            });
        } finally {
            failStatement = undefined;
        }
        expect(await ledgerKeys()).to.deep.equal([claimKey(archives.first), "lake-commit-counter"]);
        expect(await jobRuns()).to.deep.equal([]);
    });

    it("with --yes deletes the lake's ledger records, empties the current and keys tables in Athena, then replays every archive in extract order", async () => {
        // The ledger as a dead run leaves it on top of the half-done rebuild before: both are cleared again.
        for (const item of ledgerRecords.slice(0, 3)) {
            await putLedgerItem(item);
        }
        const statementsBefore = (await executedStatements()).length;
        const result = await rebuild("--yes");
        const executed = (
            await clients.athena.send(new ListQueryExecutionsCommand({ WorkGroup: operatorStack.athenaWorkgroup }))
        ).QueryExecutionIds!.slice(statementsBefore);
        const runs = await jobRuns();
        const runOf = (name: string) => runs.find((run) => run.Arguments?.["--archive_key"] === `${operatorStack.landingPrefix}${name}`)!;
        expect(result).to.deep.equal({
            code: 0,
            stdout:
                "Rebuild of pipeline customers from the 3 archives landed in s3://ingest-dev-landing/incoming/customers/ (Glue job ingest-dev-customers-job).\n" +
                "Took the lake lease in the run ledger ingest-dev-customers-runs.\n" +
                "Deleted lake-commit#20261120T060000Z-000001 from the run ledger.\n" +
                "Deleted lake-commit#20261121T060000Z-000001 from the run ledger.\n" +
                "Deleted lake-pending from the run ledger.\n" +
                deleteStatements
                    .map((sql, index) => `Emptied ingest_dev.${/"([^"]+)"$/.exec(sql)![1]} (query ${executed[index]}, 0 B scanned).\n`)
                    .join("") +
                "Released the lake lease.\n" +
                "\n" +
                "Replay of 3 archives of pipeline customers in extract order (Glue job ingest-dev-customers-job):\n" +
                "EXTRACT                  ARCHIVE                               OUTCOME\n" +
                `20261120T060000Z-000001  crm_customers_20261120T060000Z_1.zip  started ${runOf(archives.first).Id} (replaces jr_0, EXPIRED)\n` +
                `20261121T060000Z-000001  crm_customers_20261121T060000Z_1.zip  started ${runOf(archives.second).Id}\n` +
                `20261121T060000Z-000002  crm_customers_20261121T060000Z_2.zip  started ${runOf(archives.third).Id}\n` +
                "Started 3, skipped 0, not started 0.\n",
            stderr: "query succeeded (0.0s)\n".repeat(deleteStatements.length),
        });
        expect((await executedStatements()).slice(statementsBefore)).to.deep.equal(
            deleteStatements.map((sql) => ({ sql, workgroup: "ingest-dev", database: "ingest_dev" })),
        );
        // The lease is given back and the counter kept; the claims are the trigger's, now of the replayed runs.
        expect(await ledgerKeys()).to.deep.equal([...Object.values(archives).map(claimKey), "lake-commit-counter"].sort());
        const started = [archives.first, archives.second, archives.third].map((name) => runOf(name));
        expect(started.map((run) => run.Arguments!["--extract_id"])).to.deep.equal([
            "20261120T060000Z-000001",
            "20261121T060000Z-000001",
            "20261121T060000Z-000002",
        ]);
        const startTimes = started.map((run) => run.StartedOn!.getTime());
        expect(startTimes).to.deep.equal([...startTimes].sort((a, b) => a - b));
        expect(runs).to.have.length(3);
    });

    it("refuses a pipeline with no landed archives with exit code 4, changing nothing", async () => {
        const document = stackOutputsDocument() as { extractPipelines: { customers: { landingPrefix: string } } };
        document.extractPipelines.customers.landingPrefix = "incoming/customers-archive/";
        const keysBefore = await ledgerKeys();
        expect(await runOperator(["rebuild", "--outputs", writeOutputsFile(document), "--yes"], clients)).to.deep.equal({
            code: 4,
            stdout: "",
            stderr:
                "ingest: no archives of pipeline customers in s3://ingest-dev-landing/incoming/customers-archive/: " +
                "there is nothing to rebuild from, so nothing was changed\n",
        });
        expect(await ledgerKeys()).to.deep.equal(keysBefore);
    });

    it("is listed in ingest --help with its options", async () => {
        const help = await runOperator(["--help"], clients);
        expect(help.code).to.equal(0);
        expect(help.stdout).to.include(
            "  rebuild  [--pipeline NAME] [--yes]\n" +
                "           disaster recovery: empties the pipeline's current and keys tables and the lake's records\n" +
                "           in the run ledger, then replays every landed archive in extract order (as replay --force);\n" +
                "           refused while a run holds the lake lease. Without --yes it only says what it would do\n",
        );
    });

    const usageErrors: [string, string[], string][] = [
        ["an unknown pipeline", ["--pipeline", "orders"], 'ingest: unknown pipeline "orders": stack dev has customers\n'],
        ["an option of another command", ["--force"], "ingest: rebuild has no option --force (ingest --help)\n"],
        ["an extra argument", ["customers"], 'ingest: rebuild: unexpected argument "customers" (ingest --help)\n'],
    ];
    for (const [title, args, stderr] of usageErrors) {
        it(`refuses ${title} with exit code 2`, async () => {
            expect(await rebuild(...args)).to.deep.equal({ code: 2, stdout: "", stderr });
        });
    }
});
