import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkStack, loadJobPlans, readStackFile, readStackSettings, repositoryRoot, type ExpiringLakePrefix } from "../config/load";
import type { StackSettings } from "../config/stack-settings";
import { ConfigError } from "../config/yaml-source";
import { fixtureRoot, fixtureText, useConfigRoot, withConfigRoot } from "./support/config-root";
import { useMocks } from "./support/pulumi-mocks";

/** Cross-file checks of a stack: its settings against the mappings it deploys and the lake bucket's expiring prefixes. */

const customersYaml = fixtureText("config/mappings/customers.yaml");
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
    useConfigRoot();
    const [customers] = withConfigRoot(fixtureRoot, () => loadJobPlans(["customers"]));
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

describe("stack settings against the latency promise", () => {
    /** Reads the stack's settings as the program does: from Pulumi config, each value the string Pulumi holds. */
    async function read(settings: Record<string, unknown>): Promise<StackSettings | readonly string[]> {
        const config = Object.fromEntries(
            Object.entries({ mappings: ["customers"], ...settings }).map(([key, value]) => [`ingestion:${key}`, JSON.stringify(value)]),
        );
        await useMocks("qa", config);
        try {
            return readStackSettings();
        } catch (error) {
            if (error instanceof ConfigError) {
                return error.problems;
            }
            throw error;
        }
    }

    const retryTooLate =
        "Pulumi.qa.yaml: ingestion:glue.timeoutMinutes: 40 minutes per run, run up to 2 times (glue.maxRetries 1), " +
        "lets one extract take up to 80 minutes to load, more than ingestion:latencyPromiseMinutes 45; " +
        "lower glue.timeoutMinutes to at most 22 or glue.maxRetries, or raise ingestion:latencyPromiseMinutes to at least 80";
    const refused: { what: string; settings: Record<string, unknown>; problems: string[] }[] = [
        {
            what: "the default timeout with a retry, against the default promise",
            settings: { glue: { maxRetries: 1 } },
            problems: [retryTooLate],
        },
        {
            what: "the default timeout with a retry, against a promise of 45 minutes said outright",
            settings: { glue: { timeoutMinutes: 40, maxRetries: 1 }, latencyPromiseMinutes: 45 },
            problems: [retryTooLate],
        },
        {
            what: "one run longer than the promise",
            settings: { glue: { timeoutMinutes: 46 } },
            problems: [
                "Pulumi.qa.yaml: ingestion:glue.timeoutMinutes: 46 minutes per run, run once, lets one extract take up to 46 minutes to load, " +
                    "more than ingestion:latencyPromiseMinutes 45; lower glue.timeoutMinutes to at most 45, " +
                    "or raise ingestion:latencyPromiseMinutes to at least 46",
            ],
        },
        {
            what: "a write budget over DynamoDB's default table quota",
            settings: { itemsWriteUnitsPerSecond: 40001 },
            problems: [
                "Pulumi.qa.yaml: ingestion:itemsWriteUnitsPerSecond: must be at most 40000, DynamoDB's default write quota per table " +
                    "(the table is pre-warmed to this value, and a warm throughput can never be lowered)",
            ],
        },
        {
            what: "both at once, each reported",
            settings: { glue: { maxRetries: 1 }, itemsWriteUnitsPerSecond: 40001 },
            problems: [
                "Pulumi.qa.yaml: ingestion:itemsWriteUnitsPerSecond: must be at most 40000, DynamoDB's default write quota per table " +
                    "(the table is pre-warmed to this value, and a warm throughput can never be lowered)",
                retryTooLate,
            ],
        },
        {
            // The latency check needs a valid timeout: its message about one out of range would mislead.
            what: "a timeout out of range, reported for its range alone",
            settings: { glue: { timeoutMinutes: 0, maxRetries: 3 } },
            problems: ["Pulumi.qa.yaml: ingestion:glue.timeoutMinutes: Too small: expected number to be >=1"],
        },
    ];
    for (const { what, settings, problems } of refused) {
        it(`refuses ${what}, naming the stack file and the setting`, async () => {
            expect(await read(settings)).to.deep.equal(problems);
        });
    }

    const accepted: { what: string; settings: Record<string, unknown>; expected: [number, number, number, number] }[] = [
        { what: "the defaults: one 40-minute run in 45 minutes, a new table's 4000 writes/s", settings: {}, expected: [40, 0, 45, 4000] },
        { what: "a run exactly as long as the promise", settings: { glue: { timeoutMinutes: 45 } }, expected: [45, 0, 45, 4000] },
        { what: "two runs of 22 minutes in 45", settings: { glue: { timeoutMinutes: 22, maxRetries: 1 } }, expected: [22, 1, 45, 4000] },
        {
            what: "a retry within a longer promise",
            settings: { glue: { timeoutMinutes: 40, maxRetries: 1 }, latencyPromiseMinutes: 80 },
            expected: [40, 1, 80, 4000],
        },
        { what: "DynamoDB's default table quota", settings: { itemsWriteUnitsPerSecond: 40000 }, expected: [40, 0, 45, 40000] },
    ];
    for (const { what, settings, expected } of accepted) {
        it(`accepts ${what}`, async () => {
            const result = await read(settings);
            expect(result).not.to.be.an("array");
            const { glue, latencyPromiseMinutes, itemsWriteUnitsPerSecond } = result as StackSettings;
            expect([glue.timeoutMinutes, glue.maxRetries, latencyPromiseMinutes, itemsWriteUnitsPerSecond]).to.deep.equal(expected);
        });
    }
});

describe("stack settings located in the stack file", () => {
    let directory: string;

    before(() => {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"));
        fs.writeFileSync(
            path.join(directory, "Pulumi.qa.yaml"),
            "config:\n  aws:region: eu-west-1\n  ingestion:mappings:\n    - customers\n  ingestion:freshnessHours: 500\n",
        );
    });

    after(() => {
        fs.rmSync(directory, { recursive: true, force: true });
    });

    /** The problems of the settings Pulumi holds (`config`), placed by the stack file in `directory`, as the program reads them. */
    async function problemsOfConfig(config: Record<string, unknown>): Promise<readonly string[]> {
        await useMocks("qa", Object.fromEntries(Object.entries(config).map(([key, value]) => [key, JSON.stringify(value)])));
        return problemsOf(() => readStackSettings(readStackFile("qa", directory)));
    }

    it("places a setting the file holds at its line and column", async () => {
        expect(await problemsOfConfig({ "ingestion:mappings": ["customers"], "ingestion:freshnessHours": 500 })).to.deep.equal([
            "Pulumi.qa.yaml:5:3: ingestion:freshnessHours: must be at most 168 hours (CloudWatch evaluates at most 7 days)",
        ]);
    });

    it("places a setting Pulumi holds elsewhere (an environment, a secret) at the config: block", async () => {
        expect(
            await problemsOfConfig({ "ingestion:mappings": ["customers"], "ingestion:freshnessHours": 24, "ingestion:retentionDays": 0 }),
        ).to.deep.equal(["Pulumi.qa.yaml:1:1: ingestion:retentionDays: Too small: expected number to be >=1"]);
    });
});
