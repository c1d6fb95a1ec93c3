import { GetJobRunCommand, GlueClient, type JobRun } from "@aws-sdk/client-glue";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { EventBridgeEvent } from "aws-lambda";
import { describeSeconds, secondsBetween } from "../shared/durations";
import { runReportKey } from "../shared/run-reports";
import { EnvironmentReader, jsonLog, type Log } from "../shared/runtime";
import { notifierVariables, type NotifierVariable } from "./contract";

/**
 * Tells the pipeline's topic of a run that could not tell it itself. The extract job publishes one
 * message per run, success or failure, and its run report records whether that message went out.
 * A run that died first (timed out, was stopped, ran out of memory, or could not reach the topic)
 * has no report, or one saying it did not notify. EventBridge hands this function every run that
 * did not succeed (a run that succeeded has notified: it fails when it cannot); it publishes only
 * for those the job did not announce, so the topic hears of each run once and of every failure.
 * An error (Glue or S3 unreachable) fails the invocation, which Lambda retries and then keeps in
 * the pipeline's dead-letter queue, watched by an alarm.
 */

/** The detail of a "Glue Job State Change" event. */
export interface JobStateChange {
    readonly jobName: string;
    readonly jobRunId: string;
    readonly state: string;
    /** Glue's words on how the run ended. */
    readonly message?: string;
}

export type JobStateChangeEvent = EventBridgeEvent<"Glue Job State Change", JobStateChange>;

export interface NotifierSettings {
    readonly pipeline: string;
    /** Where the job keeps its run reports. */
    readonly lakeBucket: string;
    readonly topicArn: string;
}

export interface NotifierDependencies {
    readonly glue: GlueClient;
    readonly s3: S3Client;
    readonly sns: SNSClient;
    readonly settings: NotifierSettings;
    readonly log?: Log;
}

export type NotifierOutcome = { readonly outcome: "published"; readonly messageId: string } | { readonly outcome: "notified-by-job" };

/** The fields of a run report this function reads; older reports have no `notified`. */
interface ReportedOutcome {
    readonly notified?: boolean;
    readonly failure: { readonly reason: string; readonly detail: string } | null;
}

/** SNS refuses a subject over 100 characters. */
const subjectLimit = 100;

export function createHandler(dependencies: NotifierDependencies): (event: JobStateChangeEvent) => Promise<NotifierOutcome> {
    const { glue, s3, sns, settings } = dependencies;
    const log = dependencies.log ?? jsonLog;

    /**
     * The run's report, if the job wrote one. It is looked for by listing its key first: S3 answers
     * a read of a missing object with "access denied" unless the reader may list the whole bucket,
     * and this function may list only the pipeline's reports.
     */
    async function readReport(extractId: string, jobRunId: string): Promise<{ key: string; report: ReportedOutcome | undefined }> {
        const key = runReportKey(settings.pipeline, extractId, jobRunId);
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: settings.lakeBucket, Prefix: key, MaxKeys: 1 }));
        if (!listed.Contents?.some((object) => object.Key === key)) {
            return { key, report: undefined };
        }
        const object = await s3.send(new GetObjectCommand({ Bucket: settings.lakeBucket, Key: key }));
        return { key, report: JSON.parse(await object.Body!.transformToString("utf8")) as ReportedOutcome };
    }

    return async (event) => {
        const { jobName, jobRunId, state } = event.detail;
        const found = await glue.send(new GetJobRunCommand({ JobName: jobName, RunId: jobRunId }));
        const run: JobRun = found.JobRun ?? {};
        const extractId = run.Arguments?.["--extract_id"] ?? "(unknown)";
        const { key, report } = await readReport(extractId, jobRunId);
        if (report?.notified === true) {
            log({ level: "info", message: "the job announced this run itself", jobRunId, state, extractId });
            return { outcome: "notified-by-job" };
        }
        const ended = run.CompletedOn ?? new Date(event.time);
        const landedAt = run.Arguments?.["--archive_landed_at"];
        // A run started by hand may carry no landing time, or one that is not a time: its latency is unknown.
        const landed = landedAt === undefined ? undefined : new Date(landedAt);
        const after = landed && !Number.isNaN(landed.getTime()) ? ` ${describeSeconds(secondsBetween(landed, ended))} after landing` : "";
        const subject = `[${settings.pipeline}] extract ${extractId} ${state}${after}`.slice(0, subjectLimit);
        const lines = [
            subject,
            `Glue run ${jobRunId} of ${jobName} ended ${state}${event.detail.message ? `: ${event.detail.message}` : ""}`,
            `Archive: ${archiveOf(run)}`,
            `Landed ${landedAt ?? "(unknown)"}, run started ${run.StartedOn?.toISOString() ?? "(unknown)"}, ended ${ended.toISOString()}`,
            report
                ? `The job's report (s3://${settings.lakeBucket}/${key}) says it could not notify this run` +
                  (report.failure ? `; its reason: ${report.failure.reason}: ${report.failure.detail}` : "")
                : "The run ended before the job could write its report (timed out, stopped, or out of memory); see its logs in CloudWatch",
        ];
        const published = await sns.send(new PublishCommand({ TopicArn: settings.topicArn, Subject: subject, Message: lines.join("\n") }));
        log({ level: "info", message: "announced a run the job did not", jobRunId, state, extractId, subject });
        return { outcome: "published", messageId: published.MessageId ?? "" };
    };
}

function archiveOf(run: JobRun): string {
    const argument = (name: string) => run.Arguments?.[`--${name}`];
    const [bucket, key, version] = [argument("archive_bucket"), argument("archive_key"), argument("archive_version_id")];
    return bucket && key ? `s3://${bucket}/${key}?versionId=${version ?? "null"}` : "(unknown)";
}

/** Reads the variables of `notifierVariables`, naming every one that is missing. */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): NotifierSettings {
    const reader = new EnvironmentReader<NotifierVariable>(environment, "the run notifier");
    const value = Object.fromEntries(notifierVariables.map((name) => [name, reader.required(name)])) as Record<NotifierVariable, string>;
    reader.done();
    return { pipeline: value.PIPELINE, lakeBucket: value.LAKE_BUCKET, topicArn: value.TOPIC_ARN };
}

let configured: ((event: JobStateChangeEvent) => Promise<NotifierOutcome>) | undefined;

/** Lambda entry point; clients and settings are made once per execution environment. */
export async function handler(event: JobStateChangeEvent): Promise<NotifierOutcome> {
    configured ??= createHandler({
        glue: new GlueClient({}),
        s3: new S3Client({}),
        sns: new SNSClient({}),
        settings: settingsFromEnvironment(process.env),
    });
    return configured(event);
}
