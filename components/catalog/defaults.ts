import { lakeTableWrites, type LakeTable } from "../../config/job-plan";

/** Athena refuses a query once it has scanned this many bytes: 10 GiB, a few cents. */
export const defaultBytesScannedCutoff = 10 * 1024 ** 3;

/** A lake table to declare as Apache Iceberg (format v2), as the job plan describes it (`lake.tables`). */
export type IcebergTableSpec = Pick<
    LakeTable,
    "name" | "role" | "description" | "location" | "columns" | "partitionBy" | "sortBy" | "properties"
>;

const icebergPrimitiveTypes: Readonly<Record<string, string>> = {
    string: "string",
    int: "int",
    bigint: "long",
    double: "double",
    boolean: "boolean",
    date: "date",
    // Spark's timestamp is an instant (shown in the session time zone): Iceberg's timestamptz.
    timestamp: "timestamptz",
};

/** The Iceberg type of a Glue/Spark type name. */
export function icebergType(sparkType: string): string {
    const primitive = icebergPrimitiveTypes[sparkType];
    if (primitive) {
        return primitive;
    }
    const decimal = /^decimal\((\d+),(\d+)\)$/.exec(sparkType);
    if (decimal) {
        return `decimal(${decimal[1]},${decimal[2]})`;
    }
    throw new Error(`no Iceberg type for the column type "${sparkType}"`);
}

/**
 * The `icebergTableInput` Glue creates a table from: field ids 1, 2, … in column order, partition
 * fields from 1000 (Iceberg's convention) named as Spark names them (`<column>_bucket` for a bucket,
 * the column for identity), and the sort order ascending with nulls first. Field types are JSON
 * documents (`"string"`, `"decimal(12,2)"`), as Glue's API takes them. The description is the
 * table's `comment`, the property Spark shows and Iceberg's GlueCatalog makes the Glue description.
 */
export function icebergTableInput(spec: IcebergTableSpec, location: string) {
    const idOf = (column: string): number => {
        const index = spec.columns.findIndex((candidate) => candidate.name === column);
        if (index < 0) {
            throw new Error(`table ${spec.name}: "${column}" is not one of its columns`);
        }
        return index + 1;
    };
    return {
        location,
        schema: {
            schemaId: 0,
            type: "struct",
            fields: spec.columns.map((column, index) => ({
                id: index + 1,
                name: column.name,
                type: JSON.stringify(icebergType(column.type)),
                required: column.required,
            })),
        },
        partitionSpec: {
            specId: 0,
            fields: spec.partitionBy.map((field, index) => ({
                fieldId: 1000 + index,
                name: field.transform === "identity" ? field.column : `${field.column}_${field.transform.replace(/\[\d+\]$/, "")}`,
                sourceId: idOf(field.column),
                transform: field.transform,
            })),
        },
        sortOrder: {
            orderId: 1,
            fields: spec.sortBy.map((column) => ({
                sourceId: idOf(column),
                transform: "identity",
                direction: "asc",
                nullOrder: "nulls-first",
            })),
        },
        properties: { ...spec.properties, comment: spec.description },
    };
}

/** The table optimizers Glue runs on a lake table, by type. */
export interface OptimizerSettings {
    readonly compaction?: { readonly strategy: string; readonly minInputFiles: number; readonly deleteFileThreshold: number };
    readonly retention: {
        readonly snapshotRetentionPeriodInDays: number;
        readonly numberOfSnapshotsToRetain: number;
        readonly cleanExpiredFiles: boolean;
        readonly runRateInHours: number;
    };
    readonly orphanFileDeletion: { readonly orphanFileRetentionPeriodInDays: number; readonly runRateInHours: number };
}

/**
 * Snapshots are kept `snapshotRetentionDays` (time travel for audit), and never fewer than the last
 * 10, so the snapshots a crashed run recorded are still there when its retry reads them. Expiring a
 * snapshot deletes the files only it referenced. A file no snapshot references is deleted after 3
 * days, longer than any run (Glue stops a job after at most 48 hours), so the files of a commit still
 * in flight are never taken for orphans. Compaction runs on the merged tables (current and keys),
 * whose merges leave small files and delete files; an appended table gets one file per partition
 * per run. It sorts by the table's sort order (root key, then primary key), so a run that rebuilds
 * a few roots skips most row groups by their statistics, and it starts on a partition of 20 files
 * or on any file with deletes.
 */
export function optimizerSettings(role: LakeTable["role"], snapshotRetentionDays: number): OptimizerSettings {
    return {
        ...(lakeTableWrites[role] === "merged" ? { compaction: { strategy: "sort", minInputFiles: 20, deleteFileThreshold: 1 } } : {}),
        retention: {
            snapshotRetentionPeriodInDays: snapshotRetentionDays,
            numberOfSnapshotsToRetain: 10,
            cleanExpiredFiles: true,
            runRateInHours: 24,
        },
        orphanFileDeletion: { orphanFileRetentionPeriodInDays: 3, runRateInHours: 24 },
    };
}
