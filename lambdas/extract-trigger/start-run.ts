import type { ExtractRunArgument } from "../../contracts/glue-jobs";
import { startClaimedRun, type RunStarter, type StartOutcome } from "../shared/claimed-run";
import type { LandedObject } from "../shared/events";
import type { ExtractIdentity } from "./extract-name";

/**
 * Starts the extract job for one archive version under a claim in the run ledger
 * (`lambdas/shared/claimed-run.ts`). The trigger calls this for each landed archive; the
 * operator's replay calls it too, naming the finished run it replaces, so a replay obeys the same
 * claim.
 */

export type { RunStarter, StartOutcome };

/**
 * `replacing` names a finished run of this version that may be superseded; without it, any run
 * already started for the version stands.
 */
export async function startExtractRun(
    starter: RunStarter,
    landed: LandedObject,
    extract: ExtractIdentity,
    replacing?: string,
): Promise<StartOutcome> {
    const runArguments: Record<ExtractRunArgument, string> = {
        archive_bucket: landed.bucket,
        archive_key: landed.key,
        archive_version_id: landed.versionId,
        extract_id: extract.extractId,
        extract_version: String(extract.extractVersion),
        archive_landed_at: landed.landedAt,
    };
    return startClaimedRun(
        starter,
        landed,
        { runArguments, recorded: { extractId: extract.extractId }, startedMessage: "started extract run" },
        replacing,
    );
}
