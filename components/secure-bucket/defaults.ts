import type * as aws from "@pulumi/aws";

/** Every public-access setting on (Checkov CKV_AWS_53, 54, 55, 56). */
export const blockAllPublicAccess = {
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
} as const;

/** Incomplete multipart uploads cost money and hold no data anyone can read. */
export const abortIncompleteUploadsAfterDays = 7;

/** Old object versions are kept long enough to undo a bad overwrite, then removed. */
export const defaultNoncurrentVersionDays = 30;

export interface ExpirationRule {
    /** Rule id, unique within the bucket. */
    readonly id: string;
    /** Key prefix the rule applies to. Defaults to the whole bucket. */
    readonly prefix?: string;
    /** Days after creation when current objects expire. */
    readonly expireAfterDays: number;
}

/** Lifecycle rules: the caller's expirations plus the housekeeping every bucket gets. */
export function lifecycleRules(
    expirations: readonly ExpirationRule[],
    versioned: boolean,
    noncurrentVersionDays: number,
): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
    const housekeeping: aws.types.input.s3.BucketLifecycleConfigurationRule = {
        id: "housekeeping",
        status: "Enabled",
        filter: {},
        abortIncompleteMultipartUpload: { daysAfterInitiation: abortIncompleteUploadsAfterDays },
        ...(versioned ? { noncurrentVersionExpiration: { noncurrentDays: noncurrentVersionDays } } : {}),
    };
    return [
        housekeeping,
        ...expirations.map((rule) => ({
            id: rule.id,
            status: "Enabled",
            filter: rule.prefix ? { prefix: rule.prefix } : {},
            expiration: { days: rule.expireAfterDays },
        })),
    ];
}
