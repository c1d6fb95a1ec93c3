import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { Catalog, type IcebergTableSpec } from "../components/catalog";
import { icebergType } from "../components/catalog/defaults";
import { ExtractPipeline } from "../components/extract-pipeline";
import { itemsTableThroughput, type ItemsTableThroughput } from "../components/extract-pipeline/defaults";
import { extractRunMetric } from "../components/metrics";
import runMetrics from "../glue-scripts/ingest/contracts/run_metrics.json";
import { LakeMaintenance } from "../components/lake-maintenance";
import { Storage } from "../components/storage";
import { buildJobPlan, icebergTableProperties } from "../config/job-plan";
import { parseMapping } from "../config/mapping";
import { glueLogsOf, publishJobMetrics } from "./support/glue-statements";
import { lakeConf } from "./support/lake-conf";
import { policyOf, settle, useMocks, type RecordingMocks } from "./support/pulumi-mocks";
import { fixtureText } from "./support/config-root";
import { runProgram, runProgramWithExports } from "./support/program";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const customersPlan = buildJobPlan(parseMapping("config/mappings/customers.yaml", fixtureText("config/mappings/customers.yaml")));

describe("Storage", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        new Storage("lake", { retentionDays: 270, expiringLakePrefixes: ["streams/", "filtered/products/"] });
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

    it("expires data after the retention window, in the lake only under the expiring prefixes, and scratch data after days", () => {
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
            // Never the whole lake: an age rule over the Iceberg tables would delete files current rows live in.
            "lake-lake-lifecycle": [
                housekeeping(true),
                expire("expire-streams/", 270, "streams/"),
                expire("expire-filtered/products/", 270, "filtered/products/"),
            ],
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
        new Storage("scratch", { retentionDays: 1, expiringLakePrefixes: [], allowDataDeletion: true });
        await settle();
        expect(optedIn.ofType("aws:s3/bucket:Bucket").every((bucket) => bucket.inputs.forceDestroy === true)).to.equal(true);
    });
});

describe("Catalog", () => {
    const lake = { name: "lake-bucket", arn: "arn:aws:s3:::lake-bucket" };
    const ordersCurrent: IcebergTableSpec = {
        name: "crm_orders",
        role: "current",
        description: "current orders",
        location: "crm/orders/current/",
        columns: [
            { name: "order_id", type: "string", required: false },
            { name: "line_count", type: "int", required: false },
            { name: "total", type: "decimal(14,2)", required: false },
            { name: "weight", type: "double", required: false },
            { name: "gift", type: "boolean", required: false },
            { name: "order_date", type: "date", required: false },
            { name: "ingest_extract_version", type: "bigint", required: true },
            { name: "ingest_extract_time", type: "timestamp", required: true },
            { name: "ingest_root_customer_id", type: "string", required: false },
        ],
        partitionBy: [{ column: "ingest_root_customer_id", transform: "bucket[16]" }],
        sortBy: ["ingest_root_customer_id", "order_id"],
        properties: icebergTableProperties("current"),
    };
    const ordersHistory: IcebergTableSpec = {
        name: "crm_orders_history",
        role: "history",
        description: "orders as each extract brought them",
        location: "crm/orders/history/",
        columns: [
            { name: "order_id", type: "string", required: false },
            { name: "ingest_extract_id", type: "string", required: true },
        ],
        partitionBy: [{ column: "ingest_extract_id", transform: "identity" }],
        sortBy: ["order_id"],
        properties: icebergTableProperties("history"),
    };
    const tableOptions: Record<string, pulumi.CustomResourceOptions> = {};
    const declare = (allowDataDeletion?: boolean) =>
        new Catalog(
            "lake",
            {
                databaseName: "ingest_test",
                lake,
                tables: [ordersCurrent, ordersHistory],
                snapshotRetentionDays: 400,
                kmsKeyArn: keyArn,
                athenaResultsBucketName: "results-bucket",
                ...(allowDataDeletion === undefined ? {} : { allowDataDeletion }),
            },
            {
                transformations: [
                    ({ type, name, opts }) => {
                        if (type === "aws:glue/catalogTable:CatalogTable" || type === "aws:glue/catalogDatabase:CatalogDatabase") {
                            tableOptions[name] = opts;
                        }
                        return undefined;
                    },
                ],
            },
        );
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        declare();
        await settle();
    });

    const properties = (mode: string) => ({
        "format-version": "2",
        "write.format.default": "parquet",
        "write.parquet.compression-codec": "zstd",
        "write.distribution-mode": "hash",
        "write.delete.mode": mode,
        "write.update.mode": mode,
        "write.merge.mode": mode,
        "write.metadata.delete-after-commit.enabled": "true",
        "write.metadata.previous-versions-max": "100",
        "commit.retry.num-retries": "10",
    });

    it("declares each lake table as Iceberg v2: ids in column order, Iceberg types, bucket partition, sort order, merge-on-read", () => {
        const field = (id: number, name: string, type: string, required = false) => ({ id, name, type, required });
        expect(mocks.named("lake-crm_orders").inputs).to.deep.equal({
            name: "crm_orders",
            databaseName: "ingest_test",
            openTableFormatInput: {
                icebergInput: {
                    metadataOperation: "CREATE",
                    version: "2",
                    icebergTableInput: {
                        location: "s3://lake-bucket/crm/orders/current",
                        schema: {
                            schemaId: 0,
                            type: "struct",
                            fields: [
                                field(1, "order_id", '"string"'),
                                field(2, "line_count", '"int"'),
                                field(3, "total", '"decimal(14,2)"'),
                                field(4, "weight", '"double"'),
                                field(5, "gift", '"boolean"'),
                                field(6, "order_date", '"date"'),
                                field(7, "ingest_extract_version", '"long"', true),
                                field(8, "ingest_extract_time", '"timestamptz"', true),
                                field(9, "ingest_root_customer_id", '"string"'),
                            ],
                        },
                        partitionSpec: {
                            specId: 0,
                            fields: [{ fieldId: 1000, name: "ingest_root_customer_id_bucket", sourceId: 9, transform: "bucket[16]" }],
                        },
                        sortOrder: {
                            orderId: 1,
                            fields: [
                                { sourceId: 9, transform: "identity", direction: "asc", nullOrder: "nulls-first" },
                                { sourceId: 1, transform: "identity", direction: "asc", nullOrder: "nulls-first" },
                            ],
                        },
                        properties: { ...properties("merge-on-read"), comment: "current orders" },
                    },
                },
            },
        });
    });

    it("writes an appended table copy-on-write, partitioned by extract", () => {
        const input = (
            mocks.named("lake-crm_orders_history").inputs.openTableFormatInput as { icebergInput: { icebergTableInput: unknown } }
        ).icebergInput.icebergTableInput;
        expect(input).to.deep.include({
            location: "s3://lake-bucket/crm/orders/history",
            partitionSpec: { specId: 0, fields: [{ fieldId: 1000, name: "ingest_extract_id", sourceId: 2, transform: "identity" }] },
            sortOrder: { orderId: 1, fields: [{ sourceId: 1, transform: "identity", direction: "asc", nullOrder: "nulls-first" }] },
            properties: { ...properties("copy-on-write"), comment: "orders as each extract brought them" },
        });
    });

    it("leaves a table to the Iceberg writer once created, and keeps it and its database unless the stack allows deleting data", async () => {
        for (const table of ["lake-crm_orders", "lake-crm_orders_history"]) {
            expect(tableOptions[table], table).to.deep.include({
                ignoreChanges: ["parameters", "storageDescriptor", "tableType", "openTableFormatInput"],
                retainOnDelete: true,
            });
        }
        expect(tableOptions["lake-database"]).to.deep.include({ retainOnDelete: true });
        await useMocks();
        declare(true);
        await settle();
        expect(tableOptions["lake-crm_orders"]).to.deep.include({ retainOnDelete: false });
        expect(tableOptions["lake-database"]).to.deep.include({ retainOnDelete: false });
    });

    it("compacts the merged tables and expires snapshots and orphan files of every table, under one role", () => {
        const roleArn = "arn:aws:iam:eu-west-1:123456789012:role/lake-table-optimizers-role";
        const retention = {
            retentionConfiguration: {
                icebergConfiguration: {
                    snapshotRetentionPeriodInDays: 400,
                    numberOfSnapshotsToRetain: 10,
                    cleanExpiredFiles: true,
                    runRateInHours: 24,
                },
            },
        };
        const orphans = {
            orphanFileDeletionConfiguration: { icebergConfiguration: { orphanFileRetentionPeriodInDays: 3, runRateInHours: 24 } },
        };
        const optimizer = (tableName: string, type: string, configuration: object) => ({
            catalogId: "123456789012",
            databaseName: "ingest_test",
            tableName,
            type,
            configuration: { roleArn, enabled: true, ...configuration },
        });
        expect(
            Object.fromEntries(
                mocks.ofType("aws:glue/catalogTableOptimizer:CatalogTableOptimizer").map((resource) => [resource.name, resource.inputs]),
            ),
        ).to.deep.equal({
            "lake-crm_orders-compaction": optimizer("crm_orders", "compaction", {
                compactionConfiguration: { icebergConfiguration: { strategy: "sort", minInputFiles: 20, deleteFileThreshold: 1 } },
            }),
            "lake-crm_orders-retention": optimizer("crm_orders", "retention", retention),
            "lake-crm_orders-orphan-files": optimizer("crm_orders", "orphan_file_deletion", orphans),
            "lake-crm_orders_history-retention": optimizer("crm_orders_history", "retention", retention),
            "lake-crm_orders_history-orphan-files": optimizer("crm_orders_history", "orphan_file_deletion", orphans),
        });
    });

    it("scopes the optimizers' role to the tables by ARN, their locations and the project key (Glue's documented permissions)", () => {
        const logs = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue";
        expect(policyOf(mocks.named("lake-table-optimizers-role"), "assumeRolePolicy").Statement).to.deep.equal([
            {
                Sid: "AssumedByService",
                Effect: "Allow",
                Principal: { Service: "glue.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
            },
        ]);
        expect(policyOf(mocks.named("lake-table-optimizers-policy")).Statement).to.deep.equal([
            {
                Sid: "ListLakeTables",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::lake-bucket",
                Condition: { StringLike: { "s3:prefix": ["crm/orders/current/*", "crm/orders/history/*"] } },
            },
            {
                Sid: "RewriteLakeTableFiles",
                Effect: "Allow",
                Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                Resource: ["arn:aws:s3:::lake-bucket/crm/orders/current/*", "arn:aws:s3:::lake-bucket/crm/orders/history/*"],
            },
            {
                Sid: "CommitLakeTables",
                Effect: "Allow",
                Action: ["glue:GetTable", "glue:UpdateTable"],
                Resource: [
                    "arn:aws:glue:eu-west-1:123456789012:catalog",
                    "arn:aws:glue:eu-west-1:123456789012:database/ingest_test",
                    "arn:aws:glue:eu-west-1:123456789012:table/ingest_test/crm_orders",
                    "arn:aws:glue:eu-west-1:123456789012:table/ingest_test/crm_orders_history",
                ],
            },
            {
                Sid: "UseProjectKey",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                Resource: keyArn,
            },
            {
                Sid: "WriteOptimizerLogs",
                Effect: "Allow",
                Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: [
                    `${logs}/iceberg-compaction/logs:*`,
                    `${logs}/iceberg-retention/logs:*`,
                    `${logs}/iceberg-orphan-file-deletion/logs:*`,
                ],
            },
        ]);
    });

    it("refuses a column type Iceberg has no type for", () => {
        expect(() => icebergType("varchar(10)")).to.throw('no Iceberg type for the column type "varchar(10)"');
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

describe("itemsTableThroughput", () => {
    const cases: [number, ItemsTableThroughput][] = [
        [1, { onDemandThroughput: { maxWriteRequestUnits: 1 } }],
        // What a new on-demand table takes at once: declaring it would only fix a value DynamoDB raises by itself.
        [4000, { onDemandThroughput: { maxWriteRequestUnits: 4000 } }],
        [4001, { onDemandThroughput: { maxWriteRequestUnits: 4001 }, warmThroughput: { writeUnitsPerSecond: 4001 } }],
        [40000, { onDemandThroughput: { maxWriteRequestUnits: 40000 }, warmThroughput: { writeUnitsPerSecond: 40000 } }],
    ];
    for (const [budget, expected] of cases) {
        it(`caps the items table at a budget of ${budget} write units a second, pre-warmed only above a new table's 4000`, () => {
            expect(itemsTableThroughput(budget)).to.deep.equal(expected);
        });
    }
});

/** An ExtractPipeline of the customers plan, `crm`, in buckets named for their role; `args` overrides. */
function declarePipeline(args: Partial<ConstructorParameters<typeof ExtractPipeline>[1]> = {}): ExtractPipeline {
    return new ExtractPipeline("crm", { ...declarePipelineArgs(), ...args });
}

/** The customers pipeline's arguments, as the tests declare it. */
function declarePipelineArgs(): ConstructorParameters<typeof ExtractPipeline>[1] {
    const bucket = (name: string) => ({ name, arn: `arn:aws:s3:::${name}` });
    const handlerCode = new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") });
    return {
        plan: customersPlan,
        stack: "dev",
        kmsKeyArn: keyArn,
        landing: bucket("landing"),
        lake: bucket("lake"),
        quarantine: bucket("quarantine"),
        glueAssets: bucket("assets"),
        databaseName: "ingest_test",
        workgroupName: "lake-workgroup",
        securityConfigurationName: "lake-security",
        triggerCode: handlerCode,
        notifierCode: handlerCode,
        jobScript: new pulumi.asset.StringAsset("print('job')"),
        jobPackage: new pulumi.asset.AssetArchive({}),
        glue: { workerType: "G.2X", maxWorkers: 8, flex: true },
        notificationEmail: "team@example.com",
        freshnessHours: 6,
        latencyPromiseMinutes: 45,
        deletionProtection: true,
        itemsWriteUnitsPerSecond: 10000,
    };
}

describe("ExtractPipeline", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        declarePipeline();
        await settle();
    });

    it("keys the items table from the mapping, with TTL, PITR, the project key, deletion protection and the write budget", () => {
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
            onDemandThroughput: { maxWriteRequestUnits: 10000 },
            warmThroughput: { writeUnitsPerSecond: 10000 },
        });
        expect(mocks.named("crm-runs").inputs).to.deep.include({ hashKey: "archive", ttl: { attributeName: "expiresAt", enabled: true } });
        expect(mocks.named("crm-runs").inputs).to.not.have.any.keys("onDemandThroughput", "warmThroughput");
    });

    it("runs the job on Glue 5.1 with Iceberg, the contract's arguments, auto scaling, Flex and queuing", () => {
        const job = mocks.named("crm-job").inputs;
        expect(job).to.deep.include({
            glueVersion: "5.1",
            workerType: "G.2X",
            numberOfWorkers: 8,
            executionClass: "FLEX",
            // The defaults: one 40-minute run, no retry, fits in the promise (config/stack-settings.ts refuses what does not).
            timeout: 40,
            maxRetries: 0,
            executionProperty: { maxConcurrentRuns: 2 },
            jobRunQueuingEnabled: true,
            notificationProperty: { notifyDelayAfter: 45 },
            securityConfiguration: "lake-security",
            command: { name: "glueetl", pythonVersion: "3", scriptLocation: "s3://assets/jobs/customers/extract_job.py" },
        });
        expect(job.defaultArguments).to.deep.equal({
            "--job-language": "python",
            "--enable-auto-scaling": "true",
            "--enable-metrics": "true",
            "--enable-observability-metrics": "true",
            "--enable-glue-datacatalog": "true",
            "--TempDir": "s3://assets/temporary/customers/",
            "--datalake-formats": "iceberg",
            "--conf": lakeConf("lake"),
            "--extra-py-files": "s3://assets/jobs/customers/ingest.zip",
            "--plan_uri": "s3://assets/jobs/customers/plan.json",
            "--lake_bucket": "lake",
            "--quarantine_bucket": "quarantine",
            "--items_table": "crm-items",
            "--glue_database": "ingest_test",
            "--notification_topic_arn": "arn:aws:sns:eu-west-1:123456789012:topic/crm-notifications",
            "--run_ledger_table": "crm-runs",
            "--staging_uri": "s3://assets/temporary/customers/staging/",
            "--changes_uri": "s3://assets/temporary/customers/changes/",
            "--items_write_units_per_second": "10000",
            "--stack": "dev",
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
            ["SendTraces", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*"],
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
        const trigger = mocks.ofType("aws:lambda/function:Function").find((resource) => resource.name === "crm-trigger");
        expect(trigger!.inputs.environment).to.deep.equal({
            variables: {
                JOB_NAME: "crm-job",
                RUN_LEDGER_TABLE: "crm-runs",
                LANDING_BUCKET: "landing",
                LANDING_PREFIX: "incoming/customers/",
                ARCHIVE_NAMING: JSON.stringify(customersPlan.extract.archiveNaming),
                PIPELINE: "customers",
                QUARANTINE_BUCKET: "quarantine",
                STACK: "dev",
            },
        });
    });

    it("scopes the job role to this pipeline's prefixes, its lake tables by ARN and its topic", () => {
        const locations = ["customers", "addresses", "orders", "order_lines"].flatMap((table) =>
            ["current", "history", "keys"].map((role) => `customers/${table}/${role}/`),
        );
        expect(policyOf(mocks.named("crm-job-policy")).Statement).to.deep.equal([
            {
                Sid: "ReadAndTagLandedArchives",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"],
                Resource: "arn:aws:s3:::landing/incoming/customers/*",
            },
            {
                Sid: "ListOwnPrefixes",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: ["arn:aws:s3:::quarantine", "arn:aws:s3:::assets"],
                Condition: { StringLike: { "s3:prefix": ["customers/*", "temporary/customers/*"] } },
            },
            {
                Sid: "WriteQuarantineAndTemporaryFiles",
                Effect: "Allow",
                Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                Resource: ["arn:aws:s3:::quarantine/customers/*", "arn:aws:s3:::assets/temporary/customers/*"],
            },
            { Sid: "ReadJobCodeAndPlan", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::assets/jobs/customers/*"] },
            {
                Sid: "ListLakeTablesAndReports",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::lake",
                Condition: { StringLike: { "s3:prefix": [...locations, "customers/_reports/"].map((prefix) => `${prefix}*`) } },
            },
            {
                Sid: "ReadAndWriteLakeTablesAndReports",
                Effect: "Allow",
                Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                Resource: [...locations, "customers/_reports/"].map((prefix) => `arn:aws:s3:::lake/${prefix}*`),
            },
            {
                Sid: "CommitLakeTables",
                Effect: "Allow",
                Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:UpdateTable"],
                Resource: [
                    "arn:aws:glue:eu-west-1:123456789012:catalog",
                    "arn:aws:glue:eu-west-1:123456789012:database/ingest_test",
                    ...[
                        "customers_customers",
                        "customers_customers_history",
                        "customers_customers_keys",
                        "customers_addresses",
                        "customers_addresses_history",
                        "customers_addresses_keys",
                        "customers_orders",
                        "customers_orders_history",
                        "customers_orders_keys",
                        "customers_order_lines",
                        "customers_order_lines_history",
                        "customers_order_lines_keys",
                    ].map((table) => `arn:aws:glue:eu-west-1:123456789012:table/ingest_test/${table}`),
                ],
            },
            {
                Sid: "WriteItems",
                Effect: "Allow",
                Action: ["dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:PutItem"],
                Resource: "arn:aws:dynamodb:eu-west-1:123456789012:table/crm-items",
            },
            {
                Sid: "CommitExtractsInRunLedger",
                Effect: "Allow",
                Action: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:UpdateItem"],
                Resource: "arn:aws:dynamodb:eu-west-1:123456789012:table/crm-runs",
            },
            {
                Sid: "PublishRunNotifications",
                Effect: "Allow",
                Action: ["sns:Publish"],
                Resource: "arn:aws:sns:eu-west-1:123456789012:topic/crm-notifications",
            },
            {
                Sid: "UseProjectKey",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                Resource: keyArn,
            },
            glueLogsOf("crm-job-role"),
            publishJobMetrics,
        ]);
    });

    it("saves a query joining the current tables the way items are built, and one showing the history of root rows", () => {
        const saved = mocks.ofType("aws:athena/namedQuery:NamedQuery");
        expect(saved.map((query) => [query.name, query.inputs.name, query.inputs.workgroup, query.inputs.database])).to.deep.equal([
            ["crm-item-rows", "customers-item-rows", "lake-workgroup", "ingest_test"],
            ["crm-row-history", "customers-row-history", "lake-workgroup", "ingest_test"],
        ]);
        expect(saved[0]!.inputs.description).to.equal(
            "customers items as the job builds them: current customers rows with their collections, one row per combination",
        );
        expect(saved[0]!.inputs.query).to.equal(
            [
                "-- The current tables joined the way the job builds a customers item: each collection on its relationship's columns.",
                "SELECT",
                '    "customers"."customer_id" AS "customer_id",',
                '    "customers"."email" AS "email",',
                '    "customers"."full_name" AS "name",',
                '    "customers"."segment" AS "segment",',
                '    "customers"."credit_limit" AS "credit_limit",',
                '    "customers"."created_at" AS "created_at",',
                '    "customers"."updated_at" AS "updated_at",',
                '    "orders"."order_id" AS "orders.order_id",',
                '    "orders"."order_date" AS "orders.order_date",',
                '    "orders"."status" AS "orders.status",',
                '    "orders"."total_amount" AS "orders.total_amount",',
                '    "orders"."updated_at" AS "orders.updated_at",',
                '    "order_lines"."line_number" AS "orders.lines.line_number",',
                '    "order_lines"."sku" AS "orders.lines.sku",',
                '    "order_lines"."quantity" AS "orders.lines.quantity",',
                '    "order_lines"."unit_price" AS "orders.lines.unit_price",',
                '    "addresses"."address_id" AS "addresses.address_id",',
                '    "addresses"."kind" AS "addresses.kind",',
                '    "addresses"."line1" AS "addresses.line1",',
                '    "addresses"."city" AS "addresses.city",',
                '    "addresses"."postcode" AS "addresses.postcode",',
                '    "addresses"."country" AS "addresses.country",',
                '    "addresses"."is_primary" AS "addresses.is_primary"',
                'FROM "customers_customers" AS "customers"',
                'LEFT JOIN "customers_orders" AS "orders" ON "orders"."customer_id" = "customers"."customer_id"',
                'LEFT JOIN "customers_order_lines" AS "order_lines" ON "order_lines"."order_id" = "orders"."order_id"',
                'LEFT JOIN "customers_addresses" AS "addresses" ON "addresses"."customer_id" = "customers"."customer_id"',
                'ORDER BY "customers"."customer_id", "orders"."order_date", "orders"."order_id", "order_lines"."line_number", "addresses"."kind", "addresses"."address_id"',
                "LIMIT 1000",
            ].join("\n"),
        );
        expect(saved[1]!.inputs.description).to.equal(
            "Every kept version of the customers rows the latest customers extract brought, oldest first",
        );
        expect(saved[1]!.inputs.query).to.equal(
            [
                "-- Every version of the customers rows the latest extract brought, as each extract brought it.",
                `-- For one row, replace the subquery's WHERE with: WHERE "customer_id" = '<value>'`,
                "-- The current table as it stood at an earlier snapshot or time (snapshots are kept for the stack's retentionDays):",
                '--   SELECT * FROM "customers_customers" FOR VERSION AS OF <snapshot id> WHERE ...',
                `--   SELECT * FROM "customers_customers" FOR TIMESTAMP AS OF TIMESTAMP '2026-11-20 06:00:00 UTC' WHERE ...`,
                '-- Snapshot ids and times: SELECT * FROM "customers_customers$snapshots" ORDER BY committed_at DESC',
                "SELECT history.*",
                'FROM "customers_customers_history" AS history',
                "JOIN (",
                '    SELECT DISTINCT "customer_id"',
                '    FROM "customers_customers_history"',
                '    WHERE ingest_extract_version = (SELECT max(ingest_extract_version) FROM "customers_customers_history")',
                ') AS latest ON history."customer_id" = latest."customer_id"',
                'ORDER BY history."customer_id", history.ingest_extract_version',
                "LIMIT 1000",
            ].join("\n"),
        );
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
            ["crm-archive-wait", "ApproximateAgeOfOldestMessage", 300, 1, "GreaterThanThreshold", "notBreaching"],
            ["crm-bad-archive-names", "BadArchiveNames", 300, 1, "GreaterThanOrEqualToThreshold", "notBreaching"],
            ["crm-dead-letters", "ApproximateNumberOfMessagesVisible", 300, 1, "GreaterThanOrEqualToThreshold", "notBreaching"],
            ["crm-glue-queue", "LandingToRunStart", 300, 1, "GreaterThanThreshold", "notBreaching"],
            ["crm-job-failures", "MatchedEvents", 300, 1, "GreaterThanOrEqualToThreshold", "notBreaching"],
            ["crm-late-runs", "MatchedEvents", 300, 1, "GreaterThanOrEqualToThreshold", "notBreaching"],
            ["crm-latency", "LandingToItemsWritten", 300, 1, "GreaterThanThreshold", "notBreaching"],
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
            dimensions: { Stack: "dev", Pipeline: "customers" },
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        });
    });
});

describe("ExtractPipeline latency", () => {
    const topicArn = "arn:aws:sns:eu-west-1:123456789012:topic/crm-notifications";
    /** The job's metrics as the job publishes them (glue-scripts/ingest/contracts/run_metrics.json), written out. */
    const jobMetric = (metricName: string) => ({
        namespace: "Ingestion",
        metricName,
        dimensions: { Stack: "dev", Pipeline: "customers" },
    });

    it("names the job's metrics as the job's contract does", () => {
        const { namespace, extractRuns } = runMetrics;
        expect([
            namespace,
            extractRuns.dimensions,
            extractRuns.metrics.landingToItemsWritten.name,
            extractRuns.metrics.landingToRunStart.name,
        ]).to.deep.equal(["Ingestion", { stack: "Stack", pipeline: "Pipeline" }, "LandingToItemsWritten", "LandingToRunStart"]);
    });

    it("keys a pipeline's run metrics by stack too, so two stacks deploying the same pipeline watch different series", () => {
        expect(["dev", "prod"].map((stack) => extractRunMetric("landingToItemsWritten", { stack, pipeline: "customers" }))).to.deep.equal([
            { namespace: "Ingestion", metricName: "LandingToItemsWritten", dimensions: { Stack: "dev", Pipeline: "customers" } },
            { namespace: "Ingestion", metricName: "LandingToItemsWritten", dimensions: { Stack: "prod", Pipeline: "customers" } },
        ]);
    });

    /** The four latency alarms and the job's delay notice of a pipeline promising `promise` minutes. */
    function expectedLatency(promise: number) {
        const wait = Math.ceil(promise / 3);
        const overThreshold = (threshold: number) => ({
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 1,
            threshold,
            comparisonOperator: "GreaterThanThreshold",
            treatMissingData: "notBreaching",
        });
        const actions = { alarmActions: [topicArn], okActions: [topicArn] };
        return {
            notifyDelayAfter: promise,
            alarms: {
                "crm-latency": {
                    alarmDescription: `A customers extract took longer than the promised ${promise} minutes from landing to items written`,
                    ...actions,
                    ...jobMetric("LandingToItemsWritten"),
                    ...overThreshold(promise * 60),
                },
                "crm-archive-wait": {
                    alarmDescription: `A landed customers archive has waited over ${wait} minutes in the trigger queue for its run to start`,
                    ...actions,
                    namespace: "AWS/SQS",
                    metricName: "ApproximateAgeOfOldestMessage",
                    dimensions: { QueueName: "crm-archives" },
                    ...overThreshold(wait * 60),
                },
                "crm-glue-queue": {
                    alarmDescription: `A customers run started more than ${wait} minutes after its archive landed (it waited in Glue's queue)`,
                    ...actions,
                    ...jobMetric("LandingToRunStart"),
                    ...overThreshold(wait * 60),
                },
                "crm-late-runs": {
                    alarmDescription: `A customers run is still going ${promise} minutes after it started: its extract is late`,
                    ...actions,
                    namespace: "AWS/Events",
                    metricName: "MatchedEvents",
                    dimensions: { RuleName: "crm-run-delayed" },
                    statistic: "Sum",
                    period: 300,
                    evaluationPeriods: 1,
                    threshold: 1,
                    comparisonOperator: "GreaterThanOrEqualToThreshold",
                    treatMissingData: "notBreaching",
                },
            },
        };
    }

    function declaredLatency(mocks: RecordingMocks) {
        return {
            notifyDelayAfter: (mocks.named("crm-job").inputs.notificationProperty as { notifyDelayAfter: number }).notifyDelayAfter,
            alarms: Object.fromEntries(
                ["crm-latency", "crm-archive-wait", "crm-glue-queue", "crm-late-runs"].map((alarm) => [alarm, mocks.named(alarm).inputs]),
            ),
        };
    }

    for (const promise of [45, 90, 7]) {
        it(`sets the latency alarms and Glue's delay notice from a promise of ${promise} minutes`, async () => {
            const mocks = await useMocks();
            declarePipeline({ latencyPromiseMinutes: promise });
            await settle();
            expect(declaredLatency(mocks)).to.deep.equal(expectedLatency(promise));
        });
    }

    it("counts the runs Glue reports still going after the promise", async () => {
        const mocks = await useMocks();
        declarePipeline();
        await settle();
        expect(JSON.parse(mocks.named("crm-run-delayed").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.glue"],
            "detail-type": ["Glue Job Run Status"],
            detail: { jobName: ["crm-job"] },
        });
    });

    it("caps a default budget's table at what a new table takes, declaring no warm throughput", async () => {
        const mocks = await useMocks();
        declarePipeline({ itemsWriteUnitsPerSecond: 4000 });
        await settle();
        expect(mocks.named("crm-items").inputs).to.deep.include({ onDemandThroughput: { maxWriteRequestUnits: 4000 } });
        expect(mocks.named("crm-items").inputs).not.to.have.property("warmThroughput");
        expect(mocks.named("crm-job").inputs.defaultArguments).to.deep.include({ "--items_write_units_per_second": "4000" });
    });
});

describe("two pipelines whose names share a prefix (customers and customers-order)", () => {
    const customersOrderPlan = buildJobPlan(
        parseMapping(
            "config/mappings/customers-order.yaml",
            fixtureText("config/mappings/customers.yaml")
                .replace("pipeline: customers", "pipeline: customers-order")
                .replace("incoming/customers/", "incoming/customers-order/"),
        ),
    );
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        declarePipeline();
        new ExtractPipeline("crm-order", {
            ...declarePipelineArgs(),
            plan: customersOrderPlan,
        });
        await settle();
    });

    /** What a job's role may touch of the lake: Glue tables, and object prefixes of the lake bucket. */
    function lakeGrants(policy: string): { tables: string[]; objects: string[] } {
        const statements = policyOf(mocks.named(policy)).Statement;
        const resources = (sid: string) => [statements.find((statement) => statement.Sid === sid)!.Resource].flat();
        return {
            tables: resources("CommitLakeTables").filter((arn) => arn.includes(":table/")),
            objects: resources("ReadAndWriteLakeTablesAndReports"),
        };
    }

    it("grant each job its own tables and lake prefixes by name, none of the other's (no customers_* wildcard)", () => {
        const tableArns = (catalogPrefix: string) =>
            ["customers", "addresses", "orders", "order_lines"].flatMap((table) =>
                ["", "_history", "_keys"].map(
                    (suffix) => `arn:aws:glue:eu-west-1:123456789012:table/ingest_test/${catalogPrefix}_${table}${suffix}`,
                ),
            );
        const objects = (pipeline: string) => [
            ...["customers", "addresses", "orders", "order_lines"].flatMap((table) =>
                ["current", "history", "keys"].map((role) => `arn:aws:s3:::lake/${pipeline}/${table}/${role}/*`),
            ),
            `arn:aws:s3:::lake/${pipeline}/_reports/*`,
        ];
        expect({ customers: lakeGrants("crm-job-policy"), "customers-order": lakeGrants("crm-order-job-policy") }).to.deep.equal({
            customers: { tables: tableArns("customers"), objects: objects("customers") },
            "customers-order": { tables: tableArns("customers_order"), objects: objects("customers-order") },
        });
    });
});

describe("ExtractPipeline functions under a stack's Lambda settings", () => {
    const cases: { what: string; args: Partial<ConstructorParameters<typeof ExtractPipeline>[1]>; expected: unknown[] }[] = [
        {
            what: "sized from their triggers: the queue mapping's maximum, and the job's concurrent runs",
            args: { glue: { maxConcurrentRuns: 5 } },
            expected: ["Active", 2, 2, "Active", 5],
        },
        {
            what: "overridden per role: the trigger's reservation is its mapping's maximum too",
            args: {
                glue: { maxConcurrentRuns: 5 },
                lambda: { tracing: "PassThrough", reservedConcurrency: { "extract-trigger": 10, "run-notifier": 1 } },
            },
            expected: ["PassThrough", 10, 10, "PassThrough", 1],
        },
        {
            what: "overriding one role only",
            args: { lambda: { tracing: "Active", reservedConcurrency: { "run-notifier": 3 } } },
            expected: ["Active", 2, 2, "Active", 3],
        },
    ];
    for (const { what, args, expected } of cases) {
        it(`traces and reserves ${what}`, async () => {
            const mocks = await useMocks();
            declarePipeline(args);
            await settle();
            const fn = (name: string) =>
                mocks.resources.find((resource) => resource.name === name && !resource.type.startsWith("ingestion:"))!.inputs;
            expect([
                (fn("crm-trigger").tracingConfig as { mode: string }).mode,
                fn("crm-trigger").reservedConcurrentExecutions,
                (fn("crm-trigger-source").scalingConfig as { maximumConcurrency: number }).maximumConcurrency,
                (fn("crm-run-notifier").tracingConfig as { mode: string }).mode,
                fn("crm-run-notifier").reservedConcurrentExecutions,
            ]).to.deep.equal(expected);
        });
    }
});

describe("ExtractPipeline run notifier", () => {
    let mocks: RecordingMocks;
    const topicArn = "arn:aws:sns:eu-west-1:123456789012:topic/crm-notifications";
    const failedRule = "arn:aws:cloudwatch:eu-west-1:123456789012:eventRule/crm-run-failed";
    const notifierArn = "arn:aws:lambda:eu-west-1:123456789012:function/crm-run-notifier";
    before(async () => {
        mocks = await useMocks();
        declarePipeline();
        await settle();
    });

    it("is invoked by the failed-run rule only, and nothing else reaches the topic from EventBridge", () => {
        expect(
            mocks.ofType("aws:cloudwatch/eventTarget:EventTarget").map((target) => [target.name, target.inputs.rule, target.inputs.arn]),
        ).to.deep.equal([
            ["crm-archive-landed-target", "crm-archive-landed", "arn:aws:sqs:eu-west-1:123456789012:queue/crm-archives"],
            ["crm-run-failed-target", "crm-run-failed", notifierArn],
        ]);
        expect(mocks.named("crm-run-notifier-permission").inputs).to.deep.equal({
            action: "lambda:InvokeFunction",
            function: "crm-run-notifier",
            principal: "events.amazonaws.com",
            sourceArn: failedRule,
        });
    });

    it("reads the pipeline, its lake bucket and its topic from the environment the contract names", () => {
        const notifier = mocks.ofType("aws:lambda/function:Function").find((resource) => resource.name === "crm-run-notifier");
        expect(notifier!.inputs).to.deep.include({
            environment: {
                variables: { PIPELINE: "customers", LAKE_BUCKET: "lake", TOPIC_ARN: topicArn },
            },
            deadLetterConfig: { targetArn: "arn:aws:sqs:eu-west-1:123456789012:queue/crm-archives-dlq" },
            kmsKeyArn: keyArn,
            tracingConfig: { mode: "Active" },
            // One per failed run: no more runs of the job end at once than it runs at once (glue.maxConcurrentRuns, 2).
            reservedConcurrentExecutions: 2,
        });
    });

    it("may read the job's runs and the pipeline's run reports, and publish to its topic, and nothing more", () => {
        expect(policyOf(mocks.named("crm-run-notifier-policy")).Statement).to.deep.equal([
            {
                Sid: "WriteOwnLogs",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:crm-run-notifier-logs:*",
            },
            {
                Sid: "UseProjectKey",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                Resource: keyArn,
            },
            {
                Sid: "SendFailedInvocationsToDeadLetterQueue",
                Effect: "Allow",
                Action: ["sqs:SendMessage"],
                Resource: "arn:aws:sqs:eu-west-1:123456789012:queue/crm-archives-dlq",
            },
            { Sid: "SendTraces", Effect: "Allow", Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], Resource: "*" },
            {
                Sid: "ReadExtractJobRuns",
                Effect: "Allow",
                Action: ["glue:GetJobRun"],
                Resource: "arn:aws:glue:eu-west-1:123456789012:job/crm-job",
            },
            {
                Sid: "FindRunReports",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::lake",
                Condition: { StringLike: { "s3:prefix": ["customers/_reports/*"] } },
            },
            { Sid: "ReadRunReports", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::lake/customers/_reports/*" },
            { Sid: "AnnounceRuns", Effect: "Allow", Action: ["sns:Publish"], Resource: topicArn },
        ]);
    });
});

describe("LakeMaintenance", () => {
    let mocks: RecordingMocks;
    const bucket = (name: string) => ({ name, arn: `arn:aws:s3:::${name}` });
    const topicArn = "arn:aws:sns:eu-west-1:123456789012:topic/crm-notifications";
    const ledgerArn = "arn:aws:dynamodb:eu-west-1:123456789012:table/crm-runs";
    before(async () => {
        mocks = await useMocks();
        new LakeMaintenance("crm-maintenance", {
            plan: customersPlan,
            kmsKeyArn: keyArn,
            lake: bucket("lake"),
            glueAssets: bucket("assets"),
            databaseName: "ingest_test",
            securityConfigurationName: "lake-security",
            topicArn,
            runLedger: { name: "crm-runs", arn: ledgerArn },
            script: new pulumi.asset.StringAsset("print('maintenance')"),
            jobPackage: new pulumi.asset.AssetArchive({}),
            retentionDays: 400,
            maxWorkers: 6,
        });
        await settle();
    });

    it("runs the maintenance script on Flex Glue 5.1 workers with Iceberg and the contract's arguments, one run at a time", () => {
        const job = mocks.named("crm-maintenance-job").inputs;
        expect(job).to.deep.include({
            description: "Removes the customers lake rows of expired items and the history older than 400 days",
            glueVersion: "5.1",
            workerType: "G.1X",
            numberOfWorkers: 6,
            executionClass: "FLEX",
            timeout: 120,
            maxRetries: 1,
            executionProperty: { maxConcurrentRuns: 1 },
            securityConfiguration: "lake-security",
            command: {
                name: "glueetl",
                pythonVersion: "3",
                scriptLocation: "s3://assets/jobs/customers/maintenance/lake_maintenance_job.py",
            },
        });
        expect(job).not.to.have.property("jobRunQueuingEnabled");
        expect(job.defaultArguments).to.deep.equal({
            "--job-language": "python",
            "--enable-auto-scaling": "true",
            "--enable-metrics": "true",
            "--enable-observability-metrics": "true",
            "--enable-glue-datacatalog": "true",
            "--TempDir": "s3://assets/temporary/customers/maintenance/",
            "--datalake-formats": "iceberg",
            "--conf": lakeConf("lake"),
            "--extra-py-files": "s3://assets/jobs/customers/maintenance/ingest.zip",
            "--plan_uri": "s3://assets/jobs/customers/maintenance/plan.json",
            "--lake_bucket": "lake",
            "--glue_database": "ingest_test",
            "--run_ledger_table": "crm-runs",
            "--history_retention_days": "400",
            "--notification_topic_arn": topicArn,
        });
        expect(mocks.named("crm-maintenance-job-plan").inputs).to.deep.include({
            key: "jobs/customers/maintenance/plan.json",
            kmsKeyId: keyArn,
        });
    });

    it("starts the job every day at 03:30 UTC", () => {
        expect(mocks.named("crm-maintenance-schedule").inputs).to.deep.equal({
            description: "Starts the customers lake maintenance every day",
            type: "SCHEDULED",
            schedule: "cron(30 3 * * ? *)",
            startOnCreation: true,
            actions: [{ jobName: "crm-maintenance-job" }],
        });
    });

    it("alarms on the pipeline's topic when a maintenance run fails, times out or is stopped", () => {
        expect(JSON.parse(mocks.named("crm-maintenance-run-failed").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.glue"],
            "detail-type": ["Glue Job State Change"],
            detail: { jobName: ["crm-maintenance-job"], state: ["FAILED", "TIMEOUT", "STOPPED", "ERROR"] },
        });
        expect(mocks.named("crm-maintenance-failures").inputs).to.deep.equal({
            alarmDescription: "A customers lake maintenance run failed, timed out or was stopped; expired rows stay until a run succeeds",
            alarmActions: [topicArn],
            okActions: [topicArn],
            namespace: "AWS/Events",
            metricName: "MatchedEvents",
            dimensions: { RuleName: "crm-maintenance-run-failed" },
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        });
    });

    it("lets the job touch the pipeline's lake tables, its reports and temporary files, and the lake lease, and nothing of the items", () => {
        const locations = ["customers", "addresses", "orders", "order_lines"].flatMap((table) =>
            ["current", "history", "keys"].map((role) => `customers/${table}/${role}/`),
        );
        const lakePrefixes = [...locations, "customers/_maintenance/"];
        expect(policyOf(mocks.named("crm-maintenance-job-policy")).Statement).to.deep.equal([
            {
                Sid: "ReadJobCodeAndPlan",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: "arn:aws:s3:::assets/jobs/customers/maintenance/*",
            },
            {
                Sid: "ListTemporaryFiles",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::assets",
                Condition: { StringLike: { "s3:prefix": ["temporary/customers/maintenance/*"] } },
            },
            {
                Sid: "WriteTemporaryFiles",
                Effect: "Allow",
                Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                Resource: "arn:aws:s3:::assets/temporary/customers/maintenance/*",
            },
            {
                Sid: "ListLakeTablesAndReports",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: "arn:aws:s3:::lake",
                Condition: { StringLike: { "s3:prefix": lakePrefixes.map((prefix) => `${prefix}*`) } },
            },
            {
                Sid: "ReadAndWriteLakeTablesAndReports",
                Effect: "Allow",
                Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                Resource: lakePrefixes.map((prefix) => `arn:aws:s3:::lake/${prefix}*`),
            },
            {
                Sid: "CommitLakeTables",
                Effect: "Allow",
                Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:UpdateTable"],
                Resource: [
                    "arn:aws:glue:eu-west-1:123456789012:catalog",
                    "arn:aws:glue:eu-west-1:123456789012:database/ingest_test",
                    ...customersPlan.lake.tables.map((table) => `arn:aws:glue:eu-west-1:123456789012:table/ingest_test/${table.name}`),
                ],
            },
            {
                Sid: "HoldLakeLease",
                Effect: "Allow",
                Action: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                Resource: ledgerArn,
            },
            { Sid: "PublishMaintenanceOutcomes", Effect: "Allow", Action: ["sns:Publish"], Resource: topicArn },
            {
                Sid: "UseProjectKey",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                Resource: keyArn,
            },
            glueLogsOf("crm-maintenance-job-role"),
            publishJobMetrics,
        ]);
    });
});

describe("the customers pipeline and products lookup deployed by two stacks in one account and region", () => {
    const programs = new Map<string, RecordingMocks>();
    before(async () => {
        for (const stack of ["dev", "prod"]) {
            programs.set(stack, await runProgram(stack));
        }
    });

    /** What a stack's latency alarm watches, and the stack its extract job and lookup loader publish their metrics for. */
    function watchedSeries(stack: string) {
        const mocks = programs.get(stack)!;
        const jobStack = (job: string) => (mocks.named(job).inputs.defaultArguments as Record<string, string>)["--stack"];
        return {
            latencyAlarm: mocks.named(`ingest-${stack}-customers-latency`).inputs.dimensions,
            extractJobPublishesFor: jobStack(`ingest-${stack}-customers-job`),
            lookupLoaderPublishesFor: jobStack(`ingest-${stack}-products-job`),
        };
    }

    it("alarm each on its own stack's series, the one its own jobs publish", () => {
        expect({ dev: watchedSeries("dev"), prod: watchedSeries("prod") }).to.deep.equal({
            dev: { latencyAlarm: { Stack: "dev", Pipeline: "customers" }, extractJobPublishesFor: "dev", lookupLoaderPublishesFor: "dev" },
            prod: {
                latencyAlarm: { Stack: "prod", Pipeline: "customers" },
                extractJobPublishesFor: "prod",
                lookupLoaderPublishesFor: "prod",
            },
        });
    });

    /** What a stack's bad-archive-names alarm watches, and the stack its extract trigger publishes that metric for. */
    function badArchiveNameSeries(stack: string) {
        const mocks = programs.get(stack)!;
        const trigger = mocks
            .ofType("aws:lambda/function:Function")
            .find((resource) => resource.name === `ingest-${stack}-customers-trigger`);
        const alarm = mocks.named(`ingest-${stack}-customers-bad-archive-names`).inputs;
        return {
            alarm: [alarm.namespace, alarm.metricName, alarm.dimensions],
            triggerPublishesFor: (trigger!.inputs.environment as { variables: Record<string, string> }).variables.STACK,
        };
    }

    it("alarm each on its own stack's archives with a bad name, the series its own trigger publishes", () => {
        expect({ dev: badArchiveNameSeries("dev"), prod: badArchiveNameSeries("prod") }).to.deep.equal({
            dev: {
                alarm: ["Ingestion/ExtractTrigger", "BadArchiveNames", { Stack: "dev", Pipeline: "customers" }],
                triggerPublishesFor: "dev",
            },
            prod: {
                alarm: ["Ingestion/ExtractTrigger", "BadArchiveNames", { Stack: "prod", Pipeline: "customers" }],
                triggerPublishesFor: "prod",
            },
        });
    });
});

describe("stack outputs of the dev stack's extract pipelines", () => {
    it("name the tables, jobs, topic and queues an operator needs", async () => {
        const { exports } = await runProgramWithExports("dev");
        expect(exports.extractPipelines).to.deep.equal({
            customers: {
                landingPrefix: "incoming/customers/",
                itemsTable: "ingest-dev-customers-items",
                runLedgerTable: "ingest-dev-customers-runs",
                jobName: "ingest-dev-customers-job",
                maintenanceJobName: "ingest-dev-customers-maintenance-job",
                notificationTopicArn: "arn:aws:sns:eu-west-1:123456789012:topic/ingest-dev-customers-notifications",
                triggerQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/ingest-dev-customers-archives",
                deadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/ingest-dev-customers-archives-dlq",
            },
        });
    });
});
