import { GetObjectCommand, NoSuchBucket, NoSuchKey, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import { EntityNotFoundException, paginateGetJobRuns, type JobRun } from "@aws-sdk/client-glue";
import { activeRunStates, failedRunStates } from "../components/extract-pipeline/defaults";
import {
    badArchiveNamePrefix,
    reasonFileName,
    type BadArchiveNameReason,
    type ExpectedArchiveName,
} from "../lambdas/extract-trigger/contract";
import { describeSeconds, secondsBetween } from "../lambdas/shared/durations";
import type { AwsClients } from "./aws";
import { formatBytes } from "./query";
import { describeScan, runReportKey, scannedTotal, type RunReport } from "./run-report";
import type { ExtractPipelineOutputs, StackOutputs } from "./stack-outputs";
import { renderTable } from "./table";
import { ExitCode, OperatorError, type Terminal } from "./terminal";

export interface RunsRequest {
    /** At most this many runs are shown, and with `failed` at most this many archives quarantined for a bad name. */
    readonly limit: number;
    /**
     * Only runs Glue ended unsuccessfully, each with Glue's error, the report's reason and what was
     * quarantined, then the archives the trigger quarantined for a bad name, which started no run.
     */
    readonly failed: boolean;
}

const failedStates: ReadonlySet<string> = new Set(failedRunStates);
const activeStates: ReadonlySet<string> = new Set(activeRunStates);

interface ReportedRun {
    readonly run: JobRun;
    readonly report: RunReport | undefined;
}

/**
 * Recent runs of the pipeline's job, newest first, with the counts from each run's own report; with
 * `failed`, the failed runs, then the archives quarantined for a bad name.
 */
export async function listRuns(
    request: RunsRequest,
    pipeline: ExtractPipelineOutputs,
    outputs: StackOutputs,
    clients: AwsClients,
    terminal: Terminal,
): Promise<number> {
    const runs = await recentRuns(clients, pipeline.jobName);
    const selected = (request.failed ? runs.filter((run) => failedStates.has(run.JobRunState ?? "")) : runs).slice(0, request.limit);
    const shown = await Promise.all(
        selected.map(async (run): Promise<ReportedRun> => ({ run, report: await readReport(clients, outputs.lakeBucket, pipeline, run) })),
    );
    const out = (text: string) => terminal.stdout.write(text);
    if (request.failed) {
        const badlyNamed = await badlyNamedArchives(clients, outputs.quarantineBucket, pipeline.pipeline, request.limit);
        out(failedRunsSection(shown, runs.length, pipeline, terminal.now()));
        out(`\n${badNamesSection(badlyNamed, pipeline)}`);
        return ExitCode.ok;
    }
    if (shown.length === 0) {
        out(noRuns(runs.length, pipeline));
        return ExitCode.ok;
    }
    out(`Runs of pipeline ${pipeline.pipeline} (Glue job ${pipeline.jobName}), newest first:\n`);
    out(
        renderTable(
            ["RUN", "STATE", "STARTED", "DURATION", "LATENCY", "EXTRACT", "ROWS", "QUARANTINED", "ITEMS", "FILES", "SCANNED", "ARCHIVE"],
            shown.map(({ run, report }) => {
                const scanned = report && scannedTotal(report);
                return [
                    formatRunId(run.Id),
                    run.JobRunState ?? "?",
                    formatTime(run.StartedOn),
                    formatDuration(run, terminal.now()),
                    formatLatency(run, report, terminal.now()),
                    run.Arguments?.["--extract_id"] ?? "-",
                    report ? String(sum(report, "accepted")) : "-",
                    report ? String(sum(report, "quarantined")) : "-",
                    report?.items.written !== undefined ? String(report.items.written) : "-",
                    scanned ? String(scanned.files) : "-",
                    scanned ? formatBytes(scanned.bytes) : "-",
                    archiveName(run, pipeline),
                ];
            }),
            [false, false, false, true, true, false, true, true, true, true, true, false],
        ),
    );
    const unreported = shown.filter((entry) => !entry.report && entry.run.JobRunState === "SUCCEEDED").length;
    if (unreported > 0) {
        out(`${unreported} succeeded run(s) left no report in s3://${outputs.lakeBucket}/${pipeline.pipeline}/_reports/.\n`);
    }
    return ExitCode.ok;
}

function noRuns(recorded: number, pipeline: ExtractPipelineOutputs): string {
    return recorded === 0
        ? `No runs of pipeline ${pipeline.pipeline} (Glue job ${pipeline.jobName}) yet.\n`
        : `No failed runs among the ${recorded} recorded runs of pipeline ${pipeline.pipeline}.\n`;
}

function failedRunsSection(shown: readonly ReportedRun[], recorded: number, pipeline: ExtractPipelineOutputs, now: Date): string {
    if (shown.length === 0) {
        return noRuns(recorded, pipeline);
    }
    const blocks = shown.map((entry) => `\n${failureBlock(entry, pipeline, now)}`);
    return `Failed runs of pipeline ${pipeline.pipeline} (Glue job ${pipeline.jobName}), newest first:\n${blocks.join("")}`;
}

/** Every run Glue still keeps for the job (90 days), newest first whatever order the pages come in. */
async function recentRuns(clients: AwsClients, jobName: string): Promise<JobRun[]> {
    const runs: JobRun[] = [];
    try {
        for await (const page of paginateGetJobRuns({ client: clients.glue, pageSize: 200 }, { JobName: jobName })) {
            runs.push(...(page.JobRuns ?? []));
        }
    } catch (error) {
        if (error instanceof EntityNotFoundException) {
            throw new OperatorError(
                ExitCode.notFound,
                `Glue job ${jobName} does not exist: is the stack deployed, and are its outputs current?`,
            );
        }
        throw error;
    }
    return runs.sort((a, b) => (b.StartedOn?.getTime() ?? 0) - (a.StartedOn?.getTime() ?? 0));
}

async function readReport(
    clients: AwsClients,
    bucket: string,
    pipeline: ExtractPipelineOutputs,
    run: JobRun,
): Promise<RunReport | undefined> {
    const extractId = run.Arguments?.["--extract_id"];
    if (!extractId || !run.Id) {
        return undefined;
    }
    try {
        const object = await clients.s3.send(
            new GetObjectCommand({ Bucket: bucket, Key: runReportKey(pipeline.pipeline, extractId, run.Id) }),
        );
        return JSON.parse(await object.Body!.transformToString()) as RunReport;
    } catch (error) {
        if (error instanceof NoSuchKey) {
            return undefined;
        }
        throw error;
    }
}

function failureBlock({ run, report }: ReportedRun, pipeline: ExtractPipelineOutputs, now: Date): string {
    const lines = [
        `${run.Id} ${run.JobRunState} at ${formatTime(run.StartedOn)} after ${formatDuration(run, now)}`,
        `  extract  ${run.Arguments?.["--extract_id"] ?? "-"}`,
        `  archive  ${archiveName(run, pipeline)}`,
    ];
    if (run.ErrorMessage) {
        lines.push(`  Glue     ${run.ErrorMessage}`);
    }
    if (!report) {
        lines.push("  report   none: the run ended before the job could write one (see the job's logs in CloudWatch)");
        return `${lines.join("\n")}\n`;
    }
    if (report.failure) {
        lines.push(`  reason   ${report.failure.reason}: ${report.failure.detail}`);
    }
    if (report.completedExtract) {
        lines.push(`  first    completed extract ${report.completedExtract}, whose run died with its lake changes half applied`);
    }
    for (const [table, counts] of Object.entries(report.tables)) {
        if (counts.quarantined > 0) {
            const reasons = Object.entries(counts.quarantinedByReason).map(([reason, count]) => `${reason} ${count}`);
            lines.push(`  rows     ${table}: ${counts.quarantined} of ${counts.read} quarantined (${reasons.join(", ")})`);
        }
    }
    for (const [table, counts] of Object.entries(report.tables)) {
        if (counts.scanned && Object.keys(counts.scanned).length > 0) {
            lines.push(`  scanned  ${table}: ${describeScan(counts.scanned)}`);
        }
    }
    if (report.quarantineLocation) {
        lines.push(`  kept in  ${report.quarantineLocation}`);
    }
    return `${lines.join("\n")}\n`;
}

/** An archive the trigger quarantined for its name, and the folder it is kept in. */
interface BadlyNamedArchive {
    readonly keptIn: string;
    readonly reason: BadArchiveNameReason;
}

/**
 * The newest `limit` archives the trigger quarantined for their name, from the reason.json files in
 * the quarantine bucket. They are ordered by when their reason.json was written, read from the
 * listing, so only the ones shown are read; objects written in the same second keep key order.
 */
async function badlyNamedArchives(clients: AwsClients, bucket: string, pipeline: string, limit: number): Promise<BadlyNamedArchive[]> {
    const reasons: { key: string; writtenAt: number }[] = [];
    try {
        for await (const page of paginateListObjectsV2(
            { client: clients.s3 },
            { Bucket: bucket, Prefix: badArchiveNamePrefix(pipeline) },
        )) {
            for (const object of page.Contents ?? []) {
                if (object.Key?.endsWith(`/${reasonFileName}`)) {
                    reasons.push({ key: object.Key, writtenAt: object.LastModified?.getTime() ?? 0 });
                }
            }
        }
    } catch (error) {
        if (error instanceof NoSuchBucket) {
            throw new OperatorError(
                ExitCode.notFound,
                `quarantine bucket ${bucket} does not exist: is the stack deployed, and are its outputs current?`,
            );
        }
        throw error;
    }
    const newest = reasons.sort((a, b) => b.writtenAt - a.writtenAt).slice(0, limit);
    return Promise.all(
        newest.map(async ({ key }): Promise<BadlyNamedArchive> => {
            const object = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            return {
                keptIn: `s3://${bucket}/${key.slice(0, -reasonFileName.length)}`,
                reason: JSON.parse(await object.Body!.transformToString()) as BadArchiveNameReason,
            };
        }),
    );
}

function badNamesSection(archives: readonly BadlyNamedArchive[], pipeline: ExtractPipelineOutputs): string {
    if (archives.length === 0) {
        return `No archives of pipeline ${pipeline.pipeline} were quarantined for a bad name.\n`;
    }
    const blocks = archives.map((archive) => `\n${badNameBlock(archive, pipeline)}`);
    return `Archives of pipeline ${pipeline.pipeline} quarantined for a bad name, newest first (they started no run):\n${blocks.join("")}`;
}

function badNameBlock({ keptIn, reason }: BadlyNamedArchive, pipeline: ExtractPipelineOutputs): string {
    const lines = [
        `${relativeToPrefix(reason.key, pipeline)} landed at ${formatTime(new Date(reason.landedAt))}`,
        `  object   s3://${reason.bucket}/${reason.key} version ${reason.versionId}`,
        `  reason   ${reason.reason}: ${reason.detail}`,
        `  naming   expected ${describeNaming(reason.expected)}`,
        `  kept in  ${keptIn}`,
    ];
    return `${lines.join("\n")}\n`;
}

function describeNaming({ landingPrefix, archiveNaming, maximumSequence }: ExpectedArchiveName): string {
    const sequence = archiveNaming.groups.includes("sequence") ? `, sequence up to ${maximumSequence}` : "";
    return (
        `a file directly under ${landingPrefix} matching ${archiveNaming.regex}, ` +
        `timestamp ${archiveNaming.timestampFormat} (UTC, 1970 or later)${sequence}`
    );
}

function sum(report: RunReport, count: "accepted" | "quarantined"): number {
    return Object.values(report.tables).reduce((total, table) => total + table[count], 0);
}

function archiveName(run: JobRun, pipeline: ExtractPipelineOutputs): string {
    const key = run.Arguments?.["--archive_key"];
    return key ? relativeToPrefix(key, pipeline) : "-";
}

function relativeToPrefix(key: string, pipeline: ExtractPipelineOutputs): string {
    return key.startsWith(pipeline.landingPrefix) ? key.slice(pipeline.landingPrefix.length) : key;
}

/** Glue run ids are `jr_` and 64 hex digits; the first 12 characters tell runs apart in a list. */
export function formatRunId(id: string | undefined): string {
    return id ? id.slice(0, 12) : "?";
}

function formatTime(time: Date | undefined): string {
    return time ? `${time.toISOString().slice(0, 19).replace("T", " ")}Z` : "-";
}

function formatDuration(run: JobRun, now: Date): string {
    if (!run.StartedOn) {
        return "-";
    }
    const text = describeSeconds(Math.max(0, secondsBetween(run.StartedOn, run.CompletedOn ?? now)));
    return run.CompletedOn ? text : `${text}+`;
}

/**
 * From the archive landing to its items written, as the run's report says; for a run still going,
 * the time since landing so far, marked "+" (the extract is late once that passes the promise). A run
 * that failed wrote no items, and a report from before latency was measured has none: "-".
 */
function formatLatency(run: JobRun, report: RunReport | undefined, now: Date): string {
    if (typeof report?.latencySeconds === "number") {
        return describeSeconds(report.latencySeconds);
    }
    const landedAt = run.Arguments?.["--archive_landed_at"];
    if (activeStates.has(run.JobRunState ?? "") && landedAt) {
        return `${describeSeconds(Math.max(0, secondsBetween(new Date(landedAt), now)))}+`;
    }
    return "-";
}
