import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { streamSchemaDocument, type Stream } from "../../config/stream";
import { AlarmTopic, anyCount, deadLetterAlarm } from "../alarm-topic";
import type { CrawlerStarterVariable } from "../../lambdas/crawler-starter/contract";
import type { StreamProducerVariable } from "../../lambdas/stream-producer/contract";
import { BundledFunction } from "../bundled-function";
import { defaultLogRetentionDays } from "../defaults/log-groups";
import { deadLetterRetentionSeconds } from "../defaults/queues";
import { oneAtATime, reservedConcurrencyOf, type LambdaSettings } from "../bundled-function/lambda-settings";
import { matchedEvents, type MetricId } from "../metrics";
import { streamWriterStatement } from "../policies";
import { SecureBucket, type BucketRef } from "../secure-bucket";
import { assumedRole, rolePolicy, serviceRole } from "../service-role";
import {
    crawlerConfiguration,
    crawlerStart,
    crawlFailedPattern,
    firehoseDataPrefix,
    freshnessThresholdSeconds,
    iteratorAgeThresholdMs,
    metadataExtractionQuery,
    parquetStorage,
    partitionColumns,
    projectionParameters,
    savedQueries,
    streamLakePrefixes,
    streamTableName,
} from "./defaults";
import { crawlerStatements, firehoseStatements } from "./policies";
import { accountScope, glueArn, type AccountScope } from "../account-scope";

export interface StreamLakeArgs {
    /** The validated stream definition (`config/streams/<stream>.yaml`). */
    readonly stream: Stream;
    readonly kmsKeyArn: pulumi.Input<string>;
    /** The lake bucket; the stream's Parquet goes under `streams/<stream>/data/`. */
    readonly lake: BucketRef;
    /** Server access logging target of the raw backup bucket. */
    readonly accessLogsBucketName: pulumi.Input<string>;
    readonly databaseName: pulumi.Input<string>;
    readonly workgroupName: pulumi.Input<string>;
    /** Glue security configuration the crawler runs under. */
    readonly securityConfigurationName: pulumi.Input<string>;
    /** Bundle of `lambdas/stream-producer`. */
    readonly producerCode: pulumi.asset.Archive;
    /** Bundle of `lambdas/crawler-starter`; used when the stream keeps partitions with a crawler. */
    readonly crawlerStarterCode: pulumi.asset.Archive;
    readonly notificationEmail?: string;
    /** Days the functions' and Firehose's logs are kept. Defaults to 90. */
    readonly logRetentionDays?: number;
    /** Let `pulumi destroy` delete the raw backup bucket while it holds objects. Defaults to false. */
    readonly allowDataDeletion?: boolean;
    /** X-Ray tracing and reserved-concurrency overrides of the functions (`ingestion:lambda`). Defaults to `defaultLambdaSettings`. */
    readonly lambda?: LambdaSettings;
}

/** The metrics of one stream: records coming in, how late they reach the lake, and failed crawls (the last two alarmed). */
export interface StreamLakeMetrics {
    readonly incomingRecords: MetricId;
    readonly dataFreshness: MetricId;
    /** Crawls of the stream's table that started and failed; only a stream that keeps partitions with a crawler has them. */
    readonly failedCrawls?: MetricId;
}

/**
 * A streaming lake: a KMS-encrypted Kinesis stream, and a Firehose that converts its JSON records
 * to Parquet through the Glue table this component declares, partitioned by event time or by
 * arrival time (and the stream's partition keys), with the raw records backed up to a bucket that
 * expires them and conversion failures under an error prefix. Partitions are kept current by a
 * crawler started on a schedule, or by partition projection. Alarms watch freshness, delivery,
 * conversion, lag, and crawls that did not start or failed;
 * a test producer publishes sample events and Athena has saved queries over the table.
 */
export class StreamLake extends pulumi.ComponentResource {
    readonly kinesisStream: aws.kinesis.Stream;
    readonly streamName: pulumi.Output<string>;
    readonly streamArn: pulumi.Output<string>;
    readonly rawBackup: SecureBucket;
    readonly table: aws.glue.CatalogTable;
    readonly tableName: pulumi.Output<string>;
    readonly deliveryStream: aws.kinesis.FirehoseDeliveryStream;
    readonly crawler?: aws.glue.Crawler;
    readonly producer: BundledFunction;
    readonly alarms: AlarmTopic;
    readonly functionDeadLetterQueue: aws.sqs.Queue;
    /** What the stack's dashboard draws of the stream. */
    readonly metrics: StreamLakeMetrics;

    constructor(name: string, args: StreamLakeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:streaming:StreamLake", name, {}, opts);
        const { stream } = args;
        const scope = accountScope(this);
        const prefixes = streamLakePrefixes(stream);
        const logRetentionDays = args.logRetentionDays;

        this.kinesisStream = new aws.kinesis.Stream(
            `${name}-stream`,
            {
                retentionPeriod: stream.kinesis.retentionHours,
                encryptionType: "KMS",
                kmsKeyId: args.kmsKeyArn,
                streamModeDetails: { streamMode: stream.kinesis.mode === "on-demand" ? "ON_DEMAND" : "PROVISIONED" },
                ...(stream.kinesis.shards !== undefined ? { shardCount: stream.kinesis.shards } : {}),
            },
            { parent: this },
        );
        this.streamName = this.kinesisStream.name;
        this.streamArn = this.kinesisStream.arn;

        this.rawBackup = new SecureBucket(
            `${name}-raw`,
            {
                kmsKeyArn: args.kmsKeyArn,
                accessLogs: { bucket: args.accessLogsBucketName, prefix: `${name}-raw/` },
                expirations: [{ id: "expire-raw-records", expireAfterDays: stream.rawBackup.retentionDays }],
                noncurrentVersionDays: 1,
                forceDestroy: args.allowDataDeletion ?? false,
            },
            { parent: this },
        );

        const dataLocation = pulumi.interpolate`s3://${args.lake.name}/${prefixes.data}`;
        this.table = new aws.glue.CatalogTable(
            `${name}-table`,
            {
                name: streamTableName(stream),
                databaseName: args.databaseName,
                description: stream.description ?? `Events of the ${stream.stream} stream`,
                tableType: "EXTERNAL_TABLE",
                parameters: dataLocation.apply((location) => ({
                    classification: "parquet",
                    EXTERNAL: "TRUE",
                    "parquet.compression": "SNAPPY",
                    ...projectionParameters(stream, location),
                })),
                partitionKeys: partitionColumns(stream),
                storageDescriptor: {
                    ...parquetStorage,
                    location: dataLocation,
                    columns: stream.fields.map((field, index) => ({
                        name: field.name,
                        type: stream.typedFields[index]!.catalogType,
                        ...(field.description ? { comment: field.description } : {}),
                    })),
                },
            },
            { parent: this },
        );
        this.tableName = this.table.name;

        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-delivery-logs`,
            { retentionInDays: logRetentionDays ?? defaultLogRetentionDays, kmsKeyId: args.kmsKeyArn },
            { parent: this },
        );
        const logStream = (suffix: string, streamName: string) =>
            new aws.cloudwatch.LogStream(`${name}-${suffix}`, { logGroupName: logGroup.name, name: streamName }, { parent: this });
        const deliveryLog = logStream("delivery-log", "DestinationDelivery");
        const backupLog = logStream("backup-log", "BackupDelivery");

        const { role: deliveryRole, policy: deliveryPolicy } = serviceRole(
            `${name}-delivery`,
            {
                description: `Firehose delivery of the ${stream.stream} stream`,
                service: "firehose.amazonaws.com",
                accountId: scope.accountId,
                statements: firehoseStatements({
                    ...scope,
                    streamArn: this.kinesisStream.arn,
                    destinations: [
                        { bucket: args.lake, prefix: prefixes.root },
                        { bucket: this.rawBackup, prefix: "" },
                    ],
                    schemaTable: { databaseName: args.databaseName, tableName: this.table.name },
                    logGroupArn: logGroup.arn,
                    kmsKeyArn: args.kmsKeyArn,
                }),
            },
            { parent: this },
        );

        const extractionQuery = metadataExtractionQuery(stream);
        // Firehose cannot encrypt server-side when it reads from Kinesis: records stay encrypted in
        // the stream with the project key, and every object is written with SSE-KMS.
        this.deliveryStream = new aws.kinesis.FirehoseDeliveryStream(
            `${name}-delivery`,
            {
                destination: "extended_s3",
                kinesisSourceConfiguration: { kinesisStreamArn: this.kinesisStream.arn, roleArn: deliveryRole.arn },
                extendedS3Configuration: {
                    roleArn: deliveryRole.arn,
                    bucketArn: args.lake.arn,
                    prefix: firehoseDataPrefix(stream),
                    errorOutputPrefix: `${prefixes.errors}!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/`,
                    bufferingSize: stream.buffering.sizeMiB,
                    bufferingInterval: stream.buffering.intervalSeconds,
                    // Parquet compresses itself; Firehose requires no outer compression with format conversion.
                    compressionFormat: "UNCOMPRESSED",
                    kmsKeyArn: args.kmsKeyArn,
                    cloudwatchLoggingOptions: { enabled: true, logGroupName: logGroup.name, logStreamName: deliveryLog.name },
                    // Partitioned by arrival alone, Firehose reads nothing of the records: no dynamic partitioning.
                    ...(extractionQuery !== undefined
                        ? {
                              dynamicPartitioningConfiguration: { enabled: true, retryDuration: 300 },
                              processingConfiguration: {
                                  enabled: true,
                                  processors: [
                                      {
                                          type: "MetadataExtraction",
                                          parameters: [
                                              { parameterName: "JsonParsingEngine", parameterValue: "JQ-1.6" },
                                              { parameterName: "MetadataExtractionQuery", parameterValue: extractionQuery },
                                          ],
                                      },
                                  ],
                              },
                          }
                        : {}),
                    dataFormatConversionConfiguration: {
                        enabled: true,
                        inputFormatConfiguration: {
                            deserializer: { hiveJsonSerDe: { timestampFormats: [stream.serdeTimestampFormat] } },
                        },
                        outputFormatConfiguration: { serializer: { parquetSerDe: { compression: "SNAPPY" } } },
                        // LATEST: a schema change to the table reaches Firehose without touching it.
                        schemaConfiguration: {
                            databaseName: args.databaseName,
                            tableName: this.table.name,
                            roleArn: deliveryRole.arn,
                            region: scope.region,
                            versionId: "LATEST",
                        },
                    },
                    s3BackupMode: "Enabled",
                    s3BackupConfiguration: {
                        roleArn: deliveryRole.arn,
                        bucketArn: this.rawBackup.arn,
                        prefix: `${stream.stream}/!{timestamp:yyyy/MM/dd/HH}/`,
                        errorOutputPrefix: `${stream.stream}-errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/`,
                        bufferingSize: stream.buffering.sizeMiB,
                        bufferingInterval: stream.buffering.intervalSeconds,
                        compressionFormat: "GZIP",
                        kmsKeyArn: args.kmsKeyArn,
                        cloudwatchLoggingOptions: { enabled: true, logGroupName: logGroup.name, logStreamName: backupLog.name },
                    },
                },
            },
            { parent: this, dependsOn: [deliveryPolicy] },
        );

        this.alarms = new AlarmTopic(
            `${name}-alarms`,
            { kmsKeyArn: args.kmsKeyArn, ...(args.notificationEmail ? { notificationEmail: args.notificationEmail } : {}) },
            { parent: this },
        );
        const firehoseDimensions = { DeliveryStreamName: this.deliveryStream.name };
        this.metrics = {
            incomingRecords: {
                namespace: "AWS/Kinesis",
                metricName: "IncomingRecords",
                dimensions: { StreamName: this.kinesisStream.name },
            },
            dataFreshness: { namespace: "AWS/Firehose", metricName: "DeliveryToS3.DataFreshness", dimensions: firehoseDimensions },
        };
        this.alarms.alarm("stale", `${stream.stream} records have waited in Firehose longer than its buffer plus 15 minutes`, {
            ...this.metrics.dataFreshness,
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 3,
            threshold: freshnessThresholdSeconds(stream),
            comparisonOperator: "GreaterThanThreshold",
            treatMissingData: "notBreaching",
        });
        this.alarms.alarm("delivery-failures", `Firehose could not write ${stream.stream} records to the lake`, {
            namespace: "AWS/Firehose",
            metricName: "DeliveryToS3.Success",
            dimensions: firehoseDimensions,
            statistic: "Minimum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "LessThanThreshold",
            treatMissingData: "notBreaching",
        });
        this.alarms.alarm(
            "conversion-failures",
            `${stream.stream} records failed Parquet conversion and went to ${prefixes.errors}`,
            anyCount({ namespace: "AWS/Firehose", metricName: "FailedConversion.Records", dimensions: firehoseDimensions }),
        );
        this.alarms.alarm("consumer-lag", `Firehose reads the ${stream.stream} stream more than an hour behind`, {
            namespace: "AWS/Kinesis",
            metricName: "GetRecords.IteratorAgeMilliseconds",
            dimensions: { StreamName: this.kinesisStream.name },
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 3,
            threshold: iteratorAgeThresholdMs,
            comparisonOperator: "GreaterThanThreshold",
            treatMissingData: "notBreaching",
        });

        this.functionDeadLetterQueue = new aws.sqs.Queue(
            `${name}-functions-dlq`,
            { kmsMasterKeyId: args.kmsKeyArn, messageRetentionSeconds: deadLetterRetentionSeconds },
            { parent: this },
        );
        this.alarms.alarm(
            "dead-letters",
            `Invocations of the ${stream.stream} functions failed and wait in the dead-letter queue`,
            deadLetterAlarm(this.functionDeadLetterQueue.name),
        );
        const schemaEnvironment = JSON.stringify(streamSchemaDocument(stream));

        this.producer = new BundledFunction(
            `${name}-producer`,
            {
                description: `Publishes sample events to the ${stream.stream} stream (for testing)`,
                code: args.producerCode,
                kmsKeyArn: args.kmsKeyArn,
                deadLetterQueueArn: this.functionDeadLetterQueue.arn,
                ...(logRetentionDays ? { logRetentionDays } : {}),
                ...(args.lambda ? { tracing: args.lambda.tracing } : {}),
                // Invoked by hand, to publish a sample.
                reservedConcurrency: reservedConcurrencyOf(args.lambda, "stream-producer", oneAtATime),
                environment: {
                    STREAM_NAME: this.kinesisStream.name,
                    STREAM_SCHEMA: schemaEnvironment,
                } satisfies Record<StreamProducerVariable, pulumi.Input<string>>,
                policyStatements: [streamWriterStatement(this.kinesisStream.arn)],
            },
            { parent: this },
        );

        if (stream.partitions.mode === "crawler") {
            const { crawler, failedCrawls } = this.declareCrawler(name, args, scope, prefixes.data, stream.partitions.schedule);
            this.crawler = crawler;
            this.metrics = { ...this.metrics, failedCrawls };
        }

        for (const saved of savedQueries(stream)) {
            new aws.athena.NamedQuery(
                `${name}-${saved.name}`,
                {
                    name: `${stream.stream}-${saved.name}`,
                    description: saved.description,
                    workgroup: args.workgroupName,
                    database: args.databaseName,
                    query: saved.query,
                },
                { parent: this },
            );
        }

        this.registerOutputs({ streamName: this.streamName, streamArn: this.streamArn, tableName: this.tableName });
    }

    /**
     * A crawler limited to the declared table (a catalog target: schema changes are logged, never
     * applied), started on the stream's schedule by a function that retries while a previous crawl
     * is still running and fails visibly (dead-letter queue, alarm) if it never gets to start. A
     * crawl that starts and then fails is alarmed too: an EventBridge rule matches the crawler's
     * `Glue Crawler State Change` events in state `Failed`, and the alarm counts its matches.
     */
    private declareCrawler(
        name: string,
        args: StreamLakeArgs,
        scope: AccountScope,
        dataPrefix: string,
        schedule: string,
    ): { crawler: aws.glue.Crawler; failedCrawls: MetricId } {
        const { stream } = args;
        // The role first: its name is in the crawler's log group, which the policy grants.
        const role = assumedRole(
            `${name}-crawler`,
            { description: `Crawler of the ${stream.stream} stream table`, service: "glue.amazonaws.com", accountId: scope.accountId },
            { parent: this },
        );
        const policy = rolePolicy(
            `${name}-crawler`,
            role,
            crawlerStatements({
                ...scope,
                lake: args.lake,
                dataPrefix,
                databaseName: args.databaseName,
                tableName: this.table.name,
                kmsKeyArn: args.kmsKeyArn,
                securityConfigurationName: args.securityConfigurationName,
                roleName: role.name,
            }),
            { parent: this },
        );
        const crawler = new aws.glue.Crawler(
            `${name}-crawler`,
            {
                description: `Adds the partitions Firehose writes for ${stream.stream}`,
                databaseName: args.databaseName,
                role: role.arn,
                catalogTargets: [{ databaseName: args.databaseName, tables: [this.table.name] }],
                schemaChangePolicy: { updateBehavior: "LOG", deleteBehavior: "LOG" },
                configuration: JSON.stringify(crawlerConfiguration),
                securityConfiguration: args.securityConfigurationName,
            },
            { parent: this, dependsOn: [policy] },
        );

        const starter = new BundledFunction(
            `${name}-crawl`,
            {
                description: `Starts the ${stream.stream} crawler on schedule, retrying while a crawl still runs`,
                code: args.crawlerStarterCode,
                kmsKeyArn: args.kmsKeyArn,
                deadLetterQueueArn: this.functionDeadLetterQueue.arn,
                timeoutSeconds: crawlerStart.attempts * crawlerStart.retrySeconds + 30,
                ...(args.logRetentionDays ? { logRetentionDays: args.logRetentionDays } : {}),
                ...(args.lambda ? { tracing: args.lambda.tracing } : {}),
                // Started by its schedule, which never fires again before an invocation's retries end.
                reservedConcurrency: reservedConcurrencyOf(args.lambda, "crawler-starter", oneAtATime),
                environment: {
                    CRAWLER_NAME: crawler.name,
                    START_ATTEMPTS: String(crawlerStart.attempts),
                    START_RETRY_SECONDS: String(crawlerStart.retrySeconds),
                } satisfies Record<CrawlerStarterVariable, pulumi.Input<string>>,
                policyStatements: [
                    {
                        Sid: "StartStreamCrawler",
                        Effect: "Allow",
                        Action: ["glue:StartCrawler"],
                        Resource: glueArn(scope, pulumi.interpolate`crawler/${crawler.name}`),
                    },
                ],
            },
            { parent: this },
        );
        const scheduleRule = new aws.cloudwatch.EventRule(
            `${name}-crawl-schedule`,
            { description: `Crawls the ${stream.stream} table`, scheduleExpression: schedule },
            { parent: this },
        );
        const permission = new aws.lambda.Permission(
            `${name}-crawl-permission`,
            {
                action: "lambda:InvokeFunction",
                function: starter.functionName,
                principal: "events.amazonaws.com",
                sourceArn: scheduleRule.arn,
            },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-crawl-target`,
            { rule: scheduleRule.name, arn: starter.arn },
            { parent: this, dependsOn: [permission] },
        );
        this.alarms.alarm(
            "crawl-not-started",
            `A scheduled crawl of ${stream.stream} did not start`,
            anyCount({ namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: starter.functionName } }, 3600),
        );
        const failed = new aws.cloudwatch.EventRule(
            `${name}-crawl-failed`,
            { description: `Failed crawls of the ${stream.stream} table`, eventPattern: crawlFailedPattern(crawler.name) },
            { parent: this },
        );
        const failedCrawls = matchedEvents(failed.name);
        this.alarms.alarm("crawl-failures", `A crawl of the ${stream.stream} table started and failed`, anyCount(failedCrawls, 3600));
        return { crawler, failedCrawls };
    }
}
