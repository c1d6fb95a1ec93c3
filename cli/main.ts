import * as path from "path";
import { parseArgs, type ParseArgsConfig } from "util";
import { repositoryRoot } from "../config/load";
import { describeAwsFailure, environmentClients, type AwsClients } from "./aws";
import { runPlan } from "./plan";
import { defaultPricePerTerabyte, outputFormats, runQuery, type OutputFormat } from "./query";
import { rebuild } from "./rebuild";
import { replay } from "./replay";
import { listExportRuns } from "./export-runs";
import { listLookupRuns } from "./lookup-runs";
import { listRuns } from "./runs";
import { loadStackOutputs, selectExport, selectLookup, selectPipeline, type PulumiRunner } from "./stack-outputs";
import { ExitCode, OperatorError, type Terminal } from "./terminal";

/**
 * `ingest`: the operator's command line. Did today's extracts load, why did one fail, can it be
 * loaded again, can the lake be rebuilt, what does the lake say, and what will a stack declare.
 */

export const usage = `usage: ingest <command> [options]

Commands:
  runs     [--pipeline NAME] [--limit N] [--failed]
           recent runs of a pipeline's Glue job: state, duration, extract, counts from the run report;
           --failed shows Glue's error, the report's reason and what was quarantined, then the
           archives the trigger quarantined for a bad name (they started no run)
  runs     --lookup NAME [--limit N] [--failed]
           recent loads of a lookup (runs of its loader job): export folder, parts, lines, loaded,
           rejected by reason, deleted, from each load's report; --failed shows the loads Glue or
           the report says failed, with Glue's error, the reason and where the report is
  runs     --export STREAM [--limit N] [--failed]
           recent runs of a stream's warehouse export job: objects converted, records written and
           rejected, Parquet files, the object(s) converted, from each run's report; --failed shows
           the runs Glue or the report says failed, with Glue's error, the reason, each object
           converted or left pending and where the report is
  replay   <archive> | --from EXTRACT_ID --to EXTRACT_ID   [--pipeline NAME] [--force]
           starts runs for archives already landed, through the trigger's run ledger, in extract order;
           an archive loaded successfully is skipped unless --force
  rebuild  [--pipeline NAME] [--yes]
           disaster recovery: empties the pipeline's current and keys tables and the lake's records
           in the run ledger, then replays every landed archive in extract order (as replay --force);
           refused while a run holds the lake lease. Without --yes it only says what it would do
  query    "<sql>" | --saved NAME   [--format table|csv|json] [--price-per-tb DOLLARS]
           runs an Athena query in the stack's workgroup and shows the data scanned and its cost
  plan     [--diagram FILE]
           structural preview: the resources the program declares for the stack's config, built
           under mocks, and a Mermaid diagram of its pipelines (not a substitute for pulumi preview)

Options for every command:
  --stack NAME     the stack (Pulumi.<NAME>.yaml); defaults to dev
  --outputs FILE   the stack's outputs, saved with \`pulumi stack output --json\`; defaults to the file
                   INGEST_STACK_OUTPUTS names, else asks the Pulumi CLI

Exit codes: 0 done, 1 unexpected error, 2 usage or configuration, 3 AWS credentials or access,
4 not found, 5 query failed, 6 a replay or rebuild could not start a run (or the lake lease is held).
`;

export interface CliDependencies {
    readonly terminal: Terminal;
    readonly environment: NodeJS.ProcessEnv;
    readonly clients: () => AwsClients;
    readonly runPulumi?: PulumiRunner;
}

type CommandName = "runs" | "replay" | "rebuild" | "query" | "plan";

const options = {
    stack: { type: "string", default: "dev" },
    outputs: { type: "string" },
    help: { type: "boolean", short: "h" },
    pipeline: { type: "string" },
    lookup: { type: "string" },
    export: { type: "string" },
    limit: { type: "string", default: "20" },
    failed: { type: "boolean", default: false },
    from: { type: "string" },
    to: { type: "string" },
    force: { type: "boolean", default: false },
    yes: { type: "boolean", default: false },
    saved: { type: "string" },
    format: { type: "string", default: "table" },
    "price-per-tb": { type: "string", default: String(defaultPricePerTerabyte) },
    diagram: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

type OptionName = keyof typeof options;

const commonOptions: readonly OptionName[] = ["stack", "outputs", "help"];
const commands: Record<CommandName, readonly OptionName[]> = {
    runs: ["pipeline", "lookup", "export", "limit", "failed"],
    replay: ["pipeline", "from", "to", "force"],
    rebuild: ["pipeline", "yes"],
    query: ["saved", "format", "price-per-tb"],
    plan: ["diagram"],
};

/** Runs one command line and returns its exit code; every failure is written to stderr as one actionable message. */
export async function runCli(argv: readonly string[], dependencies: CliDependencies): Promise<number> {
    const { terminal } = dependencies;
    try {
        return await dispatch(argv, dependencies);
    } catch (error) {
        const failure = error instanceof OperatorError ? error : describeAwsFailure(error);
        if (failure) {
            terminal.stderr.write(`ingest: ${failure.message}\n`);
            return failure.exitCode;
        }
        terminal.stderr.write(`ingest: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        return ExitCode.unexpected;
    }
}

async function dispatch(argv: readonly string[], dependencies: CliDependencies): Promise<number> {
    const { terminal, environment } = dependencies;
    const [command, ...rest] = argv;
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
        terminal.stdout.write(usage);
        return command === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (!isCommand(command)) {
        throw new OperatorError(
            ExitCode.usage,
            `unknown command "${command}"; the commands are runs, replay, rebuild, query and plan (ingest --help)`,
        );
    }
    const parsed = parseCommandLine(command, rest);
    const { values, positionals } = parsed;
    if (values.help) {
        terminal.stdout.write(usage);
        return ExitCode.ok;
    }
    const stack = values.stack;
    if (command === "plan") {
        refuseExtraArguments(command, positionals, 0);
        const diagramFile = values.diagram ?? path.join(repositoryRoot, "out", `plan-${stack}.mmd`);
        return runPlan({ stack, diagramFile }, terminal);
    }

    const outputs = await loadStackOutputs({ stack, file: values.outputs ?? environment.INGEST_STACK_OUTPUTS }, dependencies.runPulumi);
    switch (command) {
        case "runs": {
            refuseExtraArguments(command, positionals, 0);
            const request = { limit: positiveInteger("--limit", values.limit), failed: values.failed };
            const named = (["pipeline", "lookup", "export"] as const).filter((option) => values[option] !== undefined);
            if (named.length > 1) {
                throw new OperatorError(
                    ExitCode.usage,
                    `runs takes one of --pipeline, --lookup and --export, not ${named.map((option) => `--${option}`).join(" and ")}`,
                );
            }
            if (values.lookup !== undefined) {
                return listLookupRuns(request, selectLookup(outputs, stack, values.lookup), dependencies.clients(), terminal);
            }
            if (values.export !== undefined) {
                return listExportRuns(request, selectExport(outputs, stack, values.export), dependencies.clients(), terminal);
            }
            const pipeline = selectPipeline(outputs, stack, values.pipeline);
            return listRuns(request, pipeline, outputs, dependencies.clients(), terminal);
        }
        case "replay": {
            refuseExtraArguments(command, positionals, 1);
            const pipeline = selectPipeline(outputs, stack, values.pipeline);
            const [archive] = positionals;
            const { from, to, force } = values;
            if (archive !== undefined && from === undefined && to === undefined) {
                return replay({ kind: "archive", archive, force }, pipeline, outputs, dependencies.clients(), terminal);
            }
            if (archive === undefined && from !== undefined && to !== undefined) {
                return replay({ kind: "range", from, to, force }, pipeline, outputs, dependencies.clients(), terminal);
            }
            throw new OperatorError(ExitCode.usage, "replay takes one archive, or --from and --to extract ids, not both");
        }
        case "rebuild": {
            refuseExtraArguments(command, positionals, 0);
            const pipeline = selectPipeline(outputs, stack, values.pipeline);
            return rebuild({ yes: values.yes }, pipeline, outputs, dependencies.clients(), terminal);
        }
        case "query": {
            refuseExtraArguments(command, positionals, 1);
            const [sql] = positionals;
            const saved = values.saved;
            if ((sql === undefined) === (saved === undefined)) {
                throw new OperatorError(ExitCode.usage, 'query takes an SQL statement ("SELECT ...") or --saved NAME, not both');
            }
            const format = values.format;
            if (!isOutputFormat(format)) {
                throw new OperatorError(ExitCode.usage, `--format ${format} is not one of ${outputFormats.join(", ")}`);
            }
            const price = Number(values["price-per-tb"]);
            if (!Number.isFinite(price) || price < 0) {
                throw new OperatorError(ExitCode.usage, `--price-per-tb ${values["price-per-tb"]} is not a price in dollars`);
            }
            const query = sql !== undefined ? { sql } : { saved: saved! };
            return runQuery({ query, format, pricePerTerabyte: price }, outputs, dependencies.clients(), terminal);
        }
    }
}

function parseCommandLine(command: CommandName, args: readonly string[]) {
    let parsed;
    try {
        parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true, tokens: true });
    } catch (error) {
        const unknown = /^Unknown option '([^']+)'/.exec(error instanceof Error ? error.message : "");
        throw new OperatorError(
            ExitCode.usage,
            unknown
                ? `${command} has no option ${unknown[1]} (ingest --help)`
                : `${command}: ${String(error instanceof Error ? error.message : error)} (ingest --help)`,
        );
    }
    const allowed = new Set([...commonOptions, ...commands[command]]);
    const allowedNames: ReadonlySet<string> = allowed;
    const misplaced = parsed.tokens.find((token) => token.kind === "option" && !allowedNames.has(token.name));
    if (misplaced?.kind === "option") {
        throw new OperatorError(ExitCode.usage, `${command} has no option ${misplaced.rawName} (ingest --help)`);
    }
    return parsed;
}

function refuseExtraArguments(command: CommandName, positionals: readonly string[], allowed: number): void {
    if (positionals.length > allowed) {
        throw new OperatorError(ExitCode.usage, `${command}: unexpected argument "${positionals[allowed]}" (ingest --help)`);
    }
}

function positiveInteger(flag: string, text: string): number {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
        throw new OperatorError(ExitCode.usage, `${flag} ${text} is not a whole number of at least 1`);
    }
    return value;
}

function isCommand(name: string): name is CommandName {
    return Object.hasOwn(commands, name);
}

function isOutputFormat(format: string): format is OutputFormat {
    return (outputFormats as readonly string[]).includes(format);
}

function processTerminal(): Terminal {
    return {
        stdout: { write: (text) => void process.stdout.write(text), isTTY: Boolean(process.stdout.isTTY) },
        stderr: { write: (text) => void process.stderr.write(text), isTTY: Boolean(process.stderr.isTTY) },
        now: () => new Date(),
        sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
        onInterrupt: (handler) => {
            process.once("SIGINT", handler);
            return () => void process.off("SIGINT", handler);
        },
    };
}

if (require.main === module) {
    void runCli(process.argv.slice(2), { terminal: processTerminal(), environment: process.env, clients: environmentClients }).then(
        (code) => {
            process.exitCode = code;
        },
    );
}
