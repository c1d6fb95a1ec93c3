import { GetObjectCommand, NoSuchBucket, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import type { JobRun } from "@aws-sdk/client-glue";
import {
    badArchiveNamePrefix,
    reasonFileName,
    type BadArchiveNameReason,
    type ExpectedArchiveName,
} from "../lambdas/extract-trigger/contract";
import { describeSeconds, secondsBetween } from "../lambdas/shared/durations";
import type { AwsClients } from "./aws";
import {
    failureBlock as baseFailureBlock,
    formatDuration,
    formatRunId,
    formatTime,
    readStoredJson,
    recentRuns,
    relativeTo,
    runsListing,
    selectRuns,
    staleOutputs,
    stillGoing,
    type Detail,
    type ReportedRun as JobRunWithReport,
    type RunsRequest,
    type RunSubject,
    type RunsView,
} from "./job-runs";
import { formatBytes } from "./query";
import { describeScan, runReportKey, scannedTotal, type RunReport } from "./run-report";
import type { ExtractPipelineOutputs, StackOutputs } from "./stack-outputs";
import { renderTable } from "./table";
import { ExitCode, type Terminal } from "./terminal";

export type { RunsRequest } from "./job-runs";

type ReportedRun = JobRunWithReport<RunReport | undefined>;

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
    const shown = await selectRuns(runs, request, (run) => readReport(clients, outputs.lakeBucket, pipeline, run));
    const view: RunsView<RunReport | undefined> = {
        failureBlock: (entry) => failureBlock(entry, pipeline, terminal.now()),
        table: (reported) => runsTable(reported, pipeline, outputs, terminal.now()),
    };
    terminal.stdout.write(runsListing(runSubject(pipeline), runs.length, shown, request.failed, view));
    if (request.failed) {
        const badlyNamed = await badlyNamedArchives(clients, outputs.quarantineBucket, pipeline.pipeline, request.limit);
        terminal.stdout.write(`\n${badNamesSection(badlyNamed, pipeline)}`);
    }
    return ExitCode.ok;
}

function runsTable(shown: readonly ReportedRun[], pipeline: ExtractPipelineOutputs, outputs: StackOutputs, now: Date): string {
    const table = renderTable(
        ["RUN", "STATE", "STARTED", "DURATION", "LATENCY", "EXTRACT", "ROWS", "QUARANTINED", "ITEMS", "FILES", "SCANNED", "ARCHIVE"],
        shown.map(({ run, report }) => {
            const scanned = report && scannedTotal(report);
            return [
                formatRunId(run.Id),
                run.JobRunState ?? "?",
                formatTime(run.StartedOn),
                formatDuration(run, now),
                formatLatency(run, report, now),
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
    );
    const unreported = shown.filter((entry) => !entry.report && entry.run.JobRunState === "SUCCEEDED").length;
    return unreported > 0
        ? `${table}${unreported} succeeded run(s) left no report in s3://${outputs.lakeBucket}/${pipeline.pipeline}/_reports/.\n`
        : table;
}

function runSubject(pipeline: ExtractPipelineOutputs): RunSubject {
    return { noun: "run", owner: `pipeline ${pipeline.pipeline}`, jobName: pipeline.jobName };
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
    const key = runReportKey(pipeline.pipeline, extractId, run.Id);
    const stored = await readStoredJson(clients.s3, bucket, key);
    if (stored.kind === "unreadable") {
        throw new Error(`the report s3://${bucket}/${key} is ${stored.problem}`);
    }
    return stored.kind === "read" ? (stored.document as RunReport) : undefined;
}

function failureBlock({ run, report }: ReportedRun, pipeline: ExtractPipelineOutputs, now: Date): string {
    const context: Detail[] = [
        ["extract", run.Arguments?.["--extract_id"] ?? "-"],
        ["archive", archiveName(run, pipeline)],
    ];
    return baseFailureBlock(run, now, context, report && reportedFailure(report));
}

/** What a failed run's report says: the reason, an extract it completed first, the rows quarantined and the data read, where they were kept. */
function reportedFailure(report: RunReport): Detail[] {
    const details: Detail[] = [];
    if (report.failure) {
        details.push(["reason", `${report.failure.reason}: ${report.failure.detail}`]);
    }
    if (report.completedExtract) {
        details.push(["first", `completed extract ${report.completedExtract}, whose run died with its lake changes half applied`]);
    }
    for (const [table, counts] of Object.entries(report.tables)) {
        if (counts.quarantined > 0) {
            const reasons = Object.entries(counts.quarantinedByReason).map(([reason, count]) => `${reason} ${count}`);
            details.push(["rows", `${table}: ${counts.quarantined} of ${counts.read} quarantined (${reasons.join(", ")})`]);
        }
    }
    for (const [table, counts] of Object.entries(report.tables)) {
        if (counts.scanned && Object.keys(counts.scanned).length > 0) {
            details.push(["scanned", `${table}: ${describeScan(counts.scanned)}`]);
        }
    }
    if (report.quarantineLocation) {
        details.push(["kept in", report.quarantineLocation]);
    }
    return details;
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
            throw staleOutputs(`quarantine bucket ${bucket}`);
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
    return relativeTo(pipeline.landingPrefix, key);
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
    if (stillGoing(run) && landedAt) {
        return `${describeSeconds(Math.max(0, secondsBetween(new Date(landedAt), now)))}+`;
    }
    return "-";
}
