import { z } from "zod";
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
export const JOB_PLAN_VERSION = 1;

/** Columns the lake adds to every table; mapped columns may not use the `ingest_` prefix. */
export const LAKE_PARTITION_KEY = { name: "ingest_extract_id", type: "string" } as const;
export const LAKE_METADATA_COLUMNS = [
    { name: "ingest_extract_version", type: "bigint" },
    { name: "ingest_extract_time", type: "timestamp" },
    { name: "ingest_source_file", type: "string" },
    { name: "ingest_source_line", type: "bigint" },
] as const;

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
    catalogTable: z.string(),
    lakePrefix: z.string(),
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

export const jobPlanSchema = z.strictObject({
    planVersion: z.literal(JOB_PLAN_VERSION),
    pipeline: z.string(),
    extract: z.strictObject({
        landingPrefix: z.string(),
        archiveNaming: z.strictObject({
            regex: z.string(),
            groups: z.array(z.enum(["timestamp", "sequence"])),
            timestampFormat: z.string(),
        }),
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
    }),
    tables: z.array(planTableSchema).min(1).describe("parents before children, then by name"),
    lake: z.strictObject({
        partitionKey: z.strictObject({ name: z.string(), type: z.string() }),
        metadataColumns: z.array(z.strictObject({ name: z.string(), type: z.string() })),
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
            catalogTable: catalogTableName(mapping.pipeline, name),
            lakePrefix: `${mapping.pipeline}/${name}/`,
        };
    });
    const keyType = (column: string): "S" | "N" => {
        const declared = mapping.tables[mapping.item.root]!.columns.find((candidate) => candidate.name === column)!;
        return isNumeric(resolvedType(declared.type)) ? "N" : "S";
    };
    const { item } = mapping;
    return {
        planVersion: JOB_PLAN_VERSION,
        pipeline: mapping.pipeline,
        extract: {
            landingPrefix: mapping.extract.landingPrefix,
            archiveNaming: naming.value,
            csv: mapping.extract.csv,
            limits: mapping.extract.limits,
            unknownFiles: mapping.extract.unknownFiles,
        },
        tables,
        lake: { partitionKey: { ...LAKE_PARTITION_KEY }, metadataColumns: LAKE_METADATA_COLUMNS.map((column) => ({ ...column })) },
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

export interface LakeTableSpec {
    name: string;
    description: string;
    columns: { name: string; type: string }[];
    partitionKeys: { name: string; type: string }[];
    lakePrefix: string;
}

/** The Glue Catalog tables of a plan: mapped columns, then the lake's own columns, partitioned by extract. */
export function catalogTables(plan: JobPlan): LakeTableSpec[] {
    return plan.tables.map((table) => ({
        name: table.catalogTable,
        description: `${plan.pipeline}: accepted rows of ${table.name}, one partition per extract`,
        columns: [...table.columns.map(({ name, type }) => ({ name, type })), ...plan.lake.metadataColumns],
        partitionKeys: [plan.lake.partitionKey],
        lakePrefix: table.lakePrefix,
    }));
}
