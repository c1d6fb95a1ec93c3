import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { z } from "zod";

/** A path into a YAML document: map keys and sequence indexes, as zod reports them. */
export type FieldPath = readonly PropertyKey[];

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
        this.value = this.document.errors.length === 0 ? this.document.toJS({ maxAliasCount: 100 }) : undefined;
    }

    /** Records a problem at the node of `path`, or at its closest existing parent. */
    report(path: FieldPath, message: string): void {
        this.problems.push({ offset: this.offsetOf(path), message: `${formatPath(path)}: ${message}` });
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
        return [...this.problems]
            .sort((a, b) => a.offset - b.offset)
            .map(({ offset, message }) => {
                const { line, col } = this.lines.linePos(offset);
                return `${this.fileName}:${line}:${col}: ${message}`;
            });
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
 * Whether a type issue is about an absent field. zod 4 keeps the input on an issue only when the
 * parse ran with `reportInput: true`; without it, its English message is the only trace.
 */
function isMissing(issue: z.core.$ZodIssueInvalidType): boolean {
    return "input" in issue ? issue.input === undefined : issue.message.endsWith("received undefined");
}

function firstLine(message: string): string {
    return message.split("\n")[0] ?? message;
}
