import {
    GetNamedQueryCommand,
    GetQueryExecutionCommand,
    InvalidRequestException,
    StartQueryExecutionCommand,
    StopQueryExecutionCommand,
    paginateGetQueryResults,
    paginateListNamedQueries,
    type ColumnInfo,
    type NamedQuery,
    type QueryExecution,
    type Row,
} from "@aws-sdk/client-athena";
import type { AwsClients } from "./aws";
import type { StackOutputs } from "./stack-outputs";
import { renderTable } from "./table";
import { ExitCode, OperatorError, type Terminal } from "./terminal";

export const outputFormats = ["table", "csv", "json"] as const;
export type OutputFormat = (typeof outputFormats)[number];

export interface QueryRequest {
    readonly query: { readonly sql: string } | { readonly saved: string };
    readonly format: OutputFormat;
    /** Athena's on-demand price per TB scanned in the stack's region; $5.00 in most regions. */
    readonly pricePerTerabyte: number;
}

/** Athena's on-demand price per TB scanned in most regions, used unless `--price-per-tb` says otherwise. */
export const defaultPricePerTerabyte = 5;

const firstPollMilliseconds = 250;
const longestPollMilliseconds = 2000;
const terminalStates = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);
const megabyte = 1024 * 1024;
const megabytesPerTerabyte = 1024 * 1024;
/** Athena rounds the data scanned up to the next MB and charges at least 10 MB for a query that scans any. */
const minimumBilledMegabytes = 10;

/**
 * Runs a query in the stack's workgroup, whose enforced settings decide where the results go, how
 * they are encrypted and how much one query may scan. Rows go to stdout in the chosen format;
 * progress and the cost go to stderr, so a CSV or JSON result can be piped as it is.
 */
export async function runQuery(request: QueryRequest, outputs: StackOutputs, clients: AwsClients, terminal: Terminal): Promise<number> {
    const statement = await resolveQuery(request, outputs, clients);
    const { queryId, execution } = await executeQuery(statement, request.pricePerTerabyte, outputs, clients, terminal);
    const scanned = execution.Statistics?.DataScannedInBytes ?? 0;
    const { columns, rows } = await readResults(queryId, execution, clients);
    terminal.stdout.write(formatRows(columns, rows, request.format));
    terminal.stderr.write(
        `${rows.length} row${rows.length === 1 ? "" : "s"}. Data scanned: ${formatBytes(scanned)}; ` +
            `cost ${formatDollars(queryCost(scanned, request.pricePerTerabyte))} at ${formatDollars(request.pricePerTerabyte)} per TB ` +
            `(query ${queryId}).\n`,
    );
    return ExitCode.ok;
}

/** A statement for Athena: its text, the database it runs against, and how messages name it. */
export interface Statement {
    readonly sql: string;
    readonly database: string;
    readonly label: string;
}

/**
 * Runs a statement in the stack's workgroup to its end, showing its progress on stderr; Ctrl-C
 * stops it in Athena. Returns the succeeded execution; a refused, failed, cancelled or stopped
 * statement is an OperatorError with exit code 5 that says what it scanned (at `pricePerTerabyte`).
 */
export async function executeQuery(
    { sql, database, label }: Statement,
    pricePerTerabyte: number,
    outputs: StackOutputs,
    clients: AwsClients,
    terminal: Terminal,
): Promise<{ readonly queryId: string; readonly execution: QueryExecution }> {
    let queryId: string;
    try {
        const started = await clients.athena.send(
            new StartQueryExecutionCommand({
                QueryString: sql,
                WorkGroup: outputs.athenaWorkgroup,
                QueryExecutionContext: { Database: database },
            }),
        );
        queryId = started.QueryExecutionId!;
    } catch (error) {
        if (error instanceof InvalidRequestException) {
            throw new OperatorError(ExitCode.queryFailed, `Athena refused ${label}: ${error.message}`);
        }
        throw error;
    }
    const { execution, stopped } = await waitForQuery(queryId, clients, terminal);
    const state = execution.Status?.State;
    const scanned = execution.Statistics?.DataScannedInBytes ?? 0;
    const cost = `${formatBytes(scanned)} scanned, cost ${formatDollars(queryCost(scanned, pricePerTerabyte))}`;
    if (state === "CANCELLED" && stopped) {
        throw new OperatorError(ExitCode.queryFailed, `${label} was stopped (query ${queryId}) after ${cost}`);
    }
    if (state !== "SUCCEEDED") {
        const reason = execution.Status?.StateChangeReason ?? execution.Status?.AthenaError?.ErrorMessage ?? "no reason given";
        throw new OperatorError(
            ExitCode.queryFailed,
            `${label} ${state === "CANCELLED" ? "was cancelled" : "failed"} (query ${queryId}): ${reason}`,
        );
    }
    return { queryId, execution };
}

async function resolveQuery(request: QueryRequest, outputs: StackOutputs, clients: AwsClients): Promise<Statement> {
    const query = request.query;
    if ("sql" in query) {
        return { sql: query.sql, database: outputs.glueDatabase, label: "the query" };
    }
    const saved = await savedQueries(outputs.athenaWorkgroup, clients);
    const found = saved.find((candidate) => candidate.Name === query.saved);
    if (!found) {
        const names = saved.map((candidate) => candidate.Name).sort();
        throw new OperatorError(
            ExitCode.notFound,
            `no saved query "${query.saved}" in workgroup ${outputs.athenaWorkgroup}; ` +
                (names.length > 0 ? `saved queries: ${names.join(", ")}` : "it has no saved queries"),
        );
    }
    return { sql: found.QueryString!, database: found.Database ?? outputs.glueDatabase, label: `saved query ${found.Name}` };
}

async function savedQueries(workgroup: string, clients: AwsClients): Promise<NamedQuery[]> {
    const ids: string[] = [];
    for await (const page of paginateListNamedQueries({ client: clients.athena }, { WorkGroup: workgroup })) {
        ids.push(...(page.NamedQueryIds ?? []));
    }
    const found = await Promise.all(ids.map((id) => clients.athena.send(new GetNamedQueryCommand({ NamedQueryId: id }))));
    return found.flatMap((response) => (response.NamedQuery ? [response.NamedQuery] : []));
}

/**
 * Polls with a growing interval, showing the state and time taken; in place on a terminal, one line
 * per state otherwise. Ctrl-C stops the query in Athena, which would otherwise run on, and bill, without anyone waiting for it.
 */
async function waitForQuery(
    queryId: string,
    clients: AwsClients,
    terminal: Terminal,
): Promise<{ readonly execution: QueryExecution; readonly stopped: boolean }> {
    let interrupted = false;
    let stopped = false;
    const release = terminal.onInterrupt(() => {
        interrupted = true;
    });
    try {
        return {
            execution: await pollQuery(queryId, clients, terminal, async () => {
                if (interrupted && !stopped) {
                    stopped = true;
                    terminal.stderr.write(`${terminal.stderr.isTTY ? "\n" : ""}stopping query ${queryId}\n`);
                    await clients.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: queryId }));
                }
            }),
            stopped,
        };
    } finally {
        release();
    }
}

async function pollQuery(
    queryId: string,
    clients: AwsClients,
    terminal: Terminal,
    stopIfInterrupted: () => Promise<void>,
): Promise<QueryExecution> {
    const started = terminal.now().getTime();
    let interval = firstPollMilliseconds;
    let shownState: string | undefined;
    for (;;) {
        await stopIfInterrupted();
        const found = await clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: queryId }));
        const execution = found.QueryExecution!;
        const state = execution.Status?.State ?? "UNKNOWN";
        const elapsed = ((terminal.now().getTime() - started) / 1000).toFixed(1);
        const scanned = formatBytes(execution.Statistics?.DataScannedInBytes ?? 0);
        if (terminal.stderr.isTTY) {
            terminal.stderr.write(`\r\x1b[2Kquery ${state.toLowerCase()}, ${elapsed}s, ${scanned} scanned`);
        } else if (state !== shownState) {
            terminal.stderr.write(`query ${state.toLowerCase()} (${elapsed}s)\n`);
        }
        shownState = state;
        if (terminalStates.has(state)) {
            if (terminal.stderr.isTTY) {
                terminal.stderr.write("\n");
            }
            return execution;
        }
        await terminal.sleep(interval);
        interval = Math.min(interval * 2, longestPollMilliseconds);
    }
}

async function readResults(
    queryId: string,
    execution: QueryExecution,
    clients: AwsClients,
): Promise<{ columns: ColumnInfo[]; rows: Row[] }> {
    let columns: ColumnInfo[] = [];
    const rows: Row[] = [];
    for await (const page of paginateGetQueryResults({ client: clients.athena, pageSize: 1000 }, { QueryExecutionId: queryId })) {
        columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? columns;
        rows.push(...(page.ResultSet?.Rows ?? []));
    }
    // A SELECT's first row repeats the column names; DDL results have no such row.
    const names = columns.map((column) => column.Name ?? "");
    const first = rows[0]?.Data?.map((datum) => datum.VarCharValue ?? "");
    if (
        execution.StatementType === "DML" &&
        first &&
        first.length === names.length &&
        first.every((value, index) => value === names[index])
    ) {
        rows.shift();
    }
    return { columns, rows };
}

export function formatRows(columns: readonly ColumnInfo[], rows: readonly Row[], format: OutputFormat): string {
    const names = columns.map((column, index) => column.Name ?? `column_${index + 1}`);
    const values = rows.map((row) => names.map((_, index) => row.Data?.[index]?.VarCharValue));
    switch (format) {
        case "table":
            return renderTable(
                names,
                values.map((cells) => cells.map((cell) => cell ?? "NULL")),
                columns.map((column) => numericTypes.has(column.Type ?? "")),
            );
        case "csv":
            return [names, ...values].map((cells) => `${cells.map(csvField).join(",")}\n`).join("");
        case "json":
            return `${JSON.stringify(
                values.map((cells) =>
                    Object.fromEntries(names.map((name, index) => [name, jsonValue(cells[index], columns[index]?.Type)])),
                ),
                null,
                2,
            )}\n`;
    }
}

const numericTypes = new Set(["tinyint", "smallint", "integer", "bigint", "float", "real", "double", "decimal"]);
const jsonNumberTypes = new Set(["tinyint", "smallint", "integer", "float", "real", "double"]);

/** Athena's text for a value, typed for JSON where no precision is lost; bigint and decimal stay strings. */
function jsonValue(text: string | undefined, type: string | undefined): unknown {
    if (text === undefined) {
        return null;
    }
    if (type === "boolean" && (text === "true" || text === "false")) {
        return text === "true";
    }
    if (jsonNumberTypes.has(type ?? "") && Number.isFinite(Number(text)) && text.trim() !== "") {
        return Number(text);
    }
    return text;
}

/** RFC 4180: quoted when it holds a comma, quote or line break; NULL is an empty field. */
function csvField(value: string | undefined): string {
    if (value === undefined) {
        return "";
    }
    return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function queryCost(scannedBytes: number, pricePerTerabyte: number): number {
    if (scannedBytes <= 0) {
        return 0;
    }
    const billedMegabytes = Math.max(minimumBilledMegabytes, Math.ceil(scannedBytes / megabyte));
    return (billedMegabytes * pricePerTerabyte) / megabytesPerTerabyte;
}

export function formatBytes(bytes: number): string {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Dollars with enough digits that a small query's cost does not print as zero. */
export function formatDollars(amount: number): string {
    if (amount === 0 || amount >= 0.01) {
        return `$${amount.toFixed(2)}`;
    }
    return `$${amount.toPrecision(2)}`;
}
