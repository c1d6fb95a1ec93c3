import { z } from "zod";
import { archiveNamingSchema } from "../contracts/archive-naming";
import {
    catalogTypeName,
    compileArchiveName,
    defaultDateFormat,
    defaultTimestampFormat,
    globToRegex,
    isNumeric,
    parseColumnType,
} from "./formats";
import type { CollectionInput, Mapping } from "./mapping-schema";

/**
 * The job plan: the normalized, versioned JSON the Glue job reads. It is the only contract
 * between a mapping and the job; `glue-scripts/ingest/contracts/job_plan.schema.json` is
 * generated from `jobPlanSchema` and both the TypeScript and Python tests validate against it.
 */
export const JOB_PLAN_VERSION = 2;

/** Columns the lake adds to every table; mapped columns may not use the `ingest_` prefix. */
export const LAKE_METADATA_COLUMNS = [
    { name: "ingest_extract_id", type: "string" },
    { name: "ingest_extract_version", type: "bigint" },
    { name: "ingest_extract_time", type: "timestamp" },
    { name: "ingest_source_file", type: "string" },
    { name: "ingest_source_line", type: "bigint" },
] as const;

/** Prefix of the columns that hold, on every current row, the key of the root whose item it belongs to. */
export const ROOT_COLUMN_PREFIX = "ingest_root_";

/** Beside each current table: what each extract brought, and every key with its root (deleted ones too). */
export const lakeTableSuffixes = ["_history", "_keys"] as const;

/** Column of a keys table that says the source deleted the key. */
export const DELETED_COLUMN = "ingest_deleted";

const planColumnSchema = z.strictObject({
    name: z.string(),
    type: z.string().describe("Glue/Spark SQL type name: string, int, bigint, double, boolean, date, timestamp, decimal(p,s)"),
    nullable: z.boolean(),
    format: z.string().optional().describe("datetime pattern, for date and timestamp columns"),
});

const planJoinSchema = z.strictObject({ child: z.string(), parent: z.string() });

const planTableSchema = z.strictObject({
    name: z.string(),
    fileGlob: z.string(),
    fileRegex: z.string(),
    required: z.boolean(),
    primaryKey: z.array(z.string()).min(1),
    columns: z.array(planColumnSchema).min(1),
    parent: z.strictObject({ table: z.string(), on: z.array(planJoinSchema).min(1) }).optional(),
    mode: z.enum(["incremental", "full"]).describe("full: rows of current state absent from the extract were deleted"),
    deletes: z.strictObject({ column: z.string(), values: z.array(z.string()).min(1) }).optional(),
    catalogTable: z.string().describe("the current table: one row per primary key, latest version by extract order"),
    lakePrefix: z.string().describe("key prefix in the lake bucket; each Iceberg table lives under <lakePrefix><current|history|keys>/"),
});

const planKeySchema = z.strictObject({
    attribute: z.string(),
    type: z.enum(["S", "N"]),
    column: z.string().optional(),
    value: z.string().optional(),
});

export interface PlanNode {
    table: string;
    attributes: { column: string; attribute: string }[];
    collections: { attribute: string; orderBy: string[]; node: PlanNode }[];
}

const planNodeSchema: z.ZodType<PlanNode> = z.lazy(() =>
    z.strictObject({
        table: z.string(),
        attributes: z.array(z.strictObject({ column: z.string(), attribute: z.string() })),
        collections: z.array(z.strictObject({ attribute: z.string(), orderBy: z.array(z.string()).min(1), node: planNodeSchema })),
    }),
);

const lakeTableSchema = z.strictObject({
    name: z.string().describe("Glue Data Catalog table name"),
    table: z.string().describe("the mapped table it holds"),
    role: z.enum(["current", "history", "keys"]),
    description: z.string(),
    location: z.string().describe("key prefix in the lake bucket"),
    columns: z.array(z.strictObject({ name: z.string(), type: z.string(), required: z.boolean() })),
    partitionBy: z.array(z.strictObject({ column: z.string(), transform: z.string().describe("identity or bucket[N]") })),
    sortBy: z.array(z.string()),
    properties: z.record(z.string(), z.string()).describe("Iceberg table properties, set when the table is created"),
});

export const jobPlanSchema = z.strictObject({
    planVersion: z.literal(JOB_PLAN_VERSION),
    pipeline: z.string(),
    extract: z.strictObject({
        landingPrefix: z.string(),
        archiveNaming: archiveNamingSchema,
        csv: z.strictObject({
            delimiter: z.string(),
            quote: z.string(),
            escape: z.string(),
            header: z.boolean(),
            encoding: z.string(),
            nullValue: z.string(),
            trimKeys: z.boolean(),
        }),
        limits: z.strictObject({
            maxEntries: z.int(),
            maxUncompressedBytes: z.int(),
            maxCompressionRatio: z.number(),
        }),
        unknownFiles: z.enum(["reject", "ignore"]),
        unknownColumns: z.enum(["reject", "ignore"]),
    }),
    tables: z.array(planTableSchema).min(1).describe("parents before children, then by name"),
    lake: z.strictObject({
        metadataColumns: z.array(z.strictObject({ name: z.string(), type: z.string() })),
        rootColumns: z
            .array(z.strictObject({ name: z.string(), column: z.string(), type: z.string() }))
            .min(1)
            .describe("the root table's primary key, as the columns every current row carries (ingest_root_<column>)"),
        buckets: z.int().describe("current tables are partitioned by bucket(buckets, first root column)"),
        tables: z.array(lakeTableSchema).describe("the Iceberg tables: current, history and keys of each mapped table"),
    }),
    item: z.strictObject({
        partitionKey: planKeySchema,
        sortKey: planKeySchema.optional(),
        versionAttribute: z.string(),
        snapshotAttribute: z.string(),
        ttl: z.strictObject({
            attribute: z.string(),
            retentionDays: z.int(),
            activity: z.array(z.strictObject({ table: z.string(), column: z.string() })).min(1),
        }),
        root: planNodeSchema,
    }),
    quarantine: z.strictObject({ maxRejectedFraction: z.number() }),
    oversize: z.strictObject({ policy: z.enum(["fail", "skip", "quarantine"]), maxItemBytes: z.int() }),
});

export type JobPlan = z.infer<typeof jobPlanSchema>;

/** Glue table name of a mapped table: `<pipeline>_<table>`, with the pipeline's dashes as underscores. */
export function catalogTableName(pipeline: string, table: string): string {
    return `${pipeline.replace(/-/g, "_")}_${table}`;
}

/** Builds the job plan from a mapping that `parseMapping` has validated. Pure and deterministic. */
export function buildJobPlan(mapping: Mapping): JobPlan {
    const naming = compileArchiveName(mapping.extract.archiveName);
    if (!naming.ok) {
        throw new Error(`mapping "${mapping.pipeline}" was not validated: ${naming.error}`);
    }
    const parentOf = new Map(mapping.relationships.map((relationship) => [relationship.child, relationship]));
    const tables = orderParentsFirst(Object.keys(mapping.tables), (name) => parentOf.get(name)?.parent).map((name) => {
        const table = mapping.tables[name]!;
        const relationship = parentOf.get(name);
        return {
            name,
            fileGlob: table.file,
            fileRegex: globToRegex(table.file),
            required: table.required,
            primaryKey: table.primaryKey,
            columns: table.columns.map((column) => {
                const type = resolvedType(column.type);
                const format =
                    column.format ??
                    (type.kind === "date" ? defaultDateFormat : type.kind === "timestamp" ? defaultTimestampFormat : undefined);
                return { name: column.name, type: catalogTypeName(type), nullable: column.nullable, ...(format ? { format } : {}) };
            }),
            ...(relationship ? { parent: { table: relationship.parent, on: relationship.on } } : {}),
            mode: table.mode,
            ...(table.deletes ? { deletes: table.deletes } : {}),
            catalogTable: catalogTableName(mapping.pipeline, name),
            lakePrefix: `${mapping.pipeline}/${name}/`,
        };
    });
    const keyType = (column: string): "S" | "N" => {
        const declared = mapping.tables[mapping.item.root]!.columns.find((candidate) => candidate.name === column)!;
        return isNumeric(resolvedType(declared.type)) ? "N" : "S";
    };
    const { item } = mapping;
    const plan = {
        planVersion: JOB_PLAN_VERSION as typeof JOB_PLAN_VERSION,
        pipeline: mapping.pipeline,
        extract: {
            landingPrefix: mapping.extract.landingPrefix,
            archiveNaming: naming.value,
            csv: mapping.extract.csv,
            limits: mapping.extract.limits,
            unknownFiles: mapping.extract.unknownFiles,
            unknownColumns: mapping.extract.unknownColumns,
        },
        tables,
        lake: {
            metadataColumns: LAKE_METADATA_COLUMNS.map((column) => ({ ...column })),
            rootColumns: mapping.tables[item.root]!.primaryKey.map((column) => ({
                name: `${ROOT_COLUMN_PREFIX}${column}`,
                column,
                type: catalogTypeName(
                    resolvedType(mapping.tables[item.root]!.columns.find((candidate) => candidate.name === column)!.type),
                ),
            })),
            buckets: mapping.lake.buckets,
        },
        item: {
            partitionKey: {
                attribute: item.partitionKey.attribute,
                column: item.partitionKey.column,
                type: keyType(item.partitionKey.column),
            },
            ...(item.sortKey
                ? {
                      sortKey:
                          "column" in item.sortKey
                              ? { attribute: item.sortKey.attribute, column: item.sortKey.column, type: keyType(item.sortKey.column) }
                              : { attribute: item.sortKey.attribute, value: item.sortKey.value, type: "S" as const },
                  }
                : {}),
            versionAttribute: item.versionAttribute,
            snapshotAttribute: item.snapshotAttribute,
            ttl: {
                attribute: mapping.ttl.attribute,
                retentionDays: mapping.ttl.retentionDays,
                activity: mapping.ttl.activity.map((reference) => {
                    const [table = "", column = ""] = reference.split(".");
                    return { table, column };
                }),
            },
            root: planNode(mapping, item.root, item),
        },
        quarantine: mapping.quarantine,
        oversize: mapping.oversize,
    };
    return { ...plan, lake: { ...plan.lake, tables: lakeTables(plan) } };
}

function planNode(mapping: Mapping, tableName: string, node: Pick<CollectionInput, "attributes" | "omit" | "collections">): PlanNode {
    const table = mapping.tables[tableName]!;
    return {
        table: tableName,
        attributes: table.columns
            .filter((column) => !node.omit?.includes(column.name))
            .map((column) => ({ column: column.name, attribute: node.attributes?.[column.name] ?? column.name })),
        collections: (node.collections ?? []).map((collection) => ({
            attribute: collection.attribute,
            orderBy: collection.orderBy ?? mapping.tables[collection.table]!.primaryKey,
            node: planNode(mapping, collection.table, collection),
        })),
    };
}

function resolvedType(text: string) {
    const parsed = parseColumnType(text);
    if (!parsed.ok) {
        throw new Error(`mapping was not validated: ${parsed.error}`);
    }
    return parsed.value;
}

/** Topological order (each table after its parent), ties broken by name so the plan is stable. */
function orderParentsFirst(names: string[], parentOf: (name: string) => string | undefined): string[] {
    const depth = (name: string): number => {
        let count = 0;
        for (let parent = parentOf(name); parent !== undefined; parent = parentOf(parent)) {
            count += 1;
        }
        return count;
    };
    return [...names].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

export type LakeTableRole = "current" | "history" | "keys";

/**
 * How each kind of lake table is written: a current table and a keys table take one MERGE per run
 * (and the maintenance job's deletes), touching a small share of their rows spread over every
 * bucket; a history table is appended to once per run and loses whole extract partitions when they
 * expire.
 */
export const lakeTableWrites: Readonly<Record<LakeTableRole, "merged" | "appended">> = {
    current: "merged",
    history: "appended",
    keys: "merged",
};

/**
 * Table properties of a lake table, set once when Glue creates it.
 *
 * Merged tables are merge-on-read: copy-on-write would rewrite nearly every data file on every run
 * (a run's keys fall in every bucket), so a run would cost what the table costs, not what its
 * extract costs. With merge-on-read a run writes its new rows and small position-delete files, and
 * the compaction optimizer folds the deletes back into the data files. Appended tables are
 * copy-on-write: their deletes drop whole partitions, which costs nothing either way, and their
 * reads stay free of delete files.
 *
 * All: zstd Parquet (smaller than snappy at similar read speed), hash distribution (rows are
 * clustered by partition before writing, so a run writes about one file per partition, sorted by the
 * table's sort order), metadata files of old commits removed after each commit, and more commit
 * retries than Iceberg's 4, since extract runs, the maintenance job and the optimizers all commit
 * to the same tables.
 */
export function icebergTableProperties(role: LakeTableRole): Record<string, string> {
    const rowLevelMode = lakeTableWrites[role] === "merged" ? "merge-on-read" : "copy-on-write";
    return {
        "format-version": "2",
        "write.format.default": "parquet",
        "write.parquet.compression-codec": "zstd",
        "write.distribution-mode": "hash",
        "write.delete.mode": rowLevelMode,
        "write.update.mode": rowLevelMode,
        "write.merge.mode": rowLevelMode,
        "write.metadata.delete-after-commit.enabled": "true",
        "write.metadata.previous-versions-max": "100",
        "commit.retry.num-retries": "10",
    };
}

/** The Iceberg tables of a plan, three per mapped table; the Pulumi program declares them and the job writes them. */
export function lakeTables(plan: Omit<JobPlan, "lake"> & { lake: Omit<JobPlan["lake"], "tables"> }): LakeTable[] {
    const [firstRoot] = plan.lake.rootColumns;
    return plan.tables.flatMap((table) => {
        const mapped = table.columns.map(({ name, type }) => ({ name, type, required: false }));
        const key = table.columns.filter((column) => table.primaryKey.includes(column.name));
        const extract = plan.lake.metadataColumns.slice(0, 3).map(({ name, type }) => ({ name, type, required: true }));
        const metadata = plan.lake.metadataColumns.map(({ name, type }) => ({ name, type, required: true }));
        const roots = plan.lake.rootColumns.map(({ name, type }) => ({ name, type, required: false }));
        return [
            {
                name: table.catalogTable,
                table: table.name,
                role: "current" as const,
                description: `${plan.pipeline}: current ${table.name}, one row per primary key, the latest version by extract order`,
                location: `${table.lakePrefix}current/`,
                columns: [...mapped, ...metadata, ...roots],
                partitionBy: [{ column: firstRoot!.name, transform: `bucket[${plan.lake.buckets}]` }],
                sortBy: [...plan.lake.rootColumns.map((column) => column.name), ...table.primaryKey],
                properties: icebergTableProperties("current"),
            },
            {
                name: `${table.catalogTable}${lakeTableSuffixes[0]}`,
                table: table.name,
                role: "history" as const,
                description: `${plan.pipeline}: accepted rows of ${table.name} as each extract brought them`,
                location: `${table.lakePrefix}history/`,
                columns: [...mapped, ...metadata],
                partitionBy: [{ column: "ingest_extract_id", transform: "identity" }],
                sortBy: table.primaryKey,
                properties: icebergTableProperties("history"),
            },
            {
                name: `${table.catalogTable}${lakeTableSuffixes[1]}`,
                table: table.name,
                role: "keys" as const,
                description:
                    `${plan.pipeline}: every key of ${table.name} ever loaded, with its root, latest version and whether the source deleted it; ` +
                    "looked up by key, it finds a row's current root and keeps an older extract from bringing a deleted row back",
                location: `${table.lakePrefix}keys/`,
                columns: [
                    ...key.map(({ name, type }) => ({ name, type, required: true })),
                    ...roots,
                    ...extract,
                    { name: DELETED_COLUMN, type: "boolean", required: true },
                ],
                partitionBy: [{ column: table.primaryKey[0]!, transform: `bucket[${plan.lake.buckets}]` }],
                sortBy: table.primaryKey,
                properties: icebergTableProperties("keys"),
            },
        ];
    });
}

export type LakeTable = z.infer<typeof lakeTableSchema>;
