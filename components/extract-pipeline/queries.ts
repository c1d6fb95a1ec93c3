import type { JobPlan, PlanNode } from "../../config/job-plan";

/** An Athena saved query of a pipeline, run in the lake's database; it is saved as `<pipeline>-<name>`. */
export interface SavedQuery {
    readonly name: string;
    readonly description: string;
    readonly query: string;
}

/**
 * The pipeline's saved queries over its lake: its items as the job builds them from the current
 * tables, and the history of the root rows the latest extract brought.
 */
export function savedLakeQueries(plan: JobPlan): SavedQuery[] {
    return [itemsQuery(plan), rootHistoryQuery(plan)];
}

function quoted(identifier: string): string {
    return `"${identifier.replace(/"/g, '""')}"`;
}

function planTable(plan: JobPlan, name: string): JobPlan["tables"][number] {
    const table = plan.tables.find((candidate) => candidate.name === name);
    if (!table) {
        throw new Error(`the plan of ${plan.pipeline} has no table ${name}`);
    }
    return table;
}

/** The Glue name of the lake table holding `table` in `role`. */
function lakeTable(plan: JobPlan, table: string, role: JobPlan["lake"]["tables"][number]["role"]): string {
    const found = plan.lake.tables.find((candidate) => candidate.table === table && candidate.role === role);
    if (!found) {
        throw new Error(`the plan of ${plan.pipeline} has no ${role} table of ${table}`);
    }
    return found.name;
}

/**
 * The root's current rows LEFT JOIN each collection's current rows on the relationship's columns,
 * down the item's tree, so a root without children still shows. Each output column is named by its
 * place in the item (`orders.lines.sku`). Sibling collections multiply: a customer with 3 orders and
 * 2 addresses gives 6 rows, as any join of independent children does.
 */
function itemsQuery(plan: JobPlan): SavedQuery {
    const root = plan.item.root;
    const columns: string[] = [];
    const joins: string[] = [];
    const order: string[] = planTable(plan, root.table).primaryKey.map((column) => `${quoted(root.table)}.${quoted(column)}`);
    const visit = (node: PlanNode, path: readonly string[]) => {
        for (const { column, attribute } of node.attributes) {
            columns.push(`${quoted(node.table)}.${quoted(column)} AS ${quoted([...path, attribute].join("."))}`);
        }
        for (const collection of node.collections) {
            const child = planTable(plan, collection.node.table);
            if (child.parent?.table !== node.table) {
                throw new Error(
                    `table ${child.name} of ${plan.pipeline} is collected under ${node.table} but its parent is ${child.parent?.table}`,
                );
            }
            const on = child.parent.on.map(
                (pair) => `${quoted(child.name)}.${quoted(pair.child)} = ${quoted(node.table)}.${quoted(pair.parent)}`,
            );
            joins.push(`LEFT JOIN ${quoted(lakeTable(plan, child.name, "current"))} AS ${quoted(child.name)} ON ${on.join(" AND ")}`);
            order.push(...collection.orderBy.map((column) => `${quoted(child.name)}.${quoted(column)}`));
            visit(collection.node, [...path, collection.attribute]);
        }
    };
    visit(root, []);
    return {
        name: "item-rows",
        description: `${plan.pipeline} items as the job builds them: current ${root.table} rows with their collections, one row per combination`,
        query: [
            `-- The current tables joined the way the job builds a ${plan.pipeline} item: each collection on its relationship's columns.`,
            "SELECT",
            columns.map((column) => `    ${column}`).join(",\n"),
            `FROM ${quoted(lakeTable(plan, root.table, "current"))} AS ${quoted(root.table)}`,
            ...joins,
            `ORDER BY ${order.join(", ")}`,
            "LIMIT 1000",
        ].join("\n"),
    };
}

/**
 * Every version the history table keeps of the root rows the latest extract brought, oldest first.
 * Time travel over the current table is in the comment, since a saved query runs as written.
 */
function rootHistoryQuery(plan: JobPlan): SavedQuery {
    const root = planTable(plan, plan.item.root.table);
    const currentName = lakeTable(plan, root.name, "current");
    const current = quoted(currentName);
    const history = quoted(lakeTable(plan, root.name, "history"));
    const key = root.primaryKey.map(quoted);
    return {
        name: "row-history",
        description: `Every kept version of the ${root.name} rows the latest ${plan.pipeline} extract brought, oldest first`,
        query: [
            `-- Every version of the ${root.name} rows the latest extract brought, as each extract brought it.`,
            `-- For one row, replace the subquery's WHERE with: WHERE ${key.map((column) => `${column} = '<value>'`).join(" AND ")}`,
            `-- The current table as it stood at an earlier snapshot or time (snapshots are kept for the stack's retentionDays):`,
            `--   SELECT * FROM ${current} FOR VERSION AS OF <snapshot id> WHERE ...`,
            `--   SELECT * FROM ${current} FOR TIMESTAMP AS OF TIMESTAMP '2026-11-20 06:00:00 UTC' WHERE ...`,
            `-- Snapshot ids and times: SELECT * FROM ${quoted(`${currentName}$snapshots`)} ORDER BY committed_at DESC`,
            "SELECT history.*",
            `FROM ${history} AS history`,
            "JOIN (",
            `    SELECT DISTINCT ${key.join(", ")}`,
            `    FROM ${history}`,
            `    WHERE ingest_extract_version = (SELECT max(ingest_extract_version) FROM ${history})`,
            `) AS latest ON ${key.map((column) => `history.${column} = latest.${column}`).join(" AND ")}`,
            `ORDER BY ${key.map((column) => `history.${column}`).join(", ")}, history.ingest_extract_version`,
            "LIMIT 1000",
        ].join("\n"),
    };
}
