import * as pulumi from "@pulumi/pulumi";
import { runProgramWithExports } from "../cli/preview/program";
import { sourceMapFileName } from "../config/assets";

/** A Lambda bundle the program declares, with the functions that run it. */
export interface DeclaredBundle {
    /** The handler bundled, such as `lambdas/file-to-stream/handler.ts`, read from the bundle's source map. */
    readonly handler: string;
    /** Every declared function running this bundle, across the stacks asked for, in declaration order. */
    readonly functions: readonly string[];
    /** The archive's files by name (`index.js`, `index.js.map`), as deployed. */
    readonly files: Readonly<Record<string, string>>;
}

const functionType = "aws:lambda/function:Function";
const handlerSource = /^lambdas\/[^/]+\/handler\.ts$/;

/**
 * Runs the real program (index.ts) for each stack under mocks and returns the distinct bundles its
 * Lambda functions declare, read from each function's `code` archive: what `pulumi up` would upload.
 */
export async function declaredBundles(stacks: readonly string[]): Promise<DeclaredBundle[]> {
    const bundles = new Map<string, { handler: string; functions: string[]; files: Record<string, string> }>();
    for (const stack of stacks) {
        const { mocks } = await runProgramWithExports(stack);
        for (const resource of mocks.resources.filter((candidate) => candidate.type === functionType)) {
            const files = await archiveFiles(resource.inputs.code, resource.name);
            const key = JSON.stringify(files);
            const known = bundles.get(key);
            if (known) {
                known.functions.push(resource.name);
            } else {
                bundles.set(key, { handler: handlerOf(files, resource.name), functions: [resource.name], files });
            }
        }
    }
    return [...bundles.values()].sort((left, right) => left.handler.localeCompare(right.handler));
}

/** The text of every file of a function's code archive; throws on anything but an archive of string assets. */
async function archiveFiles(code: unknown, functionName: string): Promise<Record<string, string>> {
    if (!(code instanceof pulumi.asset.AssetArchive)) {
        throw new Error(`${functionName}: code is not an AssetArchive`);
    }
    const files: Record<string, string> = {};
    for (const [name, asset] of Object.entries(await code.assets)) {
        if (!(asset instanceof pulumi.asset.StringAsset)) {
            throw new Error(`${functionName}: archive entry ${name} is not a StringAsset`);
        }
        files[name] = await asset.text;
    }
    return files;
}

/** The one `lambdas/<name>/handler.ts` among the source map's sources. */
function handlerOf(files: Record<string, string>, functionName: string): string {
    const map = files[sourceMapFileName];
    const sources = map === undefined ? [] : ((JSON.parse(map) as { sources?: string[] }).sources ?? []);
    const handlers = sources.filter((source) => handlerSource.test(source));
    if (handlers.length !== 1) {
        throw new Error(`${functionName}: the source map names ${handlers.length} handler files (${handlers.join(", ")}), not one`);
    }
    return handlers[0]!;
}
