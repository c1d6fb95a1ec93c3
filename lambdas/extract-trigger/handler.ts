import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlueClient, StartJobRunCommand } from "@aws-sdk/client-glue";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type jobArguments from "../../glue-scripts/ingest/contracts/job_arguments.json";
import { landedObjectsHandler, type LandedObject } from "../shared/events";
import type { LogEntry } from "../shared/runtime";
import { readExtractName, type ArchiveNaming, type ExtractIdentity } from "./extract-name";
import { RunLedger } from "./run-ledger";

/**
 * Starts the pipeline's Glue job once per landed archive version. Messages come from the trigger
 * queue in batches; a message whose run could not be started is reported back as a batch item
 * failure, so SQS delivers it again and, after the queue's receive limit, keeps it in the
 * dead-letter queue. Nothing is dropped except what is certainly not an extract archive.
 */

export interface TriggerSettings {
    readonly jobName: string;
    readonly runLedgerTable: string;
    readonly landingBucket: string;
    readonly landingPrefix: string;
    readonly archiveNaming: ArchiveNaming;
}

export interface TriggerDependencies {
    readonly glue: GlueClient;
    readonly dynamodb: DynamoDBClient;
    readonly settings: TriggerSettings;
    readonly now: () => Date;
    readonly log?: (entry: LogEntry) => void;
}

export type { LogEntry };

type RunArgumentName = keyof typeof jobArguments.runArguments;

/** Longer than the function's timeout, so a live invocation never loses its claim. */
const claimLeaseSeconds = 120;

/** Glue errors that clear up by themselves; others are configuration faults that need a person. */
const transientGlueErrors = new Set([
    "ConcurrentRunsExceededException",
    "ThrottlingException",
    "OperationTimeoutException",
    "InternalServiceException",
    "ResourceNumberLimitExceededException",
]);

type ObjectOutcome = "started" | "duplicate" | "ignored" | "retry";

export function createHandler(dependencies: TriggerDependencies): (event: SQSEvent) => Promise<SQSBatchResponse> {
    const { glue, settings, now } = dependencies;
    const log = dependencies.log ?? ((entry: LogEntry) => console.log(JSON.stringify(entry)));
    const ledger = new RunLedger(dependencies.dynamodb, settings.runLedgerTable, claimLeaseSeconds);

    async function startRun(landed: LandedObject, extract: ExtractIdentity, messageId: string): Promise<ObjectOutcome> {
        const claimed = await ledger.claim(landed, extract, now());
        if (claimed.outcome === "already-started") {
            log({
                level: "info",
                message: "duplicate event: a run was already started for this archive version",
                ...landed,
                jobRunId: claimed.jobRunId,
            });
            return "duplicate";
        }
        if (claimed.outcome === "being-started") {
            log({ level: "info", message: "another invocation is starting this archive; retrying later", ...landed, messageId });
            return "retry";
        }
        const runArguments: Record<RunArgumentName, string> = {
            archive_bucket: landed.bucket,
            archive_key: landed.key,
            archive_version_id: landed.versionId,
            extract_id: extract.extractId,
            extract_version: String(extract.extractVersion),
        };
        let jobRunId: string;
        try {
            const started = await glue.send(
                new StartJobRunCommand({
                    JobName: settings.jobName,
                    Arguments: Object.fromEntries(Object.entries(runArguments).map(([name, value]) => [`--${name}`, value])),
                }),
            );
            jobRunId = started.JobRunId ?? "unknown";
        } catch (error) {
            await ledger.release(claimed.claim);
            const name = error instanceof Error ? error.name : "Error";
            const transient = transientGlueErrors.has(name);
            log({
                level: transient ? "warn" : "error",
                message: transient
                    ? "Glue could not start the run now; the message returns to the queue"
                    : "Glue refused the run; the message returns to the queue and reaches the dead-letter queue if this persists",
                ...landed,
                extractId: extract.extractId,
                error: `${name}: ${error instanceof Error ? error.message : String(error)}`,
                messageId,
            });
            return "retry";
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
        return "started";
    }

    async function handleObject(landed: LandedObject, messageId: string): Promise<ObjectOutcome> {
        if (landed.bucket !== settings.landingBucket) {
            log({ level: "warn", message: `ignored: bucket is not the landing bucket ${settings.landingBucket}`, ...landed });
            return "ignored";
        }
        const name = readExtractName(landed.key, settings.landingPrefix, settings.archiveNaming);
        if (!name.accepted) {
            log({ level: "warn", message: `ignored: ${name.reason}`, ...landed });
            return "ignored";
        }
        return startRun(landed, name.extract, messageId);
    }

    return landedObjectsHandler(async (landed, messageId) => (await handleObject(landed, messageId)) !== "retry", log);
}

/** Reads the function's settings from its environment, naming every variable that is missing or wrong. */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): TriggerSettings {
    const names = ["JOB_NAME", "RUN_LEDGER_TABLE", "LANDING_BUCKET", "LANDING_PREFIX", "ARCHIVE_NAMING"] as const;
    const missing = names.filter((name) => environment[name] === undefined || environment[name] === "");
    if (missing.length > 0) {
        throw new Error(`the trigger's environment lacks ${missing.join(", ")}`);
    }
    let archiveNaming: ArchiveNaming;
    try {
        archiveNaming = JSON.parse(environment.ARCHIVE_NAMING!) as ArchiveNaming;
    } catch {
        throw new Error("ARCHIVE_NAMING is not JSON");
    }
    if (
        typeof archiveNaming.regex !== "string" ||
        !Array.isArray(archiveNaming.groups) ||
        typeof archiveNaming.timestampFormat !== "string"
    ) {
        throw new Error("ARCHIVE_NAMING must hold regex, groups and timestampFormat");
    }
    return {
        jobName: environment.JOB_NAME!,
        runLedgerTable: environment.RUN_LEDGER_TABLE!,
        landingBucket: environment.LANDING_BUCKET!,
        landingPrefix: environment.LANDING_PREFIX!,
        archiveNaming,
    };
}

let configured: ((event: SQSEvent) => Promise<SQSBatchResponse>) | undefined;

/** Lambda entry point; clients and settings are made once per execution environment. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    configured ??= createHandler({
        glue: new GlueClient({}),
        dynamodb: new DynamoDBClient({}),
        settings: settingsFromEnvironment(process.env),
        now: () => new Date(),
    });
    return configured(event);
}
