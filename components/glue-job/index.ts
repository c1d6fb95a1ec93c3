import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { jobMetricsNamespace } from "../metrics";
import type { PolicyStatement } from "../policies";
import { assumedRole, rolePolicy } from "../service-role";
import { glueJobArguments, glueVersion } from "./defaults";
import type { AccountScope } from "../account-scope";
import type { BucketRef } from "../secure-bucket";

export interface GlueJobCapacity {
    readonly workerType: string;
    readonly numberOfWorkers: number;
    readonly timeoutMinutes: number;
    readonly maxRetries: number;
    readonly maxConcurrentRuns: number;
    /** Run on spare capacity (FLEX). Defaults to STANDARD. */
    readonly flex?: boolean;
    /** Queue runs beyond maxConcurrentRuns instead of refusing them. Defaults to false. */
    readonly queueRuns?: boolean;
    /**
     * Glue sends a "Glue Job Run Status" event for a run still going after this many minutes
     * (the job's notifyDelayAfter). Defaults to none.
     */
    readonly notifyDelayAfterMinutes?: number;
}

export interface GlueJobArgs {
    readonly description: string;
    /** The account, region and partition of the job's log groups and its role's trust. */
    readonly scope: AccountScope;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly glueAssets: BucketRef;
    /** Where the job's script, package and configuration are uploaded, such as `jobs/customers/`. */
    readonly assetsPrefix: string;
    readonly script: { readonly file: string; readonly source: pulumi.asset.Asset };
    /** Zip of the shared Python package (`glue-scripts/ingest`). */
    readonly jobPackage: pulumi.asset.Archive;
    /** The JSON document the job reads (its plan), uploaded as `<assetsPrefix><file>`; `suffix` names the child. */
    readonly configuration: { readonly suffix: string; readonly file: string; readonly document: unknown };
    /** What the job's role may do besides writing its own logs and publishing its metrics (`glueJobRuntimeStatements`). */
    readonly statements: readonly PolicyStatement[];
    /** The job's contract arguments (see `glue-scripts/ingest/contracts/`). */
    readonly contract: Record<string, pulumi.Input<string>>;
    /** Glue's own arguments beside the defaults every job gets, such as `--datalake-formats`. Defaults to none. */
    readonly glueArguments?: Record<string, pulumi.Input<string>>;
    /** Glue's own temporary files go under `temporary/<temporaryPrefix>/` of the assets bucket. */
    readonly temporaryPrefix: string;
    readonly capacity: GlueJobCapacity;
    readonly securityConfigurationName: pulumi.Input<string>;
}

/** The URI of a file `glueJob` uploads beside the job, for the job's contract arguments. */
export function glueAssetUri(glueAssets: BucketRef, assetsPrefix: string, file: string): pulumi.Output<string> {
    return pulumi.interpolate`s3://${glueAssets.name}/${assetsPrefix}${file}`;
}

/**
 * The log groups Glue 5 writes a job's logs to when the job's security configuration encrypts
 * CloudWatch logs, as the catalog's does: `/aws-glue/jobs/<security configuration>-role<role path><role name>/`
 * followed by `output` (the script's stdout and stderr) and `error` (Spark, Glue and logger messages).
 * Without a security configuration Glue writes to the shared `/aws-glue/jobs/output` and `/error`;
 * with one, the role's name is in the group's, so each job, having its own role (path `/`), writes
 * only groups of its own. See "Logging for AWS Glue jobs" in the Glue developer guide; Glue 5 logs
 * in real time to these two groups, and continuous logging (`/aws-glue/jobs/logs-v2`) is a Glue 4.0
 * and earlier feature the jobs do not ask for.
 */
export function glueJobLogGroupNames(
    securityConfigurationName: pulumi.Input<string>,
    roleName: pulumi.Input<string>,
): pulumi.Output<string>[] {
    return ["output", "error"].map((stream) => pulumi.interpolate`/aws-glue/jobs/${securityConfigurationName}-role/${roleName}/${stream}`);
}

export interface GlueJobRuntimeScope extends AccountScope {
    readonly securityConfigurationName: pulumi.Input<string>;
    /** The job's own role. */
    readonly roleName: pulumi.Input<string>;
}

/** What every Glue job does besides its own work: write its own logs and publish its metrics. */
export function glueJobRuntimeStatements(scope: GlueJobRuntimeScope): PolicyStatement[] {
    return [
        {
            // Glue creates each group on the job's first run and associates the security
            // configuration's key with it. `<group>:*` is CloudWatch Logs' ARN of a group in
            // policies (it covers the group's streams), and no other group.
            Sid: "WriteOwnGlueLogs",
            Effect: "Allow",
            Action: ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: glueJobLogGroupNames(scope.securityConfigurationName, scope.roleName).map(
                (group) => pulumi.interpolate`arn:${scope.partition}:logs:${scope.region}:${scope.accountId}:log-group:${group}:*`,
            ),
        },
        {
            // PutMetricData has no resource-level permissions, so Resource must be "*"; the
            // namespace condition is the scoping AWS offers for it.
            Sid: "PublishJobMetrics",
            Effect: "Allow",
            Action: ["cloudwatch:PutMetricData"],
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": ["Glue", jobMetricsNamespace] } },
        },
    ];
}

/**
 * A Glue 5.1 Spark job with everything it runs from: script, package and configuration uploaded
 * (KMS) to the assets bucket, and its own role with exactly the given statements and the runtime
 * statements every job needs (`glueJobRuntimeStatements`, naming the role's own log groups). Children are
 * `<name>-script`, `<name>-package`, `<name>-<configuration suffix>`, `<name>-role`, `<name>-policy`
 * and the job `<name>`.
 */
export function glueJob(name: string, args: GlueJobArgs, opts: pulumi.CustomResourceOptions): aws.glue.Job {
    const upload = (suffix: string, file: string, source: pulumi.asset.Asset | pulumi.asset.Archive, contentType: string) =>
        new aws.s3.BucketObjectv2(
            `${name}-${suffix}`,
            {
                bucket: args.glueAssets.name,
                key: `${args.assetsPrefix}${file}`,
                source,
                contentType,
                serverSideEncryption: "aws:kms",
                kmsKeyId: args.kmsKeyArn,
            },
            opts,
        );
    const script = upload("script", args.script.file, args.script.source, "text/x-python");
    const jobPackage = upload("package", "ingest.zip", args.jobPackage, "application/zip");
    const configuration = upload(
        args.configuration.suffix,
        args.configuration.file,
        new pulumi.asset.StringAsset(JSON.stringify(args.configuration.document, null, 2)),
        "application/json",
    );
    const role = assumedRole(name, { description: args.description, service: "glue.amazonaws.com", accountId: args.scope.accountId }, opts);
    const policy = rolePolicy(
        name,
        role,
        [
            ...args.statements,
            ...glueJobRuntimeStatements({ ...args.scope, securityConfigurationName: args.securityConfigurationName, roleName: role.name }),
        ],
        opts,
    );
    const { capacity } = args;
    return new aws.glue.Job(
        name,
        {
            description: args.description,
            roleArn: role.arn,
            glueVersion,
            command: {
                name: "glueetl",
                pythonVersion: "3",
                scriptLocation: pulumi.interpolate`s3://${args.glueAssets.name}/${script.key}`,
            },
            defaultArguments: glueJobArguments(
                args.glueAssets.name,
                jobPackage.key,
                args.temporaryPrefix,
                args.contract,
                args.glueArguments,
            ),
            workerType: capacity.workerType,
            numberOfWorkers: capacity.numberOfWorkers,
            ...(capacity.flex !== undefined ? { executionClass: capacity.flex ? "FLEX" : "STANDARD" } : {}),
            timeout: capacity.timeoutMinutes,
            maxRetries: capacity.maxRetries,
            executionProperty: { maxConcurrentRuns: capacity.maxConcurrentRuns },
            ...(capacity.queueRuns ? { jobRunQueuingEnabled: true } : {}),
            ...(capacity.notifyDelayAfterMinutes !== undefined
                ? { notificationProperty: { notifyDelayAfter: capacity.notifyDelayAfterMinutes } }
                : {}),
            securityConfiguration: args.securityConfigurationName,
        },
        // Merged, not spread: a caller's own dependsOn is kept beside the job's files and permissions.
        pulumi.mergeOptions(opts, { dependsOn: [policy, script, jobPackage, configuration] }),
    );
}
