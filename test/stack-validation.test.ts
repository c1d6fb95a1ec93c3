import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkStack, loadJobPlans, repositoryRoot, type ExpiringLakePrefix } from "../config/load";
import { ConfigError } from "../config/yaml-source";

/** Cross-file checks of a stack: its settings against the mappings it deploys and the lake bucket's expiring prefixes. */

const customersYaml = fs.readFileSync(path.join(repositoryRoot, "config/mappings/customers.yaml"), "utf8");
const streamLakes: ExpiringLakePrefix = { prefix: "streams/", holds: "the stream lakes' objects" };

function problemsOf(action: () => void): readonly string[] {
    try {
        action();
    } catch (error) {
        if (error instanceof ConfigError) {
            return error.problems;
        }
        throw error;
    }
    return [];
}

describe("checkStack", () => {
    const [customers] = loadJobPlans(["customers"]);
    let directory: string;

    before(() => {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "stack-mappings-"));
        fs.writeFileSync(path.join(directory, "customers.yaml"), customersYaml);
        fs.writeFileSync(
            path.join(directory, "streams.yaml"),
            customersYaml.replace("pipeline: customers", "pipeline: streams").replace("incoming/customers/", "incoming/streams/"),
        );
    });

    after(() => {
        fs.rmSync(directory, { recursive: true, force: true });
    });

    it("accepts a stack that keeps the lake's history at least as long as every mapping's items live", () => {
        for (const retentionDays of [270, 400]) {
            expect(problemsOf(() => checkStack("prod", { retentionDays }, [customers!], [streamLakes]))).to.deep.equal([]);
        }
    });

    it("refuses a stack whose retentionDays is shorter than a mapping's ttl.retentionDays, at the mapping's field, naming the stack's", () => {
        expect(problemsOf(() => checkStack("dev", { retentionDays: 269 }, [customers!], [streamLakes]))).to.deep.equal([
            "config/mappings/customers.yaml:102:3: ttl.retentionDays: items live 270 days after their latest activity, " +
                "but Pulumi.dev.yaml keeps landed archives and the lake's history for ingestion:retentionDays 269 days, " +
                "so rows an item still needs could not be rebuilt; raise ingestion:retentionDays to at least 270 or shorten ttl.retentionDays",
        ]);
    });

    it("refuses lake tables under a prefix that expires by age, whoever keeps objects there", () => {
        const filtered: ExpiringLakePrefix = { prefix: "customers/filtered/", holds: 'the events the filter of lookup "products" keeps' };
        expect(problemsOf(() => checkStack("dev", { retentionDays: 400 }, [customers!], [streamLakes, filtered]))).to.deep.equal([
            'config/mappings/customers.yaml:5:1: pipeline: the lake tables of "customers" (customers/ in the lake bucket) overlap ' +
                'customers/filtered/, where the events the filter of lookup "products" keeps expire after ingestion:retentionDays; ' +
                "the expiry would delete files current rows live in",
        ]);
    });

    it("reports every problem of every mapping at once, each in its file", () => {
        const plans = loadJobPlans(["customers", "streams"], directory);
        const file = (name: string) => path.relative(repositoryRoot, path.join(directory, `${name}.yaml`));
        const tooShort = (stack: string) =>
            "ttl.retentionDays: items live 270 days after their latest activity, " +
            `but Pulumi.${stack}.yaml keeps landed archives and the lake's history for ingestion:retentionDays 30 days, ` +
            "so rows an item still needs could not be rebuilt; raise ingestion:retentionDays to at least 270 or shorten ttl.retentionDays";
        expect(problemsOf(() => checkStack("qa", { retentionDays: 30 }, plans, [streamLakes], directory))).to.deep.equal([
            `${file("customers")}:102:3: ${tooShort("qa")}`,
            `${file("streams")}:5:1: pipeline: the lake tables of "streams" (streams/ in the lake bucket) overlap streams/, ` +
                "where the stream lakes' objects expire after ingestion:retentionDays; the expiry would delete files current rows live in",
            `${file("streams")}:102:3: ${tooShort("qa")}`,
        ]);
    });
});
