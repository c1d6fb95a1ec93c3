import { BatchGetItemCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { isTransient, type Backoff } from "../shared/backoff";
import { canonicalNumber, type KeyType } from "./records";

/**
 * Which keys the lookup table holds, read with BatchGetItem: at most 100 keys per request, only
 * the key and TTL attributes, eventually consistent (half the read cost; a key added a moment ago
 * may be missed, which the filter accepts). BatchGetItem answers in part when it is throttled or
 * the response would be too large, listing the rest as UnprocessedKeys; those are asked for again
 * with backoff, as is a whole request refused for throttling. Whatever is still unanswered after
 * the last attempt is an error: the caller must not take "not returned" for "not in the table".
 */

export interface LookupTable {
    readonly name: string;
    readonly keyAttribute: string;
    readonly keyType: KeyType;
    /** Holds the epoch second an item expires at, when the table has TTL on. */
    readonly ttlAttribute?: string;
}

export interface LookupResult {
    /** The keys found, each with its item's TTL (epoch seconds) if it has a numeric one. */
    readonly found: ReadonlyMap<string, number | undefined>;
    /** BatchGetItem requests sent, retries included. */
    readonly requests: number;
    readonly retries: number;
}

export const maximumKeysPerRequest = 100;

export class LookupError extends Error {
    override readonly name = "LookupError";
}

export async function lookUpKeys(
    dynamodb: DynamoDBClient,
    table: LookupTable,
    keys: readonly string[],
    backoff: Backoff,
): Promise<LookupResult> {
    const found = new Map<string, number | undefined>();
    let requests = 0;
    let retries = 0;
    const names: Record<string, string> = { "#key": table.keyAttribute };
    if (table.ttlAttribute !== undefined) {
        names["#ttl"] = table.ttlAttribute;
    }
    const projection = Object.keys(names).join(", ");

    for (let start = 0; start < keys.length; start += maximumKeysPerRequest) {
        let pending: Record<string, AttributeValue>[] = keys
            .slice(start, start + maximumKeysPerRequest)
            .map((key) => ({ [table.keyAttribute]: table.keyType === "S" ? { S: key } : { N: key } }));
        for (let attempt = 1; pending.length > 0; attempt++) {
            if (attempt > 1) {
                retries++;
                await backoff.wait(attempt - 1);
            }
            requests++;
            let response;
            try {
                response = await dynamodb.send(
                    new BatchGetItemCommand({
                        RequestItems: {
                            [table.name]: {
                                Keys: pending,
                                ProjectionExpression: projection,
                                ExpressionAttributeNames: names,
                                ConsistentRead: false,
                            },
                        },
                    }),
                );
            } catch (error) {
                if (!isTransient(error) || attempt >= backoff.maxAttempts) {
                    throw error;
                }
                continue;
            }
            for (const item of response.Responses?.[table.name] ?? []) {
                const key = keyOf(item, table);
                if (key !== undefined) {
                    found.set(key, ttlOf(item, table));
                }
            }
            pending = response.UnprocessedKeys?.[table.name]?.Keys ?? [];
            if (pending.length > 0 && attempt >= backoff.maxAttempts) {
                throw new LookupError(
                    `BatchGetItem on ${table.name} left ${pending.length} keys unprocessed after ${backoff.maxAttempts} attempts`,
                );
            }
        }
    }
    return { found, requests, retries };
}

function keyOf(item: Record<string, AttributeValue>, table: LookupTable): string | undefined {
    const value = item[table.keyAttribute];
    if (table.keyType === "S") {
        return value?.S;
    }
    return value?.N === undefined ? undefined : canonicalNumber(value.N);
}

/** DynamoDB's TTL ignores an attribute that is not a number, so such an item never expires. */
function ttlOf(item: Record<string, AttributeValue>, table: LookupTable): number | undefined {
    const text = table.ttlAttribute === undefined ? undefined : item[table.ttlAttribute]?.N;
    const seconds = text === undefined ? NaN : Number(text);
    return Number.isFinite(seconds) ? seconds : undefined;
}
