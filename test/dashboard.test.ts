import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { dashboardBody, StackDashboard, type DashboardBody, type DashboardPanels } from "../components/dashboard";
import type { ExtractPipelineMetrics } from "../components/extract-pipeline";
import type { DeclaredResource } from "../cli/preview/program";
import { declareProgram } from "./support/program";
import { settle, useMocks, valueOf } from "./support/pulumi-mocks";

/** The metrics of a pipeline `crm` of the stack `dev` as ExtractPipeline hands them over, written out. */
const crmMetrics: pulumi.Unwrap<ExtractPipelineMetrics> = {
    landingToItemsWritten: { namespace: "Ingestion", metricName: "LandingToItemsWritten", dimensions: { Stack: "dev", Pipeline: "crm" } },
    landingToRunStart: { namespace: "Ingestion", metricName: "LandingToRunStart", dimensions: { Stack: "dev", Pipeline: "crm" } },
    succeededRuns: { namespace: "AWS/Events", metricName: "MatchedEvents", dimensions: { RuleName: "crm-run-succeeded" } },
    failedRuns: { namespace: "AWS/Events", metricName: "MatchedEvents", dimensions: { RuleName: "crm-run-failed" } },
    lateRuns: { namespace: "AWS/Events", metricName: "MatchedEvents", dimensions: { RuleName: "crm-run-delayed" } },
    rowsAccepted: { namespace: "Ingestion", metricName: "RowsAccepted", dimensions: { Stack: "dev", Pipeline: "crm" } },
    rowsQuarantined: { namespace: "Ingestion", metricName: "RowsQuarantined", dimensions: { Stack: "dev", Pipeline: "crm" } },
    itemsWritten: { namespace: "Ingestion", metricName: "ItemsWritten", dimensions: { Stack: "dev", Pipeline: "crm" } },
    oldestArchive: { namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: "crm-archives" } },
    deadLetters: { namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: "crm-archives-dlq" } },
    badArchiveNames: {
        namespace: "Ingestion/ExtractTrigger",
        metricName: "BadArchiveNames",
        dimensions: { Stack: "dev", Pipeline: "crm" },
    },
};

const panels: DashboardPanels = {
    pipelines: [{ pipeline: "crm", latencyPromiseMinutes: 45, metrics: crmMetrics }],
    streams: [
        {
            stream: "clicks",
            freshnessThresholdSeconds: 1200,
            metrics: {
                incomingRecords: { namespace: "AWS/Kinesis", metricName: "IncomingRecords", dimensions: { StreamName: "clicks-stream" } },
                dataFreshness: {
                    namespace: "AWS/Firehose",
                    metricName: "DeliveryToS3.DataFreshness",
                    dimensions: { DeliveryStreamName: "clicks-delivery" },
                },
                failedCrawls: { namespace: "AWS/Events", metricName: "MatchedEvents", dimensions: { RuleName: "clicks-crawl-failed" } },
            },
        },
    ],
    lookups: [
        {
            lookup: "sellers",
            metrics: {
                linesRead: { namespace: "Ingestion", metricName: "LookupLinesRead", dimensions: { Stack: "dev", Lookup: "sellers" } },
                itemsLoaded: { namespace: "Ingestion", metricName: "LookupItemsLoaded", dimensions: { Stack: "dev", Lookup: "sellers" } },
                linesRejected: {
                    namespace: "Ingestion",
                    metricName: "LookupLinesRejected",
                    dimensions: { Stack: "dev", Lookup: "sellers" },
                },
                itemsDeleted: { namespace: "Ingestion", metricName: "LookupItemsDeleted", dimensions: { Stack: "dev", Lookup: "sellers" } },
                failedLoads: { namespace: "AWS/Events", metricName: "MatchedEvents", dimensions: { RuleName: "sellers-load-failed" } },
            },
        },
    ],
};

type Widget = DashboardBody["widgets"][number];

/** A chart's title, and each line as [namespace, metric, dimension values..., label, statistic]. */
function linesOf(widget: Widget): string[][] {
    return (widget.properties.metrics as unknown[][]).map((line) => {
        const options = line.at(-1) as { label: string; stat: string };
        return [...(line.slice(0, -1) as string[]), options.label, options.stat];
    });
}

function chartTitled(body: DashboardBody, title: string): Widget {
    const found = body.widgets.filter((widget) => widget.properties.title === title);
    expect(found, title).to.have.length(1);
    return found[0]!;
}

describe("the stack's dashboard body", () => {
    const body = dashboardBody("eu-west-1", panels);

    it("shows the last day, each chart at its own period, one section per pipeline, stream and lookup", () => {
        expect([body.start, body.periodOverride]).to.deep.equal(["-P1D", "inherit"]);
        expect(body.widgets.filter((widget) => widget.type === "text").map((widget) => widget.properties.markdown)).to.deep.equal([
            "## Extract pipeline crm: items written within 45 minutes of landing",
            "## Stream clicks",
            "## Lookup sellers",
        ]);
    });

    it("draws the latency of each extract against the promise and the wait the alarms allow", () => {
        const latency = chartTitled(body, "crm: seconds from landing, per extract");
        expect(latency.properties).to.deep.equal({
            region: "eu-west-1",
            title: "crm: seconds from landing, per extract",
            view: "timeSeries",
            stacked: false,
            period: 300,
            metrics: [
                ["Ingestion", "LandingToItemsWritten", "Stack", "dev", "Pipeline", "crm", { label: "to items written", stat: "Maximum" }],
                ["Ingestion", "LandingToRunStart", "Stack", "dev", "Pipeline", "crm", { label: "to run start", stat: "Maximum" }],
            ],
            yAxis: { left: { min: 0 } },
            annotations: {
                horizontal: [
                    { label: "promise (45 min)", value: 2700 },
                    { label: "wait alarm (15 min)", value: 900 },
                ],
            },
        });
    });

    it("draws per pipeline its runs by outcome, rows, items, queues, late runs and badly named objects", () => {
        const pipelineCharts = body.widgets.filter(
            (widget) => widget.type === "metric" && String(widget.properties.title).startsWith("crm:"),
        );
        expect(
            pipelineCharts.map((widget) => [widget.properties.title, widget.properties.period, widget.properties.stacked, linesOf(widget)]),
        ).to.deep.equal([
            [
                "crm: seconds from landing, per extract",
                300,
                false,
                [
                    ["Ingestion", "LandingToItemsWritten", "Stack", "dev", "Pipeline", "crm", "to items written", "Maximum"],
                    ["Ingestion", "LandingToRunStart", "Stack", "dev", "Pipeline", "crm", "to run start", "Maximum"],
                ],
            ],
            [
                "crm: runs by outcome",
                3600,
                true,
                [
                    ["AWS/Events", "MatchedEvents", "RuleName", "crm-run-succeeded", "succeeded", "Sum"],
                    ["AWS/Events", "MatchedEvents", "RuleName", "crm-run-failed", "failed, timed out or stopped", "Sum"],
                ],
            ],
            [
                "crm: rows",
                3600,
                false,
                [
                    ["Ingestion", "RowsAccepted", "Stack", "dev", "Pipeline", "crm", "accepted", "Sum"],
                    ["Ingestion", "RowsQuarantined", "Stack", "dev", "Pipeline", "crm", "quarantined", "Sum"],
                ],
            ],
            ["crm: items written", 3600, false, [["Ingestion", "ItemsWritten", "Stack", "dev", "Pipeline", "crm", "items written", "Sum"]]],
            [
                "crm: oldest archive in the trigger queue (seconds)",
                300,
                false,
                [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "crm-archives", "oldest archive", "Maximum"]],
            ],
            [
                "crm: dead-letter queue",
                300,
                false,
                [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "crm-archives-dlq", "messages", "Maximum"]],
            ],
            [
                "crm: runs still going 45 minutes after they started",
                300,
                false,
                [["AWS/Events", "MatchedEvents", "RuleName", "crm-run-delayed", "late runs", "Sum"]],
            ],
            [
                "crm: objects quarantined for a name that is not an archive name",
                300,
                false,
                [["Ingestion/ExtractTrigger", "BadArchiveNames", "Stack", "dev", "Pipeline", "crm", "objects", "Sum"]],
            ],
        ]);
        expect(chartTitled(body, "crm: oldest archive in the trigger queue (seconds)").properties.annotations).to.deep.equal({
            horizontal: [{ label: "wait alarm (15 min)", value: 900 }],
        });
    });

    it("draws per stream its incoming records, how fresh the lake is against the freshness alarm, and failed crawls", () => {
        expect(
            body.widgets
                .filter((widget) => widget.type === "metric" && String(widget.properties.title).startsWith("clicks:"))
                .map((widget) => [widget.properties.title, linesOf(widget), widget.properties.annotations]),
        ).to.deep.equal([
            ["clicks: incoming records", [["AWS/Kinesis", "IncomingRecords", "StreamName", "clicks-stream", "records", "Sum"]], undefined],
            [
                "clicks: data freshness (seconds)",
                [
                    [
                        "AWS/Firehose",
                        "DeliveryToS3.DataFreshness",
                        "DeliveryStreamName",
                        "clicks-delivery",
                        "oldest record not yet in the lake",
                        "Maximum",
                    ],
                ],
                { horizontal: [{ label: "alarm", value: 1200 }] },
            ],
            [
                "clicks: crawls that started and failed",
                [["AWS/Events", "MatchedEvents", "RuleName", "clicks-crawl-failed", "failed crawls", "Sum"]],
                { horizontal: [{ label: "alarm", value: 1 }] },
            ],
        ]);
        expect(chartTitled(body, "clicks: crawls that started and failed").properties.period).to.equal(3600);
    });

    it("draws per lookup the counts of each load, and the failed loads", () => {
        expect(
            body.widgets
                .filter((widget) => widget.type === "metric" && String(widget.properties.title).startsWith("sellers:"))
                .map((widget) => [widget.properties.title, linesOf(widget)]),
        ).to.deep.equal([
            [
                "sellers: counts of each load",
                [
                    ["Ingestion", "LookupLinesRead", "Stack", "dev", "Lookup", "sellers", "lines read", "Sum"],
                    ["Ingestion", "LookupItemsLoaded", "Stack", "dev", "Lookup", "sellers", "items loaded", "Sum"],
                    ["Ingestion", "LookupLinesRejected", "Stack", "dev", "Lookup", "sellers", "lines rejected", "Sum"],
                    ["Ingestion", "LookupItemsDeleted", "Stack", "dev", "Lookup", "sellers", "items deleted", "Sum"],
                ],
            ],
            [
                "sellers: failed loads",
                [["AWS/Events", "MatchedEvents", "RuleName", "sellers-load-failed", "failed, timed out or stopped", "Sum"]],
            ],
        ]);
    });

    it("lays every widget on CloudWatch's 24-column grid, each section below the last, none overlapping", () => {
        const cells = new Set<string>();
        for (const widget of body.widgets) {
            expect(widget.x + widget.width, JSON.stringify(widget.properties.title)).to.be.at.most(24);
            for (let x = widget.x; x < widget.x + widget.width; x += 1) {
                for (let y = widget.y; y < widget.y + widget.height; y += 1) {
                    expect(
                        cells.has(`${x},${y}`),
                        `${String(widget.properties.title ?? widget.properties.markdown)} at ${x},${y}`,
                    ).to.equal(false);
                    cells.add(`${x},${y}`);
                }
            }
        }
        const headings = body.widgets.filter((widget) => widget.type === "text");
        expect(headings.map((widget) => [widget.x, widget.y, widget.width])).to.deep.equal([
            [0, 0, 24],
            // Eight charts of a pipeline, three to a row of height 6.
            [0, 19, 24],
            [0, 26, 24],
        ]);
    });

    it("sets the promise line from each pipeline's own promise", () => {
        const longer = dashboardBody("eu-west-1", {
            ...panels,
            pipelines: [{ pipeline: "crm", latencyPromiseMinutes: 90, metrics: crmMetrics }],
        });
        expect(chartTitled(longer, "crm: seconds from landing, per extract").properties.annotations).to.deep.equal({
            horizontal: [
                { label: "promise (90 min)", value: 5400 },
                { label: "wait alarm (30 min)", value: 1800 },
            ],
        });
    });
});

describe("StackDashboard", () => {
    it("declares one dashboard named for the stack, its metrics' dimensions resolved, in the stack's region", async () => {
        const mocks = await useMocks();
        const dashboard = new StackDashboard("ingest-test", {
            ...panels,
            pipelines: [
                {
                    pipeline: "crm",
                    latencyPromiseMinutes: 45,
                    metrics: {
                        ...crmMetrics,
                        oldestArchive: { ...crmMetrics.oldestArchive, dimensions: { QueueName: pulumi.output("crm-archives") } },
                    },
                },
            ],
        });
        expect(await valueOf(dashboard.dashboardName)).to.equal("ingest-test");
        await settle();
        const [declared] = mocks.ofType("aws:cloudwatch/dashboard:Dashboard");
        expect(declared!.name).to.equal("ingest-test-dashboard");
        expect(declared!.inputs.dashboardName).to.equal("ingest-test");
        expect(JSON.parse(declared!.inputs.dashboardBody as string)).to.deep.equal(dashboardBody("eu-west-1", panels));
    });
});

describe("the dev stack's dashboard and alarms", () => {
    let top: readonly DeclaredResource[];
    let body: DashboardBody;

    before(async () => {
        top = await declareProgram("dev");
        const [dashboard] = recordedUnder(top.filter((component) => component.type === "ingestion:monitoring:StackDashboard"));
        body = JSON.parse(dashboard!.inputs.dashboardBody as string) as DashboardBody;
    });

    function recordedUnder(components: readonly DeclaredResource[]) {
        return components.flatMap((component): NonNullable<DeclaredResource["recorded"]>[] =>
            component.recorded ? [component.recorded] : recordedUnder(component.children),
        );
    }

    /** Namespace, metric and dimensions of an alarm or of a dashboard line, as one comparable text. */
    const metricKey = (namespace: unknown, metricName: unknown, dimensions: Record<string, unknown>) =>
        JSON.stringify([namespace, metricName, Object.entries(dimensions).sort()]);

    function drawn(): Map<string, Widget[]> {
        const charts = new Map<string, Widget[]>();
        for (const widget of body.widgets.filter((candidate) => candidate.type === "metric")) {
            for (const line of widget.properties.metrics as unknown[][]) {
                const [namespace, metricName, ...rest] = line.slice(0, -1) as string[];
                const dimensions = Object.fromEntries(rest.flatMap((part, index) => (index % 2 === 0 ? [[part, rest[index + 1]]] : [])));
                const key = metricKey(namespace, metricName, dimensions);
                charts.set(key, [...(charts.get(key) ?? []), widget]);
            }
        }
        return charts;
    }

    function alarmsOf(type: string) {
        return recordedUnder(top.filter((component) => component.type === type)).filter(
            (resource) => resource.type === "aws:cloudwatch/metricAlarm:MetricAlarm",
        );
    }

    it("draws every metric the extract pipeline's alarms watch, as the alarm names it", () => {
        const charts = drawn();
        const alarms = alarmsOf("ingestion:extract:ExtractPipeline");
        expect(alarms.map((alarm) => alarm.name)).to.have.length(8);
        const missing = alarms
            .filter(
                (alarm) =>
                    !charts.has(
                        metricKey(alarm.inputs.namespace, alarm.inputs.metricName, alarm.inputs.dimensions as Record<string, unknown>),
                    ),
            )
            .map((alarm) => alarm.name);
        expect(missing).to.deep.equal([]);
    });

    it("draws each latency alarm's threshold as a line on the chart of its metric", () => {
        const charts = drawn();
        const byName = new Map(alarmsOf("ingestion:extract:ExtractPipeline").map((alarm) => [alarm.name, alarm]));
        const thresholdsDrawn = [
            "ingest-dev-customers-latency",
            "ingest-dev-customers-archive-wait",
            "ingest-dev-customers-glue-queue",
        ].map((name) => {
            const alarm = byName.get(name)!;
            const [chart] = charts.get(
                metricKey(alarm.inputs.namespace, alarm.inputs.metricName, alarm.inputs.dimensions as Record<string, unknown>),
            )!;
            const lines = (chart!.properties.annotations as { horizontal: { value: number }[] }).horizontal.map((line) => line.value);
            return [name, alarm.inputs.threshold, lines.includes(alarm.inputs.threshold as number)];
        });
        // dev promises 90 minutes: the items within 5400 s, the wait within a third of it.
        expect(thresholdsDrawn).to.deep.equal([
            ["ingest-dev-customers-latency", 5400, true],
            ["ingest-dev-customers-archive-wait", 1800, true],
            ["ingest-dev-customers-glue-queue", 1800, true],
        ]);
    });

    it("draws the jobs' and the trigger's metrics of this stack's runs, archives and loads only", () => {
        const ownMetrics = [...drawn().keys()]
            .map((key) => JSON.parse(key) as [string, string, [string, string][]])
            .filter(([namespace]) => namespace === "Ingestion" || namespace === "Ingestion/ExtractTrigger")
            .map(([, metricName, dimensions]) => [metricName, Object.fromEntries(dimensions)]);
        const run = { Pipeline: "customers", Stack: "dev" };
        const load = { Lookup: "products", Stack: "dev" };
        expect(ownMetrics).to.deep.equal([
            ["LandingToItemsWritten", run],
            ["LandingToRunStart", run],
            ["RowsAccepted", run],
            ["RowsQuarantined", run],
            ["ItemsWritten", run],
            ["BadArchiveNames", run],
            ["LookupLinesRead", load],
            ["LookupItemsLoaded", load],
            ["LookupLinesRejected", load],
            ["LookupItemsDeleted", load],
        ]);
    });

    it("draws the stream's freshness and the lookup's failed loads from the metrics their alarms watch", () => {
        const charts = drawn();
        const watched = [
            ...alarmsOf("ingestion:streaming:StreamLake").filter((alarm) =>
                ["ingest-dev-clickstream-alarms-stale", "ingest-dev-clickstream-alarms-crawl-failures"].includes(alarm.name),
            ),
            ...alarmsOf("ingestion:lookup:LookupTable").filter((alarm) => alarm.name === "ingest-dev-products-alarms-load-failures"),
        ];
        expect(
            watched.map((alarm) => [
                alarm.name,
                charts.has(metricKey(alarm.inputs.namespace, alarm.inputs.metricName, alarm.inputs.dimensions as Record<string, unknown>)),
            ]),
        ).to.deep.equal([
            ["ingest-dev-clickstream-alarms-stale", true],
            ["ingest-dev-clickstream-alarms-crawl-failures", true],
            ["ingest-dev-products-alarms-load-failures", true],
        ]);
        const [stale] = watched;
        const [freshness] = charts.get(
            metricKey(stale!.inputs.namespace, stale!.inputs.metricName, stale!.inputs.dimensions as Record<string, unknown>),
        )!;
        expect(freshness!.properties.annotations).to.deep.equal({ horizontal: [{ label: "alarm", value: stale!.inputs.threshold }] });
    });
});
