import { GetObjectCommand, NoSuchKey } from "@aws-sdk/client-s3";
import { EntityNotFoundException, paginateGetJobRuns, type JobRun } from "@aws-sdk/client-glue";
import { failedRunStates } from "../components/extract-pipeline/defaults";
import type { AwsClients } from "./aws";
import { runReportKey, type RunReport } from "./run-report";
import type { ExtractPipelineOutputs, StackOutputs } from "./stack-outputs";
import { renderTable } from "./table";
import { ExitCode, OperatorError, type Terminal } from "./terminal";

export interface RunsRequest {
    readonly limit: number;
    /** Only runs Glue ended unsuccessfully, each with Glue's error, the report's reason and what was quarantined. */
    readonly failed: boolean;
}

const failedStates: ReadonlySet<string> = new Set(failedRunStates);

interface ReportedRun {
    readonly run: JobRun;
    readonly report: RunReport | undefined;
}

/** Recent runs of the pipeline's job, newest first, with the counts from each run's own report. */
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
    if (shown.length === 0) {
        out(
            runs.length === 0
                ? `No runs of pipeline ${pipeline.pipeline} (Glue job ${pipeline.jobName}) yet.\n`
                : `No failed runs among the ${runs.length} recorded runs of pipeline ${pipeline.pipeline}.\n`,
        );
        return ExitCode.ok;
    }
    const which = request.failed ? "Failed runs" : "Runs";
    out(`${which} of pipeline ${pipeline.pipeline} (Glue job ${pipeline.jobName}), newest first:\n`);
    if (request.failed) {
        for (const entry of shown) {
            out(`\n${failureBlock(entry, pipeline, terminal.now())}`);
        }
        return ExitCode.ok;
    }
    out(
        renderTable(
            ["RUN", "STATE", "STARTED", "DURATION", "EXTRACT", "ROWS", "QUARANTINED", "ITEMS", "ARCHIVE"],
            shown.map(({ run, report }) => [
                formatRunId(run.Id),
                run.JobRunState ?? "?",
                formatTime(run.StartedOn),
                formatDuration(run, terminal.now()),
                run.Arguments?.["--extract_id"] ?? "-",
                report ? String(sum(report, "accepted")) : "-",
                report ? String(sum(report, "quarantined")) : "-",
                report?.items.written !== undefined ? String(report.items.written) : "-",
                archiveName(run, pipeline),
            ]),
            [false, false, false, true, false, true, true, true, false],
        ),
    );
    const unreported = shown.filter((entry) => !entry.report && entry.run.JobRunState === "SUCCEEDED").length;
    if (unreported > 0) {
        out(`${unreported} succeeded run(s) left no report in s3://${outputs.lakeBucket}/${pipeline.pipeline}/_reports/.\n`);
    }
    return ExitCode.ok;
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
    for (const [table, counts] of Object.entries(report.tables)) {
        if (counts.quarantined > 0) {
            const reasons = Object.entries(counts.quarantinedByReason).map(([reason, count]) => `${reason} ${count}`);
            lines.push(`  rows     ${table}: ${counts.quarantined} of ${counts.read} quarantined (${reasons.join(", ")})`);
        }
    }
    if (report.quarantineLocation) {
        lines.push(`  kept in  ${report.quarantineLocation}`);
    }
    return `${lines.join("\n")}\n`;
}

function sum(report: RunReport, count: "accepted" | "quarantined"): number {
    return Object.values(report.tables).reduce((total, table) => total + table[count], 0);
}

function archiveName(run: JobRun, pipeline: ExtractPipelineOutputs): string {
    const key = run.Arguments?.["--archive_key"];
    if (!key) {
        return "-";
    }
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
    const ended = run.CompletedOn ?? now;
    const seconds = Math.max(0, Math.round((ended.getTime() - run.StartedOn.getTime()) / 1000));
    const text = seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
    return run.CompletedOn ? text : `${text}+`;
}
