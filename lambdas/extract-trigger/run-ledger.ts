import { randomUUID } from "crypto";
import {
    ConditionalCheckFailedException,
    DeleteItemCommand,
    GetItemCommand,
    PutItemCommand,
    UpdateItemCommand,
    type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import type { LandedObject } from "../shared/events";
import type { ExtractIdentity } from "./extract-name";

/**
 * Claims in the pipeline's run ledger make the trigger idempotent per object version. A claim is a
 * conditional PutItem keyed by bucket, key and version: S3 and SQS deliver at least once, so the
 * same object version can arrive twice, possibly in two concurrent invocations, and only the one
 * whose conditional write wins starts a run. The ledger is a table the pipeline already owns (the
 * job commits extracts in it), so this needs no extra dependency; a claim stays STARTING under a
 * lease while the run is being started and becomes STARTED with the run id, or is deleted again
 * when starting failed, so the redelivered message can claim it afresh.
 */

export type ClaimResult =
    | { readonly outcome: "claimed"; readonly claim: Claim }
    | { readonly outcome: "already-started"; readonly jobRunId: string }
    | { readonly outcome: "being-started"; readonly leaseExpiresAt: number };

export interface Claim {
    readonly archive: string;
    readonly token: string;
}

/** Claims are kept long enough to absorb any redelivery, then expire through the table's TTL. */
export const claimRetentionSeconds = 90 * 24 * 3600;

export class RunLedger {
    constructor(
        private readonly dynamodb: DynamoDBClient,
        private readonly table: string,
        private readonly leaseSeconds: number,
    ) {}

    async claim(landed: LandedObject, extract: ExtractIdentity, now: Date): Promise<ClaimResult> {
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
                        extractId: { S: extract.extractId },
                        claimedAt: { S: now.toISOString() },
                        leaseExpiresAt: { N: String(nowSeconds + this.leaseSeconds) },
                        expiresAt: { N: String(nowSeconds + claimRetentionSeconds) },
                    },
                    ConditionExpression: "attribute_not_exists(#archive) OR (#status = :starting AND leaseExpiresAt < :now)",
                    ExpressionAttributeNames: { "#archive": "archive", "#status": "status" },
                    ExpressionAttributeValues: { ":starting": { S: "STARTING" }, ":now": { N: String(nowSeconds) } },
                }),
            );
            return { outcome: "claimed", claim: { archive, token } };
        } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) {
                throw error;
            }
        }
        const existing = await this.dynamodb.send(
            new GetItemCommand({ TableName: this.table, Key: { archive: { S: archive } }, ConsistentRead: true }),
        );
        const item = existing.Item;
        if (item?.status?.S === "STARTED") {
            return { outcome: "already-started", jobRunId: item.jobRunId?.S ?? "unknown" };
        }
        // Released or expired between our write and our read: the next delivery claims it.
        return { outcome: "being-started", leaseExpiresAt: Number(item?.leaseExpiresAt?.N ?? nowSeconds) };
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
