import type * as pulumi from "@pulumi/pulumi";
import type { AccountScope } from "../account-scope";
import { lakeTableStatements, type LakeTableRef } from "../lake-access";
import { kmsUse, objectsUnder, queueConsumption, type PolicyStatement } from "../policies";
import type { BucketRef } from "../secure-bucket";

export interface JobRoleScope extends AccountScope {
    readonly pipeline: string;
    readonly landingPrefix: string;
    readonly landing: BucketRef;
    readonly lake: BucketRef;
    readonly quarantine: BucketRef;
    readonly glueAssets: BucketRef;
    readonly databaseName: pulumi.Input<string>;
    /** The pipeline's Iceberg tables (`lake.tables` of its plan). */
    readonly lakeTables: readonly LakeTableRef[];
    readonly itemsTableArn: pulumi.Input<string>;
    readonly runLedgerArn: pulumi.Input<string>;
    readonly topicArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
}

/** The lake bucket's prefix where the extract job keeps its run reports (see run_report.json). */
export function runReportsPrefix(pipeline: string): string {
    return `${pipeline}/_reports/`;
}

/** Everything the Glue job does, each statement scoped to this pipeline's ARNs and prefixes. */
export function jobRoleStatements(scope: JobRoleScope): PolicyStatement[] {
    const { pipeline } = scope;
    return [
        {
            Sid: "ReadAndTagLandedArchives",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"],
            Resource: objectsUnder(scope.landing.arn, scope.landingPrefix),
        },
        {
            Sid: "ListOwnPrefixes",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: [scope.quarantine.arn, scope.glueAssets.arn],
            Condition: { StringLike: { "s3:prefix": [`${pipeline}/*`, `temporary/${pipeline}/*`] } },
        },
        {
            Sid: "WriteQuarantineAndTemporaryFiles",
            Effect: "Allow",
            Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            Resource: [objectsUnder(scope.quarantine.arn, `${pipeline}/`), objectsUnder(scope.glueAssets.arn, `temporary/${pipeline}/`)],
        },
        {
            Sid: "ReadJobCodeAndPlan",
            Effect: "Allow",
            Action: ["s3:GetObject"],
            Resource: [objectsUnder(scope.glueAssets.arn, `jobs/${pipeline}/`)],
        },
        ...lakeTableStatements({
            ...scope,
            tables: scope.lakeTables,
            reportsPrefix: runReportsPrefix(pipeline),
        }),
        {
            Sid: "WriteItems",
            Effect: "Allow",
            // What the writer sends: the snapshot check, conditional puts, and deletes of items whose root is gone.
            Action: ["dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:PutItem"],
            Resource: scope.itemsTableArn,
        },
        {
            Sid: "CommitExtractsInRunLedger",
            Effect: "Allow",
            Action: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:UpdateItem"],
            Resource: scope.runLedgerArn,
        },
        {
            Sid: "PublishRunNotifications",
            Effect: "Allow",
            Action: ["sns:Publish"],
            Resource: scope.topicArn,
        },
        kmsUse(scope.kmsKeyArn),
    ];
}

export interface TriggerScope {
    readonly jobArn: pulumi.Input<string>;
    readonly runLedgerArn: pulumi.Input<string>;
    readonly queueArn: pulumi.Input<string>;
    /** The objects under the pipeline's landing prefix. */
    readonly landedArchives: pulumi.Input<string>;
    /** The quarantine bucket's objects under the pipeline's folder of archives with a bad name. */
    readonly badNameQuarantine: pulumi.Input<string>;
}

/**
 * The trigger reads its queue, claims archives in the run ledger and starts this pipeline's job;
 * an archive with a bad name it copies to quarantine and tags. Both buckets are encrypted with the
 * project key, which BundledFunction grants every function's role.
 */
export function triggerStatements(scope: TriggerScope): PolicyStatement[] {
    return [
        queueConsumption(scope.queueArn, "ConsumeTriggerQueue"),
        {
            Sid: "ClaimArchivesInRunLedger",
            Effect: "Allow",
            Action: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            Resource: scope.runLedgerArn,
        },
        {
            Sid: "StartExtractJob",
            Effect: "Allow",
            Action: ["glue:StartJobRun"],
            Resource: scope.jobArn,
        },
        {
            // HeadObject and CopyObject read the landed version; the tags mark it quarantined.
            Sid: "ReadAndTagBadlyNamedArchives",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"],
            Resource: scope.landedArchives,
        },
        {
            Sid: "QuarantineBadlyNamedArchives",
            Effect: "Allow",
            Action: ["s3:PutObject"],
            Resource: scope.badNameQuarantine,
        },
    ];
}

export interface NotifierScope {
    readonly jobArn: pulumi.Input<string>;
    readonly lakeArn: pulumi.Input<string>;
    /** The lake bucket's prefix of the pipeline's run reports (`runReportsPrefix`). */
    readonly reportsPrefix: string;
    readonly topicArn: pulumi.Input<string>;
}

/**
 * The run notifier reads a run of the job, looks for the run's report among the pipeline's reports
 * and reads it, and publishes to the pipeline's topic; the lake bucket is encrypted with the project
 * key, which BundledFunction grants every function's role.
 */
export function notifierStatements(scope: NotifierScope): PolicyStatement[] {
    return [
        { Sid: "ReadExtractJobRuns", Effect: "Allow", Action: ["glue:GetJobRun"], Resource: scope.jobArn },
        {
            Sid: "FindRunReports",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: scope.lakeArn,
            Condition: { StringLike: { "s3:prefix": [`${scope.reportsPrefix}*`] } },
        },
        { Sid: "ReadRunReports", Effect: "Allow", Action: ["s3:GetObject"], Resource: objectsUnder(scope.lakeArn, scope.reportsPrefix) },
        { Sid: "AnnounceRuns", Effect: "Allow", Action: ["sns:Publish"], Resource: scope.topicArn },
    ];
}
