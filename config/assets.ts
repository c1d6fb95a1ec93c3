import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { buildSync } from "esbuild";
import { repositoryRoot } from "./load";

/**
 * Bundles a Lambda handler (a TypeScript file exporting `handler`) with esbuild into an in-memory
 * archive holding `index.js`. The AWS SDK is bundled too, so the code runs with the SDK version it
 * was tested with rather than whatever the runtime ships.
 */
export function bundleHandler(entry: string): pulumi.asset.AssetArchive {
    const result = buildSync({
        entryPoints: [path.join(repositoryRoot, entry)],
        bundle: true,
        platform: "node",
        target: "node20",
        format: "cjs",
        minify: true,
        sourcemap: "inline",
        write: false,
        logLevel: "silent",
    });
    const [output] = result.outputFiles;
    if (!output) {
        throw new Error(`esbuild produced no output for ${entry}`);
    }
    return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(output.text) });
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
