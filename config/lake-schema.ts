import typeWidening from "../glue-scripts/ingest/contracts/type_widening.json";
import type { JobPlan } from "./job-plan";
import type { FieldPath } from "./yaml-source";

/**
 * A lake table's schema as deployed against the schema a plan gives it. The Glue job evolves a
 * deployed table to its plan when a run starts (`ensure_tables` in glue-scripts/ingest/lake.py):
 * it adds new columns and widens the types Iceberg promotes in place, and fails the run on any
 * other type change. This is the same judgement made before a deployment, so such a change is
 * refused before the plan that makes it is deployed. Which changes widen, and how a refusal reads,
 * is the contract both sides read: glue-scripts/ingest/contracts/type_widening.json.
 */

/** A column of a deployed lake table, as the Glue Data Catalog lists it in the table's storage descriptor. */
export interface DeployedColumn {
    readonly name: string;
    /** Glue's (Hive's) type name: `bigint`, `decimal(12,2)`, `timestamp`. */
    readonly type: string;
    readonly parameters?: Readonly<Record<string, string>>;
}

/** The columns of each deployed lake table, by Glue table name; a table not deployed yet is absent. */
export type DeployedLake = ReadonlyMap<string, readonly DeployedColumn[]>;

/** A type change that cannot be made in place, at the mapping field that makes it. */
export interface LakeSchemaProblem {
    readonly path: FieldPath;
    readonly message: string;
}

/**
 * Whether Iceberg can change a column from the `lake` type to the `mapping` type in place, without
 * rewriting the table (Spark type names, as the plan has them).
 */
export function widens(lake: string, mapping: string): boolean {
    if (typeWidening.promotions.some((promotion) => promotion.from === lake && promotion.to === mapping)) {
        return true;
    }
    const [from, to] = [decimalType.exec(lake), decimalType.exec(mapping)];
    return typeWidening.decimalPrecisionMayRise && from !== null && to !== null && from[2] === to[2] && Number(to[1]) > Number(from[1]);
}

const decimalType = /^decimal\((\d+),(\d+)\)$/;

/**
 * Iceberg names of the plan's types where they differ from Spark's. Iceberg's GlueCatalog rewrites
 * a table's storage descriptor columns on every commit with Hive names, which are Spark's for every
 * type a plan uses (`int`, `bigint`, `double`, `decimal(12,2)`, `timestamp` for Iceberg's
 * timestamptz). Until the job's first commit, a table holds whatever Glue made of the Iceberg input
 * the program declared it with (components/catalog), whose types are Iceberg's; read either way,
 * a table nothing has changed since compares equal to its plan.
 */
const sparkNamesOfIcebergTypes: Readonly<Record<string, string>> = { long: "bigint", timestamptz: "timestamp" };

/** A deployed column's type in the plan's vocabulary (Spark's type names, as the job compares them). */
export function sparkTypeName(glueType: string): string {
    const spelled = glueType.trim().toLowerCase().replace(/\s+/g, "");
    return sparkNamesOfIcebergTypes[spelled] ?? spelled;
}

/** Parameter with which Iceberg's GlueCatalog marks a column of an older schema only (dropped or renamed since). */
const currentColumnParameter = "iceberg.field.current";

/**
 * The column type changes a plan would make to the deployed lake tables that Iceberg cannot make in
 * place, each at the mapping field that declares the type (`tables.<table>.columns[<i>].type`; for an
 * item's root key columns, `ingest_root_<column>`, the root table's column). A column of the lake's
 * own, whose type no mapping declares, is reported at the top of the file. Columns the plan adds, and
 * deployed columns it no longer has, change no type and are not problems.
 */
export function lakeSchemaProblems(plan: JobPlan, deployed: DeployedLake): LakeSchemaProblem[] {
    const fieldOf = (table: string, column: string): FieldPath => {
        const root = plan.lake.rootColumns.find((candidate) => candidate.name === column);
        const [mapped, name] = root ? [plan.item.root.table, root.column] : [table, column];
        const index = plan.tables.find((candidate) => candidate.name === mapped)?.columns.findIndex((candidate) => candidate.name === name);
        return index === undefined || index < 0 ? [] : ["tables", mapped, "columns", index, "type"];
    };
    return plan.lake.tables.flatMap((table) => {
        const lakeTypes = new Map(
            (deployed.get(table.name) ?? [])
                .filter((column) => column.parameters?.[currentColumnParameter] !== "false")
                .map((column) => [column.name, sparkTypeName(column.type)]),
        );
        return table.columns.flatMap(({ name, type }) => {
            const lake = lakeTypes.get(name);
            if (lake === undefined || lake === type || widens(lake, type)) {
                return [];
            }
            return [{ path: fieldOf(table.table, name), message: refusal({ table: table.name, column: name, lake, mapping: type }) }];
        });
    });
}

/** The contract's refusal with its `{placeholders}` filled in. */
function refusal(fields: Readonly<Record<"table" | "column" | "lake" | "mapping", string>>): string {
    return typeWidening.refusal.replace(/\{(\w+)\}/g, (placeholder, key: string) => {
        if (!(key in fields)) {
            throw new Error(`contracts/type_widening.json: unknown placeholder ${placeholder} in its refusal`);
        }
        return fields[key as keyof typeof fields];
    });
}
