/**
 * What the run notifier shares with the code that deploys it: the environment it reads. Deploy-time
 * code imports this module of the notifier and no other.
 */

/** The variables the run notifier reads; the ExtractPipeline component sets every one. */
export const notifierVariables = ["PIPELINE", "LAKE_BUCKET", "TOPIC_ARN"] as const;

export type NotifierVariable = (typeof notifierVariables)[number];
