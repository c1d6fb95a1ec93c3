import { EntityNotFoundException, GetJobRunCommand } from "@aws-sdk/client-glue";
import { HeadObjectCommand, NotFound, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import { activeRunStates } from "../contracts/glue-run-states";
import type { JobPlan } from "../config/job-plan";
import { loadJobPlans } from "../config/load";
import { ConfigError } from "../config/yaml-source";
import type { ArchiveNaming } from "../contracts/archive-naming";
import { readExtractName, type ExtractIdentity } from "../lambdas/extract-trigger/extract-name";
import { RunLedger } from "../lambdas/extract-trigger/run-ledger";
import { startExtractRun, type RunStarter } from "../lambdas/extract-trigger/start-run";
import type { LandedObject } from "../lambdas/shared/events";
import type { AwsClients } from "./aws";
import { formatRunId } from "./job-runs";
import type { ExtractPipelineOutputs, StackOutputs } from "./stack-outputs";
import { renderTable } from "./table";
import { ExitCode, OperatorError, type Terminal } from "./terminal";

/**
 * Replays archives already in the landing bucket through the trigger's own path: a claim in the run
 * ledger, then StartJobRun with the same run arguments. The claim keeps a replay from starting a
 * second run next to one in progress or next to another replay; the job itself keeps the items
 * ordered by extract, and the archives are started in extract order besides.
 */

export type ReplayRequest =
    | { readonly kind: "archive"; readonly archive: string; readonly force: boolean }
    | { readonly kind: "range"; readonly from: string; readonly to: string; readonly force: boolean };

/** An archive in the landing bucket: its current version, and the extract its name gives. */
export interface LandedArchive {
    readonly landed: LandedObject;
    readonly extract: ExtractIdentity;
}

const beingStarted = "skipped: the trigger or another replay is starting a run for it now";
const activeStates: ReadonlySet<string> = new Set(activeRunStates);
const extractIdPattern = /^\d{8}T\d{6}Z-\d{6}$/;

export async function replay(
    request: ReplayRequest,
    pipeline: ExtractPipelineOutputs,
    outputs: StackOutputs,
    clients: AwsClients,
    terminal: Terminal,
): Promise<number> {
    const naming = archiveNaming(pipeline.pipeline);
    const archives =
        request.kind === "archive"
            ? [await namedArchive(request.archive, pipeline, outputs, naming, clients)]
            : await archivesBetween(request.from, request.to, pipeline, outputs, naming, clients);
    return replayArchives(archives, request.force, pipeline, clients, terminal);
}

/**
 * Starts a run for each archive in extract order, each through a claim in the run ledger, and
 * prints what became of each; exit code 6 when Glue refused to start any of them.
 */
export async function replayArchives(
    archives: readonly LandedArchive[],
    force: boolean,
    pipeline: ExtractPipelineOutputs,
    clients: AwsClients,
    terminal: Terminal,
): Promise<number> {
    const ordered = [...archives].sort((a, b) => a.extract.extractVersion - b.extract.extractVersion);
    const ledger = new RunLedger(clients.dynamodb, pipeline.runLedgerTable);
    const starter: RunStarter = {
        glue: clients.glue,
        ledger,
        jobName: pipeline.jobName,
        now: terminal.now,
        // The outcome table says what happened; only warnings (a claim taken over mid-start) need a line of their own.
        log: (entry) => {
            if (entry.level !== "info") {
                terminal.stderr.write(`warning: ${JSON.stringify(entry)}\n`);
            }
        },
    };
    const rows: string[][] = [];
    let started = 0;
    let refused = 0;
    for (const archive of ordered) {
        const outcome = await replayOne(archive, starter, pipeline, force);
        started += outcome.started ? 1 : 0;
        refused += outcome.refused ? 1 : 0;
        rows.push([archive.extract.extractId, archive.landed.key.slice(pipeline.landingPrefix.length), outcome.text]);
    }
    const out = (text: string) => terminal.stdout.write(text);
    out(
        `Replay of ${ordered.length} archive${ordered.length === 1 ? "" : "s"} of pipeline ${pipeline.pipeline} ` +
            `in extract order (Glue job ${pipeline.jobName}):\n`,
    );
    out(renderTable(["EXTRACT", "ARCHIVE", "OUTCOME"], rows));
    out(`Started ${started}, skipped ${ordered.length - started - refused}, not started ${refused}.\n`);
    return refused > 0 ? ExitCode.notStarted : ExitCode.ok;
}

async function replayOne(
    archive: LandedArchive,
    starter: RunStarter,
    pipeline: ExtractPipelineOutputs,
    force: boolean,
): Promise<{ text: string; started?: boolean; refused?: boolean }> {
    const record = await starter.ledger.read(archive.landed);
    let replacing: string | undefined;
    let replaced = "";
    if (record?.status === "STARTING") {
        return { text: beingStarted };
    }
    if (record?.status === "STARTED") {
        const state = await runState(starter, pipeline.jobName, record.jobRunId);
        if (activeStates.has(state)) {
            return { text: `skipped: run ${formatRunId(record.jobRunId)} is ${state}` };
        }
        if (state === "SUCCEEDED" && !force) {
            return { text: `skipped: loaded by run ${formatRunId(record.jobRunId)}; --force replays it` };
        }
        replacing = record.jobRunId;
        replaced = ` (replaces ${formatRunId(record.jobRunId)}, ${state})`;
    }
    const outcome = await startExtractRun(starter, archive.landed, archive.extract, replacing);
    switch (outcome.outcome) {
        case "started":
            return { text: `started ${outcome.jobRunId}${replaced}`, started: true };
        case "already-started":
            return { text: `skipped: run ${formatRunId(outcome.jobRunId)} was started for it meanwhile` };
        case "being-started":
            return { text: beingStarted };
        case "refused":
            return {
                text: outcome.transient
                    ? `not started: Glue cannot start it now (${outcome.error}); replay it again later`
                    : `not started: Glue refused (${outcome.error})`,
                refused: true,
            };
    }
}

/** Glue keeps runs for 90 days; an older run is reported as EXPIRED and may be replaced. */
async function runState(starter: RunStarter, jobName: string, jobRunId: string): Promise<string> {
    try {
        const found = await starter.glue.send(new GetJobRunCommand({ JobName: jobName, RunId: jobRunId }));
        return found.JobRun?.JobRunState ?? "UNKNOWN";
    } catch (error) {
        if (error instanceof EntityNotFoundException) {
            return "EXPIRED";
        }
        throw error;
    }
}

function archiveNaming(pipeline: string): ArchiveNaming {
    return pipelinePlan(pipeline).extract.archiveNaming;
}

/** The pipeline's job plan, from its mapping in config/mappings/. */
export function pipelinePlan(pipeline: string): JobPlan {
    try {
        return loadJobPlans([pipeline])[0]!;
    } catch (error) {
        if (error instanceof ConfigError) {
            throw new OperatorError(ExitCode.usage, `the mapping of pipeline ${pipeline} cannot be read:\n${error.message}`);
        }
        throw error;
    }
}

/** An archive named by file name, key under the landing prefix, or s3:// URI. */
async function namedArchive(
    archive: string,
    pipeline: ExtractPipelineOutputs,
    outputs: StackOutputs,
    naming: ArchiveNaming,
    clients: AwsClients,
): Promise<LandedArchive> {
    let key = archive;
    if (archive.startsWith("s3://")) {
        const [bucket = "", ...path] = archive.slice("s3://".length).split("/");
        if (bucket !== outputs.landingBucket) {
            throw new OperatorError(ExitCode.usage, `${archive} is not in the landing bucket ${outputs.landingBucket}`);
        }
        key = path.join("/");
    } else if (!archive.includes("/")) {
        key = `${pipeline.landingPrefix}${archive}`;
    }
    const name = readExtractName(key, pipeline.landingPrefix, naming);
    if (!name.accepted) {
        throw new OperatorError(
            ExitCode.usage,
            `s3://${outputs.landingBucket}/${key} is not an archive of pipeline ${pipeline.pipeline}: ${name.reason}`,
        );
    }
    return { landed: await landedVersion(outputs.landingBucket, key, clients), extract: name.extract };
}

async function archivesBetween(
    from: string,
    to: string,
    pipeline: ExtractPipelineOutputs,
    outputs: StackOutputs,
    naming: ArchiveNaming,
    clients: AwsClients,
): Promise<LandedArchive[]> {
    for (const [flag, value] of [
        ["--from", from],
        ["--to", to],
    ] as const) {
        if (!extractIdPattern.test(value)) {
            throw new OperatorError(
                ExitCode.usage,
                `${flag} ${value} is not an extract id like 20261120T060000Z-000001 (as \`runs\` shows them)`,
            );
        }
    }
    if (from > to) {
        throw new OperatorError(ExitCode.usage, `--from ${from} comes after --to ${to}`);
    }
    const archives = await landedArchives(
        pipeline,
        outputs,
        naming,
        clients,
        (extract) => extract.extractId >= from && extract.extractId <= to,
    );
    if (archives.length === 0) {
        throw new OperatorError(
            ExitCode.notFound,
            `no archives of pipeline ${pipeline.pipeline} between ${from} and ${to} in s3://${outputs.landingBucket}/${pipeline.landingPrefix}`,
        );
    }
    return archives;
}

/**
 * The archives of the pipeline in the landing bucket that `wanted` keeps, at their current
 * versions: the objects directly under the landing prefix whose names the trigger would start a
 * run for. Other objects under the prefix are left out, as the trigger leaves them.
 */
export async function landedArchives(
    pipeline: ExtractPipelineOutputs,
    outputs: StackOutputs,
    naming: ArchiveNaming,
    clients: AwsClients,
    wanted: (extract: ExtractIdentity) => boolean = () => true,
): Promise<LandedArchive[]> {
    const keys: { key: string; extract: ExtractIdentity }[] = [];
    const listing = paginateListObjectsV2({ client: clients.s3 }, { Bucket: outputs.landingBucket, Prefix: pipeline.landingPrefix });
    for await (const page of listing) {
        for (const object of page.Contents ?? []) {
            const name = readExtractName(object.Key!, pipeline.landingPrefix, naming);
            if (name.accepted && wanted(name.extract)) {
                keys.push({ key: object.Key!, extract: name.extract });
            }
        }
    }
    return Promise.all(
        keys.map(async ({ key, extract }) => ({ landed: await landedVersion(outputs.landingBucket, key, clients), extract })),
    );
}

/**
 * The archive's current version, the one a replay loads. It landed when S3 wrote it (Last-Modified,
 * which S3 gives every HEAD), as the trigger's event would have said: a replay's latency counts from
 * the landing, not from the replay.
 */
async function landedVersion(bucket: string, key: string, clients: AwsClients): Promise<LandedObject> {
    try {
        const head = await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { bucket, key, versionId: head.VersionId ?? "null", landedAt: head.LastModified!.toISOString() };
    } catch (error) {
        if (error instanceof NotFound) {
            throw new OperatorError(ExitCode.notFound, `archive not found: s3://${bucket}/${key} does not exist`);
        }
        throw error;
    }
}
