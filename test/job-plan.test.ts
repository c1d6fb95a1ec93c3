import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildJobPlan, jobPlanSchema, type JobPlan } from "../config/job-plan";
import { loadJobPlan, loadJobPlans, repositoryRoot } from "../config/load";
import { parseMapping } from "../config/mapping";
import { parseStackSettings } from "../config/stack-settings";
import { ConfigError } from "../config/yaml-source";
import { fixtureText, useConfigRoot } from "./support/config-root";

const customersFile = "config/mappings/customers.yaml";
const customersYaml = fixtureText(customersFile);

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
// The lake's column lists recur in the three tables of each mapped table, so they are written once here.

/** Each mapped table's columns as its current and history tables hold them: every one may be null. */
const lakeColumns = {
    customers: [
        { name: "customer_id", type: "string", required: false },
        { name: "email", type: "string", required: false },
        { name: "full_name", type: "string", required: false },
        { name: "segment", type: "string", required: false },
        { name: "credit_limit", type: "decimal(12,2)", required: false },
        { name: "created_at", type: "timestamp", required: false },
        { name: "updated_at", type: "timestamp", required: false },
    ],
    addresses: [
        { name: "address_id", type: "string", required: false },
        { name: "customer_id", type: "string", required: false },
        { name: "kind", type: "string", required: false },
        { name: "line1", type: "string", required: false },
        { name: "city", type: "string", required: false },
        { name: "postcode", type: "string", required: false },
        { name: "country", type: "string", required: false },
        { name: "is_primary", type: "boolean", required: false },
    ],
    orders: [
        { name: "order_id", type: "string", required: false },
        { name: "customer_id", type: "string", required: false },
        { name: "order_date", type: "date", required: false },
        { name: "status", type: "string", required: false },
        { name: "total_amount", type: "decimal(14,2)", required: false },
        { name: "updated_at", type: "timestamp", required: false },
    ],
    order_lines: [
        { name: "order_id", type: "string", required: false },
        { name: "line_number", type: "int", required: false },
        { name: "sku", type: "string", required: false },
        { name: "quantity", type: "int", required: false },
        { name: "unit_price", type: "decimal(12,2)", required: false },
    ],
};

/** Where every current and history row came from. */
const metadataColumns = [
    { name: "ingest_extract_id", type: "string", required: true },
    { name: "ingest_extract_version", type: "bigint", required: true },
    { name: "ingest_extract_time", type: "timestamp", required: true },
    { name: "ingest_source_file", type: "string", required: true },
    { name: "ingest_source_line", type: "bigint", required: true },
];

/** The key of the customer whose item a row belongs to; null for an orphan. */
const rootColumn = { name: "ingest_root_customer_id", type: "string", required: false };

/** A key's latest version, and whether the source deleted it. */
const keyVersionColumns = [
    { name: "ingest_extract_id", type: "string", required: true },
    { name: "ingest_extract_version", type: "bigint", required: true },
    { name: "ingest_extract_time", type: "timestamp", required: true },
    { name: "ingest_deleted", type: "boolean", required: true },
];

/** Current and keys tables take one MERGE per run: merge-on-read. */
const mergedProperties = {
    "format-version": "2",
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
    "write.distribution-mode": "hash",
    "write.delete.mode": "merge-on-read",
    "write.update.mode": "merge-on-read",
    "write.merge.mode": "merge-on-read",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "100",
    "commit.retry.num-retries": "10",
};

/** History tables are appended to, and lose whole partitions: copy-on-write. */
const appendedProperties = {
    "format-version": "2",
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
    "write.distribution-mode": "hash",
    "write.delete.mode": "copy-on-write",
    "write.update.mode": "copy-on-write",
    "write.merge.mode": "copy-on-write",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "100",
    "commit.retry.num-retries": "10",
};

const customersPlan: JobPlan = {
    planVersion: 2,
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
        unknownColumns: "reject",
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
            mode: "incremental",
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
            mode: "incremental",
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
            mode: "incremental",
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
            mode: "incremental",
            catalogTable: "customers_order_lines",
            lakePrefix: "customers/order_lines/",
        },
    ],
    lake: {
        metadataColumns: [
            { name: "ingest_extract_id", type: "string" },
            { name: "ingest_extract_version", type: "bigint" },
            { name: "ingest_extract_time", type: "timestamp" },
            { name: "ingest_source_file", type: "string" },
            { name: "ingest_source_line", type: "bigint" },
        ],
        rootColumns: [{ name: "ingest_root_customer_id", column: "customer_id", type: "string" }],
        buckets: 16,
        tables: [
            {
                name: "customers_customers",
                table: "customers",
                role: "current",
                description: "customers: current customers, one row per primary key, the latest version by extract order",
                location: "customers/customers/current/",
                columns: [...lakeColumns.customers, ...metadataColumns, rootColumn],
                partitionBy: [{ column: "ingest_root_customer_id", transform: "bucket[16]" }],
                sortBy: ["ingest_root_customer_id", "customer_id"],
                properties: mergedProperties,
            },
            {
                name: "customers_customers_history",
                table: "customers",
                role: "history",
                description: "customers: accepted rows of customers as each extract brought them",
                location: "customers/customers/history/",
                columns: [...lakeColumns.customers, ...metadataColumns],
                partitionBy: [{ column: "ingest_extract_id", transform: "identity" }],
                sortBy: ["customer_id"],
                properties: appendedProperties,
            },
            {
                name: "customers_customers_keys",
                table: "customers",
                role: "keys",
                description:
                    "customers: every key of customers ever loaded, with its root, latest version and whether the source deleted it; " +
                    "looked up by key, it finds a row's current root and keeps an older extract from bringing a deleted row back",
                location: "customers/customers/keys/",
                columns: [{ name: "customer_id", type: "string", required: true }, rootColumn, ...keyVersionColumns],
                partitionBy: [{ column: "customer_id", transform: "bucket[16]" }],
                sortBy: ["customer_id"],
                properties: mergedProperties,
            },
            {
                name: "customers_addresses",
                table: "addresses",
                role: "current",
                description: "customers: current addresses, one row per primary key, the latest version by extract order",
                location: "customers/addresses/current/",
                columns: [...lakeColumns.addresses, ...metadataColumns, rootColumn],
                partitionBy: [{ column: "ingest_root_customer_id", transform: "bucket[16]" }],
                sortBy: ["ingest_root_customer_id", "address_id"],
                properties: mergedProperties,
            },
            {
                name: "customers_addresses_history",
                table: "addresses",
                role: "history",
                description: "customers: accepted rows of addresses as each extract brought them",
                location: "customers/addresses/history/",
                columns: [...lakeColumns.addresses, ...metadataColumns],
                partitionBy: [{ column: "ingest_extract_id", transform: "identity" }],
                sortBy: ["address_id"],
                properties: appendedProperties,
            },
            {
                name: "customers_addresses_keys",
                table: "addresses",
                role: "keys",
                description:
                    "customers: every key of addresses ever loaded, with its root, latest version and whether the source deleted it; " +
                    "looked up by key, it finds a row's current root and keeps an older extract from bringing a deleted row back",
                location: "customers/addresses/keys/",
                columns: [{ name: "address_id", type: "string", required: true }, rootColumn, ...keyVersionColumns],
                partitionBy: [{ column: "address_id", transform: "bucket[16]" }],
                sortBy: ["address_id"],
                properties: mergedProperties,
            },
            {
                name: "customers_orders",
                table: "orders",
                role: "current",
                description: "customers: current orders, one row per primary key, the latest version by extract order",
                location: "customers/orders/current/",
                columns: [...lakeColumns.orders, ...metadataColumns, rootColumn],
                partitionBy: [{ column: "ingest_root_customer_id", transform: "bucket[16]" }],
                sortBy: ["ingest_root_customer_id", "order_id"],
                properties: mergedProperties,
            },
            {
                name: "customers_orders_history",
                table: "orders",
                role: "history",
                description: "customers: accepted rows of orders as each extract brought them",
                location: "customers/orders/history/",
                columns: [...lakeColumns.orders, ...metadataColumns],
                partitionBy: [{ column: "ingest_extract_id", transform: "identity" }],
                sortBy: ["order_id"],
                properties: appendedProperties,
            },
            {
                name: "customers_orders_keys",
                table: "orders",
                role: "keys",
                description:
                    "customers: every key of orders ever loaded, with its root, latest version and whether the source deleted it; " +
                    "looked up by key, it finds a row's current root and keeps an older extract from bringing a deleted row back",
                location: "customers/orders/keys/",
                columns: [{ name: "order_id", type: "string", required: true }, rootColumn, ...keyVersionColumns],
                partitionBy: [{ column: "order_id", transform: "bucket[16]" }],
                sortBy: ["order_id"],
                properties: mergedProperties,
            },
            {
                name: "customers_order_lines",
                table: "order_lines",
                role: "current",
                description: "customers: current order_lines, one row per primary key, the latest version by extract order",
                location: "customers/order_lines/current/",
                columns: [...lakeColumns.order_lines, ...metadataColumns, rootColumn],
                partitionBy: [{ column: "ingest_root_customer_id", transform: "bucket[16]" }],
                sortBy: ["ingest_root_customer_id", "order_id", "line_number"],
                properties: mergedProperties,
            },
            {
                name: "customers_order_lines_history",
                table: "order_lines",
                role: "history",
                description: "customers: accepted rows of order_lines as each extract brought them",
                location: "customers/order_lines/history/",
                columns: [...lakeColumns.order_lines, ...metadataColumns],
                partitionBy: [{ column: "ingest_extract_id", transform: "identity" }],
                sortBy: ["order_id", "line_number"],
                properties: appendedProperties,
            },
            {
                name: "customers_order_lines_keys",
                table: "order_lines",
                role: "keys",
                description:
                    "customers: every key of order_lines ever loaded, with its root, latest version and whether the source deleted it; " +
                    "looked up by key, it finds a row's current root and keeps an older extract from bringing a deleted row back",
                location: "customers/order_lines/keys/",
                columns: [
                    { name: "order_id", type: "string", required: true },
                    { name: "line_number", type: "int", required: true },
                    rootColumn,
                    ...keyVersionColumns,
                ],
                partitionBy: [{ column: "order_id", transform: "bucket[16]" }],
                sortBy: ["order_id", "line_number"],
                properties: mergedProperties,
            },
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

    it("fills in defaults: timestamp format, orderBy as the child's primary key, numeric key type N, incremental tables, 16 buckets", () => {
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
        expect(familyPlan.tables.map((table) => [table.name, table.mode, table.deletes])).to.deep.equal([
            ["b_notes", "incremental", undefined],
            ["z_accounts", "incremental", undefined],
            ["m_orders", "incremental", undefined],
            ["a_lines", "incremental", undefined],
        ]);
        expect(familyPlan.extract.unknownColumns).to.equal("reject");
        expect(familyPlan.lake.buckets).to.equal(16);
        expect(familyPlan.lake.rootColumns).to.deep.equal([{ name: "ingest_root_account_id", column: "account_id", type: "bigint" }]);
    });

    /** customers.yaml changed by `edit`, and the plan it must give: customersPlan changed as `expected` says. */
    const variants: { name: string; edit: (yaml: string) => string; expected: (plan: JobPlan) => JobPlan }[] = [
        {
            name: "an operation column that marks deletes: the table says which column and values, the lake keeps the column",
            edit: (yaml) =>
                replaceOnce(
                    replaceOnce(
                        replaceOnce(
                            yaml,
                            '    file: "orders*.csv"\n',
                            '    file: "orders*.csv"\n    deletes: { column: op, values: [D] }\n',
                        ),
                        'format: "yyyy-MM-dd HH:mm:ss" }\n  order_lines:',
                        'format: "yyyy-MM-dd HH:mm:ss" }\n      - { name: op, type: string }\n  order_lines:',
                    ),
                    "      omit: [customer_id]\n      collections:",
                    "      omit: [customer_id, op]\n      collections:",
                ),
            expected: (plan) => ({
                ...plan,
                tables: plan.tables.map((table) =>
                    table.name === "orders"
                        ? {
                              ...table,
                              columns: [...table.columns, { name: "op", type: "string", nullable: true }],
                              deletes: { column: "op", values: ["D"] },
                          }
                        : table,
                ),
                lake: {
                    ...plan.lake,
                    tables: plan.lake.tables.map((table) =>
                        table.table === "orders" && table.role !== "keys"
                            ? {
                                  ...table,
                                  columns: [
                                      ...lakeColumns.orders,
                                      { name: "op", type: "string", required: false },
                                      ...metadataColumns,
                                      ...(table.role === "current" ? [rootColumn] : []),
                                  ],
                              }
                            : table,
                    ),
                },
            }),
        },
        {
            name: "a table whose file is a full snapshot: mode full, and nothing else changes",
            edit: (yaml) => replaceOnce(yaml, '    file: "addresses*.csv"\n', '    file: "addresses*.csv"\n    mode: full\n'),
            expected: (plan) => ({
                ...plan,
                tables: plan.tables.map((table) => (table.name === "addresses" ? { ...table, mode: "full" } : table)),
            }),
        },
        {
            name: "4 buckets: the current tables in 4 buckets of the root key, the keys tables in 4 of their own key",
            edit: (yaml) => replaceOnce(yaml, "\nitem:\n", "\nlake:\n  buckets: 4\n\nitem:\n"),
            expected: (plan) => ({
                ...plan,
                lake: {
                    ...plan.lake,
                    buckets: 4,
                    tables: plan.lake.tables.map((table) =>
                        table.role === "history"
                            ? table
                            : { ...table, partitionBy: [{ column: table.partitionBy[0]!.column, transform: "bucket[4]" }] },
                    ),
                },
            }),
        },
        {
            name: "unknown columns ignored",
            edit: (yaml) => replaceOnce(yaml, "  unknownFiles: reject\n", "  unknownFiles: reject\n  unknownColumns: ignore\n"),
            expected: (plan) => ({ ...plan, extract: { ...plan.extract, unknownColumns: "ignore" } }),
        },
    ];
    for (const { name, edit, expected } of variants) {
        it(`of customers.yaml with ${name}`, () => {
            const variant = buildJobPlan(parseMapping(customersFile, edit(customersYaml)));
            expect(variant).to.deep.equal(expected(customersPlan));
            expect(variant).not.to.deep.equal(customersPlan);
            expect(jobPlanSchema.safeParse(variant).error?.issues).to.equal(undefined);
        });
    }

    const withoutTables: Partial<JobPlan> = { ...customersPlan };
    delete withoutTables.tables;
    const brokenPlans: { name: string; candidate: unknown; problems: string[] }[] = [
        {
            name: "a plan of version 1",
            candidate: { ...customersPlan, planVersion: 1 },
            problems: ["planVersion: Invalid input: expected 2"],
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
            name: "an items write budget of no units",
            raw: { mappings, itemsWriteUnitsPerSecond: 0 },
            problems: ["Pulumi.dev.yaml: ingestion:itemsWriteUnitsPerSecond: Too small: expected number to be >=1"],
        },
        {
            name: "an items write budget in fractions of a unit",
            raw: { mappings, itemsWriteUnitsPerSecond: 2500.5 },
            problems: ["Pulumi.dev.yaml: ingestion:itemsWriteUnitsPerSecond: Invalid input: expected int, received number"],
        },
        {
            name: "an items write budget above DynamoDB's default table quota",
            raw: { mappings, itemsWriteUnitsPerSecond: 400000 },
            problems: [
                "Pulumi.dev.yaml: ingestion:itemsWriteUnitsPerSecond: must be at most 40000, DynamoDB's default write quota per table " +
                    "(the table is pre-warmed to this value, and a warm throughput can never be lowered)",
            ],
        },
        {
            name: "a timeout and a retry that cannot fit in the default 45-minute promise",
            raw: { mappings, glue: { timeoutMinutes: 45, maxRetries: 1 } },
            problems: [
                "Pulumi.dev.yaml: ingestion:glue.timeoutMinutes: 45 minutes per run, run up to 2 times (glue.maxRetries 1), " +
                    "lets one extract take up to 90 minutes to load, more than ingestion:latencyPromiseMinutes 45; " +
                    "lower glue.timeoutMinutes to at most 22 or glue.maxRetries, or raise ingestion:latencyPromiseMinutes to at least 90",
            ],
        },
        {
            name: "a timeout longer than the promise",
            raw: { mappings, glue: { timeoutMinutes: 60 }, latencyPromiseMinutes: 30 },
            problems: [
                "Pulumi.dev.yaml: ingestion:glue.timeoutMinutes: 60 minutes per run, run once, lets one extract take up to 60 minutes " +
                    "to load, more than ingestion:latencyPromiseMinutes 30; lower glue.timeoutMinutes to at most 30, " +
                    "or raise ingestion:latencyPromiseMinutes to at least 60",
            ],
        },
        {
            name: "a latency promise of no time",
            raw: { mappings, latencyPromiseMinutes: 0 },
            problems: ["Pulumi.dev.yaml: ingestion:latencyPromiseMinutes: Too small: expected number to be >=1"],
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

    it("accepts a timeout whose retries all end within the promise", () => {
        const settings = parseStackSettings("prod", { mappings, glue: { timeoutMinutes: 22, maxRetries: 1 }, latencyPromiseMinutes: 45 });
        expect([settings.glue.timeoutMinutes, settings.glue.maxRetries, settings.latencyPromiseMinutes]).to.deep.equal([22, 1, 45]);
    });

    it("applies the secure defaults to a minimal stack", () => {
        expect(parseStackSettings("dev", { mappings })).to.deep.equal({
            mappings: ["customers"],
            streams: [],
            lookups: [],
            glue: { workerType: "G.1X", maxWorkers: 10, flex: false, timeoutMinutes: 40, maxRetries: 0, maxConcurrentRuns: 2 },
            retentionDays: 400,
            latencyPromiseMinutes: 45,
            freshnessHours: 24,
            allowDataDeletion: false,
            deletionProtection: true,
            itemsWriteUnitsPerSecond: 4000,
            athenaBytesScannedCutoff: 10 * 1024 ** 3,
            // Every function traced, and sized from its trigger.
            lambda: { tracing: "Active", reservedConcurrency: {} },
            logRetentionDays: 90,
        });
    });
});

describe("loadJobPlans", () => {
    useConfigRoot();
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

    it("reports two pipelines whose landing prefixes overlap, at the later one's prefix", () => {
        const file = (name: string) => path.relative(repositoryRoot, path.join(directory, `${name}.yaml`));
        expect(configErrorOf(() => loadJobPlans(["customers", "customers-eu"], directory)).problems).to.deep.equal([
            `${file("customers-eu")}:9:3: extract.landingPrefix: "incoming/customers/eu/" overlaps "incoming/customers/", ` +
                `the landing prefix of pipeline "customers" (${file("customers")})`,
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
            `${displayName}:5:1: pipeline: pipeline "customers" must be defined in a file named customers.yaml`,
        ]);
    });
});

describe("loadJobPlan", () => {
    useConfigRoot();
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

    it("loads a name from config/mappings/ under the config root", () => {
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
