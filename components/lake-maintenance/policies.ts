import type * as pulumi from "@pulumi/pulumi";
import { lakeTableStatements, type LakeTableRef } from "../lake-access";
import { kmsUse, objectsUnder, type PolicyStatement } from "../policies";
import type { AccountScope } from "../account-scope";
import type { BucketRef } from "../secure-bucket";

export interface MaintenanceScope extends AccountScope {
    readonly lake: BucketRef;
    readonly glueAssets: BucketRef;
    readonly databaseName: pulumi.Input<string>;
    /** The pipeline's Iceberg tables. */
    readonly tables: readonly LakeTableRef[];
    /** The job's script, package and plan in the assets bucket. */
    readonly jobAssetsPrefix: string;
    /** Glue's temporary files of the job, `temporary/<this>/` in the assets bucket. */
    readonly temporaryPrefix: string;
    /** Where the job keeps its reports in the lake bucket. */
    readonly reportsPrefix: string;
    readonly topicArn: pulumi.Input<string>;
    /** The pipeline's run ledger, where the job takes the lake lease. */
    readonly runLedgerArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
}

/**
 * The maintenance job reads its plan, deletes expired rows from (and commits to) exactly the
 * pipeline's tables while it holds the lake lease in the run ledger, writes its report and notifies
 * the pipeline's topic. It reads no landed archive and no items: it works from the lake alone.
 */
export function maintenanceStatements(scope: MaintenanceScope): PolicyStatement[] {
    const temporary = `temporary/${scope.temporaryPrefix}/`;
    return [
        {
            Sid: "ReadJobCodeAndPlan",
            Effect: "Allow",
            Action: ["s3:GetObject"],
            Resource: objectsUnder(scope.glueAssets.arn, scope.jobAssetsPrefix),
        },
        {
            Sid: "ListTemporaryFiles",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: scope.glueAssets.arn,
            Condition: { StringLike: { "s3:prefix": [`${temporary}*`] } },
        },
        {
            Sid: "WriteTemporaryFiles",
            Effect: "Allow",
            Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            Resource: objectsUnder(scope.glueAssets.arn, temporary),
        },
        ...lakeTableStatements({ ...scope, reportsPrefix: scope.reportsPrefix }),
        {
            // The lake lease keeps extract runs from merging while expired rows are deleted.
            Sid: "HoldLakeLease",
            Effect: "Allow",
            Action: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            Resource: scope.runLedgerArn,
        },
        { Sid: "PublishMaintenanceOutcomes", Effect: "Allow", Action: ["sns:Publish"], Resource: scope.topicArn },
        kmsUse(scope.kmsKeyArn),
    ];
}
