import { z } from "zod";
import { epochMillis, fieldNamePattern } from "../contracts/column-types";
import { exportDateColumn, type StreamSchemaDocument } from "../contracts/stream-schema";
import { cronProblem, type CronService } from "./cron";
import { eventTimeGranularities, projectionDates, readEventTime, serdeTimestampFormat, type EventTimeGranularity } from "./event-time";
import { catalogTypeName, parseColumnType, type ColumnType } from "./formats";
import { YamlSource, type FieldPath } from "./yaml-source";

/**
 * A stream definition (`config/streams/<stream>.yaml`): the typed events a Kinesis stream carries
 * and how Firehose lands them as a partitioned Parquet lake. Firehose's documented limits are
 * checked here, so a definition that Firehose would refuse at deploy time fails at config time.
 */

const fieldName = z
    .string()
    .regex(fieldNamePattern, { error: "must be lower_snake_case: a letter, then letters, digits or _ (at most 63)" });

/** Firehose buffering limits (BufferingHints): size 1 to 128 MiB, interval 0 to 900 seconds. */
export const firehoseLimits = {
    minimumBufferMiB: 1,
    maximumBufferMiB: 128,
    /** Record format conversion (to Parquet) needs at least this buffer. */
    conversionMinimumBufferMiB: 64,
    maximumIntervalSeconds: 900,
    /** Dynamic partitioning, which event-time partitioning always uses, buffers at least this long. */
    dynamicPartitioningMinimumIntervalSeconds: 60,
    maximumDynamicPartitionKeys: 50,
} as const;

/**
 * What a stream gets when its definition leaves a setting out: seed 002's numbers. Firehose writes a
 * Parquet object at least every 60 s (or at 64 MiB, the least Parquet conversion takes), the crawler
 * adds the new partitions at minutes 15 and 45, and the raw JSON backup expires after 30 days.
 * Shorter buffers mean fresher data and more, smaller objects (more requests and slower Athena
 * scans); see the README's "Adding a stream".
 */
export const streamDefaults = {
    buffering: { sizeMiB: 64, intervalSeconds: 60 },
    crawlerSchedule: "cron(15,45 * * * ? *)",
    rawBackupRetentionDays: 30,
} as const;

/**
 * What a stream's time partition is the hour (day, ...) of: the event time a field of the record
 * carries (Firehose dynamic partitioning reads it with a jq query), or the time Firehose received
 * the record (`!{timestamp:...}` in the S3 prefix: the approximate arrival time of the oldest record
 * in the object), which reads nothing of the record.
 */
export const partitionTimeSources = ["event", "arrival"] as const;
export type PartitionTimeSource = (typeof partitionTimeSources)[number];

/** What starts the warehouse export: its schedule alone, or also each object Firehose delivers. */
export const warehouseTriggers = ["schedule", "on-delivery"] as const;

const arn = (service: string, resource: string) => new RegExp(`^arn:aws[a-z-]*:${service}:${resource}$`);

/** A Snowflake identifier as the program writes it unquoted: letters, digits, _ and $, not starting with a digit or $. */
const snowflakeIdentifier = z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_$]{0,254}$/, { error: "must be a Snowflake identifier: a letter or _, then letters, digits, _ or $" });

/** The Snowflake database, schema and table Snowpipe loads the stream into (`warehouse.snowflake.account`). */
const snowflakeAccountSchema = z.strictObject({
    /** An existing database. */
    database: snowflakeIdentifier,
    /** An existing schema of the database. */
    schema: snowflakeIdentifier,
    /** The table the program declares, one column per stream field. */
    table: snowflakeIdentifier,
});

/** The manual path's settings of a stream's `warehouse.snowflake`, or undefined where the program declares the Snowflake side. */
export function manualSnowflake(
    warehouse: NonNullable<StreamDefinition["warehouse"]>,
): { readonly externalId: string; readonly iamUserArn?: string; readonly notificationChannel?: string } | undefined {
    const { account, externalId, iamUserArn, notificationChannel } = warehouse.snowflake;
    return account === undefined && externalId !== undefined ? { externalId, iamUserArn, notificationChannel } : undefined;
}

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
    /**
     * The event time, and how every timestamp field is written. `field` is the timestamp field that
     * holds when the event happened: required when partitioning by event time (`partitioning.by:
     * event`, the default); a stream partitioned by arrival may leave it out (then no field is
     * required of a record, and the warehouse export files by arrival date), and may leave out
     * `eventTime` altogether when its timestamps are epoch milliseconds.
     */
    eventTime: z
        .strictObject({
            field: fieldName.optional(),
            /** How every timestamp field is written: `epoch-millis` (the default), or a pattern such as yyyy-MM-dd'T'HH:mm:ss.SSSXXX. */
            format: z.string().default(epochMillis),
        })
        .default({ format: epochMillis }),
    partitioning: z
        .strictObject({
            /**
             * `event` (the default): the hour (day, ...) of the event time, read from `eventTime.field`;
             * `arrival`: the hour Firehose received the record, which needs no event-time field.
             */
            by: z.enum(partitionTimeSources).default("event"),
            granularity: z.enum(eventTimeGranularities).default("hour"),
            /** Fields whose values become partition keys (Firehose dynamic partitioning). */
            keys: z.array(fieldName).default([]),
        })
        .default({ by: "event", granularity: "hour", keys: [] }),
    kinesis: z
        .strictObject({
            mode: z.enum(["on-demand", "provisioned"]).default("on-demand"),
            shards: z.int().min(1).max(500).optional(),
            retentionHours: z.int().min(24).max(8760).default(24),
        })
        .default({ mode: "on-demand", retentionHours: 24 }),
    buffering: z
        .strictObject({
            sizeMiB: z.int().default(streamDefaults.buffering.sizeMiB),
            intervalSeconds: z.int().default(streamDefaults.buffering.intervalSeconds),
        })
        .default({ ...streamDefaults.buffering }),
    rawBackup: z
        .strictObject({ retentionDays: z.int().min(1).max(3650).default(streamDefaults.rawBackupRetentionDays) })
        .default({ retentionDays: streamDefaults.rawBackupRetentionDays }),
    errorPrefix: z.string().default("errors/"),
    partitions: z
        .discriminatedUnion("mode", [
            z.strictObject({ mode: z.literal("crawler"), schedule: z.string().default(streamDefaults.crawlerSchedule) }),
            z.strictObject({
                mode: z.literal("projection"),
                /** The values each dynamic partition key may take; projection cannot discover them. */
                keyValues: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
                /** First partition projection covers, as yyyy-MM-dd. */
                since: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: "must be a date like 2026-01-31" }),
            }),
        ])
        .default({ mode: "crawler", schedule: streamDefaults.crawlerSchedule }),
    /** Files landing in the stream's source bucket under `prefix` are put on the stream, record by record. */
    fileSource: z
        .strictObject({
            prefix: z.string().default("incoming/"),
            /**
             * The most the loader reads of one file, in MiB after gunzip; a larger file (a gzip bomb) is
             * rejected with its report. Defaults to 512 (`defaultMaxFileMiB`).
             */
            maxFileMiB: z
                .int({ error: "must be a whole number of MiB, at least 1" })
                .min(1, { error: "must be a whole number of MiB, at least 1" })
                .optional(),
        })
        .optional(),
    /**
     * A second delivery of the stream as JSON, converted to Parquet (on a schedule, or as each
     * object is delivered) into a destination bucket that Snowflake's Snowpipe ingests from.
     */
    warehouse: z
        .strictObject({
            /**
             * What starts the conversion: `schedule` (the default) runs it over every pending object on
             * the schedule; `on-delivery` starts a run for each object Firehose delivers (seed 004's
             * second Lambda), one run at a time, and keeps the schedule to sweep up what no run exported.
             */
            trigger: z.enum(warehouseTriggers).default("schedule"),
            /** When the conversion job runs over every pending object (Glue cron). */
            schedule: z.string().default("cron(0/15 * * * ? *)"),
            /**
             * Either the manual path (`externalId`, then `iamUserArn` and `notificationChannel` as
             * Snowflake shows them), or `account`: the program declares the Snowflake side itself.
             */
            snowflake: z
                .strictObject({
                    /** The storage integration's STORAGE_AWS_EXTERNAL_ID (manual path). */
                    externalId: z.string().min(1, { error: "must not be empty" }).optional(),
                    /** The storage integration's STORAGE_AWS_IAM_USER_ARN, once Snowflake has shown it (manual path). */
                    iamUserArn: z
                        .string()
                        .regex(arn("iam", "\\d{12}:user/\\S+"), { error: "must be an IAM user ARN, as DESC INTEGRATION shows it" })
                        .optional(),
                    /** The pipe's notification_channel (an SQS queue ARN), once the pipe exists (manual path). */
                    notificationChannel: z
                        .string()
                        .regex(arn("sqs", "[a-z0-9-]+:\\d{12}:\\S+"), { error: "must be an SQS queue ARN, as SHOW PIPES shows it" })
                        .optional(),
                    /**
                     * Where Snowpipe loads the stream: with it, the same `pulumi up` declares the storage
                     * integration, table, stage, pipe and error integration (credentials: `snowflake:*` secrets).
                     */
                    account: snowflakeAccountSchema.optional(),
                })
                .superRefine((snowflake, context) => {
                    if (snowflake.account === undefined && snowflake.externalId === undefined) {
                        context.addIssue({
                            code: "custom",
                            path: ["externalId"],
                            message: "is required for the manual path; or set account to declare the Snowflake side",
                        });
                    }
                    if (snowflake.account !== undefined) {
                        for (const key of ["externalId", "iamUserArn", "notificationChannel"] as const) {
                            if (snowflake[key] !== undefined) {
                                context.addIssue({
                                    code: "custom",
                                    path: [key],
                                    message: "is Snowflake's to generate when account is set; remove it",
                                });
                            }
                        }
                    }
                }),
        })
        .optional(),
});

export type StreamDefinition = z.infer<typeof streamSchema>;

/** A field with its parsed type, as the catalog table and Firehose's schema configuration need it. */
export interface StreamField {
    readonly name: string;
    readonly type: ColumnType;
    readonly catalogType: string;
}

/**
 * The time partition column (`event_hour`, `arrival_day`, ...) and how Firehose fills it in: a jq
 * expression over the event-time field (dynamic partitioning's metadata extraction), or a
 * `!{timestamp:...}` expression in the S3 prefix. Both write the value in Athena projection's date
 * format of the granularity (`2026-11-23-14` for hours).
 */
export type TimePartition =
    | { readonly by: "event"; readonly column: string; readonly query: string }
    | { readonly by: "arrival"; readonly column: string; readonly prefixExpression: string };

export interface Stream extends StreamDefinition {
    readonly typedFields: readonly StreamField[];
    /** How Firehose's Hive JSON SerDe parses every timestamp field: `millis` or a Joda-Time pattern. */
    readonly serdeTimestampFormat: string;
    readonly timePartition: TimePartition;
}

/** The time partition column of a stream: `event_hour` when partitioning by event hour, `arrival_hour` by arrival. */
export function timePartitionColumn(by: PartitionTimeSource, granularity: EventTimeGranularity): string {
    return `${by}_${granularity}`;
}

/**
 * Whether the stream's Firehose uses dynamic partitioning: to read the event time, or partition keys,
 * from each record. Partitioning by arrival alone needs none (the prefix's `!{timestamp:...}` does it).
 */
export function usesDynamicPartitioning(partitioning: StreamDefinition["partitioning"]): boolean {
    return partitioning.by === "event" || partitioning.keys.length > 0;
}

/** Parses and validates one stream definition; throws a ConfigError listing every located problem. */
export function parseStream(fileName: string, text: string): Stream {
    return readStream(new YamlSource(fileName, text));
}

/** Validates the stream definition `source` holds, which stays usable for reporting problems across files. */
export function readStream(source: YamlSource): Stream {
    const stream = source.validate(streamSchema);
    const checked = checkStream(stream, source.fileName, source);
    source.throwIfProblems();
    return { ...stream, ...checked } as Stream;
}

function checkStream(
    stream: StreamDefinition,
    fileName: string,
    source: YamlSource,
): { typedFields: StreamField[]; serdeTimestampFormat: string | undefined; timePartition: TimePartition | undefined } {
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
    // The partition columns sit beside the fields in the Glue table: the event time's, and the keys (which are fields).
    const { by, granularity } = stream.partitioning;
    const timeColumn = timePartitionColumn(by, granularity);
    stream.fields.forEach((field, index) => {
        if (field.name === timeColumn) {
            source.report(
                ["fields", index, "name"],
                `"${field.name}" is the partition column that partitioning by ${by === "arrival" ? "arrival " : ""}${granularity} adds ` +
                    `(${timeColumn}=.../ in the lake); a field cannot share its name, so rename the field`,
            );
        }
    });
    const typeOf = (name: string) => typedFields.find((field) => field.name === name)?.type;

    const eventField = stream.eventTime.field;
    if (stream.warehouse !== undefined) {
        const dateColumn = exportDateColumn(eventField);
        stream.fields.forEach((field, index) => {
            if (field.name === dateColumn) {
                source.report(
                    ["fields", index, "name"],
                    `"${field.name}" is the date column the warehouse export adds (${dateColumn}=YYYY-MM-DD/ in the export); ` +
                        "a field cannot share its name, so rename the field",
                );
            }
        });
    }
    const eventTimeType = eventField === undefined ? undefined : typeOf(eventField);
    if (eventField === undefined) {
        if (by === "event") {
            // At eventTime when the file has it, else at what makes the stream partition by event time.
            const written = typeof source.value === "object" && source.value !== null && "eventTime" in source.value;
            source.report(
                written ? ["eventTime", "field"] : ["partitioning", "by"],
                "partitioning by event time (partitioning.by: event, the default) needs the timestamp field that holds the event time; " +
                    "name it, or set partitioning.by: arrival",
                "eventTime.field",
            );
        }
    } else if (!seen.has(eventField)) {
        source.report(["eventTime", "field"], `"${eventField}" is not one of the declared fields`);
    } else if (eventTimeType && eventTimeType.kind !== "timestamp") {
        source.report(["eventTime", "field"], `"${eventField}" is a ${eventTimeType.kind}; the event time must be a timestamp field`);
    }
    // By event time, the format must also give the partition value; by arrival, only the SerDe reads it.
    let serdeFormat: string | undefined;
    let timePartition: TimePartition | undefined;
    if (by === "event" && eventField !== undefined) {
        const reading = readEventTime(eventField, stream.eventTime.format, granularity);
        if (reading.ok) {
            serdeFormat = reading.value.serdeFormat;
            timePartition = { by, column: timeColumn, query: reading.value.partitionQuery };
        } else {
            source.report(["eventTime", "format"], `${reading.error}; or use ${epochMillis}`);
        }
    } else {
        const parsed = serdeTimestampFormat(stream.eventTime.format);
        if (parsed.ok) {
            serdeFormat = parsed.value;
        } else {
            source.report(["eventTime", "format"], `${parsed.error}; or use ${epochMillis}`);
        }
        if (by === "arrival") {
            timePartition = { by, column: timeColumn, prefixExpression: `!{timestamp:${projectionDates[granularity].format}}` };
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
        } else if (by === "event" && key === eventField) {
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
    } else if (
        usesDynamicPartitioning(stream.partitioning) &&
        buffering.intervalSeconds < firehoseLimits.dynamicPartitioningMinimumIntervalSeconds
    ) {
        const reason = by === "event" ? "partitioning by event time" : "partitioning by keys";
        source.report(
            ["buffering", "intervalSeconds"],
            `${reason} uses Firehose dynamic partitioning, which needs a buffer interval of at least ${firehoseLimits.dynamicPartitioningMinimumIntervalSeconds} seconds, not ${buffering.intervalSeconds}`,
        );
    } else if (buffering.intervalSeconds === 0) {
        source.report(
            ["buffering", "intervalSeconds"],
            "Firehose's zero buffering is not available for an S3 backup, and every stream backs up its raw records; use 1 to 900 seconds",
        );
    }
    if (!isRelativePrefix(stream.errorPrefix)) {
        source.report(["errorPrefix"], `"${stream.errorPrefix}" ${relativePrefixRule}`);
    }

    const partitions = stream.partitions;
    if (partitions.mode === "projection") {
        for (const key of keys) {
            if (!partitions.keyValues[key]) {
                source.report(["partitions", "keyValues"], `partition projection needs the values of key "${key}"`);
            }
        }
        for (const [key, values] of Object.entries(partitions.keyValues)) {
            if (!keys.includes(key)) {
                source.report(["partitions", "keyValues", key], `"${key}" is not a partition key (partitioning.keys)`);
            }
            values.forEach((value, index) => {
                if (value.includes(projectionValueSeparator)) {
                    source.report(
                        ["partitions", "keyValues", key, index],
                        `"${value}" contains "${projectionValueSeparator}", which separates the values of an enum projection ` +
                            `(projection.${key}.values), so Athena would read it as ${value.split(projectionValueSeparator).length} values`,
                    );
                }
            });
        }
        const dateProblem = calendarDateProblem(partitions.since);
        if (dateProblem !== undefined) {
            source.report(["partitions", "since"], `"${partitions.since}" is not a date: ${dateProblem}`);
        }
    }
    // The crawler is started by an EventBridge rule on its schedule; the warehouse export is a Glue trigger's.
    const cronSchedules: [FieldPath, string | undefined, CronService][] = [
        [["partitions", "schedule"], partitions.mode === "crawler" ? partitions.schedule : undefined, "eventbridge"],
        [["warehouse", "schedule"], stream.warehouse?.schedule, "glue"],
    ];
    for (const [path, schedule, service] of cronSchedules) {
        const problem = schedule !== undefined ? cronProblem(schedule, service) : undefined;
        if (problem !== undefined) {
            source.report(path, problem);
        }
    }
    if (stream.fileSource && !isRelativePrefix(stream.fileSource.prefix)) {
        source.report(["fileSource", "prefix"], `"${stream.fileSource.prefix}" ${relativePrefixRule}`);
    }
    return { typedFields, serdeTimestampFormat: serdeFormat, timePartition };
}

/** What separates the values of an enum partition projection (`projection.<key>.values`). */
export const projectionValueSeparator = ",";

const monthNames = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/** Why a yyyy-MM-dd text names no day of the calendar, or undefined when it names one. */
function calendarDateProblem(text: string): string | undefined {
    const [year = 0, month = 0, day = 0] = text.split("-").map(Number);
    if (month < 1 || month > 12) {
        return `month ${month} is outside 1-12`;
    }
    // Day 0 of the next month is the last day of this one.
    const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (day < 1 || day > days) {
        return `${monthNames[month - 1]} ${year} has days 1-${days}, not ${day}`;
    }
    return undefined;
}

const relativePrefixRule = "must be a relative S3 prefix ending in /, of letters, digits and _ - . /";

function isRelativePrefix(prefix: string): boolean {
    return /^[A-Za-z0-9_\-/.]*\/$/.test(prefix) && !prefix.startsWith("/");
}

export type { StreamSchemaDocument };

/**
 * The stream schema the runtime code reads (the producer and file-to-stream functions in
 * STREAM_SCHEMA, the warehouse export job from S3; contracts/stream-schema.ts): field names with
 * parsed types, and the event time: always its format (how every timestamp field is written), its
 * field only when the stream has one. Without it, a record needs no field and the export files by
 * arrival date.
 */
export function streamSchemaDocument(stream: Stream): StreamSchemaDocument {
    const { field, format } = stream.eventTime;
    return {
        stream: stream.stream,
        fields: stream.typedFields.map((typed) => ({ name: typed.name, type: typed.type })),
        eventTime: field === undefined ? { format } : { field, format },
    };
}
