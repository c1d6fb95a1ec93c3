import * as pulumi from "@pulumi/pulumi";
import type { PolicyStatement } from "../policies";

/**
 * Trust for a role a Snowflake integration assumes: exactly the IAM user Snowflake created for the
 * integration, with the external id Snowflake generated for it. Both come from the integration's
 * own outputs (`storageAwsIamUserArn` / `storageAwsExternalId` of a storage integration,
 * `awsSnsIamUserArn` / `awsSnsExternalId` of a notification integration), so one deployment
 * declares the integration and then the trust, with no value copied by hand.
 */
export function snowflakeIntegrationTrust(
    sid: string,
    iamUserArn: pulumi.Input<string>,
    externalId: pulumi.Input<string>,
): pulumi.Output<string> {
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: sid,
                Effect: "Allow",
                Principal: { AWS: iamUserArn },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "sts:ExternalId": externalId } },
            },
        ],
    });
}

export interface ErrorPublishingScope {
    readonly topicArn: pulumi.Input<string>;
    /** The key the topic is encrypted with. */
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly region: pulumi.Input<string>;
}

/**
 * What Snowflake's error notification integration needs to publish to the stack's encrypted topic:
 * Publish on that topic only, and the key only through SNS in the topic's region (SNS asks KMS for
 * a data key on the publisher's behalf: GenerateDataKey and Decrypt, as the SNS developer guide
 * lists for publishers to an encrypted topic).
 */
export function errorPublishingStatements(scope: ErrorPublishingScope): PolicyStatement[] {
    return [
        { Sid: "PublishSnowpipeErrors", Effect: "Allow", Action: ["sns:Publish"], Resource: scope.topicArn },
        {
            Sid: "EncryptSnowpipeErrors",
            Effect: "Allow",
            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
            Resource: scope.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`sns.${scope.region}.amazonaws.com` } },
        },
    ];
}
