import { isRetryable } from "./put-records";

/**
 * Retrying AWS calls that fail transiently, with full-jitter exponential backoff: the wait before
 * the nth retry is drawn uniformly from 0 to min(cap, base * 2^(n-1)), so clients throttled
 * together do not retry together. Clients passed to code that retries this way should be built
 * with `maxAttempts: 1`, or the attempts multiply.
 */

export interface RetryOptions {
    /** Attempts, the first included. Defaults to 5. */
    readonly maxAttempts?: number;
    /** The ceiling of the first retry's wait, doubling with each retry. Defaults to 100. */
    readonly baseDelayMs?: number;
    /** Source of the jitter, 0 to 1. Defaults to Math.random. */
    readonly random?: () => number;
}

export const defaultMaxAttempts = 5;
export const defaultBaseDelayMs = 100;
const maximumDelayMs = 10_000;

/** Retries with full jitter; `wait(retry)` sleeps before retry number `retry` (1 for the first). */
export class Backoff {
    readonly maxAttempts: number;
    private readonly baseDelayMs: number;
    private readonly random: () => number;

    constructor(
        options: RetryOptions,
        private readonly sleep: (milliseconds: number) => Promise<void>,
    ) {
        this.maxAttempts = options.maxAttempts ?? defaultMaxAttempts;
        this.baseDelayMs = options.baseDelayMs ?? defaultBaseDelayMs;
        this.random = options.random ?? Math.random;
        if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
            throw new Error(`maxAttempts must be a whole number of at least 1, not ${this.maxAttempts}`);
        }
    }

    delay(retry: number): number {
        return Math.round(this.random() * Math.min(maximumDelayMs, this.baseDelayMs * 2 ** (retry - 1)));
    }

    wait(retry: number): Promise<void> {
        return this.sleep(this.delay(retry));
    }
}

/** DynamoDB's throttling error that the Kinesis retry list (`isRetryable`) does not name. */
const moreThrottlingErrors = new Set(["RequestLimitExceeded", "TooManyRequestsException"]);

/**
 * Whether a whole request failed for a reason that clears up by itself: throttling, a 5xx or a
 * dropped connection. Anything else (no such table, access denied, a validation error) will fail
 * the same way again.
 */
export function isTransient(error: unknown): boolean {
    return isRetryable(error) || (error instanceof Error && moreThrottlingErrors.has(error.name));
}
