import type { JobRun } from "@aws-sdk/client-glue";
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
    type FoundReport,
    type ReportedRun,
    type RunsRequest,
    type RunSubject,
    type RunsView,
} from "./job-runs";
import {
    describeRejected,
    exportFolder,
    exportDetail,
    outcomeDetails,
    lookupReportKey,
    parseLoadReport,
    type LookupLoadReport,
} from "./lookup-report";
import type { LookupTableOutputs } from "./stack-outputs";
import { renderTable } from "./table";
import type { Terminal } from "./terminal";

type ReportedLoad = ReportedRun<FoundReport<LookupLoadReport>>;

/**
 * Recent loads of a lookup (runs of its loader job), newest first, with the counts from each load's
 * own report; with `failed`, the loads Glue or the report says failed, each with its reason and
 * where its report is.
 */
export function listLookupRuns(request: RunsRequest, lookup: LookupTableOutputs, clients: AwsClients, terminal: Terminal): Promise<number> {
    const subject: RunSubject = { noun: "load", owner: `lookup ${lookup.lookup}`, jobName: lookup.loaderJob };
    const view: RunsView<FoundReport<LookupLoadReport>> = {
        failureBlock: (entry) => failedLoadBlock(entry, lookup, terminal.now()),
        table: (reported) => loadsTable(reported, lookup, terminal.now()),
    };
    return listReportedRuns(request, subject, (run) => readLoadReport(clients, lookup, run), view, clients, terminal);
}

function loadsTable(shown: readonly ReportedLoad[], lookup: LookupTableOutputs, now: Date): string {
    const table = renderTable(
        [...reportedRunColumns, "EXPORT", "PARTS", "LINES", "LOADED", "REJECTED", "DELETED", "DURATION"],
        shown.map(({ run, report: found }) => {
            const report = reportIn(found);
            return [
                ...reportedRunCells(run, found),
                (report && exportFolder(report, lookup.exportsPrefix)) ?? "-",
                counted(report?.export?.parts?.length),
                counted(report?.lines),
                counted(report?.loaded),
                report ? describeRejected(report) : "-",
                counted(report?.deleted),
                formatDuration(run, now),
            ];
        }),
        [false, false, false, false, true, true, true, false, true, true],
    );
    return `${table}${reportNotes(shown, "load", `s3://${lookup.reportBucket}/${lookup.reportPrefix}${lookup.lookup}/`)}`;
}

/** Where the run writes its report: the run's own --report_* arguments where it was given them, else the job's. */
async function readLoadReport(clients: AwsClients, lookup: LookupTableOutputs, run: JobRun): Promise<FoundReport<LookupLoadReport>> {
    const bucket = run.Arguments?.["--report_bucket"] ?? lookup.reportBucket;
    const key = lookupReportKey(run.Arguments?.["--report_prefix"] ?? lookup.reportPrefix, lookup.lookup, run.Id ?? "");
    return findReport(clients.s3, bucket, key, parseLoadReport);
}

function failedLoadBlock({ run, report: found }: ReportedLoad, lookup: LookupTableOutputs, now: Date): string {
    const requested = run.Arguments?.["--export"] ?? "latest";
    const context = [exportDetail(reportIn(found), lookup.exportsPrefix, requested)];
    return foundReportBlock(run, now, context, found, outcomeDetails);
}
