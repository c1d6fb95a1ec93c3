import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { configRootVariable } from "../config/load";
import { fixtureRoot } from "./support/config-root";
import { repositoryRoot } from "./support/program";
import { zipArchive } from "./support/zip-archive";

interface LocalRun {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** `npm run local -- <argv>` as a user runs it (the install step aside). */
function runLocal(argv: string[]): LocalRun {
    const run = spawnSync(path.join(repositoryRoot, "node_modules", ".bin", "tsx"), ["scripts/run-local.ts", ...argv], {
        cwd: repositoryRoot,
        encoding: "utf8",
        // Mapping and lookup names are the tests' own (test/fixtures/project/), never the shipped examples.
        env: { ...process.env, [configRootVariable]: fixtureRoot },
    });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface ReportEntry {
    readonly file: string;
    readonly extractId: string;
    readonly jobRunId: string;
    readonly exitCode: number;
    readonly report: {
        readonly jobRunId: string;
        readonly archive: string;
        readonly landedAt: string;
        readonly startedAt: string;
        readonly finishedAt: string;
        readonly latencySeconds: number | null;
        readonly durationsSeconds: Record<string, number>;
    } & Record<string, unknown>;
}

/** The steps of a run that loads its archive, in order. */
const steps = ["download", "unzip", "stage", "typed-read", "history", "merge", "assemble", "write-items"];

describe("npm run local", function () {
    this.timeout(600_000);

    /** The README's main job: one generated extract through trigger and Glue script. */
    describe("with a generated sample extract", () => {
        let out: string;
        let run: LocalRun;

        before(() => {
            out = fs.mkdtempSync(path.join(os.tmpdir(), "local-run-"));
            run = runLocal(["--roots", "12", "--extracts", "1", "--seed", "3", "--out", out]);
        });

        after(() => fs.rmSync(out, { recursive: true, force: true }));

        it("exits cleanly, reporting each step, each current table merged, and stopping the emulator", () => {
            expect(run.status, run.stdout).to.equal(0);
            for (const step of steps) {
                expect(run.stdout).to.match(new RegExp(`${step} done in `));
            }
            expect(run.stdout).to.include("trigger started Glue run");
            // Parents before children, as the item nests them.
            expect(run.stdout.split("\n").filter((line) => line.startsWith("  merged "))).to.deep.equal([
                "  merged customers_customers",
                "  merged customers_orders",
                "  merged customers_order_lines",
                "  merged customers_addresses",
            ]);
            expect(run.stdout).to.include("\n    changes  customers: 12 upserts\n");
            expect(run.stdout.trim().split("\n").at(-1)).to.equal("Stopped the local AWS emulator.");
        });

        it("writes the run report, where every row read is accepted or quarantined", () => {
            const entries = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8")) as {
                exitCode: number;
                report: {
                    status: string;
                    extractId: string;
                    tables: Record<
                        string,
                        { read: number; accepted: number; quarantined: number; changes: object; scanned: { files: number; bytes: number } }
                    >;
                    items: Record<string, number>;
                };
            }[];
            expect(entries.map((entry) => entry.exitCode)).to.deep.equal([0]);
            const report = entries[0]!.report;
            expect(report.status).to.equal("succeeded");
            expect(report.extractId).to.equal("20261101T020000Z-000001");
            expect(report.tables.customers).to.include({ read: 12, accepted: 12, quarantined: 0 });
            expect(report.tables.customers!.changes).to.deep.equal({ upsert: 12 });
            for (const [name, counts] of Object.entries(report.tables)) {
                expect(counts.read).to.equal(counts.accepted + counts.quarantined);
                // A table the first extract brought rows of was read for the items that hold them.
                if (counts.accepted > 0) {
                    expect(counts.scanned.files, name).to.be.at.least(1);
                    expect(counts.scanned.bytes, name).to.be.at.least(1);
                }
            }
            expect(report.items).to.include({ touched: 12, written: 12, deleted: 0, stale: 0, oversize: 0, failed: 0 });
        });

        it("writes every item as plain JSON, one per line, keyed by the customer", () => {
            const lines = fs.readFileSync(path.join(out, "items.jsonl"), "utf8").trimEnd().split("\n");
            const items = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
            expect(items.map((item) => String(item.pk)).sort()).to.deep.equal(
                Array.from({ length: 12 }, (_, index) => `CUS${String(index + 1).padStart(8, "0")}`),
            );
            for (const item of items) {
                expect(item).to.include({ sk: "PROFILE", customer_id: item.pk, lake_snapshot: 1, extract_version: 1793498400000001 });
                expect(item.orders).to.be.an("array");
                expect(JSON.stringify(item)).not.to.match(/"[SNML]":/);
            }
        });
    });

    /**
     * A user's own sequence: a mapping file outside config/mappings/, a folder whose archives land in
     * extract order (sequence 9 before 10, although "_10" sorts first by name), a zip-slip archive
     * that fails, then one more archive; longs at both ends of their range stay exact.
     */
    describe("with three archives of its own, the second failing", () => {
        const header = "account_id,balance,updated_at";
        const mapping = [
            "pipeline: accounts",
            "extract:",
            "  landingPrefix: incoming/accounts/",
            "  archiveName: \"accounts_{timestamp:yyyyMMdd'T'HHmmss'Z'}_{sequence}.zip\"",
            "tables:",
            "  accounts:",
            '    file: "accounts*.csv"',
            "    primaryKey: [account_id]",
            "    columns:",
            "      - { name: account_id, type: string, nullable: false }",
            "      - { name: balance, type: long, nullable: false }",
            '      - { name: updated_at, type: timestamp, nullable: false, format: "yyyy-MM-dd HH:mm:ss" }',
            "item:",
            "  root: accounts",
            "  partitionKey: { attribute: pk, column: account_id }",
            "ttl:",
            "  activity: [accounts.updated_at]",
        ].join("\n");
        let directory: string;
        let run: LocalRun;

        before(() => {
            directory = fs.mkdtempSync(path.join(os.tmpdir(), "local-run-archives-"));
            fs.writeFileSync(path.join(directory, "trial-mapping.yaml"), `${mapping}\n`);
            fs.mkdirSync(path.join(directory, "arrivals"));
            fs.writeFileSync(
                path.join(directory, "arrivals", "accounts_20261101T000000Z_9.zip"),
                zipArchive({ "accounts.csv": `${header}\nA1,-9223372036854775807,2026-11-01 08:00:00\nA2,42,2026-11-01 09:00:00\n` }),
            );
            fs.writeFileSync(
                path.join(directory, "arrivals", "accounts_20261101T000000Z_10.zip"),
                zipArchive({ "../accounts.csv": `${header}\nA1,0,2026-11-01 10:00:00\n` }),
            );
            fs.writeFileSync(
                path.join(directory, "accounts_20261102T000000Z_1.zip"),
                zipArchive({ "accounts.csv": `${header}\nA2,43,2026-11-02 09:00:00\nA3,9223372036854775807,2026-11-02 10:00:00\n` }),
            );
            run = runLocal([
                "--mapping",
                path.join(directory, "trial-mapping.yaml"),
                "--extract",
                path.join(directory, "arrivals"),
                "--extract",
                path.join(directory, "accounts_20261102T000000Z_1.zip"),
                "--out",
                path.join(directory, "out"),
            ]);
        });

        after(() => fs.rmSync(directory, { recursive: true, force: true }));

        it("exits with 1 and the failed run's reason", () => {
            expect(run.status, run.stderr).to.equal(1);
            expect(run.stderr).to.match(
                /\n1 of 3 runs failed:\n {2}\[2\/3\] accounts_20261101T000000Z_10\.zip: archive-path-traversal: entry '\.\.\/accounts\.csv' has a '\.\.' path component\n$/,
            );
        });

        it("says what happened to each archive, and nothing else", () => {
            // Progress lines carry timings, the trigger logs JSON, and Spark prints its ivy settings: all left out.
            const lines = run.stdout
                .split("\n")
                .filter((line) => !/^ +\d+\.\d+s {2}/.test(line) && !line.startsWith('{"level":') && !line.startsWith("  :: "))
                .map((line) =>
                    line
                        .replace(/127\.0\.0\.1:\d+/, "127.0.0.1:<port>")
                        .replace(/version [0-9a-f-]{36}\)$/, "version <version>)")
                        .replace(/ jr_[0-9a-f]{64} /, " <run> ")
                        .replace(/^( {4}latency: ).+( from landing to items written)$/, "$1<elapsed>$2"),
                );
            const quarantine = "s3://ingest-local-quarantine/accounts/archives/20261101T000000Z-000010/";
            expect(lines).to.deep.equal([
                'Pipeline "accounts": 1 tables, items keyed by pk',
                "AWS emulator (moto) listening on http://127.0.0.1:<port>",
                "Creating what the stack declares: buckets, DynamoDB tables, Glue database and job, SNS topic",
                "",
                "[1/3] Landed s3://ingest-local-landing/incoming/accounts/accounts_20261101T000000Z_9.zip (222 bytes, version <version>)",
                "  trigger started Glue run <run> for extract 20261101T000000Z-000009",
                "  merged accounts_accounts",
                "  extract 20261101T000000Z-000009: succeeded",
                "    accounts       read       2  accepted       2  quarantined     0",
                "    changes  accounts: 2 upserts",
                "    scanned  accounts: 2 files, 5.79 KB",
                "    items: touched 2, written 2, unchanged 0, deleted 0, stale 0, oversize 0, failed 0, requests 2, checks 1, retries 0, throttled 0, writeUnits 2",
                "    latency: <elapsed> from landing to items written",
                "",
                "[2/3] Landed s3://ingest-local-landing/incoming/accounts/accounts_20261101T000000Z_10.zip (183 bytes, version <version>)",
                "  trigger started Glue run <run> for extract 20261101T000000Z-000010",
                "  extract 20261101T000000Z-000010: failed (archive-path-traversal: entry '../accounts.csv' has a '..' path component)",
                `    kept in quarantine: ${quarantine}`,
                "",
                "[3/3] Landed s3://ingest-local-landing/incoming/accounts/accounts_20261102T000000Z_1.zip (221 bytes, version <version>)",
                "  trigger started Glue run <run> for extract 20261102T000000Z-000001",
                "  merged accounts_accounts",
                "  extract 20261102T000000Z-000001: succeeded",
                "    accounts       read       2  accepted       2  quarantined     0",
                "    changes  accounts: 2 upserts",
                "    scanned  accounts: 4 files, 11.6 KB",
                "    items: touched 2, written 2, unchanged 0, deleted 0, stale 0, oversize 0, failed 0, requests 2, checks 1, retries 0, throttled 0, writeUnits 2",
                "    latency: <elapsed> from landing to items written",
                "",
                "DynamoDB table ingest-local-accounts-items now holds 3 items.",
                "A sample item:",
                "{",
                '  "account_id": "A1",',
                '  "balance": -9223372036854775807,',
                '  "expires_at": 1816848000,',
                '  "extract_version": 1793491200000009,',
                '  "lake_snapshot": 1,',
                '  "pk": "A1",',
                '  "updated_at": "2026-11-01T08:00:00Z"',
                "}",
                `Wrote ${path.join(directory, "out", "report.json")} and ${path.join(directory, "out", "items.jsonl")}`,
                "Stopped the local AWS emulator.",
                "",
            ]);
        });

        it("writes every run's report in landing order, with the archive it loaded and how the script ended", () => {
            const entries = JSON.parse(fs.readFileSync(path.join(directory, "out", "report.json"), "utf8")) as ReportEntry[];
            const landing = "s3://ingest-local-landing/incoming/accounts/";
            const stepsRun: string[][] = [];
            // Run ids, version ids and times differ on every run: checked here, then left out; the rest is compared whole.
            const comparable = entries.map(({ jobRunId, ...entry }) => {
                const {
                    jobRunId: reportedRunId,
                    archive,
                    landedAt,
                    startedAt,
                    finishedAt,
                    latencySeconds,
                    durationsSeconds,
                    ...report
                } = entry.report;
                expect(jobRunId).to.match(/^jr_[0-9a-f]{64}$/);
                expect(reportedRunId).to.equal(jobRunId);
                expect(archive).to.match(new RegExp(`^${landing}${path.basename(entry.file)}\\?versionId=[0-9a-f-]{36}$`));
                expect(startedAt <= finishedAt, `${startedAt} <= ${finishedAt}`).to.equal(true);
                // The trigger passed the landed version's event time, before the run started; the latency counts from it to the run's end.
                expect(landedAt).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
                expect(Date.parse(landedAt) <= Date.parse(startedAt), `${landedAt} <= ${startedAt}`).to.equal(true);
                const sinceLanding = Math.round((Date.parse(finishedAt) - Date.parse(landedAt)) / 1000);
                expect(latencySeconds).to.equal(report.status === "succeeded" ? sinceLanding : null);
                stepsRun.push(Object.keys(durationsSeconds));
                return { ...entry, report };
            });
            expect(stepsRun).to.deep.equal([steps, ["download", "unzip"], steps]);
            const succeeded = (
                extractId: string,
                extractVersion: number,
                lakeSnapshot: number,
                scanned: { files: number; bytes: number },
            ) => ({
                pipeline: "accounts",
                extractId,
                extractVersion,
                status: "succeeded",
                failure: null,
                tables: {
                    accounts: {
                        files: ["accounts.csv"],
                        ignoredColumns: [],
                        read: 2,
                        accepted: 2,
                        quarantined: 0,
                        quarantinedByReason: {},
                        orphans: 0,
                        changes: { upsert: 2 },
                        scanned,
                    },
                },
                ignoredFiles: [],
                lakeSnapshot,
                completedExtract: null,
                // Two items of under 1 KB a run: one snapshot check for both, then one conditional put (one write unit) each.
                items: {
                    touched: 2,
                    written: 2,
                    unchanged: 0,
                    deleted: 0,
                    stale: 0,
                    oversize: 0,
                    failed: 0,
                    requests: 2,
                    checks: 1,
                    retries: 0,
                    throttled: 0,
                    writeUnits: 2,
                },
                oversizeItems: [],
                quarantineLocation: null,
                oversizeLocation: null,
                notified: true,
            });
            expect(comparable).to.deep.equal([
                {
                    file: path.join(directory, "arrivals", "accounts_20261101T000000Z_9.zip"),
                    extractId: "20261101T000000Z-000009",
                    exitCode: 0,
                    report: succeeded("20261101T000000Z-000009", 1793491200000009, 1, { files: 2, bytes: 5924 }),
                },
                {
                    file: path.join(directory, "arrivals", "accounts_20261101T000000Z_10.zip"),
                    extractId: "20261101T000000Z-000010",
                    exitCode: 1,
                    report: {
                        pipeline: "accounts",
                        extractId: "20261101T000000Z-000010",
                        extractVersion: 1793491200000010,
                        status: "failed",
                        failure: { reason: "archive-path-traversal", detail: "entry '../accounts.csv' has a '..' path component" },
                        tables: {},
                        ignoredFiles: [],
                        lakeSnapshot: null,
                        completedExtract: null,
                        items: {},
                        oversizeItems: [],
                        quarantineLocation: "s3://ingest-local-quarantine/accounts/archives/20261101T000000Z-000010/",
                        oversizeLocation: null,
                        notified: true,
                    },
                },
                {
                    file: path.join(directory, "accounts_20261102T000000Z_1.zip"),
                    extractId: "20261102T000000Z-000001",
                    exitCode: 0,
                    report: succeeded("20261102T000000Z-000001", 1793577600000001, 2, { files: 4, bytes: 11848 }),
                },
            ]);
        });

        it("writes the final items with every number exactly as stored", () => {
            expect(fs.readFileSync(path.join(directory, "out", "items.jsonl"), "utf8")).to.equal(
                [
                    '{"account_id":"A1","balance":-9223372036854775807,"expires_at":1816848000,"extract_version":1793491200000009,"lake_snapshot":1,"pk":"A1","updated_at":"2026-11-01T08:00:00Z"}',
                    '{"account_id":"A2","balance":43,"expires_at":1816938000,"extract_version":1793577600000001,"lake_snapshot":2,"pk":"A2","updated_at":"2026-11-02T09:00:00Z"}',
                    '{"account_id":"A3","balance":9223372036854775807,"expires_at":1816941600,"extract_version":1793577600000001,"lake_snapshot":2,"pk":"A3","updated_at":"2026-11-02T10:00:00Z"}',
                    "",
                ].join("\n"),
            );
        });
    });

    /**
     * A lookup's exports, loaded by the real loader script: a full-refresh lookup defined outside
     * config/lookups/, a folder export of two parts (one gzip) with rejected lines, then a single file
     * as the second export, whose load deletes the key it no longer holds; numbers stay exact and
     * items come out in key order (store 9 before store 10). Then a load that fails.
     */
    describe("with --lookup, two exports of a full-refresh lookup", () => {
        // test/fixtures/lookups/store-prices/: day-1/ holds two parts (the second gzip) and _SUCCESS, with a
        // line that is not JSON and a line without its required price; day-2.jsonl no longer holds A-1 in store 2.
        const fixtures = path.join(repositoryRoot, "test", "fixtures", "lookups");
        const exportsGiven = [path.join(fixtures, "store-prices", "day-1"), path.join(fixtures, "store-prices", "day-2.jsonl")];
        const big = "123456789012345678901234567890.5";
        let directory: string;
        let run: LocalRun;

        before(() => {
            directory = fs.mkdtempSync(path.join(os.tmpdir(), "local-run-lookup-"));
            run = runLocal([
                "--lookup",
                "store-prices",
                "--lookup-config",
                path.join(fixtures, "store-prices.yaml"),
                ...exportsGiven.flatMap((given) => ["--export", given]),
                "--out",
                path.join(directory, "out"),
            ]);
        });

        after(() => fs.rmSync(directory, { recursive: true, force: true }));

        it("exits cleanly and says what each load did", () => {
            expect(run.status, run.stderr).to.equal(0);
            const lines = run.stdout
                .split("\n")
                .filter((line) => !/^ +\d+\.\d+s {2}/.test(line) && !line.startsWith("  :: "))
                .map((line) =>
                    line
                        .replace(/127\.0\.0\.1:\d+/, "127.0.0.1:<port>")
                        .replace(/jr_[0-9a-f]{64}/, "<run>")
                        .replace(/^( {2}load succeeded in )\d+(\.\d+)?s$/, "$1<seconds>"),
                );
            const exports = "s3://ingest-local-store-prices-exports/exports";
            expect(lines).to.deep.equal([
                'Lookup "store-prices": jsonl exports under exports/, keyed by sku (string), store (number), full refresh (keys an export no longer holds are deleted)',
                "AWS emulator (moto) listening on http://127.0.0.1:<port>",
                "Creating what the stack declares: exports, assets and reports buckets, the plan, the lookup table, loader job and topic",
                "",
                `[1/2] Uploaded ${exportsGiven[0]} as 3 objects (211 B) to ${exports}/day-1/`,
                "  started Glue run <run> of ingest-local-store-prices-job with --export exports/day-1/",
                "  load succeeded in <seconds>",
                "    export   day-1/: 2 parts, 211 B (1 gzip), marker _SUCCESS",
                "    lines    6 read, 4 loaded, 2 rejected (invalid-json 1, missing-attribute 1), 0 duplicates, 0 deleted",
                "    deletion done",
                "    rejected s3://ingest-local-quarantine/lookups/store-prices/<run>/rejected.jsonl",
                "",
                `[2/2] Uploaded ${exportsGiven[1]} as 2 objects (187 B) to ${exports}/day-2/`,
                "  started Glue run <run> of ingest-local-store-prices-job with --export exports/day-2/",
                "  load succeeded in <seconds>",
                "    export   day-2/: 1 part, 187 B, marker _SUCCESS",
                "    lines    4 read, 4 loaded, 0 rejected, 0 duplicates, 1 deleted",
                "    deletion done",
                "",
                "DynamoDB table ingest-local-store-prices-table now holds 4 items.",
                `Wrote ${path.join(directory, "out", "report.json")} and ${path.join(directory, "out", "items.jsonl")}`,
                "Stopped the local AWS emulator.",
                "",
            ]);
        });

        it("writes each load's report.json in load order, exactly as the loader wrote it", () => {
            const reports = JSON.parse(fs.readFileSync(path.join(directory, "out", "report.json"), "utf8")) as Record<string, unknown>[];
            // Run ids and times differ on every run: checked here, then left out; the rest is compared whole.
            const comparable = reports.map(({ runId, startedAt, finishedAt, seconds, rejectedLocation, ...report }) => {
                expect(runId).to.match(/^jr_[0-9a-f]{64}$/);
                expect(String(startedAt) <= String(finishedAt), `${String(startedAt)} <= ${String(finishedAt)}`).to.equal(true);
                expect(seconds).to.be.a("number");
                expect(rejectedLocation).to.equal(
                    report.rejected ? `s3://ingest-local-quarantine/lookups/store-prices/${String(runId)}/rejected.jsonl` : null,
                );
                return report;
            });
            const loaded = (folder: string, digest: string, parts: object[]) => ({
                job: "lookup-load",
                lookup: "store-prices",
                status: "succeeded",
                table: "ingest-local-store-prices-table",
                export: { folder, marker: `${folder}_SUCCESS`, listing: "folder", digest, parts, unlisted: [] },
            });
            const deletion = { status: "done", segments: 2, keptRejectedKeys: 0 };
            expect(comparable).to.deep.equal([
                {
                    ...loaded("exports/day-1/", "97e0d221ce6c1466ba8845719ee36c03", [
                        { key: "exports/day-1/part-00000.jsonl", bytes: 114, gzip: false },
                        { key: "exports/day-1/part-00001.jsonl.gz", bytes: 97, gzip: true },
                    ]),
                    loadGeneration: "5ef7175d1cfa6466cd765624a96da681",
                    lines: 6,
                    loaded: 4,
                    rejected: 2,
                    rejectedByReason: { "invalid-json": 1, "missing-attribute": 1 },
                    duplicates: 0,
                    deleted: 0,
                    deletion,
                    ranges: { total: 2, skipped: 0, loaded: 2, failed: 0, failures: {} },
                    requests: 4,
                    retries: 0,
                    unprocessedRetried: 0,
                    failure: null,
                },
                {
                    ...loaded("exports/day-2/", "7a91be42646919a4cea379a1b93f49d5", [
                        { key: "exports/day-2/day-2.jsonl", bytes: 187, gzip: false },
                    ]),
                    loadGeneration: "deb7fc1ac19e5b158a1694faa8e96578",
                    lines: 4,
                    loaded: 4,
                    rejected: 0,
                    rejectedByReason: {},
                    duplicates: 0,
                    deleted: 1,
                    deletion,
                    ranges: { total: 1, skipped: 0, loaded: 1, failed: 0, failures: {} },
                    requests: 4,
                    retries: 0,
                    unprocessedRetried: 0,
                    failure: null,
                },
            ]);
        });

        it("writes the table after the last load in key order, with every number exactly as stored", () => {
            const generation = '"load_generation":"deb7fc1ac19e5b158a1694faa8e96578"';
            expect(fs.readFileSync(path.join(directory, "out", "items.jsonl"), "utf8")).to.equal(
                [
                    `{"label":"apple",${generation},"price":8.99,"sku":"A-1","store":1}`,
                    `{${generation},"price":${big},"sku":"B-2","store":1}`,
                    `{${generation},"price":2,"sku":"D-4","store":9}`,
                    `{${generation},"price":1,"sku":"D-4","store":10}`,
                    "",
                ].join("\n"),
            );
        });
    });

    describe("with --lookup, an export without its completion marker", () => {
        let directory: string;
        let run: LocalRun;

        before(() => {
            directory = fs.mkdtempSync(path.join(os.tmpdir(), "local-run-lookup-"));
            fs.mkdirSync(path.join(directory, "unfinished"));
            fs.writeFileSync(path.join(directory, "unfinished", "part-00000.jsonl"), '{"product_id":"P-1","category":"tea"}\n');
            run = runLocal(["--lookup", "products", "--export", path.join(directory, "unfinished"), "--out", path.join(directory, "out")]);
        });

        after(() => fs.rmSync(directory, { recursive: true, force: true }));

        it("exits with 1, the failed load's reason printed last, and keeps its report", () => {
            const detail =
                "s3://ingest-local-products-exports/exports/unfinished/ has no completion marker " +
                "(_SUCCESS, manifest-summary.json, manifest): the export is not complete";
            expect(run.status, run.stderr).to.equal(1);
            expect(run.stderr).to.match(
                new RegExp(`\\n1 of 1 loads failed:\\n {2}\\[1/1\\] exports/unfinished/: no-export: ${escape(detail)}\\n$`),
            );
            const lines = run.stdout
                .split("\n")
                .filter((line) => !/^ +\d+\.\d+s {2}/.test(line) && !line.startsWith("  :: "))
                .map((line) => line.replace(/127\.0\.0\.1:\d+/, "127.0.0.1:<port>").replace(/jr_[0-9a-f]{64}/, "<run>"));
            expect(lines.slice(3)).to.deep.equal([
                "",
                `[1/1] Uploaded ${path.join(directory, "unfinished")} as 1 object (38 B) to s3://ingest-local-products-exports/exports/unfinished/`,
                "  started Glue run <run> of ingest-local-products-job with --export exports/unfinished/",
                lines[6],
                "    export   none found for --export exports/unfinished/",
                `    reason   no-export: ${detail}`,
                "    lines    0 read, 0 loaded, 0 rejected, 0 duplicates, 0 deleted",
                "",
                "DynamoDB table ingest-local-products-table now holds 0 items.",
                `Wrote ${path.join(directory, "out", "report.json")} and ${path.join(directory, "out", "items.jsonl")}`,
                "Stopped the local AWS emulator.",
                "",
            ]);
            expect(lines[6]).to.match(/^ {2}load failed in \d+(\.\d+)?s$/);
            const reports = JSON.parse(fs.readFileSync(path.join(directory, "out", "report.json"), "utf8")) as Record<string, unknown>[];
            expect(reports).to.have.length(1);
            const { runId, startedAt, finishedAt, seconds, ...report } = reports[0]!;
            expect([runId, startedAt, finishedAt, seconds].map((value) => typeof value)).to.deep.equal([
                "string",
                "string",
                "string",
                "number",
            ]);
            expect(report).to.deep.equal({
                job: "lookup-load",
                lookup: "products",
                status: "failed",
                table: "ingest-local-products-table",
                export: null,
                loadGeneration: null,
                lines: 0,
                loaded: 0,
                rejected: 0,
                rejectedByReason: {},
                duplicates: 0,
                deleted: 0,
                deletion: { status: "not requested" },
                ranges: { total: 0, skipped: 0, loaded: 0, failed: 0, failures: {} },
                requests: 0,
                retries: 0,
                unprocessedRetried: 0,
                rejectedLocation: null,
                failure: { reason: "no-export", detail },
            });
            expect(fs.readFileSync(path.join(directory, "out", "items.jsonl"), "utf8")).to.equal("");
        });
    });
});

/** `text` as a regular expression matching it literally. */
function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
