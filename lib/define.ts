import type { z } from "zod";
import { buildJobPlan, type JobPlan } from "../config/job-plan";
import { readLookup, type Lookup, type LookupContext, type lookupSchema } from "../config/lookup";
import { readMapping } from "../config/mapping";
import type { MappingInput } from "../config/mapping-schema";
import { readStream, type Stream, type streamSchema } from "../config/stream";
import { ValueSource } from "../config/yaml-source";

/**
 * Builders of the components' definitions from plain objects, for a program that keeps its
 * definitions in TypeScript rather than in this repository's YAML. Each one checks its object with
 * the reader of the YAML file (the same schema, defaults and cross-field checks) and throws a
 * ConfigError with every problem named by the call and the field (`defineStream("orders"):
 * fields[1].type: ...`), as the YAML path names them by file, line and column.
 */

/** A stream definition as written: the fields of `config/streams/<stream>.yaml`, defaults left out. */
export type StreamInput = z.input<typeof streamSchema>;

/** A lookup definition as written: the fields of `config/lookups/<lookup>.yaml`, defaults left out. */
export type LookupInput = z.input<typeof lookupSchema>;

export type { MappingInput };

/** The validated stream `StreamLake`, `FileSource` and `WarehouseExport` take. */
export function defineStream(definition: StreamInput): Stream {
    return readStream(valueSource("defineStream", definition, "stream"));
}

/**
 * The validated lookup `LookupTable` takes. `context.region`, when given, is the region the program
 * deploys to: a filter's stream of another stack or account must be in it.
 */
export function defineLookup(definition: LookupInput, context: LookupContext = {}): Lookup {
    return readLookup(valueSource("defineLookup", definition, "lookup"), context);
}

/** The job plan `ExtractPipeline` and `LakeMaintenance` take, built from a mapping (`config/mappings/<pipeline>.yaml`). */
export function jobPlanFor(mapping: MappingInput): JobPlan {
    return buildJobPlan(readMapping(valueSource("jobPlanFor", mapping, "pipeline")));
}

/**
 * The definition as the readers take a file: named `<name>.yaml` after its own name field, so the
 * readers' file-name check (there is no file to misname) always holds.
 */
function valueSource(builder: string, definition: unknown, nameField: string): ValueSource {
    const name = typeof definition === "object" && definition !== null ? (definition as Record<string, unknown>)[nameField] : undefined;
    return typeof name === "string"
        ? new ValueSource(`${name}.yaml`, definition, `${builder}(${JSON.stringify(name)})`)
        : new ValueSource(`<program>.yaml`, definition, `${builder}(...)`);
}
