import type exportJob from "../../glue-scripts/ingest/contracts/export_job_arguments.json";
import type extractJob from "../../glue-scripts/ingest/contracts/job_arguments.json";
import type lookupJob from "../../glue-scripts/ingest/contracts/lookup_job_arguments.json";
import { jsonAt, listAt, textAt, textsAt, valueAt } from "./inputs";
import { physicalNameOf, type RecordedResource } from "./mocks";
import { shortType, type DeclaredResource } from "./program";

/**
 * A Mermaid flowchart of the pipelines a stack declares: one subgraph per extract pipeline, stream
 * and lookup. Every node is a declared resource, found by following the references between resources
 * (an event rule's bucket, a queue's consumer, a Glue job's contract arguments), so the chart shows
 * what the program wired, and a stack with two mappings shows two pipelines.
 */
export function pipelineDiagram(stack: string, topLevel: readonly DeclaredResource[]): string {
    const program = new ProgramIndex(topLevel);
    const chart = new Flowchart(program);
    for (const component of topLevel) {
        if (component.type === componentTypes.extract) {
            sketchExtract(component, program, chart);
        } else if (component.type === componentTypes.stream) {
            sketchStream(component, program, chart);
        } else if (component.type === componentTypes.lookup) {
            sketchLookup(component, program, chart);
        }
    }
    return chart.render(
        `Pipelines of stack ${stack}, from the resources the program declares under mocks; not a view of what is deployed.`,
    );
}

const componentTypes = {
    extract: "ingestion:extract:ExtractPipeline",
    stream: "ingestion:streaming:StreamLake",
    fileSource: "ingestion:streaming:FileSource",
    warehouse: "ingestion:streaming:WarehouseExport",
    snowflake: "ingestion:warehouse:SnowflakeIngest",
    lookup: "ingestion:lookup:LookupTable",
} as const;

const resourceTypes = {
    bucket: "aws:s3/bucket:Bucket",
    bucketNotification: "aws:s3/bucketNotification:BucketNotification",
    catalogDatabase: "aws:glue/catalogDatabase:CatalogDatabase",
    catalogTable: "aws:glue/catalogTable:CatalogTable",
    crawler: "aws:glue/crawler:Crawler",
    eventRule: "aws:cloudwatch/eventRule:EventRule",
    eventSourceMapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
    eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
    firehose: "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
    function: "aws:lambda/function:Function",
    glueJob: "aws:glue/job:Job",
    glueTrigger: "aws:glue/trigger:Trigger",
    kinesisStream: "aws:kinesis/stream:Stream",
    queue: "aws:sqs/queue:Queue",
    role: "aws:iam/role:Role",
    snowpipe: "snowflake:index/pipe:Pipe",
    snowflakeTable: "snowflake:index/table:Table",
    table: "aws:dynamodb/table:Table",
    topic: "aws:sns/topic:Topic",
} as const;

/** How each type is drawn: the word for it and Mermaid's shape delimiters. */
const nodeStyles: Readonly<Record<string, { readonly kind: string; readonly open: string; readonly close: string }>> = {
    [resourceTypes.bucket]: { kind: "S3 bucket", open: "[(", close: ")]" },
    [resourceTypes.table]: { kind: "DynamoDB table", open: "[(", close: ")]" },
    [resourceTypes.catalogDatabase]: { kind: "Glue database", open: "[(", close: ")]" },
    [resourceTypes.catalogTable]: { kind: "Glue table", open: "[(", close: ")]" },
    [resourceTypes.queue]: { kind: "SQS queue", open: "[[", close: "]]" },
    [resourceTypes.kinesisStream]: { kind: "Kinesis stream", open: "[[", close: "]]" },
    [resourceTypes.firehose]: { kind: "Firehose", open: "[", close: "]" },
    [resourceTypes.function]: { kind: "Lambda", open: "[", close: "]" },
    [resourceTypes.glueJob]: { kind: "Glue job", open: "[", close: "]" },
    [resourceTypes.crawler]: { kind: "Glue crawler", open: "[", close: "]" },
    [resourceTypes.eventRule]: { kind: "EventBridge rule", open: "{{", close: "}}" },
    [resourceTypes.glueTrigger]: { kind: "Glue trigger", open: "{{", close: "}}" },
    [resourceTypes.topic]: { kind: "SNS topic", open: ">", close: "]" },
    [resourceTypes.role]: { kind: "IAM role", open: "[/", close: "/]" },
    [resourceTypes.snowpipe]: { kind: "Snowpipe", open: "[", close: "]" },
    [resourceTypes.snowflakeTable]: { kind: "Snowflake table", open: "[(", close: ")]" },
};

type JobArgument =
    | keyof (typeof extractJob)["deployArguments"]
    | keyof (typeof exportJob)["deployArguments"]
    | keyof (typeof lookupJob)["deployArguments"];

/**
 * An archive lands in the landing bucket → rule → queue → trigger → Glue job → lake, catalog, items
 * table, topic; a run that ends unsuccessfully → rule → the run notifier → topic, for the runs the job
 * could not announce.
 */
function sketchExtract(component: DeclaredResource, program: ProgramIndex, chart: Flowchart): void {
    chart.group(component, `extract ${component.name}`);
    const resources = program.under(component);
    const landed = objectEventChain(component, resources, program);
    const job = single(component, resources, resourceTypes.glueJob);
    chart.edge(landed.bucket, landed.rule, landed.prefix);
    chart.edge(landed.rule, landed.queue);
    chart.edge(landed.queue, landed.consumer);
    chart.edge(landed.consumer, job, "StartJobRun");
    chart.edge(job, program.resolve(resourceTypes.bucket, jobArgument(job, "lake_bucket")), "Iceberg MERGE");
    chart.edge(job, program.resolve(resourceTypes.catalogDatabase, jobArgument(job, "glue_database")), "snapshots");
    chart.edge(job, program.resolve(resourceTypes.table, jobArgument(job, "items_table")), "nested items");
    const topic = program.resolve(resourceTypes.topic, jobArgument(job, "notification_topic_arn"));
    chart.edge(job, topic, "run outcomes", "dotted");
    for (const notifier of resources.filter((resource) => environment(resource, "TOPIC_ARN") === topic.arn)) {
        for (const rule of rulesTargeting(resources, notifier, program)) {
            chart.edge(job, rule, textsAt(jsonAt(rule.inputs, "eventPattern"), "detail", "state").join(", "), "dotted");
            chart.edge(rule, notifier);
        }
        chart.edge(notifier, topic, "runs the job did not announce", "dotted");
    }
}

/**
 * (Files land in the source bucket → loader →) Kinesis → Firehose → lake under the Glue table, whose
 * partitions a crawler or projection keeps; (Kinesis → JSON Firehose → intermediate bucket → export job
 * → destination bucket → Snowpipe). File sources and warehouse exports join the stream they feed or read.
 */
function sketchStream(component: DeclaredResource, program: ProgramIndex, chart: Flowchart): void {
    const resources = program.under(component);
    const kinesis = single(component, resources, resourceTypes.kinesisStream);
    const extensions = program.topLevel.filter(
        (other) =>
            (other.type === componentTypes.fileSource || other.type === componentTypes.warehouse) &&
            program.under(other).some((resource) => mentions(resource.inputs, [kinesis.arn, physicalNameOf(kinesis)])),
    );
    const snowflakeLoads = extensions.flatMap((extension) =>
        extension.type === componentTypes.warehouse ? (snowflakeLoadOf(exportDestination(extension, program), program) ?? []) : [],
    );
    chart.group(component, `stream ${component.name}`, [...extensions, ...snowflakeLoads]);

    for (const producer of resources.filter((resource) => environment(resource, "STREAM_NAME") === physicalNameOf(kinesis))) {
        chart.edge(producer, kinesis);
    }
    for (const fileSource of extensions.filter((extension) => extension.type === componentTypes.fileSource)) {
        const files = objectEventChain(fileSource, program.under(fileSource), program);
        chart.edge(files.bucket, files.rule, files.prefix);
        chart.edge(files.rule, files.queue);
        chart.edge(files.queue, files.consumer);
        chart.edge(files.consumer, kinesis, "PutRecords");
    }

    const delivery = single(component, resources, resourceTypes.firehose);
    const s3 = valueAt(delivery.inputs, "extendedS3Configuration");
    const table = program.resolve(
        resourceTypes.catalogTable,
        textAt(s3, "dataFormatConversionConfiguration", "schemaConfiguration", "tableName"),
    );
    const projected = valueAt(table.inputs, "parameters", "projection.enabled") === "true";
    chart.edge(kinesis, delivery);
    chart.edge(delivery, program.resolve(resourceTypes.bucket, textAt(s3, "bucketArn")), "Parquet");
    chart.edge(delivery, program.resolve(resourceTypes.bucket, textAt(s3, "s3BackupConfiguration", "bucketArn")), "raw records");
    chart.edge(table, delivery, "schema", "dotted");
    if (projected) {
        chart.detail(table, "partition projection");
    }
    for (const crawler of resources.filter((resource) => resource.type === resourceTypes.crawler)) {
        const starter = single(
            component,
            resources,
            resourceTypes.function,
            (resource) => environment(resource, "CRAWLER_NAME") === physicalNameOf(crawler),
        );
        for (const schedule of rulesTargeting(resources, starter, program)) {
            chart.edge(schedule, starter);
        }
        chart.edge(starter, crawler, "StartCrawler");
        chart.edge(crawler, table, "partitions");
    }

    for (const warehouse of extensions.filter((extension) => extension.type === componentTypes.warehouse)) {
        sketchWarehouse(warehouse, kinesis, program, chart);
    }
}

/**
 * Firehose → intermediate bucket → export job (on schedule, and for each delivered object through
 * rule → queue → starter when on delivery) → destination bucket → Snowpipe: the pipe, table and error
 * topic the stack declares for Snowflake, or the role a storage integration made by hand assumes.
 */
function sketchWarehouse(warehouse: DeclaredResource, kinesis: RecordedResource, program: ProgramIndex, chart: Flowchart): void {
    const resources = program.under(warehouse);
    const delivery = single(warehouse, resources, resourceTypes.firehose);
    const job = single(warehouse, resources, resourceTypes.glueJob);
    const destination = exportDestination(warehouse, program);
    chart.edge(kinesis, delivery);
    chart.edge(delivery, program.resolve(resourceTypes.bucket, textAt(delivery.inputs, "extendedS3Configuration", "bucketArn")), "JSON");
    chart.edge(program.resolve(resourceTypes.bucket, jobArgument(job, "delivery_bucket")), job, "new records");
    for (const schedule of schedulesStarting(resources, job)) {
        chart.edge(schedule, job);
    }
    if (resources.some((resource) => resource.type === resourceTypes.eventRule && objectCreated(resource) !== undefined)) {
        const delivered = objectEventChain(warehouse, resources, program);
        chart.edge(delivered.bucket, delivered.rule, delivered.prefix);
        chart.edge(delivered.rule, delivered.queue);
        chart.edge(delivered.queue, delivered.consumer);
        chart.edge(delivered.consumer, job, "StartJobRun for the object");
    }
    chart.edge(job, destination, "Parquet");

    const snowflakeLoad = snowflakeLoadOf(destination, program);
    if (snowflakeLoad) {
        const loads = program.under(snowflakeLoad);
        const pipe = single(snowflakeLoad, loads, resourceTypes.snowpipe);
        const table = single(snowflakeLoad, loads, resourceTypes.snowflakeTable);
        chart.edge(destination, pipe, "object created");
        chart.edge(pipe, table, "COPY INTO");
        chart.edge(pipe, single(snowflakeLoad, loads, resourceTypes.topic), "load errors", "dotted");
        for (const object of [pipe, table]) {
            chart.detail(object, ["database", "schema", "name"].map((part) => textAt(object.inputs, part)).join("."));
        }
        return;
    }
    // Snowpipe made by hand lives in Snowflake; what the stack declares for it is the role its storage
    // integration assumes, the one role here trusted by an account rather than by an AWS service.
    const snowflakeRole = single(warehouse, resources, resourceTypes.role, (role) =>
        listAt(jsonAt(role.inputs, "assumeRolePolicy"), "Statement").some(
            (statement) => valueAt(statement, "Principal", "AWS") !== undefined,
        ),
    );
    const notifiesSnowpipe = program
        .siblingsOf(destination)
        .some((sibling) => sibling.type === resourceTypes.bucketNotification && listAt(sibling.inputs, "queues").length > 0);
    chart.edge(destination, snowflakeRole, notifiesSnowpipe ? "object created, Snowpipe loads" : "Snowpipe loads");
    chart.detail(snowflakeRole, "Snowpipe's storage integration");
}

function exportDestination(warehouse: DeclaredResource, program: ProgramIndex): RecordedResource {
    const job = single(warehouse, program.under(warehouse), resourceTypes.glueJob);
    return program.resolve(resourceTypes.bucket, jobArgument(job, "destination_bucket"));
}

/** The Snowflake side the stack declares for an export's destination bucket: the component whose pipe its objects notify. */
function snowflakeLoadOf(destination: RecordedResource, program: ProgramIndex): DeclaredResource | undefined {
    return program.topLevel.find(
        (component) =>
            component.type === componentTypes.snowflake &&
            program
                .under(component)
                .some(
                    (resource) =>
                        resource.type === resourceTypes.bucketNotification && resource.inputs.bucket === physicalNameOf(destination),
                ),
    );
}

/** Exports land in the exports bucket → Glue loader (on schedule and/or each export) → lookup table; the stream → event filter. */
function sketchLookup(component: DeclaredResource, program: ProgramIndex, chart: Flowchart): void {
    chart.group(component, `lookup ${component.name}`);
    const resources = program.under(component);
    const job = single(component, resources, resourceTypes.glueJob);
    const table = program.resolve(resourceTypes.table, jobArgument(job, "table_name"));
    const prefix = jobArgument(job, "export_prefix");
    const onNewExport = resources.some(
        (resource) => resource.type === resourceTypes.glueTrigger && resource.inputs.type === "EVENT" && startsJob(resource, job),
    );
    chart.edge(
        program.resolve(resourceTypes.bucket, jobArgument(job, "export_bucket")),
        job,
        onNewExport ? `each new export under ${prefix}` : prefix,
    );
    for (const schedule of schedulesStarting(resources, job)) {
        chart.edge(schedule, job);
    }
    chart.edge(job, table, "loads");

    for (const mapping of resources.filter((resource) => resource.type === resourceTypes.eventSourceMapping)) {
        const filter = program.resolve(resourceTypes.function, textAt(mapping.inputs, "functionName"));
        const streamArn = textAt(mapping.inputs, "eventSourceArn");
        // A stream of another stack or account (filter.stream as an ARN) is drawn outside this stack.
        const stream = program.declares(resourceTypes.kinesisStream, streamArn)
            ? program.resolve(resourceTypes.kinesisStream, streamArn)
            : chart.external(streamArn, ["Kinesis", streamArn.replace(/^.*:stream\//, "")]);
        chart.edge(stream, filter);
        chart.edge(filter, table, "looks up keys", "dotted");
        // `s3://<bucket>/<prefix>` or `firehose:<delivery stream named in config>`, as the filter reads it.
        const destination = textAt(filter.inputs, "environment", "variables", "DESTINATION");
        const bucketPrefix = /^s3:\/\/([^/]+)\/(.*)$/.exec(destination);
        if (bucketPrefix) {
            chart.edge(filter, program.resolve(resourceTypes.bucket, bucketPrefix[1]!), `matching events under ${bucketPrefix[2]!}`);
        } else {
            chart.edge(filter, chart.external(destination, ["Firehose", destination.replace(/^firehose:/, "")]), "matching events");
        }
    }
}

/** Objects created under a prefix of a bucket → EventBridge rule → queue → the function consuming the queue. */
function objectEventChain(component: DeclaredResource, resources: readonly RecordedResource[], program: ProgramIndex) {
    const rule = single(component, resources, resourceTypes.eventRule, (candidate) => objectCreated(candidate) !== undefined);
    const { bucket, prefix } = objectCreated(rule)!;
    const target = single(component, resources, resourceTypes.eventTarget, (candidate) => candidate.inputs.rule === physicalNameOf(rule));
    const queue = program.resolve(resourceTypes.queue, textAt(target.inputs, "arn"));
    const mapping = single(
        component,
        resources,
        resourceTypes.eventSourceMapping,
        (candidate) => candidate.inputs.eventSourceArn === queue.arn,
    );
    return {
        bucket: program.resolve(resourceTypes.bucket, bucket),
        prefix,
        rule,
        queue,
        consumer: program.resolve(resourceTypes.function, textAt(mapping.inputs, "functionName")),
    };
}

/** The bucket and key prefix of a rule matching S3 "Object Created" events; undefined for any other rule. */
function objectCreated(rule: RecordedResource): { bucket: string; prefix: string } | undefined {
    if (typeof rule.inputs.eventPattern !== "string") {
        return undefined;
    }
    const pattern = jsonAt(rule.inputs, "eventPattern");
    if (!textsAt(pattern, "detail-type").includes("Object Created")) {
        return undefined;
    }
    const [bucket] = textsAt(pattern, "detail", "bucket", "name");
    const [key] = listAt(pattern, "detail", "object", "key");
    return bucket === undefined ? undefined : { bucket, prefix: textAt(key, "prefix") };
}

function rulesTargeting(resources: readonly RecordedResource[], target: RecordedResource, program: ProgramIndex): RecordedResource[] {
    return resources
        .filter((resource) => resource.type === resourceTypes.eventTarget && resource.inputs.arn === target.arn)
        .map((eventTarget) => program.resolve(resourceTypes.eventRule, textAt(eventTarget.inputs, "rule")));
}

function schedulesStarting(resources: readonly RecordedResource[], job: RecordedResource): RecordedResource[] {
    return resources.filter(
        (resource) => resource.type === resourceTypes.glueTrigger && resource.inputs.type === "SCHEDULED" && startsJob(resource, job),
    );
}

function startsJob(trigger: RecordedResource, job: RecordedResource): boolean {
    return listAt(trigger.inputs, "actions").some((action) => valueAt(action, "jobName") === physicalNameOf(job));
}

function jobArgument(job: RecordedResource, name: JobArgument): string {
    return textAt(job.inputs, "defaultArguments", `--${name}`);
}

function environment(resource: RecordedResource, variable: string): string | undefined {
    const value = valueAt(resource.inputs, "environment", "variables", variable);
    return resource.type === resourceTypes.function && typeof value === "string" ? value : undefined;
}

/** The one resource of `type` (matching `accept`) declared in a component; anything else means the component changed shape. */
function single(
    component: DeclaredResource,
    resources: readonly RecordedResource[],
    type: string,
    accept: (resource: RecordedResource) => boolean = () => true,
): RecordedResource {
    const found = resources.filter((resource) => resource.type === type && accept(resource));
    if (found.length !== 1) {
        throw new Error(`the diagram expects one ${type} of its kind in ${component.type} ${component.name}, found ${found.length}`);
    }
    return found[0]!;
}

/** Every declared resource, with the component it belongs to, found by the names and ARNs other resources refer to it by. */
class ProgramIndex {
    private readonly topLevelOf = new Map<RecordedResource, DeclaredResource>();
    private readonly parentOf = new Map<RecordedResource, DeclaredResource>();
    private readonly byReference = new Map<string, RecordedResource>();

    constructor(readonly topLevel: readonly DeclaredResource[]) {
        const visit = (declared: DeclaredResource, top: DeclaredResource) => {
            for (const child of declared.children) {
                if (child.recorded) {
                    this.topLevelOf.set(child.recorded, top);
                    this.parentOf.set(child.recorded, declared);
                    this.byReference.set(`${child.type} ${child.recorded.arn}`, child.recorded);
                    this.byReference.set(`${child.type} ${physicalNameOf(child.recorded)}`, child.recorded);
                }
                visit(child, top);
            }
        };
        for (const component of topLevel) {
            visit(component, component);
        }
    }

    /** The custom resources declared in a component, its nested components included. */
    under(component: DeclaredResource): RecordedResource[] {
        return component.children.flatMap((child) => (child.recorded ? [child.recorded] : this.under(child)));
    }

    /** Whether the program declares a resource of `type` whose ARN or name is `reference`. */
    declares(type: string, reference: string): boolean {
        return this.byReference.has(`${type} ${reference}`);
    }

    /** The resource of `type` whose ARN or name is `reference`. */
    resolve(type: string, reference: string): RecordedResource {
        const found = this.byReference.get(`${type} ${reference}`);
        if (!found) {
            throw new Error(`the program refers to ${reference}, but declares no ${type} by that name or ARN`);
        }
        return found;
    }

    /** The top-level component a resource was declared in. */
    componentOf(resource: RecordedResource): DeclaredResource {
        return this.topLevelOf.get(resource)!;
    }

    /** The resources declared beside this one, in the same component. */
    siblingsOf(resource: RecordedResource): RecordedResource[] {
        return this.parentOf
            .get(resource)!
            .children.flatMap((child) => (child.recorded && child.recorded !== resource ? [child.recorded] : []));
    }
}

type EdgeStyle = "solid" | "dotted";

/** A node is a declared resource, or a key for something outside the stack. */
type NodeKey = RecordedResource | string;

/** Nodes grouped in subgraphs by the pipeline (or shared component) that declared them, and edges between them. */
class Flowchart {
    private readonly groups = new Map<DeclaredResource, { readonly id: string; readonly title: string; readonly nodes: NodeKey[] }>();
    private readonly groupOf = new Map<DeclaredResource, DeclaredResource>();
    private readonly nodes = new Map<
        NodeKey,
        { readonly id: string; readonly label: string[]; readonly shape: { open: string; close: string } }
    >();
    private readonly ungrouped: NodeKey[] = [];
    private readonly edges: string[] = [];

    constructor(private readonly program: ProgramIndex) {}

    /** Opens the subgraph of a pipeline; the resources of `members` are drawn in it too. */
    group(component: DeclaredResource, title: string, members: readonly DeclaredResource[] = []): void {
        this.groups.set(component, { id: mermaidId(`${shortType(component.type)} ${component.name}`), title, nodes: [] });
        for (const member of [component, ...members]) {
            this.groupOf.set(member, component);
        }
    }

    /** Adds a line to a resource's label, under its kind and name. */
    detail(resource: RecordedResource, text: string): void {
        this.node(resource).label.push(text);
    }

    /** A node for something the stack does not declare, such as a delivery stream named in config. */
    external(key: string, label: readonly string[]): string {
        if (!this.nodes.has(key)) {
            const id = mermaidId(`external ${key}`);
            this.nodes.set(key, { id, label: [...label], shape: { open: "[/", close: "/]" } });
            this.ungrouped.push(key);
        }
        return key;
    }

    edge(from: NodeKey, to: NodeKey, label?: string, style: EdgeStyle = "solid"): void {
        const arrow = style === "dotted" ? "-.->" : "-->";
        this.edges.push(`${this.node(from).id} ${arrow}${label === undefined ? "" : `|"${escape(label)}"|`} ${this.node(to).id}`);
    }

    render(comment: string): string {
        const lines = ["flowchart LR", `    %% ${comment}`];
        for (const component of this.program.topLevel) {
            const group = this.groups.get(component);
            if (group && group.nodes.length > 0) {
                lines.push(`    subgraph ${group.id}["${escape(group.title)}"]`);
                lines.push(...group.nodes.map((key) => `        ${this.definition(key)}`));
                lines.push("    end");
            }
        }
        lines.push(...this.ungrouped.map((key) => `    ${this.definition(key)}`));
        lines.push(...this.edges.map((edge) => `    ${edge}`));
        return `${lines.join("\n")}\n`;
    }

    private node(key: NodeKey) {
        const existing = this.nodes.get(key);
        if (existing) {
            return existing;
        }
        if (typeof key === "string") {
            throw new Error(`no external node ${key}`);
        }
        const style = nodeStyles[key.type] ?? { kind: key.type, open: "[", close: "]" };
        const created = { id: mermaidId(`${shortType(key.type)} ${key.name}`), label: [style.kind, key.name], shape: style };
        this.nodes.set(key, created);
        this.groupFor(this.program.componentOf(key)).nodes.push(key);
        return created;
    }

    /** The subgraph of a component: its pipeline's, or its own for a shared component such as storage. */
    private groupFor(component: DeclaredResource) {
        const owner = this.groupOf.get(component) ?? component;
        if (!this.groups.has(owner)) {
            this.group(owner, `${shortType(owner.type)} ${owner.name}`);
        }
        return this.groups.get(owner)!;
    }

    private definition(key: NodeKey): string {
        const { id, label, shape } = this.node(key);
        return `${id}${shape.open}"${label.map(escape).join("<br/>")}"${shape.close}`;
    }
}

function mermaidId(text: string): string {
    return text.replace(/[^A-Za-z0-9]+/g, "_");
}

/** Mermaid ends a quoted label at `"`; it reads `#quot;` as one. */
function escape(text: string): string {
    return text.replace(/"/g, "#quot;");
}

/** Whether any string inside an input value equals one of `values`. */
function mentions(value: unknown, values: readonly string[]): boolean {
    if (typeof value === "string") {
        return values.includes(value);
    }
    if (typeof value === "object" && value !== null) {
        return Object.values(value).some((inner) => mentions(inner, values));
    }
    return false;
}
