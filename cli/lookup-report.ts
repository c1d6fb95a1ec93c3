import { z } from "zod";
import { relativeTo, type Detail } from "./job-runs";
import { formatBytes } from "./query";
import { count, describeFailure, failure, lenient, parseReport, text, type ParsedReport } from "./report-document";

/**
 * The report a lookup load writes (`glue-scripts/lookup_load_job.py`), as `ingest runs --lookup` and
 * `npm run local -- --lookup` read it, leniently (report-document.ts).
 */

/** Key of a load's report: `<report prefix><lookup>/<run id>/report.json` (lookup_job_arguments.json, report_prefix). */
export function lookupReportKey(reportPrefix: string, lookup: string, runId: string): string {
    return `${reportPrefix}${lookup}/${runId}/report.json`;
}

const exportSchema = z.object({
    folder: text,
    marker: text,
    listing: text,
    digest: text,
    parts: lenient(z.array(z.object({ key: z.string(), bytes: lenient(z.number()), gzip: lenient(z.boolean()) }))),
    unlisted: lenient(z.array(z.string())),
});

const reportSchema = z.object({
    job: text,
    lookup: text,
    runId: text,
    status: text,
    table: text,
    /** null: the run failed before it found its export. */
    export: lenient(exportSchema.nullable()),
    loadGeneration: text,
    lines: count,
    loaded: count,
    rejected: count,
    rejectedByReason: lenient(z.record(z.string(), z.number())),
    duplicates: count,
    deleted: count,
    deletion: lenient(z.looseObject({ status: text, reason: text, detail: text })),
    ranges: lenient(
        z.object({ total: count, skipped: count, loaded: count, failed: count, failures: lenient(z.record(z.string(), z.string())) }),
    ),
    requests: count,
    retries: count,
    unprocessedRetried: count,
    seconds: lenient(z.number().nonnegative()),
    rejectedLocation: lenient(z.string().nullable()),
    startedAt: text,
    finishedAt: lenient(z.string().nullable()),
    failure,
});

export type LookupLoadReport = z.infer<typeof reportSchema>;

/** Reads a report.json document; anything but a JSON object, or another job's report, is not one. */
export function parseLoadReport(document: unknown): ParsedReport<LookupLoadReport> {
    return parseReport(document, reportSchema, "lookup-load", "a lookup load");
}

/** "2 (invalid-json 2)", "3 (invalid-json 2, missing-key 1)", "0": rejected lines by reason, compactly; "-" when the report has no count. */
export function describeRejected(report: LookupLoadReport): string {
    return report.rejected === undefined ? "-" : `${report.rejected}${rejectedReasons(report)}`;
}

/** " (invalid-json 2, missing-key 1)", or "" when the report gives no reasons. */
function rejectedReasons(report: LookupLoadReport): string {
    const reasons = Object.entries(report.rejectedByReason ?? {})
        .filter(([, lines]) => lines > 0)
        .map(([reason, lines]) => `${reason} ${lines}`);
    return reasons.length > 0 ? ` (${reasons.join(", ")})` : "";
}

/** The export folder under the exports prefix, as the operator names it with `--export`. */
export function exportFolder(report: LookupLoadReport, exportsPrefix: string): string | undefined {
    const folder = report.export?.folder;
    return folder === undefined ? undefined : relativeTo(exportsPrefix, folder);
}

/**
 * Which export a load loaded: its folder under the exports prefix, parts, bytes and marker; or the
 * export it was asked for (`requested`, its --export), when it found none or the report does not say.
 */
export function exportDetail(report: LookupLoadReport | undefined, exportsPrefix: string, requested: string): Detail {
    const folder = report && exportFolder(report, exportsPrefix);
    if (report?.export === null) {
        return ["export", `none found for --export ${requested}`];
    }
    return ["export", folder === undefined ? requested : describeExport(report!, folder)];
}

/**
 * What came of a load, as labelled lines: its failure, counts, failed ranges, deletion and where its
 * rejected lines are. `ingest runs --lookup --failed` and `npm run local -- --lookup` both print them.
 */
export function outcomeDetails(report: LookupLoadReport): Detail[] {
    const details: Detail[] = [];
    const reason = describeFailure(report);
    if (reason) {
        details.push(["reason", reason]);
    }
    const counts = describeCounts(report);
    if (counts) {
        details.push(["lines", counts]);
    }
    const ranges = report.ranges;
    if (ranges?.failed) {
        const failures = Object.entries(ranges.failures ?? {}).map(([range, error]) => `range ${range}: ${error}`);
        details.push([
            "ranges",
            `${ranges.failed} of ${ranges.total ?? "?"} not loaded${failures.length > 0 ? `; ${failures.join("; ")}` : ""}`,
        ]);
    }
    const deletion = report.deletion;
    if (deletion?.status !== undefined && deletion.status !== "not requested") {
        const why = deletion.reason ?? deletion.detail;
        details.push(["deletion", why ? `${deletion.status}: ${why}` : deletion.status]);
    }
    if (report.rejectedLocation) {
        details.push(["rejected", report.rejectedLocation]);
    }
    return details;
}

/** "2026-11-26/: 3 parts, 1.20 MB (2 gzip), marker _SUCCESS, 1 object not loaded" */
function describeExport(report: LookupLoadReport, folder: string): string {
    const found = report.export!;
    const facts: string[] = [];
    if (found.parts) {
        const bytes = found.parts.reduce((total, part) => total + (part.bytes ?? 0), 0);
        const gzip = found.parts.filter((part) => part.gzip).length;
        const plural = found.parts.length === 1 ? "part" : "parts";
        facts.push(`${found.parts.length} ${plural}, ${formatBytes(bytes)}${gzip > 0 ? ` (${gzip} gzip)` : ""}`);
    }
    if (found.marker !== undefined) {
        facts.push(`marker ${relativeTo(found.folder ?? "", found.marker)}`);
    }
    if (found.unlisted && found.unlisted.length > 0) {
        facts.push(`${found.unlisted.length} other object${found.unlisted.length === 1 ? "" : "s"} not loaded`);
    }
    return facts.length > 0 ? `${folder}: ${facts.join(", ")}` : folder;
}

/** "10 read, 8 loaded, 2 rejected (invalid-json 2), 0 duplicates, 1 deleted"; undefined when the report has no counts. */
function describeCounts(report: LookupLoadReport): string | undefined {
    const parts: string[] = [];
    if (report.lines !== undefined) parts.push(`${report.lines} read`);
    if (report.loaded !== undefined) parts.push(`${report.loaded} loaded`);
    if (report.rejected !== undefined) parts.push(`${report.rejected} rejected${rejectedReasons(report)}`);
    if (report.duplicates !== undefined) parts.push(`${report.duplicates} duplicate${report.duplicates === 1 ? "" : "s"}`);
    if (report.deleted !== undefined) parts.push(`${report.deleted} deleted`);
    return parts.length > 0 ? parts.join(", ") : undefined;
}
