import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlueClient } from "@aws-sdk/client-glue";
import { S3Client } from "@aws-sdk/client-s3";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { landedObjectsHandler, notLandedIn, type LandedObject, type LandingPlace } from "../shared/events";
import { EnvironmentReader, errorText, stdoutLog, type LogEntry } from "../shared/runtime";
import { badArchiveNameEntry, quarantineBadlyNamedArchive, type BadNameQuarantine } from "./bad-name";
import type { TriggerVariable } from "./contract";
import type { ArchiveNaming } from "../../contracts/archive-naming";
import { maximumSequence, readExtractName, type ExtractIdentity } from "./extract-name";
import { RunLedger } from "./run-ledger";
import { startExtractRun, type RunStarter } from "./start-run";

/**
 * Starts the pipeline's Glue job once per landed archive version. Messages come from the trigger
 * queue in batches; a message whose run could not be started is reported back as a batch item
 * failure, so SQS delivers it again and, after the queue's receive limit, keeps it in the
 * dead-letter queue. An object under the landing prefix whose name is not the pipeline's archive
 * naming starts no run: it is quarantined and counted in a metric the pipeline alarms on, and when
 * it cannot be kept its message is retried the same way. Nothing is dropped except what is
 * certainly not an archive sent to this pipeline.
 */

export interface TriggerSettings {
    /** The stack that deployed the trigger, named beside the pipeline in the metric it publishes. */
    readonly stack: string;
    readonly pipeline: string;
    readonly jobName: string;
    readonly runLedgerTable: string;
    readonly landingBucket: string;
    readonly landingPrefix: string;
    readonly archiveNaming: ArchiveNaming;
    readonly quarantineBucket: string;
}

export interface TriggerDependencies {
    readonly glue: GlueClient;
    readonly dynamodb: DynamoDBClient;
    readonly s3: S3Client;
    readonly settings: TriggerSettings;
    readonly now: () => Date;
    /** Defaults to stdoutLog, so the bad-archive-name line stays Embedded Metric Format. */
    readonly log?: (entry: LogEntry) => void;
}

export type { LogEntry };

type ObjectOutcome = "started" | "duplicate" | "quarantined" | "ignored" | "retry";

export function createHandler(dependencies: TriggerDependencies): (event: SQSEvent) => Promise<SQSBatchResponse> {
    const { settings } = dependencies;
    const log = dependencies.log ?? stdoutLog;
    const starter: RunStarter = {
        glue: dependencies.glue,
        ledger: new RunLedger(dependencies.dynamodb, settings.runLedgerTable),
        jobName: settings.jobName,
        now: dependencies.now,
        log,
    };
    const quarantine: BadNameQuarantine = {
        s3: dependencies.s3,
        quarantineBucket: settings.quarantineBucket,
        pipeline: settings.pipeline,
        expected: { landingPrefix: settings.landingPrefix, archiveNaming: settings.archiveNaming, maximumSequence },
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

    async function quarantineBadName(landed: LandedObject, detail: string, messageId: string): Promise<ObjectOutcome> {
        let keptIn: string;
        try {
            keptIn = await quarantineBadlyNamedArchive(quarantine, landed, detail);
        } catch (error) {
            log({
                level: "error",
                message: "could not quarantine an archive with a bad name; the message returns to the queue",
                ...landed,
                detail,
                error: errorText(error),
                messageId,
            });
            return "retry";
        }
        log(badArchiveNameEntry({ stack: settings.stack, pipeline: settings.pipeline }, landed, detail, keptIn, dependencies.now()));
        return "quarantined";
    }

    /**
     * Objects that certainly were not sent to this pipeline are only logged, not quarantined.
     * Everything under the prefix was sent here: config/load.ts refuses a prefix that overlaps
     * another pipeline's, so a subfolder is a mistake in this pipeline's deliveries, not another
     * pipeline's archive.
     */
    const landing: LandingPlace = { bucket: settings.landingBucket, prefix: settings.landingPrefix, name: "landing", object: "an archive" };

    async function handleObject(landed: LandedObject, messageId: string): Promise<ObjectOutcome> {
        const notSent = notLandedIn(landed, landing);
        if (notSent !== undefined) {
            log({ level: "warn", message: `ignored: ${notSent}`, ...landed });
            return "ignored";
        }
        const name = readExtractName(landed.key, settings.landingPrefix, settings.archiveNaming);
        if (!name.accepted) {
            return quarantineBadName(landed, name.reason, messageId);
        }
        return startRun(landed, name.extract, messageId);
    }

    return landedObjectsHandler(async (landed, messageId) => (await handleObject(landed, messageId)) !== "retry", log);
}

/** Reads the function's settings from its environment, naming every variable that is missing or wrong. */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): TriggerSettings {
    const reader = new EnvironmentReader<TriggerVariable>(environment, "the trigger");
    const value = (name: TriggerVariable) => reader.required(name);
    // Read in the contract's order, the order in which missing variables are named.
    const jobName = value("JOB_NAME");
    const runLedgerTable = value("RUN_LEDGER_TABLE");
    const landingBucket = value("LANDING_BUCKET");
    const landingPrefix = value("LANDING_PREFIX");
    const archiveNaming = reader.parsed("ARCHIVE_NAMING", parseArchiveNaming);
    const pipeline = value("PIPELINE");
    const quarantineBucket = value("QUARANTINE_BUCKET");
    const stack = value("STACK");
    reader.done();
    // done() throws unless every variable is set and ARCHIVE_NAMING parsed.
    return { stack, pipeline, jobName, runLedgerTable, landingBucket, landingPrefix, archiveNaming: archiveNaming!, quarantineBucket };
}

function parseArchiveNaming(text: string): ArchiveNaming {
    let archiveNaming: ArchiveNaming;
    try {
        archiveNaming = JSON.parse(text) as ArchiveNaming;
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
    return archiveNaming;
}

let configured: ((event: SQSEvent) => Promise<SQSBatchResponse>) | undefined;

/** Lambda entry point; clients and settings are made once per execution environment. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    configured ??= createHandler({
        glue: new GlueClient({}),
        dynamodb: new DynamoDBClient({}),
        s3: new S3Client({}),
        settings: settingsFromEnvironment(process.env),
        now: () => new Date(),
    });
    return configured(event);
}
