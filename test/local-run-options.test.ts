import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { ConfigError } from "../config/yaml-source";
import { exportUploads, readLookup } from "../scripts/local-lookup";
import { parseLocalOptions, UsageError } from "../scripts/local-options";
import { configRootVariable } from "../config/load";
import { fixtureRoot, useConfigRoot } from "./support/config-root";
import { repositoryRoot } from "./support/program";

/** What `npm run local` is asked to do, before anything runs: its options, exports and lookup definition. */

const fixture = path.join(repositoryRoot, "test", "fixtures", "lookups", "store-prices.yaml");

function usageError(action: () => unknown): string {
    try {
        action();
    } catch (error) {
        expect(error).to.be.instanceOf(UsageError);
        return (error as Error).message;
    }
    throw new Error("expected a UsageError");
}

describe("npm run local: options", () => {
    it("lands generated sample extracts of the customers pipeline when given nothing", () => {
        expect(parseLocalOptions([])).to.deep.equal({
            kind: "pipeline",
            mapping: "customers",
            extractPaths: [],
            sample: { roots: 200, extracts: 2, seed: 7 },
        });
    });

    it("loads each --export into the --lookup's table, in the order given", () => {
        expect(
            parseLocalOptions([
                "--lookup",
                "store-prices",
                "--export",
                "exports/day-1",
                "--export",
                "day-2.jsonl",
                "--lookup-config",
                "test/fixtures/lookups/store-prices.yaml",
                "--out",
                "out",
            ]),
        ).to.deep.equal({
            kind: "lookup",
            lookup: "store-prices",
            lookupConfig: path.resolve("test/fixtures/lookups/store-prices.yaml"),
            exportPaths: ["exports/day-1", "day-2.jsonl"],
            out: path.resolve("out"),
        });
    });

    it("asks for the usage text with --help", () => {
        expect(parseLocalOptions(["--lookup", "products", "--help"])).to.equal(undefined);
    });

    const wrong: [string, string[], string][] = [
        [
            "a pipeline's option with --lookup",
            ["--lookup", "products", "--export", "a", "--mapping", "x"],
            "--mapping lands extracts in a pipeline, not with --lookup",
        ],
        [
            "pipeline options with --lookup",
            ["--lookup", "products", "--export", "a", "--extract", "x.zip", "--roots", "3"],
            "--extract, --roots land extracts in a pipeline, not with --lookup",
        ],
        [
            "--lookup without an export",
            ["--lookup", "products"],
            "--lookup needs at least one --export: a folder holding an export, or a file of one",
        ],
        ["--export without --lookup", ["--export", "day-1/"], "--export applies to a lookup's loads: name it with --lookup"],
        [
            "lookup options without --lookup",
            ["--export", "day-1/", "--lookup-config", "x.yaml"],
            "--export, --lookup-config apply to a lookup's loads: name it with --lookup",
        ],
        [
            "sample settings with --extract",
            ["--extract", "x.zip", "--seed", "3"],
            "--seed applies to generated sample extracts, not with --extract",
        ],
        ["a count that is not one", ["--roots", "0"], '--roots must be a whole number of at least 1, not "0"'],
    ];
    for (const [title, argv, message] of wrong) {
        it(`refuses ${title}`, () => {
            expect(usageError(() => parseLocalOptions(argv))).to.equal(message);
        });
    }

    it("refuses an unknown option with the usage text", () => {
        const message = usageError(() => parseLocalOptions(["--lookups", "products"]));
        expect(message.split("\n")[0]).to.equal("Unknown option '--lookups'");
        expect(message).to.include("\n\nUsage: npm run local -- [options]\n");
    });
});

describe("npm run local: export folders", () => {
    let directory: string;

    before(() => {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "local-exports-"));
        const day1 = path.join(directory, "day-1");
        fs.mkdirSync(path.join(day1, "more"), { recursive: true });
        for (const name of ["part-00001.jsonl", "_SUCCESS", "part-00000.jsonl.gz", "more/part-00002.jsonl", "more/_SUCCESS"]) {
            fs.writeFileSync(path.join(day1, name), name);
        }
        fs.writeFileSync(path.join(directory, "day-2.jsonl.gz"), "");
        fs.writeFileSync(path.join(directory, "day-3.jsonl"), "");
        fs.writeFileSync(path.join(directory, "notes"), "");
        fs.mkdirSync(path.join(directory, "empty"));
    });

    after(() => fs.rmSync(directory, { recursive: true, force: true }));

    it("uploads a folder as it is under the prefix, its marker last; a single file as a folder of its own with a _SUCCESS marker last", () => {
        const given = ["day-1", "day-2.jsonl.gz", "day-3.jsonl", "notes", "day-1"].map((name) => path.join(directory, name));
        const file = (name: string) => path.join(directory, name);
        const day1 = {
            given: given[0],
            folder: "exports/day-1/",
            objects: [
                { key: "exports/day-1/more/_SUCCESS", file: file("day-1/more/_SUCCESS") },
                { key: "exports/day-1/more/part-00002.jsonl", file: file("day-1/more/part-00002.jsonl") },
                { key: "exports/day-1/part-00000.jsonl.gz", file: file("day-1/part-00000.jsonl.gz") },
                { key: "exports/day-1/part-00001.jsonl", file: file("day-1/part-00001.jsonl") },
                { key: "exports/day-1/_SUCCESS", file: file("day-1/_SUCCESS") },
            ],
        };
        expect(exportUploads(given, "exports/", ["_SUCCESS", "manifest-summary.json", "manifest"])).to.deep.equal([
            day1,
            {
                given: given[1],
                folder: "exports/day-2/",
                objects: [
                    { key: "exports/day-2/day-2.jsonl.gz", file: file("day-2.jsonl.gz") },
                    { key: "exports/day-2/_SUCCESS", file: null },
                ],
            },
            {
                given: given[2],
                folder: "exports/day-3/",
                objects: [
                    { key: "exports/day-3/day-3.jsonl", file: file("day-3.jsonl") },
                    { key: "exports/day-3/_SUCCESS", file: null },
                ],
            },
            {
                given: given[3],
                folder: "exports/notes/",
                objects: [
                    { key: "exports/notes/notes", file: file("notes") },
                    { key: "exports/notes/_SUCCESS", file: null },
                ],
            },
            { ...day1, given: given[4] },
        ]);
    });

    it("refuses exports that are not there or hold nothing, every one at once", () => {
        const missing = path.join(directory, "day-9");
        const empty = path.join(directory, "empty");
        expect(usageError(() => exportUploads([missing, path.join(directory, "day-1"), empty], "exports/", ["_SUCCESS"]))).to.equal(
            `Not every export can be loaded:\n  ${missing}: no such file or folder\n  ${empty}: the folder holds no files`,
        );
    });
});

describe("npm run local: the lookup definition", () => {
    useConfigRoot();
    it("reads a lookup from config/lookups/, or from --lookup-config", () => {
        expect(readLookup({ lookup: "products" }).source.prefix).to.equal("exports/");
        expect(readLookup({ lookup: "store-prices", lookupConfig: fixture }).key).to.deep.equal({
            partition: { attribute: "sku", type: "string" },
            sort: { attribute: "store", type: "number" },
        });
    });

    it("refuses a lookup that is not there, or a file of another lookup", () => {
        expect(usageError(() => readLookup({ lookup: "prices" }))).to.equal(
            'lookup "prices" does not exist: there is no config/lookups/prices.yaml (a file elsewhere goes with --lookup-config)',
        );
        expect(usageError(() => readLookup({ lookup: "prices", lookupConfig: "/nowhere/prices.yaml" }))).to.equal(
            "/nowhere/prices.yaml: no such lookup file",
        );
        expect(usageError(() => readLookup({ lookup: "prices", lookupConfig: fixture }))).to.equal(
            `${fixture} defines lookup "store-prices", not "prices"`,
        );
    });

    it("refuses a definition with problems, naming them", () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), "local-lookup-"));
        const file = path.join(directory, "prices.yaml");
        fs.writeFileSync(file, fs.readFileSync(fixture, "utf8"));
        try {
            expect(() => readLookup({ lookup: "store-prices", lookupConfig: file }))
                .to.throw(ConfigError)
                .with.property("problems")
                .that.deep.equals([`${file}:4:1: lookup: lookup "store-prices" must be defined in a file named store-prices.yaml`]);
        } finally {
            fs.rmSync(directory, { recursive: true, force: true });
        }
    });
});

describe("npm run local: exit code of a wrong call", function () {
    this.timeout(60_000);

    const cases: [string, string[], string][] = [
        [
            "a wrong option",
            ["--lookup", "store-prices"],
            "--lookup needs at least one --export: a folder holding an export, or a file of one\n",
        ],
        [
            "a lookup definition it cannot use",
            ["--lookup", "prices", "--lookup-config", fixture, "--export", fixture],
            `${fixture} defines lookup "store-prices", not "prices"\n`,
        ],
    ];
    for (const [title, argv, stderr] of cases) {
        it(`exits with 2 for ${title}, before starting anything`, () => {
            const run = spawnSync(path.join(repositoryRoot, "node_modules", ".bin", "tsx"), ["scripts/run-local.ts", ...argv], {
                cwd: repositoryRoot,
                encoding: "utf8",
                env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", [configRootVariable]: fixtureRoot },
            });
            expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).to.deep.equal({ status: 2, stdout: "", stderr });
        });
    }
});
