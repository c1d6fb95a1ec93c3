import * as pulumi from "@pulumi/pulumi";
import { projectionDates, type EventTimeGranularity } from "../../config/event-time";
import { usesDynamicPartitioning, type Stream } from "../../config/stream";

/** Parquet through the Hive SerDe, which Glue, Athena and Spark all read. */
export const parquetStorage = {
    inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    serDeInfo: {
        name: "parquet",
        serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        parameters: { "serialization.format": "1" },
    },
} as const;

/** The lake bucket's prefix of every stream lake; what is under it expires after the stack's retentionDays. */
export const streamLakesPrefix = "streams/";

/** Where a stream's data sits in the lake bucket: Parquet under `data/`, conversion failures beside it. */
export function streamLakePrefixes(stream: Stream): { readonly root: string; readonly data: string; readonly errors: string } {
    const root = `${streamLakesPrefix}${stream.stream}/`;
    return { root, data: `${root}data/`, errors: `${root}${stream.errorPrefix}` };
}

/** The Glue table of a stream, such as `clickstream_events`. */
export function streamTableName(stream: Stream): string {
    return `${stream.stream.replace(/-/g, "_")}_events`;
}

/** Partition columns in path order: the time first (time-bounded queries prune best), then the keys. */
export function partitionColumns(stream: Stream): { name: string; type: string }[] {
    const keyType = (key: string) => stream.typedFields.find((field) => field.name === key)?.catalogType ?? "string";
    return [
        { name: stream.timePartition.column, type: "string" },
        ...stream.partitioning.keys.map((key) => ({ name: key, type: keyType(key) })),
    ];
}

/**
 * Firehose's S3 prefix: Hive-style partitions, the time first. The event time and the keys are filled
 * in from the metadata extraction query; the arrival time from Firehose's own `!{timestamp:...}`.
 */
export function firehoseDataPrefix(stream: Stream): string {
    const time = stream.timePartition;
    const partitions = partitionColumns(stream).map((column) =>
        time.by === "arrival" && column.name === time.column
            ? `${column.name}=${time.prefixExpression}/`
            : `${column.name}=!{partitionKeyFromQuery:${column.name}}/`,
    );
    return `${streamLakePrefixes(stream).data}${partitions.join("")}`;
}

/**
 * The jq query that extracts every partition value a record carries (its event time, its keys), or
 * undefined when the stream partitions by arrival alone and Firehose reads nothing of the record.
 */
export function metadataExtractionQuery(stream: Stream): string | undefined {
    if (!usesDynamicPartitioning(stream.partitioning)) {
        return undefined;
    }
    const time = stream.timePartition.by === "event" ? [`${stream.timePartition.column}: ${stream.timePartition.query}`] : [];
    return `{${[...time, ...stream.partitioning.keys.map((key) => `${key}: .${key}`)].join(", ")}}`;
}

/** Table parameters that turn on Athena partition projection, when the stream chooses it over a crawler. */
export function projectionParameters(stream: Stream, dataLocation: string): Record<string, string> {
    if (stream.partitions.mode !== "projection") {
        return {};
    }
    const granularity: EventTimeGranularity = stream.partitioning.granularity;
    const column = stream.timePartition.column;
    const { format, unit } = projectionDates[granularity];
    const since = granularity === "hour" ? `${stream.partitions.since}-00` : stream.partitions.since.slice(0, format.length);
    const parameters: Record<string, string> = {
        "projection.enabled": "true",
        [`projection.${column}.type`]: "date",
        [`projection.${column}.format`]: format,
        [`projection.${column}.range`]: `${since},NOW`,
        [`projection.${column}.interval`]: "1",
        [`projection.${column}.interval.unit`]: unit,
    };
    for (const [key, values] of Object.entries(stream.partitions.keyValues)) {
        parameters[`projection.${key}.type`] = "enum";
        parameters[`projection.${key}.values`] = values.join(",");
    }
    const template = partitionColumns(stream)
        .map((partition) => `${partition.name}=\${${partition.name}}/`)
        .join("");
    parameters["storage.location.template"] = `${dataLocation}${template}`;
    return parameters;
}

/** Alarm thresholds: Firehose holds records up to its buffer interval, so freshness allows that plus 15 minutes. */
export function freshnessThresholdSeconds(stream: Stream): number {
    return stream.buffering.intervalSeconds + 900;
}

/** Records older than this in the stream mean Firehose is not keeping up (an hour of lag). */
export const iteratorAgeThresholdMs = 3_600_000;

/** How the crawler starter retries a crawler that is still running: 5 tries, 30 s apart. */
export const crawlerStart = { attempts: 5, retrySeconds: 30 } as const;

/**
 * The EventBridge pattern of a crawl of `crawlerName` that failed: Glue sends `Glue Crawler State
 * Change` with `detail.state` `Failed` (and `Started`, `Succeeded` for the others) and `detail.crawlerName`.
 */
export function crawlFailedPattern(crawlerName: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.jsonStringify({
        source: ["aws.glue"],
        "detail-type": ["Glue Crawler State Change"],
        detail: { crawlerName: [crawlerName], state: ["Failed"] },
    });
}

/** Crawler configuration: new partitions inherit the declared table's schema, which the crawler never rewrites. */
export const crawlerConfiguration = {
    Version: 1.0,
    CrawlerOutput: { Partitions: { AddOrUpdateBehavior: "InheritFromTable" } },
    Grouping: { TableGroupingPolicy: "CombineCompatibleSchemas" },
} as const;

/**
 * Athena saved queries of a stream table, run in the database the saved query names. The recent
 * events come latest first: by the event time, or by the arrival partition (to the hour, day, ...)
 * when the records carry no event time.
 */
export function savedQueries(stream: Stream): { name: string; description: string; query: string }[] {
    const table = `"${streamTableName(stream)}"`;
    const column = stream.timePartition.column;
    const latestFirst = stream.eventTime.field ?? column;
    const { format } = projectionDates[stream.partitioning.granularity];
    const sqlFormat = format.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d").replace("HH", "%H");
    const partitions = partitionColumns(stream).map((partition) => partition.name);
    return [
        {
            name: "recent-events",
            description: `The latest 100 ${stream.stream} events of the last day`,
            query: [
                `SELECT *`,
                `FROM ${table}`,
                `WHERE ${column} >= date_format(current_timestamp - interval '1' day, '${sqlFormat}')`,
                `ORDER BY ${latestFirst} DESC`,
                `LIMIT 100`,
            ].join("\n"),
        },
        {
            name: "events-per-partition",
            description: `${stream.stream} events per partition over the last 7 days`,
            query: [
                `SELECT ${partitions.join(", ")}, count(*) AS events`,
                `FROM ${table}`,
                `WHERE ${column} >= date_format(current_timestamp - interval '7' day, '${sqlFormat}')`,
                `GROUP BY ${partitions.join(", ")}`,
                `ORDER BY ${partitions.join(", ")}`,
            ].join("\n"),
        },
    ];
}
