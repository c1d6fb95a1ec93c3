import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { buildJobPlan, type JobPlan } from "./job-plan";
import { parseMapping } from "./mapping";
import { configNamespace, parseStackSettings, type StackSettings } from "./stack-settings";
import { ConfigError } from "./yaml-source";

export const repositoryRoot = path.resolve(__dirname, "..");
export const mappingsDirectory = path.join(repositoryRoot, "config", "mappings");

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
    const problems: string[] = [];
    const plans: JobPlan[] = [];
    for (const name of names) {
        const file = path.join(directory, `${name}.yaml`);
        const displayName = path.relative(repositoryRoot, file);
        if (!fs.existsSync(file)) {
            problems.push(`${displayName}: mapping "${name}" does not exist; the stack's ${configNamespace}:mappings names it`);
            continue;
        }
        try {
            const mapping = parseMapping(displayName, fs.readFileSync(file, "utf8"));
            if (mapping.pipeline !== name) {
                problems.push(`${displayName}: pipeline is "${mapping.pipeline}" but the file is named "${name}.yaml"; they must match`);
                continue;
            }
            plans.push(buildJobPlan(mapping));
        } catch (error) {
            if (!(error instanceof ConfigError)) {
                throw error;
            }
            problems.push(...error.problems);
        }
    }
    for (const [index, plan] of plans.entries()) {
        for (const other of plans.slice(0, index)) {
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
    return plans;
}

function parseConfigValue(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}
