import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { buildJobPlan, type JobPlan } from "./job-plan";
import { parseMapping } from "./mapping";
import { namesStreamByArn, parseLookup, type Lookup, type LookupContext } from "./lookup";
import { configNamespace, parseStackSettings, type StackSettings } from "./stack-settings";
import { parseStream, type Stream } from "./stream";
import { ConfigError, YamlSource } from "./yaml-source";

export const repositoryRoot = path.resolve(__dirname, "..");
export const mappingsDirectory = path.join(repositoryRoot, "config", "mappings");
export const streamsDirectory = path.join(repositoryRoot, "config", "streams");
export const lookupsDirectory = path.join(repositoryRoot, "config", "lookups");

/** The validated `ingestion:*` settings of the current stack. */
export function readStackSettings(): StackSettings {
    const prefix = `${configNamespace}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) {
            raw[key.slice(prefix.length)] = parseConfigValue(value);
        }
    }
    return parseStackSettings(pulumi.getStack(), raw);
}

/**
 * Loads, validates and plans the named mappings. Every problem in every file is reported in one
 * ConfigError, as are pipelines that would collide (same name, or one landing prefix inside another).
 */
export function loadJobPlans(names: readonly string[], directory = mappingsDirectory): JobPlan[] {
    const { loaded, problems } = loadNamedFiles(names, directory, "mapping", "mappings", (displayName, text, name) => {
        const mapping = parseMapping(displayName, text);
        if (mapping.pipeline !== name) {
            throw new ConfigError([
                `${displayName}: pipeline is "${mapping.pipeline}" but the file is named "${name}.yaml"; they must match`,
            ]);
        }
        return buildJobPlan(mapping);
    });
    for (const [index, plan] of loaded.entries()) {
        for (const other of loaded.slice(0, index)) {
            const [a, b] = [plan.extract.landingPrefix, other.extract.landingPrefix];
            if (a.startsWith(b) || b.startsWith(a)) {
                problems.push(
                    `config/mappings/${plan.pipeline}.yaml: extract.landingPrefix "${a}" overlaps "${b}" of pipeline "${other.pipeline}"`,
                );
            }
        }
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return loaded;
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
    directory = mappingsDirectory,
): void {
    const problems: string[] = [];
    for (const plan of plans) {
        const file = path.join(directory, `${plan.pipeline}.yaml`);
        const source = new YamlSource(path.relative(repositoryRoot, file), fs.readFileSync(file, "utf8"));
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
 * The plan of one mapping, given as a name (`config/mappings/<name>.yaml`, as a stack names it) or
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

/** Loads and validates the named stream definitions, reporting every problem in every file at once. */
export function loadStreams(names: readonly string[], directory = streamsDirectory): Stream[] {
    const { loaded, problems } = loadNamedFiles(names, directory, "stream", "streams", parseStream);
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return loaded;
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
    directory = lookupsDirectory,
): Lookup[] {
    const { loaded, problems } = loadNamedFiles(names, directory, "lookup", "lookups", (displayName, text) =>
        parseLookup(displayName, text, context),
    );
    for (const lookup of loaded) {
        const filter = lookup.filter;
        if (!filter || namesStreamByArn(filter.stream)) {
            continue;
        }
        const file = `config/lookups/${lookup.lookup}.yaml`;
        const stream = streams.find((candidate) => candidate.stream === filter.stream);
        if (!stream) {
            problems.push(`${file}: filter.stream "${filter.stream}" is not one of the stack's streams (${configNamespace}:streams)`);
        } else if (!stream.typedFields.some((field) => field.name === filter.eventField)) {
            problems.push(`${file}: filter.eventField "${filter.eventField}" is not a field of stream "${stream.stream}"`);
        }
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return loaded;
}

/** Reads `<directory>/<name>.yaml` for each name the stack setting lists, collecting every ConfigError. */
function loadNamedFiles<T>(
    names: readonly string[],
    directory: string,
    noun: string,
    setting: string,
    parse: (displayName: string, text: string, name: string) => T,
): { loaded: T[]; problems: string[] } {
    const problems: string[] = [];
    const loaded: T[] = [];
    for (const name of names) {
        const file = path.join(directory, `${name}.yaml`);
        const displayName = path.relative(repositoryRoot, file);
        if (!fs.existsSync(file)) {
            problems.push(`${displayName}: ${noun} "${name}" does not exist; the stack's ${configNamespace}:${setting} names it`);
            continue;
        }
        try {
            loaded.push(parse(displayName, fs.readFileSync(file, "utf8"), name));
        } catch (error) {
            if (!(error instanceof ConfigError)) {
                throw error;
            }
            problems.push(...error.problems);
        }
    }
    return { loaded, problems };
}

function parseConfigValue(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}
