/**
 * The ingestion platform's Pulumi program: for one stack, it reads the stack's config and the YAML
 * definitions it lists (mappings, streams, lookups), refuses any that cannot work with every problem
 * located, and declares the storage, catalog, pipelines, streams, lookups and dashboard they describe.
 */
import * as pulumi from "@pulumi/pulumi";
import { Catalog } from "./components/catalog";
import { StackDashboard } from "./components/dashboard";
import { ExtractPipeline } from "./components/extract-pipeline";
import { FileSource } from "./components/file-source";
import { LakeMaintenance } from "./components/lake-maintenance";
import { LookupTable } from "./components/lookup-table";
import { Storage } from "./components/storage";
import { StreamLake } from "./components/stream-lake";
import { freshnessThresholdSeconds } from "./components/stream-lake/defaults";
import { SnowflakeIngest } from "./components/snowflake-ingest";
import { WarehouseExport } from "./components/warehouse-export";
import {
    bundleHandler,
    extractJobScript,
    jobPackage,
    lakeMaintenanceJobScript,
    lookupLoadJobScript,
    streamExportJobScript,
} from "./config/assets";
import { checkDeployedLake, glueLakeTables } from "./config/deployed-lake";
import { configuredSettings, loadStackConfig, readStackFile } from "./config/load";
import { upstreamStreamOf } from "./config/lookup";
import { refusePlainSnowflakeCredentials } from "./config/snowflake";
import { manualSnowflake, type Stream } from "./config/stream";
import type { DeployedStackOutputs } from "./contracts/stack-outputs";

const stack = pulumi.getStack();
// The region the AWS provider deploys to, as it reads it: a filter's stream of another stack must be in it.
const region = new pulumi.Config("aws").get("region") ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
// Every config problem, located in its file (the stack file's too), is refused before anything is declared.
const stackFile = readStackFile(stack);
// Snowflake credentials only as Pulumi secrets: a plain-text one in the stack file is refused, located.
refusePlainSnowflakeCredentials(stackFile);
const { settings, plans, streams, lookups, expiringLakePrefixes } = loadStackConfig(stack, {
    stackFile,
    settings: configuredSettings(),
    region,
});
const platformName = `ingest-${stack}`;
const databaseName = `ingest_${stack.replace(/-/g, "_")}`;

// A plan that would change a deployed lake column's type in a way Iceberg cannot (config/lake-schema.ts)
// refuses the deployment, and every resource declared at the top of the stack (every component, so
// everything inside them too) waits for that check: a refused deployment changes nothing.
const lakeChecked = checkDeployedLake(plans, glueLakeTables(databaseName)).then(() => []);
pulumi.runtime.registerStackTransformation(({ props, opts }) =>
    opts.parent === undefined ? { props, opts: pulumi.mergeOptions(opts, { dependsOn: lakeChecked }) } : undefined,
);

const storage = new Storage(platformName, {
    retentionDays: settings.retentionDays,
    expiringLakePrefixes: expiringLakePrefixes.map(({ prefix }) => prefix),
    allowDataDeletion: settings.allowDataDeletion,
});

const catalog = new Catalog(platformName, {
    databaseName,
    lake: storage.lake,
    tables: plans.flatMap((plan) => plan.lake.tables),
    snapshotRetentionDays: settings.retentionDays,
    kmsKeyArn: storage.keyArn,
    athenaResultsBucketName: storage.athenaResults.name,
    bytesScannedCutoffPerQuery: settings.athenaBytesScannedCutoff,
    allowDataDeletion: settings.allowDataDeletion,
});

const triggerCode = bundleHandler("lambdas/extract-trigger/handler.ts");
const notifierCode = bundleHandler("lambdas/run-notifier/handler.ts");
const pipelines = plans.map(
    (plan) =>
        new ExtractPipeline(`${platformName}-${plan.pipeline}`, {
            plan,
            stack,
            kmsKeyArn: storage.keyArn,
            landing: storage.landing,
            lake: storage.lake,
            quarantine: storage.quarantine,
            glueAssets: storage.glueAssets,
            databaseName: catalog.databaseName,
            workgroupName: catalog.workgroupName,
            securityConfigurationName: catalog.securityConfigurationName,
            triggerCode,
            notifierCode,
            jobScript: extractJobScript(),
            jobPackage: jobPackage(),
            glue: settings.glue,
            ...(settings.notificationEmail ? { notificationEmail: settings.notificationEmail } : {}),
            freshnessHours: settings.freshnessHours,
            latencyPromiseMinutes: settings.latencyPromiseMinutes,
            deletionProtection: settings.deletionProtection,
            itemsWriteUnitsPerSecond: settings.itemsWriteUnitsPerSecond,
            logRetentionDays: settings.logRetentionDays,
            lambda: settings.lambda,
        }),
);
const maintenance = plans.map(
    (plan, index) =>
        new LakeMaintenance(`${platformName}-${plan.pipeline}-maintenance`, {
            plan,
            kmsKeyArn: storage.keyArn,
            lake: storage.lake,
            glueAssets: storage.glueAssets,
            databaseName: catalog.databaseName,
            securityConfigurationName: catalog.securityConfigurationName,
            topicArn: pipelines[index]!.topicArn,
            runLedger: { name: pipelines[index]!.runLedger.name, arn: pipelines[index]!.runLedger.arn },
            script: lakeMaintenanceJobScript(),
            jobPackage: jobPackage(),
            retentionDays: settings.retentionDays,
            maxWorkers: settings.glue.maxWorkers,
        }),
);

const notificationEmail = settings.notificationEmail ? { notificationEmail: settings.notificationEmail } : {};
/** The stream functions' bundles, built only for stacks that declare streams. */
function bundleStreamCode() {
    return {
        producer: bundleHandler("lambdas/stream-producer/handler.ts"),
        crawlerStarter: bundleHandler("lambdas/crawler-starter/handler.ts"),
        fileLoader: bundleHandler("lambdas/file-to-stream/handler.ts"),
        exportStarter: streams.some((stream) => stream.warehouse?.trigger === "on-delivery")
            ? bundleHandler("lambdas/export-starter/handler.ts")
            : undefined,
    };
}

function declareStream(stream: Stream, code: ReturnType<typeof bundleStreamCode>) {
    const streamName = `${platformName}-${stream.stream}`;
    const lake = new StreamLake(streamName, {
        stream,
        kmsKeyArn: storage.keyArn,
        lake: storage.lake,
        accessLogsBucketName: storage.accessLogs.name,
        databaseName: catalog.databaseName,
        workgroupName: catalog.workgroupName,
        securityConfigurationName: catalog.securityConfigurationName,
        producerCode: code.producer,
        crawlerStarterCode: code.crawlerStarter,
        ...notificationEmail,
        logRetentionDays: settings.logRetentionDays,
        allowDataDeletion: settings.allowDataDeletion,
        lambda: settings.lambda,
    });
    const files = stream.fileSource
        ? new FileSource(streamName, {
              stream,
              prefix: stream.fileSource.prefix,
              streamName: lake.streamName,
              streamArn: lake.streamArn,
              kmsKeyArn: storage.keyArn,
              accessLogsBucketName: storage.accessLogs.name,
              reports: storage.quarantine,
              code: code.fileLoader,
              functionDeadLetterQueueArn: lake.functionDeadLetterQueue.arn,
              alarms: lake.alarms,
              retentionDays: settings.retentionDays,
              logRetentionDays: settings.logRetentionDays,
              allowDataDeletion: settings.allowDataDeletion,
              lambda: settings.lambda,
          })
        : undefined;
    const warehouse = stream.warehouse
        ? new WarehouseExport(`${streamName}-warehouse`, {
              stream,
              warehouse: stream.warehouse,
              streamArn: lake.streamArn,
              kmsKeyArn: storage.keyArn,
              accessLogsBucketName: storage.accessLogs.name,
              quarantine: storage.quarantine,
              glueAssets: storage.glueAssets,
              securityConfigurationName: catalog.securityConfigurationName,
              jobScript: streamExportJobScript(),
              jobPackage: jobPackage(),
              alarms: lake.alarms,
              retentionDays: settings.retentionDays,
              logRetentionDays: settings.logRetentionDays,
              allowDataDeletion: settings.allowDataDeletion,
              ...(code.exportStarter ? { starterCode: code.exportStarter } : {}),
              deletionProtection: settings.deletionProtection,
              lambda: settings.lambda,
          })
        : undefined;
    // With warehouse.snowflake.account, the Snowflake side is declared here too (else the README's manual path).
    const account = stream.warehouse?.snowflake.account;
    const snowflakeIngest =
        warehouse && account
            ? new SnowflakeIngest(`${streamName}-snowflake`, {
                  stream: stream.stream,
                  fields: stream.typedFields,
                  target: account,
                  integrationPrefix: streamName.toUpperCase().replace(/-/g, "_"),
                  destination: warehouse.destination,
                  prefix: warehouse.destinationPrefix,
                  kmsKeyArn: storage.keyArn,
                  alarms: lake.alarms,
                  allowDataDeletion: settings.allowDataDeletion,
              })
            : undefined;
    return { stream, lake, files, warehouse, snowflakeIngest };
}
const streamCode = streams.length > 0 ? bundleStreamCode() : undefined;
const streamPipelines = streamCode ? streams.map((stream) => declareStream(stream, streamCode)) : [];

/** A stream this stack declares, as a lookup's filter reads it: its ARN, and its shards when it is provisioned. */
function streamOfStack(name: string): { arn: pulumi.Output<string>; shards?: number } {
    const { stream, lake } = streamPipelines.find((pipeline) => pipeline.stream.stream === name)!;
    return { arn: lake.streamArn, ...(stream.kinesis.shards !== undefined ? { shards: stream.kinesis.shards } : {}) };
}

const filterCode = lookups.some((lookup) => lookup.filter) ? bundleHandler("lambdas/event-filter/handler.ts") : undefined;
const lookupComponents = lookups.map(
    (lookup) =>
        new LookupTable(`${platformName}-${lookup.lookup}`, {
            lookup,
            stack,
            kmsKeyArn: storage.keyArn,
            accessLogsBucketName: storage.accessLogs.name,
            reports: storage.quarantine,
            glueAssets: storage.glueAssets,
            securityConfigurationName: catalog.securityConfigurationName,
            jobScript: lookupLoadJobScript(),
            jobPackage: jobPackage(),
            retentionDays: settings.retentionDays,
            deletionProtection: settings.deletionProtection,
            ...(lookup.filter && filterCode
                ? {
                      filter: {
                          // A stream of another stack or account is used as its ARN names it; one of this
                          // stack gives its shards too, when it declares them (a provisioned stream).
                          stream: upstreamStreamOf(lookup) ?? streamOfStack(lookup.filter.stream),
                          code: filterCode,
                          bucket: storage.lake,
                      },
                  }
                : {}),
            ...notificationEmail,
            logRetentionDays: settings.logRetentionDays,
            allowDataDeletion: settings.allowDataDeletion,
            lambda: settings.lambda,
        }),
);

// One picture of the stack, drawn from the metrics each component's alarms watch.
const dashboard = new StackDashboard(platformName, {
    pipelines: pipelines.map((pipeline, index) => ({
        pipeline: plans[index]!.pipeline,
        latencyPromiseMinutes: settings.latencyPromiseMinutes,
        metrics: pipeline.metrics,
    })),
    streams: streamPipelines.map(({ stream, lake }) => ({
        stream: stream.stream,
        freshnessThresholdSeconds: freshnessThresholdSeconds(stream),
        metrics: lake.metrics,
    })),
    lookups: lookupComponents.map((lookup, index) => ({ lookup: lookups[index]!.lookup, metrics: lookup.metrics })),
});

export const kmsKeyArn = storage.keyArn;
export const landingBucket = storage.landing.name;
export const lakeBucket = storage.lake.name;
export const quarantineBucket = storage.quarantine.name;
export const glueAssetsBucket = storage.glueAssets.name;
export const athenaResultsBucket = storage.athenaResults.name;
export const accessLogsBucket = storage.accessLogs.name;
export const glueDatabase = catalog.databaseName;
export const athenaWorkgroup = catalog.workgroupName;
export const dashboardName = dashboard.dashboardName;
export const extractPipelines = Object.fromEntries(
    pipelines.map((pipeline, index) => [
        plans[index]!.pipeline,
        {
            landingPrefix: plans[index]!.extract.landingPrefix,
            itemsTable: pipeline.itemsTableName,
            runLedgerTable: pipeline.runLedger.name,
            jobName: pipeline.jobName,
            maintenanceJobName: maintenance[index]!.jobName,
            notificationTopicArn: pipeline.topicArn,
            triggerQueueUrl: pipeline.queue.url,
            deadLetterQueueUrl: pipeline.deadLetterQueue.url,
        },
    ]),
);
export const streamingLakes = Object.fromEntries(
    streamPipelines.map(({ stream, lake, files, warehouse, snowflakeIngest }) => [
        stream.stream,
        {
            kinesisStream: lake.streamName,
            table: lake.tableName,
            rawBackupBucket: lake.rawBackup.name,
            deliveryStream: lake.deliveryStream.name,
            producerFunction: lake.producer.functionName,
            alarmTopicArn: lake.alarms.topicArn,
            ...(lake.crawler ? { crawler: lake.crawler.name } : {}),
            ...(files ? { sourceBucket: files.bucket.name, sourcePrefix: stream.fileSource!.prefix } : {}),
            ...(warehouse
                ? {
                      warehouse: {
                          destinationBucket: warehouse.destination.name,
                          destinationPrefix: warehouse.destinationPrefix,
                          ...(snowflakeIngest
                              ? {
                                    snowflakeRoleArn: snowflakeIngest.loadRole.arn,
                                    snowflakeExternalId: snowflakeIngest.storageIntegration.storageAwsExternalId,
                                    notificationQueueArn: snowflakeIngest.pipe.notificationChannel,
                                    snowflakePipe: snowflakeIngest.pipe.name,
                                    snowpipeErrorTopicArn: snowflakeIngest.errorTopic.arn,
                                }
                              : {
                                    snowflakeRoleArn: warehouse.snowflakeRole?.arn ?? null,
                                    snowflakeExternalId: manualSnowflake(stream.warehouse!)?.externalId ?? null,
                                    notificationQueueArn: warehouse.notificationQueueArn ?? null,
                                }),
                          exportJob: warehouse.job.name,
                      },
                  }
                : {}),
        },
    ]),
);
export const lookupTables = Object.fromEntries(
    lookupComponents.map((lookup, index) => [
        lookups[index]!.lookup,
        {
            table: lookup.table.name,
            exportsBucket: lookup.exports.name,
            exportsPrefix: lookups[index]!.source.prefix,
            loaderJob: lookup.job.name,
            // Where each load writes <reportPrefix><lookup>/<run id>/report.json (`ingest runs --lookup`
            // reads them): read from the loader's own arguments, so the outputs say what the job was told.
            // LookupTable always gives both (test/lookup-components.test.ts), so they are strings.
            reportBucket: lookup.job.defaultArguments.apply((jobArguments) => jobArguments?.["--report_bucket"] as string),
            reportPrefix: lookup.job.defaultArguments.apply((jobArguments) => jobArguments?.["--report_prefix"] as string),
            alarmTopicArn: lookup.alarms.topicArn,
            // The role another account grants its stream and key to, when the filter reads a stream of theirs.
            ...(lookup.filter ? { filterFunction: lookup.filter.functionName, filterRoleArn: lookup.filter.role.arn } : {}),
        },
    ]),
);

// What the operator's command line reads of these (contracts/stack-outputs.ts, which cli/stack-outputs.ts
// parses with): an output it needs that is missing, renamed or of another shape fails typecheck here.
void ({
    landingBucket,
    lakeBucket,
    quarantineBucket,
    glueDatabase,
    athenaWorkgroup,
    extractPipelines,
    lookupTables,
    streamingLakes,
} satisfies DeployedStackOutputs<pulumi.Input<string>>);
