import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ExtractPipelineMetrics } from "../extract-pipeline";
import { latencyThresholds } from "../extract-pipeline/defaults";
import type { LookupTableMetrics } from "../lookup-table";
import type { StreamLakeMetrics } from "../stream-lake";
import type { MetricId } from "../metrics";

/** A batch pipeline on the dashboard: its promise and the metrics its alarms watch. */
export interface PipelinePanel {
    readonly pipeline: string;
    /** Minutes from landing to items written the stack promises (`ingestion:latencyPromiseMinutes`). */
    readonly latencyPromiseMinutes: number;
    readonly metrics: ExtractPipelineMetrics;
}

/** A stream on the dashboard: records coming in, how late they reach the lake, and failed crawls. */
export interface StreamPanel {
    readonly stream: string;
    /** The freshness its alarm allows, in seconds (`freshnessThresholdSeconds`). */
    readonly freshnessThresholdSeconds: number;
    readonly metrics: StreamLakeMetrics;
}

/** A lookup on the dashboard: the counts of each load, and failed loads. */
export interface LookupPanel {
    readonly lookup: string;
    readonly metrics: LookupTableMetrics;
}

export interface StackDashboardArgs {
    readonly pipelines: readonly PipelinePanel[];
    readonly streams: readonly StreamPanel[];
    readonly lookups: readonly LookupPanel[];
}

/** The panels with every metric's dimensions resolved, as `dashboardBody` takes them. */
export type DashboardPanels = pulumi.Unwrap<StackDashboardArgs>;

/**
 * The stack's CloudWatch dashboard, `<name>`: the picture of the hour. Its widgets draw the metrics
 * the components' alarms watch, handed over by the components themselves, with the alarms'
 * thresholds as lines.
 */
export class StackDashboard extends pulumi.ComponentResource {
    readonly dashboard: aws.cloudwatch.Dashboard;
    readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: StackDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:monitoring:StackDashboard", name, {}, opts);
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const body = pulumi
            .all([region, pulumi.output(args)])
            .apply(([resolvedRegion, panels]) => JSON.stringify(dashboardBody(resolvedRegion, panels)));
        this.dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, { dashboardName: name, dashboardBody: body }, { parent: this });
        this.dashboardName = this.dashboard.dashboardName;
        this.registerOutputs({ dashboardName: this.dashboardName });
    }
}

type ResolvedMetric = pulumi.Unwrap<MetricId>;

/** One line of a metric widget: the metric as CloudWatch names it, then how to draw it. */
type MetricLine = [...string[], { readonly label: string; readonly stat: string }];

interface Widget {
    readonly type: "metric" | "text";
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    readonly properties: Record<string, unknown>;
}

export interface DashboardBody {
    readonly start: string;
    readonly periodOverride: "inherit";
    readonly widgets: readonly Widget[];
}

/** A section's heading, one grid unit high across the dashboard. */
const headingHeight = 1;
const chartHeight = 6;
const gridWidth = 24;

/**
 * The dashboard's body: per pipeline, the latency of each extract against the promise, runs by
 * outcome, rows, items, the archive waiting longest, the dead letters, late runs and badly named
 * objects (every metric the pipeline's alarms watch); per stream, incoming
 * records, freshness and failed crawls; per lookup, the counts of each load and failed loads. It shows a day, so
 * that each of the day's extracts stands against the hour.
 */
export function dashboardBody(region: string, panels: DashboardPanels): DashboardBody {
    const widgets: Widget[] = [];
    let y = 0;
    const section = (heading: string, charts: readonly Record<string, unknown>[]) => {
        widgets.push({ type: "text", x: 0, y, width: gridWidth, height: headingHeight, properties: { markdown: heading } });
        y += headingHeight;
        const width = gridWidth / Math.min(charts.length, 3);
        charts.forEach((properties, index) => {
            const column = index % 3;
            widgets.push({ type: "metric", x: column * width, y, width, height: chartHeight, properties: { region, ...properties } });
            if (column === 2 || index === charts.length - 1) {
                y += chartHeight;
            }
        });
    };
    for (const { pipeline, latencyPromiseMinutes, metrics } of panels.pipelines) {
        const { itemsWrittenSeconds, waitSeconds } = latencyThresholds(latencyPromiseMinutes);
        const waitLine = { label: `wait alarm (${waitSeconds / 60} min)`, value: waitSeconds };
        section(`## Extract pipeline ${pipeline}: items written within ${latencyPromiseMinutes} minutes of landing`, [
            chart(
                `${pipeline}: seconds from landing, per extract`,
                300,
                [
                    line(metrics.landingToItemsWritten, "to items written", "Maximum"),
                    line(metrics.landingToRunStart, "to run start", "Maximum"),
                ],
                { lines: [{ label: `promise (${latencyPromiseMinutes} min)`, value: itemsWrittenSeconds }, waitLine] },
            ),
            chart(
                `${pipeline}: runs by outcome`,
                3600,
                [line(metrics.succeededRuns, "succeeded", "Sum"), line(metrics.failedRuns, "failed, timed out or stopped", "Sum")],
                { stacked: true },
            ),
            chart(`${pipeline}: rows`, 3600, [
                line(metrics.rowsAccepted, "accepted", "Sum"),
                line(metrics.rowsQuarantined, "quarantined", "Sum"),
            ]),
            chart(`${pipeline}: items written`, 3600, [line(metrics.itemsWritten, "items written", "Sum")]),
            chart(
                `${pipeline}: oldest archive in the trigger queue (seconds)`,
                300,
                [line(metrics.oldestArchive, "oldest archive", "Maximum")],
                {
                    lines: [waitLine],
                },
            ),
            chart(`${pipeline}: dead-letter queue`, 300, [line(metrics.deadLetters, "messages", "Maximum")], {
                lines: [{ label: "alarm", value: 1 }],
            }),
            chart(
                `${pipeline}: runs still going ${latencyPromiseMinutes} minutes after they started`,
                300,
                [line(metrics.lateRuns, "late runs", "Sum")],
                { lines: [{ label: "alarm", value: 1 }] },
            ),
            chart(
                `${pipeline}: objects quarantined for a name that is not an archive name`,
                300,
                [line(metrics.badArchiveNames, "objects", "Sum")],
                { lines: [{ label: "alarm", value: 1 }] },
            ),
        ]);
    }
    for (const { stream, freshnessThresholdSeconds, metrics } of panels.streams) {
        section(`## Stream ${stream}`, [
            chart(`${stream}: incoming records`, 300, [line(metrics.incomingRecords, "records", "Sum")]),
            chart(
                `${stream}: data freshness (seconds)`,
                300,
                [line(metrics.dataFreshness, "oldest record not yet in the lake", "Maximum")],
                {
                    lines: [{ label: "alarm", value: freshnessThresholdSeconds }],
                },
            ),
            // Only a stream whose partitions a crawler keeps has crawls.
            ...(metrics.failedCrawls
                ? [
                      chart(`${stream}: crawls that started and failed`, 3600, [line(metrics.failedCrawls, "failed crawls", "Sum")], {
                          lines: [{ label: "alarm", value: 1 }],
                      }),
                  ]
                : []),
        ]);
    }
    for (const { lookup, metrics } of panels.lookups) {
        section(`## Lookup ${lookup}`, [
            chart(`${lookup}: counts of each load`, 300, [
                line(metrics.linesRead, "lines read", "Sum"),
                line(metrics.itemsLoaded, "items loaded", "Sum"),
                line(metrics.linesRejected, "lines rejected", "Sum"),
                line(metrics.itemsDeleted, "items deleted", "Sum"),
            ]),
            chart(`${lookup}: failed loads`, 3600, [line(metrics.failedLoads, "failed, timed out or stopped", "Sum")]),
        ]);
    }
    return { start: "-P1D", periodOverride: "inherit", widgets };
}

function line(metric: ResolvedMetric, label: string, stat: string): MetricLine {
    const dimensions = Object.entries(metric.dimensions).flat();
    return [metric.namespace, metric.metricName, ...dimensions, { label, stat }];
}

/** A horizontal line across a chart: an alarm's threshold. */
interface HorizontalLine {
    readonly label: string;
    readonly value: number;
}

/** A time series chart of the metrics, from zero, stacked or with horizontal lines. */
function chart(
    title: string,
    period: number,
    metrics: readonly MetricLine[],
    options: { readonly stacked?: boolean; readonly lines?: readonly HorizontalLine[] } = {},
): Record<string, unknown> {
    return {
        title,
        view: "timeSeries",
        stacked: options.stacked ?? false,
        period,
        metrics,
        yAxis: { left: { min: 0 } },
        ...(options.lines ? { annotations: { horizontal: options.lines } } : {}),
    };
}
