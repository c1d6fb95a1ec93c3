import { spawn } from "child_process";
import * as fs from "fs";
import type { z } from "zod";
import {
    lookupTableOutputsSchema,
    stackOutputsSchema,
    streamingLakeOutputsSchema,
    type ExtractPipelineOutputs as PipelineOutputs,
    type LookupTableOutputs as LookupOutputs,
    type StackOutputs,
} from "../contracts/stack-outputs";
import { ExitCode, OperatorError } from "./terminal";

/**
 * The stack outputs the operator commands need (index.ts exports them; both sides take their names
 * from contracts/stack-outputs.ts). They come from a file saved with `pulumi stack output --json`,
 * or from the Pulumi CLI when it is installed, so the tool also works where only the outputs were
 * handed over.
 */

export type { StackOutputs };
export type ExtractPipelineOutputs = PipelineOutputs & { readonly pipeline: string };
export type LookupTableOutputs = LookupOutputs & { readonly lookup: string };
/** A stream's warehouse export: the Glue job whose runs convert what Firehose delivered to Parquet. */
export interface WarehouseExportOutputs {
    readonly stream: string;
    readonly exportJob: string;
}

export interface OutputsSource {
    readonly stack: string;
    /** `--outputs FILE`, else the file INGEST_STACK_OUTPUTS names, else the Pulumi CLI. */
    readonly file: string | undefined;
}

/** Runs `pulumi` with arguments and returns its stdout; rejects with its stderr, or with ENOENT when it is not installed. */
export type PulumiRunner = (args: readonly string[]) => Promise<string>;

export async function loadStackOutputs(source: OutputsSource, runPulumi: PulumiRunner = runPulumiCli): Promise<StackOutputs> {
    const { text, origin } = source.file ? readOutputsFile(source.file) : await outputsFromPulumi(source.stack, runPulumi);
    let document: unknown;
    try {
        document = JSON.parse(text);
    } catch {
        throw new OperatorError(
            ExitCode.usage,
            `${origin} is not JSON; save it with \`pulumi stack output --json --stack ${source.stack}\``,
        );
    }
    const parsed = stackOutputsSchema.safeParse(document);
    if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(document)"}: ${issue.message}`);
        throw new OperatorError(
            ExitCode.usage,
            `${origin} lacks stack outputs this tool needs (is it the output of this platform's stack?):\n  ${problems.join("\n  ")}`,
        );
    }
    return parsed.data;
}

/** The named pipeline's outputs; the name may be left out when the stack has one pipeline. */
export function selectPipeline(outputs: StackOutputs, stack: string, name: string | undefined): ExtractPipelineOutputs {
    const names = Object.keys(outputs.extractPipelines).sort();
    if (name === undefined) {
        if (names.length === 1) {
            return { pipeline: names[0]!, ...outputs.extractPipelines[names[0]!]! };
        }
        throw new OperatorError(
            ExitCode.usage,
            names.length === 0
                ? `stack ${stack} has no extract pipelines`
                : `stack ${stack} has ${names.length} extract pipelines; name one with --pipeline (${names.join(", ")})`,
        );
    }
    const found = outputs.extractPipelines[name];
    if (!found) {
        throw new OperatorError(
            ExitCode.usage,
            `unknown pipeline "${name}": stack ${stack} has ${names.length === 0 ? "no extract pipelines" : names.join(", ")}`,
        );
    }
    return { pipeline: name, ...found };
}

/** The named lookup's outputs; an unknown name is refused with the lookups the stack has. */
export function selectLookup(outputs: StackOutputs, stack: string, name: string): LookupTableOutputs {
    const entry = selectEntry(outputs.lookupTables, lookupTableOutputsSchema, { stack, name, kind: "lookup", output: "lookupTables" });
    return { lookup: name, ...entry };
}

/** The named stream's warehouse export; a stream the stack lacks, or one without an export, is refused. */
export function selectExport(outputs: StackOutputs, stack: string, name: string): WarehouseExportOutputs {
    const entry = selectEntry(outputs.streamingLakes, streamingLakeOutputsSchema, {
        stack,
        name,
        kind: "stream",
        output: "streamingLakes",
    });
    if (!entry.warehouse) {
        throw new OperatorError(
            ExitCode.usage,
            `stream ${name} of stack ${stack} has no warehouse export (its stream file has no warehouse section)`,
        );
    }
    return { stream: name, exportJob: entry.warehouse.exportJob };
}

/** Names an entry of a record output (`kind` "lookup", in `output` lookupTables) for the messages. */
interface EntryName {
    readonly stack: string;
    readonly name: string;
    readonly kind: string;
    readonly output: string;
}

/** The named entry of a record output as `schema` reads it; an unknown name is refused with the names there are. */
function selectEntry<T>(entries: Record<string, unknown>, schema: z.ZodType<T>, { stack, name, kind, output }: EntryName): T {
    const names = Object.keys(entries).sort();
    if (!Object.hasOwn(entries, name)) {
        throw new OperatorError(
            ExitCode.usage,
            `unknown ${kind} "${name}": stack ${stack} has ${names.length === 0 ? `no ${kind}s` : names.join(", ")}`,
        );
    }
    const parsed = schema.safeParse(entries[name]);
    if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${output}.${name}.${issue.path.join(".")}: ${issue.message}`);
        throw new OperatorError(
            ExitCode.usage,
            `the stack outputs lack what this tool needs of ${kind} ${name} (were they saved before the stack was last updated?):\n  ${problems.join("\n  ")}`,
        );
    }
    return parsed.data;
}

function readOutputsFile(file: string): { text: string; origin: string } {
    try {
        return { text: fs.readFileSync(file, "utf8"), origin: `stack outputs file ${file}` };
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new OperatorError(
            ExitCode.usage,
            code === "ENOENT" ? `stack outputs file ${file} does not exist` : `cannot read stack outputs file ${file}: ${String(error)}`,
        );
    }
}

async function outputsFromPulumi(stack: string, runPulumi: PulumiRunner): Promise<{ text: string; origin: string }> {
    const origin = `\`pulumi stack output --json --stack ${stack}\``;
    try {
        return { text: await runPulumi(["stack", "output", "--json", "--stack", stack]), origin };
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
            throw new OperatorError(
                ExitCode.usage,
                `no stack outputs for stack ${stack}: the Pulumi CLI is not installed here. ` +
                    `Save them where it is with \`pulumi stack output --json --stack ${stack} > ${stack}-outputs.json\` ` +
                    `and pass --outputs ${stack}-outputs.json (or set INGEST_STACK_OUTPUTS)`,
            );
        }
        throw new OperatorError(ExitCode.usage, `${origin} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
}

function runPulumiCli(args: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn("pulumi", args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(stderr.trim() || `exit code ${code}`))));
    });
}
