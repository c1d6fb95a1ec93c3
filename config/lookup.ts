import { z } from "zod";
import { YamlSource } from "./yaml-source";

/**
 * A lookup definition (`config/lookups/<lookup>.yaml`): a DynamoDB table loaded from exports that
 * land in S3, on a schedule and/or on each new export, and optionally an event filter that lets
 * only the stream events whose key is in the table through.
 */

const attributeName = z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,254}$/, { error: "must start with a letter or _ and use letters, digits, _ . or -" });
const attributeType = z.enum(["string", "number", "boolean"]);
const keyType = z.enum(["string", "number"]);
const cron = /^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/;

/** DynamoDB's item size limit, in KiB. */
export const dynamodbMaximumItemKiB = 400;

export const lookupSchema = z.strictObject({
    lookup: z
        .string()
        .regex(/^[a-z][a-z0-9-]{0,30}$/, { error: "must be lower-kebab-case: a letter, then letters, digits or - (at most 31)" }),
    description: z.string().optional(),
    key: z.strictObject({
        partition: z.strictObject({ attribute: attributeName, type: keyType }),
        sort: z.strictObject({ attribute: attributeName, type: keyType }).optional(),
    }),
    /** Attributes each line is checked for, besides the key; others are loaded as they are. */
    attributes: z.array(z.strictObject({ name: attributeName, type: attributeType, required: z.boolean().default(false) })).default([]),
    source: z.strictObject({
        /** Exports land under this prefix of the lookup's exports bucket. */
        prefix: z.string().default("exports/"),
        /** jsonl: a plain JSON object per line; dynamodb-json: DynamoDB's export format; csv: with a header. */
        format: z.enum(["jsonl", "dynamodb-json", "csv"]),
    }),
    refresh: z
        .strictObject({
            /** When to reload the newest export (Glue cron). */
            schedule: z.string().optional(),
            /** Load each export as soon as it lands. */
            onNewExport: z.boolean().default(true),
            /** Remove keys that are no longer in the export, once the export is fully loaded. */
            fullRefresh: z.boolean().default(false),
        })
        .prefault({}),
    ttl: z.strictObject({ attribute: attributeName, days: z.int().min(1).max(3650) }).optional(),
    /** Lines whose item is larger are rejected. Defaults to DynamoDB's limit, 400 KiB. */
    maxItemKiB: z.int().min(1).max(dynamodbMaximumItemKiB).default(dynamodbMaximumItemKiB),
    /** Create the table with DynamoDB ImportTable from the exports already in place (new tables only). */
    bootstrap: z.strictObject({ importTable: z.boolean().default(false) }).prefault({}),
    filter: z
        .strictObject({
            /** A stream of this stack (config/streams/). */
            stream: z.string(),
            /** The event field holding the key. */
            eventField: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, { error: "must be a stream field name" }),
            batchSize: z.int().min(1).max(10000).default(100),
            destination: z.union([
                z.strictObject({ prefix: z.string() }),
                z.strictObject({ firehose: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, { error: "must be a Firehose stream name" }) }),
            ]),
        })
        .optional(),
});

export type Lookup = z.output<typeof lookupSchema>;

/** The plan the loader job reads (uploaded beside it as JSON). */
export interface LookupPlan {
    readonly lookup: string;
    readonly key: {
        readonly partition: { readonly attribute: string; readonly type: string };
        readonly sort: { readonly attribute: string; readonly type: string } | null;
    };
    readonly attributes: readonly { readonly name: string; readonly type: string; readonly required: boolean }[];
    readonly format: string;
    readonly ttl: { readonly attribute: string; readonly days: number } | null;
    readonly maxItemBytes: number;
    readonly fullRefresh: boolean;
    /** Object names that complete an export folder (the loader loads a folder only once one is there). */
    readonly markers: readonly string[];
    /** How a Redshift UNLOAD wrote a redshift-text export; null for every other format. */
    readonly unload: {
        readonly columns: readonly string[];
        readonly delimiter: string;
        readonly escape: boolean;
        readonly nullAs: string;
    } | null;
}

/** The completion markers of the exports teams have: Spark/Hadoop and Data Pipeline, DynamoDB export, Redshift UNLOAD MANIFEST. */
export const defaultExportMarkers = ["_SUCCESS", "manifest-summary.json", "manifest"] as const;

export function lookupPlan(lookup: Lookup): LookupPlan {
    return {
        lookup: lookup.lookup,
        key: { partition: lookup.key.partition, sort: lookup.key.sort ?? null },
        attributes: lookup.attributes,
        format: lookup.source.format,
        ttl: lookup.ttl ?? null,
        maxItemBytes: lookup.maxItemKiB * 1024,
        fullRefresh: lookup.refresh.fullRefresh,
        markers: [...defaultExportMarkers],
        unload: null,
    };
}

/** Parses and validates one lookup definition; throws a ConfigError listing every located problem. */
export function parseLookup(fileName: string, text: string): Lookup {
    const source = new YamlSource(fileName, text);
    const lookup = source.validate(lookupSchema);
    const expectedFile = `${lookup.lookup}.yaml`;
    if (!fileName.endsWith(`/${expectedFile}`) && fileName !== expectedFile) {
        source.report(["lookup"], `lookup "${lookup.lookup}" must be defined in a file named ${expectedFile}`);
    }
    const keys = [lookup.key.partition.attribute, lookup.key.sort?.attribute].filter((name) => name !== undefined);
    if (lookup.key.sort && lookup.key.sort.attribute === lookup.key.partition.attribute) {
        source.report(["key", "sort", "attribute"], `"${lookup.key.sort.attribute}" is already the partition key`);
    }
    const seen = new Map<string, number>();
    lookup.attributes.forEach((attribute, index) => {
        if (keys.includes(attribute.name)) {
            source.report(["attributes", index, "name"], `"${attribute.name}" is a key attribute; keys are always required`);
        }
        const earlier = seen.get(attribute.name);
        if (earlier !== undefined) {
            source.report(["attributes", index, "name"], `attribute "${attribute.name}" is already declared at attributes[${earlier}]`);
        }
        seen.set(attribute.name, index);
    });
    if (lookup.ttl && (keys.includes(lookup.ttl.attribute) || seen.has(lookup.ttl.attribute))) {
        source.report(
            ["ttl", "attribute"],
            `"${lookup.ttl.attribute}" is already a key or declared attribute; the loader sets the TTL itself`,
        );
    }
    if (!/^[A-Za-z0-9_\-/.]+\/$/.test(lookup.source.prefix) || lookup.source.prefix.startsWith("/")) {
        source.report(
            ["source", "prefix"],
            `"${lookup.source.prefix}" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`,
        );
    }
    const { refresh } = lookup;
    if (refresh.schedule !== undefined && !cron.test(refresh.schedule)) {
        source.report(
            ["refresh", "schedule"],
            `"${refresh.schedule}" is not a schedule; expected cron(minutes hours day-of-month month day-of-week year)`,
        );
    }
    if (refresh.schedule === undefined && !refresh.onNewExport) {
        source.report(["refresh"], "the table would never be loaded: set a schedule, or onNewExport: true");
    }
    if (lookup.bootstrap.importTable && lookup.source.format === "jsonl") {
        source.report(["bootstrap", "importTable"], "DynamoDB ImportTable reads dynamodb-json or csv exports, not jsonl");
    }
    if (lookup.filter && "prefix" in lookup.filter.destination) {
        const prefix = lookup.filter.destination.prefix;
        if (!/^[A-Za-z0-9_\-/.]+\/$/.test(prefix) || prefix.startsWith("/")) {
            source.report(
                ["filter", "destination", "prefix"],
                `"${prefix}" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`,
            );
        }
    }
    source.throwIfProblems();
    return lookup;
}
