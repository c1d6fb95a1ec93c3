import runReportContract from "../glue-scripts/ingest/contracts/run_report.json";

/** The extract job's run report (`ingest/report.py` writes it), as far as operators read it. */
export interface RunReport {
    readonly pipeline: string;
    readonly extractId: string;
    readonly archive: string;
    readonly jobRunId: string;
    readonly status: "running" | "succeeded" | "failed";
    readonly failure: { readonly reason: string; readonly detail: string } | null;
    readonly tables: Record<string, TableCounts>;
    readonly items: Partial<Record<"touched" | "written" | "stale" | "oversize", number>>;
    readonly quarantineLocation: string | null;
}

export interface TableCounts {
    readonly read: number;
    readonly accepted: number;
    readonly quarantined: number;
    readonly quarantinedByReason: Record<string, number>;
    readonly orphans: number;
}

/** Key of a run's report in the lake bucket, from the layout the job and this tool share. */
export function runReportKey(pipeline: string, extractId: string, jobRunId: string): string {
    const values: Record<string, string> = { pipeline, extractId, jobRunId };
    return runReportContract.reportKey.replace(/\{(\w+)\}/g, (_, name: string) => values[name]!);
}
