import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { z } from "zod";
import { buildJobPlan, jobPlanSchema, type JobPlan } from "../config/job-plan";
import { loadJobPlan, loadJobPlans, repositoryRoot } from "../config/load";
import { parseMapping } from "../config/mapping";
import { parseStackSettings } from "../config/stack-settings";
import { ConfigError } from "../config/yaml-source";

const customersFile = "config/mappings/customers.yaml";
const customersYaml = fs.readFileSync(path.join(repositoryRoot, customersFile), "utf8");

/** `text` with `from` replaced by `to`; `from` must occur exactly once, so a stale edit fails loudly. */
function replaceOnce(text: string, from: string, to: string): string {
    expect(text.split(from).length - 1, `occurrences of ${JSON.stringify(from)}`).to.equal(1);
    return text.replace(from, to);
}

/** The error `action` throws, which must be a ConfigError. */
function configErrorOf(action: () => unknown): ConfigError {
    try {
        action();
    } catch (error) {
        if (error instanceof ConfigError) {
            return error;
        }
        throw error;
    }
    throw new Error("expected a ConfigError, but nothing was thrown");
}

// Written out by hand from customers.yaml: what the Glue job is promised, not what the code happens to build.
const customersPlan: JobPlan = {
    planVersion: 1,
    pipeline: "customers",
    extract: {
        landingPrefix: "incoming/customers/",
        archiveNaming: {
            regex: "^crm_customers_(\\d{4}\\d{2}\\d{2}T\\d{2}\\d{2}\\d{2}Z)_(\\d+)\\.zip$",
            groups: ["timestamp", "sequence"],
            timestampFormat: "yyyyMMdd'T'HHmmss'Z'",
        },
        csv: { delimiter: ",", quote: '"', escape: '"', header: true, encoding: "UTF-8", nullValue: "", trimKeys: true },
        limits: { maxEntries: 64, maxUncompressedBytes: 21474836480, maxCompressionRatio: 200 },
        unknownFiles: "reject",
    },
    tables: [
        {
            name: "customers",
            fileGlob: "customers*.csv",
            fileRegex: "^customers[^/]*\\.csv$",
            required: true,
            primaryKey: ["customer_id"],
            columns: [
                { name: "customer_id", type: "string", nullable: false },
                { name: "email", type: "string", nullable: true },
                { name: "full_name", type: "string", nullable: false },
                { name: "segment", type: "string", nullable: true },
                { name: "credit_limit", type: "decimal(12,2)", nullable: true },
                { name: "created_at", type: "timestamp", nullable: false, format: "yyyy-MM-dd HH:mm:ss" },
                { name: "updated_at", type: "timestamp", nullable: false, format: "yyyy-MM-dd HH:mm:ss" },
            ],
            catalogTable: "customers_customers",
            lakePrefix: "customers/customers/",
        },
        {
            name: "addresses",
            fileGlob: "addresses*.csv",
            fileRegex: "^addresses[^/]*\\.csv$",
            required: false,
            primaryKey: ["address_id"],
            columns: [
                { name: "address_id", type: "string", nullable: false },
                { name: "customer_id", type: "string", nullable: false },
                { name: "kind", type: "string", nullable: false },
                { name: "line1", type: "string", nullable: false },
                { name: "city", type: "string", nullable: false },
                { name: "postcode", type: "string", nullable: true },
                { name: "country", type: "string", nullable: false },
                { name: "is_primary", type: "boolean", nullable: false },
            ],
            parent: { table: "customers", on: [{ child: "customer_id", parent: "customer_id" }] },
            catalogTable: "customers_addresses",
            lakePrefix: "customers/addresses/",
        },
        {
            name: "orders",
            fileGlob: "orders*.csv",
            fileRegex: "^orders[^/]*\\.csv$",
            required: true,
            primaryKey: ["order_id"],
            columns: [
                { name: "order_id", type: "string", nullable: false },
                { name: "customer_id", type: "string", nullable: false },
                { name: "order_date", type: "date", nullable: false, format: "yyyy-MM-dd" },
                { name: "status", type: "string", nullable: false },
                { name: "total_amount", type: "decimal(14,2)", nullable: false },
                { name: "updated_at", type: "timestamp", nullable: false, format: "yyyy-MM-dd HH:mm:ss" },
            ],
            parent: { table: "customers", on: [{ child: "customer_id", parent: "customer_id" }] },
            catalogTable: "customers_orders",
            lakePrefix: "customers/orders/",
        },
        {
            name: "order_lines",
            fileGlob: "order_lines*.csv",
            fileRegex: "^order_lines[^/]*\\.csv$",
            required: true,
            primaryKey: ["order_id", "line_number"],
            columns: [
                { name: "order_id", type: "string", nullable: false },
                { name: "line_number", type: "int", nullable: false },
                { name: "sku", type: "string", nullable: false },
                { name: "quantity", type: "int", nullable: false },
                { name: "unit_price", type: "decimal(12,2)", nullable: false },
            ],
            parent: { table: "orders", on: [{ child: "order_id", parent: "order_id" }] },
            catalogTable: "customers_order_lines",
            lakePrefix: "customers/order_lines/",
        },
    ],
    lake: {
        partitionKey: { name: "ingest_extract_id", type: "string" },
        metadataColumns: [
            { name: "ingest_extract_version", type: "bigint" },
            { name: "ingest_extract_time", type: "timestamp" },
            { name: "ingest_source_file", type: "string" },
            { name: "ingest_source_line", type: "bigint" },
        ],
    },
    item: {
        partitionKey: { attribute: "pk", column: "customer_id", type: "S" },
        sortKey: { attribute: "sk", value: "PROFILE", type: "S" },
        versionAttribute: "extract_version",
        snapshotAttribute: "lake_snapshot",
        ttl: {
            attribute: "expires_at",
            retentionDays: 270,
            activity: [
                { table: "customers", column: "updated_at" },
                { table: "orders", column: "updated_at" },
            ],
        },
        root: {
            table: "customers",
            attributes: [
                { column: "customer_id", attribute: "customer_id" },
                { column: "email", attribute: "email" },
                { column: "full_name", attribute: "name" },
                { column: "segment", attribute: "segment" },
                { column: "credit_limit", attribute: "credit_limit" },
                { column: "created_at", attribute: "created_at" },
                { column: "updated_at", attribute: "updated_at" },
            ],
            collections: [
                {
                    attribute: "orders",
                    orderBy: ["order_date", "order_id"],
                    node: {
                        table: "orders",
                        attributes: [
                            { column: "order_id", attribute: "order_id" },
                            { column: "order_date", attribute: "order_date" },
                            { column: "status", attribute: "status" },
                            { column: "total_amount", attribute: "total_amount" },
                            { column: "updated_at", attribute: "updated_at" },
                        ],
                        collections: [
                            {
                                attribute: "lines",
                                orderBy: ["line_number"],
                                node: {
                                    table: "order_lines",
                                    attributes: [
                                        { column: "line_number", attribute: "line_number" },
                                        { column: "sku", attribute: "sku" },
                                        { column: "quantity", attribute: "quantity" },
                                        { column: "unit_price", attribute: "unit_price" },
                                    ],
                                    collections: [],
                                },
                            },
                        ],
                    },
                },
                {
                    attribute: "addresses",
                    orderBy: ["kind", "address_id"],
                    node: {
                        table: "addresses",
                        attributes: [
                            { column: "address_id", attribute: "address_id" },
                            { column: "kind", attribute: "kind" },
                            { column: "line1", attribute: "line1" },
                            { column: "city", attribute: "city" },
                            { column: "postcode", attribute: "postcode" },
                            { column: "country", attribute: "country" },
                            { column: "is_primary", attribute: "is_primary" },
                        ],
                        collections: [],
                    },
                },
            ],
        },
    },
    quarantine: { maxRejectedFraction: 0.01 },
    oversize: { policy: "quarantine", maxItemBytes: 400000 },
};

/**
 * Tables declared children-first, with names that sort the other way, so only a real
 * parents-first order passes; b_notes has no parent and sits outside the item.
 */
const familyYaml = `pipeline: family
extract:
  landingPrefix: incoming/family/
  archiveName: "family_{timestamp:yyyyMMdd}.zip"
tables:
  a_lines:
    file: "lines*.csv"
    primaryKey: [line_id]
    columns:
      - { name: line_id, type: string, nullable: false }
      - { name: order_id, type: string, nullable: false }
  m_orders:
    file: "orders*.csv"
    primaryKey: [order_id]
    columns:
      - { name: order_id, type: string, nullable: false }
      - { name: account_id, type: long, nullable: false }
  z_accounts:
    file: "accounts*.csv"
    primaryKey: [account_id]
    columns:
      - { name: account_id, type: long, nullable: false }
      - { name: updated_at, type: timestamp, nullable: false }
  b_notes:
    file: "notes*.csv"
    primaryKey: [note_id]
    columns:
      - { name: note_id, type: string, nullable: false }
relationships:
  - parent: m_orders
    child: a_lines
    on: [{ child: order_id, parent: order_id }]
  - parent: z_accounts
    child: m_orders
    on: [{ child: account_id, parent: account_id }]
item:
  root: z_accounts
  partitionKey: { attribute: pk, column: account_id }
  collections:
    - attribute: orders
      table: m_orders
      collections:
        - { attribute: lines, table: a_lines }
ttl:
  activity: [z_accounts.updated_at]
`;

describe("job plan", () => {
    const plan = buildJobPlan(parseMapping(customersFile, customersYaml));

    it("of customers.yaml is exactly the plan the Glue job expects", () => {
        expect(plan).to.deep.equal(customersPlan);
    });

    it("of customers.yaml is valid under jobPlanSchema", () => {
        expect(jobPlanSchema.safeParse(plan).error?.issues).to.equal(undefined);
    });

    it("lists tables parents first, ties by name, whatever the YAML order", () => {
        const familyPlan = buildJobPlan(parseMapping("family.yaml", familyYaml));
        expect(familyPlan.tables.map((table) => [table.name, table.parent?.table])).to.deep.equal([
            ["b_notes", undefined],
            ["z_accounts", undefined],
            ["m_orders", "z_accounts"],
            ["a_lines", "m_orders"],
        ]);
    });

    it("fills in defaults: timestamp format, orderBy as the child's primary key, numeric key type N", () => {
        const familyPlan = buildJobPlan(parseMapping("family.yaml", familyYaml));
        expect(familyPlan.tables[1]?.columns).to.deep.equal([
            { name: "account_id", type: "bigint", nullable: false },
            { name: "updated_at", type: "timestamp", nullable: false, format: "yyyy-MM-dd HH:mm:ss" },
        ]);
        expect(familyPlan.item.root.collections.map((collection) => [collection.attribute, collection.orderBy])).to.deep.equal([
            ["orders", ["order_id"]],
        ]);
        expect(familyPlan.item.partitionKey).to.deep.equal({ attribute: "pk", column: "account_id", type: "N" });
        expect(familyPlan.item.sortKey).to.equal(undefined);
    });

    const withoutTables: Partial<JobPlan> = { ...customersPlan };
    delete withoutTables.tables;
    const brokenPlans: { name: string; candidate: unknown; problems: string[] }[] = [
        {
            name: "a plan of version 2",
            candidate: { ...customersPlan, planVersion: 2 },
            problems: ["planVersion: Invalid input: expected 1"],
        },
        {
            name: "a plan without tables",
            candidate: withoutTables,
            problems: ["tables: Invalid input: expected array, received undefined"],
        },
    ];
    for (const { name, candidate, problems } of brokenPlans) {
        it(`schema rejects ${name}`, () => {
            const issues = jobPlanSchema.safeParse(candidate).error?.issues ?? [];
            expect(issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`)).to.deep.equal(problems);
        });
    }
});

describe("job_plan.schema.json", () => {
    const schemaFile = path.join(repositoryRoot, "glue-scripts", "ingest", "contracts", "job_plan.schema.json");
    const text = fs.readFileSync(schemaFile, "utf8");
    const committed = JSON.parse(text) as Record<string, unknown>;

    it("is exactly z.toJSONSchema(jobPlanSchema), so the Python side cannot drift from the TypeScript one", () => {
        const schema = { ...committed };
        delete schema.$comment;
        expect(schema, "stale: run npx tsx scripts/write-plan-schema.ts").to.deep.equal(z.toJSONSchema(jobPlanSchema));
    });

    it("says it is generated and is written as the script writes it", () => {
        expect(committed.$comment).to.equal(
            "Generated by scripts/write-plan-schema.ts from jobPlanSchema in config/job-plan.ts; do not edit by hand, run `npx tsx scripts/write-plan-schema.ts` instead.",
        );
        expect(text).to.equal(`${JSON.stringify(committed, null, 2)}\n`);
    });
});

describe("stack settings", () => {
    const mappings = ["customers"];
    const badSettings: { name: string; raw: Record<string, unknown>; problems: string[] }[] = [
        {
            name: "Flex on G.4X workers",
            raw: { mappings, glue: { workerType: "G.4X", flex: true } },
            problems: ["Pulumi.dev.yaml: ingestion:glue.flex: Flex runs only on G.1X and G.2X workers, not G.4X"],
        },
        {
            name: "freshnessHours beyond CloudWatch's 7 days",
            raw: { mappings, freshnessHours: 200 },
            problems: ["Pulumi.dev.yaml: ingestion:freshnessHours: must be at most 168 hours (CloudWatch evaluates at most 7 days)"],
        },
        {
            name: "an unknown key",
            raw: { mappings, retention: 30 },
            problems: ["Pulumi.dev.yaml: ingestion:retention: unknown setting"],
        },
        {
            name: "a notification address that is not an e-mail address",
            raw: { mappings, notificationEmail: "ops-at-example.com" },
            problems: ["Pulumi.dev.yaml: ingestion:notificationEmail: must be an e-mail address"],
        },
        {
            name: "allowDataDeletion with deletionProtection: true",
            raw: { mappings, allowDataDeletion: true, deletionProtection: true },
            problems: ["Pulumi.dev.yaml: ingestion:allowDataDeletion: contradicts deletionProtection: true; choose one"],
        },
        {
            // deletionProtection defaults to true, so allowing deletion needs turning protection off explicitly.
            name: "allowDataDeletion with deletionProtection left at its default",
            raw: { mappings, allowDataDeletion: true },
            problems: ["Pulumi.dev.yaml: ingestion:allowDataDeletion: contradicts deletionProtection: true; choose one"],
        },
    ];
    for (const { name, raw, problems } of badSettings) {
        it(`rejects ${name}`, () => {
            expect(configErrorOf(() => parseStackSettings("dev", raw)).problems).to.deep.equal(problems);
        });
    }

    it("applies the secure defaults to a minimal stack", () => {
        expect(parseStackSettings("dev", { mappings })).to.deep.equal({
            mappings: ["customers"],
            streams: [],
            lookups: [],
            glue: { workerType: "G.1X", maxWorkers: 10, flex: false, timeoutMinutes: 60, maxRetries: 1, maxConcurrentRuns: 2 },
            retentionDays: 400,
            freshnessHours: 24,
            allowDataDeletion: false,
            deletionProtection: true,
            athenaBytesScannedCutoff: 10 * 1024 ** 3,
            logRetentionDays: 90,
        });
    });
});

describe("loadJobPlans", () => {
    let directory: string;

    before(() => {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "mappings-"));
        const sibling = (pipeline: string, prefix: string): string =>
            replaceOnce(
                replaceOnce(customersYaml, "pipeline: customers", `pipeline: ${pipeline}`),
                "landingPrefix: incoming/customers/",
                `landingPrefix: ${prefix}`,
            );
        fs.writeFileSync(path.join(directory, "customers.yaml"), customersYaml);
        fs.writeFileSync(path.join(directory, "customers-eu.yaml"), sibling("customers-eu", "incoming/customers/eu/"));
        // Starts with the text "incoming/customers" yet is not inside incoming/customers/: only whole folders overlap.
        fs.writeFileSync(path.join(directory, "customers-us.yaml"), sibling("customers-us", "incoming/customers-us/"));
        fs.writeFileSync(path.join(directory, "crm.yaml"), customersYaml);
    });

    after(() => {
        fs.rmSync(directory, { recursive: true, force: true });
    });

    it("reports a mapping the stack names but that does not exist, alongside valid ones", () => {
        expect(configErrorOf(() => loadJobPlans(["customers", "nope"])).problems).to.deep.equal([
            `config/mappings/nope.yaml: mapping "nope" does not exist; the stack's ingestion:mappings names it`,
        ]);
    });

    it("reports two pipelines whose landing prefixes overlap", () => {
        // load.ts names the file config/mappings/<pipeline>.yaml here even when loading from another directory.
        expect(configErrorOf(() => loadJobPlans(["customers", "customers-eu"], directory)).problems).to.deep.equal([
            `config/mappings/customers-eu.yaml: extract.landingPrefix "incoming/customers/eu/" overlaps "incoming/customers/" of pipeline "customers"`,
        ]);
    });

    it("accepts sibling landing prefixes that only share leading text", () => {
        expect(loadJobPlans(["customers", "customers-us"], directory).map((plan) => plan.extract.landingPrefix)).to.deep.equal([
            "incoming/customers/",
            "incoming/customers-us/",
        ]);
    });

    it("reports a file whose pipeline name differs from its file name", () => {
        const displayName = path.relative(repositoryRoot, path.join(directory, "crm.yaml"));
        expect(configErrorOf(() => loadJobPlans(["crm"], directory)).problems).to.deep.equal([
            `${displayName}: pipeline is "customers" but the file is named "crm.yaml"; they must match`,
        ]);
    });
});

describe("loadJobPlan", () => {
    let directory: string;

    before(() => {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "mapping-file-"));
        fs.writeFileSync(path.join(directory, "trial.yaml"), customersYaml);
        fs.writeFileSync(
            path.join(directory, "broken.yml"),
            replaceOnce(customersYaml, "{ name: line_number, type: integer", "{ name: line_number, type: huge"),
        );
    });

    after(() => {
        fs.rmSync(directory, { recursive: true, force: true });
    });

    it("loads a name from config/mappings/", () => {
        expect(loadJobPlan("customers")).to.deep.equal(customersPlan);
    });

    it("loads a mapping file anywhere by its path, whatever the file is named", () => {
        expect(loadJobPlan(path.join(directory, "trial.yaml"))).to.deep.equal(customersPlan);
    });

    it("reports the problems of a mapping file by the path given", () => {
        const file = path.join(directory, "broken.yml");
        expect(configErrorOf(() => loadJobPlan(file)).problems).to.deep.equal([
            `${file}:51:30: tables.order_lines.columns[1].type: unknown type "huge"; expected one of string, integer, long, double, boolean, date, timestamp or decimal(precision,scale)`,
        ]);
    });

    it("reports a path that holds no file", () => {
        const file = path.join(directory, "missing.yaml");
        expect(configErrorOf(() => loadJobPlan(file)).problems).to.deep.equal([`${file}: no such mapping file`]);
    });
});
