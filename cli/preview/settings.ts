import { jsonAt, listAt, numberAt, textAt, textsAt, valueAt } from "./inputs";

/**
 * The key settings of a declared resource, read from the inputs it was declared with: one pure
 * describer per resource type. A type without a describer has no settings worth a line of its own.
 */

type Inputs = Readonly<Record<string, unknown>>;
type Describer = (inputs: Inputs) => readonly (string | undefined)[];

const describers: Readonly<Record<string, Describer>> = {
    "aws:dynamodb/table:Table": (inputs) => [
        `key ${keyAttribute(inputs, "hashKey")}`,
        inputs.rangeKey !== undefined ? `sort ${keyAttribute(inputs, "rangeKey")}` : undefined,
        valueAt(inputs, "ttl", "enabled") === true ? `TTL ${textAt(inputs, "ttl", "attributeName")}` : undefined,
        inputs.billingMode === "PAY_PER_REQUEST" ? "on demand" : "provisioned",
        `PITR ${onOff(valueAt(inputs, "pointInTimeRecovery", "enabled"))}`,
        `deletion protection ${onOff(inputs.deletionProtectionEnabled)}`,
        valueAt(inputs, "onDemandThroughput", "maxWriteRequestUnits") !== undefined
            ? `writes capped at ${numberAt(inputs, "onDemandThroughput", "maxWriteRequestUnits")} units/s`
            : undefined,
        valueAt(inputs, "warmThroughput", "writeUnitsPerSecond") !== undefined
            ? `pre-warmed to ${numberAt(inputs, "warmThroughput", "writeUnitsPerSecond")} writes/s`
            : undefined,
    ],
    "aws:kinesis/stream:Stream": (inputs) => [
        valueAt(inputs, "streamModeDetails", "streamMode") === "ON_DEMAND" ? "on demand" : `${numberAt(inputs, "shardCount")} shards`,
        `retention ${numberAt(inputs, "retentionPeriod")} h`,
    ],
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": (inputs) => {
        const s3 = valueAt(inputs, "extendedS3Configuration");
        return [
            `buffer ${numberAt(s3, "bufferingSize")} MiB or ${numberAt(s3, "bufferingInterval")} s`,
            valueAt(s3, "dataFormatConversionConfiguration", "enabled") === true
                ? "JSON to Parquet"
                : `${textAt(s3, "compressionFormat")} JSON`,
            `prefix ${textAt(s3, "prefix")}`,
            valueAt(s3, "s3BackupMode") === "Enabled" ? "raw backup" : undefined,
        ];
    },
    "aws:glue/job:Job": (inputs) => [
        `${textAt(inputs, "workerType")} ${autoScales(inputs) ? "up to " : ""}${numberAt(inputs, "numberOfWorkers")} workers`,
        inputs.executionClass !== undefined ? textAt(inputs, "executionClass").toLowerCase() : undefined,
        `timeout ${numberAt(inputs, "timeout")} min`,
        plural(numberAt(inputs, "maxRetries"), "retry", "retries"),
        plural(numberAt(inputs, "executionProperty", "maxConcurrentRuns"), "concurrent run"),
        inputs.jobRunQueuingEnabled === true ? "more queued" : undefined,
        valueAt(inputs, "notificationProperty", "notifyDelayAfter") !== undefined
            ? `late after ${numberAt(inputs, "notificationProperty", "notifyDelayAfter")} min`
            : undefined,
    ],
    "aws:glue/trigger:Trigger": (inputs) =>
        inputs.type === "SCHEDULED"
            ? [`schedule ${textAt(inputs, "schedule")}`]
            : [
                  `on ${textAt(inputs, "type").toLowerCase()}`,
                  ...listAt(inputs, "eventBatchingConditions").map(
                      (batching) => `batch ${numberAt(batching, "batchSize")} within ${duration(numberAt(batching, "batchWindow"))}`,
                  ),
              ],
    "aws:glue/crawler:Crawler": (inputs) => [
        inputs.schedule !== undefined ? `schedule ${textAt(inputs, "schedule")}` : "started on demand",
        `schema changes: update ${textAt(inputs, "schemaChangePolicy", "updateBehavior")}`,
        `delete ${textAt(inputs, "schemaChangePolicy", "deleteBehavior")}`,
    ],
    "aws:glue/catalogTable:CatalogTable": (inputs) => {
        const iceberg = valueAt(inputs, "openTableFormatInput", "icebergInput", "icebergTableInput");
        return iceberg !== undefined
            ? icebergTableSettings(iceberg)
            : [
                  plural(listAt(inputs, "storageDescriptor", "columns").length, "column"),
                  `partitioned by ${listAt(inputs, "partitionKeys")
                      .map((column) => textAt(column, "name"))
                      .join(", ")}`,
                  valueAt(inputs, "parameters", "projection.enabled") === "true" ? "partition projection" : undefined,
              ];
    },
    "aws:glue/catalogTableOptimizer:CatalogTableOptimizer": (inputs) => {
        const configuration = valueAt(inputs, "configuration");
        const iceberg = (kind: string) => valueAt(configuration, kind, "icebergConfiguration");
        const every = (settings: unknown) => `every ${plural(numberAt(settings, "runRateInHours"), "hour")}`;
        const enabled = valueAt(configuration, "enabled") === true ? [] : ["disabled"];
        switch (textAt(inputs, "type")) {
            case "compaction": {
                const compaction = iceberg("compactionConfiguration");
                return [
                    `compaction ${textAt(compaction, "strategy")}`,
                    `from ${plural(numberAt(compaction, "minInputFiles"), "file")} in a partition or ${plural(numberAt(compaction, "deleteFileThreshold"), "delete")} in a file`,
                    ...enabled,
                ];
            }
            case "retention": {
                const retention = iceberg("retentionConfiguration");
                return [
                    `snapshots kept ${plural(numberAt(retention, "snapshotRetentionPeriodInDays"), "day")}`,
                    `at least ${numberAt(retention, "numberOfSnapshotsToRetain")}`,
                    valueAt(retention, "cleanExpiredFiles") === true ? "their files deleted" : "their files kept",
                    every(retention),
                    ...enabled,
                ];
            }
            default: {
                const orphans = iceberg("orphanFileDeletionConfiguration");
                return [
                    `orphan files deleted after ${plural(numberAt(orphans, "orphanFileRetentionPeriodInDays"), "day")}`,
                    every(orphans),
                    ...enabled,
                ];
            }
        }
    },
    "aws:cloudwatch/eventRule:EventRule": (inputs) =>
        inputs.scheduleExpression !== undefined ? [`schedule ${textAt(inputs, "scheduleExpression")}`] : eventPatternSettings(inputs),
    "aws:s3/bucket:Bucket": (inputs) => [`force destroy ${onOff(inputs.forceDestroy)}`],
    "aws:s3/bucketVersioning:BucketVersioning": (inputs) => [textAt(inputs, "versioningConfiguration", "status").toLowerCase()],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (inputs) =>
        listAt(inputs, "rules").map((rule) =>
            valueAt(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") === "aws:kms"
                ? `KMS${valueAt(rule, "bucketKeyEnabled") === true ? ", bucket key" : ""}`
                : "SSE-S3",
        ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (inputs) => lifecycleSettings(listAt(inputs, "rules")),
    "aws:cloudwatch/logGroup:LogGroup": (inputs) => [`retention ${plural(numberAt(inputs, "retentionInDays"), "day")}`],
    "aws:sqs/queue:Queue": (inputs) => [
        inputs.messageRetentionSeconds !== undefined ? `retention ${duration(numberAt(inputs, "messageRetentionSeconds"))}` : undefined,
        inputs.visibilityTimeoutSeconds !== undefined ? `visibility ${duration(numberAt(inputs, "visibilityTimeoutSeconds"))}` : undefined,
        inputs.redrivePolicy !== undefined
            ? `dead-letter after ${numberAt(jsonAt(inputs, "redrivePolicy"), "maxReceiveCount")} receives`
            : undefined,
    ],
    "aws:lambda/function:Function": (inputs) => [
        `${textAt(inputs, "runtime")} ${textsAt(inputs, "architectures").join(", ")}`,
        `${numberAt(inputs, "memorySize")} MB`,
        `timeout ${duration(numberAt(inputs, "timeout"))}`,
    ],
    "aws:lambda/eventSourceMapping:EventSourceMapping": (inputs) => [
        `batch ${numberAt(inputs, "batchSize")}`,
        inputs.startingPosition !== undefined ? `from ${textAt(inputs, "startingPosition")}` : undefined,
        valueAt(inputs, "scalingConfig", "maximumConcurrency") !== undefined
            ? `up to ${numberAt(inputs, "scalingConfig", "maximumConcurrency")} concurrent`
            : undefined,
    ],
    "aws:kms/key:Key": (inputs) => [
        `rotation ${onOff(inputs.enableKeyRotation)}`,
        `deletion window ${plural(numberAt(inputs, "deletionWindowInDays"), "day")}`,
    ],
    "aws:cloudwatch/metricAlarm:MetricAlarm": (inputs) => [
        `${textAt(inputs, "namespace")} ${textAt(inputs, "metricName")} ${textAt(inputs, "statistic")} ${comparison(inputs)} ${numberAt(inputs, "threshold")}`,
        `${numberAt(inputs, "evaluationPeriods")} × ${duration(numberAt(inputs, "period"))}`,
        inputs.treatMissingData === "breaching" ? "missing data breaches" : undefined,
    ],
    "aws:athena/workgroup:Workgroup": (inputs) => [
        `scan cutoff ${bytes(numberAt(inputs, "configuration", "bytesScannedCutoffPerQuery"))} per query`,
    ],
    "aws:sns/topicSubscription:TopicSubscription": (inputs) => [`${textAt(inputs, "protocol")} ${textAt(inputs, "endpoint")}`],
    "aws:cloudwatch/dashboard:Dashboard": (inputs) => dashboardSettings(jsonAt(inputs, "dashboardBody")),
};

/** The key settings of a resource of `type` declared with `inputs`, comma-separated; empty when its type has none. */
export function describeSettings(type: string, inputs: Inputs): string {
    const describe = describers[type];
    return describe
        ? describe(inputs)
              .filter((setting) => setting !== undefined)
              .join(", ")
        : "";
}

/** An Iceberg table's format, columns, partitioning, sort order and how rows are changed (merge-on-read or copy-on-write). */
function icebergTableSettings(table: unknown): (string | undefined)[] {
    const fields = listAt(table, "schema", "fields");
    const column = (field: unknown) => {
        const sourceId = numberAt(field, "sourceId");
        return textAt(
            fields.find((candidate) => valueAt(candidate, "id") === sourceId),
            "name",
        );
    };
    const partitions = listAt(table, "partitionSpec", "fields").map((field) =>
        textAt(field, "transform") === "identity" ? column(field) : `${textAt(field, "transform")}(${column(field)})`,
    );
    const sorted = listAt(table, "sortOrder", "fields").map(column);
    return [
        `Iceberg v${textAt(table, "properties", "format-version")}`,
        plural(fields.length, "column"),
        partitions.length > 0 ? `partitioned by ${partitions.join(", ")}` : "unpartitioned",
        sorted.length > 0 ? `sorted by ${sorted.join(", ")}` : undefined,
        textAt(table, "properties", "write.merge.mode"),
    ];
}

/**
 * What a dashboard shows: its sections (each heading up to its first colon, as the components write
 * them: "## Extract pipeline customers: ..."), how many charts, and from when.
 */
function dashboardSettings(body: unknown): string[] {
    const widgets = listAt(body, "widgets");
    const heading = (widget: unknown) =>
        textAt(widget, "properties", "markdown")
            .replace(/^#+\s*/, "")
            .split(":")[0]!;
    const sections = widgets.filter((widget) => valueAt(widget, "type") === "text").map(heading);
    const charts = widgets.filter((widget) => valueAt(widget, "type") === "metric").length;
    const start = textAt(body, "start");
    const days = /^-P(\d+)D$/.exec(start)?.[1];
    return [
        `${plural(charts, "chart")} in ${plural(sections.length, "section")} (${sections.join("; ")})`,
        days === undefined ? `from ${start}` : `the last ${days === "1" ? "day" : plural(Number(days), "day")}`,
    ];
}

const comparisons: Readonly<Record<string, string>> = {
    GreaterThanOrEqualToThreshold: ">=",
    GreaterThanThreshold: ">",
    LessThanThreshold: "<",
    LessThanOrEqualToThreshold: "<=",
};

function comparison(alarm: Inputs): string {
    const operator = textAt(alarm, "comparisonOperator");
    return comparisons[operator] ?? operator;
}

/** Glue auto scaling makes the worker count a ceiling rather than a fixed size. */
function autoScales(job: Inputs): boolean {
    return valueAt(job, "defaultArguments", "--enable-auto-scaling") === "true";
}

function keyAttribute(inputs: Inputs, key: "hashKey" | "rangeKey"): string {
    const attribute = textAt(inputs, key);
    const declared = listAt(inputs, "attributes").find((candidate) => valueAt(candidate, "name") === attribute);
    return `${attribute} (${textAt(declared, "type")})`;
}

/** What an event pattern matches: the event, and the bucket and keys (by prefix or wildcard) or the job states it narrows to. */
function eventPatternSettings(inputs: Inputs): string[] {
    const pattern = jsonAt(inputs, "eventPattern");
    const detail = valueAt(pattern, "detail");
    const bucket = textsAt(detail, "bucket", "name");
    const keys = listAt(detail, "object", "key");
    const prefixes = keys.flatMap((key) => (valueAt(key, "prefix") === undefined ? [] : [textAt(key, "prefix")]));
    const wildcards = keys.flatMap((key) => (valueAt(key, "wildcard") === undefined ? [] : [textAt(key, "wildcard")]));
    const states = textsAt(detail, "state");
    return [
        `on ${textsAt(pattern, "detail-type").join(", ")}`,
        ...(bucket.length > 0 ? [`in ${bucket.join(", ")}`] : []),
        ...(prefixes.length > 0 ? [`under ${prefixes.join(", ")}`] : []),
        ...(wildcards.length > 0 ? [`keys ${wildcards.join(" | ")}`] : []),
        ...(states.length > 0 ? [`state ${states.join(" | ")}`] : []),
    ];
}

/** What expires when: the data first, then the housekeeping every bucket gets. */
function lifecycleSettings(rules: readonly unknown[]): string[] {
    const daysOf = (path: string[], describe: (days: number, rule: unknown) => string) =>
        rules.flatMap((rule) => (valueAt(rule, ...path) === undefined ? [] : [describe(numberAt(rule, ...path), rule)]));
    return [
        ...daysOf(["expiration", "days"], (days, rule) => {
            const prefix = valueAt(rule, "filter", "prefix");
            return `${typeof prefix === "string" ? `${prefix} expires` : "objects expire"} after ${plural(days, "day")}`;
        }),
        ...daysOf(["noncurrentVersionExpiration", "noncurrentDays"], (days) => `noncurrent versions after ${plural(days, "day")}`),
        ...daysOf(["abortIncompleteMultipartUpload", "daysAfterInitiation"], (days) => `incomplete uploads after ${plural(days, "day")}`),
    ];
}

function onOff(value: unknown): string {
    return value === true ? "on" : "off";
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
    return `${count} ${count === 1 ? singular : pluralForm}`;
}

function duration(seconds: number): string {
    const units: readonly [number, string][] = [
        [86_400, "day"],
        [3_600, "hour"],
        [60, "min"],
    ];
    for (const [size, unit] of units) {
        if (seconds >= size && seconds % size === 0) {
            return unit === "min" ? `${seconds / size} min` : plural(seconds / size, unit);
        }
    }
    return `${seconds} s`;
}

function bytes(count: number): string {
    for (const [size, unit] of [
        [1024 ** 4, "TiB"],
        [1024 ** 3, "GiB"],
        [1024 ** 2, "MiB"],
    ] as const) {
        if (count >= size && count % size === 0) {
            return `${count / size} ${unit}`;
        }
    }
    return `${count} bytes`;
}
