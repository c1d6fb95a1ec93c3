import { z } from "zod";
import { defaultLogRetentionDays } from "../components/defaults/log-groups";
import { defaultGlueJob, defaultLatencyPromiseMinutes, onDemandWarmWriteUnitsPerSecond } from "../components/extract-pipeline/defaults";
import { defaultWorkerType, flexWorkerTypes, glueWorkerTypes } from "../components/glue-job/defaults";
import { lambdaSettingsSchema } from "./lambda-settings";
import { configNamespace, StackFile } from "./stack-file";
import { ConfigError } from "./yaml-source";

export { configNamespace } from "./stack-file";

/** What a new on-demand table takes at once: the default write budget needs no pre-warming. */
export const defaultItemsWriteUnitsPerSecond = onDemandWarmWriteUnitsPerSecond;
/** DynamoDB's default per-table write quota; AWS raises it on request. */
const maxItemsWriteUnitsPerSecond = 40_000;

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy's retentionInDays), in days. */
export const cloudWatchLogRetentionDays = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The settings whose values the latency check combines. */
const latencyInputs = ["glue", "glue.timeoutMinutes", "glue.maxRetries", "latencyPromiseMinutes"];

export const stackSettingsSchema = z
    .strictObject({
        /** Names of the mappings in config/mappings/ this stack deploys. */
        mappings: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/, { error: "must be a mapping file name without .yaml" })).min(1),
        /** Names of the stream definitions in config/streams/ this stack deploys. */
        streams: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/, { error: "must be a stream file name without .yaml" })).default([]),
        /** Names of the lookup definitions in config/lookups/ this stack deploys. */
        lookups: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/, { error: "must be a lookup file name without .yaml" })).default([]),
        glue: z
            .strictObject({
                workerType: z.enum(glueWorkerTypes).default(defaultWorkerType),
                maxWorkers: z.int().min(2).max(299).default(defaultGlueJob.maxWorkers),
                flex: z.boolean().default(defaultGlueJob.flex),
                // A run and its retries must fit in latencyPromiseMinutes (checked below): 40 minutes, no retry.
                timeoutMinutes: z.int().min(1).max(2880).default(defaultGlueJob.timeoutMinutes),
                maxRetries: z.int().min(0).max(10).default(defaultGlueJob.maxRetries),
                maxConcurrentRuns: z.int().min(1).max(100).default(defaultGlueJob.maxConcurrentRuns),
            })
            .prefault({}),
        notificationEmail: z.email({ error: "must be an e-mail address" }).optional(),
        /**
         * Days landed archives, quarantine, the lake's history and snapshots, and stream data are kept;
         * at least every deployed mapping's ttl.retentionDays (checked by `checkStack` in config/load.ts).
         */
        retentionDays: z.int().min(1).max(3650).default(400),
        /**
         * Minutes from an archive landing to its items written that the stack promises (the seed's
         * hour, less a margin): the latency alarm, Glue's delay notification and the dashboard use it,
         * and a job timeout with its retries must fit in it.
         */
        latencyPromiseMinutes: z.int().min(1).max(2880).default(defaultLatencyPromiseMinutes),
        /** Alarm when no run succeeded within this many hours. */
        freshnessHours: z.int().min(1).max(168, { error: "must be at most 168 hours (CloudWatch evaluates at most 7 days)" }).default(24),
        /** Let `pulumi destroy` delete buckets and workgroups that still hold data. */
        allowDataDeletion: z.boolean().default(false),
        /** Refuse to delete DynamoDB tables (turn on in production). */
        deletionProtection: z.boolean().default(true),
        /**
         * Write units per second a run may spend on its pipeline's items table, shared by all its
         * writer tasks. The table's on-demand maximum is set to it, and its warm throughput raised to it
         * when that is above what a new table takes; DynamoDB never lowers a warm throughput again, so
         * once raised, this setting can be lowered only to the default or below.
         */
        itemsWriteUnitsPerSecond: z
            .int()
            .min(1)
            .max(maxItemsWriteUnitsPerSecond, {
                error:
                    `must be at most ${maxItemsWriteUnitsPerSecond}, DynamoDB's default write quota per table ` +
                    "(the table is pre-warmed to this value, and a warm throughput can never be lowered)",
            })
            .default(defaultItemsWriteUnitsPerSecond),
        /**
         * X-Ray tracing of every function (Active or PassThrough) and the concurrent executions reserved
         * per function role instead of the size taken from its trigger (config/lambda-settings.ts).
         */
        lambda: lambdaSettingsSchema,
        /** Bytes one Athena query may scan. */
        athenaBytesScannedCutoff: z
            .int()
            .min(10 * 1024 ** 2)
            .default(10 * 1024 ** 3),
        /** Days Lambda and Glue logs are kept: one of CloudWatch Logs' retention periods. */
        logRetentionDays: z
            .literal(cloudWatchLogRetentionDays, {
                error: (issue) =>
                    `must be one of CloudWatch Logs' retention periods (${cloudWatchLogRetentionDays.join(", ")} days), not ${JSON.stringify(issue.input)}`,
            })
            .default(defaultLogRetentionDays),
    })
    .superRefine((settings, context) => {
        if (settings.glue.flex && !flexWorkerTypes.includes(settings.glue.workerType)) {
            context.addIssue({
                code: "custom",
                path: ["glue", "flex"],
                message: `Flex runs only on ${flexWorkerTypes.join(" and ")} workers, not ${settings.glue.workerType}`,
            });
        }
        if (settings.allowDataDeletion && settings.deletionProtection) {
            context.addIssue({ code: "custom", path: ["allowDataDeletion"], message: "contradicts deletionProtection: true; choose one" });
        }
        // A name listed twice would declare every resource of its pipeline, stream or lookup twice.
        for (const list of ["mappings", "streams", "lookups"] as const) {
            settings[list].forEach((name, index) => {
                const first = settings[list].indexOf(name);
                if (first !== index) {
                    context.addIssue({
                        code: "custom",
                        path: [list, index],
                        message: `"${name}" is already listed at ${configNamespace}:${list}[${first}]; list each once`,
                    });
                }
            });
        }
    })
    .superRefine(
        (settings, context) => {
            // Each attempt may run until the timeout, so an extract whose runs time out loads its items at
            // the earliest after all of them: a retry that starts past the promise cannot keep it.
            const { timeoutMinutes, maxRetries } = settings.glue;
            const longest = timeoutMinutes * (maxRetries + 1);
            if (longest > settings.latencyPromiseMinutes) {
                const runs = maxRetries === 0 ? "run once" : `run up to ${maxRetries + 1} times (glue.maxRetries ${maxRetries})`;
                context.addIssue({
                    code: "custom",
                    path: ["glue", "timeoutMinutes"],
                    message:
                        `${timeoutMinutes} minutes per run, ${runs}, lets one extract take up to ${longest} minutes to load, ` +
                        `more than ${configNamespace}:latencyPromiseMinutes ${settings.latencyPromiseMinutes}; lower glue.timeoutMinutes ` +
                        `to at most ${Math.floor(settings.latencyPromiseMinutes / (maxRetries + 1))}${maxRetries > 0 ? " or glue.maxRetries" : ""}, ` +
                        `or raise ${configNamespace}:latencyPromiseMinutes to at least ${longest}`,
                });
            }
        },
        // Only with a valid timeout, retry count and promise: a message about invalid ones would mislead.
        { when: (payload) => !payload.issues.some((issue) => latencyInputs.includes((issue.path ?? []).join("."))) },
    );

export type StackSettings = z.output<typeof stackSettingsSchema>;

/**
 * Validates the stack's `ingestion:*` settings. `raw` maps each key to its parsed value, as
 * Pulumi config holds them; errors name the stack file and the key, at its line and column when
 * the stack file holds it.
 */
export function parseStackSettings(
    stack: string,
    raw: Record<string, unknown>,
    file: StackFile = StackFile.unlocated(stack),
): StackSettings {
    const parsed = stackSettingsSchema.safeParse(raw, { reportInput: true });
    if (parsed.success) {
        return parsed.data;
    }
    throw new ConfigError(
        parsed.error.issues.flatMap((issue) => {
            const keys = issue.code === "unrecognized_keys" ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
            const message =
                issue.code === "unrecognized_keys"
                    ? "unknown setting"
                    : issue.code === "invalid_type" && issue.input === undefined
                      ? "required setting is missing"
                      : issue.message;
            return keys.map((path) => file.message(path, message));
        }),
    );
}
