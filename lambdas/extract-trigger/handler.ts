import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlueClient } from "@aws-sdk/client-glue";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { landedObjectsHandler, type LandedObject } from "../shared/events";
import type { LogEntry } from "../shared/runtime";
import { readExtractName, type ArchiveNaming, type ExtractIdentity } from "./extract-name";
import { RunLedger } from "./run-ledger";
import { startExtractRun, type RunStarter } from "./start-run";

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

type ObjectOutcome = "started" | "duplicate" | "ignored" | "retry";

export function createHandler(dependencies: TriggerDependencies): (event: SQSEvent) => Promise<SQSBatchResponse> {
    const { settings } = dependencies;
    const log = dependencies.log ?? ((entry: LogEntry) => console.log(JSON.stringify(entry)));
    const starter: RunStarter = {
        glue: dependencies.glue,
        ledger: new RunLedger(dependencies.dynamodb, settings.runLedgerTable),
        jobName: settings.jobName,
        now: dependencies.now,
        log,
    };

    async function startRun(landed: LandedObject, extract: ExtractIdentity, messageId: string): Promise<ObjectOutcome> {
        const started = await startExtractRun(starter, landed, extract);
        switch (started.outcome) {
            case "started":
                return "started";
            case "already-started":
                log({
                    level: "info",
                    message: "duplicate event: a run was already started for this archive version",
                    ...landed,
                    jobRunId: started.jobRunId,
                });
                return "duplicate";
            case "being-started":
                log({ level: "info", message: "another invocation is starting this archive; retrying later", ...landed, messageId });
                return "retry";
            case "refused":
                log({
                    level: started.transient ? "warn" : "error",
                    message: started.transient
                        ? "Glue could not start the run now; the message returns to the queue"
                        : "Glue refused the run; the message returns to the queue and reaches the dead-letter queue if this persists",
                    ...landed,
                    extractId: extract.extractId,
                    error: started.error,
                    messageId,
                });
                return "retry";
        }
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
