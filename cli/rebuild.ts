import type { AwsClients } from "./aws";
import { LakeLedger, lakeLedgerKeys, type LeaseHolder } from "./lake-ledger";
import { defaultPricePerTerabyte, executeQuery, formatBytes } from "./query";
import { landedArchives, pipelinePlan, replayArchives } from "./replay";
import type { ExtractPipelineOutputs, StackOutputs } from "./stack-outputs";
import { renderTable } from "./table";
import { ExitCode, OperatorError, type Terminal } from "./terminal";

/**
 * Disaster recovery: re-creates a pipeline's current and keys tables, and with them its items, from
 * the archives still in the landing bucket. The lake's records in the run ledger are deleted (the
 * commit counter stays, so every rebuilt item carries a newer lake snapshot than the item it
 * replaces and overwrites it), the current and keys tables are emptied in Athena, and every landed
 * archive is replayed in extract order, loaded or not. The history tables stay: each replayed run
 * replaces its own extract's partition.
 *
 * While it deletes and empties, rebuild holds the lake lease the runs take to change the lake. A
 * run that committed between the deletes and the emptying would otherwise keep a commit record
 * for rows that are gone, and its replay would then change nothing.
 */

export interface RebuildRequest {
    /** Without it, rebuild only says what it would do. */
    readonly yes: boolean;
}

/** How the lease names its holder while rebuild holds it; a run holds it under its extract id. */
export const rebuildLeaseOwner = "ingest rebuild";

/** Rebuild renews the lease before each step; every step is one DynamoDB request or one Athena statement. */
const rebuildLeaseMilliseconds = 15 * 60 * 1000;

const extractIdPattern = /^\d{8}T\d{6}Z-\d{6}$/;

export async function rebuild(
    request: RebuildRequest,
    pipeline: ExtractPipelineOutputs,
    outputs: StackOutputs,
    clients: AwsClients,
    terminal: Terminal,
): Promise<number> {
    const plan = pipelinePlan(pipeline.pipeline);
    const ledger = new LakeLedger(clients.dynamodb, pipeline.runLedgerTable);
    const holder = await ledger.leaseHolder(terminal.now());
    if (holder) {
        throw leaseRefusal(holder);
    }
    const landing = `s3://${outputs.landingBucket}/${pipeline.landingPrefix}`;
    const archives = (await landedArchives(pipeline, outputs, plan.extract.archiveNaming, clients)).sort(
        (a, b) => a.extract.extractVersion - b.extract.extractVersion,
    );
    if (archives.length === 0) {
        throw new OperatorError(
            ExitCode.notFound,
            `no archives of pipeline ${pipeline.pipeline} in ${landing}: there is nothing to rebuild from, so nothing was changed`,
        );
    }
    const emptied = plan.lake.tables.filter((table) => table.role !== "history").map((table) => table.name);
    const statements = emptied.map((table) => ({ table, sql: `DELETE FROM "${outputs.glueDatabase}"."${table}"` }));
    const records = await ledger.lakeStateKeys();
    const out = (text: string) => terminal.stdout.write(text);
    const count = `${archives.length} archive${archives.length === 1 ? "" : "s"}`;
    out(`Rebuild of pipeline ${pipeline.pipeline} from the ${count} landed in ${landing} (Glue job ${pipeline.jobName}).\n`);

    if (!request.yes) {
        const indent = (text: string) => `     ${text}`;
        const archiveRows = renderTable(
            ["EXTRACT", "ARCHIVE"],
            archives.map(({ landed, extract }) => [extract.extractId, landed.key.slice(pipeline.landingPrefix.length)]),
        );
        out(
            [
                "With --yes it would:",
                "  1. take the lake lease, which no run holds now, so that no run changes the lake meanwhile;",
                records.length === 0
                    ? `  2. delete the lake's records in the run ledger ${ledger.table}: there are none;`
                    : `  2. delete the lake's ${records.length} record${records.length === 1 ? "" : "s"} in the run ledger ${ledger.table} ` +
                      `(the archive claims and ${lakeLedgerKeys.counter} stay):`,
                ...records.map(indent),
                `  3. empty the current and keys tables in Athena workgroup ${outputs.athenaWorkgroup} ` +
                    "(the history tables stay: each replayed run replaces its extract's partition):",
                ...statements.map(({ sql }) => indent(sql)),
                "  4. release the lease and replay every landed archive in extract order, as replay --force does:",
                ...archiveRows.trimEnd().split("\n").map(indent),
                "Nothing was changed; run it again with --yes to rebuild.",
            ]
                .map((line) => `${line}\n`)
                .join(""),
        );
        return ExitCode.ok;
    }

    const leaseUntil = () => new Date(terminal.now().getTime() + rebuildLeaseMilliseconds);
    const lostTo = await ledger.takeLease(rebuildLeaseOwner, terminal.now(), leaseUntil());
    if (lostTo) {
        throw leaseRefusal(lostTo);
    }
    out(`Took the lake lease in the run ledger ${ledger.table}.\n`);
    try {
        for (const record of records) {
            await keepLease(ledger, leaseUntil());
            await ledger.delete(record);
            out(`Deleted ${record} from the run ledger.\n`);
        }
        for (const { table, sql } of statements) {
            await keepLease(ledger, leaseUntil());
            const { queryId, execution } = await executeQuery(
                { sql, database: outputs.glueDatabase, label: `emptying ${table}` },
                defaultPricePerTerabyte,
                outputs,
                clients,
                terminal,
            );
            const scanned = formatBytes(execution.Statistics?.DataScannedInBytes ?? 0);
            out(`Emptied ${outputs.glueDatabase}.${table} (query ${queryId}, ${scanned} scanned).\n`);
        }
    } finally {
        await ledger.releaseLease(rebuildLeaseOwner);
    }
    out("Released the lake lease.\n\n");
    return replayArchives(archives, true, pipeline, clients, terminal);
}

async function keepLease(ledger: LakeLedger, until: Date): Promise<void> {
    if (!(await ledger.renewLease(rebuildLeaseOwner, until))) {
        throw new OperatorError(
            ExitCode.notStarted,
            "rebuild lost the lake lease before it had emptied the tables, and stopped; no run was started. " +
                "Run rebuild again once no run holds the lease",
        );
    }
}

function leaseRefusal({ owner, expiresAt }: LeaseHolder): OperatorError {
    const holder = extractIdPattern.test(owner) ? `the run of extract ${owner}` : owner;
    const until = `${expiresAt.toISOString().slice(0, 19).replace("T", " ")}Z`;
    return new OperatorError(
        ExitCode.notStarted,
        `the lake lease is held by ${holder} until ${until}: it is changing the lake, so rebuild changed nothing. ` +
            "Rebuild once it has finished (ingest runs shows the runs); the lease is renewed while its holder works",
    );
}
