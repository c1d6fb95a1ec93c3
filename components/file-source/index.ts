import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { streamSchemaDocument, type Stream } from "../../config/stream";
import { defaultMaxFileMiB, mebibyte, type FileToStreamVariable } from "../../lambdas/file-to-stream/contract";
import { deadLetterAlarm, type AlarmTopic } from "../alarm-topic";
import { BundledFunction } from "../bundled-function";
import { visibilityTimeoutFor } from "../defaults/queues";
import { queueConcurrency, reservedConcurrencyOf, type LambdaSettings } from "../bundled-function/lambda-settings";
import { ObjectEventQueue } from "../object-events";
import { objectsUnder, queueConsumption, streamWriterStatement } from "../policies";
import { SecureBucket, type BucketRef } from "../secure-bucket";

export interface FileSourceArgs {
    readonly stream: Stream;
    /** Files land under this prefix of the source bucket. */
    readonly prefix: string;
    readonly streamName: pulumi.Input<string>;
    readonly streamArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly accessLogsBucketName: pulumi.Input<string>;
    /** Bucket of the per-file reports (the quarantine bucket), under `streams/<stream>/file-reports/`. */
    readonly reports: BucketRef;
    /** Bundle of `lambdas/file-to-stream`. */
    readonly code: pulumi.asset.Archive;
    /** Receives failed asynchronous invocations of the function. */
    readonly functionDeadLetterQueueArn: pulumi.Input<string>;
    /** Topic the dead-letter alarm notifies. */
    readonly alarms: AlarmTopic;
    /** Days landed files are kept. */
    readonly retentionDays: number;
    readonly logRetentionDays?: number;
    readonly allowDataDeletion?: boolean;
    /** X-Ray tracing and reserved-concurrency overrides of the functions (`ingestion:lambda`). Defaults to `defaultLambdaSettings`. */
    readonly lambda?: LambdaSettings;
}

/** The loader reads a file of up to hundreds of megabytes and puts it on the stream: Lambda's longest timeout. */
export const fileLoader = {
    timeoutSeconds: 900,
    memoryMb: 1024,
    batchSize: 1,
    maxReceiveCount: 3,
    /**
     * Files loaded at once: Lambda's lowest maximum for a queue mapping. Every loader puts on the
     * same stream, whose write capacity, not the number of loaders, bounds how fast files load;
     * more loaders would only meet more throttled puts.
     */
    maximumConcurrency: queueConcurrency.minimum,
} as const;

/**
 * Files to a stream: a source bucket where JSON-lines or CSV files land; each new file is queued
 * and a function validates its lines and puts the records on the stream in batches, writing a
 * report of the lines it rejected (with line numbers) beside the batch pipeline's quarantine.
 */
export class FileSource extends pulumi.ComponentResource {
    readonly bucket: SecureBucket;
    readonly files: ObjectEventQueue;
    readonly loader: BundledFunction;
    readonly reportPrefix: string;

    constructor(name: string, args: FileSourceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:streaming:FileSource", name, {}, opts);
        const { stream } = args;
        this.reportPrefix = `streams/${stream.stream}/file-reports/`;

        this.bucket = new SecureBucket(
            `${name}-source`,
            {
                kmsKeyArn: args.kmsKeyArn,
                accessLogs: { bucket: args.accessLogsBucketName, prefix: `${name}-source/` },
                eventBridge: true,
                expirations: [{ id: "expire-loaded-files", expireAfterDays: args.retentionDays }],
                forceDestroy: args.allowDataDeletion ?? false,
            },
            { parent: this },
        );
        this.files = new ObjectEventQueue(
            `${name}-files`,
            {
                description: `Files landing under ${args.prefix} for the ${stream.stream} stream`,
                bucketName: this.bucket.name,
                prefix: args.prefix,
                kmsKeyArn: args.kmsKeyArn,
                visibilityTimeoutSeconds: visibilityTimeoutFor(fileLoader.timeoutSeconds),
                maxReceiveCount: fileLoader.maxReceiveCount,
            },
            { parent: this },
        );
        // The loader runs as many at once as its queue mapping polls for (a stack may raise both together).
        const loaderConcurrency = reservedConcurrencyOf(args.lambda, "file-loader", fileLoader.maximumConcurrency);
        this.loader = new BundledFunction(
            `${name}-loader`,
            {
                description: `Puts the records of files landing in the source bucket on the ${stream.stream} stream`,
                code: args.code,
                kmsKeyArn: args.kmsKeyArn,
                deadLetterQueueArn: args.functionDeadLetterQueueArn,
                timeoutSeconds: fileLoader.timeoutSeconds,
                memoryMb: fileLoader.memoryMb,
                ...(args.logRetentionDays ? { logRetentionDays: args.logRetentionDays } : {}),
                ...(args.lambda ? { tracing: args.lambda.tracing } : {}),
                reservedConcurrency: loaderConcurrency,
                environment: {
                    STREAM_NAME: args.streamName,
                    STREAM_SCHEMA: JSON.stringify(streamSchemaDocument(stream)),
                    SOURCE_BUCKET: this.bucket.name,
                    REPORT_BUCKET: args.reports.name,
                    REPORT_PREFIX: this.reportPrefix,
                    MAX_FILE_BYTES: String((stream.fileSource?.maxFileMiB ?? defaultMaxFileMiB) * mebibyte),
                } satisfies Record<FileToStreamVariable, pulumi.Input<string>>,
                policyStatements: [
                    queueConsumption(this.files.queue.arn, "ConsumeFileQueue"),
                    {
                        // Without ListBucket, S3 answers a deleted file with AccessDenied, not NoSuchKey.
                        Sid: "FindLandedFiles",
                        Effect: "Allow",
                        Action: ["s3:ListBucket"],
                        Resource: this.bucket.arn,
                        Condition: { StringLike: { "s3:prefix": [`${args.prefix}*`] } },
                    },
                    {
                        Sid: "ReadLandedFiles",
                        Effect: "Allow",
                        Action: ["s3:GetObject", "s3:GetObjectVersion"],
                        Resource: objectsUnder(this.bucket.arn, args.prefix),
                    },
                    {
                        Sid: "WriteFileReports",
                        Effect: "Allow",
                        Action: ["s3:PutObject"],
                        Resource: objectsUnder(args.reports.arn, this.reportPrefix),
                    },
                    streamWriterStatement(args.streamArn),
                ],
            },
            { parent: this },
        );
        new aws.lambda.EventSourceMapping(
            `${name}-loader-source`,
            {
                eventSourceArn: this.files.queue.arn,
                functionName: this.loader.arn,
                batchSize: fileLoader.batchSize,
                functionResponseTypes: ["ReportBatchItemFailures"],
                scalingConfig: { maximumConcurrency: loaderConcurrency },
            },
            { parent: this },
        );
        args.alarms.alarm(
            "file-dead-letters",
            `Files landed for ${stream.stream} could not be put on the stream and wait in the dead-letter queue`,
            deadLetterAlarm(this.files.deadLetterQueue.name),
            args.alarms.ownedBy(this),
        );
        this.registerOutputs({ bucketName: this.bucket.name });
    }
}
