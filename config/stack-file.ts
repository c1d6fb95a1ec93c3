import * as fs from "fs";
import * as path from "path";
import { formatPath, YamlSource, type FieldPath } from "./yaml-source";

/** Config namespace of the platform's stack settings (`ingestion:<key>` in Pulumi.<stack>.yaml). */
export const configNamespace = "ingestion";

/**
 * A stack's `Pulumi.<stack>.yaml`, read so that a problem with one of its `ingestion:` settings (or
 * with a file a setting names) points at the line and column of that setting, as mapping problems
 * do. A stack whose settings Pulumi holds elsewhere (no file: an ESC environment, or a test's
 * config) still gets exact messages, naming the file and setting without a position.
 */
export class StackFile {
    readonly fileName: string;

    private constructor(
        stack: string,
        private readonly source: YamlSource | undefined,
    ) {
        this.fileName = `Pulumi.${stack}.yaml`;
    }

    /** A stack whose settings are not read from a file: messages name the file and setting, without a position. */
    static unlocated(stack: string): StackFile {
        return new StackFile(stack, undefined);
    }

    /**
     * Reads `<directory>/Pulumi.<stack>.yaml` (a stack without one is `unlocated`); throws a
     * ConfigError locating every problem of the file itself: YAML syntax, a duplicate key, an alias
     * bomb, no `config:` block or one that is not a map.
     */
    static read(stack: string, directory: string): StackFile {
        const file = path.join(directory, `Pulumi.${stack}.yaml`);
        return fs.existsSync(file) ? StackFile.parse(stack, fs.readFileSync(file, "utf8")) : StackFile.unlocated(stack);
    }

    /** The stack file `text` of `stack`, checked as `read` checks it. */
    static parse(stack: string, text: string): StackFile {
        const source = new YamlSource(`Pulumi.${stack}.yaml`, text);
        source.throwIfProblems();
        const document = source.value;
        const config = isRecord(document) ? document.config : undefined;
        if (!isRecord(document) || !("config" in document)) {
            source.report(
                [],
                `no config: block; a stack's settings are written under config:, as ${configNamespace}:<setting> (${configNamespace}:mappings at least)`,
                "config",
            );
        } else if (config !== null && !isRecord(config)) {
            source.report(["config"], `must be a map of settings (${configNamespace}:<setting>: value), not ${describeValue(config)}`);
        }
        source.throwIfProblems();
        return new StackFile(stack, source);
    }

    /** The stack file's `config:` block (empty without a file), keys as written (`aws:region`, `ingestion:glue`). */
    get config(): Record<string, unknown> {
        const document = this.source?.value;
        const config = isRecord(document) ? document.config : undefined;
        return isRecord(config) ? config : {};
    }

    /** The `ingestion:*` settings of the config block, keyed without the namespace. */
    get settings(): Record<string, unknown> {
        const prefix = `${configNamespace}:`;
        return Object.fromEntries(
            Object.entries(this.config).flatMap(([key, value]) => (key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [])),
        );
    }

    /**
     * A message about a setting (`["glue", "timeoutMinutes"]`, `["mappings", 2]`), at its position in
     * the file: `Pulumi.dev.yaml:12:5: ingestion:glue.timeoutMinutes: <text>`. A setting the file does
     * not hold is placed at its closest parent (the `config:` key for a setting Pulumi holds elsewhere).
     */
    message(setting: FieldPath, text: string): string {
        const [key, ...rest] = setting;
        const field = `${configNamespace}:${formatPath(setting)}`;
        if (!this.source) {
            return `${this.fileName}: ${field}: ${text}`;
        }
        const documentPath = key === undefined ? ["config"] : ["config", `${configNamespace}:${String(key)}`, ...rest];
        return this.source.messageAt(documentPath, `${field}: ${text}`);
    }

    /** `text` at the position of the config key `key` (any namespace), or naming the file where it has none. */
    messageAtKey(key: string, text: string): string {
        return this.source && key in this.config ? this.source.messageAt(["config", key], text) : `${this.fileName}: ${text}`;
    }
}

/**
 * Messages for each of `keys` (full config keys, `snowflake:password`) the stack file holds as plain
 * text rather than encrypted (`pulumi config set --secret` writes `secure:`), each at its position:
 * `Pulumi.dev.yaml:4:3: snowflake:password: <text>`.
 */
export function plainTextSettings(stackFile: StackFile, keys: readonly string[], text: string): string[] {
    return keys.flatMap((key) => {
        const value = stackFile.config[key];
        return value === undefined || (isRecord(value) && "secure" in value) ? [] : [stackFile.messageAtKey(key, `${key}: ${text}`)];
    });
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
    return Array.isArray(value) ? "a list" : typeof value === "string" ? `the text ${JSON.stringify(value)}` : String(value);
}
