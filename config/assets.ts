import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { buildSync } from "esbuild";
import { bundleTarget, runtimeProvidedPackages } from "../components/bundled-function/defaults";
import { repositoryRoot } from "./load";

/** The file Lambda loads (the function's handler is `index.handler`) and its source map beside it. */
export const bundleFileName = "index.js";
export const sourceMapFileName = `${bundleFileName}.map`;

/** Injected into every bundle: maps the bundle's stack frames to their sources when a stack is formatted. */
export const stackMappingModule = "lambdas/shared/source-mapped-stacks.ts";

/** One handler's bundle: its code and the source map of that code, as they go into the archive. */
export interface HandlerBundle {
    /** Minified code, names kept; ends with a `//# sourceMappingURL=index.js.map` comment. */
    readonly code: string;
    /** The source map, sources included, with paths relative to the repository root. */
    readonly map: string;
}

/**
 * Bundles a Lambda handler (a TypeScript file exporting `handler`) with esbuild. The AWS SDK is not
 * bundled: the pinned runtime provides it (see `runtimeProvidedPackages`), and the bundle requires it.
 * Whitespace and syntax are minified, names are not, so a stack trace names the functions as written;
 * the source map, a separate file beside the code (an inline one was 84 % of every bundle, and read
 * on every cold start), gives the lines and columns back. Every bundle carries
 * `lambdas/shared/source-mapped-stacks.ts`, which maps its stack frames through that file only when
 * a stack is formatted, so the functions need no NODE_OPTIONS=--enable-source-maps.
 */
export function buildHandler(entry: string): HandlerBundle {
    const result = buildSync({
        entryPoints: [path.join(repositoryRoot, entry)],
        // Never written (write: false); placed at the root so the map names sources as `lambdas/...`.
        outfile: path.join(repositoryRoot, bundleFileName),
        bundle: true,
        platform: "node",
        target: bundleTarget,
        format: "cjs",
        external: [...runtimeProvidedPackages],
        inject: [path.join(repositoryRoot, stackMappingModule)],
        minifyWhitespace: true,
        minifySyntax: true,
        sourcemap: "linked",
        write: false,
        logLevel: "silent",
    });
    const code = result.outputFiles.find((file) => path.basename(file.path) === bundleFileName);
    const map = result.outputFiles.find((file) => path.basename(file.path) === sourceMapFileName);
    if (!code || !map) {
        throw new Error(`esbuild produced no ${code ? sourceMapFileName : bundleFileName} for ${entry}`);
    }
    return { code: code.text, map: map.text };
}

/** A handler's bundle as a Lambda deployment archive: `index.js` and `index.js.map` at its root. */
export function bundleHandler(entry: string): pulumi.asset.AssetArchive {
    const { code, map } = buildHandler(entry);
    return new pulumi.asset.AssetArchive({
        [bundleFileName]: new pulumi.asset.StringAsset(code),
        [sourceMapFileName]: new pulumi.asset.StringAsset(map),
    });
}

/** The Glue entry script of the batch extract job. */
export function extractJobScript(): pulumi.asset.FileAsset {
    return new pulumi.asset.FileAsset(path.join(repositoryRoot, "glue-scripts", "extract_job.py"));
}

/** The Glue entry script of a pipeline's lake maintenance job. */
export function lakeMaintenanceJobScript(): pulumi.asset.FileAsset {
    return new pulumi.asset.FileAsset(path.join(repositoryRoot, "glue-scripts", "lake_maintenance_job.py"));
}

/** The Glue entry script of the lookup loader job. */
export function lookupLoadJobScript(): pulumi.asset.FileAsset {
    return new pulumi.asset.FileAsset(path.join(repositoryRoot, "glue-scripts", "lookup_load_job.py"));
}

/** The Glue entry script of the warehouse export job. */
export function streamExportJobScript(): pulumi.asset.FileAsset {
    return new pulumi.asset.FileAsset(path.join(repositoryRoot, "glue-scripts", "stream_export_job.py"));
}

/** The job's Python package, zipped with `ingest/` at the root as `--extra-py-files` expects. */
export function jobPackage(): pulumi.asset.AssetArchive {
    return new pulumi.asset.AssetArchive({ ingest: new pulumi.asset.FileArchive(path.join(repositoryRoot, "glue-scripts", "ingest")) });
}
