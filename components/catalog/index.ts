import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { defaultBytesScannedCutoff, parquetStorage } from "./defaults";

export interface CatalogColumn {
    readonly name: string;
    /** Glue type name: string, int, bigint, double, boolean, date, timestamp, decimal(p,s). */
    readonly type: string;
    readonly comment?: string;
}

export interface CatalogTableSpec {
    /** Glue table name; also the key of the child resource, so reordering tables replaces nothing. */
    readonly name: string;
    readonly description: string;
    readonly columns: readonly CatalogColumn[];
    readonly partitionKeys: readonly CatalogColumn[];
    /** Key prefix of the table's data in the lake bucket, ending in `/`. */
    readonly lakePrefix: string;
}

export interface CatalogArgs {
    /** Glue database name (lowercase letters, digits and _). */
    readonly databaseName: string;
    readonly lakeBucketName: pulumi.Input<string>;
    readonly tables: readonly CatalogTableSpec[];
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly athenaResultsBucketName: pulumi.Input<string>;
    /** Bytes a single Athena query may scan. Defaults to 10 GiB. */
    readonly bytesScannedCutoffPerQuery?: number;
    /** Let `pulumi destroy` delete the workgroup with its saved queries and history. Defaults to false. */
    readonly allowDataDeletion?: boolean;
}

/**
 * The lake's catalog: a Glue database with one explicitly typed Parquet table per mapped table,
 * the Glue security configuration jobs and crawlers run under, and the Athena workgroup people
 * query through (its settings enforced, results encrypted with the project key, scans capped).
 */
export class Catalog extends pulumi.ComponentResource {
    readonly database: aws.glue.CatalogDatabase;
    readonly databaseName: pulumi.Output<string>;
    readonly tables: Record<string, aws.glue.CatalogTable>;
    readonly securityConfiguration: aws.glue.SecurityConfiguration;
    readonly securityConfigurationName: pulumi.Output<string>;
    readonly workgroup: aws.athena.Workgroup;
    readonly workgroupName: pulumi.Output<string>;

    constructor(name: string, args: CatalogArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:catalog:Catalog", name, {}, opts);

        this.database = new aws.glue.CatalogDatabase(
            `${name}-database`,
            { name: args.databaseName, description: `Lake tables of ${name}` },
            { parent: this },
        );
        this.databaseName = this.database.name;

        this.tables = {};
        for (const table of args.tables) {
            this.tables[table.name] = new aws.glue.CatalogTable(
                `${name}-${table.name}`,
                {
                    name: table.name,
                    databaseName: this.database.name,
                    description: table.description,
                    tableType: "EXTERNAL_TABLE",
                    parameters: { classification: "parquet", EXTERNAL: "TRUE", "parquet.compression": "SNAPPY" },
                    partitionKeys: table.partitionKeys.map((column) => ({ ...column })),
                    storageDescriptor: {
                        ...parquetStorage,
                        location: pulumi.interpolate`s3://${args.lakeBucketName}/${table.lakePrefix}`,
                        columns: table.columns.map((column) => ({ ...column })),
                    },
                },
                { parent: this },
            );
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
                forceDestroy: args.allowDataDeletion ?? false,
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
