import { runReportKeyLayout } from "../../contracts/glue-jobs";

/**
 * Key of a run's report in the lake bucket, from the layout the extract job, the run notifier and
 * the operator's command line share (`glue-scripts/ingest/contracts/run_report.json`).
 */
export function runReportKey(pipeline: string, extractId: string, jobRunId: string): string {
    const values: Record<string, string> = { pipeline, extractId, jobRunId };
    return runReportKeyLayout.replace(/\{(\w+)\}/g, (_, name: string) => values[name]!);
}
