import { GetObjectCommand, NoSuchBucket, NoSuchKey, type S3Client } from "@aws-sdk/client-s3";
import { EntityNotFoundException, paginateGetJobRuns, type JobRun } from "@aws-sdk/client-glue";
import { activeRunStates, failedRunStates } from "../contracts/glue-run-states";
import { describeSeconds, secondsBetween } from "../lambdas/shared/durations";
import type { AwsClients } from "./aws";
import { reportFailed, type Outcome, type ParsedReport } from "./report-document";
import { ExitCode, OperatorError, type Terminal } from "./terminal";

/**
 * What `ingest runs` does the same way for every Glue job it lists (a pipeline's extract job, a
 * lookup's loader): the runs Glue keeps, newest first, each joined with the report the job wrote,
 * the failed ones picked out, and a failed run's block of details.
 */

export interface RunsRequest {
    /** At most this many runs are shown (with `failed`, at most this many failed runs). */
    readonly limit: number;
    /** Only the runs that failed, each with Glue's error and what its report says of the failure. */
    readonly failed: boolean;
}

/** Whose runs are listed: "runs of pipeline customers", "loads of lookup products". */
export interface RunSubject {
    /** What one run is called: "run", or "load" for a lookup's loader. */
    readonly noun: string;
    /** "pipeline customers", "lookup products". */
    readonly owner: string;
    readonly jobName: string;
}

export interface ReportedRun<Report> {
    readonly run: JobRun;
    readonly report: Report;
}

const failedStates: ReadonlySet<string> = new Set(failedRunStates);
const activeStates: ReadonlySet<string> = new Set(activeRunStates);

/** Glue ended the run unsuccessfully: failed, timed out, stopped or errored. */
export function failedByGlue(run: JobRun): boolean {
    return failedStates.has(run.JobRunState ?? "");
}

/** The run has not ended: starting, running, stopping or queued. */
export function stillGoing(run: JobRun): boolean {
    return activeStates.has(run.JobRunState ?? "");
}

/** Every run Glue still keeps for the job (90 days), newest first whatever order the pages come in. */
export async function recentRuns(clients: AwsClients, jobName: string): Promise<JobRun[]> {
    const runs: JobRun[] = [];
    try {
        for await (const page of paginateGetJobRuns({ client: clients.glue, pageSize: 200 }, { JobName: jobName })) {
            runs.push(...(page.JobRuns ?? []));
        }
    } catch (error) {
        if (error instanceof EntityNotFoundException) {
            throw staleOutputs(`Glue job ${jobName}`);
        }
        throw error;
    }
    return runs.sort((a, b) => (b.StartedOn?.getTime() ?? 0) - (a.StartedOn?.getTime() ?? 0));
}

/** Reports read at once while looking for failed runs. */
const reportsReadAtOnce = 10;

/**
 * The runs to show, newest first, each with its report: the newest `limit`, or with `failed` the
 * newest `limit` that failed. Glue's state says a run failed; `failedReport`, where given, says so
 * from the report too (a lookup load's report can say failed), and then reports are read newest
 * first, a few at a time, until enough failed runs are found. Without it only the runs Glue failed
 * are read.
 */
export async function selectRuns<Report>(
    runs: readonly JobRun[],
    request: RunsRequest,
    read: (run: JobRun) => Promise<Report>,
    failedReport?: (report: Report) => boolean,
): Promise<ReportedRun<Report>[]> {
    const withReports = (some: readonly JobRun[]) => Promise.all(some.map(async (run) => ({ run, report: await read(run) })));
    if (!request.failed) {
        return withReports(runs.slice(0, request.limit));
    }
    if (!failedReport) {
        return withReports(runs.filter(failedByGlue).slice(0, request.limit));
    }
    const failed: ReportedRun<Report>[] = [];
    for (let start = 0; start < runs.length && failed.length < request.limit; start += reportsReadAtOnce) {
        const batch = await withReports(runs.slice(start, start + reportsReadAtOnce));
        failed.push(...batch.filter(({ run, report }) => failedByGlue(run) || failedReport(report)));
    }
    return failed.slice(0, request.limit);
}

/** How a listing shows its runs: a failed run as a block of details, the runs as a table (with any notes under it). */
export interface RunsView<Report> {
    readonly failureBlock: (entry: ReportedRun<Report>) => string;
    readonly table: (shown: readonly ReportedRun<Report>[]) => string;
}

/**
 * The listing `ingest runs` prints: the runs under their heading as `view` draws them, the failed
 * ones as blocks with --failed, or what there is instead when there is nothing to show.
 */
export function runsListing<Report>(
    subject: RunSubject,
    recorded: number,
    shown: readonly ReportedRun<Report>[],
    failed: boolean,
    view: RunsView<Report>,
): string {
    if (shown.length === 0) {
        return noRuns(recorded, subject);
    }
    if (failed) {
        return `${listHeading(subject, true)}${shown.map((entry) => `\n${view.failureBlock(entry)}`).join("")}`;
    }
    return `${listHeading(subject, false)}${view.table(shown)}`;
}

/**
 * `ingest runs` for a job whose runs each write a report that `read` finds (a lookup's loader, a
 * stream's export): the runs as `view` draws them, counting as failed those Glue or the report says failed.
 */
export async function listReportedRuns<Report extends Outcome>(
    request: RunsRequest,
    subject: RunSubject,
    read: (run: JobRun) => Promise<FoundReport<Report>>,
    view: RunsView<FoundReport<Report>>,
    clients: AwsClients,
    terminal: Terminal,
): Promise<number> {
    const runs = await recentRuns(clients, subject.jobName);
    const shown = await selectRuns(runs, request, read, foundFailed);
    terminal.stdout.write(runsListing(subject, runs.length, shown, request.failed, view));
    return ExitCode.ok;
}

/** "Runs of pipeline customers (Glue job ingest-dev-customers-job), newest first:" */
function listHeading(subject: RunSubject, failed: boolean): string {
    const runs = `${subject.noun}s`;
    const what = failed ? `Failed ${runs}` : `${runs.charAt(0).toUpperCase()}${runs.slice(1)}`;
    return `${what} of ${subject.owner} (Glue job ${subject.jobName}), newest first:\n`;
}

/** What the listing says when there is nothing to show. */
function noRuns(recorded: number, subject: RunSubject): string {
    return recorded === 0
        ? `No ${subject.noun}s of ${subject.owner} (Glue job ${subject.jobName}) yet.\n`
        : `No failed ${subject.noun}s among the ${recorded} recorded ${subject.noun}s of ${subject.owner}.\n`;
}

/** One line of a failed run's block: a label and what it says. */
export type Detail = readonly [label: string, text: string];

/** Said of a run whose report is not there. */
export const noReportWritten = "the run ended before the job could write one (see the job's logs in CloudWatch)";

/**
 * A failed run's block: Glue's state, start and duration; what the run was for (`context`); Glue's
 * error; then what the report says, or `missingReport` when there is no report to say it.
 */
export function failureBlock(
    run: JobRun,
    now: Date,
    context: readonly Detail[],
    reported: readonly Detail[] | undefined,
    missingReport = `none: ${noReportWritten}`,
): string {
    const details: Detail[] = [...context];
    if (run.ErrorMessage) {
        details.push(["Glue", run.ErrorMessage]);
    }
    details.push(...(reported ?? [["report", missingReport]]));
    const lines = [`${run.Id} ${run.JobRunState} at ${formatTime(run.StartedOn)} after ${formatDuration(run, now)}`];
    lines.push(...detailLines(details, "  "));
    return `${lines.join("\n")}\n`;
}

/** Details as aligned lines under `indent`: "  reason   missing-part: ...". */
export function detailLines(details: readonly Detail[], indent: string): string[] {
    return details.map(([label, text]) => `${indent}${label.padEnd(8)} ${text}`);
}

/** A JSON document a job wrote to S3: read, not there, or there but not JSON. */
export type StoredDocument =
    | { readonly kind: "read"; readonly document: unknown }
    | { readonly kind: "missing" }
    | { readonly kind: "unreadable"; readonly problem: string };

/** Reads a JSON document; a bucket that does not exist means the stack's outputs are stale. */
export async function readStoredJson(s3: S3Client, bucket: string, key: string): Promise<StoredDocument> {
    let text: string;
    try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        text = await object.Body!.transformToString();
    } catch (error) {
        if (error instanceof NoSuchKey) {
            return { kind: "missing" };
        }
        if (error instanceof NoSuchBucket) {
            throw new OperatorError(
                ExitCode.notFound,
                `bucket ${bucket} does not exist: is the stack deployed, and are its outputs current?`,
            );
        }
        throw error;
    }
    try {
        return { kind: "read", document: JSON.parse(text) };
    } catch {
        return { kind: "unreadable", problem: "not JSON" };
    }
}

/** A run's report as found: read, not written (yet), or there but not a report. */
export type FoundReport<Report> =
    | { readonly location: string; readonly report: Report }
    | { readonly location: string; readonly missing: true }
    | { readonly location: string; readonly problem: string };

/** Reads the report at s3://`bucket`/`key` as `parse` reads its document. */
export async function findReport<Report>(
    s3: S3Client,
    bucket: string,
    key: string,
    parse: (document: unknown) => ParsedReport<Report>,
): Promise<FoundReport<Report>> {
    const location = `s3://${bucket}/${key}`;
    const stored = await readStoredJson(s3, bucket, key);
    if (stored.kind === "missing") {
        return { location, missing: true };
    }
    if (stored.kind === "unreadable") {
        return { location, problem: stored.problem };
    }
    const parsed = parse(stored.document);
    return "report" in parsed ? { location, report: parsed.report } : { location, problem: parsed.problem };
}

/** The report, when one was found and read. */
export function reportIn<Report>(found: FoundReport<Report>): Report | undefined {
    return "report" in found ? found.report : undefined;
}

/** A found report says the run failed (`selectRuns`' `failedReport`). */
export function foundFailed(found: FoundReport<Outcome>): boolean {
    return "report" in found && reportFailed(found.report);
}

/**
 * Glue's state; a run Glue counts as succeeded whose report says it failed shows as "SUCCEEDED,
 * report failed", so that --failed listing it is no surprise.
 */
export function stateShown(run: JobRun, found: FoundReport<Outcome>): string {
    const state = run.JobRunState ?? "?";
    return foundFailed(found) && !failedByGlue(run) ? `${state}, report failed` : state;
}

/** The columns a table of runs with found reports begins with, and their cells for a run. */
export const reportedRunColumns = ["RUN", "STARTED", "STATE"] as const;

export function reportedRunCells(run: JobRun, found: FoundReport<Outcome>): string[] {
    return [formatRunId(run.Id), formatTime(run.StartedOn), stateShown(run, found)];
}

/** A count as a table shows it: "-" when the report does not give it. */
export function counted(value: number | undefined): string {
    return value === undefined ? "-" : String(value);
}

/**
 * The notes under a table of runs with found reports: each report that is there but unreadable, and
 * how many succeeded runs left none in `reportsAt`.
 */
export function reportNotes(shown: readonly ReportedRun<FoundReport<unknown>>[], noun: string, reportsAt: string): string {
    const notes = shown.flatMap(({ run, report: found }) =>
        "problem" in found ? [`The report of ${formatRunId(run.Id)} at ${found.location} is ${found.problem}.\n`] : [],
    );
    const unreported = shown.filter(({ run, report }) => "missing" in report && run.JobRunState === "SUCCEEDED").length;
    if (unreported > 0) {
        notes.push(`${unreported} succeeded ${noun}(s) left no report in ${reportsAt}.\n`);
    }
    return notes.join("");
}

/**
 * A failed run's block when its report was looked for: what `outcome` reads from the report and
 * where it is, or that it is unreadable, or that there is none.
 */
export function foundReportBlock<Report>(
    run: JobRun,
    now: Date,
    context: readonly Detail[],
    found: FoundReport<Report>,
    outcome: (report: Report) => readonly Detail[],
): string {
    if ("missing" in found) {
        return failureBlock(run, now, context, undefined, `none at ${found.location}: ${noReportWritten}`);
    }
    if ("problem" in found) {
        return failureBlock(run, now, context, [["report", `${found.location} is ${found.problem}`]]);
    }
    return failureBlock(run, now, context, [...outcome(found.report), ["report", found.location]]);
}

/** What the stack's outputs name does not exist (exit code 4). */
export function staleOutputs(what: string): OperatorError {
    return new OperatorError(ExitCode.notFound, `${what} does not exist: is the stack deployed, and are its outputs current?`);
}

/** Glue run ids are `jr_` and 64 hex digits; the first 12 characters tell runs apart in a list. */
export function formatRunId(id: string | undefined): string {
    return id ? id.slice(0, 12) : "?";
}

/** "2026-11-21 06:00:38Z" */
export function formatTime(time: Date | undefined): string {
    return time ? `${time.toISOString().slice(0, 19).replace("T", " ")}Z` : "-";
}

/** How long the run took, or for a run still going how long so far, marked "+". */
export function formatDuration(run: JobRun, now: Date): string {
    if (!run.StartedOn) {
        return "-";
    }
    const text = describeSeconds(Math.max(0, secondsBetween(run.StartedOn, run.CompletedOn ?? now)));
    return run.CompletedOn ? text : `${text}+`;
}

/** `key` without `prefix` in front, when it has it. */
export function relativeTo(prefix: string, key: string): string {
    return key.startsWith(prefix) ? key.slice(prefix.length) : key;
}
