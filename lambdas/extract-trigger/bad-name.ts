import { createHash } from "crypto";
import { CopyObjectCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand, type S3Client } from "@aws-sdk/client-s3";
import type { LandedObject } from "../shared/events";
import type { LogEntry } from "../shared/runtime";
import {
    badArchiveNameMetric,
    badArchiveNamePrefix,
    badArchiveNameReason,
    reasonFileName,
    type BadArchiveNameReason,
    type BadArchiveNameSeries,
    type ExpectedArchiveName,
} from "./contract";

/**
 * Keeps an object that landed under the prefix with a name the trigger refuses the way the job
 * keeps an archive it rejects: a copy in the quarantine bucket, `reason.json` beside it, and the
 * landed version tagged `ingest-status=quarantined`, `ingest-reason=bad-archive-name`.
 */

export interface BadNameQuarantine {
    readonly s3: S3Client;
    readonly quarantineBucket: string;
    readonly pipeline: string;
    readonly expected: ExpectedArchiveName;
}

/**
 * Quarantines one object version and returns the `s3://` folder it is kept in. The folder is named
 * by a digest of the version's bucket, key and version id: two objects never share one (not even
 * two versions of one key, or two keys with the same file name in different subfolders), and a
 * redelivered event writes the same objects again. The tag comes last, so it never announces a
 * quarantine that is incomplete; any failure is thrown for the caller to retry the message.
 */
export async function quarantineBadlyNamedArchive(quarantine: BadNameQuarantine, landed: LandedObject, detail: string): Promise<string> {
    const { s3, quarantineBucket } = quarantine;
    const version = landed.versionId === "null" ? {} : { VersionId: landed.versionId };
    const head = await s3.send(new HeadObjectCommand({ Bucket: landed.bucket, Key: landed.key, ...version }));
    const folder = `${badArchiveNamePrefix(quarantine.pipeline)}${objectDigest(landed)}/`;
    await s3.send(
        new CopyObjectCommand({
            Bucket: quarantineBucket,
            Key: `${folder}${copyName(landed.key)}`,
            CopySource: copySource(landed),
            // After the first delivery the landed version carries the quarantine tags; copying none
            // keeps the copy the same on every delivery, and the role needs no tag-reading permission.
            TaggingDirective: "REPLACE",
        }),
    );
    const reason: BadArchiveNameReason = {
        reason: badArchiveNameReason,
        detail,
        archive: `s3://${landed.bucket}/${landed.key}?versionId=${landed.versionId}`,
        bucket: landed.bucket,
        key: landed.key,
        versionId: landed.versionId,
        // S3 answers every HEAD with Last-Modified, the time this version was written.
        landedAt: head.LastModified!.toISOString(),
        expected: quarantine.expected,
    };
    await s3.send(
        new PutObjectCommand({
            Bucket: quarantineBucket,
            Key: `${folder}${reasonFileName}`,
            Body: `${JSON.stringify(reason, null, 2)}\n`,
            ContentType: "application/json",
        }),
    );
    await s3.send(
        new PutObjectTaggingCommand({
            Bucket: landed.bucket,
            Key: landed.key,
            ...version,
            Tagging: {
                TagSet: [
                    { Key: "ingest-status", Value: "quarantined" },
                    { Key: "ingest-reason", Value: badArchiveNameReason },
                ],
            },
        }),
    );
    return `s3://${quarantineBucket}/${folder}`;
}

/**
 * The log line of one quarantined archive, in CloudWatch Embedded Metric Format: CloudWatch Logs
 * counts it in the bad-archive-name metric of the stack's pipeline, which the pipeline's alarm
 * watches, and it stays a searchable log entry naming the object and where it is kept.
 */
export function badArchiveNameEntry(
    series: BadArchiveNameSeries,
    landed: LandedObject,
    detail: string,
    keptIn: string,
    timestamp: Date,
): LogEntry {
    const { dimensions } = badArchiveNameMetric;
    return {
        level: "error",
        message: `archive quarantined for its name: ${detail}`,
        _aws: {
            Timestamp: timestamp.getTime(),
            CloudWatchMetrics: [
                {
                    Namespace: badArchiveNameMetric.namespace,
                    Dimensions: [[dimensions.stack, dimensions.pipeline]],
                    Metrics: [{ Name: badArchiveNameMetric.name, Unit: "Count" }],
                },
            ],
        },
        [dimensions.stack]: series.stack,
        [dimensions.pipeline]: series.pipeline,
        [badArchiveNameMetric.name]: 1,
        ...landed,
        keptIn,
    };
}

/** 32 hex digits (128 bits) of SHA-256: collisions are out of reach and the keys stay short. */
function objectDigest(landed: LandedObject): string {
    return createHash("sha256").update(`${landed.bucket}\n${landed.key}\n${landed.versionId}`).digest("hex").slice(0, 32);
}

/** The copy keeps the landed file name, except a file named like the reason file, which would overwrite it. */
function copyName(key: string): string {
    const fileName = key.slice(key.lastIndexOf("/") + 1);
    return fileName === reasonFileName ? `landed-${fileName}` : fileName;
}

/** CopySource is a URL path: each key segment encoded, the slashes kept. */
function copySource(landed: LandedObject): string {
    const path = `${landed.bucket}/${landed.key.split("/").map(encodeURIComponent).join("/")}`;
    return landed.versionId === "null" ? path : `${path}?versionId=${encodeURIComponent(landed.versionId)}`;
}
