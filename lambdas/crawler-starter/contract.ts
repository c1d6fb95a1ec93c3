/**
 * What the crawler starter shares with the code that deploys it: the environment it reads.
 * Deploy-time code imports this module of the starter and no other, so it holds names only.
 */

/** The variables the starter reads; the StreamLake component sets every one. */
export const crawlerStarterVariables = ["CRAWLER_NAME", "START_ATTEMPTS", "START_RETRY_SECONDS"] as const;

export type CrawlerStarterVariable = (typeof crawlerStarterVariables)[number];
