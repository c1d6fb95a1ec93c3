/**
 * What the Lambda functions and the operator's command line read of the Glue jobs' own contracts,
 * the JSON files the job loads from its package (`glue-scripts/ingest/contracts/`). Those files stay
 * the single source, beside the Python that reads them at run time; this module is the one place
 * TypeScript outside the deploy side reaches into them, so runtime code imports `contracts/` only.
 */

import type exportJobArguments from "../glue-scripts/ingest/contracts/export_job_arguments.json";
import exportLayout from "../glue-scripts/ingest/contracts/export_layout.json";
import type extractJobArguments from "../glue-scripts/ingest/contracts/job_arguments.json";
import runReport from "../glue-scripts/ingest/contracts/run_report.json";

/** The arguments the extract trigger (and the operator's replay) give each extract run. */
export type ExtractRunArgument = keyof typeof extractJobArguments.runArguments;

/** The arguments the export starter may give an export run, beyond the job's defaults. */
export type ExportOptionalRunArgument = keyof typeof exportJobArguments.optionalRunArguments;

/** Key of a run's report in the lake bucket, `{pipeline}/_reports/{extractId}/{jobRunId}.json`. */
export const runReportKeyLayout: string = runReport.reportKey;

/**
 * The export job marks an exported object `<delivery bucket><exportMarkerPrefix><delivered key>`; the
 * on-delivery starter reads the same markers, and the export's roles may touch them.
 */
export const exportMarkerPrefix: string = exportLayout.markerPrefix;

/**
 * The folders the export's delivery stream writes before each object's name (`yyyy/MM/dd/HH`, Java
 * datetime letters as Firehose's `!{timestamp:...}` reads them, in UTC): the export job files a
 * stream without event time by the date they hold.
 */
export const deliveredTimeFolders: string = exportLayout.deliveredTimeFolders;
