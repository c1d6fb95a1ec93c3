import { z } from "zod";
import { relativeTo, type Detail } from "./job-runs";
import { count, describeFailure, failure, lenient, parseReport, text, type ParsedReport } from "./report-document";

/**
 * The report a run of a stream's warehouse export writes (`glue-scripts/ingest/stream_export.py`,
 * ExportReport), as `ingest runs --export` reads it, leniently (report-document.ts): a run started
 * for one object, or a report of an older or newer job, shows what it has and "-" for the rest.
 */

/**
 * Where the runs' reports are: `<quarantine_prefix>reports/<run id>.json` in the quarantine bucket
 * (stream_export.report_key; export_job_arguments.json, quarantine_prefix).
 */
export function exportReportsPrefix(quarantinePrefix: string): string {
    return `${quarantinePrefix}reports/`;
}

/** The report of the run `runId`, named after Glue's run id. */
export function exportReportKey(quarantinePrefix: string, runId: string): string {
    return `${exportReportsPrefix(quarantinePrefix)}${runId}.json`;
}

const objectSchema = z.object({
    lines: count,
    exported: count,
    quarantined: count,
    files: lenient(z.array(z.string())),
    quarantine: lenient(z.string().nullable()),
});

const reportSchema = z.object({
    job: text,
    stream: lenient(z.string().nullable()),
    runId: text,
    status: text,
    startedAt: text,
    finishedAt: lenient(z.string().nullable()),
    objectsPending: count,
    objectsExported: count,
    /** By delivered key: what each converted object became. */
    objects: lenient(z.record(z.string(), lenient(objectSchema))),
    /** By delivered key: why the object was left pending. */
    failedObjects: lenient(z.record(z.string(), z.string())),
    totals: lenient(z.object({ lines: count, exported: count, quarantined: count, files: count })),
    failure,
});

export type ExportRunReport = z.infer<typeof reportSchema>;

/** Reads a report document; anything but a JSON object, or another job's report, is not one. */
export function parseExportReport(document: unknown): ParsedReport<ExportRunReport> {
    return parseReport(document, reportSchema, "stream-export", "a warehouse export");
}

/** The delivered keys the run converted, in key order, as the report lists them. */
export function convertedObjects(report: ExportRunReport): string[] {
    return Object.keys(report.objects ?? {}).sort();
}

/** "2", "2 (1 failed)": the objects converted and those left pending for an error; undefined when the report does not say. */
export function describeObjects(report: ExportRunReport): string | undefined {
    const converted = report.objectsExported ?? (report.objects ? Object.keys(report.objects).length : undefined);
    const failed = Object.keys(report.failedObjects ?? {}).length;
    if (converted === undefined) {
        return failed > 0 ? `? (${failed} failed)` : undefined;
    }
    return failed > 0 ? `${converted} (${failed} failed)` : String(converted);
}

/** "2026/11/26/09/clicks-1.gz", "2026/11/26/09/clicks-1.gz +2 more", "-": the objects converted, under the delivery prefix. */
export function describeConverted(report: ExportRunReport | undefined, deliveryPrefix: string): string {
    const converted = report ? convertedObjects(report) : [];
    if (converted.length === 0) {
        return "-";
    }
    const first = relativeTo(deliveryPrefix, converted[0]!);
    return converted.length === 1 ? first : `${first} +${converted.length - 1} more`;
}

/**
 * What came of a run, as labelled lines: its failure, how many pending objects it converted, each
 * object converted (records written and rejected, where the rejected are kept), each left pending
 * and why, and the records in all.
 */
export function exportOutcome(report: ExportRunReport, deliveryPrefix: string): Detail[] {
    const details: Detail[] = [];
    const reason = describeFailure(report);
    if (reason) {
        details.push(["reason", reason]);
    }
    if (report.objectsExported !== undefined || report.objectsPending !== undefined) {
        details.push(["objects", `${report.objectsExported ?? "?"} of ${report.objectsPending ?? "?"} pending converted`]);
    }
    for (const key of convertedObjects(report)) {
        const object = report.objects![key];
        details.push(["object", `${relativeTo(deliveryPrefix, key)}${object ? `: ${describeObject(object)}` : ""}`]);
    }
    for (const [key, error] of Object.entries(report.failedObjects ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
        details.push(["pending", `${relativeTo(deliveryPrefix, key)}: ${error}`]);
    }
    const totals = report.totals;
    if (totals) {
        const facts = [
            totals.lines !== undefined ? `${totals.lines} read` : undefined,
            totals.exported !== undefined ? `${totals.exported} written` : undefined,
            totals.quarantined !== undefined ? `${totals.quarantined} rejected` : undefined,
            totals.files !== undefined ? `${totals.files} Parquet file${totals.files === 1 ? "" : "s"}` : undefined,
        ].filter((fact) => fact !== undefined);
        if (facts.length > 0) {
            details.push(["records", facts.join(", ")]);
        }
    }
    return details;
}

/** "8 written, 2 rejected (s3://.../rejected/...jsonl)" */
function describeObject(object: z.infer<typeof objectSchema>): string {
    const written = `${object.exported ?? "?"} written, ${object.quarantined ?? "?"} rejected`;
    return object.quarantine ? `${written} (${object.quarantine})` : written;
}
