import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { settle, useMocks, type RecordingMocks } from "./pulumi-mocks";

export const repositoryRoot = path.resolve(__dirname, "..", "..");

/** The `config:` block of Pulumi.<stack>.yaml, in the string form Pulumi hands to a program. */
export function stackConfig(stack: string): Record<string, string> {
    const file = path.join(repositoryRoot, `Pulumi.${stack}.yaml`);
    const document = parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(
        Object.entries(document.config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
}

/**
 * Runs the real program (index.ts) for a stack under mocks and returns every resource it
 * declared. Program modules are loaded afresh so each stack sees its own config.
 */
export async function runProgram(stack: string): Promise<RecordingMocks> {
    return (await runProgramWithExports(stack)).mocks;
}

/** As `runProgram`, with the stack outputs the program exports, resolved. */
export async function runProgramWithExports(stack: string): Promise<{ mocks: RecordingMocks; exports: Record<string, unknown> }> {
    const mocks = await useMocks(stack, stackConfig(stack));
    for (const cached of Object.keys(require.cache)) {
        if (
            !cached.includes(`${path.sep}node_modules${path.sep}`) &&
            cached.startsWith(repositoryRoot) &&
            !cached.includes(`${path.sep}test${path.sep}`)
        ) {
            delete require.cache[cached];
        }
    }
    const program = require(path.join(repositoryRoot, "index.ts")) as Record<string, unknown>;
    await settle();
    const exports: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(program)) {
        exports[name] = await resolved(value);
    }
    return { mocks, exports };
}

/** An exported value with every output inside it resolved. */
function resolved(value: unknown): Promise<unknown> {
    return new Promise((resolve) => (pulumi.output(value) as pulumi.Output<unknown>).apply(resolve));
}
