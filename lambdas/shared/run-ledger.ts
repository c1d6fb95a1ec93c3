import { randomUUID } from "crypto";
import {
    ConditionalCheckFailedException,
    DeleteItemCommand,
    GetItemCommand,
    PutItemCommand,
    UpdateItemCommand,
    type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import type { LandedObject } from "./events";

/**
 * Claims in a run ledger make a starter idempotent per object version: the extract trigger's
 * archives (in the pipeline's run ledger, where the job also commits extracts) and the warehouse
 * export's delivered objects (in the export's own ledger). A claim is a conditional PutItem keyed
 * by bucket, key and version: S3 and SQS deliver at least once, so the same object version can
 * arrive twice, possibly in two concurrent invocations, and only the one whose conditional write
 * wins starts a run. A claim stays STARTING under a
 * lease while the run is being started and becomes STARTED with the run id, or is deleted again
 * when starting failed, so the redelivered message can claim it afresh. A replay claims a version
 * anew only by naming the finished run it replaces, so two replays at once still start one run.
 */

export type ClaimResult =
    | { readonly outcome: "claimed"; readonly claim: Claim }
    | { readonly outcome: "already-started"; readonly jobRunId: string }
    | { readonly outcome: "being-started"; readonly leaseExpiresAt: number };

export interface Claim {
    readonly archive: string;
    readonly token: string;
}

/** What the ledger holds for one archive version. */
export type ArchiveRecord =
    | { readonly status: "STARTING"; readonly leaseExpiresAt: number }
    | { readonly status: "STARTED"; readonly jobRunId: string; readonly startedAt: string };

/** Claims are kept long enough to absorb any redelivery, then expire through the table's TTL. */
export const claimRetentionSeconds = 90 * 24 * 3600;

/** Longer than the trigger function's timeout, so a live claimant never loses its claim. */
export const claimLeaseSeconds = 120;

export class RunLedger {
    constructor(
        private readonly dynamodb: DynamoDBClient,
        private readonly table: string,
        private readonly leaseSeconds = claimLeaseSeconds,
    ) {}

    /**
     * Claims the version for a new run, recording `attributes` (string attributes, such as the
     * extract id) on the claim; `replacing` lets the claim supersede that finished run's record.
     */
    async claim(landed: LandedObject, attributes: Readonly<Record<string, string>>, now: Date, replacing?: string): Promise<ClaimResult> {
        const archive = archiveRecordKey(landed);
        const token = randomUUID();
        const nowSeconds = Math.floor(now.getTime() / 1000);
        try {
            await this.dynamodb.send(
                new PutItemCommand({
                    TableName: this.table,
                    Item: {
                        archive: { S: archive },
                        status: { S: "STARTING" },
                        claimToken: { S: token },
                        ...Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, { S: value }])),
                        claimedAt: { S: now.toISOString() },
                        leaseExpiresAt: { N: String(nowSeconds + this.leaseSeconds) },
                        expiresAt: { N: String(nowSeconds + claimRetentionSeconds) },
                    },
                    ConditionExpression:
                        "attribute_not_exists(#archive) OR (#status = :starting AND leaseExpiresAt < :now)" +
                        (replacing ? " OR (#status = :started AND jobRunId = :replaced)" : ""),
                    ExpressionAttributeNames: { "#archive": "archive", "#status": "status" },
                    ExpressionAttributeValues: {
                        ":starting": { S: "STARTING" },
                        ":now": { N: String(nowSeconds) },
                        ...(replacing ? { ":started": { S: "STARTED" }, ":replaced": { S: replacing } } : {}),
                    },
                }),
            );
            return { outcome: "claimed", claim: { archive, token } };
        } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) {
                throw error;
            }
        }
        const existing = await this.read(landed);
        if (existing?.status === "STARTED") {
            return { outcome: "already-started", jobRunId: existing.jobRunId };
        }
        // Released or expired between our write and our read: the next delivery claims it.
        return { outcome: "being-started", leaseExpiresAt: existing?.leaseExpiresAt ?? nowSeconds };
    }

    /** The version's record, read strongly consistent; undefined when no run was ever claimed. */
    async read(landed: LandedObject): Promise<ArchiveRecord | undefined> {
        const existing = await this.dynamodb.send(
            new GetItemCommand({ TableName: this.table, Key: { archive: { S: archiveRecordKey(landed) } }, ConsistentRead: true }),
        );
        const item = existing.Item;
        if (!item) {
            return undefined;
        }
        return item.status?.S === "STARTED"
            ? { status: "STARTED", jobRunId: item.jobRunId?.S ?? "unknown", startedAt: item.startedAt?.S ?? "" }
            : { status: "STARTING", leaseExpiresAt: Number(item.leaseExpiresAt?.N ?? 0) };
    }

    /** Records the started run. Returns false when the claim was lost, which the caller logs. */
    async markStarted(claim: Claim, jobRunId: string, now: Date): Promise<boolean> {
        try {
            await this.dynamodb.send(
                new UpdateItemCommand({
                    TableName: this.table,
                    Key: { archive: { S: claim.archive } },
                    UpdateExpression: "SET #status = :started, jobRunId = :run, startedAt = :at REMOVE leaseExpiresAt",
                    ConditionExpression: "claimToken = :token",
                    ExpressionAttributeNames: { "#status": "status" },
                    ExpressionAttributeValues: {
                        ":started": { S: "STARTED" },
                        ":run": { S: jobRunId },
                        ":at": { S: now.toISOString() },
                        ":token": { S: claim.token },
                    },
                }),
            );
            return true;
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                return false;
            }
            throw error;
        }
    }

    /** Gives the claim up so a redelivery can start the run; a claim taken over meanwhile stays. */
    async release(claim: Claim): Promise<void> {
        try {
            await this.dynamodb.send(
                new DeleteItemCommand({
                    TableName: this.table,
                    Key: { archive: { S: claim.archive } },
                    ConditionExpression: "claimToken = :token AND #status = :starting",
                    ExpressionAttributeNames: { "#status": "status" },
                    ExpressionAttributeValues: { ":token": { S: claim.token }, ":starting": { S: "STARTING" } },
                }),
            );
        } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) {
                throw error;
            }
        }
    }
}

/** Ledger key of one object version; distinct from the job's `lake-commit` records. */
export function archiveRecordKey(landed: LandedObject): string {
    return `archive#s3://${landed.bucket}/${landed.key}#${landed.versionId}`;
}
