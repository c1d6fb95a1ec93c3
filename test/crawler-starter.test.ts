import { CreateCrawlerCommand, CreateDatabaseCommand, GetCrawlerCommand, GlueClient, StopCrawlerCommand } from "@aws-sdk/client-glue";
import { expect } from "chai";
import { createHandler, settingsFromEnvironment, type CrawlerStarterSettings } from "../lambdas/crawler-starter/handler";
import type { LogEntry } from "../lambdas/shared/runtime";
import { useMotoServer } from "./support/moto";

describe("crawler starter: settings", () => {
    const cases: [NodeJS.ProcessEnv, CrawlerStarterSettings | string][] = [
        [{ CRAWLER_NAME: "ingest-dev-clickstream" }, { crawlerName: "ingest-dev-clickstream", startAttempts: 5, startRetrySeconds: 30 }],
        [
            { CRAWLER_NAME: "c", START_ATTEMPTS: "3", START_RETRY_SECONDS: "0" },
            { crawlerName: "c", startAttempts: 3, startRetrySeconds: 0 },
        ],
        [{}, "the crawler starter's environment lacks CRAWLER_NAME"],
        [
            { START_ATTEMPTS: "0", START_RETRY_SECONDS: "half a minute" },
            "the crawler starter's environment lacks CRAWLER_NAME; " +
                'START_ATTEMPTS must be a whole number of at least 1, not "0"; ' +
                'START_RETRY_SECONDS must be a whole number of at least 0, not "half a minute"',
        ],
    ];
    for (const [environment, expected] of cases) {
        it(`${typeof expected === "string" ? "refuses" : "reads"} ${JSON.stringify(environment)}`, () => {
            if (typeof expected === "string") {
                expect(() => settingsFromEnvironment(environment)).to.throw(expected);
            } else {
                expect(settingsFromEnvironment(environment)).to.deep.equal(expected);
            }
        });
    }
});

describe("crawler starter", function () {
    const moto = useMotoServer();
    let glue: GlueClient;
    let crawlers = 0;

    before(async () => {
        glue = new GlueClient(moto.clientConfig);
        await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: "clickstream_lake" } }));
    });

    /** A fresh crawler in moto, which stays RUNNING after a start until StopCrawler. */
    async function crawler(): Promise<string> {
        crawlers += 1;
        const name = `ingest-dev-clickstream-${crawlers}`;
        await glue.send(
            new CreateCrawlerCommand({
                Name: name,
                Role: "arn:aws:iam::123456789012:role/crawler",
                DatabaseName: "clickstream_lake",
                Targets: { S3Targets: [{ Path: "s3://lake/streams/clickstream/" }] },
            }),
        );
        return name;
    }

    function starter(crawlerName: string, onSleep: (sleeps: number) => Promise<void> = () => Promise.resolve()) {
        const logs: LogEntry[] = [];
        const sleeps: number[] = [];
        const handle = createHandler({
            glue,
            settings: { crawlerName, startAttempts: 5, startRetrySeconds: 30 },
            sleep: async (milliseconds) => {
                sleeps.push(milliseconds);
                await onSleep(sleeps.length);
            },
            log: (entry) => logs.push(entry),
        });
        return { logs, sleeps, handle };
    }

    async function stateOf(name: string): Promise<string | undefined> {
        return (await glue.send(new GetCrawlerCommand({ Name: name }))).Crawler?.State;
    }

    it("starts an idle crawler on the first attempt", async () => {
        const name = await crawler();
        const { logs, sleeps, handle } = starter(name);
        expect(await handle({ "detail-type": "Scheduled Event" })).to.deep.equal({ crawler: name, outcome: "started", attempts: 1 });
        expect(await stateOf(name)).to.equal("RUNNING");
        expect(sleeps).to.deep.equal([]);
        expect(logs).to.deep.equal([{ level: "info", message: "crawler started", crawler: name, attempts: 1 }]);
    });

    it("waits for a running crawl to finish and starts the next one", async () => {
        const name = await crawler();
        await starter(name).handle({});
        const { logs, sleeps, handle } = starter(name, async (sleep) => {
            if (sleep === 2) {
                await glue.send(new StopCrawlerCommand({ Name: name }));
            }
        });
        expect(await handle({})).to.deep.equal({ crawler: name, outcome: "started", attempts: 3 });
        expect(sleeps).to.deep.equal([30_000, 30_000]);
        expect(logs.map((entry) => [entry.level, entry.message, entry.attempt ?? entry.attempts])).to.deep.equal([
            ["info", "the crawler is still running; trying again in 30 seconds", 1],
            ["info", "the crawler is still running; trying again in 30 seconds", 2],
            ["info", "crawler started", 3],
        ]);
    });

    it("fails, saying so, when the crawl is still running after the last attempt", async () => {
        const name = await crawler();
        await starter(name).handle({});
        const { logs, sleeps, handle } = starter(name);
        let thrown: unknown;
        try {
            await handle({});
        } catch (error) {
            thrown = error;
        }
        const message = `crawler ${name} was still running after 5 attempts over 120 seconds; this scheduled crawl did not start`;
        expect((thrown as Error).message).to.equal(message);
        expect(sleeps).to.deep.equal([30_000, 30_000, 30_000, 30_000]);
        expect(logs.at(-1)).to.deep.equal({ level: "error", message, crawler: name, attempts: 5 });
    });

    it("lets any other error propagate at once", async () => {
        const { logs, sleeps, handle } = starter("no-such-crawler");
        let thrown: unknown;
        try {
            await handle({});
        } catch (error) {
            thrown = error;
        }
        expect([(thrown as Error).name, (thrown as Error).message]).to.deep.equal([
            "EntityNotFoundException",
            "Crawler no-such-crawler not found.",
        ]);
        expect(sleeps).to.deep.equal([]);
        expect(logs).to.deep.equal([
            {
                level: "error",
                message: "the crawler could not be started",
                crawler: "no-such-crawler",
                attempt: 1,
                error: "EntityNotFoundException: Crawler no-such-crawler not found.",
            },
        ]);
    });
});
