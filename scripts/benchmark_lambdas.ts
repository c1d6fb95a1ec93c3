import { spawnSync } from "child_process";
import * as fs from "fs";
import { isBuiltin } from "module";
import * as os from "os";
import * as path from "path";
import { buildSync, version as esbuildVersion } from "esbuild";
import { lambdaArchitecture, lambdaRuntime } from "../components/bundled-function/defaults";
import { bundleFileName, sourceMapFileName } from "../config/assets";
import { repositoryRoot } from "../config/load";
import { medianAndSpread, spreadText, writeSection } from "../local/benchmarks";
import { declaredBundles } from "./lambda-bundles";

/**
 * Builds every Lambda bundle the program declares (the dev and prod stacks, under mocks, exactly as
 * `pulumi up` would upload them) and measures each one's size, its source map's size, and its cold
 * init: a fresh `node` process loading the bundle with `require`, as the Lambda runtime loads the
 * handler module, with the AWS SDK resolved through NODE_PATH from node_modules (the runtime puts its
 * own SDK on NODE_PATH the same way). An empty `node -e 0` is the baseline, measured in the same
 * rounds; every figure is the median of the cold starts with their spread, and the init is reported
 * as the difference to the baseline's median. Beside each bundle it measures the SDK clients the
 * bundle requires, loaded alone (the share of init no packaging of ours can remove), the bundle with
 * NODE_OPTIONS=--enable-source-maps, the packaging it replaced (SDK bundled, source map inline,
 * --enable-source-maps), and the handler with the SDK bundled and no map, all built from the same
 * handler. Writes its section of BENCHMARKS.md:
 *
 *     npx tsx scripts/benchmark_lambdas.ts [--starts 7] [--output BENCHMARKS.md]
 *
 * Run it when no other heavy process runs: the figures are wall-clock times on a shared machine.
 */

const heading = "## Lambda bundles and cold init";
const stacks = ["dev", "prod"];
/** What the functions' NODE_OPTIONS turned on before their bundles mapped their own stack frames. */
const sourceMapsOption = "--enable-source-maps";

interface Options {
    readonly starts: number;
    readonly output: string;
}

function parseOptions(argv: readonly string[]): Options {
    let starts = 7;
    let output = path.join(repositoryRoot, "BENCHMARKS.md");
    for (let index = 0; index < argv.length; index += 2) {
        const [name, value] = [argv[index], argv[index + 1]];
        if (name === "--starts" && value && /^[1-9]\d*$/.test(value)) {
            starts = Number(value);
        } else if (name === "--output" && value) {
            output = path.resolve(value);
        } else {
            throw new Error("usage: npx tsx scripts/benchmark_lambdas.ts [--starts N] [--output BENCHMARKS.md]");
        }
    }
    return { starts, output };
}

/**
 * The handler with the AWS SDK bundled in, tree-shaken and minified: with `sourcemap: "inline"`, the
 * packaging this benchmark's bundles replaced; without, the leanest load the SDK allows when it is not
 * left to the runtime.
 */
function sdkBundled(handler: string, sourcemap: "inline" | false): string {
    const result = buildSync({
        entryPoints: [path.join(repositoryRoot, handler)],
        bundle: true,
        platform: "node",
        target: "node20",
        format: "cjs",
        minify: true,
        sourcemap,
        write: false,
        logLevel: "silent",
    });
    return result.outputFiles[0]!.text;
}

interface Case {
    readonly label: string;
    readonly args: readonly string[];
    readonly env: NodeJS.ProcessEnv;
    readonly times: number[];
}

/** Wall-clock milliseconds of one fresh node process; throws if it fails. */
function coldStart(testCase: Case): number {
    const started = process.hrtime.bigint();
    const run = spawnSync(process.execPath, testCase.args, { env: testCase.env, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (run.status !== 0) {
        throw new Error(`${testCase.label} exited with ${run.status}: ${run.stderr}`);
    }
    return elapsed;
}

/** Loads a bundle and fails unless it exports `handler`, as the runtime would. */
function loadArgs(file: string): string[] {
    return ["-e", `if (typeof require(${JSON.stringify(file)}).handler !== "function") process.exit(3)`];
}

/** The packages (not Node's own modules) a bundle requires, in order of first appearance. */
function requiredPackages(code: string): string[] {
    const required = [...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]!);
    return [...new Set(required.filter((specifier) => !isBuiltin(specifier)))];
}

/** Requires each package of `specifiers` in a fresh process: what loading a bundle's SDK clients alone costs. */
function requireArgs(specifiers: readonly string[]): string[] {
    return ["-e", specifiers.map((specifier) => `require(${JSON.stringify(specifier)});`).join("") || "0"];
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    const bundles = await declaredBundles(stacks);
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-bundles-"));
    // What every process starts with: no inherited NODE_OPTIONS, the SDK where the runtime puts it.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_PATH: path.join(repositoryRoot, "node_modules") };
    const withSourceMaps = { ...env, NODE_OPTIONS: sourceMapsOption };
    const testCase = (label: string, args: readonly string[], caseEnv: NodeJS.ProcessEnv): Case => ({
        label,
        args,
        env: caseEnv,
        times: [],
    });
    const baseline = testCase("node -e 0", ["-e", "0"], env);
    const rows = bundles.map((bundle) => {
        const name = path.basename(path.dirname(bundle.handler));
        const folder = path.join(directory, name);
        fs.mkdirSync(path.join(folder, "before"), { recursive: true });
        fs.mkdirSync(path.join(folder, "sdk-bundled"), { recursive: true });
        for (const [file, text] of Object.entries(bundle.files)) {
            fs.writeFileSync(path.join(folder, file), text);
        }
        const code = bundle.files[bundleFileName] ?? "";
        const previous = sdkBundled(bundle.handler, "inline");
        fs.writeFileSync(path.join(folder, "before", bundleFileName), previous);
        const withSdk = sdkBundled(bundle.handler, false);
        fs.writeFileSync(path.join(folder, "sdk-bundled", bundleFileName), withSdk);
        const file = path.join(folder, bundleFileName);
        const sdk = requiredPackages(code);
        return {
            bundle,
            sdk,
            bytes: Buffer.byteLength(code),
            mapBytes: Buffer.byteLength(bundle.files[sourceMapFileName] ?? ""),
            previousBytes: Buffer.byteLength(previous),
            sdkBundledBytes: Buffer.byteLength(withSdk),
            plain: testCase(name, loadArgs(file), env),
            sdkAlone: testCase(`${name}: its SDK clients alone`, requireArgs(sdk), env),
            sourceMaps: testCase(`${name} ${sourceMapsOption}`, loadArgs(file), withSourceMaps),
            previous: testCase(`${name} before`, loadArgs(path.join(folder, "before", bundleFileName)), withSourceMaps),
            sdkBundled: testCase(`${name} with the SDK bundled`, loadArgs(path.join(folder, "sdk-bundled", bundleFileName)), env),
        };
    });
    const cases = [baseline, ...rows.flatMap((row) => [row.plain, row.sdkAlone, row.sourceMaps, row.previous, row.sdkBundled])];

    // One round unrecorded, so every file is in the page cache before the first measured start;
    // then the cases take turns, so a slow moment on the machine falls on all of them alike.
    for (const each of cases) {
        coldStart(each);
    }
    for (let round = 0; round < options.starts; round++) {
        for (const each of cases) {
            each.times.push(coldStart(each));
        }
        process.stderr.write(`round ${round + 1}/${options.starts}\n`);
    }
    fs.rmSync(directory, { recursive: true, force: true });

    const base = medianAndSpread(baseline.times);
    const over = (each: Case) => Number((medianAndSpread(each.times).median - base.median).toFixed(1));
    const results = rows.map((row) => ({
        handler: row.bundle.handler,
        functions: row.bundle.functions,
        sdk: row.sdk,
        bytes: row.bytes,
        mapBytes: row.mapBytes,
        initMs: medianAndSpread(row.plain.times),
        overBaselineMs: over(row.plain),
        sdkAloneMs: medianAndSpread(row.sdkAlone.times),
        sdkAloneOverBaselineMs: over(row.sdkAlone),
        sourceMapsInitMs: medianAndSpread(row.sourceMaps.times),
        sourceMapsOverBaselineMs: over(row.sourceMaps),
        // Paired by round (the two ran one after the other), so the machine's drift cancels out.
        sourceMapsCostMs: medianAndSpread(row.sourceMaps.times.map((time, round) => time - row.plain.times[round]!)),
        previousBytes: row.previousBytes,
        previousInitMs: medianAndSpread(row.previous.times),
        previousOverBaselineMs: over(row.previous),
        sdkBundledBytes: row.sdkBundledBytes,
        sdkBundledInitMs: medianAndSpread(row.sdkBundled.times),
        sdkBundledOverBaselineMs: over(row.sdkBundled),
    }));
    process.stdout.write(`${JSON.stringify({ baselineMs: base, bundles: results }, null, 2)}\n`);

    const grouped = (value: number) => value.toLocaleString("en-US");
    const sdkFloorMs = Math.min(...results.flatMap((result) => [result.sdkAloneOverBaselineMs, result.sdkBundledOverBaselineMs]));
    const lines = [
        heading,
        "",
        `Measured ${new Date().toISOString().slice(0, 10)} by \`npx tsx scripts/benchmark_lambdas.ts --starts ${options.starts}\` ` +
            `(${os.cpus().length} cores, Node ${process.version} locally, AWS SDK from node_modules; the functions run on ${lambdaRuntime}, ` +
            `${lambdaArchitecture}; esbuild ${esbuildVersion}).`,
        "Every bundle the dev and prod stacks declare, as the program builds it: whitespace and syntax minified, names kept, the AWS",
        "SDK (`@aws-sdk/*`, `@smithy/*`) left to the runtime, the source map a separate `index.js.map` in the archive, read only when",
        "a stack is formatted (`lambdas/shared/source-mapped-stacks.ts`). Init is the wall time of a fresh",
        "`node -e \"require('<bundle>')\"` with the SDK resolved from node_modules through NODE_PATH, as the runtime resolves its own;",
        `median of ${options.starts} cold starts (min–max) after one unrecorded round. The baseline, an empty \`node -e 0\`, ran in the`,
        `same rounds: ${spreadText(base)} ms; "over" is a median minus the baseline's median. "SDK alone" requires only the SDK`,
        `clients the bundle requires; "with maps" loads the bundle with NODE_OPTIONS=${sourceMapsOption} (which the functions no`,
        `longer set) and "maps cost" is the median of its difference to the plain load within each round; "before" is the packaging`,
        `this replaced (SDK bundled, source map inline, ${sourceMapsOption}), built from the same handler; "SDK bundled" is the same`,
        "handler with the SDK tree-shaken and minified into the bundle and no map: the leanest load of the SDK clients when the",
        `runtime's are not used. The least any handler's SDK clients cost, alone or bundled, is ${sdkFloorMs} ms over the baseline.`,
        "",
        "| handler | functions | bundle bytes | map bytes | init ms | over | SDK alone ms | over | with maps ms | over | maps cost ms | before: bytes | before: init ms | over | SDK bundled: bytes | init ms | over |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...results.map(
            (result) =>
                `| \`${result.handler}\` | ${result.functions.length} | ${grouped(result.bytes)} | ${grouped(result.mapBytes)} | ` +
                `${spreadText(result.initMs)} | ${result.overBaselineMs} | ${spreadText(result.sdkAloneMs)} | ${result.sdkAloneOverBaselineMs} | ` +
                `${spreadText(result.sourceMapsInitMs)} | ${result.sourceMapsOverBaselineMs} | ${spreadText(result.sourceMapsCostMs)} | ` +
                `${grouped(result.previousBytes)} | ` +
                `${spreadText(result.previousInitMs)} | ${result.previousOverBaselineMs} | ` +
                `${grouped(result.sdkBundledBytes)} | ${spreadText(result.sdkBundledInitMs)} | ${result.sdkBundledOverBaselineMs} |`,
        ),
    ];
    writeSection(options.output, heading, `${lines.join("\n")}\n`);
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
}
