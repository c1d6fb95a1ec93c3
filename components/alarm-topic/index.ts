import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { visibleMessages, type MetricId } from "../metrics";
import { policyDocument, type PolicyStatement } from "../policies";

export interface AlarmTopicArgs {
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Address subscribed to the topic; the subscription must be confirmed by e-mail. */
    readonly notificationEmail?: string;
}

export type AlarmSettings = Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "alarmDescription">;

/**
 * An encrypted SNS topic that CloudWatch alarms of this account publish to, and the alarms
 * themselves: each alarm notifies when it fires and again when it clears.
 */
export class AlarmTopic extends pulumi.ComponentResource {
    readonly topic: aws.sns.Topic;
    readonly topicArn: pulumi.Output<string>;
    private readonly name: string;

    constructor(name: string, args: AlarmTopicArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:notifications:AlarmTopic", name, {}, opts);
        this.name = name;
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        this.topic = new aws.sns.Topic(name, { kmsMasterKeyId: args.kmsKeyArn }, { parent: this });
        this.topicArn = this.topic.arn;
        new aws.sns.TopicPolicy(
            `${name}-policy`,
            {
                arn: this.topic.arn,
                policy: policyDocument([alarmPublishing(this.topic.arn, identity.accountId)]),
            },
            { parent: this },
        );
        if (args.notificationEmail) {
            new aws.sns.TopicSubscription(
                `${name}-email`,
                { topic: this.topic.arn, protocol: "email", endpoint: args.notificationEmail },
                { parent: this },
            );
        }
        this.registerOutputs({ topicArn: this.topicArn });
    }

    /**
     * A metric alarm named `<topic name>-<suffix>` that notifies this topic. It is the topic's child
     * unless `opts` name another parent: a component alarming on this topic about its own resources
     * passes `topic.ownedBy(this)`, so the alarm stays in its own subtree.
     */
    alarm(suffix: string, description: string, settings: AlarmSettings, opts?: pulumi.CustomResourceOptions): aws.cloudwatch.MetricAlarm {
        return notifyingAlarm(`${this.name}-${suffix}`, this.topic.arn, description, settings, pulumi.mergeOptions({ parent: this }, opts));
    }

    /**
     * The options of an alarm `owner` declares on this topic about its own resources: a child of
     * `owner`, aliased to where such alarms were declared before (under the topic), so a stack that
     * has them moves them without replacing them.
     */
    ownedBy(owner: pulumi.Resource): pulumi.CustomResourceOptions {
        return { parent: owner, aliases: [{ parent: this }] };
    }
}

/** A metric alarm that notifies `topicArn` when it fires and again when it clears. */
export function notifyingAlarm(
    name: string,
    topicArn: pulumi.Input<string>,
    description: string,
    settings: AlarmSettings,
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm {
    return new aws.cloudwatch.MetricAlarm(
        name,
        { alarmDescription: description, alarmActions: [topicArn], okActions: [topicArn], ...settings },
        opts,
    );
}

/**
 * An alarm that fires when `metric` counts anything in a period (`periodSeconds`, five minutes by
 * default): a failed run, a refused object. A period without a datapoint does not breach, so the
 * alarm clears by itself after notifying.
 */
export function anyCount(metric: MetricId, periodSeconds = 300): AlarmSettings {
    return {
        ...metric,
        statistic: "Sum",
        period: periodSeconds,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
    };
}

/** An alarm that fires while a dead-letter queue holds any message. */
export function deadLetterAlarm(queueName: pulumi.Input<string>): AlarmSettings {
    return {
        ...visibleMessages(queueName),
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
    };
}

/** Lets CloudWatch alarms of this account publish to a topic. */
export function alarmPublishing(topicArn: pulumi.Input<string>, accountId: pulumi.Input<string>): PolicyStatement {
    return {
        Sid: "CloudWatchAlarmsPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["sns:Publish"],
        Resource: topicArn,
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
    };
}
