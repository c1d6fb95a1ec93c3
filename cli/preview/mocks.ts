import * as pulumi from "@pulumi/pulumi";

export const mockAccountId = "123456789012";
export const mockRegion = "eu-west-1";

/** One resource the program registered, with the inputs it was declared with. */
export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
    /** ARN the mock assigned, so callers can follow references between resources. */
    readonly arn: string;
}

const knownInvokes: Record<string, Record<string, unknown>> = {
    "aws:index/getCallerIdentity:getCallerIdentity": {
        accountId: mockAccountId,
        arn: `arn:aws:iam::${mockAccountId}:user/test`,
        userId: "AIDATEST",
        id: mockAccountId,
    },
    "aws:index/getRegion:getRegion": { name: mockRegion, region: mockRegion, id: mockRegion, endpoint: `ec2.${mockRegion}.amazonaws.com` },
    "aws:index/getPartition:getPartition": { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws", reverseDnsPrefix: "com.amazonaws" },
};

/** A lake table the mocks answer `aws.glue.getCatalogTable` with, as if deployed: its storage descriptor's columns. */
export interface MockCatalogTable {
    readonly databaseName: string;
    readonly name: string;
    readonly columns: readonly { readonly name: string; readonly type: string; readonly parameters?: Record<string, string> }[];
}

/** One invoke the program made, with its arguments. */
export interface RecordedInvoke {
    readonly token: string;
    readonly inputs: Record<string, unknown>;
}

const getCatalogTable = "aws:glue/getCatalogTable:getCatalogTable";

/**
 * What Snowflake reports for its integrations and pipes once created (DESC INTEGRATION, SHOW PIPES),
 * mocked as the account ID is: the program wires them into IAM trust and the bucket's notifications.
 */
export const snowflakeReports = {
    storageIamUser: "arn:aws:iam::999999999999:user/sf-s3-user",
    storageExternalId: "ACME_SFCRole=2_storageExternalId=",
    snsIamUser: "arn:aws:iam::999999999999:user/sf-sns-user",
    snsExternalId: "ACME_SFCRole=2_snsExternalId=",
    notificationChannel: `arn:aws:sqs:${mockRegion}:999999999999:sf-snowpipe-AIDA-queue`,
};

/** The outputs the Snowflake provider computes on create, by resource type. */
const providerReportedOutputs: Readonly<Record<string, Readonly<Record<string, string>>>> = {
    "snowflake:index/storageIntegration:StorageIntegration": {
        storageAwsIamUserArn: snowflakeReports.storageIamUser,
        storageAwsExternalId: snowflakeReports.storageExternalId,
    },
    "snowflake:index/notificationIntegration:NotificationIntegration": {
        awsSnsIamUserArn: snowflakeReports.snsIamUser,
        awsSnsExternalId: snowflakeReports.snsExternalId,
    },
    "snowflake:index/pipe:Pipe": { notificationChannel: snowflakeReports.notificationChannel },
};

/**
 * What `aws.glue.getCatalogTable` rejects with when Glue has no such table (or no such database):
 * the AWS provider's words (terraform-provider-aws, internal/service/glue/catalog_table_data_source.go)
 * inside the context the provider bridge adds. The engine hands an invoke's failure to the program
 * as its gRPC `details`.
 */
function catalogTableNotFound(inputs: Record<string, unknown>): Error {
    const message =
        `invoking ${getCatalogTable}: 1 error occurred:\n\t* No Glue table ${String(inputs.name)} found for ` +
        `catalog_id: ${mockAccountId}, database_name: ${String(inputs.databaseName)}`;
    return Object.assign(new Error(message), { details: message });
}

/** The name the mocks give a resource (its `name` input, else its logical name); references to it hold this or its ARN. */
export function physicalNameOf(resource: Pick<RecordedResource, "name" | "inputs">): string {
    return typeof resource.inputs.name === "string" ? resource.inputs.name : resource.name;
}

/**
 * Records every resource the program declares and every invoke it makes, answers the invokes it is
 * known to make, and gives Snowflake's resources the outputs Snowflake reports. Any other invoke throws, so a new data-source call cannot silently return
 * nothing. Glue tables are deployed only if given (`catalogTables`); any other is not found, as on a
 * stack's first deployment.
 */
export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly resources: RecordedResource[] = [];
    readonly invokes: RecordedInvoke[] = [];

    constructor(private readonly catalogTables: readonly MockCatalogTable[] = []) {}

    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        if (args.type === "pulumi:pulumi:Stack") {
            // The stack a program runs in is the engine's, not a resource the program declares.
            return { id: `${args.name}-id`, state: args.inputs as Record<string, unknown> };
        }
        const [service = "mock", kind = "resource"] = args.type.split(":")[1]?.split("/") ?? [];
        const inputs = args.inputs as Record<string, unknown>;
        const physicalName = physicalNameOf({ name: args.name, inputs });
        const arn =
            args.type === "aws:s3/bucket:Bucket"
                ? `arn:aws:s3:::${physicalName}`
                : args.type === "aws:cloudwatch/logGroup:LogGroup"
                  ? `arn:aws:logs:${mockRegion}:${mockAccountId}:log-group:${physicalName}`
                  : `arn:aws:${service}:${mockRegion}:${mockAccountId}:${kind}/${physicalName}`;
        this.resources.push({ type: args.type, name: args.name, inputs, arn });
        const state: Record<string, unknown> = { ...inputs, arn, name: physicalName, ...providerReportedOutputs[args.type] };
        if (args.type === "aws:s3/bucket:Bucket") {
            state.bucket = physicalName;
        }
        if (args.type === "aws:kms/key:Key") {
            state.keyId = `key-${args.name}`;
        }
        if (args.type === "aws:sqs/queue:Queue") {
            state.url = `https://sqs.${mockRegion}.amazonaws.com/${mockAccountId}/${physicalName}`;
        }
        return { id: `${args.name}-id`, state };
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        const inputs = args.inputs as Record<string, unknown>;
        this.invokes.push({ token: args.token, inputs });
        if (args.token === getCatalogTable) {
            const table = this.catalogTables.find(
                (candidate) => candidate.databaseName === inputs.databaseName && candidate.name === inputs.name,
            );
            if (!table) {
                throw catalogTableNotFound(inputs);
            }
            return {
                databaseName: table.databaseName,
                name: table.name,
                tableType: "EXTERNAL_TABLE",
                storageDescriptors: [{ columns: table.columns.map((column) => ({ comment: "", parameters: {}, ...column })) }],
            };
        }
        const result = knownInvokes[args.token];
        if (!result) {
            throw new Error(`unexpected invoke ${args.token}; add it to cli/preview/mocks.ts if the program really needs it`);
        }
        return result;
    }

    ofType(type: string): RecordedResource[] {
        return this.resources.filter((resource) => resource.type === type);
    }

    named(name: string): RecordedResource {
        const found = this.resources.find((resource) => resource.name === name);
        if (!found) {
            throw new Error(`no resource named ${name}; declared: ${this.resources.map((resource) => resource.name).join(", ")}`);
        }
        return found;
    }
}

/** Starts a fresh mock engine for `stack`, returning the recorder. */
export async function useMocks(
    stack = "test",
    config: Record<string, string> = {},
    mocks: RecordingMocks = new RecordingMocks(),
): Promise<RecordingMocks> {
    await pulumi.runtime.setMocks(mocks, "ingestion", stack, false);
    pulumi.runtime.setAllConfig({ "aws:region": mockRegion, ...config });
    return mocks;
}

/** Waits until every resource registration in flight has reached the mocks. */
export async function settle(): Promise<void> {
    await pulumi.runtime.disconnect();
}
