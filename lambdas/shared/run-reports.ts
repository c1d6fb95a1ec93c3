import runReportContract from "../../glue-scripts/ingest/contracts/run_report.json";

/**
 * Key of a run's report in the lake bucket, from the layout the extract job, the run notifier and
 * the operator's command line share (`glue-scripts/ingest/contracts/run_report.json`).
 */
export function runReportKey(pipeline: string, extractId: string, jobRunId: string): string {
    const values: Record<string, string> = { pipeline, extractId, jobRunId };
    return runReportContract.reportKey.replace(/\{(\w+)\}/g, (_, name: string) => values[name]!);
}
