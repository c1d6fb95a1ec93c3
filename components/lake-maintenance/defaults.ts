import { defaultWorkerType } from "../glue-job/defaults";

/** Every day at 03:30 UTC, when extracts rarely land (a fixed time, so runs are easy to find and to compare). */
export const maintenanceSchedule = "cron(30 3 * * ? *)";

/**
 * The maintenance job's capacity: Flex G.1X workers (maintenance is not urgent, and may start late),
 * auto scaling up to `maxWorkers`, one run at a time (a second run would race the first for the
 * same rows), one retry.
 */
export const maintenanceJob = {
    workerType: defaultWorkerType,
    flex: true,
    timeoutMinutes: 120,
    maxRetries: 1,
    maxConcurrentRuns: 1,
} as const;

/** Upper bound for the maintenance job's auto scaling unless the stack gives one. */
export const defaultMaintenanceWorkers = 10;

/** The job's script, package and plan, and its Glue temporary files, under the pipeline's own prefixes. */
export function maintenancePrefixes(pipeline: string): {
    readonly jobAssets: string;
    readonly temporary: string;
    readonly reports: string;
} {
    return {
        jobAssets: `jobs/${pipeline}/maintenance/`,
        temporary: `${pipeline}/maintenance`,
        // In the lake bucket, beside the extract job's run reports (<pipeline>/_reports/).
        reports: `${pipeline}/_maintenance/`,
    };
}
