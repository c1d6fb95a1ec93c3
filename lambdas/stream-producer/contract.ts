/**
 * What the stream producer shares with the code that deploys it: the environment it reads.
 * Deploy-time code imports this module of the producer and no other, so it holds names only.
 */

/** The variables the producer reads; the StreamLake component sets every one. */
export const streamProducerVariables = ["STREAM_NAME", "STREAM_SCHEMA"] as const;

export type StreamProducerVariable = (typeof streamProducerVariables)[number];
