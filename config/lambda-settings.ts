import { z } from "zod";
import {
    defaultLambdaSettings,
    functionRoles,
    queueConcurrency,
    queueConsumers,
    tracingModes,
    type FunctionRole,
} from "../components/bundled-function/lambda-settings";

/**
 * A reservation for one function role. A queue consumer's reservation is also its queue mapping's
 * maximum concurrency, so it stays within the bounds Lambda sets on that; any other function needs
 * at least one execution, or it could never run.
 */
function reservation(role: FunctionRole) {
    if (queueConsumers.includes(role)) {
        const bounds =
            `it is also the maximum concurrency of the ${role} queue mapping, which Lambda takes ` +
            `from ${queueConcurrency.minimum} to ${queueConcurrency.maximum}`;
        return z
            .int()
            .min(queueConcurrency.minimum, { error: `must be at least ${queueConcurrency.minimum}: ${bounds}` })
            .max(queueConcurrency.maximum, { error: `must be at most ${queueConcurrency.maximum}: ${bounds}` })
            .optional();
    }
    return z.int().min(1, { error: "must be at least 1: a function with no reserved concurrency never runs" }).optional();
}

/**
 * `ingestion:lambda`: X-Ray tracing of every function, and per function role the concurrent
 * executions reserved instead of the size taken from its trigger (see
 * components/bundled-function/lambda-settings.ts).
 */
export const lambdaSettingsSchema = z
    .strictObject({
        tracing: z
            .enum(tracingModes, { error: `must be ${tracingModes.join(" or ")} (Lambda's X-Ray tracing modes)` })
            .default(defaultLambdaSettings.tracing),
        reservedConcurrency: z
            .strictObject(
                Object.fromEntries(functionRoles.map((role) => [role, reservation(role)])) as Record<
                    FunctionRole,
                    ReturnType<typeof reservation>
                >,
            )
            .default({}),
    })
    .prefault({});
