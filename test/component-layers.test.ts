import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import * as ts from "typescript";
import { repositoryRoot } from "./support/program";

const componentsRoot = path.join(repositoryRoot, "components");

/** Every TypeScript file under `dir`, relative to the components folder. */
function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return sourceFiles(full);
        }
        return entry.name.endsWith(".ts") ? [path.relative(componentsRoot, full)] : [];
    });
}

/** The component folder a path relative to the components folder names or lies in, or undefined outside it. */
function folderOf(relative: string): string | undefined {
    return relative.startsWith("..") ? undefined : relative.split(path.sep)[0];
}

/** The relative module specifiers a file imports or re-exports, type-only ones included. */
function importsOf(file: string): string[] {
    const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, false);
    return source.statements.flatMap((statement) =>
        (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
        statement.moduleSpecifier !== undefined &&
        ts.isStringLiteral(statement.moduleSpecifier) &&
        statement.moduleSpecifier.text.startsWith(".")
            ? [statement.moduleSpecifier.text]
            : [],
    );
}

/** For each component folder, the other component folders its files import from. */
function folderGraph(): Map<string, Set<string>> {
    const graph = new Map<string, Set<string>>();
    for (const relative of sourceFiles(componentsRoot)) {
        const from = folderOf(relative)!;
        const edges = graph.get(from) ?? new Set<string>();
        graph.set(from, edges);
        for (const specifier of importsOf(path.join(componentsRoot, relative))) {
            const to = folderOf(path.relative(componentsRoot, path.resolve(componentsRoot, path.dirname(relative), specifier)));
            if (to !== undefined && to !== from) {
                edges.add(to);
            }
        }
    }
    return graph;
}

/** Each cycle of folders the graph holds, as the path that closes it (`a -> b -> a`), found by depth-first search. */
function cyclesIn(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
    const cycles: string[] = [];
    const done = new Set<string>();
    const visit = (folder: string, trail: string[]): void => {
        const seen = trail.indexOf(folder);
        if (seen >= 0) {
            cycles.push([...trail.slice(seen), folder].join(" -> "));
            return;
        }
        if (done.has(folder)) {
            return;
        }
        for (const next of [...(graph.get(folder) ?? [])].sort()) {
            visit(next, [...trail, folder]);
        }
        done.add(folder);
    };
    [...graph.keys()].sort().forEach((folder) => visit(folder, []));
    return cycles;
}

describe("component folders", () => {
    it("import one another without a loop: a building block never imports a component that uses it", () => {
        expect(cyclesIn(folderGraph())).to.deep.equal([]);
    });

    it("the loop check finds a loop between two folders and one through three", () => {
        const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]));
        expect(cyclesIn(graph({ a: ["b"], b: ["a"] }))).to.deep.equal(["a -> b -> a"]);
        expect(cyclesIn(graph({ a: ["b"], b: ["c"], c: ["a"], d: ["a"] }))).to.deep.equal(["a -> b -> c -> a"]);
        expect(cyclesIn(graph({ a: ["b", "c"], b: ["c"], c: [] }))).to.deep.equal([]);
    });

    it("read every component folder's imports, type-only ones included", () => {
        const graph = folderGraph();
        expect(graph.get("glue-job")).to.include("service-role");
        expect(graph.get("dashboard")).to.include("lookup-table");
        expect([...graph.keys()].sort()).to.deep.equal(
            fs
                .readdirSync(componentsRoot, { withFileTypes: true })
                .filter((entry) => entry.isDirectory())
                .map((entry) => entry.name)
                .sort(),
        );
    });
});
