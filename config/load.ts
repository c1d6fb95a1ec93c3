import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { streamLakesPrefix, streamTableName } from "../components/stream-lake/defaults";
import { buildJobPlan, type JobPlan, type LakeTable } from "./job-plan";
import { parseMapping, readMapping } from "./mapping";
import { namesStreamByArn, readLookup, type Lookup, type LookupContext } from "./lookup";
import { configNamespace, StackFile } from "./stack-file";
import { parseStackSettings, type StackSettings } from "./stack-settings";
import { readStream, type Stream } from "./stream";
import { ConfigError, YamlSource } from "./yaml-source";

/** The repository: the program's code assets (lambdas/, glue-scripts/) are always read from here. */
export const repositoryRoot = path.resolve(__dirname, "..");

/**
 * The environment variable naming the config root: the folder holding the stack files
 * (`Pulumi.<stack>.yaml`) and `config/{mappings,streams,lookups}/`. A relative path is taken from
 * the working directory. Unset or empty, the config root is the repository.
 */
export const configRootVariable = "INGESTION_CONFIG_ROOT";

/**
 * The config root, as `INGESTION_CONFIG_ROOT` names it now (the repository when unset). Read at
 * each call, not once at load, so every reader (the program, `ingest plan`, print-plan, run-local)
 * sees the same root and a test can point them at its own fixtures.
 */
export function configRoot(): string {
    const configured = process.env[configRootVariable];
    return configured ? path.resolve(configured) : repositoryRoot;
}

/** The kinds of definition a stack lists, each a folder `config/<kind>/` under the config root. */
export type ConfigKind = "mappings" | "streams" | "lookups";

/** The folder of one kind of definition under `root` (by default the config root). */
export function configDirectory(kind: ConfigKind, root = configRoot()): string {
    return path.join(root, "config", kind);
}

/**
 * A config file as messages name it: from the config root when it lies inside it (so
 * `config/mappings/customers.yaml` reads the same wherever the config lives), else from the repository.
 */
export function displayPath(file: string): string {
    const fromRoot = path.relative(configRoot(), file);
    return fromRoot.startsWith("..") || path.isAbsolute(fromRoot) ? path.relative(repositoryRoot, file) : fromRoot;
}

/**
 * The stack file `Pulumi.<stack>.yaml` of the current stack (or of `stack`), read so that problems
 * with its settings are located; throws a located ConfigError when the file itself is broken.
 */
export function readStackFile(stack = pulumi.getStack(), directory = configRoot()): StackFile {
    return StackFile.read(stack, directory);
}

/**
 * The validated `ingestion:*` settings of the current stack. The values are Pulumi's (its config,
 * secrets decrypted and environments applied); the stack file only places each problem.
 */
export function readStackSettings(stackFile = readStackFile()): StackSettings {
    return parseStackSettings(pulumi.getStack(), configuredSettings(), stackFile);
}

/** The current stack's `ingestion:*` settings as Pulumi holds them, each value parsed, keyed without the namespace. */
export function configuredSettings(): Record<string, unknown> {
    const prefix = `${configNamespace}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) {
            raw[key.slice(prefix.length)] = parseConfigValue(value);
        }
    }
    return raw;
}

/** What a stack deploys, validated: its settings and every mapping, stream and lookup it lists. */
export interface StackConfig {
    readonly settings: StackSettings;
    readonly plans: readonly JobPlan[];
    readonly streams: readonly Stream[];
    readonly lookups: readonly Lookup[];
    /** What expires by age in the lake bucket (the stream lakes, the filters' events). */
    readonly expiringLakePrefixes: readonly ExpiringLakePrefix[];
}

/** Where a stack's config comes from. */
export interface StackSources {
    /** The stack file (for the program, the current stack's); it places every problem with a setting. */
    readonly stackFile: StackFile;
    /** The `ingestion:*` settings, without the namespace (for the program, Pulumi's config). */
    readonly settings: Record<string, unknown>;
    /** The region the stack deploys to, when known: a filter's stream of another stack must be in it. */
    readonly region?: string | undefined;
    /** The folder holding config/mappings, config/streams and config/lookups. Defaults to the config root. */
    readonly root?: string;
}

/**
 * Validates everything a stack deploys, in order (settings, mappings, streams, lookups, then the
 * stack as a whole), throwing a ConfigError with every located problem of the first stage that
 * has any: a later stage needs the earlier ones valid to say anything true.
 */
export function loadStackConfig(stack: string, sources: StackSources): StackConfig {
    const root = sources.root ?? configRoot();
    const directory = (kind: ConfigKind) => configDirectory(kind, root);
    const { stackFile } = sources;
    const settings = parseStackSettings(stack, sources.settings, stackFile);
    const plans = loadJobPlans(settings.mappings, directory("mappings"), stackFile);
    const streams = loadStreams(settings.streams, directory("streams"), stackFile, plans);
    const region = sources.region;
    const lookups = loadLookups(settings.lookups, streams, region !== undefined ? { region } : {}, directory("lookups"), stackFile);
    // The pipelines' Iceberg tables never expire by age; their rows and snapshots expire through the tables.
    const expiringLakePrefixes: ExpiringLakePrefix[] = [
        { prefix: streamLakesPrefix, holds: "the stream lakes' objects" },
        ...lookups.flatMap(({ lookup, filter }) =>
            filter && "prefix" in filter.destination
                ? [{ prefix: filter.destination.prefix, holds: `the events the filter of lookup "${lookup}" keeps` }]
                : [],
        ),
    ];
    checkStack(stack, settings, plans, expiringLakePrefixes, directory("mappings"));
    return { settings, plans, streams, lookups, expiringLakePrefixes };
}

/**
 * Loads, validates and plans the named mappings. Every problem in every file is reported in one
 * ConfigError, as are pipelines that would collide (one landing prefix inside another, or one
 * Glue table name for two tables), each at the field of the later file. `listedIn`, the stack file
 * listing the names, places a name that has no file.
 */
export function loadJobPlans(names: readonly string[], directory = configDirectory("mappings"), listedIn?: StackFile): JobPlan[] {
    const { loaded, problems } = loadNamedFiles(names, directory, "mapping", "mappings", listedIn, (source, name) => {
        const mapping = readMapping(source);
        if (mapping.pipeline !== name) {
            source.report(["pipeline"], `pipeline "${mapping.pipeline}" must be defined in a file named ${mapping.pipeline}.yaml`);
            source.throwIfProblems();
        }
        return buildJobPlan(mapping);
    });
    const glueTables = new Map<string, { plan: JobPlan; table: LakeTable; file: string }>();
    for (const [index, { value: plan, source }] of loaded.entries()) {
        for (const { value: other, source: otherSource } of loaded.slice(0, index)) {
            const [a, b] = [plan.extract.landingPrefix, other.extract.landingPrefix];
            if (a.startsWith(b) || b.startsWith(a)) {
                source.report(
                    ["extract", "landingPrefix"],
                    `"${a}" overlaps "${b}", the landing prefix of pipeline "${other.pipeline}" (${otherSource.fileName})`,
                );
            }
        }
        const reported = new Set<string>();
        for (const table of plan.lake.tables) {
            const owner = glueTables.get(table.name);
            if (!owner) {
                glueTables.set(table.name, { plan, table, file: source.fileName });
            } else if (owner.plan.pipeline !== plan.pipeline && !reported.has(table.table)) {
                reported.add(table.table);
                source.report(
                    ["tables", table.table],
                    `${lakeTableRole(table, "its")} "${table.name}" is also ${lakeTableRole(owner.table, "the")} of table ` +
                        `"${owner.table.table}" in pipeline "${owner.plan.pipeline}" (${owner.file}); ${glueTableNaming}, ` +
                        "so rename this table or the pipeline",
                );
            }
        }
    }
    problems.push(...loaded.flatMap(({ source }) => source.messages()));
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return loaded.map(({ value }) => value);
}

/** How Glue tables are named, for messages about two that collide. */
const glueTableNaming = "Glue tables are named <pipeline>_<table> (the pipeline's dashes as _) and <stream>_events";

/** A lake table as a message names it: `its Glue table`, `the history table`. */
function lakeTableRole(table: LakeTable, article: "its" | "the"): string {
    return `${article} ${table.role === "current" ? "Glue" : table.role} table`;
}

/** A prefix of the lake bucket whose objects expire by age, and what is kept there (for messages). */
export interface ExpiringLakePrefix {
    readonly prefix: string;
    readonly holds: string;
}

/**
 * Checks a stack's settings against the mappings it deploys and the lake bucket's expiring
 * prefixes, reporting every problem at once, each located in the mapping it concerns:
 *
 * - The stack's `retentionDays` (how long landed archives, the lake's history and its snapshots are
 *   kept) must be at least each mapping's `ttl.retentionDays` (how long an item lives after its
 *   latest activity): an item is rebuilt from those, so it must not outlive them.
 * - No pipeline's lake tables (`<pipeline>/`) may share a prefix with objects that expire by age, or
 *   the expiry would delete files its current rows still live in.
 */
export function checkStack(
    stack: string,
    settings: Pick<StackSettings, "retentionDays">,
    plans: readonly JobPlan[],
    expiringLakePrefixes: readonly ExpiringLakePrefix[],
    directory = configDirectory("mappings"),
): void {
    const problems: string[] = [];
    for (const plan of plans) {
        const file = path.join(directory, `${plan.pipeline}.yaml`);
        const source = new YamlSource(displayPath(file), fs.readFileSync(file, "utf8"));
        const ttlDays = plan.item.ttl.retentionDays;
        if (ttlDays > settings.retentionDays) {
            source.report(
                ["ttl", "retentionDays"],
                `items live ${ttlDays} days after their latest activity, but Pulumi.${stack}.yaml keeps landed archives and the ` +
                    `lake's history for ${configNamespace}:retentionDays ${settings.retentionDays} days, so rows an item still ` +
                    `needs could not be rebuilt; raise ${configNamespace}:retentionDays to at least ${ttlDays} or shorten ttl.retentionDays`,
            );
        }
        const tables = `${plan.pipeline}/`;
        for (const { prefix, holds } of expiringLakePrefixes) {
            if (tables.startsWith(prefix) || prefix.startsWith(tables)) {
                source.report(
                    ["pipeline"],
                    `the lake tables of "${plan.pipeline}" (${tables} in the lake bucket) overlap ${prefix}, where ${holds} expire ` +
                        `after ${configNamespace}:retentionDays; the expiry would delete files current rows live in`,
                );
            }
        }
        problems.push(...source.messages());
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
}

/**
 * The plan of one mapping, given as a name (`config/mappings/<name>.yaml` under the config root, as a stack names it) or
 * as the path of a mapping file anywhere (anything with a "/" or ending in .yaml or .yml), for
 * trying a mapping outside any stack; a file given by path need not be named after its pipeline.
 */
export function loadJobPlan(mapping: string): JobPlan {
    if (!mapping.includes("/") && !/\.ya?ml$/.test(mapping)) {
        return loadJobPlans([mapping])[0]!;
    }
    if (!fs.existsSync(mapping)) {
        throw new ConfigError([`${mapping}: no such mapping file`]);
    }
    return buildJobPlan(parseMapping(mapping, fs.readFileSync(mapping, "utf8")));
}

/**
 * Loads and validates the named stream definitions, reporting every problem in every file at once;
 * a stream whose Glue table (`<stream>_events`) is also a table of one of `plans` is refused.
 */
export function loadStreams(
    names: readonly string[],
    directory = configDirectory("streams"),
    listedIn?: StackFile,
    plans: readonly JobPlan[] = [],
): Stream[] {
    const { loaded, problems } = loadNamedFiles(names, directory, "stream", "streams", listedIn, (source) => readStream(source));
    for (const { value: stream, source } of loaded) {
        const table = streamTableName(stream);
        for (const plan of plans) {
            const owner = plan.lake.tables.find((candidate) => candidate.name === table);
            if (owner) {
                source.report(
                    ["stream"],
                    `its Glue table "${table}" is also ${lakeTableRole(owner, "the")} of table "${owner.table}" in pipeline ` +
                        `"${plan.pipeline}"; ${glueTableNaming}, so rename the stream or that table`,
                );
            }
        }
    }
    problems.push(...loaded.flatMap(({ source }) => source.messages()));
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return loaded.map(({ value }) => value);
}

/**
 * Loads and validates the named lookup definitions against the stack (`context`: its region, when
 * known); an event filter must name one of the stack's streams and a field of it, or a stream of
 * another stack or account by ARN (whose fields the stack cannot know).
 */
export function loadLookups(
    names: readonly string[],
    streams: readonly Stream[],
    context: LookupContext = {},
    directory = configDirectory("lookups"),
    listedIn?: StackFile,
): Lookup[] {
    const { loaded, problems } = loadNamedFiles(names, directory, "lookup", "lookups", listedIn, (source) => readLookup(source, context));
    for (const { value: lookup, source } of loaded) {
        const filter = lookup.filter;
        if (!filter || namesStreamByArn(filter.stream)) {
            continue;
        }
        const stream = streams.find((candidate) => candidate.stream === filter.stream);
        if (!stream) {
            const known = streams.length > 0 ? streams.map(({ stream: name }) => name).join(", ") : "none";
            source.report(
                ["filter", "stream"],
                `"${filter.stream}" is not one of the stack's streams (${configNamespace}:streams: ${known}); ` +
                    "a stream of another stack or account is named by its ARN",
            );
        } else if (!stream.typedFields.some((field) => field.name === filter.eventField)) {
            source.report(["filter", "eventField"], `"${filter.eventField}" is not a field of stream "${stream.stream}"`);
        }
    }
    problems.push(...loaded.flatMap(({ source }) => source.messages()));
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return loaded.map(({ value }) => value);
}

/** A file a stack setting names, validated, with its source for problems found across files. */
interface LoadedFile<T> {
    readonly value: T;
    readonly source: YamlSource;
}

/**
 * Reads `<directory>/<name>.yaml` for each name the stack setting lists, collecting every ConfigError;
 * a name without a file is placed in `listedIn`, the stack file listing it, when known.
 */
function loadNamedFiles<T>(
    names: readonly string[],
    directory: string,
    noun: string,
    setting: string,
    listedIn: StackFile | undefined,
    read: (source: YamlSource, name: string) => T,
): { loaded: LoadedFile<T>[]; problems: string[] } {
    const problems: string[] = [];
    const loaded: LoadedFile<T>[] = [];
    names.forEach((name, index) => {
        const file = path.join(directory, `${name}.yaml`);
        const displayName = displayPath(file);
        if (!fs.existsSync(file)) {
            problems.push(
                listedIn
                    ? listedIn.message([setting, index], `${noun} "${name}" does not exist: there is no ${displayName}`)
                    : `${displayName}: ${noun} "${name}" does not exist; the stack's ${configNamespace}:${setting} names it`,
            );
            return;
        }
        const source = new YamlSource(displayName, fs.readFileSync(file, "utf8"));
        try {
            loaded.push({ value: read(source, name), source });
        } catch (error) {
            if (!(error instanceof ConfigError)) {
                throw error;
            }
            problems.push(...error.problems);
        }
    });
    return { loaded, problems };
}

function parseConfigValue(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}
