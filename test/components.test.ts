import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { Catalog } from "../components/catalog";
import { ExtractPipeline } from "../components/extract-pipeline";
import { Storage } from "../components/storage";
import { buildJobPlan } from "../config/job-plan";
import { parseMapping } from "../config/mapping";
import { policyOf, settle, useMocks, type RecordingMocks } from "./support/pulumi-mocks";
import { repositoryRoot } from "./support/program";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const customersPlan = buildJobPlan(
    parseMapping("config/mappings/customers.yaml", fs.readFileSync(path.join(repositoryRoot, "config/mappings/customers.yaml"), "utf8")),
);

describe("Storage", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        new Storage("lake", { retentionDays: 270 });
        await settle();
    });

    it("declares one rotating key and six buckets named from the component", () => {
        expect(
            mocks.ofType("aws:kms/key:Key").map((key) => [key.name, key.inputs.enableKeyRotation, key.inputs.deletionWindowInDays]),
        ).to.deep.equal([["lake-key", true, 30]]);
        expect(mocks.ofType("aws:s3/bucket:Bucket").map((bucket) => [bucket.name, bucket.inputs.forceDestroy])).to.deep.equal([
            ["lake-access-logs", false],
            ["lake-landing", false],
            ["lake-lake", false],
            ["lake-quarantine", false],
            ["lake-glue-assets", false],
            ["lake-athena-results", false],
        ]);
    });

    it("expires data after the retention window and scratch data after days", () => {
        const rules = Object.fromEntries(
            mocks
                .ofType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
                .map((lifecycle) => [lifecycle.name, lifecycle.inputs.rules]),
        );
        const housekeeping = (versioned: boolean) => ({
            id: "housekeeping",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
            ...(versioned ? { noncurrentVersionExpiration: { noncurrentDays: 30 } } : {}),
        });
        const expire = (id: string, days: number, prefix?: string) => ({
            id,
            status: "Enabled",
            filter: prefix ? { prefix } : {},
            expiration: { days },
        });
        expect(rules).to.deep.equal({
            "lake-access-logs-lifecycle": [housekeeping(false), expire("expire-access-logs", 365)],
            "lake-landing-lifecycle": [housekeeping(true), expire("expire-landed-archives", 270)],
            "lake-lake-lifecycle": [housekeeping(true), expire("expire-lake-data", 270)],
            "lake-quarantine-lifecycle": [housekeeping(true), expire("expire-quarantine", 270)],
            "lake-glue-assets-lifecycle": [housekeeping(true), expire("expire-temporary-files", 7, "temporary/")],
            "lake-athena-results-lifecycle": [housekeeping(false), expire("expire-query-results", 7)],
        });
    });

    it("versions the buckets where data lands, and logs every data bucket to the log bucket", () => {
        expect(mocks.ofType("aws:s3/bucketVersioning:BucketVersioning").map((versioning) => versioning.name)).to.deep.equal([
            "lake-landing-versioning",
            "lake-lake-versioning",
            "lake-quarantine-versioning",
            "lake-glue-assets-versioning",
        ]);
        expect(
            mocks
                .ofType("aws:s3/bucketLogging:BucketLogging")
                .map((logging) => [logging.name, logging.inputs.targetBucket, logging.inputs.targetPrefix]),
        ).to.deep.equal([
            ["lake-landing-logging", "lake-access-logs", "landing/"],
            ["lake-lake-logging", "lake-access-logs", "lake/"],
            ["lake-quarantine-logging", "lake-access-logs", "quarantine/"],
            ["lake-glue-assets-logging", "lake-access-logs", "glue-assets/"],
            ["lake-athena-results-logging", "lake-access-logs", "athena-results/"],
        ]);
        expect(
            mocks
                .ofType("aws:s3/bucketNotification:BucketNotification")
                .map((notification) => [notification.name, notification.inputs.eventbridge]),
        ).to.deep.equal([["lake-landing-notifications", true]]);
    });

    it("grants the logging service write access to the log bucket only, from this account", () => {
        expect(policyOf(mocks.named("lake-access-logs-policy")).Statement[1]).to.deep.equal({
            Sid: "S3ServerAccessLogDelivery",
            Effect: "Allow",
            Principal: { Service: "logging.s3.amazonaws.com" },
            Action: ["s3:PutObject"],
            Resource: "arn:aws:s3:::lake-access-logs/*",
            Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
        });
    });

    it("lets a stack opt in to deleting data", async () => {
        const optedIn = await useMocks();
        new Storage("scratch", { retentionDays: 1, allowDataDeletion: true });
        await settle();
        expect(optedIn.ofType("aws:s3/bucket:Bucket").every((bucket) => bucket.inputs.forceDestroy === true)).to.equal(true);
    });
});

describe("Catalog", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        new Catalog("lake", {
            databaseName: "ingest_test",
            lakeBucketName: "lake-bucket",
            kmsKeyArn: keyArn,
            athenaResultsBucketName: "results-bucket",
            tables: [
                {
                    name: "crm_orders",
                    description: "orders",
                    columns: [
                        { name: "order_id", type: "string" },
                        { name: "total", type: "decimal(14,2)" },
                    ],
                    partitionKeys: [{ name: "ingest_extract_id", type: "string" }],
                    lakePrefix: "crm/orders/",
                },
            ],
        });
        await settle();
    });

    it("declares an explicitly typed Parquet table with its partition key", () => {
        const table = mocks.named("lake-crm_orders");
        expect(table.inputs).to.deep.include({
            name: "crm_orders",
            databaseName: "ingest_test",
            tableType: "EXTERNAL_TABLE",
            partitionKeys: [{ name: "ingest_extract_id", type: "string" }],
        });
        expect(table.inputs.storageDescriptor).to.deep.equal({
            location: "s3://lake-bucket/crm/orders/",
            inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            serDeInfo: {
                name: "parquet",
                serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                parameters: { "serialization.format": "1" },
            },
            columns: [
                { name: "order_id", type: "string" },
                { name: "total", type: "decimal(14,2)" },
            ],
        });
    });

    it("encrypts S3, CloudWatch and bookmarks, and enforces an encrypted, capped workgroup", () => {
        expect(mocks.named("lake-security").inputs.encryptionConfiguration).to.deep.equal({
            s3Encryption: { s3EncryptionMode: "SSE-KMS", kmsKeyArn: keyArn },
            cloudwatchEncryption: { cloudwatchEncryptionMode: "SSE-KMS", kmsKeyArn: keyArn },
            jobBookmarksEncryption: { jobBookmarksEncryptionMode: "CSE-KMS", kmsKeyArn: keyArn },
        });
        expect(mocks.named("lake-workgroup").inputs).to.deep.include({
            forceDestroy: false,
            configuration: {
                enforceWorkgroupConfiguration: true,
                publishCloudwatchMetricsEnabled: true,
                bytesScannedCutoffPerQuery: 10737418240,
                engineVersion: { selectedEngineVersion: "Athena engine version 3" },
                resultConfiguration: {
                    outputLocation: "s3://results-bucket/results/",
                    encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKeyArn: keyArn },
                },
            },
        });
    });
});

describe("ExtractPipeline", () => {
    let mocks: RecordingMocks;
    const bucket = (name: string) => ({ name, arn: `arn:aws:s3:::${name}` });
    before(async () => {
        mocks = await useMocks();
        new ExtractPipeline("crm", {
            plan: customersPlan,
            kmsKeyArn: keyArn,
            landing: bucket("landing"),
            lake: bucket("lake"),
            quarantine: bucket("quarantine"),
            glueAssets: bucket("assets"),
            databaseName: "ingest_test",
            securityConfigurationName: "lake-security",
            triggerCode: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") }),
            jobScript: new pulumi.asset.StringAsset("print('job')"),
            jobPackage: new pulumi.asset.AssetArchive({}),
            glue: { workerType: "G.2X", maxWorkers: 8, flex: true },
            notificationEmail: "team@example.com",
            freshnessHours: 6,
            deletionProtection: true,
        });
        await settle();
    });

    it("keys the items table from the mapping, with TTL, PITR, the project key and deletion protection", () => {
        expect(mocks.named("crm-items").inputs).to.deep.equal({
            billingMode: "PAY_PER_REQUEST",
            pointInTimeRecovery: { enabled: true },
            serverSideEncryption: { enabled: true, kmsKeyArn: keyArn },
            deletionProtectionEnabled: true,
            hashKey: "pk",
            rangeKey: "sk",
            attributes: [
                { name: "pk", type: "S" },
                { name: "sk", type: "S" },
            ],
            ttl: { attributeName: "expires_at", enabled: true },
        });
        expect(mocks.named("crm-runs").inputs).to.deep.include({ hashKey: "archive", ttl: { attributeName: "expiresAt", enabled: true } });
    });

    it("runs the job on Glue 5.1 with the contract's arguments, auto scaling, Flex and queuing", () => {
        const job = mocks.named("crm-job").inputs;
        expect(job).to.deep.include({
            glueVersion: "5.1",
            workerType: "G.2X",
            numberOfWorkers: 8,
            executionClass: "FLEX",
            timeout: 60,
            maxRetries: 1,
            executionProperty: { maxConcurrentRuns: 2 },
            jobRunQueuingEnabled: true,
            securityConfiguration: "lake-security",
            command: { name: "glueetl", pythonVersion: "3", scriptLocation: "s3://assets/jobs/customers/extract_job.py" },
        });
        expect(job.defaultArguments).to.deep.equal({
            "--job-language": "python",
            "--enable-auto-scaling": "true",
            "--enable-metrics": "true",
            "--enable-observability-metrics": "true",
            "--enable-continuous-cloudwatch-log": "true",
            "--enable-glue-datacatalog": "true",
            "--TempDir": "s3://assets/temporary/customers/",
            "--extra-py-files": "s3://assets/jobs/customers/ingest.zip",
            "--plan_uri": "s3://assets/jobs/customers/plan.json",
            "--lake_bucket": "lake",
            "--quarantine_bucket": "quarantine",
            "--items_table": "crm-items",
            "--glue_database": "ingest_test",
            "--notification_topic_arn": "arn:aws:sns:eu-west-1:123456789012:topic/crm-notifications",
            "--run_ledger_table": "crm-runs",
            "--staging_uri": "s3://assets/temporary/customers/staging/",
        });
    });

    it("uploads the job plan the mapping produced", () => {
        const planObject = mocks.named("crm-job-plan").inputs;
        expect(planObject.key).to.equal("jobs/customers/plan.json");
        expect(planObject.kmsKeyId).to.equal(keyArn);
    });

    it("routes landed archives under the prefix through EventBridge to the trigger queue", () => {
        expect(JSON.parse(mocks.named("crm-archive-landed").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: { bucket: { name: ["landing"] }, object: { key: [{ prefix: "incoming/customers/" }] } },
        });
        expect(JSON.parse(mocks.named("crm-archives").inputs.redrivePolicy as string)).to.deep.equal({
            deadLetterTargetArn: "arn:aws:sqs:eu-west-1:123456789012:queue/crm-archives-dlq",
            maxReceiveCount: 5,
        });
        expect(mocks.named("crm-trigger-source").inputs).to.deep.include({
            batchSize: 10,
            maximumBatchingWindowInSeconds: 5,
            functionResponseTypes: ["ReportBatchItemFailures"],
            scalingConfig: { maximumConcurrency: 2 },
        });
    });

    it("gives the trigger exactly the permissions it needs", () => {
        expect(
            policyOf(mocks.named("crm-trigger-policy")).Statement.map((statement) => [statement.Sid, statement.Action, statement.Resource]),
        ).to.deep.equal([
            [
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                "arn:aws:logs:eu-west-1:123456789012:log-group:crm-trigger-logs:*",
            ],
            ["UseProjectKey", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], keyArn],
            ["SendFailedInvocationsToDeadLetterQueue", ["sqs:SendMessage"], "arn:aws:sqs:eu-west-1:123456789012:queue/crm-archives-dlq"],
            [
                "ConsumeTriggerQueue",
                ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                "arn:aws:sqs:eu-west-1:123456789012:queue/crm-archives",
            ],
            [
                "ClaimArchivesInRunLedger",
                ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                "arn:aws:dynamodb:eu-west-1:123456789012:table/crm-runs",
            ],
            ["StartExtractJob", ["glue:StartJobRun"], "arn:aws:glue:eu-west-1:123456789012:job/crm-job"],
            [
                "ReadAndTagBadlyNamedArchives",
                ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"],
                "arn:aws:s3:::landing/incoming/customers/*",
            ],
            ["QuarantineBadlyNamedArchives", ["s3:PutObject"], "arn:aws:s3:::quarantine/customers/archives/bad-archive-name/*"],
        ]);
        expect(mocks.ofType("aws:lambda/function:Function")[0]!.inputs.environment).to.deep.equal({
            variables: {
                NODE_OPTIONS: "--enable-source-maps",
                JOB_NAME: "crm-job",
                RUN_LEDGER_TABLE: "crm-runs",
                LANDING_BUCKET: "landing",
                LANDING_PREFIX: "incoming/customers/",
                ARCHIVE_NAMING: JSON.stringify(customersPlan.extract.archiveNaming),
                PIPELINE: "customers",
                QUARANTINE_BUCKET: "quarantine",
            },
        });
    });

    it("scopes the job role to this pipeline's prefixes, tables and topic", () => {
        expect(policyOf(mocks.named("crm-job-policy")).Statement.map((statement) => [statement.Sid, statement.Resource])).to.deep.equal([
            ["ReadAndTagLandedArchives", "arn:aws:s3:::landing/incoming/customers/*"],
            ["ListOwnPrefixes", ["arn:aws:s3:::lake", "arn:aws:s3:::quarantine", "arn:aws:s3:::assets"]],
            [
                "WriteLakeQuarantineAndTemporaryFiles",
                ["arn:aws:s3:::lake/customers/*", "arn:aws:s3:::quarantine/customers/*", "arn:aws:s3:::assets/temporary/customers/*"],
            ],
            ["ReadJobCodeAndPlan", ["arn:aws:s3:::assets/jobs/customers/*"]],
            [
                "RegisterLakePartitions",
                [
                    "arn:aws:glue:eu-west-1:123456789012:catalog",
                    "arn:aws:glue:eu-west-1:123456789012:database/ingest_test",
                    "arn:aws:glue:eu-west-1:123456789012:table/ingest_test/customers_*",
                ],
            ],
            ["WriteItems", "arn:aws:dynamodb:eu-west-1:123456789012:table/crm-items"],
            ["CommitExtractsInRunLedger", "arn:aws:dynamodb:eu-west-1:123456789012:table/crm-runs"],
            ["PublishRunNotifications", "arn:aws:sns:eu-west-1:123456789012:topic/crm-notifications"],
            ["UseProjectKey", keyArn],
            ["WriteGlueLogs", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/*"],
            ["PublishJobMetrics", "*"],
        ]);
    });

    it("notifies on run outcomes and alarms on failures, dead letters, staleness and archives with a bad name", () => {
        expect(JSON.parse(mocks.named("crm-run-failed").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.glue"],
            "detail-type": ["Glue Job State Change"],
            detail: { jobName: ["crm-job"], state: ["FAILED", "TIMEOUT", "STOPPED", "ERROR"] },
        });
        const alarms = mocks
            .ofType("aws:cloudwatch/metricAlarm:MetricAlarm")
            .sort((a, b) => a.name.localeCompare(b.name))
            .map((alarm) => [
                alarm.name,
                alarm.inputs.metricName,
                alarm.inputs.period,
                alarm.inputs.evaluationPeriods,
                alarm.inputs.comparisonOperator,
                alarm.inputs.treatMissingData,
            ]);
        expect(alarms).to.deep.equal([
            ["crm-bad-archive-names", "BadArchiveNames", 300, 1, "GreaterThanOrEqualToThreshold", "notBreaching"],
            ["crm-dead-letters", "ApproximateNumberOfMessagesVisible", 300, 1, "GreaterThanOrEqualToThreshold", "notBreaching"],
            ["crm-job-failures", "MatchedEvents", 300, 1, "GreaterThanOrEqualToThreshold", "notBreaching"],
            ["crm-stale", "MatchedEvents", 3600, 6, "LessThanThreshold", "breaching"],
        ]);
        expect(mocks.named("crm-notifications-email").inputs).to.deep.include({ protocol: "email", endpoint: "team@example.com" });
    });

    it("alarms on the trigger's count of archives quarantined for their name, notifying the pipeline's topic", () => {
        const topicArn = "arn:aws:sns:eu-west-1:123456789012:topic/crm-notifications";
        expect(mocks.named("crm-bad-archive-names").inputs).to.deep.equal({
            alarmDescription:
                "An object landed under incoming/customers/ with a name that is not a customers archive name; " +
                "it was quarantined, not loaded (ingest runs --failed lists it)",
            alarmActions: [topicArn],
            okActions: [topicArn],
            namespace: "Ingestion/ExtractTrigger",
            metricName: "BadArchiveNames",
            dimensions: { Pipeline: "customers" },
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        });
    });
});
