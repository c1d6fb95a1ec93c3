import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import type { LambdaSettings } from "../components/bundled-function/lambda-settings";
import { AlarmTopic } from "../components/alarm-topic";
import { FileSource } from "../components/file-source";
import { StreamLake } from "../components/stream-lake";
import { WarehouseExport } from "../components/warehouse-export";
import { parseStream, streamSchemaDocument, type Stream, type StreamSchemaDocument } from "../config/stream";
import { policyOf, settle, useMocks, type RecordingMocks } from "./support/pulumi-mocks";
import { fixtureText } from "./support/config-root";
import { repositoryRoot, runProgramWithExports } from "./support/program";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const clickstream = parseStream("config/streams/clickstream.yaml", fixtureText("config/streams/clickstream.yaml"));
const bucket = (name: string) => ({ name, arn: `arn:aws:s3:::${name}` });
const code = new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") });
const kms = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"];

function lambda(mocks: RecordingMocks, name: string): Record<string, unknown> {
    return mocks.ofType("aws:lambda/function:Function").find((resource) => resource.name === name)!.inputs;
}

function queue(mocks: RecordingMocks, name: string): Record<string, unknown> {
    return mocks.ofType("aws:sqs/queue:Queue").find((resource) => resource.name === name)!.inputs;
}

function declareLake(name: string, stream: Stream, lambda?: LambdaSettings): StreamLake {
    return new StreamLake(name, {
        stream,
        kmsKeyArn: keyArn,
        lake: bucket("lake"),
        accessLogsBucketName: "access-logs",
        databaseName: "ingest_test",
        workgroupName: "lake-workgroup",
        securityConfigurationName: "lake-security",
        producerCode: code,
        crawlerStarterCode: code,
        logRetentionDays: 30,
        ...(lambda ? { lambda } : {}),
    });
}

describe("StreamLake", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        declareLake("clicks", clickstream);
        await settle();
    });

    it("declares a KMS-encrypted on-demand stream with the configured retention", () => {
        expect(mocks.named("clicks-stream").inputs).to.deep.equal({
            retentionPeriod: 48,
            encryptionType: "KMS",
            kmsKeyId: keyArn,
            streamModeDetails: { streamMode: "ON_DEMAND" },
        });
    });

    it("declares the table Firehose converts with: typed columns, event hour then event type as partitions", () => {
        const table = mocks.named("clicks-table").inputs;
        expect(table.name).to.equal("clickstream_events");
        expect(table.partitionKeys).to.deep.equal([
            { name: "event_hour", type: "string" },
            { name: "event_type", type: "string" },
        ]);
        const storage = table.storageDescriptor as { location: string; columns: unknown[] };
        expect(storage.location).to.equal("s3://lake/streams/clickstream/data/");
        expect(storage.columns).to.deep.equal([
            { name: "event_id", type: "string", comment: "unique per event, set by the producer" },
            { name: "event_time", type: "timestamp" },
            { name: "event_type", type: "string", comment: "page_view | search | add_to_cart | purchase" },
            { name: "user_id", type: "string" },
            { name: "session_id", type: "string" },
            { name: "page", type: "string" },
            { name: "amount", type: "decimal(12,2)" },
            { name: "item_count", type: "int" },
            { name: "product_id", type: "string", comment: "set on product pages, add_to_cart and purchase" },
        ]);
        expect(table.parameters).to.deep.equal({ classification: "parquet", EXTERNAL: "TRUE", "parquet.compression": "SNAPPY" });
    });

    it("converts to Parquet through the table every 60 s or 64 MiB (seed 002), partitions by event time, backs up raw records and logs", () => {
        const delivery = mocks.named("clicks-delivery").inputs;
        expect(delivery.destination).to.equal("extended_s3");
        expect(delivery.kinesisSourceConfiguration).to.deep.equal({
            kinesisStreamArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream",
            roleArn: "arn:aws:iam:eu-west-1:123456789012:role/clicks-delivery-role",
        });
        const role = "arn:aws:iam:eu-west-1:123456789012:role/clicks-delivery-role";
        expect(delivery.extendedS3Configuration).to.deep.equal({
            roleArn: role,
            bucketArn: "arn:aws:s3:::lake",
            prefix: "streams/clickstream/data/event_hour=!{partitionKeyFromQuery:event_hour}/event_type=!{partitionKeyFromQuery:event_type}/",
            errorOutputPrefix: "streams/clickstream/errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/",
            bufferingSize: 64,
            bufferingInterval: 60,
            compressionFormat: "UNCOMPRESSED",
            kmsKeyArn: keyArn,
            cloudwatchLoggingOptions: { enabled: true, logGroupName: "clicks-delivery-logs", logStreamName: "DestinationDelivery" },
            dynamicPartitioningConfiguration: { enabled: true, retryDuration: 300 },
            processingConfiguration: {
                enabled: true,
                processors: [
                    {
                        type: "MetadataExtraction",
                        parameters: [
                            { parameterName: "JsonParsingEngine", parameterValue: "JQ-1.6" },
                            {
                                parameterName: "MetadataExtractionQuery",
                                parameterValue:
                                    '{event_hour: (.event_time[0:4] + "-" + .event_time[5:7] + "-" + .event_time[8:10] + "-" + .event_time[11:13]), event_type: .event_type}',
                            },
                        ],
                    },
                ],
            },
            dataFormatConversionConfiguration: {
                enabled: true,
                inputFormatConfiguration: { deserializer: { hiveJsonSerDe: { timestampFormats: ["yyyy-MM-dd'T'HH:mm:ss.SSSZZ"] } } },
                outputFormatConfiguration: { serializer: { parquetSerDe: { compression: "SNAPPY" } } },
                schemaConfiguration: {
                    databaseName: "ingest_test",
                    tableName: "clickstream_events",
                    roleArn: role,
                    region: "eu-west-1",
                    versionId: "LATEST",
                },
            },
            s3BackupMode: "Enabled",
            s3BackupConfiguration: {
                roleArn: role,
                bucketArn: "arn:aws:s3:::clicks-raw",
                prefix: "clickstream/!{timestamp:yyyy/MM/dd/HH}/",
                errorOutputPrefix: "clickstream-errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/",
                bufferingSize: 64,
                bufferingInterval: 60,
                compressionFormat: "GZIP",
                kmsKeyArn: keyArn,
                cloudwatchLoggingOptions: { enabled: true, logGroupName: "clicks-delivery-logs", logStreamName: "BackupDelivery" },
            },
        });
    });

    it("expires raw records after the stream's backup retention", () => {
        expect(mocks.named("clicks-raw-lifecycle").inputs.rules).to.deep.equal([
            {
                id: "housekeeping",
                status: "Enabled",
                filter: {},
                abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                noncurrentVersionExpiration: { noncurrentDays: 1 },
            },
            { id: "expire-raw-records", status: "Enabled", filter: {}, expiration: { days: 30 } },
        ]);
    });

    it("lets Firehose read the stream and the table's schema and write only its prefixes", () => {
        expect(policyOf(mocks.named("clicks-delivery-policy")).Statement).to.deep.equal([
            {
                Sid: "ReadSourceStream",
                Effect: "Allow",
                Action: ["kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
                Resource: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream",
            },
            {
                Sid: "FindDestinationBuckets",
                Effect: "Allow",
                Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                Resource: ["arn:aws:s3:::lake", "arn:aws:s3:::clicks-raw"],
            },
            {
                Sid: "WriteDeliveredObjects",
                Effect: "Allow",
                Action: ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                Resource: ["arn:aws:s3:::lake/streams/clickstream/*", "arn:aws:s3:::clicks-raw/*"],
            },
            {
                Sid: "ReadConversionSchema",
                Effect: "Allow",
                Action: ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                Resource: [
                    "arn:aws:glue:eu-west-1:123456789012:catalog",
                    "arn:aws:glue:eu-west-1:123456789012:database/ingest_test",
                    "arn:aws:glue:eu-west-1:123456789012:table/ingest_test/clickstream_events",
                ],
            },
            {
                Sid: "WriteDeliveryLogs",
                Effect: "Allow",
                Action: ["logs:PutLogEvents"],
                Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:clicks-delivery-logs:*",
            },
            { Sid: "UseProjectKey", Effect: "Allow", Action: kms, Resource: keyArn },
        ]);
    });

    it("crawls only the declared table, logging schema changes, started on schedule by a retrying function", () => {
        expect(mocks.named("clicks-crawler").inputs).to.deep.equal({
            description: "Adds the partitions Firehose writes for clickstream",
            databaseName: "ingest_test",
            role: "arn:aws:iam:eu-west-1:123456789012:role/clicks-crawler-role",
            catalogTargets: [{ databaseName: "ingest_test", tables: ["clickstream_events"] }],
            schemaChangePolicy: { updateBehavior: "LOG", deleteBehavior: "LOG" },
            configuration: JSON.stringify({
                Version: 1,
                CrawlerOutput: { Partitions: { AddOrUpdateBehavior: "InheritFromTable" } },
                Grouping: { TableGroupingPolicy: "CombineCompatibleSchemas" },
            }),
            securityConfiguration: "lake-security",
        });
        expect(mocks.named("clicks-crawl-schedule").inputs.scheduleExpression).to.equal("cron(15,45 * * * ? *)");
        expect(mocks.named("clicks-crawl-target").inputs).to.deep.equal({
            rule: "clicks-crawl-schedule",
            arn: "arn:aws:lambda:eu-west-1:123456789012:function/clicks-crawl",
        });
        expect(mocks.named("clicks-crawl-permission").inputs).to.deep.equal({
            action: "lambda:InvokeFunction",
            function: "clicks-crawl",
            principal: "events.amazonaws.com",
            sourceArn: "arn:aws:cloudwatch:eu-west-1:123456789012:eventRule/clicks-crawl-schedule",
        });
        const starter = lambda(mocks, "clicks-crawl");
        expect(starter.timeout).to.equal(180);
        expect(starter.environment).to.deep.equal({
            variables: {
                CRAWLER_NAME: "clicks-crawler",
                START_ATTEMPTS: "5",
                START_RETRY_SECONDS: "30",
            },
        });
        expect(policyOf(mocks.named("clicks-crawl-policy")).Statement.slice(4)).to.deep.equal([
            {
                Sid: "StartStreamCrawler",
                Effect: "Allow",
                Action: ["glue:StartCrawler"],
                Resource: "arn:aws:glue:eu-west-1:123456789012:crawler/clicks-crawler",
            },
        ]);
        expect(policyOf(mocks.named("clicks-crawler-policy")).Statement).to.deep.equal([
            {
                Sid: "ListStreamData",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::lake",
                Condition: { StringLike: { "s3:prefix": ["streams/clickstream/data/*"] } },
            },
            { Sid: "ReadStreamData", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::lake/streams/clickstream/data/*" },
            {
                Sid: "MaintainTablePartitions",
                Effect: "Allow",
                Action: [
                    "glue:BatchCreatePartition",
                    "glue:BatchGetPartition",
                    "glue:BatchUpdatePartition",
                    "glue:CreatePartition",
                    "glue:GetDatabase",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:GetTable",
                    "glue:UpdatePartition",
                ],
                Resource: [
                    "arn:aws:glue:eu-west-1:123456789012:catalog",
                    "arn:aws:glue:eu-west-1:123456789012:database/ingest_test",
                    "arn:aws:glue:eu-west-1:123456789012:table/ingest_test/clickstream_events",
                ],
            },
            {
                Sid: "WriteCrawlerLogs",
                Effect: "Allow",
                Action: ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                // The group Glue names after the crawler's own role and its security configuration.
                Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/crawlers-role/clicks-crawler-role-lake-security:*",
            },
            { Sid: "UseProjectKey", Effect: "Allow", Action: kms, Resource: keyArn },
        ]);
    });

    it("gives the test producer the stream schema and nothing but PutRecords on its stream", () => {
        expect(lambda(mocks, "clicks-producer").environment).to.deep.equal({
            variables: {
                STREAM_NAME: "clicks-stream",
                STREAM_SCHEMA: JSON.stringify(streamSchemaDocument(clickstream)),
            },
        });
        expect(
            policyOf(mocks.named("clicks-producer-policy")).Statement.map((statement) => [
                statement.Sid,
                statement.Action,
                statement.Resource,
            ]),
        ).to.deep.equal([
            [
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                "arn:aws:logs:eu-west-1:123456789012:log-group:clicks-producer-logs:*",
            ],
            ["UseProjectKey", kms, keyArn],
            [
                "SendFailedInvocationsToDeadLetterQueue",
                ["sqs:SendMessage"],
                "arn:aws:sqs:eu-west-1:123456789012:queue/clicks-functions-dlq",
            ],
            ["SendTraces", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*"],
            [
                "PutRecordsOnStream",
                ["kinesis:PutRecord", "kinesis:PutRecords"],
                "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream",
            ],
        ]);
    });

    it("alarms on crawls that started and failed: a rule on the crawler's Failed state changes, counted in the hour", () => {
        expect(mocks.named("clicks-crawl-failed").inputs.description).to.equal("Failed crawls of the clickstream table");
        expect(JSON.parse(mocks.named("clicks-crawl-failed").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.glue"],
            "detail-type": ["Glue Crawler State Change"],
            detail: { crawlerName: ["clicks-crawler"], state: ["Failed"] },
        });
        // Nothing targets the rule: the alarm counts its matches.
        expect(
            mocks.ofType("aws:cloudwatch/eventTarget:EventTarget").filter((target) => target.inputs.rule === "clicks-crawl-failed"),
        ).to.deep.equal([]);
        const topic = "arn:aws:sns:eu-west-1:123456789012:topic/clicks-alarms";
        expect(mocks.named("clicks-alarms-crawl-failures").inputs).to.deep.equal({
            alarmDescription: "A crawl of the clickstream table started and failed",
            alarmActions: [topic],
            okActions: [topic],
            namespace: "AWS/Events",
            metricName: "MatchedEvents",
            dimensions: { RuleName: "clicks-crawl-failed" },
            statistic: "Sum",
            period: 3600,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        });
    });

    it("alarms on freshness, delivery, conversion, lag, dead letters and crawls that did not start or failed", () => {
        const alarms = mocks.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").sort((a, b) => a.name.localeCompare(b.name));
        expect(
            alarms.map((alarm) => [alarm.name, alarm.inputs.metricName, alarm.inputs.comparisonOperator, alarm.inputs.threshold]),
        ).to.deep.equal([
            ["clicks-alarms-consumer-lag", "GetRecords.IteratorAgeMilliseconds", "GreaterThanThreshold", 3_600_000],
            ["clicks-alarms-conversion-failures", "FailedConversion.Records", "GreaterThanOrEqualToThreshold", 1],
            ["clicks-alarms-crawl-failures", "MatchedEvents", "GreaterThanOrEqualToThreshold", 1],
            ["clicks-alarms-crawl-not-started", "Errors", "GreaterThanOrEqualToThreshold", 1],
            ["clicks-alarms-dead-letters", "ApproximateNumberOfMessagesVisible", "GreaterThanOrEqualToThreshold", 1],
            ["clicks-alarms-delivery-failures", "DeliveryToS3.Success", "LessThanThreshold", 1],
            // Freshness allows the 60 s buffer plus 15 minutes.
            ["clicks-alarms-stale", "DeliveryToS3.DataFreshness", "GreaterThanThreshold", 960],
        ]);
        const topic = "arn:aws:sns:eu-west-1:123456789012:topic/clicks-alarms";
        expect(alarms.map((alarm) => [alarm.inputs.alarmActions, alarm.inputs.okActions])).to.deep.equal(
            alarms.map(() => [[topic], [topic]]),
        );
    });

    it("saves recent-events and per-partition queries in the workgroup", () => {
        expect(mocks.ofType("aws:athena/namedQuery:NamedQuery").map((query) => query.inputs)).to.deep.equal([
            {
                name: "clickstream-recent-events",
                description: "The latest 100 clickstream events of the last day",
                workgroup: "lake-workgroup",
                database: "ingest_test",
                query: [
                    `SELECT *`,
                    `FROM "clickstream_events"`,
                    `WHERE event_hour >= date_format(current_timestamp - interval '1' day, '%Y-%m-%d-%H')`,
                    `ORDER BY event_time DESC`,
                    `LIMIT 100`,
                ].join("\n"),
            },
            {
                name: "clickstream-events-per-partition",
                description: "clickstream events per partition over the last 7 days",
                workgroup: "lake-workgroup",
                database: "ingest_test",
                query: [
                    `SELECT event_hour, event_type, count(*) AS events`,
                    `FROM "clickstream_events"`,
                    `WHERE event_hour >= date_format(current_timestamp - interval '7' day, '%Y-%m-%d-%H')`,
                    `GROUP BY event_hour, event_type`,
                    `ORDER BY event_hour, event_type`,
                ].join("\n"),
            },
        ]);
    });
});

describe("StreamLake functions under a stack's Lambda settings", () => {
    const cases: { what: string; lambda?: LambdaSettings; expected: [string, string, number][] }[] = [
        {
            // The producer is invoked by hand, the crawl starter by its schedule: one at a time.
            what: "one execution each by default, traced",
            expected: [
                ["clicks-producer", "Active", 1],
                ["clicks-crawl", "Active", 1],
            ],
        },
        {
            what: "the stack's tracing mode and reservations",
            lambda: { tracing: "PassThrough", reservedConcurrency: { "stream-producer": 3, "crawler-starter": 2 } },
            expected: [
                ["clicks-producer", "PassThrough", 3],
                ["clicks-crawl", "PassThrough", 2],
            ],
        },
    ];
    for (const { what, lambda: settings, expected } of cases) {
        it(`reserves ${what}`, async () => {
            const mocks = await useMocks();
            declareLake("clicks", clickstream, settings);
            await settle();
            expect(
                mocks
                    .ofType("aws:lambda/function:Function")
                    .map((fn) => [fn.name, (fn.inputs.tracingConfig as { mode: string }).mode, fn.inputs.reservedConcurrentExecutions]),
            ).to.deep.equal(expected);
        });
    }
});

describe("StreamLake with partition projection, by event time and by arrival", () => {
    let mocks: RecordingMocks;
    /** A stream of sensor readings partitioned by arrival, by `granularity`, with `keys` (projected, or crawled). */
    const arrivalStream = (name: string, partitioning: string, partitions: string) =>
        parseStream(
            `config/streams/${name}.yaml`,
            [
                `stream: ${name}`,
                "fields:",
                "  - { name: sensor, type: string }",
                "  - { name: site, type: string }",
                "  - { name: read_at, type: timestamp }",
                'eventTime: { field: read_at, format: "yyyy-MM-dd HH:mm" }',
                `partitioning: ${partitioning}`,
                `partitions: ${partitions}`,
            ].join("\n"),
        );
    before(async () => {
        mocks = await useMocks();
        declareLake(
            "arrivals",
            arrivalStream(
                "arrivals",
                "{ by: arrival, granularity: hour, keys: [site] }",
                "{ mode: projection, since: '2026-01-15', keyValues: { site: [north, south] } }",
            ),
        );
        declareLake("visits", arrivalStream("visits", "{ by: arrival, granularity: day }", "{ mode: projection, since: '2026-01-15' }"));
        const text = [
            "stream: sensor-readings",
            "fields:",
            "  - { name: sensor, type: string }",
            "  - { name: site, type: string }",
            "  - { name: read_at, type: timestamp }",
            "  - { name: celsius, type: double }",
            "eventTime: { field: read_at }",
            "partitioning: { granularity: day, keys: [site] }",
            "kinesis: { mode: provisioned, shards: 2 }",
            "buffering: { sizeMiB: 64, intervalSeconds: 60 }",
            "rawBackup: { retentionDays: 7 }",
            "partitions: { mode: projection, since: '2026-01-15', keyValues: { site: [north, south] } }",
        ].join("\n");
        declareLake("sensors", parseStream("config/streams/sensor-readings.yaml", text));
        await settle();
    });

    it("projects day and site partitions instead of crawling", () => {
        expect(mocks.named("sensors-table").inputs.parameters).to.deep.equal({
            classification: "parquet",
            EXTERNAL: "TRUE",
            "parquet.compression": "SNAPPY",
            "projection.enabled": "true",
            "projection.event_day.type": "date",
            "projection.event_day.format": "yyyy-MM-dd",
            "projection.event_day.range": "2026-01-15,NOW",
            "projection.event_day.interval": "1",
            "projection.event_day.interval.unit": "DAYS",
            "projection.site.type": "enum",
            "projection.site.values": "north,south",
            "storage.location.template": "s3://lake/streams/sensor-readings/data/event_day=${event_day}/site=${site}/",
        });
        expect(mocks.ofType("aws:glue/crawler:Crawler")).to.deep.equal([]);
        expect(mocks.ofType("aws:lambda/function:Function").map((fn) => fn.name)).to.deep.equal([
            "arrivals-producer",
            "visits-producer",
            "sensors-producer",
        ]);
        // No crawler, so no crawl alarms.
        expect(
            mocks
                .ofType("aws:cloudwatch/metricAlarm:MetricAlarm")
                .map((alarm) => alarm.name)
                .filter((name) => name.includes("crawl")),
        ).to.deep.equal([]);
    });

    // By arrival, Firehose's own !{timestamp:...} fills the time partition: with keys, dynamic partitioning
    // extracts only the keys; without, Firehose reads nothing of the records and needs no dynamic partitioning.
    const arrivals: {
        lake: string;
        recentFormat: string;
        stream: string;
        prefix: string;
        partitionKeys: { name: string; type: string }[];
        query?: string;
        projection: Record<string, string>;
    }[] = [
        {
            lake: "arrivals",
            recentFormat: "%Y-%m-%d-%H",
            stream: "arrivals",
            prefix: "streams/arrivals/data/arrival_hour=!{timestamp:yyyy-MM-dd-HH}/site=!{partitionKeyFromQuery:site}/",
            partitionKeys: [
                { name: "arrival_hour", type: "string" },
                { name: "site", type: "string" },
            ],
            query: "{site: .site}",
            projection: {
                "projection.arrival_hour.type": "date",
                "projection.arrival_hour.format": "yyyy-MM-dd-HH",
                "projection.arrival_hour.range": "2026-01-15-00,NOW",
                "projection.arrival_hour.interval": "1",
                "projection.arrival_hour.interval.unit": "HOURS",
                "projection.site.type": "enum",
                "projection.site.values": "north,south",
                "storage.location.template": "s3://lake/streams/arrivals/data/arrival_hour=${arrival_hour}/site=${site}/",
            },
        },
        {
            lake: "visits",
            recentFormat: "%Y-%m-%d",
            stream: "visits",
            prefix: "streams/visits/data/arrival_day=!{timestamp:yyyy-MM-dd}/",
            partitionKeys: [{ name: "arrival_day", type: "string" }],
            projection: {
                "projection.arrival_day.type": "date",
                "projection.arrival_day.format": "yyyy-MM-dd",
                "projection.arrival_day.range": "2026-01-15,NOW",
                "projection.arrival_day.interval": "1",
                "projection.arrival_day.interval.unit": "DAYS",
                "storage.location.template": "s3://lake/streams/visits/data/arrival_day=${arrival_day}/",
            },
        },
    ];
    for (const { lake, recentFormat, stream, prefix, partitionKeys, query, projection } of arrivals) {
        it(`partitions ${stream} by arrival: ${prefix}`, () => {
            const configuration = mocks.named(`${lake}-delivery`).inputs.extendedS3Configuration as Record<string, unknown>;
            const { processingConfiguration, dynamicPartitioningConfiguration } = configuration;
            expect({ prefix: configuration.prefix, processingConfiguration, dynamicPartitioningConfiguration }).to.deep.equal({
                prefix,
                ...(query !== undefined
                    ? {
                          dynamicPartitioningConfiguration: { enabled: true, retryDuration: 300 },
                          processingConfiguration: {
                              enabled: true,
                              processors: [
                                  {
                                      type: "MetadataExtraction",
                                      parameters: [
                                          { parameterName: "JsonParsingEngine", parameterValue: "JQ-1.6" },
                                          { parameterName: "MetadataExtractionQuery", parameterValue: query },
                                      ],
                                  },
                              ],
                          },
                      }
                    : { dynamicPartitioningConfiguration: undefined, processingConfiguration: undefined }),
            });
            // The event time is still a timestamp column, parsed with its format.
            expect(configuration.dataFormatConversionConfiguration).to.deep.include({
                inputFormatConfiguration: { deserializer: { hiveJsonSerDe: { timestampFormats: ["yyyy-MM-dd HH:mm"] } } },
            });
            const table = mocks.named(`${lake}-table`).inputs;
            expect(table.partitionKeys).to.deep.equal(partitionKeys);
            // The saved queries bound the arrival column, and order by the event time.
            const recent = mocks.named(`${lake}-recent-events`).inputs.query as string;
            expect(recent.split("\n").slice(2, 4)).to.deep.equal([
                `WHERE ${partitionKeys[0]!.name} >= date_format(current_timestamp - interval '1' day, '${recentFormat}')`,
                "ORDER BY read_at DESC",
            ]);
            expect(table.parameters).to.deep.equal({
                classification: "parquet",
                EXTERNAL: "TRUE",
                "parquet.compression": "SNAPPY",
                "projection.enabled": "true",
                ...projection,
            });
        });
    }

    it("reads epoch milliseconds and provisions the configured shards", () => {
        const configuration = mocks.named("sensors-delivery").inputs.extendedS3Configuration as {
            processingConfiguration: { processors: { parameters: { parameterValue: string }[] }[] };
            dataFormatConversionConfiguration: { inputFormatConfiguration: unknown };
            bufferingSize: number;
            bufferingInterval: number;
        };
        expect(configuration.processingConfiguration.processors[0]!.parameters[1]!.parameterValue).to.equal(
            '{event_day: (.read_at / 1000 | floor | strftime("%Y-%m-%d")), site: .site}',
        );
        expect(configuration.dataFormatConversionConfiguration.inputFormatConfiguration).to.deep.equal({
            deserializer: { hiveJsonSerDe: { timestampFormats: ["millis"] } },
        });
        expect([configuration.bufferingSize, configuration.bufferingInterval]).to.deep.equal([64, 60]);
        expect(mocks.named("sensors-stream").inputs).to.deep.include({
            streamModeDetails: { streamMode: "PROVISIONED" },
            shardCount: 2,
            retentionPeriod: 24,
        });
    });
});

describe("StreamLake by arrival without an event time", () => {
    let mocks: RecordingMocks;
    const file = "test/fixtures/streams-arrival/pings.yaml";
    const pings = parseStream(file, fs.readFileSync(path.join(repositoryRoot, file), "utf8"));
    before(async () => {
        mocks = await useMocks();
        declareLake("pings", pings);
        await settle();
    });

    it("partitions by Firehose's !{timestamp:...} with no dynamic partitioning, parsing timestamps with eventTime.format", () => {
        const configuration = mocks.named("pings-delivery").inputs.extendedS3Configuration as Record<string, unknown>;
        const { prefix, processingConfiguration, dynamicPartitioningConfiguration, dataFormatConversionConfiguration } = configuration;
        expect({ prefix, processingConfiguration, dynamicPartitioningConfiguration }).to.deep.equal({
            prefix: "streams/pings/data/arrival_hour=!{timestamp:yyyy-MM-dd-HH}/",
            processingConfiguration: undefined,
            dynamicPartitioningConfiguration: undefined,
        });
        expect(dataFormatConversionConfiguration).to.deep.include({
            inputFormatConfiguration: { deserializer: { hiveJsonSerDe: { timestampFormats: ["yyyy-MM-dd HH:mm:ss"] } } },
        });
        expect(mocks.named("pings-table").inputs.partitionKeys).to.deep.equal([{ name: "arrival_hour", type: "string" }]);
    });

    it("hands the producer a schema without an event-time field", () => {
        const variables = (lambda(mocks, "pings-producer").environment as { variables: Record<string, string> }).variables;
        expect(variables.STREAM_SCHEMA).to.equal(JSON.stringify(streamSchemaDocument(pings)));
        expect((JSON.parse(variables.STREAM_SCHEMA!) as StreamSchemaDocument).eventTime).to.deep.equal({ format: "yyyy-MM-dd HH:mm:ss" });
    });

    it("orders the recent events by the arrival partition, latest first", () => {
        expect(mocks.named("pings-recent-events").inputs.query).to.equal(
            [
                `SELECT *`,
                `FROM "pings_events"`,
                `WHERE arrival_hour >= date_format(current_timestamp - interval '1' day, '%Y-%m-%d-%H')`,
                `ORDER BY arrival_hour DESC`,
                `LIMIT 100`,
            ].join("\n"),
        );
    });
});

describe("FileSource and WarehouseExport", () => {
    let mocks: RecordingMocks;
    const warehouse = {
        ...clickstream.warehouse!,
        snowflake: {
            externalId: "ACME_SFCRole=2_abc",
            iamUserArn: "arn:aws:iam::987654321098:user/snowflake-x1y2",
            notificationChannel: "arn:aws:sqs:eu-west-1:987654321098:sf-snowpipe-AIDA-x1y2",
        },
    };
    before(async () => {
        mocks = await useMocks();
        const alarms = new AlarmTopic("clicks-alarms", { kmsKeyArn: keyArn });
        new FileSource("clicks", {
            stream: clickstream,
            prefix: "incoming/",
            streamName: "clicks-stream",
            streamArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream",
            kmsKeyArn: keyArn,
            accessLogsBucketName: "access-logs",
            reports: bucket("quarantine"),
            code,
            functionDeadLetterQueueArn: "arn:aws:sqs:eu-west-1:123456789012:clicks-functions-dlq",
            alarms,
            retentionDays: 90,
        });
        new WarehouseExport("clicks-warehouse", {
            stream: clickstream,
            warehouse,
            streamArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream",
            kmsKeyArn: keyArn,
            accessLogsBucketName: "access-logs",
            quarantine: bucket("quarantine"),
            glueAssets: bucket("assets"),
            securityConfigurationName: "lake-security",
            jobScript: new pulumi.asset.StringAsset("print('export')"),
            jobPackage: new pulumi.asset.AssetArchive({}),
            alarms,
            retentionDays: 90,
            starterCode: code, // the example's warehouse.trigger is on-delivery (test/warehouse-export.test.ts)
        });
        await settle();
    });

    it("queues files landing under the prefix to a loader with the stream's schema", () => {
        expect(JSON.parse(mocks.named("clicks-files-created").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: { bucket: { name: ["clicks-source"] }, object: { key: [{ prefix: "incoming/" }] } },
        });
        expect(queue(mocks, "clicks-files")).to.deep.include({ visibilityTimeoutSeconds: 5400 });
        expect(JSON.parse(queue(mocks, "clicks-files").redrivePolicy as string)).to.deep.equal({
            deadLetterTargetArn: "arn:aws:sqs:eu-west-1:123456789012:queue/clicks-files-dlq",
            maxReceiveCount: 3,
        });
        expect(mocks.named("clicks-loader-source").inputs).to.deep.equal({
            eventSourceArn: "arn:aws:sqs:eu-west-1:123456789012:queue/clicks-files",
            functionName: "arn:aws:lambda:eu-west-1:123456789012:function/clicks-loader",
            batchSize: 1,
            functionResponseTypes: ["ReportBatchItemFailures"],
            // As many loaders at once as the function reserves: Lambda's lowest maximum for a queue.
            scalingConfig: { maximumConcurrency: 2 },
        });
        const loader = lambda(mocks, "clicks-loader");
        expect([loader.timeout, loader.memorySize, loader.reservedConcurrentExecutions, loader.tracingConfig]).to.deep.equal([
            900,
            1024,
            2,
            { mode: "Active" },
        ]);
        expect(loader.environment).to.deep.equal({
            variables: {
                STREAM_NAME: "clicks-stream",
                STREAM_SCHEMA: JSON.stringify(streamSchemaDocument(clickstream)),
                SOURCE_BUCKET: "clicks-source",
                REPORT_BUCKET: "quarantine",
                REPORT_PREFIX: "streams/clickstream/file-reports/",
                // fileSource.maxFileMiB unset: the loader's default, 512 MiB.
                MAX_FILE_BYTES: "536870912",
            },
        });
        expect(policyOf(mocks.named("clicks-loader-policy")).Statement.slice(4)).to.deep.equal([
            {
                Sid: "ConsumeFileQueue",
                Effect: "Allow",
                Action: ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                Resource: "arn:aws:sqs:eu-west-1:123456789012:queue/clicks-files",
            },
            {
                Sid: "FindLandedFiles",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::clicks-source",
                Condition: { StringLike: { "s3:prefix": ["incoming/*"] } },
            },
            {
                Sid: "ReadLandedFiles",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:GetObjectVersion"],
                Resource: "arn:aws:s3:::clicks-source/incoming/*",
            },
            {
                Sid: "WriteFileReports",
                Effect: "Allow",
                Action: ["s3:PutObject"],
                Resource: "arn:aws:s3:::quarantine/streams/clickstream/file-reports/*",
            },
            {
                Sid: "PutRecordsOnStream",
                Effect: "Allow",
                Action: ["kinesis:PutRecord", "kinesis:PutRecords"],
                Resource: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream",
            },
        ]);
    });

    it("delivers the stream as compressed JSON to the delivery bucket", () => {
        expect(mocks.named("clicks-warehouse-delivery").inputs.extendedS3Configuration).to.deep.equal({
            roleArn: "arn:aws:iam:eu-west-1:123456789012:role/clicks-warehouse-delivery-role",
            bucketArn: "arn:aws:s3:::clicks-warehouse-intermediate",
            prefix: "clickstream/!{timestamp:yyyy/MM/dd/HH}/",
            errorOutputPrefix: "clickstream-errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/",
            bufferingSize: 64,
            bufferingInterval: 60,
            compressionFormat: "GZIP",
            kmsKeyArn: keyArn,
            cloudwatchLoggingOptions: {
                enabled: true,
                logGroupName: "clicks-warehouse-delivery-logs",
                logStreamName: "DestinationDelivery",
            },
        });
    });

    it("runs the export job on schedule with the contract's arguments, one run at a time", () => {
        const job = mocks.named("clicks-warehouse-job").inputs;
        expect(job).to.deep.include({
            glueVersion: "5.1",
            workerType: "G.1X",
            numberOfWorkers: 2,
            timeout: 30,
            maxRetries: 0,
            executionProperty: { maxConcurrentRuns: 1 },
            securityConfiguration: "lake-security",
            command: { name: "glueetl", pythonVersion: "3", scriptLocation: "s3://assets/jobs/streams/clickstream/stream_export_job.py" },
        });
        expect(job.defaultArguments).to.deep.include({
            "--extra-py-files": "s3://assets/jobs/streams/clickstream/ingest.zip",
            "--stream_uri": "s3://assets/jobs/streams/clickstream/stream.json",
            "--delivery_bucket": "clicks-warehouse-intermediate",
            "--delivery_prefix": "clickstream/",
            "--destination_bucket": "clicks-warehouse-destination",
            "--destination_prefix": "clickstream/",
            "--quarantine_bucket": "quarantine",
            "--quarantine_prefix": "streams/clickstream/export/",
            "--staging_uri": "s3://assets/temporary/streams/clickstream/export/",
            "--TempDir": "s3://assets/temporary/streams/clickstream/",
        });
        expect(mocks.named("clicks-warehouse-schedule").inputs).to.deep.equal({
            description: "Exports new clickstream records on schedule",
            type: "SCHEDULED",
            schedule: "cron(0/15 * * * ? *)",
            startOnCreation: true,
            actions: [{ jobName: "clicks-warehouse-job" }],
        });
        const schemaObject = mocks.named("clicks-warehouse-job-schema").inputs;
        expect([schemaObject.key, schemaObject.kmsKeyId]).to.deep.equal(["jobs/streams/clickstream/stream.json", keyArn]);
    });

    it("notifies the Snowpipe's queue of Parquet created under the stream's prefix", () => {
        expect(mocks.named("clicks-warehouse-destination-notifications").inputs).to.deep.equal({
            bucket: "clicks-warehouse-destination-id",
            queues: [
                {
                    queueArn: "arn:aws:sqs:eu-west-1:987654321098:sf-snowpipe-AIDA-x1y2",
                    events: ["s3:ObjectCreated:*"],
                    filterPrefix: "clickstream/",
                },
            ],
        });
    });

    it("lets the Snowflake storage integration, and only it, read the exported Parquet", () => {
        expect(JSON.parse(mocks.named("clicks-warehouse-snowflake").inputs.assumeRolePolicy as string)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "AssumedBySnowflakeStorageIntegration",
                    Effect: "Allow",
                    Principal: { AWS: "arn:aws:iam::987654321098:user/snowflake-x1y2" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "sts:ExternalId": "ACME_SFCRole=2_abc" } },
                },
            ],
        });
        expect(policyOf(mocks.named("clicks-warehouse-snowflake-policy")).Statement).to.deep.equal([
            {
                Sid: "ListExportedParquet",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::clicks-warehouse-destination",
                Condition: { StringLike: { "s3:prefix": ["clickstream/*"] } },
            },
            {
                Sid: "LocateDestinationBucket",
                Effect: "Allow",
                Action: ["s3:GetBucketLocation"],
                Resource: "arn:aws:s3:::clicks-warehouse-destination",
            },
            {
                Sid: "ReadExportedParquet",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:GetObjectVersion"],
                Resource: "arn:aws:s3:::clicks-warehouse-destination/clickstream/*",
            },
            {
                // Only when S3 decrypts an object of the destination bucket (a Bucket Key: the bucket's ARN is the context).
                Sid: "DecryptExportedParquet",
                Effect: "Allow",
                Action: ["kms:Decrypt"],
                Resource: keyArn,
                Condition: {
                    StringEquals: {
                        "kms:ViaService": "s3.eu-west-1.amazonaws.com",
                        "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::clicks-warehouse-destination",
                    },
                },
            },
        ]);
    });

    it("scopes the export job to its stream's prefixes", () => {
        expect(
            policyOf(mocks.named("clicks-warehouse-job-policy")).Statement.map((statement) => [
                statement.Sid,
                statement.Action,
                statement.Resource,
                statement.Condition,
            ]),
        ).to.deep.equal([
            [
                "ListOwnPrefixes",
                ["s3:ListBucket"],
                ["arn:aws:s3:::clicks-warehouse-intermediate", "arn:aws:s3:::clicks-warehouse-destination", "arn:aws:s3:::assets"],
                {
                    StringLike: {
                        "s3:prefix": [
                            "clickstream/*",
                            "_exported/clickstream/*",
                            "clickstream/*",
                            "temporary/streams/clickstream/export/*",
                        ],
                    },
                },
            ],
            ["ReadDeliveredRecords", ["s3:GetObject"], "arn:aws:s3:::clicks-warehouse-intermediate/clickstream/*", undefined],
            [
                "MarkExportedObjects",
                ["s3:GetObject", "s3:PutObject"],
                "arn:aws:s3:::clicks-warehouse-intermediate/_exported/clickstream/*",
                undefined,
            ],
            [
                "WriteParquetRejectsAndStaging",
                ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                [
                    "arn:aws:s3:::clicks-warehouse-destination/clickstream/*",
                    "arn:aws:s3:::quarantine/streams/clickstream/export/*",
                    "arn:aws:s3:::assets/temporary/streams/clickstream/export/*",
                ],
                undefined,
            ],
            ["ReadJobCodeAndSchema", ["s3:GetObject"], "arn:aws:s3:::assets/jobs/streams/clickstream/*", undefined],
            ["UseProjectKey", kms, keyArn, undefined],
            [
                "WriteOwnGlueLogs",
                ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                ["output", "error"].map(
                    (group) =>
                        `arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/jobs/lake-security-role/clicks-warehouse-job-role/${group}:*`,
                ),
                undefined,
            ],
            ["PublishJobMetrics", ["cloudwatch:PutMetricData"], "*", { StringEquals: { "cloudwatch:namespace": ["Glue", "Ingestion"] } }],
        ]);
    });
});

describe("FileSource under a stack's Lambda settings", () => {
    it("reserves the stack's loader concurrency, which its queue mapping polls for too", async () => {
        const mocks = await useMocks();
        new FileSource("clicks", {
            stream: clickstream,
            prefix: "incoming/",
            streamName: "clicks-stream",
            streamArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream",
            kmsKeyArn: keyArn,
            accessLogsBucketName: "access-logs",
            reports: bucket("quarantine"),
            code,
            functionDeadLetterQueueArn: "arn:aws:sqs:eu-west-1:123456789012:clicks-functions-dlq",
            alarms: new AlarmTopic("clicks-alarms", { kmsKeyArn: keyArn }),
            retentionDays: 90,
            lambda: { tracing: "PassThrough", reservedConcurrency: { "file-loader": 6 } },
        });
        await settle();
        const loader = lambda(mocks, "clicks-loader");
        expect([
            loader.tracingConfig,
            loader.reservedConcurrentExecutions,
            mocks.named("clicks-loader-source").inputs.scalingConfig,
        ]).to.deep.equal([{ mode: "PassThrough" }, 6, { maximumConcurrency: 6 }]);
    });
});

describe("FileSource with the stream's file bound", () => {
    it("hands the loader fileSource.maxFileMiB in bytes", async () => {
        const mocks = await useMocks();
        new FileSource("clicks", {
            stream: { ...clickstream, fileSource: { prefix: "incoming/", maxFileMiB: 64 } },
            prefix: "incoming/",
            streamName: "clicks-stream",
            streamArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream",
            kmsKeyArn: keyArn,
            accessLogsBucketName: "access-logs",
            reports: bucket("quarantine"),
            code,
            functionDeadLetterQueueArn: "arn:aws:sqs:eu-west-1:123456789012:clicks-functions-dlq",
            alarms: new AlarmTopic("clicks-alarms", { kmsKeyArn: keyArn }),
            retentionDays: 90,
        });
        await settle();
        const { variables } = lambda(mocks, "clicks-loader").environment as { variables: Record<string, string> };
        expect(variables.MAX_FILE_BYTES).to.equal("67108864");
    });
});

describe("stack outputs of the dev stack's streams", () => {
    it("name the stream, table, buckets and what Snowpipe needs", async () => {
        const { exports } = await runProgramWithExports("dev");
        expect(exports.streamingLakes).to.deep.equal({
            clickstream: {
                kinesisStream: "ingest-dev-clickstream-stream",
                table: "clickstream_events",
                rawBackupBucket: "ingest-dev-clickstream-raw",
                deliveryStream: "ingest-dev-clickstream-delivery",
                producerFunction: "ingest-dev-clickstream-producer",
                alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:topic/ingest-dev-clickstream-alarms",
                crawler: "ingest-dev-clickstream-crawler",
                sourceBucket: "ingest-dev-clickstream-source",
                sourcePrefix: "incoming/",
                warehouse: {
                    destinationBucket: "ingest-dev-clickstream-warehouse-destination",
                    destinationPrefix: "clickstream/",
                    snowflakeRoleArn: "arn:aws:iam:eu-west-1:123456789012:role/ingest-dev-clickstream-warehouse-snowflake",
                    snowflakeExternalId: "ACME_SFCRole=2_kT7yQ1mZ0bX9cV3nL5pR8sW2uE4=",
                    notificationQueueArn: null,
                    exportJob: "ingest-dev-clickstream-warehouse-job",
                },
            },
        });
    });
});
