import type { ArchiveNaming } from "../../contracts/archive-naming";

/**
 * What the extract trigger shares with the code that deploys it and with the operator's command
 * line: the environment it reads, the metric it emits, and where and how it keeps an archive it
 * quarantined for its name. Deploy-time code imports this module of the trigger and no other, so
 * it holds names and shapes only, nothing that needs the AWS SDK or the Lambda runtime.
 */

/** The variables the trigger reads; the ExtractPipeline component sets every one. */
export const triggerVariables = [
    "JOB_NAME",
    "RUN_LEDGER_TABLE",
    "LANDING_BUCKET",
    "LANDING_PREFIX",
    "ARCHIVE_NAMING",
    "PIPELINE",
    "QUARANTINE_BUCKET",
    "STACK",
] as const;

export type TriggerVariable = (typeof triggerVariables)[number];

/** The reason in reason.json and the `ingest-reason` tag of an archive quarantined for its name. */
export const badArchiveNameReason = "bad-archive-name";

/**
 * One count per archive quarantined for its name, by stack and pipeline; the pipeline's alarm
 * watches it. The stack is a dimension, as in the jobs' metrics, because two stacks in one account
 * and region may deploy the same pipeline, and each stack's alarm must count its own archives only.
 * `dimensions` names each dimension, in the order the trigger publishes them.
 */
export const badArchiveNameMetric = {
    namespace: "Ingestion/ExtractTrigger",
    name: "BadArchiveNames",
    dimensions: { stack: "Stack", pipeline: "Pipeline" },
} as const;

/** Which series of the bad-archive-name metric: the stack and the pipeline. */
export type BadArchiveNameSeries = Readonly<Record<keyof typeof badArchiveNameMetric.dimensions, string>>;

/**
 * The quarantine bucket's folder of archives quarantined for their name, one folder per object
 * version inside it. It sits beside the job's `<pipeline>/archives/<extract id>/` folders and cannot
 * be mistaken for one: extract ids start with a digit.
 */
export function badArchiveNamePrefix(pipeline: string): string {
    return `${pipeline}/archives/${badArchiveNameReason}/`;
}

/** The file beside a quarantined archive saying why it is there, as the job also names it. */
export const reasonFileName = "reason.json";

/**
 * reason.json of an archive quarantined for its name. `reason`, `detail` and `archive` are the
 * fields the job writes for the archives it rejects; the rest says which object it was, when it
 * landed and what its name should have been.
 */
export interface BadArchiveNameReason {
    readonly reason: typeof badArchiveNameReason;
    /** Why the name was refused. */
    readonly detail: string;
    /** `s3://<bucket>/<key>?versionId=<version>`, as the job writes it. */
    readonly archive: string;
    readonly bucket: string;
    readonly key: string;
    /** "null" for an object written while versioning was off, as S3 names it. */
    readonly versionId: string;
    /** When the object version was written to the landing bucket, ISO 8601 in UTC. */
    readonly landedAt: string;
    readonly expected: ExpectedArchiveName;
}

/** An archive name the trigger accepts: a file directly under the prefix, matching the naming. */
export interface ExpectedArchiveName {
    readonly landingPrefix: string;
    readonly archiveNaming: ArchiveNaming;
    readonly maximumSequence: number;
}
