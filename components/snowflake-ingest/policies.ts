import * as pulumi from "@pulumi/pulumi";
import { objectsUnder, type PolicyStatement } from "../policies";
import type { BucketRef } from "../secure-bucket";

/**
 * Trust for a role a Snowflake integration assumes: exactly the IAM user Snowflake created for the
 * integration, with the external id Snowflake generated for it. Both come from the integration's
 * own outputs (`storageAwsIamUserArn` / `storageAwsExternalId` of a storage integration,
 * `awsSnsIamUserArn` / `awsSnsExternalId` of a notification integration), so one deployment
 * declares the integration and then the trust, with no value copied by hand.
 */
export function snowflakeIntegrationTrust(
    sid: string,
    iamUserArn: pulumi.Input<string>,
    externalId: pulumi.Input<string>,
): pulumi.Output<string> {
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: sid,
                Effect: "Allow",
                Principal: { AWS: iamUserArn },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "sts:ExternalId": externalId } },
            },
        ],
    });
}

export interface ErrorPublishingScope {
    readonly topicArn: pulumi.Input<string>;
    /** The key the topic is encrypted with. */
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly region: pulumi.Input<string>;
}

/**
 * What Snowflake's error notification integration needs to publish to the stack's encrypted topic:
 * Publish on that topic only, and the key only through SNS in the topic's region (SNS asks KMS for
 * a data key on the publisher's behalf: GenerateDataKey and Decrypt, as the SNS developer guide
 * lists for publishers to an encrypted topic).
 */
export function errorPublishingStatements(scope: ErrorPublishingScope): PolicyStatement[] {
    return [
        { Sid: "PublishSnowpipeErrors", Effect: "Allow", Action: ["sns:Publish"], Resource: scope.topicArn },
        {
            Sid: "EncryptSnowpipeErrors",
            Effect: "Allow",
            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
            Resource: scope.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`sns.${scope.region}.amazonaws.com` } },
        },
    ];
}

export interface SnowflakeReadScope {
    /** The destination bucket, encrypted (SSE-KMS with an S3 Bucket Key) with `kmsKeyArn`. */
    readonly destination: BucketRef;
    /** The prefix Snowflake loads from. */
    readonly prefix: string;
    readonly kmsKeyArn: pulumi.Input<string>;
    /** The bucket's region: Snowflake decrypts only through S3 there. */
    readonly region: pulumi.Input<string>;
}

/**
 * What Snowflake's storage integration needs to load the destination prefix, as Snowflake documents
 * it for reading only (no PutObject or DeleteObject: Snowpipe loads, it does not unload or purge).
 */
export function snowflakeReadStatements(scope: SnowflakeReadScope): PolicyStatement[] {
    const { destination, prefix } = scope;
    return [
        {
            Sid: "ListExportedParquet",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: destination.arn,
            Condition: { StringLike: { "s3:prefix": [`${prefix}*`] } },
        },
        {
            Sid: "LocateDestinationBucket",
            Effect: "Allow",
            Action: ["s3:GetBucketLocation"],
            Resource: destination.arn,
        },
        {
            Sid: "ReadExportedParquet",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:GetObjectVersion"],
            Resource: objectsUnder(destination.arn, prefix),
        },
        {
            // The project key encrypts every bucket of the platform: Snowflake may use it only when S3
            // decrypts an object of the destination bucket for it. The destination bucket encrypts
            // with an S3 Bucket Key (SecureBucket sets bucketKeyEnabled), so S3 asks KMS with the
            // bucket's ARN as encryption context, not the object's (S3 user guide, "Configuring your
            // bucket to use an S3 Bucket Key"). Snowflake only reads, so Decrypt is all it needs.
            Sid: "DecryptExportedParquet",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: scope.kmsKeyArn,
            Condition: {
                StringEquals: {
                    "kms:ViaService": pulumi.interpolate`s3.${scope.region}.amazonaws.com`,
                    "kms:EncryptionContext:aws:s3:arn": destination.arn,
                },
            },
        },
    ];
}
