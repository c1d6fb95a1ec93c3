/**
 * Glue's job run states as the deploy side (the failed-run alarms' EventBridge rules) and the
 * operator's command line (runs, replay) both read them.
 */

/** Glue job states that end a run unsuccessfully. */
export const failedRunStates = ["FAILED", "TIMEOUT", "STOPPED", "ERROR"] as const;

/** Glue job states of a run that has not ended (WAITING: in Glue's queue). */
export const activeRunStates = ["STARTING", "RUNNING", "STOPPING", "WAITING"] as const;
