import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { JobPlan } from "../../config/job-plan";
import type maintenanceArguments from "../../glue-scripts/ingest/contracts/maintenance_job_arguments.json";
import { accountScope } from "../account-scope";
import { anyCount, notifyingAlarm } from "../alarm-topic";
import { matchedEvents } from "../metrics";
import { glueAssetUri, glueJob } from "../glue-job";
import { failedRunRule } from "../glue-job/run-events";
import { icebergJobArguments } from "../lake-access";
import { defaultMaintenanceWorkers, maintenanceJob, maintenancePrefixes, maintenanceSchedule } from "./defaults";
import { maintenanceStatements } from "./policies";
import type { BucketRef } from "../secure-bucket";

export interface LakeMaintenanceArgs {
    /** The pipeline's job plan; its `lake.tables` are what the job maintains. It is uploaded beside the job. */
    readonly plan: JobPlan;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly lake: BucketRef;
    readonly glueAssets: BucketRef;
    readonly databaseName: pulumi.Input<string>;
    readonly securityConfigurationName: pulumi.Input<string>;
    /** The pipeline's notification topic: the job reports there, and the failed-run alarm notifies it. */
    readonly topicArn: pulumi.Input<string>;
    /** The pipeline's run ledger: the job holds the lake lease there while it deletes rows. */
    readonly runLedger: { readonly name: pulumi.Input<string>; readonly arn: pulumi.Input<string> };
    /** The Glue entry script (`glue-scripts/lake_maintenance_job.py`). */
    readonly script: pulumi.asset.Asset;
    /** Zip of the job's Python package (`glue-scripts/ingest`). */
    readonly jobPackage: pulumi.asset.Archive;
    /** Days history rows, rows of the keys tables and snapshots are kept (the stack's retentionDays). */
    readonly retentionDays: number;
    /** Upper bound for the job's auto scaling. Defaults to 10 workers. */
    readonly maxWorkers?: number;
}

/**
 * What Glue's table optimizers do not do for a pipeline's lake: a Glue job, started every day at
 * 03:30 UTC, that removes the current rows of items whose TTL has passed (so the lake and the items
 * age out together) and the history kept longer than the retention window. A failed, stopped or
 * timed-out run raises an alarm on the pipeline's topic.
 */
export class LakeMaintenance extends pulumi.ComponentResource {
    readonly job: aws.glue.Job;
    readonly jobName: pulumi.Output<string>;

    constructor(name: string, args: LakeMaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:lake:LakeMaintenance", name, {}, opts);
        const { plan } = args;
        const scope = accountScope(this);
        const prefixes = maintenancePrefixes(plan.pipeline);

        const contract: Record<keyof typeof maintenanceArguments.deployArguments, pulumi.Input<string>> = {
            plan_uri: glueAssetUri(args.glueAssets, prefixes.jobAssets, "plan.json"),
            lake_bucket: args.lake.name,
            glue_database: args.databaseName,
            run_ledger_table: args.runLedger.name,
            history_retention_days: String(args.retentionDays),
            notification_topic_arn: args.topicArn,
        };
        this.job = glueJob(
            `${name}-job`,
            {
                description: `Removes the ${plan.pipeline} lake rows of expired items and the history older than ${args.retentionDays} days`,
                scope,
                kmsKeyArn: args.kmsKeyArn,
                glueAssets: args.glueAssets,
                assetsPrefix: prefixes.jobAssets,
                script: { file: "lake_maintenance_job.py", source: args.script },
                jobPackage: args.jobPackage,
                configuration: { suffix: "plan", file: "plan.json", document: plan },
                statements: maintenanceStatements({
                    ...scope,
                    lake: args.lake,
                    glueAssets: args.glueAssets,
                    databaseName: args.databaseName,
                    tables: plan.lake.tables,
                    jobAssetsPrefix: prefixes.jobAssets,
                    temporaryPrefix: prefixes.temporary,
                    reportsPrefix: prefixes.reports,
                    topicArn: args.topicArn,
                    runLedgerArn: args.runLedger.arn,
                    kmsKeyArn: args.kmsKeyArn,
                }),
                contract,
                glueArguments: icebergJobArguments(args.lake.name),
                temporaryPrefix: prefixes.temporary,
                capacity: { ...maintenanceJob, numberOfWorkers: args.maxWorkers ?? defaultMaintenanceWorkers },
                securityConfigurationName: args.securityConfigurationName,
            },
            { parent: this },
        );
        this.jobName = this.job.name;

        new aws.glue.Trigger(
            `${name}-schedule`,
            {
                description: `Starts the ${plan.pipeline} lake maintenance every day`,
                type: "SCHEDULED",
                schedule: maintenanceSchedule,
                startOnCreation: true,
                actions: [{ jobName: this.job.name }],
            },
            { parent: this },
        );

        const failed = failedRunRule(
            `${name}-run-failed`,
            { description: `Failed, stopped or timed-out runs of the ${plan.pipeline} lake maintenance`, jobName: this.job.name },
            { parent: this },
        );
        // A failed run leaves expired rows in the lake until the next one succeeds: worth a notification,
        // which clears by itself once no failure has been seen for five minutes.
        notifyingAlarm(
            `${name}-failures`,
            args.topicArn,
            `A ${plan.pipeline} lake maintenance run failed, timed out or was stopped; expired rows stay until a run succeeds`,
            anyCount(matchedEvents(failed.name)),
            { parent: this },
        );

        this.registerOutputs({ jobName: this.jobName });
    }
}
