/** Days a message waits in a dead-letter queue: SQS's maximum, time for a person to look. */
export const deadLetterRetentionSeconds = 14 * 24 * 3600;

/** Seconds a receive waits for a message (long polling, SQS's maximum): fewer empty receives. */
export const receiveWaitTimeSeconds = 20;

/**
 * The visibility timeout of a queue a function consumes: six times the function's timeout, as
 * Lambda advises, so a message is not handed out again while a retried batch may still be running.
 */
export function visibilityTimeoutFor(functionTimeoutSeconds: number): number {
    return 6 * functionTimeoutSeconds;
}
