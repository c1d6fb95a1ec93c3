import type { JobRun } from "@aws-sdk/client-glue";
import type { AwsClients } from "./aws";
import {
    failedByGlue,
    failureBlock,
    formatDuration,
    formatRunId,
    formatTime,
    noReportWritten,
    readStoredJson,
    recentRuns,
    runsListing,
    selectRuns,
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
    reportFailed,
    type LookupLoadReport,
} from "./lookup-report";
import type { LookupTableOutputs } from "./stack-outputs";
import { renderTable } from "./table";
import { ExitCode, type Terminal } from "./terminal";

/** A load's report as found: read, not written (yet), or there but not a report. */
type FoundReport =
    | { readonly location: string; readonly report: LookupLoadReport }
    | { readonly location: string; readonly missing: true }
    | { readonly location: string; readonly problem: string };

type ReportedLoad = ReportedRun<FoundReport>;

/**
 * Recent loads of a lookup (runs of its loader job), newest first, with the counts from each load's
 * own report; with `failed`, the loads Glue or the report says failed, each with its reason and
 * where its report is.
 */
export async function listLookupRuns(
    request: RunsRequest,
    lookup: LookupTableOutputs,
    clients: AwsClients,
    terminal: Terminal,
): Promise<number> {
    const runs = await recentRuns(clients, lookup.loaderJob);
    const shown = await selectRuns(
        runs,
        request,
        (run) => readLoadReport(clients, lookup, run),
        (found) => "report" in found && reportFailed(found.report),
    );
    const subject: RunSubject = { noun: "load", owner: `lookup ${lookup.lookup}`, jobName: lookup.loaderJob };
    const view: RunsView<FoundReport> = {
        failureBlock: (entry) => failedLoadBlock(entry, lookup, terminal.now()),
        table: (reported) => loadsTable(reported, lookup, terminal.now()),
    };
    terminal.stdout.write(runsListing(subject, runs.length, shown, request.failed, view));
    return ExitCode.ok;
}

function loadsTable(shown: readonly ReportedLoad[], lookup: LookupTableOutputs, now: Date): string {
    const counted = (value: number | undefined) => (value === undefined ? "-" : String(value));
    const table = renderTable(
        ["RUN", "STARTED", "STATE", "EXPORT", "PARTS", "LINES", "LOADED", "REJECTED", "DELETED", "DURATION"],
        shown.map(({ run, report: found }) => {
            const report = "report" in found ? found.report : undefined;
            return [
                formatRunId(run.Id),
                formatTime(run.StartedOn),
                loadState(run, report),
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
    const notes = shown.flatMap(({ run, report: found }) =>
        "problem" in found ? [`The report of ${formatRunId(run.Id)} at ${found.location} is ${found.problem}.\n`] : [],
    );
    const unreported = shown.filter(({ run, report }) => "missing" in report && run.JobRunState === "SUCCEEDED").length;
    if (unreported > 0) {
        notes.push(
            `${unreported} succeeded load(s) left no report in s3://${lookup.reportBucket}/${lookup.reportPrefix}${lookup.lookup}/.\n`,
        );
    }
    return `${table}${notes.join("")}`;
}

/**
 * Glue's state; a load Glue counts as succeeded whose report says it failed shows as "SUCCEEDED,
 * report failed", so that --failed listing it is no surprise.
 */
function loadState(run: JobRun, report: LookupLoadReport | undefined): string {
    const state = run.JobRunState ?? "?";
    return report && reportFailed(report) && !failedByGlue(run) ? `${state}, report failed` : state;
}

/** Where the run writes its report: the run's own --report_* arguments where it was given them, else the job's. */
async function readLoadReport(clients: AwsClients, lookup: LookupTableOutputs, run: JobRun): Promise<FoundReport> {
    const bucket = run.Arguments?.["--report_bucket"] ?? lookup.reportBucket;
    const key = lookupReportKey(run.Arguments?.["--report_prefix"] ?? lookup.reportPrefix, lookup.lookup, run.Id ?? "");
    const location = `s3://${bucket}/${key}`;
    const stored = await readStoredJson(clients.s3, bucket, key);
    if (stored.kind === "missing") {
        return { location, missing: true };
    }
    if (stored.kind === "unreadable") {
        return { location, problem: stored.problem };
    }
    const parsed = parseLoadReport(stored.document);
    return "report" in parsed ? { location, report: parsed.report } : { location, problem: parsed.problem };
}

function failedLoadBlock({ run, report: found }: ReportedLoad, lookup: LookupTableOutputs, now: Date): string {
    const requested = run.Arguments?.["--export"] ?? "latest";
    if ("missing" in found) {
        const context = [exportDetail(undefined, lookup.exportsPrefix, requested)];
        return failureBlock(run, now, context, undefined, `none at ${found.location}: ${noReportWritten}`);
    }
    if ("problem" in found) {
        const context = [exportDetail(undefined, lookup.exportsPrefix, requested)];
        return failureBlock(run, now, context, [["report", `${found.location} is ${found.problem}`]]);
    }
    const context = [exportDetail(found.report, lookup.exportsPrefix, requested)];
    return failureBlock(run, now, context, [...outcomeDetails(found.report), ["report", found.location]]);
}
