import type * as pulumi from "@pulumi/pulumi";
import { bundleHandler } from "../config/assets";

export { extractJobScript, jobPackage, lakeMaintenanceJobScript, lookupLoadJobScript, streamExportJobScript } from "../config/assets";

/** The platform's Lambda handlers, by their folder of `lambdas/`. */
export const handlers = [
    "crawler-starter",
    "event-filter",
    "export-starter",
    "extract-trigger",
    "file-to-stream",
    "run-notifier",
    "stream-producer",
] as const;
export type Handler = (typeof handlers)[number];

/**
 * One handler's deployment archive, as a component's code argument takes it: `StreamLake`'s
 * `producerCode` is `handlerCode("stream-producer")`. Bundled with esbuild when called.
 */
export function handlerCode(handler: Handler): pulumi.asset.AssetArchive {
    return bundleHandler(`lambdas/${handler}/handler.ts`);
}
