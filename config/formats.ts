/**
 * Pure parsers for the small languages a mapping uses: column types, Spark datetime patterns,
 * archive-name templates and file globs. Each returns either a value or a message that says what
 * is wrong, so the caller can attach the file, line and field.
 */

export type ColumnType =
    | { kind: "string" | "integer" | "long" | "double" | "boolean" | "date" | "timestamp" }
    | { kind: "decimal"; precision: number; scale: number };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const simpleTypes = ["string", "integer", "long", "double", "boolean", "date", "timestamp"] as const;

export function parseColumnType(text: string): Parsed<ColumnType> {
    if ((simpleTypes as readonly string[]).includes(text)) {
        return { ok: true, value: { kind: text as (typeof simpleTypes)[number] } };
    }
    const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(text);
    if (decimal) {
        const precision = Number(decimal[1]);
        const scale = Number(decimal[2]);
        if (precision < 1 || precision > 38) {
            return { ok: false, error: `decimal precision ${precision} is out of range; expected 1 to 38` };
        }
        if (scale > precision) {
            return { ok: false, error: `decimal scale ${scale} is larger than its precision ${precision}` };
        }
        return { ok: true, value: { kind: "decimal", precision, scale } };
    }
    return {
        ok: false,
        error: `unknown type "${text}"; expected one of ${simpleTypes.join(", ")} or decimal(precision,scale)`,
    };
}

/** The type name Glue, Athena and Spark SQL use for a column type. */
export function catalogTypeName(type: ColumnType): string {
    switch (type.kind) {
        case "decimal":
            return `decimal(${type.precision},${type.scale})`;
        case "integer":
            return "int";
        case "long":
            return "bigint";
        default:
            return type.kind;
    }
}

export function isTemporal(type: ColumnType): boolean {
    return type.kind === "date" || type.kind === "timestamp";
}

export function isNumeric(type: ColumnType): boolean {
    return type.kind === "integer" || type.kind === "long" || type.kind === "decimal" || type.kind === "double";
}

export const defaultDateFormat = "yyyy-MM-dd";
export const defaultTimestampFormat = "yyyy-MM-dd HH:mm:ss";

const datePatternLetters = new Set(["y", "M", "d", "D", "E"]);
const timePatternLetters = new Set(["H", "h", "k", "K", "m", "s", "S", "a", "X", "x", "Z", "z", "V", "O"]);
const patternSeparators = new Set([" ", "-", "/", ":", ".", ",", "_", "[", "]"]);

/**
 * Checks a Spark 3 datetime pattern (the subset that round-trips between Spark and this
 * platform): known pattern letters, quoted literals, common separators, and a complete date.
 */
export function checkDatetimePattern(pattern: string, kind: "date" | "timestamp"): string | undefined {
    const letters = new Set<string>();
    for (let index = 0; index < pattern.length; index++) {
        const character = pattern.charAt(index);
        if (character === "'") {
            const end = pattern.indexOf("'", index + 1);
            if (end < 0) {
                return `pattern "${pattern}" has an unclosed quote`;
            }
            index = end;
        } else if (datePatternLetters.has(character) || timePatternLetters.has(character)) {
            if (kind === "date" && timePatternLetters.has(character)) {
                return `pattern "${pattern}" has time letter '${character}' but the column is a date`;
            }
            letters.add(character);
        } else if (/[A-Za-z]/.test(character)) {
            return `pattern "${pattern}" has unknown letter '${character}'; quote literal text, as in 'T'`;
        } else if (!patternSeparators.has(character)) {
            return `pattern "${pattern}" has unsupported character '${character}'`;
        }
    }
    const hasDate = letters.has("y") && ((letters.has("M") && letters.has("d")) || letters.has("D"));
    return hasDate ? undefined : `pattern "${pattern}" must contain a year, month and day (y, M, d)`;
}

/** How the trigger and the job recognize an archive and read its extract time and sequence. */
export interface ArchiveNaming {
    /** Regex over the file name: only literals, `\d{n}` and `(\d+)`, so JavaScript and Python read it alike. */
    regex: string;
    groups: ("timestamp" | "sequence")[];
    timestampFormat: string;
}

const timestampTokens: Record<string, string> = {
    yyyy: "\\d{4}",
    MM: "\\d{2}",
    dd: "\\d{2}",
    HH: "\\d{2}",
    mm: "\\d{2}",
    ss: "\\d{2}",
};

/**
 * Compiles `name_{timestamp:yyyyMMdd'T'HHmmss'Z'}_{sequence}.zip` into an ArchiveNaming. The
 * timestamp format accepts yyyy MM dd HH mm ss and quoted literals; times are UTC.
 */
export function compileArchiveName(template: string): Parsed<ArchiveNaming> {
    const groups: ArchiveNaming["groups"] = [];
    let regex = "^";
    let timestampFormat = "";
    const placeholder = /\{([a-z]+)(?::([^}]*))?\}/g;
    let last = 0;
    for (const match of template.matchAll(placeholder)) {
        regex += escapeLiteral(template.slice(last, match.index));
        last = match.index + match[0].length;
        const [, name, format] = match;
        if (name === "timestamp") {
            if (groups.includes("timestamp")) {
                return { ok: false, error: `"${template}" has {timestamp} twice` };
            }
            const compiled = compileTimestampFormat(format ?? "");
            if (!compiled.ok) {
                return compiled;
            }
            regex += `(${compiled.value})`;
            timestampFormat = format ?? "";
            groups.push("timestamp");
        } else if (name === "sequence" && format === undefined) {
            if (groups.includes("sequence")) {
                return { ok: false, error: `"${template}" has {sequence} twice` };
            }
            regex += "(\\d+)";
            groups.push("sequence");
        } else {
            return { ok: false, error: `"${template}" has unknown placeholder "${match[0]}"; expected {timestamp:FORMAT} or {sequence}` };
        }
    }
    const rest = template.slice(last);
    if (/[{}/]/.test(rest) || /[{}/]/.test(template.replace(placeholder, ""))) {
        return {
            ok: false,
            error: `"${template}" must be a file name with {timestamp:FORMAT} and optional {sequence}, without / or stray braces`,
        };
    }
    regex += `${escapeLiteral(rest)}$`;
    if (!groups.includes("timestamp")) {
        return { ok: false, error: `"${template}" must contain {timestamp:FORMAT} so extracts can be ordered` };
    }
    return { ok: true, value: { regex, groups, timestampFormat } };
}

function compileTimestampFormat(format: string): Parsed<string> {
    let regex = "";
    const seen = new Set<string>();
    let index = 0;
    while (index < format.length) {
        const token = Object.keys(timestampTokens).find((candidate) => format.startsWith(candidate, index));
        if (token) {
            regex += timestampTokens[token];
            seen.add(token);
            index += token.length;
        } else if (format.charAt(index) === "'") {
            const end = format.indexOf("'", index + 1);
            if (end < 0) {
                return { ok: false, error: `timestamp format "${format}" has an unclosed quote` };
            }
            regex += escapeLiteral(format.slice(index + 1, end));
            index = end + 1;
        } else if ("-_.".includes(format.charAt(index))) {
            regex += escapeLiteral(format.charAt(index));
            index += 1;
        } else {
            return {
                ok: false,
                error: `timestamp format "${format}" has unsupported text at "${format.slice(index)}"; use yyyy MM dd HH mm ss, - _ . and 'quoted' literals`,
            };
        }
    }
    for (const required of ["yyyy", "MM", "dd"]) {
        if (!seen.has(required)) {
            return { ok: false, error: `timestamp format "${format}" must contain ${required}` };
        }
    }
    return { ok: true, value: regex };
}

/** Translates a file glob (`*`, `?`) into an anchored regex that JavaScript and Python read alike. */
export function globToRegex(glob: string): string {
    let regex = "^";
    for (const character of glob) {
        regex += character === "*" ? "[^/]*" : character === "?" ? "[^/]" : escapeLiteral(character);
    }
    return `${regex}$`;
}

function escapeLiteral(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
