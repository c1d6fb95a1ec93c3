/**
 * The options of `npm run local`: which pipeline's extracts, or which lookup's exports, to load on
 * the local AWS emulator. Parsing only: scripts/run-local.ts does the work.
 */
import * as path from "path";
import { parseArgs } from "util";

export const usage = `Usage: npm run local -- [options]
       npm run local -- --lookup NAME --export DIR|FILE [--export ...] [--lookup-config FILE] [--out DIR]

Lands extracts in a pipeline on a local AWS emulator (moto): the real trigger handler starts a run
for each archive and the real Glue script loads it on local Spark, one run after the other. With
--lookup, loads exports into a lookup table instead, with the real loader Glue script.

Options:
  --mapping NAME|FILE  a mapping name under config/mappings/, or the path of a mapping file
                       anywhere (default: customers)
  --extract FILE|DIR   an archive to land; repeat it to land several, in the order given. A
                       folder's archives are landed in extract order: the order their names give
                       under the mapping's archiveName, not the order of the file names. Every
                       archive must be named as the mapping's archiveName says.
  --roots N            without --extract: root rows of each generated sample extract (default: 200)
  --extracts N         without --extract: sample extracts to generate (default: 2)
  --seed N             without --extract: seed of the generated sample extracts (default: 7)
  --out DIR            write DIR/items.jsonl (the items or lookup table at the end) and
                       DIR/report.json (every run's or load's report, in order)
  --help               print this text

Lookup options:
  --lookup NAME        a lookup name under config/lookups/ (or, with --lookup-config, the
                       lookup: of that file); loads each --export into its table, in the order
                       given, as the deployed loader would (its fullRefresh applies to every load)
  --export DIR|FILE    an export to load; repeat it to load several. A folder is uploaded as it
                       is under the lookup's source.prefix (its name, file names, sub-folders and
                       completion marker kept, the marker last); a single file becomes the folder
                       <file name without extension>/ holding it and a _SUCCESS marker
  --lookup-config FILE the lookup definition, from a file anywhere (named <lookup>.yaml)

Exit code: 0 when every run or load succeeded; 1 when one failed (each failure's reason is
printed last) or the local run could not finish; 2 for a wrong option, archive name, mapping or
lookup.

Mapping and lookup names are read under the config root: the repository, or the folder the
INGESTION_CONFIG_ROOT environment variable names.`;

/** A mistake in how the command was called; the message says which. */
export class UsageError extends Error {
    override readonly name = "UsageError";
}

export interface SampleSettings {
    readonly roots: number;
    readonly extracts: number;
    readonly seed: number;
}

/** Land extracts in a pipeline (what `npm run local` does without --lookup). */
export interface PipelineOptions {
    readonly kind: "pipeline";
    readonly mapping: string;
    /** The --extract values as given: archives and folders of archives. */
    readonly extractPaths: readonly string[];
    readonly sample: SampleSettings;
    readonly out?: string;
}

/** Load exports into a lookup table. */
export interface LookupOptions {
    readonly kind: "lookup";
    readonly lookup: string;
    /** The lookup definition's file, when not config/lookups/<lookup>.yaml. */
    readonly lookupConfig?: string;
    /** The --export values as given: folders and files, in load order. */
    readonly exportPaths: readonly string[];
    readonly out?: string;
}

export type LocalOptions = PipelineOptions | LookupOptions;

const pipelineOnly = ["mapping", "extract", "roots", "extracts", "seed"] as const;
const lookupOnly = ["export", "lookup-config"] as const;

function parsedArguments(argv: readonly string[]) {
    try {
        return parseArgs({
            args: [...argv],
            options: {
                mapping: { type: "string" },
                extract: { type: "string", multiple: true },
                roots: { type: "string" },
                extracts: { type: "string" },
                seed: { type: "string" },
                lookup: { type: "string" },
                export: { type: "string", multiple: true },
                "lookup-config": { type: "string" },
                out: { type: "string" },
                help: { type: "boolean", default: false },
            },
        }).values;
    } catch (error) {
        throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    }
}

/** The options, or undefined when --help asks for the usage text; a wrong combination is a UsageError. */
export function parseLocalOptions(argv: readonly string[]): LocalOptions | undefined {
    const values = parsedArguments(argv);
    if (values.help) {
        return undefined;
    }
    const given = (names: readonly (keyof typeof values)[]) =>
        names.filter((name) => values[name] !== undefined).map((name) => `--${name}`);
    const out = values.out ? { out: path.resolve(values.out) } : {};
    if (values.lookup !== undefined) {
        const misplaced = given(pipelineOnly);
        if (misplaced.length > 0) {
            throw new UsageError(
                `${misplaced.join(", ")} ${misplaced.length === 1 ? "lands" : "land"} extracts in a pipeline, not with --lookup`,
            );
        }
        if (!values.export || values.export.length === 0) {
            throw new UsageError("--lookup needs at least one --export: a folder holding an export, or a file of one");
        }
        return {
            kind: "lookup",
            lookup: values.lookup,
            ...(values["lookup-config"] !== undefined ? { lookupConfig: path.resolve(values["lookup-config"]) } : {}),
            exportPaths: values.export,
            ...out,
        };
    }
    const misplaced = given(lookupOnly);
    if (misplaced.length > 0) {
        throw new UsageError(
            `${misplaced.join(", ")} ${misplaced.length === 1 ? "applies" : "apply"} to a lookup's loads: name it with --lookup`,
        );
    }
    const extractPaths = values.extract ?? [];
    const sampleOptions = (["roots", "extracts", "seed"] as const).filter((name) => values[name] !== undefined);
    if (extractPaths.length > 0 && sampleOptions.length > 0) {
        const names = sampleOptions.map((name) => `--${name}`).join(", ");
        throw new UsageError(
            `${names} ${sampleOptions.length === 1 ? "applies" : "apply"} to generated sample extracts, not with --extract`,
        );
    }
    const number = (name: "roots" | "extracts" | "seed", fallback: number): number => {
        const text = values[name];
        if (text === undefined) {
            return fallback;
        }
        const value = Number(text);
        if (!Number.isInteger(value) || value < 1) {
            throw new UsageError(`--${name} must be a whole number of at least 1, not "${text}"`);
        }
        return value;
    };
    return {
        kind: "pipeline",
        mapping: values.mapping ?? "customers",
        extractPaths,
        sample: { roots: number("roots", 200), extracts: number("extracts", 2), seed: number("seed", 7) },
        ...out,
    };
}
