import { formatBytes } from "./query";

export { runReportKey } from "../lambdas/shared/run-reports";

/**
 * The extract job's run report, field for field as `ingest/report.py` (`RunReport.to_dict`) writes
 * it. Every reader of reports in this repository (`ingest runs`, `npm run local`) reads them as this
 * type. Fields the job added later are optional: the lake keeps the reports of older runs.
 */
export interface RunReport {
    readonly pipeline: string;
    readonly extractId: string;
    readonly extractVersion: number;
    readonly archive: string;
    readonly jobRunId: string;
    readonly status: "running" | "succeeded" | "failed";
    readonly failure: { readonly reason: string; readonly detail: string } | null;
    /** When the archive version landed, the moment the run's latency counts from. */
    readonly landedAt?: string;
    readonly startedAt: string;
    readonly finishedAt: string | null;
    /** Seconds from the archive landing to its items written; null for a run that did not succeed. */
    readonly latencySeconds?: number | null;
    readonly tables: Record<string, TableCounts>;
    readonly ignoredFiles: readonly string[];
    /** The run's commit sequence: the lake snapshot its items record. */
    readonly lakeSnapshot: number | null;
    /** An extract whose run died with its lake changes half applied, which this run completed before its own. */
    readonly completedExtract?: string | null;
    readonly items: Partial<Record<ItemCount, number>>;
    readonly oversizeItems: readonly Record<string, unknown>[];
    readonly quarantineLocation: string | null;
    readonly oversizeLocation: string | null;
    readonly durationsSeconds: Record<string, number>;
    /** Whether the run's notification reached the topic; the run notifier publishes in its place when not. */
    readonly notified?: boolean;
}

/** The job's item counts (WRITE_COUNTS in glue-scripts/ingest/dynamodb_writer.py, after `touched`). */
export type ItemCount =
    | "touched"
    | "written"
    | "unchanged"
    | "deleted"
    | "stale"
    | "oversize"
    | "failed"
    | "requests"
    | "checks"
    | "retries"
    | "throttled"
    | "writeUnits";

/** What the extract did to a current table: rows upserted, deleted, moved to another root, and deleted keys never loaded. */
export type TableChange = "upsert" | "delete" | "reroot" | "forget";

export interface TableCounts {
    /** The archive's entries loaded into this table. */
    readonly files: readonly string[];
    /** Header columns the mapping does not declare, ignored as its `unknownColumns: ignore` allows. */
    readonly ignoredColumns?: readonly string[];
    readonly read: number;
    readonly accepted: number;
    readonly quarantined: number;
    readonly quarantinedByReason: Record<string, number>;
    readonly orphans: number;
    readonly changes?: Partial<Record<TableChange, number>>;
    /** Data files and bytes read from the current table to rebuild the touched items; empty when it was not read. */
    readonly scanned?: Partial<Record<"files" | "bytes", number>>;
}

/** Files and bytes a run read from the current tables (the sum over its tables), or undefined when it read none of them. */
export function scannedTotal(report: RunReport): { readonly files: number; readonly bytes: number } | undefined {
    const scans = Object.values(report.tables).flatMap((counts) =>
        counts.scanned && Object.keys(counts.scanned).length > 0 ? [counts.scanned] : [],
    );
    if (scans.length === 0) {
        return undefined;
    }
    return {
        files: scans.reduce((total, scan) => total + (scan.files ?? 0), 0),
        bytes: scans.reduce((total, scan) => total + (scan.bytes ?? 0), 0),
    };
}

/** "3 files, 1.20 MB": what a scan read. */
export function describeScan(scan: { readonly files?: number; readonly bytes?: number }): string {
    const files = scan.files ?? 0;
    return `${files} file${files === 1 ? "" : "s"}, ${formatBytes(scan.bytes ?? 0)}`;
}

const changeWords: readonly [TableChange, string, string][] = [
    ["upsert", "upsert", "upserts"],
    ["delete", "delete", "deletes"],
    ["reroot", "rerooted", "rerooted"],
    ["forget", "forgotten", "forgotten"],
];

/** "12 upserts, 1 delete, 3 rerooted": what the extract did to a current table, zero counts left out. */
export function describeChanges(changes: Partial<Record<TableChange, number>>): string {
    const parts = changeWords.flatMap(([change, one, many]) => {
        const count = changes[change] ?? 0;
        return count > 0 ? [`${count} ${count === 1 ? one : many}`] : [];
    });
    return parts.length > 0 ? parts.join(", ") : "no changes";
}
