import type { PolicyStatementJson } from "./pulumi-mocks";

/**
 * The statement letting a job's role write its own log groups: those Glue names after the security
 * configuration ("lake-security") and the role when the configuration encrypts logs.
 */
export const glueLogsOf = (role: string): PolicyStatementJson => ({
    Sid: "WriteOwnGlueLogs",
    Effect: "Allow",
    Action: ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: ["output", "error"].map(
        (group) => `arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/jobs/lake-security-role/${role}/${group}:*`,
    ),
});

/** The statement letting a job publish its metrics: Glue's own and the run metrics (`Ingestion`). */
export const publishJobMetrics: PolicyStatementJson = {
    Sid: "PublishJobMetrics",
    Effect: "Allow",
    Action: ["cloudwatch:PutMetricData"],
    Resource: "*",
    Condition: { StringEquals: { "cloudwatch:namespace": ["Glue", "Ingestion"] } },
};
