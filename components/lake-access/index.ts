import * as pulumi from "@pulumi/pulumi";
import icebergCatalog from "../../glue-scripts/ingest/contracts/iceberg_catalog.json";
import { objectsUnder, type PolicyStatement } from "../policies";
import { glueArn, type AccountScope } from "../account-scope";
import type { BucketRef } from "../secure-bucket";

/**
 * How a Glue job reaches the lake's Apache Iceberg tables: the Spark settings of the catalog the
 * job names (from `glue-scripts/ingest/contracts/iceberg_catalog.json`, which local Spark applies
 * too) and the permissions on exactly the tables it reads and commits to.
 */

/** The catalog contract as the JSON file holds it. */
export type IcebergCatalogContract = Pick<typeof icebergCatalog, "catalog" | "extensions" | "catalogSettings" | "warehouseSetting">;

/** A lake table a job or an optimizer works on: its Glue name and its key prefix in the lake bucket (ending in `/`). */
export interface LakeTableRef {
    readonly name: string;
    readonly location: string;
}

/**
 * The value of Glue's `--conf` job argument for the catalog `contract` describes, with `warehouse`
 * as its warehouse. Glue takes one `--conf` key, so every setting after the first is chained as
 * `--conf key=value` inside the value: Spark's extensions first, then the catalog's settings in the
 * contract's order (the empty key is the catalog itself), then the warehouse.
 */
export function icebergSparkConf(contract: IcebergCatalogContract, warehouse: string): string {
    const catalog = `spark.sql.catalog.${contract.catalog}`;
    const settings: [string, string][] = [
        ["spark.sql.extensions", contract.extensions],
        ...Object.entries(contract.catalogSettings).map(([key, value]): [string, string] => [key ? `${catalog}.${key}` : catalog, value]),
        [`${catalog}.${contract.warehouseSetting}`, warehouse],
    ];
    return settings.map(([key, value]) => `${key}=${value}`).join(" --conf ");
}

/**
 * Glue's own arguments for a job that reads and writes the lake's Iceberg tables: Glue 5.1's bundled
 * Iceberg (`--datalake-formats`) and the contract's catalog, whose warehouse is the lake bucket.
 */
export function icebergJobArguments(lakeBucketName: pulumi.Input<string>): Record<string, pulumi.Input<string>> {
    return {
        "--datalake-formats": "iceberg",
        "--conf": pulumi.output(lakeBucketName).apply((bucket) => icebergSparkConf(icebergCatalog, `s3://${bucket}/`)),
    };
}

/** The Glue Data Catalog ARNs a commit to `tables` touches: the catalog, the database and each table by name. */
export function lakeTableArns(
    scope: AccountScope,
    databaseName: pulumi.Input<string>,
    tables: readonly LakeTableRef[],
): pulumi.Output<string>[] {
    return [
        glueArn(scope, "catalog"),
        glueArn(scope, pulumi.interpolate`database/${databaseName}`),
        ...tables.map((table) => glueArn(scope, pulumi.interpolate`table/${databaseName}/${table.name}`)),
    ];
}

export interface LakeTablesScope extends AccountScope {
    readonly lake: BucketRef;
    readonly databaseName: pulumi.Input<string>;
    readonly tables: readonly LakeTableRef[];
    /** A prefix of the lake bucket beside the tables where the job keeps its reports, ending in `/`. */
    readonly reportsPrefix: string;
}

/**
 * What Iceberg's GlueCatalog and S3FileIO do for a job that reads, merges into and evolves the given
 * tables, and nothing beyond them: every table by its ARN (no wildcard reaches another pipeline's
 * tables), objects and listings only under the tables' locations and the job's reports prefix.
 */
export function lakeTableStatements(scope: LakeTablesScope): PolicyStatement[] {
    const prefixes = [...scope.tables.map((table) => table.location), scope.reportsPrefix];
    return [
        {
            // Listing is what makes S3 answer 404 rather than 403 for a key that does not exist yet,
            // which S3FileIO asks before it writes a new data or metadata file.
            Sid: "ListLakeTablesAndReports",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: scope.lake.arn,
            Condition: { StringLike: { "s3:prefix": prefixes.map((prefix) => `${prefix}*`) } },
        },
        {
            // S3FileIO uploads large files in parts and aborts the upload of a file it gives up on.
            Sid: "ReadAndWriteLakeTablesAndReports",
            Effect: "Allow",
            Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            Resource: prefixes.map((prefix) => objectsUnder(scope.lake.arn, prefix)),
        },
        {
            // GetTable loads a table; UpdateTable commits a snapshot or a schema change (it swaps
            // metadata_location, conditional on the version read); GetDatabase and GetTables
            // resolve the database the catalog names.
            Sid: "CommitLakeTables",
            Effect: "Allow",
            Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:UpdateTable"],
            Resource: lakeTableArns(scope, scope.databaseName, scope.tables),
        },
    ];
}
