import {
    GetQueryExecutionCommand,
    ListQueryExecutionsCommand,
    StopQueryExecutionCommand,
    type GetQueryExecutionCommandInput,
    type GetQueryExecutionCommandOutput,
} from "@aws-sdk/client-athena";
import { expect } from "chai";
import type { AwsClients } from "../cli/aws";
import { formatBytes, formatDollars, queryCost } from "../cli/query";
import { interceptCommand } from "./support/intercept";
import { useMotoServer } from "./support/moto";
import { deployOperatorStack, motoClients, runOperator, setMotoTransition, writeOutputsFile } from "./support/operator";

interface ResultColumn {
    readonly Name: string;
    readonly Type: string;
}

const columns: ResultColumn[] = [
    { Name: "customer_id", Type: "varchar" },
    { Name: "orders", Type: "bigint" },
    { Name: "total", Type: "double" },
    { Name: "active", Type: "boolean" },
];

/** Rows as Athena returns a SELECT's results: the column names first, NULL as a missing value. */
const selectRows = [
    ["customer_id", "orders", "total", "active"],
    ["C-001", "3", "120.5", "true"],
    ['C-002, "VIP"', "12", "1999.99", "false"],
    ["C-003", "0", undefined, undefined],
].map((row) => ({ Data: row.map((value) => (value === undefined ? {} : { VarCharValue: value })) }));

describe("operator command line: query", () => {
    const moto = useMotoServer();
    let clients: AwsClients;
    let outputs: string;
    /** moto never fails a query; this reason is given as Athena's in its responses while set. */
    let failWith: string | undefined;

    async function queueResults(rows: typeof selectRows, columnInfo: ResultColumn[]): Promise<void> {
        const response = await fetch(`${moto.endpoint}/moto-api/static/athena/query-results`, {
            method: "POST",
            body: JSON.stringify({ results: [{ rows, column_info: columnInfo }] }),
        });
        expect(response.status).to.equal(201);
    }

    before(async () => {
        clients = motoClients(moto.clientConfig);
        await deployOperatorStack(clients);
        outputs = writeOutputsFile();
        interceptCommand<GetQueryExecutionCommandInput, GetQueryExecutionCommandOutput>(
            clients.athena,
            "GetQueryExecutionCommand",
            async (input, send) => {
                const output = await send(input);
                if (failWith) {
                    output.QueryExecution!.Status = { ...output.QueryExecution!.Status, State: "FAILED", StateChangeReason: failWith };
                }
                return output;
            },
        );
    });

    afterEach(async () => {
        failWith = undefined;
        await setMotoTransition(moto.endpoint, "athena::execution", "immediate");
    });

    const query = (...args: string[]) => runOperator(["query", "--outputs", outputs, ...args], clients);

    async function lastQuery(): Promise<{ id: string; sql: string; workgroup: string; database: string }> {
        const listed = await clients.athena.send(new ListQueryExecutionsCommand({ WorkGroup: "ingest-dev" }));
        const id = listed.QueryExecutionIds!.at(-1)!;
        const { QueryExecution } = await clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
        return {
            id,
            sql: QueryExecution!.Query!,
            workgroup: QueryExecution!.WorkGroup!,
            database: QueryExecution!.QueryExecutionContext!.Database!,
        };
    }

    it("runs a query in the stack's workgroup and database, shows its progress, and prints the rows as a table", async () => {
        await setMotoTransition(moto.endpoint, "athena::execution", 2);
        await queueResults(selectRows, columns);
        const result = await query("SELECT customer_id, orders, total, active FROM customers");
        const executed = await lastQuery();
        expect(executed).to.deep.include({
            sql: "SELECT customer_id, orders, total, active FROM customers",
            workgroup: "ingest-dev",
            database: "ingest_dev",
        });
        expect(result).to.deep.equal({
            code: 0,
            stdout:
                "customer_id   orders    total  active\n" +
                "C-001              3    120.5  true\n" +
                'C-002, "VIP"      12  1999.99  false\n' +
                "C-003              0     NULL  NULL\n",
            stderr:
                "query queued (0.0s)\n" +
                "query running (0.3s)\n" +
                "query succeeded (1.8s)\n" +
                `3 rows. Data scanned: 0 B; cost $0.00 at $5.00 per TB (query ${executed.id}).\n`,
        });
    });

    it("redraws its progress in place on a terminal", async () => {
        await setMotoTransition(moto.endpoint, "athena::execution", 2);
        await queueResults(selectRows, columns);
        const result = await runOperator(["query", "--outputs", outputs, "SELECT * FROM customers"], clients, { stderrIsTTY: true });
        const executed = await lastQuery();
        expect(result.stderr).to.equal(
            "\r\x1b[2Kquery queued, 0.0s, 0 B scanned" +
                "\r\x1b[2Kquery running, 0.3s, 0 B scanned" +
                "\r\x1b[2Kquery running, 0.8s, 0 B scanned" +
                "\r\x1b[2Kquery succeeded, 1.8s, 0 B scanned\n" +
                `3 rows. Data scanned: 0 B; cost $0.00 at $5.00 per TB (query ${executed.id}).\n`,
        );
    });

    it("prints CSV with RFC 4180 quoting, NULL as an empty field", async () => {
        await queueResults(selectRows, columns);
        const result = await query("SELECT * FROM customers", "--format", "csv");
        expect(result.code).to.equal(0);
        expect(result.stdout).to.equal(
            'customer_id,orders,total,active\nC-001,3,120.5,true\n"C-002, ""VIP""",12,1999.99,false\nC-003,0,,\n',
        );
    });

    it("prints JSON with numbers and booleans typed, bigints as text so no digit is lost, NULL as null", async () => {
        await queueResults(selectRows, columns);
        const result = await query("SELECT * FROM customers", "--format", "json", "--price-per-tb", "6.75");
        expect(JSON.parse(result.stdout)).to.deep.equal([
            { customer_id: "C-001", orders: "3", total: 120.5, active: true },
            { customer_id: 'C-002, "VIP"', orders: "12", total: 1999.99, active: false },
            { customer_id: "C-003", orders: "0", total: null, active: null },
        ]);
        expect(result.stderr.split("\n").at(-2)).to.match(
            /^3 rows\. Data scanned: 0 B; cost \$0\.00 at \$6\.75 per TB \(query [0-9a-f-]{36}\)\.$/,
        );
    });

    it("prints a DDL result, which has no header row, as it comes", async () => {
        await queueResults(
            [{ Data: [{ VarCharValue: "clickstream_events" }] }, { Data: [{ VarCharValue: "customers" }] }],
            [{ Name: "tab_name", Type: "string" }],
        );
        const result = await query("SHOW TABLES");
        expect(result.stdout).to.equal("tab_name\nclickstream_events\ncustomers\n");
    });

    it("runs a saved query of the workgroup by name, in its own database", async () => {
        await queueResults(selectRows.slice(0, 2), columns);
        const result = await query("--saved", "clickstream-recent-events");
        expect(result.code).to.equal(0);
        expect(await lastQuery()).to.deep.include({ sql: "SELECT * FROM clickstream_events LIMIT 10", database: "ingest_dev" });
        expect(result.stdout).to.equal("customer_id  orders  total  active\nC-001             3  120.5  true\n");
    });

    it("names the saved queries there are when the name is not one of them (exit code 4)", async () => {
        expect(await query("--saved", "recent-events")).to.deep.equal({
            code: 4,
            stdout: "",
            stderr: 'ingest: no saved query "recent-events" in workgroup ingest-dev; saved queries: clickstream-events-per-hour, clickstream-recent-events\n',
        });
    });

    it("fails with Athena's reason and exit code 5 when the query fails", async () => {
        failWith = "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved";
        const result = await query("SELECT nope FROM customers");
        const executed = await lastQuery();
        expect(result).to.deep.equal({
            code: 5,
            stdout: "",
            stderr: `query failed (0.0s)\ningest: the query failed (query ${executed.id}): COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved\n`,
        });
    });

    it("fails with exit code 5 when the query is cancelled while it runs", async () => {
        await setMotoTransition(moto.endpoint, "athena::execution", 1000);
        const cancel = async () => {
            const listed = await clients.athena.send(new ListQueryExecutionsCommand({ WorkGroup: "ingest-dev" }));
            await clients.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: listed.QueryExecutionIds!.at(-1)! }));
        };
        const result = await runOperator(["query", "--outputs", outputs, "SELECT count(*) FROM customers"], clients, { onSleep: cancel });
        const executed = await lastQuery();
        expect(result).to.deep.equal({
            code: 5,
            stdout: "",
            stderr: `query queued (0.0s)\nquery cancelled (0.3s)\ningest: the query was cancelled (query ${executed.id}): no reason given\n`,
        });
    });

    it("stops the query in Athena on Ctrl-C, rather than leave it running and billing (exit code 5)", async () => {
        await setMotoTransition(moto.endpoint, "athena::execution", 1000);
        let interrupts = 0;
        const result = await runOperator(["query", "--outputs", outputs, "SELECT * FROM customers_orders"], clients, {
            onSleep: (interrupt) => {
                interrupts += 1;
                if (interrupts === 1) {
                    interrupt();
                }
                return Promise.resolve();
            },
        });
        const executed = await lastQuery();
        expect(result).to.deep.equal({
            code: 5,
            stdout: "",
            stderr:
                "query queued (0.0s)\n" +
                `stopping query ${executed.id}\n` +
                "query cancelled (0.3s)\n" +
                `ingest: the query was stopped (query ${executed.id}) after 0 B scanned, cost $0.00\n`,
        });
    });

    const usageErrors: [string, string[], string][] = [
        ["neither SQL nor a saved query", [], 'ingest: query takes an SQL statement ("SELECT ...") or --saved NAME, not both\n'],
        [
            "both SQL and a saved query",
            ["SELECT 1", "--saved", "x"],
            'ingest: query takes an SQL statement ("SELECT ...") or --saved NAME, not both\n',
        ],
        ["an unknown format", ["SELECT 1", "--format", "xml"], "ingest: --format xml is not one of table, csv, json\n"],
        ["a price that is not a number", ["SELECT 1", "--price-per-tb", "five"], "ingest: --price-per-tb five is not a price in dollars\n"],
    ];
    for (const [title, args, stderr] of usageErrors) {
        it(`refuses ${title} with exit code 2`, async () => {
            expect(await query(...args)).to.deep.equal({ code: 2, stdout: "", stderr });
        });
    }
});

describe("operator command line: query cost", () => {
    const cases: [number, number, string, string][] = [
        [0, 5, "0 B", "$0.00"],
        [1, 5, "1 B", "$0.000048"],
        [10 * 1024 * 1024, 5, "10.0 MB", "$0.000048"],
        [10 * 1024 * 1024 + 1, 5, "10.0 MB", "$0.000052"],
        [1536 * 1024 * 1024, 5, "1.50 GB", "$0.0073"],
        [3 * 1024 ** 4, 5, "3.00 TB", "$15.00"],
        [1024 ** 4, 6.75, "1.00 TB", "$6.75"],
    ];
    for (const [bytes, price, scanned, cost] of cases) {
        it(`bills ${bytes} bytes at $${price} per TB as ${cost}, rounded up to whole MB with a 10 MB minimum`, () => {
            expect([formatBytes(bytes), formatDollars(queryCost(bytes, price))]).to.deep.equal([scanned, cost]);
        });
    }
});
