import type * as pulumi from "@pulumi/pulumi";
import { RecordingMocks } from "./pulumi-mocks";

/** What Snowflake reports for the integrations and the pipe once created (DESC INTEGRATION, SHOW PIPES). */
export const snowflakeReports = {
    storageIamUser: "arn:aws:iam::999999999999:user/sf-s3-user",
    storageExternalId: "ACME_SFCRole=2_storageExternalId=",
    snsIamUser: "arn:aws:iam::999999999999:user/sf-sns-user",
    snsExternalId: "ACME_SFCRole=2_snsExternalId=",
    notificationChannel: "arn:aws:sqs:eu-west-1:999999999999:sf-snowpipe-AIDA-queue",
};

/** The recording mocks, answering the Snowflake provider's computed outputs as Snowflake would. */
export class SnowflakeMocks extends RecordingMocks {
    override newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const result = super.newResource(args);
        const state = result.state as Record<string, unknown>;
        switch (args.type) {
            case "snowflake:index/storageIntegration:StorageIntegration":
                return {
                    ...result,
                    state: {
                        ...state,
                        storageAwsIamUserArn: snowflakeReports.storageIamUser,
                        storageAwsExternalId: snowflakeReports.storageExternalId,
                    },
                };
            case "snowflake:index/notificationIntegration:NotificationIntegration":
                return {
                    ...result,
                    state: { ...state, awsSnsIamUserArn: snowflakeReports.snsIamUser, awsSnsExternalId: snowflakeReports.snsExternalId },
                };
            case "snowflake:index/pipe:Pipe":
                return { ...result, state: { ...state, notificationChannel: snowflakeReports.notificationChannel } };
            default:
                return result;
        }
    }
}
