import { z } from "zod";
import { catalogTypeName, checkDatetimePattern, parseColumnType, type ColumnType } from "./formats";
import { YamlSource } from "./yaml-source";

/**
 * A stream definition (`config/streams/<stream>.yaml`): the typed events a Kinesis stream carries
 * and how Firehose lands them as a partitioned Parquet lake. Firehose's documented limits are
 * checked here, so a definition that Firehose would refuse at deploy time fails at config time.
 */

const fieldName = z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, { error: "must be lower_snake_case: a letter, then letters, digits or _ (at most 63)" });

/** Firehose buffering limits (BufferingHints): size 1 to 128 MiB, interval 0 to 900 seconds. */
export const firehoseLimits = {
    minimumBufferMiB: 1,
    maximumBufferMiB: 128,
    /** Record format conversion (to Parquet) needs at least this buffer. */
    conversionMinimumBufferMiB: 64,
    maximumIntervalSeconds: 900,
    /** Dynamic partitioning has no zero buffering. */
    dynamicPartitioningMinimumIntervalSeconds: 60,
    maximumDynamicPartitionKeys: 50,
} as const;

export const eventTimeGranularities = ["year", "month", "day", "hour"] as const;

export const streamSchema = z.strictObject({
    stream: z
        .string()
        .regex(/^[a-z][a-z0-9-]{0,30}$/, { error: "must be lower-kebab-case: a letter, then letters, digits or - (at most 31)" }),
    description: z.string().optional(),
    fields: z
        .array(
            z.strictObject({
                name: fieldName,
                /** string | integer | long | double | boolean | date | timestamp | decimal(p,s) */
                type: z.string(),
                description: z.string().optional(),
            }),
        )
        .min(1, { error: "must declare at least one field" }),
    eventTime: z.strictObject({
        field: fieldName,
        /** `epoch-millis`, `epoch-seconds`, or a datetime pattern such as yyyy-MM-dd'T'HH:mm:ss.SSSXXX */
        format: z.string().default("epoch-millis"),
    }),
    partitioning: z
        .strictObject({
            granularity: z.enum(eventTimeGranularities).default("hour"),
            /** Fields whose values become partition keys (Firehose dynamic partitioning). */
            keys: z.array(fieldName).default([]),
        })
        .default({ granularity: "hour", keys: [] }),
    kinesis: z
        .strictObject({
            mode: z.enum(["on-demand", "provisioned"]).default("on-demand"),
            shards: z.int().min(1).max(500).optional(),
            retentionHours: z.int().min(24).max(8760).default(24),
        })
        .default({ mode: "on-demand", retentionHours: 24 }),
    buffering: z
        .strictObject({ sizeMiB: z.int().default(128), intervalSeconds: z.int().default(300) })
        .default({ sizeMiB: 128, intervalSeconds: 300 }),
    rawBackup: z.strictObject({ retentionDays: z.int().min(1).max(3650).default(30) }).default({ retentionDays: 30 }),
    errorPrefix: z.string().default("errors/"),
    partitions: z
        .discriminatedUnion("mode", [
            z.strictObject({ mode: z.literal("crawler"), schedule: z.string().default("cron(15,45 * * * ? *)") }),
            z.strictObject({
                mode: z.literal("projection"),
                /** The values each dynamic partition key may take; projection cannot discover them. */
                keyValues: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
                /** First partition projection covers, as yyyy-MM-dd. */
                since: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: "must be a date like 2026-01-31" }),
            }),
        ])
        .default({ mode: "crawler", schedule: "cron(15,45 * * * ? *)" }),
});

export type StreamDefinition = z.infer<typeof streamSchema>;

/** A field with its parsed type, as the catalog table and Firehose's schema configuration need it. */
export interface StreamField {
    readonly name: string;
    readonly type: ColumnType;
    readonly catalogType: string;
}

export interface Stream extends StreamDefinition {
    readonly typedFields: readonly StreamField[];
}

/** Parses and validates one stream definition; throws a ConfigError listing every located problem. */
export function parseStream(fileName: string, text: string): Stream {
    const source = new YamlSource(fileName, text);
    const stream = source.validate(streamSchema);
    const typedFields = checkStream(stream, fileName, source);
    source.throwIfProblems();
    return { ...stream, typedFields };
}

function checkStream(stream: StreamDefinition, fileName: string, source: YamlSource): StreamField[] {
    const expectedFile = `${stream.stream}.yaml`;
    if (!fileName.endsWith(`/${expectedFile}`) && fileName !== expectedFile) {
        source.report(["stream"], `stream "${stream.stream}" must be defined in a file named ${expectedFile}`);
    }
    const typedFields: StreamField[] = [];
    const seen = new Map<string, number>();
    stream.fields.forEach((field, index) => {
        const earlier = seen.get(field.name);
        if (earlier !== undefined) {
            source.report(["fields", index, "name"], `field "${field.name}" is already declared at fields[${earlier}]`);
        }
        seen.set(field.name, index);
        const type = parseColumnType(field.type);
        if (!type.ok) {
            source.report(["fields", index, "type"], type.error);
            return;
        }
        typedFields.push({ name: field.name, type: type.value, catalogType: catalogTypeName(type.value) });
    });
    const typeOf = (name: string) => typedFields.find((field) => field.name === name)?.type;

    const eventTimeType = typeOf(stream.eventTime.field);
    if (!seen.has(stream.eventTime.field)) {
        source.report(["eventTime", "field"], `"${stream.eventTime.field}" is not one of the declared fields`);
    } else if (eventTimeType && eventTimeType.kind !== "timestamp") {
        source.report(
            ["eventTime", "field"],
            `"${stream.eventTime.field}" is a ${eventTimeType.kind}; the event time must be a timestamp field`,
        );
    }
    const format = stream.eventTime.format;
    if (format !== "epoch-millis" && format !== "epoch-seconds") {
        const problem = checkDatetimePattern(format, "timestamp");
        if (problem) {
            source.report(["eventTime", "format"], `${problem}; or use epoch-millis or epoch-seconds`);
        }
    }

    const keys = stream.partitioning.keys;
    if (keys.length > firehoseLimits.maximumDynamicPartitionKeys) {
        source.report(
            ["partitioning", "keys"],
            `Firehose allows at most ${firehoseLimits.maximumDynamicPartitionKeys} dynamic partition keys`,
        );
    }
    keys.forEach((key, index) => {
        const type = typeOf(key);
        if (!seen.has(key)) {
            source.report(["partitioning", "keys", index], `"${key}" is not one of the declared fields`);
        } else if (key === stream.eventTime.field) {
            source.report(
                ["partitioning", "keys", index],
                `"${key}" is the event time, which partitions by ${stream.partitioning.granularity} already`,
            );
        } else if (type && !["string", "integer", "long", "boolean"].includes(type.kind)) {
            source.report(
                ["partitioning", "keys", index],
                `"${key}" is a ${catalogTypeName(type)}; partition keys must be string, integer, long or boolean fields`,
            );
        }
        if (keys.indexOf(key) !== index) {
            source.report(["partitioning", "keys", index], `"${key}" is listed twice`);
        }
    });

    const { kinesis, buffering } = stream;
    if (kinesis.mode === "provisioned" && kinesis.shards === undefined) {
        source.report(["kinesis"], "a provisioned stream needs shards: 1 or more");
    }
    if (kinesis.mode === "on-demand" && kinesis.shards !== undefined) {
        source.report(["kinesis", "shards"], "an on-demand stream scales by itself; remove shards or set mode: provisioned");
    }
    if (buffering.sizeMiB < firehoseLimits.minimumBufferMiB || buffering.sizeMiB > firehoseLimits.maximumBufferMiB) {
        source.report(
            ["buffering", "sizeMiB"],
            `Firehose buffers ${firehoseLimits.minimumBufferMiB} to ${firehoseLimits.maximumBufferMiB} MiB, not ${buffering.sizeMiB}`,
        );
    } else if (buffering.sizeMiB < firehoseLimits.conversionMinimumBufferMiB) {
        source.report(
            ["buffering", "sizeMiB"],
            `Firehose needs a buffer of at least ${firehoseLimits.conversionMinimumBufferMiB} MiB to convert records to Parquet, not ${buffering.sizeMiB}`,
        );
    }
    if (buffering.intervalSeconds < 0 || buffering.intervalSeconds > firehoseLimits.maximumIntervalSeconds) {
        source.report(
            ["buffering", "intervalSeconds"],
            `Firehose buffers 0 to ${firehoseLimits.maximumIntervalSeconds} seconds, not ${buffering.intervalSeconds}`,
        );
    } else if (keys.length > 0 && buffering.intervalSeconds < firehoseLimits.dynamicPartitioningMinimumIntervalSeconds) {
        source.report(
            ["buffering", "intervalSeconds"],
            `dynamic partitioning (partitioning.keys) needs a buffer interval of at least ${firehoseLimits.dynamicPartitioningMinimumIntervalSeconds} seconds, not ${buffering.intervalSeconds}`,
        );
    }
    if (!/^[A-Za-z0-9_\-/.]*\/$/.test(stream.errorPrefix) || stream.errorPrefix.startsWith("/")) {
        source.report(["errorPrefix"], `"${stream.errorPrefix}" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`);
    }

    const partitions = stream.partitions;
    if (partitions.mode === "crawler" && !/^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/.test(partitions.schedule)) {
        source.report(
            ["partitions", "schedule"],
            `"${partitions.schedule}" is not a Glue schedule; expected cron(minutes hours day-of-month month day-of-week year)`,
        );
    }
    if (partitions.mode === "projection") {
        for (const key of keys) {
            if (!partitions.keyValues[key]) {
                source.report(["partitions", "keyValues"], `partition projection needs the values of key "${key}"`);
            }
        }
        for (const key of Object.keys(partitions.keyValues)) {
            if (!keys.includes(key)) {
                source.report(["partitions", "keyValues", key], `"${key}" is not a partition key (partitioning.keys)`);
            }
        }
    }
    return typedFields;
}
