import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransport, objectsUnder, policyDocument, type PolicyStatement } from "../policies";
import { blockAllPublicAccess, defaultNoncurrentVersionDays, lifecycleRules, type ExpirationRule } from "./defaults";

/**
 * What a component needs of a bucket it is handed: its name and ARN. A SecureBucket is one; so is
 * `{ name: bucket.bucket, arn: bucket.arn }` of any other bucket.
 */
export interface BucketRef {
    readonly name: pulumi.Input<string>;
    readonly arn: pulumi.Input<string>;
}

export interface SecureBucketArgs {
    /**
     * KMS key for default encryption (SSE-KMS, with S3 Bucket Keys to cut KMS requests).
     * Omit only for a bucket that AWS services must write to without KMS, such as the target of
     * S3 server access logs, which supports SSE-S3 only; such a bucket gets SSE-S3.
     */
    readonly kmsKeyArn?: pulumi.Input<string>;
    /** Keep object versions, for buckets where data lands. Defaults to true. */
    readonly versioned?: boolean;
    /** Days to keep noncurrent versions. Defaults to 30. */
    readonly noncurrentVersionDays?: number;
    /** Expiration rules; the bucket also aborts incomplete uploads after 7 days. */
    readonly expirations?: readonly ExpirationRule[];
    /** Server access logging target. Omit only for the access-log bucket itself. */
    readonly accessLogs?: { readonly bucket: pulumi.Input<string>; readonly prefix: string };
    /** Extra bucket policy statements, beside the TLS-only statement every bucket has. */
    readonly policyStatements?: readonly PolicyStatement[];
    /** Account whose buckets deliver S3 server access logs here; makes this a log target bucket. */
    readonly receivesAccessLogsFrom?: pulumi.Input<string>;
    /** Send object events to EventBridge. Defaults to false. */
    readonly eventBridge?: boolean;
    /** SQS queues told of objects created under a prefix, such as a Snowpipe's notification channel. */
    readonly queueNotifications?: readonly { readonly queueArn: pulumi.Input<string>; readonly filterPrefix: string }[];
    /** Let `pulumi destroy` delete a bucket that still holds objects. Defaults to false: data is retained. */
    readonly forceDestroy?: boolean;
}

/**
 * An S3 bucket with the platform's defaults: encrypted, public access blocked, owner-enforced
 * object ownership, TLS-only policy, lifecycle housekeeping, access logging and versioning.
 */
export class SecureBucket extends pulumi.ComponentResource {
    readonly bucket: aws.s3.Bucket;
    readonly name: pulumi.Output<string>;
    readonly arn: pulumi.Output<string>;

    constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:storage:SecureBucket", name, {}, opts);
        const versioned = args.versioned ?? true;

        this.bucket = new aws.s3.Bucket(name, { forceDestroy: args.forceDestroy ?? false }, { parent: this });
        this.name = this.bucket.bucket;
        this.arn = this.bucket.arn;

        new aws.s3.BucketOwnershipControls(
            `${name}-ownership`,
            { bucket: this.bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
            { parent: this },
        );
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            { bucket: this.bucket.id, ...blockAllPublicAccess },
            { parent: this },
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket: this.bucket.id,
                rules: [
                    args.kmsKeyArn
                        ? {
                              applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn },
                              bucketKeyEnabled: true,
                          }
                        : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
                ],
            },
            { parent: this },
        );
        if (versioned) {
            new aws.s3.BucketVersioning(
                `${name}-versioning`,
                { bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" } },
                { parent: this },
            );
        }
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket: this.bucket.id,
                rules: lifecycleRules(args.expirations ?? [], versioned, args.noncurrentVersionDays ?? defaultNoncurrentVersionDays),
            },
            { parent: this },
        );
        if (args.accessLogs) {
            new aws.s3.BucketLogging(
                `${name}-logging`,
                { bucket: this.bucket.id, targetBucket: args.accessLogs.bucket, targetPrefix: args.accessLogs.prefix },
                { parent: this },
            );
        }
        new aws.s3.BucketPolicy(
            `${name}-policy`,
            {
                bucket: this.bucket.id,
                policy: policyDocument([
                    denyInsecureTransport(this.bucket.arn),
                    ...(args.receivesAccessLogsFrom ? [accessLogDelivery(this.bucket.arn, args.receivesAccessLogsFrom)] : []),
                    ...(args.policyStatements ?? []),
                ]),
            },
            // A policy written before the public access block could be rejected as public.
            { parent: this, dependsOn: [publicAccess] },
        );
        const queueNotifications = args.queueNotifications ?? [];
        if (args.eventBridge || queueNotifications.length > 0) {
            new aws.s3.BucketNotification(
                `${name}-notifications`,
                {
                    bucket: this.bucket.id,
                    ...(args.eventBridge ? { eventbridge: true } : {}),
                    ...(queueNotifications.length > 0
                        ? {
                              queues: queueNotifications.map((notification) => ({
                                  queueArn: notification.queueArn,
                                  events: ["s3:ObjectCreated:*"],
                                  filterPrefix: notification.filterPrefix,
                              })),
                          }
                        : {}),
                },
                { parent: this },
            );
        }

        this.registerOutputs({ name: this.name, arn: this.arn });
    }
}

function accessLogDelivery(bucketArn: pulumi.Input<string>, sourceAccount: pulumi.Input<string>): PolicyStatement {
    return {
        Sid: "S3ServerAccessLogDelivery",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: ["s3:PutObject"],
        Resource: objectsUnder(bucketArn),
        Condition: { StringEquals: { "aws:SourceAccount": sourceAccount } },
    };
}
