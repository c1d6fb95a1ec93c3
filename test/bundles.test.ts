import { spawnSync } from "child_process";
import * as fs from "fs";
import { isBuiltin } from "module";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { lambdaRuntime, runtimeProvidedPackages } from "../components/bundled-function/defaults";
import { bundleFileName, sourceMapFileName } from "../config/assets";
import { declaredBundles, type DeclaredBundle } from "../scripts/lambda-bundles";
import { repositoryRoot } from "./support/program";

/** The most a bundle may weigh: its code, the map beside it not counted. */
const maximumBundleBytes = 300_000;

/** The AWS SDK packages each handler requires from the runtime, and nothing else outside Node. */
const runtimePackages: Record<string, string[]> = {
    "lambdas/crawler-starter/handler.ts": ["@aws-sdk/client-glue"],
    "lambdas/event-filter/handler.ts": [
        "@aws-sdk/client-dynamodb",
        "@aws-sdk/client-firehose",
        "@aws-sdk/client-kinesis",
        "@aws-sdk/client-s3",
    ],
    "lambdas/export-starter/handler.ts": ["@aws-sdk/client-dynamodb", "@aws-sdk/client-glue", "@aws-sdk/client-s3"],
    "lambdas/extract-trigger/handler.ts": ["@aws-sdk/client-dynamodb", "@aws-sdk/client-glue", "@aws-sdk/client-s3"],
    "lambdas/file-to-stream/handler.ts": ["@aws-sdk/client-kinesis", "@aws-sdk/client-s3"],
    "lambdas/run-notifier/handler.ts": ["@aws-sdk/client-glue", "@aws-sdk/client-s3", "@aws-sdk/client-sns"],
    "lambdas/stream-producer/handler.ts": ["@aws-sdk/client-kinesis"],
};

/** Every module a bundle requires, in order of first appearance. */
function requiredModules(code: string): string[] {
    return [...new Set([...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]!))];
}

function providedByRuntime(specifier: string): boolean {
    return runtimeProvidedPackages.some((pattern) =>
        pattern.endsWith("/*") ? specifier.startsWith(pattern.slice(0, -1)) : specifier === pattern,
    );
}

describe(`Lambda bundles (for ${lambdaRuntime})`, function () {
    let bundles: DeclaredBundle[] = [];
    let directory: string;

    before(async function () {
        this.timeout(300_000);
        bundles = await declaredBundles(["dev", "prod"]);
        // Outside the repository, so nothing resolves the SDK from its node_modules by walking up.
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "bundles-test-"));
        for (const bundle of bundles) {
            const folder = path.join(directory, path.basename(path.dirname(bundle.handler)));
            fs.mkdirSync(folder);
            for (const [file, text] of Object.entries(bundle.files)) {
                fs.writeFileSync(path.join(folder, file), text);
            }
        }
    });

    after(() => {
        fs.rmSync(directory, { recursive: true, force: true });
    });

    it("builds one bundle per handler the dev and prod stacks declare", () => {
        expect(bundles.map((bundle) => bundle.handler)).to.deep.equal(Object.keys(runtimePackages).sort());
    });

    for (const handler of Object.keys(runtimePackages).sort()) {
        const name = path.basename(path.dirname(handler));
        const bundleOf = () => bundles.find((bundle) => bundle.handler === handler)!;

        it(`${name}: index.js within ${maximumBundleBytes} bytes, its source map beside it, not inline`, () => {
            const { files } = bundleOf();
            expect(Object.keys(files).sort()).to.deep.equal([bundleFileName, sourceMapFileName]);
            const code = files[bundleFileName]!;
            expect(Buffer.byteLength(code)).to.be.at.most(maximumBundleBytes);
            expect(code).not.to.include("sourceMappingURL=data:");
            expect(code.endsWith(`\n//# sourceMappingURL=${sourceMapFileName}\n`)).to.equal(true);
            const map = JSON.parse(files[sourceMapFileName]!) as { sources: string[]; sourcesContent: string[]; mappings: string };
            expect(map.sourcesContent).to.have.length(map.sources.length);
            expect(map.mappings.length).to.be.above(0);
        });

        it(`${name}: bundles no AWS SDK code (nor anything else from node_modules); requires the SDK the runtime provides`, () => {
            const { files } = bundleOf();
            const map = JSON.parse(files[sourceMapFileName]!) as { sources: string[] };
            // Only the repository's own files (handlers, and contracts such as glue-scripts/ingest/contracts/*.json).
            expect(map.sources.filter((source) => source.startsWith("../") || source.includes("node_modules/"))).to.deep.equal([]);
            expect(map.sources.filter((source) => !fs.existsSync(path.join(repositoryRoot, source)))).to.deep.equal([]);
            const required = requiredModules(files[bundleFileName]!);
            expect(required.filter((specifier) => !isBuiltin(specifier)).sort()).to.deep.equal(runtimePackages[handler]);
            expect(required.filter((specifier) => !isBuiltin(specifier) && !providedByRuntime(specifier))).to.deep.equal([]);
            // The SDK's client code itself (its middleware stack and protocol serde) is nowhere in the bundle.
            const code = files[bundleFileName]!;
            expect(code).not.to.match(/getSerdePlugin|resolveClientEndpointParameters|x-amz-user-agent/);
        });

        it(`${name}: loads and exports handler where the SDK resolves, and fails at import where it does not`, () => {
            const file = path.join(directory, name, bundleFileName);
            const load = `if (typeof require(${JSON.stringify(file)}).handler !== "function") process.exit(3)`;
            const env = { PATH: process.env.PATH };
            const withSdk = spawnSync(process.execPath, ["-e", load], {
                env: { ...env, NODE_PATH: path.join(repositoryRoot, "node_modules") },
                encoding: "utf8",
            });
            expect(withSdk.status, withSdk.stderr).to.equal(0);
            const withoutSdk = spawnSync(process.execPath, ["-e", load], { env, cwd: directory, encoding: "utf8" });
            expect(withoutSdk.status).to.equal(1);
            expect(withoutSdk.stderr).to.match(/Error: Cannot find module '@aws-sdk\/client-[a-z]+'/);
        });

        it(`${name}: names the TypeScript of its stack frames without NODE_OPTIONS, from the map beside it`, () => {
            // The handler reads its environment on its first invocation; an empty one makes it throw.
            const source = fs.readFileSync(path.join(repositoryRoot, handler), "utf8").split("\n");
            const line = source.findIndex((text) => text.includes("settingsFromEnvironment(process.env)")) + 1;
            const file = path.join(directory, name, bundleFileName);
            const invoke = `require(${JSON.stringify(file)}).handler({ Records: [] }).then(() => process.exit(3), (error) => console.log(error.stack))`;
            const run = spawnSync(process.execPath, ["-e", invoke], {
                env: { PATH: process.env.PATH, NODE_PATH: path.join(repositoryRoot, "node_modules") },
                encoding: "utf8",
            });
            expect(run.status, run.stderr).to.equal(0);
            const frames = run.stdout.split("\n").filter((text) => text.startsWith("    at "));
            expect(frames).to.include.members([
                `    at Object.handler (${handler}:${line}:${source[line - 1]!.indexOf("settingsFromEnvironment") + 1})`,
            ]);
            expect(frames.filter((frame) => frame.includes(`${bundleFileName}:`))).to.deep.equal([]);
        });
    }
});
