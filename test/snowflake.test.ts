import type * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { AlarmTopic } from "../components/alarm-topic";
import { SnowflakeIngest } from "../components/snowflake-ingest";
import { copyStatement, qualifiedName, snowflakeType, storageProviderOf } from "../components/snowflake-ingest/defaults";
import { parseColumnType, type ColumnType } from "../config/formats";
import { refusePlainSnowflakeCredentials, snowflakeCredentialKeys } from "../config/snowflake";
import { StackFile } from "../config/stack-file";
import { parseStream } from "../config/stream";
import { ConfigError } from "../config/yaml-source";
import { configExample } from "./support/config-example";
import { fixtureText, withConfigFiles } from "./support/config-root";
import { runProgramWithExports } from "./support/program";
import { policyOf, RecordingMocks, settle, snowflakeReports, useMocks, valueOf } from "./support/pulumi-mocks";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const destination = {
    name: "ingest-dev-clickstream-warehouse-destination",
    arn: "arn:aws:s3:::ingest-dev-clickstream-warehouse-destination",
};
const field = (name: string, type: string) => {
    const parsed = parseColumnType(type);
    if (!parsed.ok) {
        throw new Error(parsed.error);
    }
    return { name, type: parsed.value };
};

describe("Snowflake types of the stream's field types", () => {
    const cases: [string, string][] = [
        ["string", "VARCHAR"],
        ["integer", "NUMBER(10,0)"],
        ["long", "NUMBER(19,0)"],
        ["double", "FLOAT"],
        ["decimal(12,2)", "NUMBER(12,2)"],
        ["decimal(38,0)", "NUMBER(38,0)"],
        ["boolean", "BOOLEAN"],
        ["date", "DATE"],
        ["timestamp", "TIMESTAMP_LTZ(6)"],
    ];
    for (const [streamType, expected] of cases) {
        it(`maps ${streamType} to ${expected}`, () => {
            expect(snowflakeType(field("f", streamType).type)).to.equal(expected);
        });
    }

    it("maps every kind of stream type", () => {
        const kinds: ColumnType["kind"][] = ["string", "integer", "long", "double", "decimal", "boolean", "date", "timestamp"];
        expect(kinds.filter((kind) => !cases.some(([type]) => type.startsWith(kind)))).to.deep.equal([]);
    });

    it("names the storage provider of each AWS partition", () => {
        expect(["aws", "aws-us-gov", "aws-cn"].map(storageProviderOf)).to.deep.equal(["S3", "S3GOV", "S3CHINA"]);
    });
});

describe("SnowflakeIngest", () => {
    let mocks: RecordingMocks;
    let ingest: SnowflakeIngest;
    const retained: string[] = [];
    const recordRetained: pulumi.ResourceTransformation = ({ name: resourceName, opts }) => {
        if (opts.retainOnDelete) {
            retained.push(resourceName);
        }
        return undefined;
    };
    const name = "ingest-dev-clickstream-snowflake";

    before(async () => {
        mocks = await useMocks("dev", {}, new RecordingMocks());
        const alarms = new AlarmTopic("ingest-dev-clickstream-alarms", { kmsKeyArn: keyArn });
        ingest = new SnowflakeIngest(
            name,
            {
                stream: "clickstream",
                fields: [
                    field("event_id", "string"),
                    field("event_time", "timestamp"),
                    field("amount", "decimal(12,2)"),
                    field("item_count", "integer"),
                ],
                target: { database: "RAW", schema: "EVENTS", table: "CLICKSTREAM" },
                integrationPrefix: "INGEST_DEV_CLICKSTREAM",
                destination,
                prefix: "clickstream/",
                kmsKeyArn: keyArn,
                alarms,
            },
            { transformations: [recordRetained] },
        );
        await valueOf(ingest.pipe.notificationChannel);
        await settle();
    });

    it("declares the storage integration for the destination prefix, naming the load role by its fixed ARN", () => {
        expect(mocks.named(`${name}-storage`).inputs).to.deep.equal({
            name: "INGEST_DEV_CLICKSTREAM_S3",
            comment: "Snowpipe loads of the clickstream stream's Parquet export",
            type: "EXTERNAL_STAGE",
            enabled: true,
            storageProvider: "S3",
            storageAwsRoleArn: `arn:aws:iam::123456789012:role/${name}-load`,
            storageAllowedLocations: [`s3://${destination.name}/clickstream/`],
        });
    });

    it("lets the load role be assumed only by the integration's IAM user with its external id, both from its outputs", () => {
        const role = mocks.named(`${name}-load`);
        expect(role.inputs.name).to.equal(`${name}-load`);
        expect(policyOf(role, "assumeRolePolicy")).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "AssumedBySnowflakeStorageIntegration",
                    Effect: "Allow",
                    Principal: { AWS: snowflakeReports.storageIamUser },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "sts:ExternalId": snowflakeReports.storageExternalId } },
                },
            ],
        });
    });

    it("lets the load role read only the destination prefix and decrypt only through S3 for that bucket", () => {
        expect(policyOf(mocks.named(`${name}-load-policy`)).Statement).to.deep.equal([
            {
                Sid: "ListExportedParquet",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: destination.arn,
                Condition: { StringLike: { "s3:prefix": ["clickstream/*"] } },
            },
            { Sid: "LocateDestinationBucket", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: destination.arn },
            {
                Sid: "ReadExportedParquet",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:GetObjectVersion"],
                Resource: `${destination.arn}/clickstream/*`,
            },
            {
                Sid: "DecryptExportedParquet",
                Effect: "Allow",
                Action: ["kms:Decrypt"],
                Resource: keyArn,
                Condition: {
                    StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": destination.arn },
                },
            },
        ]);
    });

    it("declares the table with one column per stream field, typed exactly, retained when removed", () => {
        const table = mocks.named(`${name}-table`);
        expect(table.inputs).to.deep.equal({
            database: "RAW",
            schema: "EVENTS",
            name: "CLICKSTREAM",
            comment: "The clickstream stream, loaded by Snowpipe",
            columns: [
                { name: "event_id", type: "VARCHAR", nullable: true },
                { name: "event_time", type: "TIMESTAMP_LTZ(6)", nullable: true },
                { name: "amount", type: "NUMBER(12,2)", nullable: true },
                { name: "item_count", type: "NUMBER(10,0)", nullable: true },
            ],
        });
        expect(retained).to.deep.equal([`${name}-table`]);
    });

    it("declares a Parquet stage on the integration at the destination prefix", () => {
        expect(mocks.named(`${name}-stage`).inputs).to.deep.equal({
            database: "RAW",
            schema: "EVENTS",
            name: "CLICKSTREAM_STAGE",
            comment: "The clickstream stream's Parquet export",
            url: `s3://${destination.name}/clickstream/`,
            storageIntegration: "INGEST_DEV_CLICKSTREAM_S3",
            fileFormat: "TYPE = PARQUET",
        });
    });

    it("declares the auto-ingest pipe copying from the stage by column name, with the error integration", () => {
        expect(mocks.named(`${name}-pipe`).inputs).to.deep.equal({
            database: "RAW",
            schema: "EVENTS",
            name: "CLICKSTREAM_PIPE",
            comment: "Loads the clickstream stream's Parquet export as it arrives",
            autoIngest: true,
            copyStatement:
                'COPY INTO "RAW"."EVENTS"."CLICKSTREAM" FROM @"RAW"."EVENTS"."CLICKSTREAM_STAGE" ' +
                "FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE",
            errorIntegration: "INGEST_DEV_CLICKSTREAM_ERRORS",
        });
        expect(copyStatement(qualifiedName("D", "S", "T"), qualifiedName("D", "S", "T_STAGE"))).to.equal(
            'COPY INTO "D"."S"."T" FROM @"D"."S"."T_STAGE" FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE',
        );
    });

    it("notifies the pipe's queue, from its output, of each object created under the prefix", () => {
        expect(mocks.named(`${name}-pipe-notifications`).inputs).to.deep.equal({
            bucket: destination.name,
            queues: [{ queueArn: snowflakeReports.notificationChannel, events: ["s3:ObjectCreated:*"], filterPrefix: "clickstream/" }],
        });
    });

    it("declares an outbound AWS_SNS error integration publishing to an encrypted topic of the stack", () => {
        expect(mocks.named(`${name}-errors`).inputs).to.deep.equal({ kmsMasterKeyId: keyArn });
        expect(mocks.named(`${name}-error-integration`).inputs).to.deep.equal({
            name: "INGEST_DEV_CLICKSTREAM_ERRORS",
            comment: "Snowpipe load errors of the clickstream stream",
            enabled: true,
            notificationProvider: "AWS_SNS",
            awsSnsTopicArn: `arn:aws:sns:eu-west-1:123456789012:topic/${name}-errors`,
            awsSnsRoleArn: `arn:aws:iam::123456789012:role/${name}-errors`,
        });
    });

    it("lets only the error integration's IAM user, with its external id, publish to the topic through its role", () => {
        const role = mocks.named(`${name}-errors-role`);
        expect(role.inputs.name).to.equal(`${name}-errors`);
        expect(policyOf(role, "assumeRolePolicy").Statement).to.deep.equal([
            {
                Sid: "AssumedBySnowflakeErrorIntegration",
                Effect: "Allow",
                Principal: { AWS: snowflakeReports.snsIamUser },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "sts:ExternalId": snowflakeReports.snsExternalId } },
            },
        ]);
        expect(policyOf(mocks.named(`${name}-errors-policy`)).Statement).to.deep.equal([
            {
                Sid: "PublishSnowpipeErrors",
                Effect: "Allow",
                Action: ["sns:Publish"],
                Resource: `arn:aws:sns:eu-west-1:123456789012:topic/${name}-errors`,
            },
            {
                Sid: "EncryptSnowpipeErrors",
                Effect: "Allow",
                Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                Resource: keyArn,
                Condition: { StringEquals: { "kms:ViaService": "sns.eu-west-1.amazonaws.com" } },
            },
        ]);
    });

    it("alarms on any message published to the error topic", () => {
        const topic = "arn:aws:sns:eu-west-1:123456789012:topic/ingest-dev-clickstream-alarms";
        expect(mocks.named("ingest-dev-clickstream-alarms-snowpipe-errors").inputs).to.deep.equal({
            alarmDescription: "Snowpipe reported an error loading the clickstream stream into RAW.EVENTS.CLICKSTREAM",
            alarmActions: [topic],
            okActions: [topic],
            namespace: "AWS/SNS",
            metricName: "NumberOfMessagesPublished",
            dimensions: { TopicName: `${name}-errors` },
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
        });
    });

    it("declares exactly these resources", () => {
        const declared = mocks.resources
            .filter((resource) => resource.name.startsWith(name))
            .map((resource) => [resource.type, resource.name])
            .sort(([, a], [, b]) => a!.localeCompare(b!));
        expect(declared).to.deep.equal([
            ["ingestion:warehouse:SnowflakeIngest", name],
            ["snowflake:index/notificationIntegration:NotificationIntegration", `${name}-error-integration`],
            ["aws:sns/topic:Topic", `${name}-errors`],
            ["aws:iam/rolePolicy:RolePolicy", `${name}-errors-policy`],
            ["aws:iam/role:Role", `${name}-errors-role`],
            ["aws:iam/role:Role", `${name}-load`],
            ["aws:iam/rolePolicy:RolePolicy", `${name}-load-policy`],
            ["snowflake:index/pipe:Pipe", `${name}-pipe`],
            ["aws:s3/bucketNotification:BucketNotification", `${name}-pipe-notifications`],
            ["snowflake:index/stage:Stage", `${name}-stage`],
            ["snowflake:index/storageIntegration:StorageIntegration", `${name}-storage`],
            ["snowflake:index/table:Table", `${name}-table`],
        ]);
    });

    it("refuses role names IAM would refuse", () => {
        const long = "x".repeat(60);
        expect(
            () =>
                new SnowflakeIngest(long, {
                    stream: "s",
                    fields: [],
                    target: { database: "D", schema: "S", table: "T" },
                    integrationPrefix: "P",
                    destination,
                    prefix: "s/",
                    kmsKeyArn: keyArn,
                    alarms: new AlarmTopic("a", { kmsKeyArn: keyArn }),
                }),
        ).to.throw(`Snowflake role names longer than 64 characters: ${long}-load, ${long}-errors`);
    });
});

describe("warehouse.snowflake in a stream definition", () => {
    const file = "config/streams/clickstream.yaml";
    const { valid, problemsOf } = configExample(file, parseStream);
    const snowflakeBlock = /^  snowflake:\n(?:    .*\n)*/m;
    const withSnowflake = (block: string) => {
        expect(snowflakeBlock.test(valid), "the example has a warehouse.snowflake block").to.equal(true);
        return valid.replace(snowflakeBlock, `  snowflake:\n${block}`);
    };
    const line = valid.split("\n").findIndex((text) => text === "  snowflake:") + 2;

    it("accepts an account section without the manual path's settings", () => {
        const stream = parseStream(
            file,
            withSnowflake("    account:\n      database: RAW\n      schema: EVENTS\n      table: CLICKSTREAM\n"),
        );
        expect(stream.warehouse?.snowflake).to.deep.equal({ account: { database: "RAW", schema: "EVENTS", table: "CLICKSTREAM" } });
    });

    const refusals: [string, string, string[]][] = [
        [
            "neither path",
            "    {}\n",
            [
                `${file}:${line - 1}:3: warehouse.snowflake.externalId: is required for the manual path; or set account to declare the Snowflake side`,
            ],
        ],
        [
            "the manual path's settings beside an account",
            "    externalId: X\n    account:\n      database: RAW\n      schema: EVENTS\n      table: CLICKSTREAM\n",
            [`${file}:${line}:5: warehouse.snowflake.externalId: is Snowflake's to generate when account is set; remove it`],
        ],
        [
            "an identifier Snowflake would need quoted",
            "    account:\n      database: raw-data\n      schema: EVENTS\n      table: CLICKSTREAM\n",
            [
                `${file}:${line + 1}:7: warehouse.snowflake.account.database: must be a Snowflake identifier: a letter or _, then letters, digits, _ or $`,
            ],
        ],
        [
            "an account section missing its table",
            "    account:\n      database: RAW\n      schema: EVENTS\n",
            [`${file}:${line}:5: warehouse.snowflake.account.table: required field is missing`],
        ],
    ];
    for (const [label, block, expected] of refusals) {
        it(`refuses ${label}`, () => {
            expect(problemsOf(withSnowflake(block))).to.deep.equal(expected);
        });
    }
});

describe("Snowflake credentials in the stack file", () => {
    const problemsOf = (text: string): string[] => {
        try {
            refusePlainSnowflakeCredentials(StackFile.parse("dev", text));
        } catch (error) {
            if (error instanceof ConfigError) {
                return [...error.problems];
            }
            throw error;
        }
        return [];
    };
    const rule = "is plain text; a Snowflake credential must be a secret: pulumi config rm it, then pulumi config set --secret it";

    it("accepts credentials Pulumi encrypted, and the provider's other settings in plain text", () => {
        expect(
            problemsOf(
                "config:\n  snowflake:organizationName: ACME\n  snowflake:accountName: PROD\n  snowflake:user: INGEST\n" +
                    "  snowflake:password:\n    secure: v1:abc\n",
            ),
        ).to.deep.equal([]);
    });

    it("refuses each plain-text credential at its line and column", () => {
        expect(
            problemsOf("config:\n  snowflake:user: INGEST\n  snowflake:password: hunter2\n  snowflake:privateKey: |\n    -----BEGIN\n"),
        ).to.deep.equal([`Pulumi.dev.yaml:3:3: snowflake:password: ${rule}`, `Pulumi.dev.yaml:4:3: snowflake:privateKey: ${rule}`]);
    });

    it("knows the provider's credential settings", () => {
        expect(snowflakeCredentialKeys).to.deep.equal([
            "snowflake:password",
            "snowflake:privateKey",
            "snowflake:privateKeyPassphrase",
            "snowflake:token",
            "snowflake:passcode",
            "snowflake:clientRequestMfaToken",
        ]);
    });
});

describe("the program with warehouse.snowflake.account", () => {
    // A stack and a stream written beside the fixtures in a copy of them for the run, as `pulumi up` would read them.
    const stack = "snowflake-test";
    const stackConfig = "config:\n  aws:region: eu-west-1\n  ingestion:mappings: [customers]\n  ingestion:streams: [snowstream]\n";
    const stream = fixtureText("config/streams/clickstream.yaml")
        .replace("stream: clickstream", "stream: snowstream")
        .replace(/^ {2}snowflake:\n(?: {4}.*\n)*/m, "  snowflake:\n    account: { database: RAW, schema: EVENTS, table: SNOWSTREAM }\n");
    const run = (config: string, mocks = new RecordingMocks()) =>
        withConfigFiles({ [`Pulumi.${stack}.yaml`]: config, "config/streams/snowstream.yaml": stream }, (root) =>
            runProgramWithExports(stack, mocks, root),
        );

    it("declares the Snowflake side, drops the manual role and exports what the integration and pipe report", async () => {
        const { mocks, exports } = await run(stackConfig + "  snowflake:password:\n    secure: v1:AAAAAAAAAAAAAAAA\n");
        const name = "ingest-snowflake-test-snowstream-snowflake";
        expect(mocks.ofType("ingestion:warehouse:SnowflakeIngest").map((resource) => resource.name)).to.deep.equal([name]);
        expect(
            mocks.resources.filter((resource) => resource.name === "ingest-snowflake-test-snowstream-warehouse-snowflake"),
        ).to.deep.equal([]);
        expect(mocks.named(`${name}-storage`).inputs.name).to.equal("INGEST_SNOWFLAKE_TEST_SNOWSTREAM_S3");
        expect(mocks.named(`${name}-table`).inputs.columns).to.have.length(
            parseStream("config/streams/snowstream.yaml", stream).typedFields.length,
        );
        const warehouse = (exports.streamingLakes as Record<string, { warehouse: Record<string, unknown> }>).snowstream!.warehouse;
        expect(warehouse).to.deep.include({
            snowflakeRoleArn: `arn:aws:iam:eu-west-1:123456789012:role/${name}-load`,
            snowflakeExternalId: snowflakeReports.storageExternalId,
            notificationQueueArn: snowflakeReports.notificationChannel,
            snowflakePipe: "SNOWSTREAM_PIPE",
            snowpipeErrorTopicArn: `arn:aws:sns:eu-west-1:123456789012:topic/${name}-errors`,
        });
    });

    it("refuses a plain-text Snowflake password in the stack file, at its line, before declaring anything", async () => {
        let failure: unknown;
        const mocks = new RecordingMocks();
        try {
            await run(stackConfig + "  snowflake:password: hunter2\n", mocks);
        } catch (error) {
            failure = error;
        }
        expect(failure).to.be.instanceOf(ConfigError);
        expect((failure as ConfigError).problems).to.deep.equal([
            `Pulumi.${stack}.yaml:5:3: snowflake:password: is plain text; a Snowflake credential must be a secret: ` +
                "pulumi config rm it, then pulumi config set --secret it",
        ]);
        expect(mocks.resources).to.deep.equal([]);
    });
});
