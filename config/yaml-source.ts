import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Alias, type Document, type Node } from "yaml";
import type { z } from "zod";

/** A path into a YAML document: map keys and sequence indexes, as zod reports them. */
export type FieldPath = readonly PropertyKey[];

/**
 * How many values aliases may repeat in one config file, in all: far more than any config repeats
 * (an anchored list of columns reused by a few tables is tens), far fewer than an alias bomb.
 */
export const maxAliasedValues = 10_000;

/** Thrown when a config file is invalid; `problems` holds every located message, in file order. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`${problems.length} config problem${problems.length === 1 ? "" : "s"}:\n  ${problems.join("\n  ")}`);
        this.name = "ConfigError";
    }
}

/** Renders a field path the way a person writes it: `tables.orders.columns[2].type`. */
export function formatPath(path: FieldPath): string {
    let text = "";
    for (const part of path) {
        if (typeof part === "number") {
            text += `[${part}]`;
        } else {
            text += text === "" ? String(part) : `.${String(part)}`;
        }
    }
    return text === "" ? "(top level)" : text;
}

/**
 * A parsed YAML file that can say where any field is, so every problem names the file, line,
 * column and field. Problems are collected, not thrown, so one run reports all of them.
 */
export class YamlSource {
    readonly value: unknown;
    private readonly problems: { offset: number; message: string }[] = [];
    private readonly document: Document.Parsed;
    private readonly lines = new LineCounter();

    constructor(
        readonly fileName: string,
        text: string,
    ) {
        this.document = parseDocument(text, { lineCounter: this.lines, uniqueKeys: false, prettyErrors: false });
        for (const error of this.document.errors) {
            this.problems.push({ offset: error.pos[0], message: `YAML syntax: ${firstLine(error.message)}` });
        }
        this.reportDuplicateKeys();
        const aliasesSafe = this.document.errors.length === 0 && this.checkAliases();
        this.value = aliasesSafe ? this.toJS() : undefined;
    }

    /**
     * Records a problem at the node of `path`, or at its closest existing parent. `field` names the
     * field in the message when the file's own path would not (a stack file's `ingestion:` settings).
     */
    report(path: FieldPath, message: string, field = formatPath(path)): void {
        this.problems.push({ offset: this.offsetOf(path), message: `${field}: ${message}` });
    }

    /** One located message (`file:line:col: text`) at the node of `path`, without recording it. */
    messageAt(path: FieldPath, text: string): string {
        return this.locate(this.offsetOf(path), text);
    }

    /** Records every issue of a failed zod parse (parse with `reportInput: true` so a missing field is told by its input). */
    reportIssues(issues: readonly z.core.$ZodIssue[]): void {
        for (const issue of issues) {
            if (issue.code === "unrecognized_keys") {
                for (const key of issue.keys) {
                    this.report([...issue.path, key], `unknown field "${key}"`);
                }
            } else if (issue.code === "invalid_type" && isMissing(issue)) {
                this.report(issue.path, "required field is missing");
            } else if (issue.code === "invalid_key") {
                // zod's own message is "Invalid key in record"; the nested issues say what is wrong with the name.
                for (const keyIssue of issue.issues) {
                    this.report(issue.path, `invalid name: ${keyIssue.message}`);
                }
            } else {
                this.report(issue.path, issue.message);
            }
        }
    }

    /**
     * The document validated against `schema`, with defaults applied; throws a ConfigError with every
     * located problem when the YAML or the schema check fails.
     */
    validate<Schema extends z.ZodType>(schema: Schema): z.output<Schema> {
        this.throwIfProblems();
        const parsed = schema.safeParse(this.value, { reportInput: true });
        if (!parsed.success) {
            this.reportIssues(parsed.error.issues);
            this.throwIfProblems();
        }
        return parsed.data as z.output<Schema>;
    }

    get hasProblems(): boolean {
        return this.problems.length > 0;
    }

    /** Located messages (`file:line:col: field: message`), ordered by position in the file. */
    messages(): string[] {
        return [...this.problems].sort((a, b) => a.offset - b.offset).map(({ offset, message }) => this.locate(offset, message));
    }

    protected locate(offset: number, text: string): string {
        const { line, col } = this.lines.linePos(offset);
        return `${this.fileName}:${line}:${col}: ${text}`;
    }

    /** Throws a ConfigError with every problem recorded so far. */
    throwIfProblems(): void {
        if (this.hasProblems) {
            throw new ConfigError(this.messages());
        }
    }

    private offsetOf(path: FieldPath): number {
        for (let length = path.length; length >= 0; length--) {
            const prefix = path.slice(0, length);
            const keyNode = length > 0 ? this.keyNodeAt(prefix) : undefined;
            const node = keyNode ?? (this.document.getIn(prefix, true) as Node | undefined);
            if (node?.range) {
                return node.range[0];
            }
        }
        return 0;
    }

    /** The key node of a map entry, so a message points at `type:` rather than at its value. */
    private keyNodeAt(path: FieldPath): Node | undefined {
        const parent = path.length === 1 ? this.document.contents : this.document.getIn(path.slice(0, -1), true);
        const last = path[path.length - 1];
        if (!isMap(parent)) {
            return undefined;
        }
        const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
        return pair && isScalar(pair.key) ? pair.key : undefined;
    }

    /**
     * Checks every alias before the document is turned into values, reporting each at the alias: one
     * that names no anchor before it, one inside the node its anchor names (a value containing itself,
     * which no check could walk), and the alias that takes the values repeated by aliases past
     * `maxAliasedValues` (an alias bomb, "billion laughs": a few lines that expand to billions of
     * values). Counting is exact and linear: each anchored node's expanded size is computed once.
     * Returns whether the document is safe to turn into values.
     */
    private checkAliases(): boolean {
        const anchors = new Map<string, Node>();
        const targets = new Map<Alias, Node>();
        const sizes = new Map<Node, number>();
        const open = new Set<unknown>();
        let repeated = 0;
        let safe = true;
        const sizeOf = (node: unknown): number => {
            if (isAlias(node)) {
                const target = targets.get(node);
                return target ? sizeOf(target) : 1;
            }
            const known = sizes.get(node as Node);
            if (known !== undefined) {
                return known;
            }
            let size = 1;
            if (isMap(node)) {
                node.items.forEach((pair) => (size += sizeOf(pair.key) + sizeOf(pair.value)));
            } else if (isSeq(node)) {
                node.items.forEach((item) => (size += sizeOf(item)));
            }
            sizes.set(node as Node, size);
            return size;
        };
        const visit = (node: unknown, path: PropertyKey[]): void => {
            if (isAlias(node)) {
                const target = anchors.get(node.source);
                const offset = node.range?.[0] ?? 0;
                const problem = (message: string) => {
                    this.problems.push({ offset, message: `${formatPath(path)}: ${message}` });
                    safe = false;
                };
                if (!target) {
                    problem(`alias *${node.source} names no anchor &${node.source} defined before it`);
                } else if (open.has(target)) {
                    problem(`alias *${node.source} is inside the value its anchor &${node.source} names; a value cannot contain itself`);
                } else {
                    targets.set(node, target);
                    const before = repeated;
                    repeated += sizeOf(target);
                    if (before <= maxAliasedValues && repeated > maxAliasedValues) {
                        problem(
                            `alias *${node.source} brings the values repeated by aliases in this file to more than ${maxAliasedValues} ` +
                                '(an alias bomb, "billion laughs"?); write the values out or use fewer aliases',
                        );
                    }
                }
                return;
            }
            if (node && typeof node === "object" && "anchor" in node && typeof node.anchor === "string") {
                anchors.set(node.anchor, node as Node);
            }
            open.add(node);
            if (isMap(node)) {
                for (const pair of node.items) {
                    const key = isScalar(pair.key) ? (pair.key.value as PropertyKey) : "";
                    visit(pair.key, path);
                    visit(pair.value, [...path, key]);
                }
            } else if (isSeq(node)) {
                node.items.forEach((item, index) => visit(item, [...path, index]));
            } else if (isPair(node)) {
                visit(node.value, path);
            }
            open.delete(node);
        };
        visit(this.document.contents, []);
        return safe;
    }

    /** The document's value; aliases are checked already, so yaml's own alias limit (a guess by count of references) is off. */
    private toJS(): unknown {
        try {
            return this.document.toJS({ maxAliasCount: -1 });
        } catch (error) {
            // Not expected after checkAliases; reported rather than thrown, so a config never fails with a trace.
            this.problems.push({ offset: 0, message: `YAML: ${error instanceof Error ? error.message : String(error)}` });
            return undefined;
        }
    }

    private reportDuplicateKeys(): void {
        const visit = (node: unknown, path: PropertyKey[]): void => {
            if (isMap(node)) {
                const seen = new Map<string, number>();
                for (const pair of node.items) {
                    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
                    const offset = isScalar(pair.key) && pair.key.range ? pair.key.range[0] : 0;
                    if (key !== undefined && seen.has(key)) {
                        const firstLineNumber = this.lines.linePos(seen.get(key) ?? 0).line;
                        this.problems.push({
                            offset,
                            message: `${formatPath([...path, key])}: duplicate key "${key}" (first defined on line ${firstLineNumber})`,
                        });
                    } else if (key !== undefined) {
                        seen.set(key, offset);
                    }
                    visit(pair.value, [...path, key ?? ""]);
                }
            } else if (isSeq(node)) {
                node.items.forEach((item, index) => visit(item, [...path, index]));
            }
        };
        visit(this.document.contents, []);
    }
}

/**
 * A definition written in a program as a plain value rather than read from a YAML file (the
 * library's builders, `lib/define.ts`), validated by the same readers with the same messages. It
 * has no lines or columns, so each problem is named by `label` and the field's path
 * (`defineStream("orders"): fields[1].type: ...`), in the order found. `fileName` is what the
 * readers check a definition's name against (`orders.yaml`), as they would the file's.
 */
export class ValueSource extends YamlSource {
    constructor(
        fileName: string,
        override readonly value: unknown,
        readonly label: string,
    ) {
        super(fileName, "");
    }

    protected override locate(_offset: number, text: string): string {
        return `${this.label}: ${text}`;
    }
}

/**
 * Whether a type issue is about an absent field. zod 4 keeps the input on an issue only when the
 * parse ran with `reportInput: true`; without it, its English message is the only trace.
 */
function isMissing(issue: z.core.$ZodIssueInvalidType): boolean {
    return "input" in issue ? issue.input === undefined : issue.message.endsWith("received undefined");
}

function firstLine(message: string): string {
    return message.split("\n")[0] ?? message;
}
