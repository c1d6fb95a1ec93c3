import * as pulumi from "@pulumi/pulumi";

/**
 * Pure builders for IAM and resource policy documents. Components never write policy JSON by
 * hand: they describe statements here, so tests can check them exactly and the security walk
 * can read them back.
 */

export interface PolicyStatement {
    Sid: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | { AWS?: pulumi.Input<string> | pulumi.Input<string>[]; Service?: pulumi.Input<string> | pulumi.Input<string>[] };
    Action: string[];
    Resource: pulumi.Input<string> | pulumi.Input<string>[];
    Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
}

export function policyDocument(statements: PolicyStatement[]): pulumi.Output<string> {
    return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

/** Trust policy letting one AWS service assume a role, limited to this account. */
export function serviceTrustPolicy(service: string, accountId: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AssumedByService",
                Effect: "Allow",
                Principal: { Service: service },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
        ],
    });
}

/** Denies every request that does not use TLS (AWS Config rule s3-bucket-ssl-requests-only). */
export function denyInsecureTransport(bucketArn: pulumi.Input<string>): PolicyStatement {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: ["s3:*"],
        Resource: [bucketArn, pulumi.interpolate`${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
}

/** Object-level ARN pattern for keys under a prefix (the whole bucket when prefix is empty). */
export function objectsUnder(bucketArn: pulumi.Input<string>, prefix = ""): pulumi.Output<string> {
    return pulumi.interpolate`${bucketArn}/${prefix}*`;
}

export function kmsUse(keyArn: pulumi.Input<string>, sid = "UseProjectKey"): PolicyStatement {
    return {
        Sid: sid,
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
        Resource: keyArn,
    };
}

/** Lets one AWS service principal deliver to a topic or queue, only from the given source ARNs. */
export function serviceDelivery(
    sid: string,
    service: string | string[],
    action: string,
    resource: pulumi.Input<string>,
    sourceArns: pulumi.Input<string>[],
): PolicyStatement {
    return {
        Sid: sid,
        Effect: "Allow",
        Principal: { Service: service },
        Action: [action],
        Resource: resource,
        Condition: { ArnEquals: { "aws:SourceArn": sourceArns } },
    };
}

/** What a function consuming a queue through an event source mapping needs of it. */
export function queueConsumption(queueArn: pulumi.Input<string>, sid: string): PolicyStatement {
    return {
        Sid: sid,
        Effect: "Allow",
        Action: ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
        Resource: queueArn,
    };
}

export function logWriting(logGroupArn: pulumi.Input<string>): PolicyStatement {
    return {
        Sid: "WriteOwnLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: pulumi.interpolate`${logGroupArn}:*`,
    };
}

/** The two actions a function's runtime calls to send its X-Ray traces. */
export const xrayTraceActions = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"] as const;

/**
 * Lets a traced function send its trace segments. X-Ray defines no resource type and no condition
 * key for these two actions (Service Authorization Reference, "Actions, resources, and condition keys
 * for AWS X-Ray"), so Resource "*" is the only value they take, as in AWS's own
 * AWSXRayDaemonWriteAccess policy.
 */
export function xrayTraceWriting(): PolicyStatement {
    return { Sid: "SendTraces", Effect: "Allow", Action: [...xrayTraceActions], Resource: "*" };
}

/** What a function that publishes to a Kinesis stream may do: put records there. */
export function streamWriterStatement(streamArn: pulumi.Input<string>): PolicyStatement {
    return {
        Sid: "PutRecordsOnStream",
        Effect: "Allow",
        Action: ["kinesis:PutRecord", "kinesis:PutRecords"],
        Resource: streamArn,
    };
}
