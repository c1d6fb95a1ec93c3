import { z } from "zod";
import {
    exportFormats,
    exportMarkerPattern,
    lookupAttributeTypes,
    lookupKeyTypes,
    lookupNamePattern,
    type ExportFormat,
    type LookupPlan,
} from "../contracts/lookup-plan";
import { cronProblem } from "./cron";
import { YamlSource } from "./yaml-source";

/**
 * A lookup definition (`config/lookups/<lookup>.yaml`): a DynamoDB table loaded from export folders
 * that land in S3, on a schedule and/or as each folder is completed by its marker, and optionally an
 * event filter that lets only the stream events whose key is in the table through.
 */

const attributeName = z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,254}$/, { error: "must start with a letter or _ and use letters, digits, _ . or -" });
const attributeType = z.enum(lookupAttributeTypes);
const keyType = z.enum(lookupKeyTypes);
/** A relative S3 prefix ending in /: what `source.prefix`, `bootstrap.keyPrefix` and a filter's destination prefix are. */
const relativePrefix = /^[A-Za-z0-9_\-/.]+\/$/;

/** The formats DynamoDB ImportTable reads, with its InputFormat for each. */
export const importTableFormats: Partial<Record<ExportFormat, "DYNAMODB_JSON" | "CSV">> = { "dynamodb-json": "DYNAMODB_JSON", csv: "CSV" };

const bootstrapCompressions = ["gzip", "zstd", "none"] as const;
/** ImportTable's InputCompressionType of each `bootstrap.compression`. */
export const importTableCompressions: Record<(typeof bootstrapCompressions)[number], "GZIP" | "ZSTD" | "NONE"> = {
    gzip: "GZIP",
    zstd: "ZSTD",
    none: "NONE",
};

/**
 * The attribute the loader stamps on every item of a full refresh, to delete the keys no part of
 * the export holds (`glue-scripts/ingest/lookup_plan.py` GENERATION_ATTRIBUTE): no key, attribute
 * or TTL may be named so.
 */
export const generationAttribute = "load_generation";

const partitionPattern = "aws(?:-[a-z]+)*";
const regionPattern = "[a-z]{2}(?:-[a-z]+)+-\\d";
/** `arn:<partition>:kinesis:<region>:<account>:stream/<name>` (a stream name: 1 to 128 of letters, digits, _ . -). */
const kinesisStreamArnPattern = new RegExp(
    `^arn:(${partitionPattern}):kinesis:(${regionPattern}):(\\d{12}):stream/([A-Za-z0-9_.-]{1,128})$`,
);
/** `arn:<partition>:kms:<region>:<account>:key/<key id>`: a key id, single- or multi-Region; an alias grants nothing. */
const kmsKeyArnPattern = new RegExp(
    `^arn:(${partitionPattern}):kms:(${regionPattern}):(\\d{12}):key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`,
);

/** The parts of a Kinesis stream ARN. */
export interface KinesisStreamArn {
    readonly arn: string;
    readonly partition: string;
    readonly region: string;
    readonly accountId: string;
    readonly name: string;
}

/** The parts of `text` when it is a Kinesis stream ARN; undefined otherwise. */
export function parseKinesisStreamArn(text: string): KinesisStreamArn | undefined {
    const match = kinesisStreamArnPattern.exec(text);
    return match ? { arn: text, partition: match[1]!, region: match[2]!, accountId: match[3]!, name: match[4]! } : undefined;
}

/** Whether a filter's `stream` names a stream by ARN (of another stack or account) rather than one of this stack's. */
export function namesStreamByArn(stream: string): boolean {
    return stream.startsWith("arn:");
}

/** DynamoDB's item size limit, in KiB. */
export const dynamodbMaximumItemKiB = 400;

export const lookupSchema = z.strictObject({
    lookup: z.string().regex(lookupNamePattern, { error: "must be lower-kebab-case: a letter, then letters, digits or - (at most 31)" }),
    description: z.string().optional(),
    key: z.strictObject({
        partition: z.strictObject({ attribute: attributeName, type: keyType }),
        sort: z.strictObject({ attribute: attributeName, type: keyType }).optional(),
    }),
    /** Attributes each line is checked for, besides the key; others are loaded as they are. */
    attributes: z.array(z.strictObject({ name: attributeName, type: attributeType, required: z.boolean().default(false) })).default([]),
    source: z.strictObject({
        /** Export folders land under this prefix of the lookup's exports bucket. */
        prefix: z.string().default("exports/"),
        /**
         * jsonl: a plain JSON object per line; dynamodb-json: DynamoDB JSON items, bare or a DynamoDB
         * export's `{"Item": ...}` lines; data-pipeline-json: a Data Pipeline export (lowercase type
         * descriptors); redshift-text: Redshift UNLOAD's delimited text (see unload); csv: with a header;
         * keys: one partition key per line.
         */
        format: z.enum(exportFormats),
        /**
         * The one object name that completes an export folder of this lookup (a Redshift UNLOAD
         * MANIFEST's `<name prefix>manifest`, or a team's own `DONE`). Defaults to every name of
         * `defaultExportMarkers`.
         */
        marker: z.string().regex(exportMarkerPattern, { error: "must be an object name: 1 to 255 letters, digits, _ . or -" }).optional(),
        /** How the Redshift UNLOAD wrote a redshift-text export (required for it, refused for every other format). */
        unload: z
            .strictObject({
                /** The UNLOAD's columns, in order (the text has no header). */
                columns: z.array(attributeName).min(1),
                /** DELIMITER AS: one character. Defaults to UNLOAD's "|". */
                delimiter: z.string().default("|"),
                /**
                 * Whether UNLOAD ran with ESCAPE. Required, with no default: escaped text read as plain
                 * keeps its backslashes, and plain text read as escaped loses them.
                 */
                escape: z.custom<boolean>((value) => typeof value === "boolean", {
                    error:
                        "required: true if the UNLOAD ran with ESCAPE, false if not (no default: escaped text read as plain " +
                        "keeps its backslashes, plain text read as escaped loses them)",
                }),
                /** NULL AS: the text of a null. Defaults to UNLOAD's, the empty string. */
                nullAs: z.string().default(""),
            })
            .optional(),
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
    bootstrap: z
        .strictObject({
            /** Create the table with DynamoDB ImportTable from the exports already in place (new tables only). */
            importTable: z.boolean().default(false),
            /** ImportTable's InputCompressionType. Defaults to gzip, what a DynamoDB export writes. */
            compression: z.enum(bootstrapCompressions).default("gzip"),
            /**
             * What ImportTable reads: every object under this prefix of the exports bucket, manifests
             * included, so point it at a DynamoDB export's `data/` folder. Defaults to source.prefix.
             */
            keyPrefix: z.string().optional(),
        })
        .prefault({}),
    filter: z
        .strictObject({
            /**
             * A stream of this stack (config/streams/), or the ARN of a Kinesis stream of another stack
             * or account (`arn:<partition>:kinesis:<region>:<account>:stream/<name>`), in the stack's region.
             */
            stream: z.string(),
            /** The KMS key ARN the stream of another stack or account is encrypted with (required for it, refused for the stack's own). */
            kmsKeyArn: z.string().optional(),
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
        markers: lookup.source.marker !== undefined ? [lookup.source.marker] : [...defaultExportMarkers],
        unload: lookup.source.unload
            ? {
                  columns: lookup.source.unload.columns,
                  delimiter: lookup.source.unload.delimiter,
                  escape: lookup.source.unload.escape,
                  nullAs: lookup.source.unload.nullAs,
              }
            : null,
    };
}

/** A stream of another stack or account that a filter reads: its ARN's parts and the key its records are encrypted with. */
export interface UpstreamStream extends KinesisStreamArn {
    readonly kmsKeyArn: string;
}

/** The stream of another stack or account a validated lookup's filter reads; undefined for a stream of the stack, or no filter. */
export function upstreamStreamOf(lookup: Lookup): UpstreamStream | undefined {
    const stream = lookup.filter ? parseKinesisStreamArn(lookup.filter.stream) : undefined;
    const kmsKeyArn = lookup.filter?.kmsKeyArn;
    return stream && kmsKeyArn !== undefined ? { ...stream, kmsKeyArn } : undefined;
}

/** What a lookup is checked against beyond its own file: the region the stack deploys to, when it is known. */
export interface LookupContext {
    readonly region?: string;
}

/**
 * Parses and validates one lookup definition; throws a ConfigError listing every located problem.
 * Everything the loader's plan check (`glue-scripts/ingest/lookup_plan.py`) would refuse is refused
 * here, so a plan the program uploads is one the loader accepts.
 */
export function parseLookup(fileName: string, text: string, context: LookupContext = {}): Lookup {
    return readLookup(new YamlSource(fileName, text), context);
}

/** Validates the lookup definition `source` holds, which stays usable for reporting problems across files. */
export function readLookup(source: YamlSource, context: LookupContext = {}): Lookup {
    const { fileName } = source;
    const lookup = source.validate(lookupSchema);
    const expectedFile = `${lookup.lookup}.yaml`;
    if (!fileName.endsWith(`/${expectedFile}`) && fileName !== expectedFile) {
        source.report(["lookup"], `lookup "${lookup.lookup}" must be defined in a file named ${expectedFile}`);
    }
    checkAttributes(source, lookup);
    checkSource(source, lookup);
    const { refresh } = lookup;
    // The loader is started on schedule by a Glue trigger.
    const scheduleProblem = refresh.schedule !== undefined ? cronProblem(refresh.schedule, "glue") : undefined;
    if (scheduleProblem !== undefined) {
        source.report(["refresh", "schedule"], scheduleProblem);
    }
    if (refresh.schedule === undefined && !refresh.onNewExport) {
        source.report(["refresh"], "the table would never be loaded: set a schedule, or onNewExport: true");
    }
    checkBootstrap(source, lookup);
    checkFilter(source, lookup, context);
    source.throwIfProblems();
    return lookup;
}

function checkPrefix(source: YamlSource, path: readonly PropertyKey[], prefix: string): void {
    if (!relativePrefix.test(prefix) || prefix.startsWith("/")) {
        source.report(path, `"${prefix}" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`);
    }
}

/** Keys, declared attributes and the TTL: distinct, and none the loader's own attribute. */
function checkAttributes(source: YamlSource, lookup: Lookup): void {
    const keys = [lookup.key.partition.attribute, lookup.key.sort?.attribute].filter((name) => name !== undefined);
    const generation = `"${generationAttribute}" is the attribute the loader sets on a full refresh`;
    if (lookup.key.partition.attribute === generationAttribute) {
        source.report(["key", "partition", "attribute"], generation);
    }
    if (lookup.key.sort?.attribute === generationAttribute) {
        source.report(["key", "sort", "attribute"], generation);
    }
    if (lookup.key.sort && lookup.key.sort.attribute === lookup.key.partition.attribute) {
        source.report(["key", "sort", "attribute"], `"${lookup.key.sort.attribute}" is already the partition key`);
    }
    const seen = new Map<string, number>();
    lookup.attributes.forEach((attribute, index) => {
        if (keys.includes(attribute.name)) {
            source.report(["attributes", index, "name"], `"${attribute.name}" is a key attribute; keys are always required`);
        } else if (attribute.name === generationAttribute) {
            source.report(["attributes", index, "name"], generation);
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
    } else if (lookup.ttl?.attribute === generationAttribute) {
        source.report(["ttl", "attribute"], generation);
    }
}

/** The export's prefix, and what its format needs: UNLOAD settings for redshift-text only, a partition key alone for keys. */
function checkSource(source: YamlSource, lookup: Lookup): void {
    const { prefix, format, unload } = lookup.source;
    checkPrefix(source, ["source", "prefix"], prefix);
    if (format === "keys") {
        if (lookup.key.sort) {
            source.report(["key", "sort"], "a keys export (source.format keys) holds only the partition key; it cannot have a sort key");
        }
        lookup.attributes.forEach((attribute, index) => {
            if (attribute.required) {
                source.report(
                    ["attributes", index, "required"],
                    `a keys export (source.format keys) holds only the partition key; "${attribute.name}" cannot be required`,
                );
            }
        });
    }
    if (format !== "redshift-text") {
        if (unload) {
            source.report(["source", "unload"], `only a redshift-text export has UNLOAD settings; this one is ${format}`);
        }
        return;
    }
    if (!unload) {
        source.report(
            ["source", "unload"],
            "a redshift-text export needs its UNLOAD settings: the columns in order, and escape (delimiter and nullAs if not UNLOAD's defaults)",
        );
        return;
    }
    const columns = new Map<string, number>();
    unload.columns.forEach((column, index) => {
        const earlier = columns.get(column);
        if (earlier !== undefined) {
            source.report(["source", "unload", "columns", index], `column "${column}" is already columns[${earlier}]`);
        } else {
            columns.set(column, index);
        }
    });
    const needed = [
        ...[lookup.key.partition, lookup.key.sort].flatMap((key) => (key ? [{ name: key.attribute, role: "key attribute" }] : [])),
        ...lookup.attributes.filter((attribute) => attribute.required).map(({ name }) => ({ name, role: "required attribute" })),
    ];
    for (const { name, role } of needed.filter((attribute) => !columns.has(attribute.name))) {
        source.report(["source", "unload", "columns"], `the ${role} "${name}" is not one of the columns`);
    }
    // One code point (Python's len, which the loader checks), never the escape character or a line break.
    if ([...unload.delimiter].length !== 1 || ["\\", "\n", "\r"].includes(unload.delimiter)) {
        source.report(
            ["source", "unload", "delimiter"],
            `${JSON.stringify(unload.delimiter)} must be one character other than a backslash or a line break`,
        );
    }
}

/** ImportTable reads only its own formats, from a prefix of the exports bucket. */
function checkBootstrap(source: YamlSource, lookup: Lookup): void {
    const { bootstrap } = lookup;
    if (bootstrap.keyPrefix !== undefined) {
        checkPrefix(source, ["bootstrap", "keyPrefix"], bootstrap.keyPrefix);
    }
    if (bootstrap.importTable && importTableFormats[lookup.source.format] === undefined) {
        source.report(
            ["bootstrap", "importTable"],
            'DynamoDB ImportTable reads only dynamodb-json exports of {"Item": ...} lines (a DynamoDB export\'s) and csv exports ' +
                `with a header, not ${lookup.source.format}`,
        );
    }
}

/** The filter's stream (the stack's, or another's by ARN with its key, in the stack's region) and destination. */
function checkFilter(source: YamlSource, lookup: Lookup, context: LookupContext): void {
    const { filter } = lookup;
    if (!filter) {
        return;
    }
    if ("prefix" in filter.destination) {
        checkPrefix(source, ["filter", "destination", "prefix"], filter.destination.prefix);
    }
    if (!namesStreamByArn(filter.stream)) {
        if (filter.kmsKeyArn !== undefined) {
            source.report(
                ["filter", "kmsKeyArn"],
                `only a stream of another stack or account (an ARN in filter.stream) takes a key; stream "${filter.stream}" ` +
                    "is this stack's, encrypted with the stack's key",
            );
        }
        return;
    }
    const stream = parseKinesisStreamArn(filter.stream);
    if (!stream) {
        source.report(
            ["filter", "stream"],
            `"${filter.stream}" is not a Kinesis stream ARN (arn:<partition>:kinesis:<region>:<account>:stream/<name>)`,
        );
    } else if (context.region !== undefined && stream.region !== context.region) {
        source.report(
            ["filter", "stream"],
            `the stream is in ${stream.region}, but the stack deploys to ${context.region} (aws:region); ` +
                "a Lambda event source mapping reads only streams of its own region",
        );
    }
    if (filter.kmsKeyArn === undefined) {
        source.report(
            ["filter", "kmsKeyArn"],
            "required with a stream of another stack or account: the ARN of the KMS key its records are encrypted with",
        );
        return;
    }
    const key = kmsKeyArnPattern.exec(filter.kmsKeyArn);
    if (!key) {
        source.report(
            ["filter", "kmsKeyArn"],
            `"${filter.kmsKeyArn}" is not a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key id>; an alias cannot be granted)`,
        );
    } else if (stream && (key[1] !== stream.partition || key[2] !== stream.region)) {
        source.report(
            ["filter", "kmsKeyArn"],
            `the key is in ${key[1]} ${key[2]}, the stream in ${stream.partition} ${stream.region}; a stream's key is in the stream's region`,
        );
    }
}
