import { z } from "zod";

/**
 * The shape of a pipeline mapping file (`config/mappings/<pipeline>.yaml`). Cross-references
 * (tables named in relationships, key columns, cycles...) are checked afterwards by
 * `validateMapping`, which can point at the exact field that is wrong.
 */

/** Columns and tables share Glue's naming rules; the `ingest_` prefix is kept for the lake's own columns. */
const identifier = z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, { error: "must be lower_snake_case: a letter, then letters, digits or _ (at most 63)" })
    .refine((name) => !name.startsWith("ingest_"), { error: "names starting with ingest_ are reserved for the lake's own columns" });

const pipelineName = z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}$/, { error: "must be lower-kebab-case: a letter, then letters, digits or - (at most 31)" });

/** A DynamoDB attribute name; DynamoDB allows more, but these stay readable in expressions. */
const attributeName = z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,254}$/, { error: "must start with a letter or _ and use letters, digits, _ . or -" });

const singleCharacter = z.string().length(1, { error: "must be exactly one character" });

/**
 * Encodings the job cuts into lines byte-exactly: ASCII-compatible ones, and UTF-16 on whole code
 * units (`UTF-16` needs a byte-order mark; without one, name the byte order).
 */
export const csvEncodings = ["UTF-8", "US-ASCII", "ISO-8859-1", "ISO-8859-15", "windows-1252", "UTF-16", "UTF-16LE", "UTF-16BE"] as const;

export const columnSchema = z.strictObject({
    name: identifier,
    /** string | integer | long | double | boolean | date | timestamp | decimal(p,s) */
    type: z.string(),
    nullable: z.boolean().default(true),
    /** Spark datetime pattern for date and timestamp columns. */
    format: z.string().optional(),
});

export const tableSchema = z.strictObject({
    /** Glob matched against the file name inside the archive (`*` and `?`). */
    file: z.string().min(1),
    required: z.boolean().default(true),
    /**
     * incremental: the table's file holds rows created, changed (or marked deleted) since the last
     * extract. full: it holds the whole table, so a current row absent from it was deleted.
     */
    mode: z.enum(["incremental", "full"]).default("incremental"),
    /** How an incremental extract marks a deleted row: a column and the values that mean "deleted". */
    deletes: z
        .strictObject({
            column: identifier,
            values: z.array(z.string().min(1, { error: "must not be empty" })).min(1, { error: "must name at least one value" }),
        })
        .optional(),
    primaryKey: z.array(identifier).min(1, { error: "must name at least one column" }),
    columns: z.array(columnSchema).min(1, { error: "must declare at least one column" }),
});

export const relationshipSchema = z.strictObject({
    parent: identifier,
    child: identifier,
    on: z
        .array(z.strictObject({ child: identifier, parent: identifier }))
        .min(1, { error: "must pair at least one child column with a parent column" }),
});

const keyPartSchema = z.strictObject({ attribute: attributeName, column: identifier });

// zod names the closer branch's problem when there is one; the message is for input that fits neither.
const sortKeySchema = z.union(
    [keyPartSchema, z.strictObject({ attribute: attributeName, value: z.string().min(1, { error: "must not be empty" }) })],
    { error: "must be { attribute, column } or { attribute, value }" },
);

export interface CollectionInput {
    attribute: string;
    table: string;
    orderBy?: string[] | undefined;
    attributes?: Record<string, string> | undefined;
    omit?: string[] | undefined;
    collections?: CollectionInput[] | undefined;
}

const collectionSchema: z.ZodType<CollectionInput> = z.lazy(() =>
    z.strictObject({
        attribute: attributeName,
        table: identifier,
        orderBy: z.array(identifier).min(1).optional(),
        attributes: z.record(identifier, attributeName).optional(),
        omit: z.array(identifier).optional(),
        collections: z.array(collectionSchema).optional(),
    }),
);

export const mappingSchema = z.strictObject({
    pipeline: pipelineName,
    description: z.string().optional(),
    extract: z.strictObject({
        landingPrefix: z
            .string()
            .regex(/^([A-Za-z0-9!_.*'()-]+\/)+$/, { error: "must be a key prefix such as incoming/customers/ (ending in /)" }),
        /** File name of the archive, e.g. `crm_{timestamp:yyyyMMdd'T'HHmmss'Z'}_{sequence}.zip`. */
        archiveName: z.string().min(1),
        csv: z
            .strictObject({
                delimiter: singleCharacter.default(","),
                quote: singleCharacter.default('"'),
                escape: singleCharacter.default('"'),
                header: z.boolean().default(true),
                encoding: z.enum(csvEncodings, { error: `must be one of ${csvEncodings.join(", ")}` }).default("UTF-8"),
                /** An unquoted field equal to this is null; a quoted field never is. */
                nullValue: z.string().default(""),
                /** Whether key values (primary keys and the columns that join a child to its parent) lose surrounding white space. */
                trimKeys: z.boolean().default(true),
            })
            .prefault({}),
        limits: z
            .strictObject({
                maxEntries: z.number().int().min(1).max(10_000).default(256),
                maxUncompressedBytes: z
                    .number()
                    .int()
                    .min(1)
                    .max(1024 ** 4)
                    .default(20 * 1024 ** 3),
                maxCompressionRatio: z.number().min(1).max(10_000).default(200),
            })
            .prefault({}),
        unknownFiles: z.enum(["reject", "ignore"]).default("reject"),
        /** A header column the mapping does not declare: reject the archive, or ignore the column (reported). */
        unknownColumns: z.enum(["reject", "ignore"]).default("reject"),
    }),
    tables: z.record(identifier, tableSchema).refine((tables) => Object.keys(tables).length > 0, {
        error: "must declare at least one table",
    }),
    relationships: z.array(relationshipSchema).default([]),
    /** The current tables (Apache Iceberg): partitioned into this many buckets of the item's root key. */
    lake: z
        .strictObject({
            buckets: z.int().min(1).max(1024).default(16),
        })
        .prefault({}),
    item: z.strictObject({
        root: identifier,
        partitionKey: keyPartSchema,
        sortKey: sortKeySchema.optional(),
        attributes: z.record(identifier, attributeName).optional(),
        omit: z.array(identifier).optional(),
        collections: z.array(collectionSchema).default([]),
        /** Attribute holding the extract version that last wrote the item; writes never go backwards. */
        versionAttribute: attributeName.default("extract_version"),
        /** Attribute holding the lake snapshot the item was built from; an item is never replaced by one built from less. */
        snapshotAttribute: attributeName.default("lake_snapshot"),
    }),
    ttl: z.strictObject({
        attribute: attributeName.default("expires_at"),
        retentionDays: z.number().int().min(1).max(3650, { error: "must be at most 3650 days (ten years)" }).default(270),
        /** `table.column` references to date or timestamp columns; the latest value is the item's activity time. */
        activity: z
            .array(z.string().regex(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, { error: "must be table.column" }))
            .min(1, { error: "must name at least one table.column" }),
    }),
    quarantine: z
        .strictObject({
            maxRejectedFraction: z.number().min(0).max(1).default(0.01),
        })
        .prefault({}),
    oversize: z
        .strictObject({
            policy: z.enum(["fail", "skip", "quarantine"]).default("quarantine"),
            maxItemBytes: z
                .number()
                .int()
                .min(1024)
                .max(409_600, { error: "must be at most 409600 bytes (DynamoDB's 400 KB item limit)" })
                .default(400_000),
        })
        .prefault({}),
});

export type MappingInput = z.input<typeof mappingSchema>;
export type Mapping = z.output<typeof mappingSchema>;
export type TableMapping = z.output<typeof tableSchema>;
export type ColumnMapping = z.output<typeof columnSchema>;
export type RelationshipMapping = z.output<typeof relationshipSchema>;
