import { EntityNotFoundException, GetJobCommand, type JobRun } from "@aws-sdk/client-glue";
import type { AwsClients } from "./aws";
import {
    counted,
    findReport,
    listReportedRuns,
    foundReportBlock,
    formatDuration,
    reportIn,
    reportNotes,
    reportedRunCells,
    reportedRunColumns,
    staleOutputs,
    type Detail,
    type FoundReport,
    type ReportedRun,
    type RunsRequest,
    type RunSubject,
    type RunsView,
} from "./job-runs";
import {
    describeConverted,
    describeObjects,
    exportOutcome,
    exportReportKey,
    exportReportsPrefix,
    parseExportReport,
    type ExportRunReport,
} from "./export-report";
import type { WarehouseExportOutputs } from "./stack-outputs";
import { renderTable } from "./table";
import type { Terminal } from "./terminal";

type ReportedExport = ReportedRun<FoundReport<ExportRunReport>>;

/** Where a run reads and reports: the job's default arguments, with any the run was given instead. */
interface ExportArguments {
    readonly deliveryPrefix: string;
    readonly quarantineBucket: string | undefined;
    readonly quarantinePrefix: string | undefined;
}

/**
 * Recent runs of a stream's warehouse export job, newest first, with the objects each converted and
 * the records it wrote and rejected, from its own report; with `failed`, the runs Glue or the report
 * says failed, each with its reason, the objects it converted and left pending, and where its report is.
 */
export async function listExportRuns(
    request: RunsRequest,
    warehouse: WarehouseExportOutputs,
    clients: AwsClients,
    terminal: Terminal,
): Promise<number> {
    const defaults = await defaultArguments(clients, warehouse.exportJob);
    const jobArguments = exportArguments(defaults);
    const subject: RunSubject = { noun: "run", owner: `the warehouse export of stream ${warehouse.stream}`, jobName: warehouse.exportJob };
    const view: RunsView<FoundReport<ExportRunReport>> = {
        failureBlock: (entry) => failedExportBlock(entry, defaults, terminal.now()),
        table: (reported) => exportsTable(reported, jobArguments, terminal.now()),
    };
    const read = (run: JobRun) => readExportReport(clients, warehouse, exportArguments({ ...defaults, ...run.Arguments }), run);
    return listReportedRuns(request, subject, read, view, clients, terminal);
}

function exportsTable(shown: readonly ReportedExport[], jobArguments: ExportArguments, now: Date): string {
    const table = renderTable(
        [...reportedRunColumns, "OBJECTS", "RECORDS", "REJECTED", "FILES", "DURATION", "CONVERTED"],
        shown.map(({ run, report: found }) => {
            const report = reportIn(found);
            return [
                ...reportedRunCells(run, found),
                (report && describeObjects(report)) ?? "-",
                counted(report?.totals?.exported),
                counted(report?.totals?.quarantined),
                counted(report?.totals?.files),
                formatDuration(run, now),
                describeConverted(report, jobArguments.deliveryPrefix),
            ];
        }),
        [false, false, false, true, true, true, true, true, false],
    );
    return `${table}${reportNotes(shown, "run", reportsFolder(jobArguments))}`;
}

/**
 * A failed run's block, with the arguments the run was given beyond the job's (an object-scoped
 * run's object): Glue lists a run's own arguments, which some answers merge with the job's.
 */
function failedExportBlock({ run, report: found }: ReportedExport, defaults: Record<string, string>, now: Date): string {
    const given = Object.entries(run.Arguments ?? {})
        .filter(([name, value]) => defaults[name] !== value)
        .sort(([a], [b]) => a.localeCompare(b));
    const context: Detail[] = given.length > 0 ? [["given", given.map(([name, value]) => `${name} ${value}`).join(" ")]] : [];
    const deliveryPrefix = exportArguments({ ...defaults, ...run.Arguments }).deliveryPrefix;
    return foundReportBlock(run, now, context, found, (report) => exportOutcome(report, deliveryPrefix));
}

/** The job's default arguments, which say where its runs report; a job that is not there means stale outputs. */
async function defaultArguments(clients: AwsClients, jobName: string): Promise<Record<string, string>> {
    try {
        const { Job } = await clients.glue.send(new GetJobCommand({ JobName: jobName }));
        return Job?.DefaultArguments ?? {};
    } catch (error) {
        if (error instanceof EntityNotFoundException) {
            throw staleOutputs(`Glue job ${jobName}`);
        }
        throw error;
    }
}

function exportArguments(given: Record<string, string>): ExportArguments {
    return {
        deliveryPrefix: given["--delivery_prefix"] ?? "",
        quarantineBucket: given["--quarantine_bucket"],
        quarantinePrefix: given["--quarantine_prefix"],
    };
}

function reportsFolder({ quarantineBucket, quarantinePrefix }: ExportArguments): string {
    return quarantineBucket === undefined || quarantinePrefix === undefined
        ? "the quarantine bucket (the job names none)"
        : `s3://${quarantineBucket}/${exportReportsPrefix(quarantinePrefix)}`;
}

/** The run's report, named after Glue's run id, where the run's arguments (else the job's) say reports go. */
async function readExportReport(
    clients: AwsClients,
    warehouse: WarehouseExportOutputs,
    runArguments: ExportArguments,
    run: JobRun,
): Promise<FoundReport<ExportRunReport>> {
    const { quarantineBucket: bucket, quarantinePrefix } = runArguments;
    if (bucket === undefined || quarantinePrefix === undefined) {
        return {
            location: `Glue job ${warehouse.exportJob}`,
            problem: "without --quarantine_bucket and --quarantine_prefix, so its reports cannot be found",
        };
    }
    return findReport(clients.s3, bucket, exportReportKey(quarantinePrefix, run.Id ?? ""), parseExportReport);
}
