import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountScope, type AccountScope } from "../account-scope";
import { lakeTableArns } from "../lake-access";
import { kmsUse, objectsUnder, type PolicyStatement } from "../policies";
import { serviceRole } from "../service-role";
import { defaultBytesScannedCutoff, icebergTableInput, optimizerSettings, type IcebergTableSpec } from "./defaults";
import type { BucketRef } from "../secure-bucket";

export type { IcebergTableSpec } from "./defaults";

export interface CatalogArgs {
    /** Glue database name (lowercase letters, digits and _). */
    readonly databaseName: string;
    /** The bucket the Iceberg tables live in. */
    readonly lake: BucketRef;
    /** The lake's Iceberg tables (`lake.tables` of every job plan). */
    readonly tables: readonly IcebergTableSpec[];
    /** Days the tables' snapshots are kept (time travel); older snapshots and the files only they use are deleted. */
    readonly snapshotRetentionDays: number;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly athenaResultsBucketName: pulumi.Input<string>;
    /** Bytes a single Athena query may scan. Defaults to 10 GiB. */
    readonly bytesScannedCutoffPerQuery?: number;
    /**
     * Let `pulumi destroy` delete the workgroup with its saved queries and history, and the lake
     * tables' catalog entries (their data stays in the lake bucket). Defaults to false: a table
     * removed from the program, or the whole stack destroyed, leaves the table in the catalog.
     */
    readonly allowDataDeletion?: boolean;
}

/** The Glue table optimizers, by the suffix of their child name and Glue's optimizer type. */
const optimizerTypes = [
    { suffix: "compaction", type: "compaction" },
    { suffix: "retention", type: "retention" },
    { suffix: "orphan-files", type: "orphan_file_deletion" },
] as const;

/**
 * The lake's catalog: a Glue database with the lake's Apache Iceberg tables (format v2, declared
 * schema, partition spec and sort order) and Glue's managed optimizers on each (compaction of the
 * tables runs merge into, snapshot retention and orphan-file deletion on all), the Glue security
 * configuration jobs and crawlers run under, and the Athena workgroup people query through (its
 * settings enforced, results encrypted with the project key, scans capped).
 */
export class Catalog extends pulumi.ComponentResource {
    readonly database: aws.glue.CatalogDatabase;
    readonly databaseName: pulumi.Output<string>;
    readonly tables: Record<string, aws.glue.CatalogTable>;
    readonly optimizerRole: aws.iam.Role | undefined;
    readonly securityConfiguration: aws.glue.SecurityConfiguration;
    readonly securityConfigurationName: pulumi.Output<string>;
    readonly workgroup: aws.athena.Workgroup;
    readonly workgroupName: pulumi.Output<string>;

    constructor(name: string, args: CatalogArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:catalog:Catalog", name, {}, opts);
        const scope = accountScope(this);
        const allowDataDeletion = args.allowDataDeletion ?? false;

        this.database = new aws.glue.CatalogDatabase(
            `${name}-database`,
            { name: args.databaseName, description: `Lake tables of ${name}` },
            // Deleting a Glue database deletes its tables, which a kept table must survive.
            { parent: this, retainOnDelete: !allowDataDeletion },
        );
        this.databaseName = this.database.name;

        this.tables = {};
        for (const table of args.tables) {
            const location = pulumi.interpolate`s3://${args.lake.name}/${table.location.replace(/\/$/, "")}`;
            this.tables[table.name] = new aws.glue.CatalogTable(
                `${name}-${table.name}`,
                {
                    name: table.name,
                    databaseName: this.database.name,
                    // No `description`: Glue takes nothing but the Iceberg input when it creates an
                    // Iceberg table, so a description here would show as a change on the next update.
                    // The description is the Iceberg `comment` property instead, which Iceberg's
                    // GlueCatalog copies to the Glue description on each commit.
                    openTableFormatInput: {
                        icebergInput: {
                            metadataOperation: "CREATE",
                            version: "2",
                            icebergTableInput: pulumi.output(location).apply((uri) => icebergTableInput(table, uri)),
                        },
                    },
                },
                {
                    parent: this,
                    // Glue creates the table and its first metadata from this input; from then on the
                    // Iceberg writer owns it. Every commit points the `metadata_location` parameter at
                    // new metadata and rewrites the storage descriptor's columns, and the job adds
                    // columns a mapping gains (ALTER TABLE ADD COLUMN). An update from Pulumi would put
                    // back what it last saw, pointing the table at old metadata and losing every
                    // snapshot since; and the Iceberg input is only read on CREATE, so a changed
                    // schema or property here would do nothing. So Pulumi creates the table and
                    // leaves it alone: schema changes go through the job, property changes through
                    // ALTER TABLE.
                    ignoreChanges: ["parameters", "storageDescriptor", "tableType", "openTableFormatInput"],
                    // The catalog entry is the only pointer to the table's current metadata.
                    retainOnDelete: !allowDataDeletion,
                },
            );
        }

        if (args.tables.length > 0) {
            const { role, policy } = serviceRole(
                `${name}-table-optimizers`,
                {
                    description: `Compacts the lake tables of ${name}, expires their snapshots and deletes their orphan files`,
                    service: "glue.amazonaws.com",
                    accountId: scope.accountId,
                    statements: optimizerStatements({
                        ...scope,
                        lake: args.lake,
                        databaseName: this.database.name,
                        tables: args.tables,
                        kmsKeyArn: args.kmsKeyArn,
                    }),
                },
                { parent: this },
            );
            this.optimizerRole = role;
            for (const table of args.tables) {
                const settings = optimizerSettings(table.role, args.snapshotRetentionDays);
                const configurations = {
                    compaction: settings.compaction
                        ? { compactionConfiguration: { icebergConfiguration: settings.compaction } }
                        : undefined,
                    retention: { retentionConfiguration: { icebergConfiguration: settings.retention } },
                    orphan_file_deletion: { orphanFileDeletionConfiguration: { icebergConfiguration: settings.orphanFileDeletion } },
                };
                for (const { suffix, type } of optimizerTypes) {
                    const configuration = configurations[type];
                    if (!configuration) {
                        continue;
                    }
                    new aws.glue.CatalogTableOptimizer(
                        `${name}-${table.name}-${suffix}`,
                        {
                            catalogId: scope.accountId,
                            databaseName: this.database.name,
                            tableName: this.tables[table.name]!.name,
                            type,
                            configuration: { roleArn: role.arn, enabled: true, ...configuration },
                        },
                        { parent: this, dependsOn: [policy] },
                    );
                }
            }
        } else {
            this.optimizerRole = undefined;
        }

        this.securityConfiguration = new aws.glue.SecurityConfiguration(
            `${name}-security`,
            {
                name: `${name}-security`,
                encryptionConfiguration: {
                    s3Encryption: { s3EncryptionMode: "SSE-KMS", kmsKeyArn: args.kmsKeyArn },
                    cloudwatchEncryption: { cloudwatchEncryptionMode: "SSE-KMS", kmsKeyArn: args.kmsKeyArn },
                    jobBookmarksEncryption: { jobBookmarksEncryptionMode: "CSE-KMS", kmsKeyArn: args.kmsKeyArn },
                },
            },
            { parent: this },
        );
        this.securityConfigurationName = this.securityConfiguration.name;

        this.workgroup = new aws.athena.Workgroup(
            `${name}-workgroup`,
            {
                description: `Queries over the lake of ${name}`,
                forceDestroy: allowDataDeletion,
                configuration: {
                    enforceWorkgroupConfiguration: true,
                    publishCloudwatchMetricsEnabled: true,
                    bytesScannedCutoffPerQuery: args.bytesScannedCutoffPerQuery ?? defaultBytesScannedCutoff,
                    engineVersion: { selectedEngineVersion: "Athena engine version 3" },
                    resultConfiguration: {
                        outputLocation: pulumi.interpolate`s3://${args.athenaResultsBucketName}/results/`,
                        encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKeyArn: args.kmsKeyArn },
                    },
                },
            },
            { parent: this },
        );
        this.workgroupName = this.workgroup.name;

        this.registerOutputs({
            databaseName: this.databaseName,
            securityConfigurationName: this.securityConfigurationName,
            workgroupName: this.workgroupName,
        });
    }
}

export interface OptimizerScope extends AccountScope {
    readonly lake: BucketRef;
    readonly databaseName: pulumi.Input<string>;
    readonly tables: readonly { readonly name: string; readonly location: string }[];
    readonly kmsKeyArn: pulumi.Input<string>;
}

/**
 * Glue's documented permissions for table optimizers (optimization prerequisites), scoped to the
 * lake's tables by ARN, their locations in the lake bucket and the project key. Compaction and
 * snapshot expiry write files and commit; orphan-file deletion lists and deletes.
 */
export function optimizerStatements(scope: OptimizerScope): PolicyStatement[] {
    const logGroup = (optimizer: string) =>
        pulumi.interpolate`arn:${scope.partition}:logs:${scope.region}:${scope.accountId}:log-group:/aws-glue/${optimizer}/logs:*`;
    return [
        {
            Sid: "ListLakeTables",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: scope.lake.arn,
            Condition: { StringLike: { "s3:prefix": scope.tables.map((table) => `${table.location}*`) } },
        },
        {
            Sid: "RewriteLakeTableFiles",
            Effect: "Allow",
            Action: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            Resource: scope.tables.map((table) => objectsUnder(scope.lake.arn, table.location)),
        },
        {
            Sid: "CommitLakeTables",
            Effect: "Allow",
            Action: ["glue:GetTable", "glue:UpdateTable"],
            Resource: lakeTableArns(scope, scope.databaseName, scope.tables),
        },
        kmsUse(scope.kmsKeyArn),
        {
            Sid: "WriteOptimizerLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [logGroup("iceberg-compaction"), logGroup("iceberg-retention"), logGroup("iceberg-orphan-file-deletion")],
        },
    ];
}
