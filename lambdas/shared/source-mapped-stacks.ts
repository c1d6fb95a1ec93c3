/**
 * Stack traces that name the TypeScript a bundle was built from, at no cost to a cold start.
 *
 * config/assets.ts injects this module into every Lambda bundle. It installs Error.prepareStackTrace,
 * which V8 calls only when an error's `stack` is first read; the first time a frame of the bundle is
 * formatted, it reads the source map beside the bundle (`index.js.map`) and from then on names each
 * frame of the bundle by its source file, line and column (`lambdas/shared/runtime.ts:93:19`), as
 * NODE_OPTIONS=--enable-source-maps would. That flag reads the map on every cold start instead, a cost
 * scripts/benchmark_lambdas.ts measures ("maps cost"). Function names need no map: bundles keep them.
 * Frames outside the bundle (Node's, the runtime's SDK) stay as V8 writes them; when the map cannot be
 * read, so do the bundle's. With source maps already on (the flag), Node's own mapping is left alone.
 */
import { readFileSync } from "fs";
import { SourceMap } from "module";

/** The bundle this module is part of: in a bundle, `__filename` is the bundle's own path. */
const bundleFile = __filename;
let sourceMap: SourceMap | null | undefined;

function bundleSourceMap(): SourceMap | null {
    if (sourceMap === undefined) {
        try {
            sourceMap = new SourceMap(JSON.parse(readFileSync(`${bundleFile}.map`, "utf8")) as ConstructorParameters<typeof SourceMap>[0]);
        } catch {
            sourceMap = null;
        }
    }
    return sourceMap;
}

/** One frame as V8 writes it, with a location in the bundle replaced by the source location it came from. */
export function mappedFrame(frame: NodeJS.CallSite): string {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- V8's CallSite writes itself as V8 writes the frame
    const text = frame.toString();
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    if (frame.getFileName() !== bundleFile || line === null || column === null) {
        return text;
    }
    const map = bundleSourceMap();
    const entry = map?.findEntry(line - 1, column - 1);
    if (!entry || !("originalSource" in entry)) {
        return text;
    }
    return text.replace(`${bundleFile}:${line}:${column}`, `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`);
}

function errorHeader(error: Error): string {
    try {
        return Error.prototype.toString.call(error);
    } catch {
        return "Error";
    }
}

// Node 20 and later predefine Error.prepareStackTrace with V8's formatting, which this one keeps.
if (!process.sourceMapsEnabled) {
    Error.prepareStackTrace = (error, frames) => [errorHeader(error), ...frames.map((frame) => `    at ${mappedFrame(frame)}`)].join("\n");
}
