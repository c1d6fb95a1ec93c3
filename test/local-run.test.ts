import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { repositoryRoot } from "./support/program";

/** The README's main job, as a user runs it: one generated extract through trigger and Glue script. */
describe("npm run local", function () {
    this.timeout(600_000);
    let out: string;
    let stdout: string;
    let status: number | null;

    before(() => {
        out = fs.mkdtempSync(path.join(os.tmpdir(), "local-run-"));
        const run = spawnSync(
            path.join(repositoryRoot, "node_modules", ".bin", "tsx"),
            ["scripts/run-local.ts", "--roots", "12", "--extracts", "1", "--seed", "3", "--out", out],
            { cwd: repositoryRoot, encoding: "utf8" },
        );
        stdout = run.stdout;
        status = run.status;
    });

    after(() => fs.rmSync(out, { recursive: true, force: true }));

    it("exits cleanly, reporting each step and stopping the emulator", () => {
        expect(status, stdout).to.equal(0);
        for (const step of ["download", "unzip", "stage", "typed-read", "lake", "assemble", "write-items"]) {
            expect(stdout).to.match(new RegExp(`${step} done in `));
        }
        expect(stdout).to.include("trigger started Glue run");
        expect(stdout.trim().split("\n").at(-1)).to.equal("Stopped the local AWS emulator.");
    });

    it("writes the run report, where every row read is accepted or quarantined", () => {
        const report = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8")) as {
            status: string;
            extractId: string;
            tables: Record<string, { read: number; accepted: number; quarantined: number }>;
            items: Record<string, number>;
        };
        expect(report.status).to.equal("succeeded");
        expect(report.extractId).to.equal("20261101T020000Z-000001");
        expect(report.tables.customers).to.include({ read: 12, accepted: 12, quarantined: 0 });
        for (const counts of Object.values(report.tables)) {
            expect(counts.read).to.equal(counts.accepted + counts.quarantined);
        }
        expect(report.items).to.include({ touched: 12, written: 12, stale: 0, oversize: 0, failed: 0 });
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
