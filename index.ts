import * as pulumi from "@pulumi/pulumi";
import { Catalog } from "./components/catalog";
import { ExtractPipeline } from "./components/extract-pipeline";
import { Storage } from "./components/storage";
import { bundleHandler, extractJobScript, jobPackage } from "./config/assets";
import { catalogTables } from "./config/job-plan";
import { loadJobPlans, readStackSettings } from "./config/load";

const stack = pulumi.getStack();
const settings = readStackSettings();
const plans = loadJobPlans(settings.mappings);
const platformName = `ingest-${stack}`;

const storage = new Storage(platformName, {
    retentionDays: settings.retentionDays,
    allowDataDeletion: settings.allowDataDeletion,
});

const catalog = new Catalog(platformName, {
    databaseName: `ingest_${stack.replace(/-/g, "_")}`,
    lakeBucketName: storage.lake.name,
    kmsKeyArn: storage.keyArn,
    athenaResultsBucketName: storage.athenaResults.name,
    bytesScannedCutoffPerQuery: settings.athenaBytesScannedCutoff,
    allowDataDeletion: settings.allowDataDeletion,
    tables: plans.flatMap(catalogTables),
});

const triggerCode = bundleHandler("lambdas/extract-trigger/handler.ts");
const pipelines = plans.map(
    (plan) =>
        new ExtractPipeline(`${platformName}-${plan.pipeline}`, {
            plan,
            kmsKeyArn: storage.keyArn,
            landing: storage.landing,
            lake: storage.lake,
            quarantine: storage.quarantine,
            glueAssets: storage.glueAssets,
            databaseName: catalog.databaseName,
            securityConfigurationName: catalog.securityConfigurationName,
            triggerCode,
            jobScript: extractJobScript(),
            jobPackage: jobPackage(),
            glue: settings.glue,
            ...(settings.notificationEmail ? { notificationEmail: settings.notificationEmail } : {}),
            freshnessHours: settings.freshnessHours,
            deletionProtection: settings.deletionProtection,
            logRetentionDays: settings.logRetentionDays,
        }),
);

export const kmsKeyArn = storage.keyArn;
export const landingBucket = storage.landing.name;
export const lakeBucket = storage.lake.name;
export const quarantineBucket = storage.quarantine.name;
export const glueAssetsBucket = storage.glueAssets.name;
export const athenaResultsBucket = storage.athenaResults.name;
export const accessLogsBucket = storage.accessLogs.name;
export const glueDatabase = catalog.databaseName;
export const athenaWorkgroup = catalog.workgroupName;
export const extractPipelines = Object.fromEntries(
    pipelines.map((pipeline, index) => [
        plans[index]!.pipeline,
        {
            landingPrefix: plans[index]!.extract.landingPrefix,
            itemsTable: pipeline.itemsTableName,
            runLedgerTable: pipeline.runLedger.name,
            jobName: pipeline.jobName,
            notificationTopicArn: pipeline.topicArn,
            triggerQueueUrl: pipeline.queue.url,
            deadLetterQueueUrl: pipeline.deadLetterQueue.url,
        },
    ]),
);
