import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import type { LambdaSettings } from "../components/bundled-function/lambda-settings";
import { LookupTable, type LookupFilterArgs } from "../components/lookup-table";
import { lookupPlan, parseLookup, upstreamStreamOf, type Lookup } from "../config/lookup";
import { policyOf, settle, useMocks, type RecordingMocks } from "./support/pulumi-mocks";
import { fixtureText } from "./support/config-root";
import { runProgramWithExports } from "./support/program";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const products = parseLookup("config/lookups/products.yaml", fixtureText("config/lookups/products.yaml"));
const bucket = (name: string) => ({ name, arn: `arn:aws:s3:::${name}` });
const code = new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") });
const kms = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"];
const streamArn = "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-stream";

function declare(
    name: string,
    lookup: Lookup,
    deletionProtection: boolean,
    stream: LookupFilterArgs["stream"] = { arn: streamArn },
    lambda?: LambdaSettings,
): LookupTable {
    return new LookupTable(name, {
        lookup,
        stack: "dev",
        kmsKeyArn: keyArn,
        accessLogsBucketName: "access-logs",
        reports: bucket("quarantine"),
        glueAssets: bucket("assets"),
        securityConfigurationName: "lake-security",
        jobScript: new pulumi.asset.StringAsset("print('load')"),
        jobPackage: new pulumi.asset.AssetArchive({}),
        retentionDays: 30,
        deletionProtection,
        ...(lookup.filter ? { filter: { stream, code, bucket: bucket("lake") } } : {}),
        ...(lambda ? { lambda } : {}),
    });
}

function byType(mocks: RecordingMocks, type: string, name: string): Record<string, unknown> {
    return mocks.ofType(type).find((resource) => resource.name === name)!.inputs;
}

describe("LookupTable", () => {
    let mocks: RecordingMocks;
    let table: LookupTable;
    before(async () => {
        mocks = await useMocks();
        table = declare("products", products, true);
        await settle();
    });

    it("keys an on-demand, point-in-time-recovered, encrypted and protected table, with TTL", () => {
        expect(mocks.named("products-table").inputs).to.deep.equal({
            billingMode: "PAY_PER_REQUEST",
            pointInTimeRecovery: { enabled: true },
            serverSideEncryption: { enabled: true, kmsKeyArn: keyArn },
            deletionProtectionEnabled: true,
            hashKey: "product_id",
            attributes: [{ name: "product_id", type: "S" }],
            ttl: { attributeName: "expires_at", enabled: true },
        });
    });

    it("runs the loader on Glue, one run at a time, with the contract's arguments and the plan", () => {
        const job = mocks.named("products-job").inputs;
        expect(job).to.deep.include({
            glueVersion: "5.1",
            workerType: "G.1X",
            numberOfWorkers: 2,
            timeout: 120,
            maxRetries: 1,
            executionProperty: { maxConcurrentRuns: 1 },
            securityConfiguration: "lake-security",
            command: { name: "glueetl", pythonVersion: "3", scriptLocation: "s3://assets/jobs/lookups/products/lookup_load_job.py" },
        });
        expect(job.defaultArguments).to.deep.include({
            "--lookup_uri": "s3://assets/jobs/lookups/products/lookup.json",
            "--table_name": "products-table",
            "--export_bucket": "products-exports",
            "--export_prefix": "exports/",
            "--checkpoint_uri": "s3://assets/temporary/lookups/products/checkpoints/",
            "--report_bucket": "quarantine",
            "--report_prefix": "lookups/",
            "--notification_topic_arn": "arn:aws:sns:eu-west-1:123456789012:topic/products-alarms",
            "--stack": "dev",
            "--export": "latest",
        });
        expect(mocks.named("products-job-plan").inputs.key).to.equal("jobs/lookups/products/lookup.json");
        expect(lookupPlan(products).fullRefresh).to.equal(true);
    });

    it("loads on schedule and on each completed export folder", () => {
        expect(byType(mocks, "aws:glue/trigger:Trigger", "products-schedule")).to.deep.equal({
            description: "Reloads the newest products export on schedule",
            type: "SCHEDULED",
            schedule: "cron(30 3 * * ? *)",
            startOnCreation: true,
            actions: [{ jobName: "products-job" }],
        });
        expect(byType(mocks, "aws:glue/trigger:Trigger", "products-on-export")).to.deep.equal({
            description: "Starts the loader for a completed export",
            type: "EVENT",
            workflowName: "products-workflow",
            eventBatchingConditions: [{ batchSize: 1, batchWindow: 900 }],
            actions: [{ jobName: "products-job" }],
        });
        // Only a completion marker in a folder under the prefix starts a load; the parts landing before it start nothing.
        expect(mocks.named("products-export-landed").inputs.description).to.equal(
            "Export folders under exports/ completed by _SUCCESS, manifest-summary.json, manifest",
        );
        expect(JSON.parse(mocks.named("products-export-landed").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: {
                bucket: { name: ["products-exports"] },
                object: {
                    key: [
                        { wildcard: "exports/*/_SUCCESS" },
                        { wildcard: "exports/*/manifest-summary.json" },
                        { wildcard: "exports/*/manifest" },
                    ],
                },
            },
        });
        expect(mocks.named("products-export-landed-target").inputs).to.deep.equal({
            rule: "products-export-landed",
            arn: "arn:aws:glue:eu-west-1:123456789012:workflow/products-workflow",
            roleArn: "arn:aws:iam:eu-west-1:123456789012:role/products-export-events-role",
        });
        expect(policyOf(mocks.named("products-export-events-policy")).Statement).to.deep.equal([
            {
                Sid: "NotifyLoaderWorkflow",
                Effect: "Allow",
                Action: ["glue:notifyEvent"],
                Resource: "arn:aws:glue:eu-west-1:123456789012:workflow/products-workflow",
            },
        ]);
    });

    it("gives the loader exactly its exports, checkpoints, reports and table", () => {
        expect(policyOf(mocks.named("products-job-policy")).Statement.slice(0, 8)).to.deep.equal([
            {
                Sid: "FindExportsAndCheckpoints",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: ["arn:aws:s3:::products-exports", "arn:aws:s3:::assets"],
                Condition: { StringLike: { "s3:prefix": ["exports/*", "temporary/lookups/products/checkpoints/*"] } },
            },
            { Sid: "ReadExports", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::products-exports/exports/*" },
            {
                Sid: "KeepCheckpoints",
                Effect: "Allow",
                Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                Resource: "arn:aws:s3:::assets/temporary/lookups/products/checkpoints/*",
            },
            {
                Sid: "ReadJobCodeAndPlan",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: "arn:aws:s3:::assets/jobs/lookups/products/*",
            },
            { Sid: "WriteLoadReports", Effect: "Allow", Action: ["s3:PutObject"], Resource: "arn:aws:s3:::quarantine/lookups/products/*" },
            {
                Sid: "LoadLookupTable",
                Effect: "Allow",
                Action: ["dynamodb:BatchWriteItem", "dynamodb:DescribeTable", "dynamodb:Scan"],
                Resource: "arn:aws:dynamodb:eu-west-1:123456789012:table/products-table",
            },
            {
                Sid: "NotifyLoadOutcomes",
                Effect: "Allow",
                Action: ["sns:Publish"],
                Resource: "arn:aws:sns:eu-west-1:123456789012:topic/products-alarms",
            },
            { Sid: "UseProjectKey", Effect: "Allow", Action: kms, Resource: keyArn },
        ]);
    });

    it("filters the stream with a bisecting source mapping and an on-failure queue", () => {
        expect(mocks.named("products-filter-source").inputs).to.deep.equal({
            eventSourceArn: streamArn,
            functionName: "arn:aws:lambda:eu-west-1:123456789012:function/products-filter",
            startingPosition: "LATEST",
            batchSize: 500,
            bisectBatchOnFunctionError: true,
            maximumRetryAttempts: 10,
            maximumRecordAgeInSeconds: 86400,
            functionResponseTypes: ["ReportBatchItemFailures"],
            destinationConfig: { onFailure: { destinationArn: "arn:aws:sqs:eu-west-1:123456789012:queue/products-filter-failures" } },
        });
        expect(byType(mocks, "aws:lambda/function:Function", "products-filter").environment).to.deep.equal({
            variables: {
                LOOKUP_TABLE: "products-table",
                KEY_ATTRIBUTE: "product_id",
                KEY_TYPE: "S",
                EVENT_KEY_FIELD: "product_id",
                TTL_ATTRIBUTE: "expires_at",
                DESTINATION: "s3://lake/filtered/products/",
            },
        });
        expect(policyOf(mocks.named("products-filter-policy")).Statement.slice(4)).to.deep.equal([
            {
                Sid: "ReadEventStream",
                Effect: "Allow",
                Action: [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:ListShards",
                ],
                Resource: streamArn,
            },
            {
                Sid: "LookUpKeys",
                Effect: "Allow",
                Action: ["dynamodb:BatchGetItem"],
                Resource: "arn:aws:dynamodb:eu-west-1:123456789012:table/products-table",
            },
            { Sid: "WriteMatchingEvents", Effect: "Allow", Action: ["s3:PutObject"], Resource: "arn:aws:s3:::lake/filtered/products/*" },
            {
                Sid: "RecordFailedBatches",
                Effect: "Allow",
                Action: ["sqs:SendMessage"],
                Resource: "arn:aws:sqs:eu-west-1:123456789012:queue/products-filter-failures",
            },
        ]);
    });

    it("hands the dashboard the loader's counts of this stack's loads of the lookup, as the loader publishes them", () => {
        const { linesRead, itemsLoaded, linesRejected, itemsDeleted } = table.metrics;
        expect([linesRead, itemsLoaded, linesRejected, itemsDeleted]).to.deep.equal(
            ["LookupLinesRead", "LookupItemsLoaded", "LookupLinesRejected", "LookupItemsDeleted"].map((metricName) => ({
                namespace: "Ingestion",
                metricName,
                dimensions: { Stack: "dev", Lookup: "products" },
            })),
        );
    });

    it("alarms on failed loads and failed filter batches", () => {
        expect(
            mocks
                .ofType("aws:cloudwatch/metricAlarm:MetricAlarm")
                .map((alarm) => [alarm.name, alarm.inputs.metricName, alarm.inputs.dimensions])
                .sort(),
        ).to.deep.equal([
            ["products-alarms-filter-failures", "ApproximateNumberOfMessagesVisible", { QueueName: "products-filter-failures" }],
            ["products-alarms-load-failures", "MatchedEvents", { RuleName: "products-load-failed" }],
        ]);
    });
});

describe("LookupTable bootstrapped with ImportTable, keyed by number and sort key, without a filter", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        const text = [
            "lookup: prices",
            "key: { partition: { attribute: store, type: number }, sort: { attribute: sku, type: string } }",
            "source: { prefix: dumps/, format: dynamodb-json }",
            "refresh: { onNewExport: false, schedule: 'cron(0 * * * ? *)' }",
            "bootstrap: { importTable: true }",
        ].join("\n");
        declare("prices", parseLookup("config/lookups/prices.yaml", text), false);
        await settle();
    });

    it("creates the table from the exports and starts loads on schedule only", () => {
        expect(mocks.named("prices-table").inputs).to.deep.include({
            hashKey: "store",
            rangeKey: "sku",
            attributes: [
                { name: "store", type: "N" },
                { name: "sku", type: "S" },
            ],
            deletionProtectionEnabled: false,
            importTable: {
                inputFormat: "DYNAMODB_JSON",
                inputCompressionType: "GZIP",
                s3BucketSource: { bucket: "prices-exports", keyPrefix: "dumps/" },
            },
        });
        expect(mocks.ofType("aws:glue/trigger:Trigger").map((trigger) => trigger.name)).to.deep.equal(["prices-schedule"]);
        expect(mocks.ofType("aws:glue/workflow:Workflow")).to.deep.equal([]);
        expect(mocks.ofType("aws:lambda/function:Function")).to.deep.equal([]);
    });
});

describe("LookupTable bootstrapped from a prefix and compression of its own", () => {
    let mocks: RecordingMocks;
    // Each ImportTable setting on a table of its own: [lookup, source, bootstrap, the table's importTable].
    const bootstraps: [string, string, string, Record<string, unknown>][] = [
        [
            "dynamodb-export",
            "{ format: dynamodb-json }",
            "{ importTable: true, keyPrefix: exports/AWSDynamoDB/01764119213456-4b2b7f5a/data/ }",
            {
                inputFormat: "DYNAMODB_JSON",
                inputCompressionType: "GZIP",
                s3BucketSource: { bucket: "dynamodb-export-exports", keyPrefix: "exports/AWSDynamoDB/01764119213456-4b2b7f5a/data/" },
            },
        ],
        [
            "zstd-csv",
            "{ prefix: dumps/, format: csv }",
            "{ importTable: true, compression: zstd }",
            { inputFormat: "CSV", inputCompressionType: "ZSTD", s3BucketSource: { bucket: "zstd-csv-exports", keyPrefix: "dumps/" } },
        ],
        [
            "plain-csv",
            "{ format: csv }",
            "{ importTable: true, compression: none }",
            { inputFormat: "CSV", inputCompressionType: "NONE", s3BucketSource: { bucket: "plain-csv-exports", keyPrefix: "exports/" } },
        ],
    ];
    before(async () => {
        mocks = await useMocks();
        for (const [lookup, source, bootstrap] of bootstraps) {
            const text = [
                `lookup: ${lookup}`,
                "key: { partition: { attribute: id, type: string } }",
                `source: ${source}`,
                `bootstrap: ${bootstrap}`,
            ];
            declare(lookup, parseLookup(`config/lookups/${lookup}.yaml`, text.join("\n")), false);
        }
        await settle();
    });

    for (const [lookup, , bootstrap, importTable] of bootstraps) {
        it(`imports ${lookup} with ${bootstrap}`, () => {
            expect(mocks.named(`${lookup}-table`).inputs.importTable).to.deep.equal(importTable);
        });
    }
});

describe("LookupTable of Redshift UNLOADs completed by their manifest, filtering another account's stream", () => {
    const upstreamArn = "arn:aws:kinesis:eu-west-1:210987654321:stream/orders";
    const upstreamKey = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const text = [
        "lookup: orders",
        "key: { partition: { attribute: order_id, type: string } }",
        "attributes: [{ name: status, type: string, required: true }]",
        "source:",
        "  prefix: unloads/orders/",
        "  format: redshift-text",
        "  marker: orders_manifest",
        "  unload: { columns: [order_id, status, placed_at], escape: true }",
        "filter:",
        `  stream: ${upstreamArn}`,
        `  kmsKeyArn: ${upstreamKey}`,
        "  eventField: order_id",
        "  destination: { firehose: known-orders }",
    ].join("\n");
    const orders = parseLookup("config/lookups/orders.yaml", text, { region: "eu-west-1" });
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        const stream = upstreamStreamOf(orders);
        if (!stream) {
            throw new Error("the orders lookup reads no stream of another account");
        }
        declare("orders", orders, false, stream);
        await settle();
    });

    it("starts a load when the UNLOAD's manifest lands in a folder under the prefix, and on nothing else", () => {
        expect(JSON.parse(mocks.named("orders-export-landed").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: { bucket: { name: ["orders-exports"] }, object: { key: [{ wildcard: "unloads/orders/*/orders_manifest" }] } },
        });
    });

    it("reads the stream by its ARN, decrypting only with its key, through Kinesis in its region, for that stream", () => {
        expect(mocks.named("orders-filter-source").inputs.eventSourceArn).to.equal(upstreamArn);
        expect(policyOf(mocks.named("orders-filter-policy")).Statement.slice(4)).to.deep.equal([
            {
                Sid: "ReadEventStream",
                Effect: "Allow",
                Action: [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:ListShards",
                ],
                Resource: upstreamArn,
            },
            {
                Sid: "DecryptUpstreamStream",
                Effect: "Allow",
                Action: ["kms:Decrypt"],
                Resource: upstreamKey,
                Condition: {
                    StringEquals: {
                        "kms:ViaService": "kinesis.eu-west-1.amazonaws.com",
                        "kms:EncryptionContext:aws:kinesis:arn": upstreamArn,
                    },
                },
            },
            {
                Sid: "LookUpKeys",
                Effect: "Allow",
                Action: ["dynamodb:BatchGetItem"],
                Resource: "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-table",
            },
            {
                Sid: "ForwardMatchingEvents",
                Effect: "Allow",
                Action: ["firehose:PutRecordBatch"],
                Resource: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/known-orders",
            },
            {
                Sid: "RecordFailedBatches",
                Effect: "Allow",
                Action: ["sqs:SendMessage"],
                Resource: "arn:aws:sqs:eu-west-1:123456789012:queue/orders-filter-failures",
            },
        ]);
        expect(byType(mocks, "aws:lambda/function:Function", "orders-filter").description).to.equal(
            "Forwards the orders (account 210987654321) events whose order_id is in the orders table",
        );
    });
});

describe("stack outputs of the dev stack's lookups", () => {
    it("name the table, exports bucket, loader, where its reports are, topic and filter", async () => {
        const { exports } = await runProgramWithExports("dev");
        expect(exports.lookupTables).to.deep.equal({
            products: {
                table: "ingest-dev-products-table",
                exportsBucket: "ingest-dev-products-exports",
                exportsPrefix: "exports/",
                loaderJob: "ingest-dev-products-job",
                reportBucket: "ingest-dev-quarantine",
                reportPrefix: "lookups/",
                alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:topic/ingest-dev-products-alarms",
                filterFunction: "ingest-dev-products-filter",
                filterRoleArn: "arn:aws:iam:eu-west-1:123456789012:role/ingest-dev-products-filter-role",
            },
        });
    });
});

describe("the event filter's tracing and reserved concurrency", () => {
    const upstream: LookupFilterArgs["stream"] = {
        arn: "arn:aws:kinesis:eu-west-1:210987654321:stream/orders",
        partition: "aws",
        region: "eu-west-1",
        accountId: "210987654321",
        name: "orders",
        kmsKeyArn: "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    };
    const cases: { what: string; stream: LookupFilterArgs["stream"]; lambda?: LambdaSettings; expected: [string, number] }[] = [
        // One batch per shard at a time; an on-demand stream starts with four.
        { what: "a stream of the stack without declared shards (on demand)", stream: { arn: streamArn }, expected: ["Active", 4] },
        { what: "a provisioned stream of the stack", stream: { arn: streamArn, shards: 6 }, expected: ["Active", 6] },
        { what: "a stream of another account", stream: upstream, expected: ["Active", 4] },
        {
            what: "a stack's override",
            stream: { arn: streamArn, shards: 6 },
            lambda: { tracing: "PassThrough", reservedConcurrency: { "event-filter": 12 } },
            expected: ["PassThrough", 12],
        },
    ];
    for (const { what, stream, lambda, expected } of cases) {
        it(`reserves for ${what}`, async () => {
            const mocks = await useMocks();
            declare("products", products, false, stream, lambda);
            await settle();
            const filter = byType(mocks, "aws:lambda/function:Function", "products-filter");
            expect([(filter.tracingConfig as { mode: string }).mode, filter.reservedConcurrentExecutions]).to.deep.equal(expected);
        });
    }
});
