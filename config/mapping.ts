import { commonFileName, compileArchiveName, checkDatetimePattern, parseColumnType, type ColumnType } from "./formats";
import { lakeTableSuffixes } from "./job-plan";
import { mappingSchema, type CollectionInput, type Mapping, type TableMapping } from "./mapping-schema";
import { YamlSource, type FieldPath } from "./yaml-source";

/** Parses and validates one mapping file; throws a ConfigError listing every located problem. */
export function parseMapping(fileName: string, text: string): Mapping {
    return readMapping(new YamlSource(fileName, text));
}

/** Validates the mapping `source` holds, which stays usable for reporting problems across files. */
export function readMapping(source: YamlSource): Mapping {
    const mapping: Mapping = source.validate(mappingSchema);
    new MappingChecker(mapping, source).check();
    source.throwIfProblems();
    return mapping;
}

/** Cross-reference checks that a schema cannot express; each problem names the exact field. */
class MappingChecker {
    private readonly columnTypes = new Map<string, Map<string, ColumnType>>();
    private readonly parentOf = new Map<string, { parent: string; index: number }>();
    /** Children of relationships already reported as naming an unknown table, so the item check stays quiet about them. */
    private readonly brokenRelationshipChildren = new Set<string>();

    constructor(
        private readonly mapping: Mapping,
        private readonly source: YamlSource,
    ) {}

    check(): void {
        this.checkExtract();
        for (const [name, table] of Object.entries(this.mapping.tables)) {
            this.checkTable(name, table);
        }
        this.checkRelationships();
        this.checkItem();
        this.checkTtl();
    }

    private report(path: FieldPath, message: string): void {
        this.source.report(path, message);
    }

    private checkExtract(): void {
        const naming = compileArchiveName(this.mapping.extract.archiveName);
        if (!naming.ok) {
            this.report(["extract", "archiveName"], naming.error);
        }
        this.checkCsvDialect();
    }

    /** Characters with a role in the dialect must not be confused with one another or with line breaks. */
    private checkCsvDialect(): void {
        const csv = this.mapping.extract.csv;
        const path = ["extract", "csv"];
        const lineBreaks = ["\n", "\r"];
        for (const role of ["delimiter", "quote", "escape"] as const) {
            if (lineBreaks.includes(csv[role])) {
                this.report([...path, role], "must not be a line break: line breaks end records");
            }
        }
        if (csv.quote === csv.delimiter) {
            this.report([...path, "quote"], "must differ from the delimiter");
        }
        if (csv.escape === csv.delimiter) {
            this.report([...path, "escape"], "must differ from the delimiter");
        }
        const unreachable = [csv.delimiter, csv.quote, ...lineBreaks].find((character) => csv.nullValue.includes(character));
        if (unreachable !== undefined) {
            this.report(
                [...path, "nullValue"],
                `must not contain ${JSON.stringify(unreachable)}: only an unquoted field is null, and an unquoted field never holds it`,
            );
        }
    }

    private checkTable(name: string, table: TableMapping): void {
        const path = ["tables", name];
        const types = new Map<string, ColumnType>();
        table.columns.forEach((column, index) => {
            const columnPath = [...path, "columns", index];
            if (types.has(column.name)) {
                this.report([...columnPath, "name"], `duplicate column "${column.name}" in table "${name}"`);
            }
            const type = parseColumnType(column.type);
            if (!type.ok) {
                this.report([...columnPath, "type"], type.error);
                return;
            }
            types.set(column.name, type.value);
            if (column.format !== undefined) {
                if (type.value.kind === "date" || type.value.kind === "timestamp") {
                    const problem = checkDatetimePattern(column.format, type.value.kind);
                    if (problem) {
                        this.report([...columnPath, "format"], problem);
                    }
                } else {
                    this.report([...columnPath, "format"], `format applies only to date and timestamp columns, not ${column.type}`);
                }
            }
        });
        this.columnTypes.set(name, types);
        table.primaryKey.forEach((columnName, index) => {
            const column = table.columns.find((candidate) => candidate.name === columnName);
            if (!column) {
                this.report([...path, "primaryKey", index], `unknown column "${columnName}" in table "${name}"`);
            } else if (column.nullable) {
                this.report([...path, "primaryKey", index], `primary key column "${columnName}" must be declared nullable: false`);
            }
        });
        this.checkDeletes(name, table, types);
        this.checkFilePattern(name, table);
    }

    /**
     * A table's `file` glob matches the file names of archive entries (archive.py matches each entry's
     * name without its folders), and an entry two tables' patterns match rejects the whole archive as
     * ambiguous: a pattern with a folder, or one that shares a name with another table's, cannot work.
     * Reported at the later table in the file, naming the earlier one.
     */
    private checkFilePattern(name: string, table: TableMapping): void {
        const path = ["tables", name, "file"];
        const folder = /[/\\]/.exec(table.file);
        if (folder) {
            const fileName = table.file.slice(Math.max(table.file.lastIndexOf("/"), table.file.lastIndexOf("\\")) + 1);
            this.report(
                path,
                `file pattern "${table.file}" has a folder (${JSON.stringify(folder[0])}), but the job matches the file name of each ` +
                    `archive entry, its folders left out, so the pattern matches nothing${fileName !== "" ? `; write "${fileName}"` : ""}`,
            );
            return;
        }
        const earlierTables = Object.entries(this.mapping.tables).slice(0, Object.keys(this.mapping.tables).indexOf(name));
        for (const [otherName, other] of earlierTables) {
            if (other.file === table.file) {
                this.report(path, `file pattern "${table.file}" is already used by table "${otherName}"`);
                continue;
            }
            const shared = /[/\\]/.test(other.file) ? undefined : commonFileName(table.file, other.file);
            if (shared !== undefined) {
                this.report(
                    path,
                    `file pattern "${table.file}" also matches files of table "${otherName}" ("${other.file}"), such as "${shared}"; ` +
                        "an archive holding one is rejected as ambiguous, so make the patterns exclusive",
                );
            }
        }
    }

    private checkDeletes(name: string, table: TableMapping, types: Map<string, ColumnType>): void {
        const path = ["tables", name];
        if (table.deletes && table.mode === "full") {
            this.report(
                [...path, "deletes"],
                "a full-snapshot table marks deletes by leaving rows out; deletes.column is for incremental tables",
            );
        } else if (table.deletes) {
            const column = table.deletes.column;
            const type = types.get(column);
            if (!table.columns.some((candidate) => candidate.name === column)) {
                this.report([...path, "deletes", "column"], `unknown column "${column}" in table "${name}"`);
            } else if (table.primaryKey.includes(column)) {
                this.report(
                    [...path, "deletes", "column"],
                    `"${column}" is part of the primary key; the operation needs a column of its own`,
                );
            } else if (type && type.kind !== "string") {
                this.report([...path, "deletes", "column"], `"${column}" is ${describe(type)}; the operation column must be a string`);
            }
        }
        // The lake keeps three tables per mapped table; a mapped table must not take another's lake name.
        for (const suffix of lakeTableSuffixes) {
            const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
            if (base !== undefined && this.mapping.tables[base]) {
                this.report(path, `table "${name}" takes the name of table "${base}"'s ${suffix.slice(1)} table in the lake; rename it`);
            }
        }
    }

    private checkRelationships(): void {
        this.mapping.relationships.forEach((relationship, index) => {
            const path = ["relationships", index];
            const parent = this.mapping.tables[relationship.parent];
            const child = this.mapping.tables[relationship.child];
            if (!parent) {
                this.report([...path, "parent"], `unknown table "${relationship.parent}"`);
            }
            if (!child) {
                this.report([...path, "child"], `unknown table "${relationship.child}"`);
            }
            if (!parent || !child) {
                this.brokenRelationshipChildren.add(relationship.child);
                return;
            }
            const existing = this.parentOf.get(relationship.child);
            if (existing) {
                this.report(
                    [...path, "child"],
                    `table "${relationship.child}" already has parent "${existing.parent}" (relationships[${existing.index}]); a table has at most one parent`,
                );
                return;
            }
            this.parentOf.set(relationship.child, { parent: relationship.parent, index });
            relationship.on.forEach((pair, pairIndex) => {
                const childType = this.columnTypes.get(relationship.child)?.get(pair.child);
                const parentType = this.columnTypes.get(relationship.parent)?.get(pair.parent);
                if (!child.columns.some((column) => column.name === pair.child)) {
                    this.report([...path, "on", pairIndex, "child"], `unknown column "${pair.child}" in table "${relationship.child}"`);
                } else if (!parent.columns.some((column) => column.name === pair.parent)) {
                    this.report([...path, "on", pairIndex, "parent"], `unknown column "${pair.parent}" in table "${relationship.parent}"`);
                } else if (childType && parentType && JSON.stringify(childType) !== JSON.stringify(parentType)) {
                    this.report(
                        [...path, "on", pairIndex],
                        `column types differ: ${relationship.child}.${pair.child} is ${describe(childType)}, ${relationship.parent}.${pair.parent} is ${describe(parentType)}`,
                    );
                }
            });
            const joined = relationship.on.map((pair) => pair.parent).sort();
            if (JSON.stringify(joined) !== JSON.stringify([...parent.primaryKey].sort())) {
                this.report(
                    [...path, "on"],
                    `must join on the whole primary key of "${relationship.parent}" (${parent.primaryKey.join(", ")}), not (${joined.join(", ")})`,
                );
            }
        });
        // Every relationship on a cycle sees the same cycle; report it once, at its first relationship in the file.
        const onReportedCycle = new Set<string>();
        this.mapping.relationships.forEach((relationship, index) => {
            if (this.parentOf.get(relationship.child)?.index !== index || onReportedCycle.has(relationship.child)) {
                return;
            }
            const cycle = this.cycleFrom(relationship.child);
            if (cycle) {
                cycle.forEach((table) => onReportedCycle.add(table));
                this.report(["relationships", index], `relationships form a cycle: ${cycle.join(" -> ")}`);
            }
        });
    }

    /** The chain child -> parent -> ... back to `start`, if following parents returns to it. */
    private cycleFrom(start: string): string[] | undefined {
        const chain = [start];
        let current = this.parentOf.get(start)?.parent;
        while (current !== undefined) {
            chain.push(current);
            if (current === start) {
                return chain;
            }
            if (chain.length > this.parentOf.size + 1) {
                return undefined;
            }
            current = this.parentOf.get(current)?.parent;
        }
        return undefined;
    }

    private checkItem(): void {
        const item = this.mapping.item;
        const root = this.mapping.tables[item.root];
        if (!root) {
            this.report(["item", "root"], `unknown table "${item.root}"`);
            return;
        }
        const keyColumns: string[] = [];
        let unknownKeyColumn = false;
        const checkKeyColumn = (path: FieldPath, column: string): void => {
            const type = this.columnTypes.get(item.root)?.get(column);
            if (!root.columns.some((candidate) => candidate.name === column)) {
                this.report(path, `unknown column "${column}" in root table "${item.root}"`);
                unknownKeyColumn = true;
            } else if (type && type.kind !== "string" && type.kind !== "integer" && type.kind !== "long" && type.kind !== "decimal") {
                this.report(path, `key column "${column}" is ${describe(type)}; a DynamoDB key needs string, integer, long or decimal`);
            }
            keyColumns.push(column);
        };
        checkKeyColumn(["item", "partitionKey", "column"], item.partitionKey.column);
        if (item.sortKey && "column" in item.sortKey) {
            checkKeyColumn(["item", "sortKey", "column"], item.sortKey.column);
        }
        // The item's own attributes must be distinct: a TTL or version written over a key attribute breaks every write.
        const ownAttributes: [FieldPath, string, string | undefined][] = [
            [["item", "partitionKey", "attribute"], "partition key attribute", item.partitionKey.attribute],
            [["item", "sortKey", "attribute"], "sort key attribute", item.sortKey?.attribute],
            [["item", "versionAttribute"], "version attribute", item.versionAttribute],
            [["item", "snapshotAttribute"], "snapshot attribute", item.snapshotAttribute],
            [["ttl", "attribute"], "TTL attribute", this.mapping.ttl.attribute],
        ];
        ownAttributes.forEach(([path, role, attribute], index) => {
            const earlier = ownAttributes.slice(0, index).find(([, , other]) => other !== undefined && other === attribute);
            if (earlier) {
                this.report(path, `${role} "${attribute}" is also the ${earlier[1]}`);
            }
        });
        // An unknown key column is already reported; comparing it with the primary key would only repeat that.
        if (!unknownKeyColumn && JSON.stringify([...keyColumns].sort()) !== JSON.stringify([...root.primaryKey].sort())) {
            this.report(
                ["item", "partitionKey"],
                `the item key columns (${keyColumns.join(", ")}) must be exactly the primary key of "${item.root}" (${root.primaryKey.join(", ")}), so each root row is one item`,
            );
        }
        const reserved = [
            item.partitionKey.attribute,
            item.sortKey?.attribute,
            item.versionAttribute,
            item.snapshotAttribute,
            this.mapping.ttl.attribute,
        ];
        const used = new Set<string>([item.root]);
        this.checkNode(
            ["item"],
            item.root,
            item,
            reserved.filter((name): name is string => name !== undefined),
            used,
        );
    }

    private checkNode(
        path: FieldPath,
        tableName: string,
        node: Pick<CollectionInput, "attributes" | "omit" | "collections" | "orderBy">,
        reservedAttributes: string[],
        used: Set<string>,
    ): void {
        const table = this.mapping.tables[tableName];
        if (!table) {
            return;
        }
        const hasColumn = (column: string): boolean => table.columns.some((candidate) => candidate.name === column);
        for (const [column] of Object.entries(node.attributes ?? {})) {
            if (!hasColumn(column)) {
                this.report([...path, "attributes", column], `unknown column "${column}" in table "${tableName}"`);
            }
        }
        node.omit?.forEach((column, index) => {
            if (!hasColumn(column)) {
                this.report([...path, "omit", index], `unknown column "${column}" in table "${tableName}"`);
            }
        });
        node.orderBy?.forEach((column, index) => {
            if (!hasColumn(column)) {
                this.report([...path, "orderBy", index], `unknown column "${column}" in table "${tableName}"`);
            }
        });
        const attributeOwners = new Map<string, string>(reservedAttributes.map((name) => [name, "a reserved item attribute"]));
        const seenColumns = new Set<string>();
        for (const column of table.columns) {
            // A duplicated column is reported by checkTable; its second copy would only clash with the first.
            if (node.omit?.includes(column.name) || seenColumns.has(column.name)) {
                continue;
            }
            seenColumns.add(column.name);
            const attribute = node.attributes?.[column.name] ?? column.name;
            const owner = attributeOwners.get(attribute);
            if (
                owner &&
                !(reservedAttributes.includes(attribute) && path.length === 1 && keyAttributeOf(this.mapping, column.name) === attribute)
            ) {
                this.report(
                    [...path, "attributes", column.name],
                    `attribute "${attribute}" of column "${column.name}" clashes with ${owner}`,
                );
            }
            attributeOwners.set(attribute, `column "${column.name}"`);
        }
        node.collections?.forEach((collection, index) => {
            const collectionPath = [...path, "collections", index];
            const owner = attributeOwners.get(collection.attribute);
            if (owner) {
                this.report([...collectionPath, "attribute"], `attribute "${collection.attribute}" clashes with ${owner}`);
            }
            attributeOwners.set(collection.attribute, `collection "${collection.attribute}"`);
            if (!this.mapping.tables[collection.table]) {
                this.report([...collectionPath, "table"], `unknown table "${collection.table}"`);
                return;
            }
            if (used.has(collection.table)) {
                this.report([...collectionPath, "table"], `table "${collection.table}" appears twice in the item`);
                return;
            }
            used.add(collection.table);
            if (this.parentOf.get(collection.table)?.parent !== tableName) {
                if (this.brokenRelationshipChildren.has(collection.table)) {
                    return;
                }
                this.report(
                    [...collectionPath, "table"],
                    `no relationship makes "${collection.table}" a child of "${tableName}"; add one under relationships`,
                );
                return;
            }
            this.checkNode(collectionPath, collection.table, collection, [], used);
        });
    }

    private checkTtl(): void {
        const inItem = new Set<string>([this.mapping.item.root]);
        const collect = (collections: CollectionInput[] | undefined): void => {
            for (const collection of collections ?? []) {
                inItem.add(collection.table);
                collect(collection.collections);
            }
        };
        collect(this.mapping.item.collections);
        // With an unknown root (reported by checkItem) no table is part of the item; saying so per reference adds nothing.
        const rootKnown = this.mapping.tables[this.mapping.item.root] !== undefined;
        this.mapping.ttl.activity.forEach((reference, index) => {
            const [tableName = "", columnName = ""] = reference.split(".");
            const path = ["ttl", "activity", index];
            const type = this.columnTypes.get(tableName)?.get(columnName);
            if (!this.mapping.tables[tableName]) {
                this.report(path, `unknown table "${tableName}"`);
            } else if (!this.mapping.tables[tableName].columns.some((column) => column.name === columnName)) {
                this.report(path, `unknown column "${columnName}" in table "${tableName}"`);
            } else if (rootKnown && !inItem.has(tableName)) {
                this.report(path, `table "${tableName}" is not part of the item, so it cannot date the item's activity`);
            } else if (type && type.kind !== "date" && type.kind !== "timestamp") {
                this.report(path, `column "${reference}" is ${describe(type)}; activity must be a date or timestamp column`);
            }
        });
    }
}

function describe(type: ColumnType): string {
    return type.kind === "decimal" ? `decimal(${type.precision},${type.scale})` : type.kind;
}

/** The key attribute a root column is stored under, when it is a key column. */
function keyAttributeOf(mapping: Mapping, column: string): string | undefined {
    if (mapping.item.partitionKey.column === column) {
        return mapping.item.partitionKey.attribute;
    }
    if (mapping.item.sortKey && "column" in mapping.item.sortKey && mapping.item.sortKey.column === column) {
        return mapping.item.sortKey.attribute;
    }
    return undefined;
}
