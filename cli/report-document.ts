import { z } from "zod";

/**
 * What reading any job's JSON report has in common. Reports stay in their bucket for months and the
 * jobs change, so every field is optional and a field of the wrong type reads as missing: a report
 * is shown with what it has, never refused for what it lacks.
 */

/** A field that reads as missing when it is absent or of another type. */
export function lenient<T extends z.ZodType>(schema: T) {
    return schema.optional().catch(undefined);
}

export const count = lenient(z.number().int().nonnegative());
export const text = lenient(z.string());
/** How a failed run's report says why: `{ reason, detail }`, or null. */
export const failure = lenient(z.object({ reason: z.string(), detail: text }).nullable());

/** A report read, or why the document is not one. */
export type ParsedReport<Report> = { readonly report: Report } | { readonly problem: string };

/**
 * Reads a report document: anything but a JSON object is not one, nor is the report of a job other
 * than `job` (`what` names it: "a lookup load"). A report that does not name its job is taken.
 */
export function parseReport<Report extends { readonly job?: string | undefined }>(
    document: unknown,
    schema: z.ZodType<Report>,
    job: string,
    what: string,
): ParsedReport<Report> {
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
        return { problem: "not a JSON object" };
    }
    const report = schema.parse(document);
    if (report.job !== undefined && report.job !== job) {
        return { problem: `the report of job "${report.job}", not of ${what}` };
    }
    return { report };
}

/** A report's `status` and `failure`, as every job writes them. */
export interface Outcome {
    readonly status?: string | undefined;
    readonly failure?: { readonly reason: string; readonly detail?: string | undefined } | null | undefined;
}

/** The report says the run failed. */
export function reportFailed(report: Outcome): boolean {
    return report.status === "failed";
}

/** "missing-part: exports/... is not in the folder", or what a failed report without a reason gets; undefined when it did not fail. */
export function describeFailure(report: Outcome): string | undefined {
    if (report.failure) {
        return report.failure.detail ? `${report.failure.reason}: ${report.failure.detail}` : report.failure.reason;
    }
    return reportFailed(report) ? "the report gives none" : undefined;
}
