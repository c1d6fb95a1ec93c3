import { StartJobRunCommand, type GlueClient } from "@aws-sdk/client-glue";
import type jobArguments from "../../glue-scripts/ingest/contracts/job_arguments.json";
import type { LandedObject } from "../shared/events";
import type { LogEntry } from "../shared/runtime";
import type { ExtractIdentity } from "./extract-name";
import type { RunLedger } from "./run-ledger";

/**
 * Starts the extract job for one archive version under a claim in the run ledger, so however
 * many deliveries, invocations or operators ask for the same version at once, one run starts.
 * The trigger calls this for each landed archive; the operator's replay calls it too, naming the
 * finished run it replaces, so a replay obeys the same claim.
 */

export interface RunStarter {
    readonly glue: GlueClient;
    readonly ledger: RunLedger;
    readonly jobName: string;
    readonly now: () => Date;
    readonly log: (entry: LogEntry) => void;
}

export type StartOutcome =
    | { readonly outcome: "started"; readonly jobRunId: string }
    | { readonly outcome: "already-started"; readonly jobRunId: string }
    | { readonly outcome: "being-started" }
    | { readonly outcome: "refused"; readonly transient: boolean; readonly error: string };

type RunArgumentName = keyof typeof jobArguments.runArguments;

/** Glue errors that clear up by themselves; others are configuration faults that need a person. */
const transientGlueErrors = new Set([
    "ConcurrentRunsExceededException",
    "ThrottlingException",
    "OperationTimeoutException",
    "InternalServiceException",
    "ResourceNumberLimitExceededException",
]);

/**
 * `replacing` names a finished run of this version that may be superseded; without it, any run
 * already started for the version stands. The caller says what an outcome other than "started"
 * means for it (the trigger retries the message, the operator is told).
 */
export async function startExtractRun(
    starter: RunStarter,
    landed: LandedObject,
    extract: ExtractIdentity,
    replacing?: string,
): Promise<StartOutcome> {
    const { glue, ledger, log, now } = starter;
    const claimed = await ledger.claim(landed, extract, now(), replacing);
    if (claimed.outcome !== "claimed") {
        return claimed.outcome === "already-started" ? claimed : { outcome: "being-started" };
    }
    const runArguments: Record<RunArgumentName, string> = {
        archive_bucket: landed.bucket,
        archive_key: landed.key,
        archive_version_id: landed.versionId,
        extract_id: extract.extractId,
        extract_version: String(extract.extractVersion),
        archive_landed_at: landed.landedAt,
    };
    let jobRunId: string;
    try {
        const started = await glue.send(
            new StartJobRunCommand({
                JobName: starter.jobName,
                Arguments: Object.fromEntries(Object.entries(runArguments).map(([name, value]) => [`--${name}`, value])),
            }),
        );
        jobRunId = started.JobRunId ?? "unknown";
    } catch (error) {
        await ledger.release(claimed.claim);
        const name = error instanceof Error ? error.name : "Error";
        return {
            outcome: "refused",
            transient: transientGlueErrors.has(name),
            error: `${name}: ${error instanceof Error ? error.message : String(error)}`,
        };
    }
    if (!(await ledger.markStarted(claimed.claim, jobRunId, now()))) {
        log({
            level: "warn",
            message: "the claim was taken over while the run started; the job's idempotent writes absorb a second run",
            ...landed,
            jobRunId,
        });
    }
    log({ level: "info", message: "started extract run", ...landed, extractId: extract.extractId, jobRunId });
    return { outcome: "started", jobRunId };
}
