import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import type { JobPlan } from "./job-plan";
import { lakeSchemaProblems, type DeployedColumn } from "./lake-schema";
import { configDirectory, displayPath } from "./load";
import { ConfigError, YamlSource } from "./yaml-source";

/** The columns of a deployed lake table by its Glue name, or undefined when it is not deployed yet. */
export type ReadLakeTable = (name: string) => Promise<readonly DeployedColumn[] | undefined>;

/**
 * Compares the deployed lake tables of the plans with what the plans make of them, and throws one
 * ConfigError with every type change Iceberg cannot make in place, each located at its mapping's
 * field (see `lakeSchemaProblems`). A table not deployed yet has nothing to compare.
 */
export async function checkDeployedLake(
    plans: readonly JobPlan[],
    read: ReadLakeTable,
    directory = configDirectory("mappings"),
): Promise<void> {
    const names = plans.flatMap((plan) => plan.lake.tables.map((table) => table.name));
    const deployed = new Map<string, readonly DeployedColumn[]>();
    for (const [name, columns] of await Promise.all(names.map(async (name) => [name, await read(name)] as const))) {
        if (columns) {
            deployed.set(name, columns);
        }
    }
    const problems: string[] = [];
    for (const plan of plans) {
        const found = lakeSchemaProblems(plan, deployed);
        if (found.length === 0) {
            continue;
        }
        const file = path.join(directory, `${plan.pipeline}.yaml`);
        const source = new YamlSource(displayPath(file), fs.readFileSync(file, "utf8"));
        for (const { path: field, message } of found) {
            source.report(field, message);
        }
        problems.push(...source.messages());
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
}

/**
 * Reads lake tables of a Glue database with the `aws.glue.getCatalogTable` invoke. The lake's Iceberg
 * tables are declared with `ignoreChanges` (the Iceberg writer owns their schema once they exist),
 * and Iceberg's GlueCatalog rewrites a table's storage descriptor columns from the Iceberg schema on
 * every commit, so those columns are the schema the job will evolve from.
 */
export function glueLakeTables(databaseName: string): ReadLakeTable {
    return async (name) => {
        try {
            const table = await aws.glue.getCatalogTable({ databaseName, name });
            return table.storageDescriptors.flatMap((descriptor) => descriptor.columns);
        } catch (error) {
            // The first deployment of a table (or of the whole stack, its database included): the
            // program declares it with the plan's schema, which nothing has to be compared with.
            if (isTableNotFound(error, databaseName, name)) {
                return undefined;
            }
            throw error;
        }
    };
}

/**
 * Whether the invoke failed because GetTable answered EntityNotFoundException, for a missing table
 * or a missing database alike, which the AWS provider reports in these words
 * (terraform-provider-aws, internal/service/glue/catalog_table_data_source.go). Any other failure
 * (no permission, throttling, no network) must fail the deployment rather than pass for "not deployed".
 */
function isTableNotFound(error: unknown, databaseName: string, name: string): boolean {
    return (
        error instanceof Error &&
        error.message.includes(`No Glue table ${name} found for catalog_id: `) &&
        error.message.includes(`, database_name: ${databaseName}`)
    );
}
