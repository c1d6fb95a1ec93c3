import lakeLedgerContract from "../glue-scripts/ingest/contracts/lake_ledger.json";
import {
    ConditionalCheckFailedException,
    DeleteItemCommand,
    GetItemCommand,
    PutItemCommand,
    UpdateItemCommand,
    paginateScan,
    type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";

/**
 * The lake's records in a pipeline's run ledger, named once in the contract the jobs read too
 * (`glue-scripts/ingest/contracts/lake_ledger.json`): the lease a run holds while it changes the
 * lake, the change set a dead run left half applied, one commit per extract, and the counter that
 * orders the commits (never deleted: its sequence orders items, and an item only takes a newer one).
 */
export const lakeLedgerKeys = {
    lease: lakeLedgerContract.lease,
    pending: lakeLedgerContract.pending,
    commitPrefix: lakeLedgerContract.commitPrefix,
    counter: lakeLedgerContract.counter,
} as const;

/** Who holds the lake lease (a run holds it under its extract id) and until when. */
export interface LeaseHolder {
    readonly owner: string;
    readonly expiresAt: Date;
}

export class LakeLedger {
    constructor(
        private readonly dynamodb: DynamoDBClient,
        readonly table: string,
    ) {}

    /** The lease's holder while the lease is held and not expired at `now`; undefined when anyone may take it. */
    async leaseHolder(now: Date): Promise<LeaseHolder | undefined> {
        const found = await this.dynamodb.send(
            new GetItemCommand({ TableName: this.table, Key: { archive: { S: lakeLedgerKeys.lease } }, ConsistentRead: true }),
        );
        const holder = found.Item && {
            owner: found.Item.owner?.S ?? "an unknown owner",
            expiresAt: new Date(Number(found.Item.expiresAt?.N ?? "0") * 1000),
        };
        return holder && holder.expiresAt.getTime() >= now.getTime() ? holder : undefined;
    }

    /**
     * Takes the lease for `owner` until `expiresAt`, on the job's terms: only when nobody holds it,
     * its holder's time is up, or `owner` holds it already. Returns the holder it lost to, if any.
     */
    async takeLease(owner: string, now: Date, expiresAt: Date): Promise<LeaseHolder | undefined> {
        try {
            await this.dynamodb.send(
                new PutItemCommand({
                    TableName: this.table,
                    Item: {
                        archive: { S: lakeLedgerKeys.lease },
                        owner: { S: owner },
                        expiresAt: { N: String(epochSeconds(expiresAt)) },
                    },
                    ConditionExpression: "attribute_not_exists(#archive) OR expiresAt < :now OR #owner = :owner",
                    ExpressionAttributeNames: { "#archive": "archive", "#owner": "owner" },
                    ExpressionAttributeValues: { ":now": { N: String(epochSeconds(now)) }, ":owner": { S: owner } },
                }),
            );
            return undefined;
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                return (await this.leaseHolder(now)) ?? { owner: "another run", expiresAt: now };
            }
            throw error;
        }
    }

    /** Extends the lease `owner` holds; false when it no longer holds it. */
    async renewLease(owner: string, expiresAt: Date): Promise<boolean> {
        try {
            await this.dynamodb.send(
                new UpdateItemCommand({
                    TableName: this.table,
                    Key: { archive: { S: lakeLedgerKeys.lease } },
                    UpdateExpression: "SET expiresAt = :expires",
                    ConditionExpression: "#owner = :owner",
                    ExpressionAttributeNames: { "#owner": "owner" },
                    ExpressionAttributeValues: { ":expires": { N: String(epochSeconds(expiresAt)) }, ":owner": { S: owner } },
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

    /** Gives the lease back, unless it has passed to another holder meanwhile. */
    async releaseLease(owner: string): Promise<void> {
        try {
            await this.dynamodb.send(
                new DeleteItemCommand({
                    TableName: this.table,
                    Key: { archive: { S: lakeLedgerKeys.lease } },
                    ConditionExpression: "#owner = :owner",
                    ExpressionAttributeNames: { "#owner": "owner" },
                    ExpressionAttributeValues: { ":owner": { S: owner } },
                }),
            );
        } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) {
                throw error;
            }
        }
    }

    /** Keys of the records that say what the lake holds: every extract's commit and the pending change set, sorted. */
    async lakeStateKeys(): Promise<string[]> {
        const keys: string[] = [];
        const pages = paginateScan(
            { client: this.dynamodb },
            {
                TableName: this.table,
                ConsistentRead: true,
                ProjectionExpression: "#archive",
                FilterExpression: "begins_with(#archive, :commit) OR #archive = :pending",
                ExpressionAttributeNames: { "#archive": "archive" },
                ExpressionAttributeValues: { ":commit": { S: lakeLedgerKeys.commitPrefix }, ":pending": { S: lakeLedgerKeys.pending } },
            },
        );
        for await (const page of pages) {
            keys.push(...(page.Items ?? []).map((item) => item.archive!.S!));
        }
        return keys.sort();
    }

    async delete(key: string): Promise<void> {
        await this.dynamodb.send(new DeleteItemCommand({ TableName: this.table, Key: { archive: { S: key } } }));
    }
}

function epochSeconds(time: Date): number {
    return Math.floor(time.getTime() / 1000);
}
