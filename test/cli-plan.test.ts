import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runPlan } from "../cli/plan";
import { ExitCode, OperatorError, type Terminal } from "../cli/terminal";
import { fixtureRoot, fixtureText, withConfigFiles, withConfigRoot } from "./support/config-root";

interface PlanRun {
    /** The exit code, or the refusal the command threw. */
    readonly outcome: number | OperatorError;
    readonly stdout: string;
    readonly stderr: string;
    readonly diagramFile: string;
}

/** `ingest plan` for a stack of the config under `root` (the tests' fixtures unless a test gives its own). */
async function plan(stack: string, root = fixtureRoot): Promise<PlanRun> {
    // A directory that does not exist yet: the command creates it.
    const diagramFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-test-")), "out", `plan-${stack}.mmd`);
    const output = { stdout: "", stderr: "" };
    const terminal: Terminal = {
        stdout: { write: (text) => void (output.stdout += text), isTTY: false },
        stderr: { write: (text) => void (output.stderr += text), isTTY: false },
        now: () => new Date("2025-01-01T00:00:00Z"),
        sleep: () => Promise.resolve(),
        onInterrupt: () => () => undefined,
    };
    let outcome: number | OperatorError;
    try {
        outcome = await withConfigRoot(root, () => runPlan({ stack, diagramFile }, terminal));
    } catch (error) {
        if (!(error instanceof OperatorError)) {
            throw error;
        }
        outcome = error;
    }
    return { outcome, ...output, diagramFile };
}

function refusal(run: PlanRun): OperatorError {
    if (!(run.outcome instanceof OperatorError)) {
        throw new Error(`plan succeeded with exit code ${run.outcome}`);
    }
    return run.outcome;
}

/** A fixture config file, as the tests derive other configs from it. */
function exampleConfig(file: string): string {
    return fixtureText(file);
}

/** Plans a stack in a temporary copy of the fixtures with `files` (paths from the config root) added. */
async function planWithFiles(stack: string, files: Record<string, string>): Promise<PlanRun> {
    return withConfigFiles(files, (root) => plan(stack, root));
}

/** The top-level component headings, and the logical names of the resources listed under each, in order. */
function componentsIn(stdout: string): { heading: string; names: string[] }[] {
    const components: { heading: string; names: string[] }[] = [];
    for (const line of stdout.split("\n")) {
        if (/^\S+ \S+ \(ingestion:[^)]+\), \d+ resources$/.test(line)) {
            components.push({ heading: line, names: [] });
        }
        const resource = /^\s+aws:\S+ (\S+)/.exec(line);
        if (resource) {
            components[components.length - 1]!.names.push(resource[1]!);
        }
    }
    return components;
}

const dataBucketParts = ["ownership", "public-access", "encryption", "versioning", "lifecycle", "logging", "policy"];

/** A SecureBucket's resources: the bucket, then `<bucket>-<part>` in declaration order. */
function secureBucket(name: string, parts: readonly string[]): string[] {
    return [name, ...parts.map((part) => `${name}-${part}`)];
}

/** A BundledFunction's resources. */
function bundledFunction(name: string): string[] {
    return [`${name}-logs`, `${name}-role`, `${name}-policy`, name];
}

/** The lake tables of the customers mapping, in plan order: each mapped table's current, history and keys tables. */
const customersLakeTables = ["customers", "addresses", "orders", "order_lines"].flatMap((table) =>
    ["", "_history", "_keys"].map((suffix) => `customers_${table}${suffix}`),
);

/** The Glue optimizers of a lake table: compaction on the merged ones (current and keys), snapshots and orphan files on all. */
function optimizers(prefix: string, table: string): string[] {
    return [...(table.endsWith("_history") ? [] : ["compaction"]), "retention", "orphan-files"].map((kind) => `${prefix}-${table}-${kind}`);
}

/** A LakeMaintenance component's resources. */
function lakeMaintenance(name: string): string[] {
    return [
        ...["script", "package", "plan", "role", "policy"].map((part) => `${name}-job-${part}`),
        `${name}-job`,
        `${name}-schedule`,
        `${name}-run-failed`,
        `${name}-failures`,
    ];
}

/** What each top-level component of the example stacks declares; prod adds e-mail subscriptions. */
function expectedComponents(stack: "dev" | "prod"): { heading: string; names: string[] }[] {
    const p = `ingest-${stack}`;
    const email = (name: string) => (stack === "prod" ? [name] : []);
    return [
        {
            heading: `Storage ${p} (ingestion:storage:Storage), 48 resources`,
            names: [
                `${p}-key`,
                `${p}-key-alias`,
                ...secureBucket(`${p}-access-logs`, ["ownership", "public-access", "encryption", "lifecycle", "policy"]),
                ...secureBucket(`${p}-landing`, [...dataBucketParts, "notifications"]),
                ...secureBucket(`${p}-lake`, dataBucketParts),
                ...secureBucket(`${p}-quarantine`, dataBucketParts),
                ...secureBucket(`${p}-glue-assets`, dataBucketParts),
                ...secureBucket(`${p}-athena-results`, ["ownership", "public-access", "encryption", "lifecycle", "logging", "policy"]),
            ],
        },
        {
            heading: `Catalog ${p} (ingestion:catalog:Catalog), 49 resources`,
            names: [
                `${p}-database`,
                ...customersLakeTables.map((table) => `${p}-${table}`),
                `${p}-table-optimizers-role`,
                `${p}-table-optimizers-policy`,
                ...customersLakeTables.flatMap((table) => optimizers(p, table)),
                `${p}-security`,
                `${p}-workgroup`,
            ],
        },
        {
            heading: `ExtractPipeline ${p}-customers (ingestion:extract:ExtractPipeline), ${stack === "prod" ? 40 : 39} resources`,
            names: [
                `${p}-customers-items`,
                `${p}-customers-runs`,
                `${p}-customers-notifications`,
                ...email(`${p}-customers-notifications-email`),
                `${p}-customers-archives-dlq`,
                `${p}-customers-archives`,
                `${p}-customers-archive-landed`,
                `${p}-customers-archives-policy`,
                `${p}-customers-archive-landed-target`,
                `${p}-customers-job-script`,
                `${p}-customers-job-package`,
                `${p}-customers-job-plan`,
                `${p}-customers-job-role`,
                `${p}-customers-job-policy`,
                `${p}-customers-job`,
                ...bundledFunction(`${p}-customers-trigger`),
                `${p}-customers-trigger-source`,
                `${p}-customers-run-succeeded`,
                `${p}-customers-run-failed`,
                `${p}-customers-run-delayed`,
                `${p}-customers-notifications-policy`,
                // Failed runs reach the topic only through the notifier, which publishes for those the job did not announce.
                ...bundledFunction(`${p}-customers-run-notifier`),
                `${p}-customers-run-notifier-permission`,
                `${p}-customers-run-failed-target`,
                `${p}-customers-job-failures`,
                `${p}-customers-dead-letters`,
                `${p}-customers-stale`,
                `${p}-customers-latency`,
                `${p}-customers-archive-wait`,
                `${p}-customers-glue-queue`,
                `${p}-customers-late-runs`,
                `${p}-customers-bad-archive-names`,
                `${p}-customers-item-rows`,
                `${p}-customers-row-history`,
            ],
        },
        {
            heading: `LakeMaintenance ${p}-customers-maintenance (ingestion:lake:LakeMaintenance), 9 resources`,
            names: lakeMaintenance(`${p}-customers-maintenance`),
        },
        {
            heading: `StreamLake ${p}-clickstream (ingestion:streaming:StreamLake), ${stack === "prod" ? 44 : 43} resources`,
            names: [
                `${p}-clickstream-stream`,
                ...secureBucket(`${p}-clickstream-raw`, dataBucketParts),
                `${p}-clickstream-table`,
                `${p}-clickstream-delivery-logs`,
                `${p}-clickstream-delivery-log`,
                `${p}-clickstream-backup-log`,
                `${p}-clickstream-delivery-role`,
                `${p}-clickstream-delivery-policy`,
                `${p}-clickstream-delivery`,
                // The alarm topic holds the stream's own alarms; its file source and warehouse export hold theirs, which notify it.
                `${p}-clickstream-alarms`,
                `${p}-clickstream-alarms-policy`,
                ...email(`${p}-clickstream-alarms-email`),
                `${p}-clickstream-alarms-stale`,
                `${p}-clickstream-alarms-delivery-failures`,
                `${p}-clickstream-alarms-conversion-failures`,
                `${p}-clickstream-alarms-consumer-lag`,
                `${p}-clickstream-alarms-dead-letters`,
                `${p}-clickstream-alarms-crawl-not-started`,
                `${p}-clickstream-alarms-crawl-failures`,
                `${p}-clickstream-functions-dlq`,
                ...bundledFunction(`${p}-clickstream-producer`),
                `${p}-clickstream-crawler-role`,
                `${p}-clickstream-crawler-policy`,
                `${p}-clickstream-crawler`,
                ...bundledFunction(`${p}-clickstream-crawl`),
                `${p}-clickstream-crawl-schedule`,
                `${p}-clickstream-crawl-permission`,
                `${p}-clickstream-crawl-target`,
                `${p}-clickstream-crawl-failed`,
                `${p}-clickstream-recent-events`,
                `${p}-clickstream-events-per-partition`,
            ],
        },
        {
            heading: `FileSource ${p}-clickstream (ingestion:streaming:FileSource), 20 resources`,
            names: [
                ...secureBucket(`${p}-clickstream-source`, [...dataBucketParts, "notifications"]),
                `${p}-clickstream-files-dlq`,
                `${p}-clickstream-files`,
                `${p}-clickstream-files-created`,
                `${p}-clickstream-files-policy`,
                `${p}-clickstream-files-created-target`,
                ...bundledFunction(`${p}-clickstream-loader`),
                `${p}-clickstream-loader-source`,
                `${p}-clickstream-alarms-file-dead-letters`,
            ],
        },
        {
            heading: `WarehouseExport ${p}-clickstream-warehouse (ingestion:streaming:WarehouseExport), 45 resources`,
            names: [
                // warehouse.trigger: on-delivery, the example's: the delivery bucket's events go to EventBridge.
                ...secureBucket(`${p}-clickstream-warehouse-intermediate`, [...dataBucketParts, "notifications"]),
                ...secureBucket(`${p}-clickstream-warehouse-destination`, dataBucketParts),
                `${p}-clickstream-warehouse-delivery-logs`,
                `${p}-clickstream-warehouse-delivery-log`,
                `${p}-clickstream-warehouse-delivery-role`,
                `${p}-clickstream-warehouse-delivery-policy`,
                `${p}-clickstream-warehouse-delivery`,
                `${p}-clickstream-warehouse-job-script`,
                `${p}-clickstream-warehouse-job-package`,
                `${p}-clickstream-warehouse-job-schema`,
                `${p}-clickstream-warehouse-job-role`,
                `${p}-clickstream-warehouse-job-policy`,
                `${p}-clickstream-warehouse-job`,
                `${p}-clickstream-warehouse-schedule`,
                `${p}-clickstream-warehouse-deliveries-dlq`,
                `${p}-clickstream-warehouse-deliveries`,
                `${p}-clickstream-warehouse-deliveries-created`,
                `${p}-clickstream-warehouse-deliveries-policy`,
                `${p}-clickstream-warehouse-deliveries-created-target`,
                `${p}-clickstream-warehouse-runs`,
                ...bundledFunction(`${p}-clickstream-warehouse-starter`),
                `${p}-clickstream-warehouse-starter-source`,
                `${p}-clickstream-alarms-export-dead-letters`,
                `${p}-clickstream-warehouse-run-failed`,
                `${p}-clickstream-alarms-export-failures`,
                `${p}-clickstream-warehouse-snowflake`,
                `${p}-clickstream-warehouse-snowflake-policy`,
            ],
        },
        {
            heading: `LookupTable ${p}-products (ingestion:lookup:LookupTable), ${stack === "prod" ? 35 : 34} resources`,
            names: [
                ...secureBucket(`${p}-products-exports`, [...dataBucketParts, "notifications"]),
                `${p}-products-table`,
                `${p}-products-alarms`,
                `${p}-products-alarms-policy`,
                ...email(`${p}-products-alarms-email`),
                `${p}-products-alarms-load-failures`,
                `${p}-products-alarms-filter-failures`,
                `${p}-products-job-script`,
                `${p}-products-job-package`,
                `${p}-products-job-plan`,
                `${p}-products-job-role`,
                `${p}-products-job-policy`,
                `${p}-products-job`,
                `${p}-products-schedule`,
                `${p}-products-workflow`,
                `${p}-products-on-export`,
                `${p}-products-export-landed`,
                `${p}-products-export-events-role`,
                `${p}-products-export-events-policy`,
                `${p}-products-export-landed-target`,
                `${p}-products-load-failed`,
                `${p}-products-filter-failures`,
                ...bundledFunction(`${p}-products-filter`),
                `${p}-products-filter-source`,
            ],
        },
        {
            heading: `StackDashboard ${p} (ingestion:monitoring:StackDashboard), 1 resources`,
            names: [`${p}-dashboard`],
        },
    ];
}

/** The pipelines of an example stack, as Mermaid: ids use `_`, labels the logical names. */
function expectedDiagram(stack: "dev" | "prod"): string {
    const n = `ingest-${stack}`;
    const i = `ingest_${stack}`;
    return `flowchart LR
    %% Pipelines of stack ${stack}, from the resources the program declares under mocks; not a view of what is deployed.
    subgraph Storage_${i}["Storage ${n}"]
        Bucket_${i}_landing[("S3 bucket<br/>${n}-landing")]
        Bucket_${i}_lake[("S3 bucket<br/>${n}-lake")]
    end
    subgraph Catalog_${i}["Catalog ${n}"]
        CatalogDatabase_${i}_database[("Glue database<br/>${n}-database")]
    end
    subgraph ExtractPipeline_${i}_customers["extract ${n}-customers"]
        EventRule_${i}_customers_archive_landed{{"EventBridge rule<br/>${n}-customers-archive-landed"}}
        Queue_${i}_customers_archives[["SQS queue<br/>${n}-customers-archives"]]
        Function_${i}_customers_trigger["Lambda<br/>${n}-customers-trigger"]
        Job_${i}_customers_job["Glue job<br/>${n}-customers-job"]
        Table_${i}_customers_items[("DynamoDB table<br/>${n}-customers-items")]
        Topic_${i}_customers_notifications>"SNS topic<br/>${n}-customers-notifications"]
        EventRule_${i}_customers_run_failed{{"EventBridge rule<br/>${n}-customers-run-failed"}}
        Function_${i}_customers_run_notifier["Lambda<br/>${n}-customers-run-notifier"]
    end
    subgraph StreamLake_${i}_clickstream["stream ${n}-clickstream"]
        Function_${i}_clickstream_producer["Lambda<br/>${n}-clickstream-producer"]
        Stream_${i}_clickstream_stream[["Kinesis stream<br/>${n}-clickstream-stream"]]
        Bucket_${i}_clickstream_source[("S3 bucket<br/>${n}-clickstream-source")]
        EventRule_${i}_clickstream_files_created{{"EventBridge rule<br/>${n}-clickstream-files-created"}}
        Queue_${i}_clickstream_files[["SQS queue<br/>${n}-clickstream-files"]]
        Function_${i}_clickstream_loader["Lambda<br/>${n}-clickstream-loader"]
        FirehoseDeliveryStream_${i}_clickstream_delivery["Firehose<br/>${n}-clickstream-delivery"]
        Bucket_${i}_clickstream_raw[("S3 bucket<br/>${n}-clickstream-raw")]
        CatalogTable_${i}_clickstream_table[("Glue table<br/>${n}-clickstream-table")]
        EventRule_${i}_clickstream_crawl_schedule{{"EventBridge rule<br/>${n}-clickstream-crawl-schedule"}}
        Function_${i}_clickstream_crawl["Lambda<br/>${n}-clickstream-crawl"]
        Crawler_${i}_clickstream_crawler["Glue crawler<br/>${n}-clickstream-crawler"]
        FirehoseDeliveryStream_${i}_clickstream_warehouse_delivery["Firehose<br/>${n}-clickstream-warehouse-delivery"]
        Bucket_${i}_clickstream_warehouse_intermediate[("S3 bucket<br/>${n}-clickstream-warehouse-intermediate")]
        Job_${i}_clickstream_warehouse_job["Glue job<br/>${n}-clickstream-warehouse-job"]
        Trigger_${i}_clickstream_warehouse_schedule{{"Glue trigger<br/>${n}-clickstream-warehouse-schedule"}}
        EventRule_${i}_clickstream_warehouse_deliveries_created{{"EventBridge rule<br/>${n}-clickstream-warehouse-deliveries-created"}}
        Queue_${i}_clickstream_warehouse_deliveries[["SQS queue<br/>${n}-clickstream-warehouse-deliveries"]]
        Function_${i}_clickstream_warehouse_starter["Lambda<br/>${n}-clickstream-warehouse-starter"]
        Bucket_${i}_clickstream_warehouse_destination[("S3 bucket<br/>${n}-clickstream-warehouse-destination")]
        Role_${i}_clickstream_warehouse_snowflake[/"IAM role<br/>${n}-clickstream-warehouse-snowflake<br/>Snowpipe's storage integration"/]
    end
    subgraph LookupTable_${i}_products["lookup ${n}-products"]
        Bucket_${i}_products_exports[("S3 bucket<br/>${n}-products-exports")]
        Job_${i}_products_job["Glue job<br/>${n}-products-job"]
        Trigger_${i}_products_schedule{{"Glue trigger<br/>${n}-products-schedule"}}
        Table_${i}_products_table[("DynamoDB table<br/>${n}-products-table")]
        Function_${i}_products_filter["Lambda<br/>${n}-products-filter"]
    end
    Bucket_${i}_landing -->|"incoming/customers/"| EventRule_${i}_customers_archive_landed
    EventRule_${i}_customers_archive_landed --> Queue_${i}_customers_archives
    Queue_${i}_customers_archives --> Function_${i}_customers_trigger
    Function_${i}_customers_trigger -->|"StartJobRun"| Job_${i}_customers_job
    Job_${i}_customers_job -->|"Iceberg MERGE"| Bucket_${i}_lake
    Job_${i}_customers_job -->|"snapshots"| CatalogDatabase_${i}_database
    Job_${i}_customers_job -->|"nested items"| Table_${i}_customers_items
    Job_${i}_customers_job -.->|"run outcomes"| Topic_${i}_customers_notifications
    Job_${i}_customers_job -.->|"FAILED, TIMEOUT, STOPPED, ERROR"| EventRule_${i}_customers_run_failed
    EventRule_${i}_customers_run_failed --> Function_${i}_customers_run_notifier
    Function_${i}_customers_run_notifier -.->|"runs the job did not announce"| Topic_${i}_customers_notifications
    Function_${i}_clickstream_producer --> Stream_${i}_clickstream_stream
    Bucket_${i}_clickstream_source -->|"incoming/"| EventRule_${i}_clickstream_files_created
    EventRule_${i}_clickstream_files_created --> Queue_${i}_clickstream_files
    Queue_${i}_clickstream_files --> Function_${i}_clickstream_loader
    Function_${i}_clickstream_loader -->|"PutRecords"| Stream_${i}_clickstream_stream
    Stream_${i}_clickstream_stream --> FirehoseDeliveryStream_${i}_clickstream_delivery
    FirehoseDeliveryStream_${i}_clickstream_delivery -->|"Parquet"| Bucket_${i}_lake
    FirehoseDeliveryStream_${i}_clickstream_delivery -->|"raw records"| Bucket_${i}_clickstream_raw
    CatalogTable_${i}_clickstream_table -.->|"schema"| FirehoseDeliveryStream_${i}_clickstream_delivery
    EventRule_${i}_clickstream_crawl_schedule --> Function_${i}_clickstream_crawl
    Function_${i}_clickstream_crawl -->|"StartCrawler"| Crawler_${i}_clickstream_crawler
    Crawler_${i}_clickstream_crawler -->|"partitions"| CatalogTable_${i}_clickstream_table
    Stream_${i}_clickstream_stream --> FirehoseDeliveryStream_${i}_clickstream_warehouse_delivery
    FirehoseDeliveryStream_${i}_clickstream_warehouse_delivery -->|"JSON"| Bucket_${i}_clickstream_warehouse_intermediate
    Bucket_${i}_clickstream_warehouse_intermediate -->|"new records"| Job_${i}_clickstream_warehouse_job
    Trigger_${i}_clickstream_warehouse_schedule --> Job_${i}_clickstream_warehouse_job
    Bucket_${i}_clickstream_warehouse_intermediate -->|"clickstream/"| EventRule_${i}_clickstream_warehouse_deliveries_created
    EventRule_${i}_clickstream_warehouse_deliveries_created --> Queue_${i}_clickstream_warehouse_deliveries
    Queue_${i}_clickstream_warehouse_deliveries --> Function_${i}_clickstream_warehouse_starter
    Function_${i}_clickstream_warehouse_starter -->|"StartJobRun for the object"| Job_${i}_clickstream_warehouse_job
    Job_${i}_clickstream_warehouse_job -->|"Parquet"| Bucket_${i}_clickstream_warehouse_destination
    Bucket_${i}_clickstream_warehouse_destination -->|"Snowpipe loads"| Role_${i}_clickstream_warehouse_snowflake
    Bucket_${i}_products_exports -->|"each new export under exports/"| Job_${i}_products_job
    Trigger_${i}_products_schedule --> Job_${i}_products_job
    Job_${i}_products_job -->|"loads"| Table_${i}_products_table
    Stream_${i}_clickstream_stream --> Function_${i}_products_filter
    Function_${i}_products_filter -.->|"looks up keys"| Table_${i}_products_table
    Function_${i}_products_filter -->|"matching events under filtered/products/"| Bucket_${i}_lake
`;
}

describe("ingest plan", () => {
    const runs: Partial<Record<"dev" | "prod", PlanRun>> = {};
    const run = (stack: "dev" | "prod"): PlanRun => runs[stack]!;

    before(async () => {
        runs.dev = await plan("dev");
        runs.prod = await plan("prod");
    });

    for (const stack of ["dev", "prod"] as const) {
        describe(`--stack ${stack}`, () => {
            it("says it is a structural preview, not a substitute for pulumi preview, and ends with the totals and the diagram", () => {
                const { outcome, stdout, stderr, diagramFile } = run(stack);
                const lines = stdout.split("\n");
                expect(outcome).to.equal(ExitCode.ok);
                expect(stderr).to.equal("");
                expect(lines.slice(0, 3)).to.deep.equal([
                    `Structural preview of stack ${stack}: the resources the program declares for this stack's config, built under mocks.`,
                    `It does not contact AWS or compare with deployed state: run \`pulumi preview --stack ${stack}\` for that.`,
                    "",
                ]);
                expect(lines.slice(-3)).to.deep.equal([
                    `${stack === "prod" ? 291 : 288} resources in 31 components, 9 of them at the top level.`,
                    `Mermaid diagram of the pipelines written to ${diagramFile}`,
                    "",
                ]);
            });

            it("lists every resource once, with its type and logical name, under the component that declared it", () => {
                expect(componentsIn(run(stack).stdout)).to.deep.equal(expectedComponents(stack));
            });

            it("heads each nested component with its type and the resources it holds", () => {
                const lines = run(stack).stdout.split("\n");
                expect(lines).to.include.members([
                    `  SecureBucket ingest-${stack}-landing (ingestion:storage:SecureBucket), 9 resources`,
                    `  BundledFunction ingest-${stack}-customers-trigger (ingestion:lambda:BundledFunction), 4 resources`,
                    `  BundledFunction ingest-${stack}-customers-run-notifier (ingestion:lambda:BundledFunction), 4 resources`,
                    `  AlarmTopic ingest-${stack}-clickstream-alarms (ingestion:notifications:AlarmTopic), ${stack === "prod" ? 10 : 9} resources`,
                    `  ObjectEventQueue ingest-${stack}-clickstream-files (ingestion:events:ObjectEventQueue), 5 resources`,
                ]);
            });

            it("writes the Mermaid diagram of the pipelines", () => {
                expect(fs.readFileSync(run(stack).diagramFile, "utf8")).to.equal(expectedDiagram(stack));
            });
        });
    }

    describe("key settings", () => {
        const cases: { stack: "dev" | "prod"; what: string; line: string }[] = [
            {
                stack: "dev",
                what: "items table keys and TTL",
                line: "  aws:dynamodb/table:Table ingest-dev-customers-items  key pk (S), sort sk (S), TTL expires_at, on demand, PITR on, deletion protection off, writes capped at 4000 units/s",
            },
            {
                stack: "prod",
                what: "items table protected in production",
                line: "  aws:dynamodb/table:Table ingest-prod-customers-items  key pk (S), sort sk (S), TTL expires_at, on demand, PITR on, deletion protection on, writes capped at 4000 units/s",
            },
            {
                stack: "dev",
                what: "extract job on flex capacity",
                line: "  aws:glue/job:Job ingest-dev-customers-job  G.1X up to 4 workers, flex, timeout 60 min, 0 retries, 2 concurrent runs, more queued, late after 90 min",
            },
            {
                stack: "prod",
                what: "extract job on standard capacity",
                line: "  aws:glue/job:Job ingest-prod-customers-job  G.2X up to 20 workers, standard, timeout 40 min, 0 retries, 2 concurrent runs, more queued, late after 45 min",
            },
            {
                stack: "dev",
                what: "lookup loader job",
                line: "  aws:glue/job:Job ingest-dev-products-job  G.1X up to 2 workers, timeout 120 min, 1 retry, 1 concurrent run",
            },
            {
                stack: "dev",
                what: "crawler schedule",
                line: "  aws:cloudwatch/eventRule:EventRule ingest-dev-clickstream-crawl-schedule  schedule cron(15,45 * * * ? *)",
            },
            {
                stack: "dev",
                what: "crawler",
                line: "  aws:glue/crawler:Crawler ingest-dev-clickstream-crawler  started on demand, schema changes: update LOG, delete LOG",
            },
            {
                stack: "prod",
                what: "lookup reload schedule",
                line: "  aws:glue/trigger:Trigger ingest-prod-products-schedule  schedule cron(30 3 * * ? *)",
            },
            {
                stack: "prod",
                what: "lookup load on each export",
                line: "  aws:glue/trigger:Trigger ingest-prod-products-on-export  on event, batch 1 within 15 min",
            },
            {
                stack: "dev",
                what: "landing expiration",
                line: "    aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration ingest-dev-landing-lifecycle  objects expire after 270 days, noncurrent versions after 30 days, incomplete uploads after 7 days",
            },
            {
                stack: "prod",
                what: "lake expiration only where nothing lives in Iceberg tables",
                line: "    aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration ingest-prod-lake-lifecycle  streams/ expires after 400 days, filtered/products/ expires after 400 days, noncurrent versions after 30 days, incomplete uploads after 7 days",
            },
            {
                stack: "dev",
                what: "current table",
                line: "  aws:glue/catalogTable:CatalogTable ingest-dev-customers_order_lines  Iceberg v2, 11 columns, partitioned by bucket[16](ingest_root_customer_id), sorted by ingest_root_customer_id, order_id, line_number, merge-on-read",
            },
            {
                stack: "dev",
                what: "history table",
                line: "  aws:glue/catalogTable:CatalogTable ingest-dev-customers_customers_history  Iceberg v2, 12 columns, partitioned by ingest_extract_id, sorted by customer_id, copy-on-write",
            },
            {
                stack: "dev",
                what: "compaction",
                line: "  aws:glue/catalogTableOptimizer:CatalogTableOptimizer ingest-dev-customers_orders-compaction  compaction sort, from 20 files in a partition or 1 delete in a file",
            },
            {
                stack: "prod",
                what: "snapshot retention",
                line: "  aws:glue/catalogTableOptimizer:CatalogTableOptimizer ingest-prod-customers_orders_keys-retention  snapshots kept 400 days, at least 10, their files deleted, every 24 hours",
            },
            {
                stack: "prod",
                what: "orphan files",
                line: "  aws:glue/catalogTableOptimizer:CatalogTableOptimizer ingest-prod-customers_orders_history-orphan-files  orphan files deleted after 3 days, every 24 hours",
            },
            {
                stack: "prod",
                what: "maintenance job",
                line: "  aws:glue/job:Job ingest-prod-customers-maintenance-job  G.1X up to 20 workers, flex, timeout 120 min, 1 retry, 1 concurrent run",
            },
            {
                stack: "prod",
                what: "maintenance schedule",
                line: "  aws:glue/trigger:Trigger ingest-prod-customers-maintenance-schedule  schedule cron(30 3 * * ? *)",
            },
            {
                stack: "prod",
                what: "failed maintenance alarm",
                line: "  aws:cloudwatch/metricAlarm:MetricAlarm ingest-prod-customers-maintenance-failures  AWS/Events MatchedEvents Sum >= 1, 1 × 5 min",
            },
            {
                stack: "prod",
                what: "landing expiration",
                line: "    aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration ingest-prod-landing-lifecycle  objects expire after 400 days, noncurrent versions after 30 days, incomplete uploads after 7 days",
            },
            {
                stack: "dev",
                what: "temporary files expiration",
                line: "    aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration ingest-dev-glue-assets-lifecycle  temporary/ expires after 7 days, noncurrent versions after 30 days, incomplete uploads after 7 days",
            },
            {
                stack: "dev",
                what: "log retention",
                line: "    aws:cloudwatch/logGroup:LogGroup ingest-dev-customers-trigger-logs  retention 14 days",
            },
            {
                stack: "prod",
                what: "log retention",
                line: "    aws:cloudwatch/logGroup:LogGroup ingest-prod-customers-trigger-logs  retention 365 days",
            },
            {
                stack: "dev",
                what: "buckets deletable with their data",
                line: "    aws:s3/bucket:Bucket ingest-dev-lake  force destroy on",
            },
            {
                stack: "prod",
                what: "buckets kept with their data",
                line: "    aws:s3/bucket:Bucket ingest-prod-lake  force destroy off",
            },
            {
                stack: "dev",
                what: "Kinesis stream",
                line: "  aws:kinesis/stream:Stream ingest-dev-clickstream-stream  on demand, retention 48 h",
            },
            {
                stack: "dev",
                what: "Firehose to Parquet",
                line: "  aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream ingest-dev-clickstream-delivery  buffer 64 MiB or 60 s, JSON to Parquet, prefix streams/clickstream/data/event_hour=!{partitionKeyFromQuery:event_hour}/event_type=!{partitionKeyFromQuery:event_type}/, raw backup",
            },
            {
                stack: "dev",
                what: "trigger queue",
                line: "  aws:sqs/queue:Queue ingest-dev-customers-archives  visibility 3 min, dead-letter after 5 receives",
            },
            {
                stack: "dev",
                what: "file loader function",
                line: "    aws:lambda/function:Function ingest-dev-clickstream-loader  nodejs22.x arm64, 1024 MB, timeout 15 min",
            },
            {
                stack: "dev",
                what: "project key",
                line: "  aws:kms/key:Key ingest-dev-key  rotation on, deletion window 30 days",
            },
            {
                stack: "dev",
                what: "freshness alarm",
                line: "  aws:cloudwatch/metricAlarm:MetricAlarm ingest-dev-customers-stale  AWS/Events MatchedEvents Sum < 1, 24 × 1 hour, missing data breaches",
            },
            {
                stack: "prod",
                what: "freshness alarm",
                line: "  aws:cloudwatch/metricAlarm:MetricAlarm ingest-prod-customers-stale  AWS/Events MatchedEvents Sum < 1, 8 × 1 hour, missing data breaches",
            },
            {
                stack: "dev",
                what: "Athena scan cutoff",
                line: "  aws:athena/workgroup:Workgroup ingest-dev-workgroup  scan cutoff 10 GiB per query",
            },
            {
                stack: "prod",
                what: "Athena scan cutoff",
                line: "  aws:athena/workgroup:Workgroup ingest-prod-workgroup  scan cutoff 100 GiB per query",
            },
            {
                stack: "dev",
                what: "dashboard of every pipeline, stream and lookup",
                line: "  aws:cloudwatch/dashboard:Dashboard ingest-dev-dashboard  13 charts in 3 sections (Extract pipeline customers; Stream clickstream; Lookup products), the last day",
            },
            {
                stack: "prod",
                what: "latency alarm at the promise",
                line: "  aws:cloudwatch/metricAlarm:MetricAlarm ingest-prod-customers-latency  Ingestion LandingToItemsWritten Maximum > 2700, 1 × 5 min",
            },
            {
                stack: "dev",
                what: "latency alarm at dev's longer promise",
                line: "  aws:cloudwatch/metricAlarm:MetricAlarm ingest-dev-customers-latency  Ingestion LandingToItemsWritten Maximum > 5400, 1 × 5 min",
            },
            {
                stack: "prod",
                what: "archive waiting in the trigger queue",
                line: "  aws:cloudwatch/metricAlarm:MetricAlarm ingest-prod-customers-archive-wait  AWS/SQS ApproximateAgeOfOldestMessage Maximum > 900, 1 × 5 min",
            },
            {
                stack: "prod",
                what: "run waiting in Glue's queue",
                line: "  aws:cloudwatch/metricAlarm:MetricAlarm ingest-prod-customers-glue-queue  Ingestion LandingToRunStart Maximum > 900, 1 × 5 min",
            },
            {
                stack: "prod",
                what: "runs still going after the promise",
                line: "  aws:cloudwatch/eventRule:EventRule ingest-prod-customers-run-delayed  on Glue Job Run Status",
            },
            {
                stack: "prod",
                what: "run notifier",
                line: "    aws:lambda/function:Function ingest-prod-customers-run-notifier  nodejs22.x arm64, 256 MB, timeout 30 s",
            },
            {
                stack: "prod",
                what: "notification e-mail",
                line: "  aws:sns/topicSubscription:TopicSubscription ingest-prod-customers-notifications-email  email data-platform-alerts@example.com",
            },
        ];
        for (const { stack, what, line } of cases) {
            it(`${stack}: ${what}`, () => {
                expect(run(stack).stdout.split("\n")).to.include(line);
            });
        }

        it("lists resources without key settings by type and name alone", () => {
            expect(run("dev").stdout.split("\n")).to.include("  aws:kms/alias:Alias ingest-dev-key-alias");
        });
    });

    describe("a stack with two mappings", () => {
        const stack = "plan-test-two";
        let twoPipelines: PlanRun;

        before(async () => {
            const customers = exampleConfig("config/mappings/customers.yaml");
            twoPipelines = await planWithFiles(stack, {
                "config/mappings/orders.yaml": customers
                    .replace("pipeline: customers", "pipeline: orders")
                    .replace("incoming/customers/", "incoming/orders/"),
                [`Pulumi.${stack}.yaml`]: "config:\n  aws:region: eu-west-1\n  ingestion:mappings:\n    - customers\n    - orders\n",
            });
        });

        it("lists one extract pipeline per mapping, each with all its resources", () => {
            expect(componentsIn(twoPipelines.stdout).map((component) => component.heading)).to.deep.equal([
                "Storage ingest-plan-test-two (ingestion:storage:Storage), 48 resources",
                "Catalog ingest-plan-test-two (ingestion:catalog:Catalog), 93 resources",
                "ExtractPipeline ingest-plan-test-two-customers (ingestion:extract:ExtractPipeline), 39 resources",
                "ExtractPipeline ingest-plan-test-two-orders (ingestion:extract:ExtractPipeline), 39 resources",
                "LakeMaintenance ingest-plan-test-two-customers-maintenance (ingestion:lake:LakeMaintenance), 9 resources",
                "LakeMaintenance ingest-plan-test-two-orders-maintenance (ingestion:lake:LakeMaintenance), 9 resources",
                "StackDashboard ingest-plan-test-two (ingestion:monitoring:StackDashboard), 1 resources",
            ]);
            expect(twoPipelines.stdout.split("\n").at(-3)).to.equal("238 resources in 17 components, 7 of them at the top level.");
        });

        it("draws both pipelines on the stack's one dashboard, and nothing else", () => {
            expect(twoPipelines.stdout.split("\n")).to.include(
                "  aws:cloudwatch/dashboard:Dashboard ingest-plan-test-two-dashboard  16 charts in 2 sections " +
                    "(Extract pipeline customers; Extract pipeline orders), the last day",
            );
        });

        it("draws each pipeline from its own landing prefix", () => {
            const diagram = fs.readFileSync(twoPipelines.diagramFile, "utf8").split("\n");
            expect(diagram.filter((line) => line.includes("subgraph ExtractPipeline"))).to.deep.equal([
                '    subgraph ExtractPipeline_ingest_plan_test_two_customers["extract ingest-plan-test-two-customers"]',
                '    subgraph ExtractPipeline_ingest_plan_test_two_orders["extract ingest-plan-test-two-orders"]',
            ]);
            expect(diagram.filter((line) => line.includes("Bucket_ingest_plan_test_two_landing -->"))).to.deep.equal([
                '    Bucket_ingest_plan_test_two_landing -->|"incoming/customers/"| EventRule_ingest_plan_test_two_customers_archive_landed',
                '    Bucket_ingest_plan_test_two_landing -->|"incoming/orders/"| EventRule_ingest_plan_test_two_orders_archive_landed',
            ]);
        });
    });

    describe("a stack with the options the examples leave out", () => {
        const stack = "plan-test-variants";
        let variants: PlanRun;

        before(async () => {
            // A stream partitioned by projection whose warehouse export notifies a Snowpipe queue, and a filter into a Firehose.
            const stream = exampleConfig("config/streams/clickstream.yaml")
                .replace("stream: clickstream", "stream: orderstream")
                .replace(
                    /^partitions: .*$/m,
                    'partitions: { mode: projection, since: "2026-01-01", keyValues: { event_type: [page_view, purchase] } }',
                )
                .replace(/^fileSource: .*$/m, "")
                .concat('    notificationChannel: "arn:aws:sqs:eu-west-1:123456789012:sf-snowpipe-AIDAEXAMPLE-queue"\n');
            const lookup = exampleConfig("config/lookups/products.yaml")
                .replace("lookup: products", "lookup: sellers")
                .replace("stream: clickstream", "stream: orderstream")
                .replace("destination: { prefix: filtered/products/ }", "destination: { firehose: orders-filtered }");
            variants = await planWithFiles(stack, {
                "config/streams/orderstream.yaml": stream,
                "config/lookups/sellers.yaml": lookup,
                [`Pulumi.${stack}.yaml`]:
                    "config:\n  aws:region: eu-west-1\n  ingestion:mappings: [customers]\n  ingestion:streams: [orderstream]\n  ingestion:lookups: [sellers]\n" +
                    "  ingestion:itemsWriteUnitsPerSecond: 12000\n",
            });
        });

        it("declares no crawler for a stream partitioned by projection", () => {
            expect(componentsIn(variants.stdout).map((component) => component.heading)).to.deep.equal([
                "Storage ingest-plan-test-variants (ingestion:storage:Storage), 48 resources",
                "Catalog ingest-plan-test-variants (ingestion:catalog:Catalog), 49 resources",
                "ExtractPipeline ingest-plan-test-variants-customers (ingestion:extract:ExtractPipeline), 39 resources",
                "LakeMaintenance ingest-plan-test-variants-customers-maintenance (ingestion:lake:LakeMaintenance), 9 resources",
                "StreamLake ingest-plan-test-variants-orderstream (ingestion:streaming:StreamLake), 30 resources",
                "WarehouseExport ingest-plan-test-variants-orderstream-warehouse (ingestion:streaming:WarehouseExport), 46 resources",
                "LookupTable ingest-plan-test-variants-sellers (ingestion:lookup:LookupTable), 34 resources",
                "StackDashboard ingest-plan-test-variants (ingestion:monitoring:StackDashboard), 1 resources",
            ]);
            expect(variants.stdout).not.to.contain("aws:glue/crawler:Crawler");
        });

        it("caps the items table at a write budget above what a new table takes, and pre-warms it to the budget", () => {
            expect(variants.stdout.split("\n")).to.include(
                "  aws:dynamodb/table:Table ingest-plan-test-variants-customers-items  key pk (S), sort sk (S), TTL expires_at, " +
                    "on demand, PITR on, deletion protection on, writes capped at 12000 units/s, pre-warmed to 12000 writes/s",
            );
        });

        it("draws partition projection, the Snowpipe notification and the filter's Firehose", () => {
            const diagram = fs.readFileSync(variants.diagramFile, "utf8").split("\n");
            expect(diagram).to.include.members([
                '        CatalogTable_ingest_plan_test_variants_orderstream_table[("Glue table<br/>ingest-plan-test-variants-orderstream-table<br/>partition projection")]',
                '    Bucket_ingest_plan_test_variants_orderstream_warehouse_destination -->|"object created, Snowpipe loads"| Role_ingest_plan_test_variants_orderstream_warehouse_snowflake',
                '    external_firehose_orders_filtered[/"Firehose<br/>orders-filtered"/]',
                '    Function_ingest_plan_test_variants_sellers_filter -->|"matching events"| external_firehose_orders_filtered',
            ]);
        });
    });

    describe("a stack whose stream Snowflake loads through a pipe the stack declares", () => {
        const stack = "plan-test-pipe";
        let snowflake: PlanRun;

        before(async () => {
            const stream = exampleConfig("config/streams/clickstream.yaml")
                .replace("stream: clickstream", "stream: snowstream")
                .replace(/^fileSource: .*$/m, "")
                .replace(
                    /^ {2}snowflake:\n(?: {4}.*\n)*/m,
                    "  snowflake:\n    account: { database: RAW, schema: EVENTS, table: SNOWSTREAM }\n",
                );
            snowflake = await planWithFiles(stack, {
                "config/streams/snowstream.yaml": stream,
                [`Pulumi.${stack}.yaml`]:
                    "config:\n  aws:region: eu-west-1\n  ingestion:mappings: [customers]\n  ingestion:streams: [snowstream]\n" +
                    "  snowflake:password:\n    secure: v1:AAAAAAAAAAAAAAAA\n",
            });
        });

        it("draws each delivered object starting its export, and the pipe loading the table with its errors on the topic", () => {
            expect(snowflake.outcome).to.equal(ExitCode.ok);
            const s = "ingest_plan_test_pipe_snowstream";
            const diagram = fs.readFileSync(snowflake.diagramFile, "utf8").split("\n");
            expect(
                diagram.filter((line) => line.includes("->") && line.includes(`${s}_`) && /warehouse|snowflake/.test(line)),
            ).to.deep.equal([
                `    Stream_${s}_stream --> FirehoseDeliveryStream_${s}_warehouse_delivery`,
                `    FirehoseDeliveryStream_${s}_warehouse_delivery -->|"JSON"| Bucket_${s}_warehouse_intermediate`,
                `    Bucket_${s}_warehouse_intermediate -->|"new records"| Job_${s}_warehouse_job`,
                `    Trigger_${s}_warehouse_schedule --> Job_${s}_warehouse_job`,
                `    Bucket_${s}_warehouse_intermediate -->|"snowstream/"| EventRule_${s}_warehouse_deliveries_created`,
                `    EventRule_${s}_warehouse_deliveries_created --> Queue_${s}_warehouse_deliveries`,
                `    Queue_${s}_warehouse_deliveries --> Function_${s}_warehouse_starter`,
                `    Function_${s}_warehouse_starter -->|"StartJobRun for the object"| Job_${s}_warehouse_job`,
                `    Job_${s}_warehouse_job -->|"Parquet"| Bucket_${s}_warehouse_destination`,
                `    Bucket_${s}_warehouse_destination -->|"object created"| Pipe_${s}_snowflake_pipe`,
                `    Pipe_${s}_snowflake_pipe -->|"COPY INTO"| Table_${s}_snowflake_table`,
                `    Pipe_${s}_snowflake_pipe -.->|"load errors"| Topic_${s}_snowflake_errors`,
            ]);
            expect(diagram).to.include.members([
                `        Pipe_${s}_snowflake_pipe["Snowpipe<br/>ingest-plan-test-pipe-snowstream-snowflake-pipe<br/>RAW.EVENTS.SNOWSTREAM_PIPE"]`,
                `        Table_${s}_snowflake_table[("Snowflake table<br/>ingest-plan-test-pipe-snowstream-snowflake-table<br/>RAW.EVENTS.SNOWSTREAM")]`,
            ]);
            expect(diagram.filter((line) => line.startsWith("    subgraph"))).to.include(
                `    subgraph StreamLake_${s}["stream ingest-plan-test-pipe-snowstream"]`,
            );
            expect(diagram.filter((line) => line.startsWith("    subgraph SnowflakeIngest"))).to.deep.equal([]);
        });

        it("shows the load role trusting the IAM user and external ID Snowflake reports, wired in the same program", () => {
            expect(snowflake.stdout).to.contain("ingest-plan-test-pipe-snowstream-snowflake-load");
            expect(snowflake.stdout).not.to.contain("undefined");
        });
    });

    describe("refusals", () => {
        const badStack = "plan-test-bad";

        it("names the missing stack file and the stacks there are", async () => {
            const error = refusal(await plan("qa"));
            expect(error.exitCode).to.equal(ExitCode.usage);
            expect(error.message).to.equal('unknown stack "qa": there is no Pulumi.qa.yaml; stacks with a config file: dev, prod');
        });

        const configErrors: { what: string; file: string; message: string }[] = [
            {
                what: "a mapping the stack lists that does not exist",
                file: "config:\n  aws:region: eu-west-1\n  ingestion:mappings:\n    - customers\n    - suppliers\n",
                message:
                    `1 config problem:\n  Pulumi.${badStack}.yaml:5:7: ingestion:mappings[1]: mapping "suppliers" does not exist: ` +
                    "there is no config/mappings/suppliers.yaml",
            },
            {
                what: "stack settings out of range",
                file: "config:\n  aws:region: eu-west-1\n  ingestion:mappings:\n    - customers\n  ingestion:freshnessHours: 500\n",
                message: `1 config problem:\n  Pulumi.${badStack}.yaml:5:3: ingestion:freshnessHours: must be at most 168 hours (CloudWatch evaluates at most 7 days)`,
            },
            {
                what: "a job timeout whose retry cannot end within the latency promise",
                file: "config:\n  aws:region: eu-west-1\n  ingestion:mappings:\n    - customers\n  ingestion:glue:\n    timeoutMinutes: 40\n    maxRetries: 1\n",
                message:
                    `1 config problem:\n  Pulumi.${badStack}.yaml:6:5: ingestion:glue.timeoutMinutes: 40 minutes per run, run up to 2 times ` +
                    "(glue.maxRetries 1), lets one extract take up to 80 minutes to load, more than ingestion:latencyPromiseMinutes 45; " +
                    "lower glue.timeoutMinutes to at most 22 or glue.maxRetries, or raise ingestion:latencyPromiseMinutes to at least 80",
            },
            {
                what: "lake history kept for less time than the items built from it live",
                file: "config:\n  aws:region: eu-west-1\n  ingestion:mappings:\n    - customers\n  ingestion:retentionDays: 30\n",
                message:
                    "1 config problem:\n  config/mappings/customers.yaml:102:3: ttl.retentionDays: items live 270 days after their latest activity, " +
                    `but Pulumi.${badStack}.yaml keeps landed archives and the lake's history for ingestion:retentionDays 30 days, ` +
                    "so rows an item still needs could not be rebuilt; raise ingestion:retentionDays to at least 270 or shorten ttl.retentionDays",
            },
            {
                what: "a stack file that is not YAML",
                file: "config:\n  aws:region: eu-west-1\n  ingestion:mappings: [customers\n",
                message:
                    `1 config problem:\n  Pulumi.${badStack}.yaml:4:1: YAML syntax: ` +
                    "Flow sequence in block collection must be sufficiently indented and end with a ]",
            },
            {
                what: "a stack file with a key twice",
                file: "config:\n  aws:region: eu-west-1\n  ingestion:mappings: [customers]\n  ingestion:mappings: [customers]\n",
                message:
                    `1 config problem:\n  Pulumi.${badStack}.yaml:4:3: config.ingestion:mappings: ` +
                    'duplicate key "ingestion:mappings" (first defined on line 3)',
            },
            {
                what: "a stack file without a config: block",
                file: "encryptionsalt: v1:abc\n",
                message:
                    `1 config problem:\n  Pulumi.${badStack}.yaml:1:1: config: no config: block; a stack's settings are written under ` +
                    "config:, as ingestion:<setting> (ingestion:mappings at least)",
            },
        ];
        for (const { what, file, message } of configErrors) {
            it(`reports the config error for ${what}, as the program does, and writes no diagram`, async () => {
                const attempt = await planWithFiles(badStack, { [`Pulumi.${badStack}.yaml`]: file });
                const error = refusal(attempt);
                expect(error.exitCode).to.equal(ExitCode.usage);
                expect(error.message).to.equal(message);
                expect(attempt.stdout).to.equal("");
                expect(fs.existsSync(attempt.diagramFile)).to.equal(false);
            });
        }
    });
});
