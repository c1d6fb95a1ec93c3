import { StartJobRunCommand, type GlueClient } from "@aws-sdk/client-glue";
import type { LandedObject } from "./events";
import type { RunLedger } from "./run-ledger";
import type { LogEntry } from "./runtime";

/**
 * Starts a Glue job for one object version under a claim in a run ledger, so however many
 * deliveries, invocations or operators ask for the same version at once, one run starts. The
 * extract trigger (and the operator's replay) start extract runs this way, the warehouse export's
 * starter export runs of delivered objects.
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

/** What to start for one object version. */
export interface ClaimedRun {
    /** The job's run arguments, by contract name (without the leading `--`). */
    readonly runArguments: Readonly<Record<string, string>>;
    /** String attributes the claim records in the ledger beside the version. */
    readonly recorded: Readonly<Record<string, string>>;
    /** The log line of a started run, such as "started extract run". */
    readonly startedMessage: string;
}

/**
 * Glue errors that clear up by themselves (ConcurrentRunsExceededException while the job runs as
 * many at once as it may); others are configuration faults that need a person.
 */
export const transientGlueErrors: ReadonlySet<string> = new Set([
    "ConcurrentRunsExceededException",
    "ThrottlingException",
    "OperationTimeoutException",
    "InternalServiceException",
    "ResourceNumberLimitExceededException",
]);

/**
 * `replacing` names a finished run of this version that may be superseded; without it, any run
 * already started for the version stands. A start Glue refuses releases the claim, so the next
 * delivery of the message claims it afresh. The caller says what an outcome other than "started"
 * means for it (a starter retries the message, the operator is told).
 */
export async function startClaimedRun(
    starter: RunStarter,
    landed: LandedObject,
    run: ClaimedRun,
    replacing?: string,
): Promise<StartOutcome> {
    const { glue, ledger, log, now } = starter;
    const claimed = await ledger.claim(landed, run.recorded, now(), replacing);
    if (claimed.outcome !== "claimed") {
        return claimed.outcome === "already-started" ? claimed : { outcome: "being-started" };
    }
    let jobRunId: string;
    try {
        const started = await glue.send(
            new StartJobRunCommand({
                JobName: starter.jobName,
                Arguments: Object.fromEntries(Object.entries(run.runArguments).map(([name, value]) => [`--${name}`, value])),
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
    log({ level: "info", message: run.startedMessage, ...landed, ...run.recorded, jobRunId });
    return { outcome: "started", jobRunId };
}
