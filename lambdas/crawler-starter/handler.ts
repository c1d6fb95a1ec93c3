import { GlueClient, StartCrawlerCommand } from "@aws-sdk/client-glue";
import { EnvironmentReader, errorText, jsonLog, sleep, type Log } from "../shared/runtime";
import type { CrawlerStarterVariable } from "./contract";

/**
 * Starts the stream lake's Glue crawler on the schedule EventBridge invokes this function with,
 * so new event-time partitions appear in the catalog. A crawl still running from the last
 * schedule is waited for and the start retried; if it is still running after the last attempt,
 * the invocation fails with a message saying so, and the asynchronous invocation's failure goes
 * to the function's dead-letter queue, where an alarm sees it. Any other error fails it at once.
 */

export interface CrawlerStarterSettings {
    readonly crawlerName: string;
    /** Start attempts in total, the first included. */
    readonly startAttempts: number;
    /** Wait between attempts. */
    readonly startRetrySeconds: number;
}

export interface CrawlerStarterDependencies {
    readonly glue: GlueClient;
    readonly settings: CrawlerStarterSettings;
    readonly sleep?: (milliseconds: number) => Promise<void>;
    readonly log?: Log;
}

export interface CrawlerStarted {
    readonly crawler: string;
    readonly outcome: "started";
    readonly attempts: number;
}

export function createHandler(dependencies: CrawlerStarterDependencies): (event?: unknown) => Promise<CrawlerStarted> {
    const { glue, settings } = dependencies;
    const wait = dependencies.sleep ?? sleep;
    const log = dependencies.log ?? jsonLog;
    const crawler = settings.crawlerName;

    return async () => {
        for (let attempt = 1; ; attempt++) {
            try {
                await glue.send(new StartCrawlerCommand({ Name: crawler }));
            } catch (error) {
                if (!(error instanceof Error) || error.name !== "CrawlerRunningException") {
                    log({ level: "error", message: "the crawler could not be started", crawler, attempt, error: errorText(error) });
                    throw error;
                }
                if (attempt >= settings.startAttempts) {
                    const waited = (settings.startAttempts - 1) * settings.startRetrySeconds;
                    const message = `crawler ${crawler} was still running after ${attempt} attempts over ${waited} seconds; this scheduled crawl did not start`;
                    log({ level: "error", message, crawler, attempts: attempt });
                    throw new Error(message);
                }
                log({
                    level: "info",
                    message: `the crawler is still running; trying again in ${settings.startRetrySeconds} seconds`,
                    crawler,
                    attempt,
                });
                await wait(settings.startRetrySeconds * 1000);
                continue;
            }
            log({ level: "info", message: "crawler started", crawler, attempts: attempt });
            return { crawler, outcome: "started", attempts: attempt };
        }
    };
}

/** Reads CRAWLER_NAME, START_ATTEMPTS (default 5) and START_RETRY_SECONDS (default 30). */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): CrawlerStarterSettings {
    const reader = new EnvironmentReader<CrawlerStarterVariable>(environment, "the crawler starter");
    const settings = {
        crawlerName: reader.required("CRAWLER_NAME"),
        startAttempts: reader.wholeNumber("START_ATTEMPTS", 5, 1),
        startRetrySeconds: reader.wholeNumber("START_RETRY_SECONDS", 30, 0),
    };
    reader.done();
    return settings;
}

let configured: ((event?: unknown) => Promise<CrawlerStarted>) | undefined;

/** Lambda entry point; the client and settings are made once per execution environment. */
export async function handler(event: unknown): Promise<CrawlerStarted> {
    configured ??= createHandler({ glue: new GlueClient({}), settings: settingsFromEnvironment(process.env) });
    return configured(event);
}
