import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlueClient } from "@aws-sdk/client-glue";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { ExportOptionalRunArgument } from "../../contracts/glue-jobs";
import { startClaimedRun, type RunStarter } from "../shared/claimed-run";
import { landedObjectsHandler, notLandedIn, type LandedObject, type LandingPlace } from "../shared/events";
import { RunLedger } from "../shared/run-ledger";
import { EnvironmentReader, jsonLog, type Log } from "../shared/runtime";
import type { ExportStarterVariable } from "./contract";

/**
 * Seed 004's second function: starts the warehouse export for each object Firehose delivers, an
 * object-scoped run that converts that object only. Messages come from the export's object-events
 * queue (S3 "Object Created" through EventBridge); each object version is claimed in the export's
 * run ledger, so duplicate deliveries start one run. The job runs one at a time: a start Glue
 * refuses (ConcurrentRunsExceededException while a run is going, throttling, a fault) releases the
 * claim and reports the message as a batch item failure, so SQS delivers it again after the queue's
 * visibility timeout and, past its receive limit, keeps it in the dead-letter queue. The object
 * itself stays unexported (it has no marker) until a run exports it, so the scheduled whole-prefix
 * run also picks it up. An object a run has exported already (it has its marker: the schedule's
 * run got there first) starts no run.
 */

export interface ExportStarterSettings {
    readonly jobName: string;
    readonly runLedgerTable: string;
    readonly deliveryBucket: string;
    /** Firehose's prefix in the delivery bucket, ending in `/`. */
    readonly deliveryPrefix: string;
    /** The job's marker of an exported object is this prefix followed by the delivered key. */
    readonly markerPrefix: string;
}

export interface ExportStarterDependencies {
    readonly glue: GlueClient;
    readonly dynamodb: DynamoDBClient;
    readonly s3: S3Client;
    readonly settings: ExportStarterSettings;
    readonly now: () => Date;
    readonly log?: Log;
}

export function createHandler(dependencies: ExportStarterDependencies): (event: SQSEvent) => Promise<SQSBatchResponse> {
    const { settings } = dependencies;
    const log = dependencies.log ?? jsonLog;
    const starter: RunStarter = {
        glue: dependencies.glue,
        ledger: new RunLedger(dependencies.dynamodb, settings.runLedgerTable),
        jobName: settings.jobName,
        now: dependencies.now,
        log,
    };

    const delivered: LandingPlace = {
        bucket: settings.deliveryBucket,
        prefix: settings.deliveryPrefix,
        name: "delivery",
        object: "a delivered object",
    };

    /**
     * Whether the object has its marker. A listing, not HeadObject: the role lists the marker prefix
     * only, and S3 answers a HEAD of a missing key without ListBucket with 403, not 404. The marker's
     * own key sorts first among the keys it prefixes.
     */
    async function exported(key: string): Promise<boolean> {
        const marker = `${settings.markerPrefix}${key}`;
        const listed = await dependencies.s3.send(
            new ListObjectsV2Command({ Bucket: settings.deliveryBucket, Prefix: marker, MaxKeys: 1 }),
        );
        return listed.Contents?.[0]?.Key === marker;
    }

    async function handleObject(landed: LandedObject, messageId: string): Promise<boolean> {
        const ignored = notLandedIn(landed, delivered);
        if (ignored !== undefined) {
            log({ level: "warn", message: `ignored: ${ignored}`, ...landed, messageId });
            return true;
        }
        if (await exported(landed.key)) {
            log({
                level: "info",
                message: "already exported: a run exported this object before its own run started",
                ...landed,
                messageId,
            });
            return true;
        }
        const runArguments: Record<ExportOptionalRunArgument, string> = { delivered_key: landed.key };
        const started = await startClaimedRun(starter, landed, { runArguments, recorded: {}, startedMessage: "started export run" });
        switch (started.outcome) {
            case "started":
                return true;
            case "already-started":
                log({
                    level: "info",
                    message: "duplicate event: a run was already started for this delivered object",
                    ...landed,
                    jobRunId: started.jobRunId,
                    messageId,
                });
                return true;
            case "being-started":
                log({ level: "info", message: "another invocation is starting this object's run; retrying later", ...landed, messageId });
                return false;
            case "refused":
                log({
                    level: started.transient ? "warn" : "error",
                    message: started.transient
                        ? "Glue could not start the run now (one run at a time); the message returns to the queue"
                        : "Glue refused the run; the message returns to the queue and reaches the dead-letter queue if this persists",
                    ...landed,
                    error: started.error,
                    messageId,
                });
                return false;
        }
    }

    return landedObjectsHandler(handleObject, log);
}

/** Reads the function's settings from its environment, naming every variable that is missing. */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): ExportStarterSettings {
    const reader = new EnvironmentReader<ExportStarterVariable>(environment, "the export starter");
    const value = (name: ExportStarterVariable) => reader.required(name);
    const settings = {
        jobName: value("JOB_NAME"),
        runLedgerTable: value("RUN_LEDGER_TABLE"),
        deliveryBucket: value("DELIVERY_BUCKET"),
        deliveryPrefix: value("DELIVERY_PREFIX"),
        markerPrefix: value("MARKER_PREFIX"),
    };
    reader.done();
    return settings;
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
