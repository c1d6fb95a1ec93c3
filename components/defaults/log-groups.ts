/**
 * Days a CloudWatch log group of the platform keeps its events unless the stack says otherwise
 * (`ingestion:logRetentionDays`): functions' logs and Firehose's delivery logs alike.
 */
export const defaultLogRetentionDays = 90;
