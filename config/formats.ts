/**
 * Pure parsers for the small languages a mapping uses: column types, Spark datetime patterns,
 * archive-name templates and file globs. Each returns either a value or a message that says what
 * is wrong, so the caller can attach the file, line and field.
 */

import { maximumDecimalPrecision, simpleColumnKinds, type SimpleColumnKind } from "../contracts/column-types";
import type { ArchiveNaming } from "../contracts/archive-naming";
import { datetimeDialects, tokenizeDatetimePattern } from "../contracts/datetime-pattern";
import type { ColumnType } from "../contracts/stream-schema";

export type { ColumnType };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseColumnType(text: string): Parsed<ColumnType> {
    if ((simpleColumnKinds as readonly string[]).includes(text)) {
        return { ok: true, value: { kind: text as SimpleColumnKind } };
    }
    const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(text);
    if (decimal) {
        const precision = Number(decimal[1]);
        const scale = Number(decimal[2]);
        if (precision < 1 || precision > maximumDecimalPrecision) {
            return { ok: false, error: `decimal precision ${precision} is out of range; expected 1 to ${maximumDecimalPrecision}` };
        }
        if (scale > precision) {
            return { ok: false, error: `decimal scale ${scale} is larger than its precision ${precision}` };
        }
        return { ok: true, value: { kind: "decimal", precision, scale } };
    }
    return {
        ok: false,
        error: `unknown type "${text}"; expected one of ${simpleColumnKinds.join(", ")} or decimal(precision,scale)`,
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

const { dateLetters, timeLetters, separators: patternSeparators } = datetimeDialects.spark;

/**
 * Checks a pattern of the Spark dialect (contracts/datetime-pattern.ts: the subset of Spark 3's
 * datetime patterns that round-trips between Spark and this platform): known pattern letters,
 * quoted literals, common separators, and a complete date.
 */
export function checkDatetimePattern(pattern: string, kind: "date" | "timestamp"): string | undefined {
    const letters = new Set<string>();
    for (const piece of tokenizeDatetimePattern(pattern)) {
        if (piece.kind === "unclosed-quote") {
            return `pattern "${pattern}" has an unclosed quote`;
        }
        if (piece.kind === "quoted") {
            continue;
        }
        const { character } = piece;
        if (dateLetters.includes(character) || timeLetters.includes(character)) {
            if (kind === "date" && timeLetters.includes(character)) {
                return `pattern "${pattern}" has time letter '${character}' but the column is a date`;
            }
            letters.add(character);
        } else if (/[A-Za-z]/.test(character)) {
            return `pattern "${pattern}" has unknown letter '${character}'; quote literal text, as in 'T'`;
        } else if (!patternSeparators.includes(character)) {
            return `pattern "${pattern}" has unsupported character '${character}'`;
        }
    }
    const hasDate = letters.has("y") && ((letters.has("M") && letters.has("d")) || letters.has("D"));
    return hasDate ? undefined : `pattern "${pattern}" must contain a year, month and day (y, M, d)`;
}

const archiveName = datetimeDialects.archiveName;

/**
 * Compiles `name_{timestamp:yyyyMMdd'T'HHmmss'Z'}_{sequence}.zip` into an ArchiveNaming: how the
 * trigger and the job recognize an archive and read its extract time and sequence. The
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

/**
 * An archive name's timestamp format, of the archiveName dialect (contracts/datetime-pattern.ts),
 * as a regex. A run of a field letter reads as many whole fields as it holds (yyyyyyyy is two years).
 */
function compileTimestampFormat(format: string): Parsed<string> {
    let regex = "";
    const seen = new Set<string>();
    const unsupported = (at: number): Parsed<string> => ({
        ok: false,
        error: `timestamp format "${format}" has unsupported text at "${format.slice(at)}"; use yyyy MM dd HH mm ss, - _ . and 'quoted' literals`,
    });
    for (const piece of tokenizeDatetimePattern(format)) {
        if (piece.kind === "unclosed-quote") {
            return { ok: false, error: `timestamp format "${format}" has an unclosed quote` };
        }
        if (piece.kind === "quoted") {
            regex += escapeLiteral(piece.text);
            continue;
        }
        const { character, count, at } = piece;
        const width = archiveName.fields[character]?.widths[0];
        if (width !== undefined) {
            const whole = Math.floor(count / width);
            regex += `\\d{${width}}`.repeat(whole);
            if (whole > 0) {
                seen.add(character.repeat(width));
            }
            if (whole * width < count) {
                return unsupported(at + whole * width);
            }
        } else if (archiveName.separators.includes(character)) {
            regex += escapeLiteral(character.repeat(count));
        } else {
            return unsupported(at);
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

/**
 * A file name both globs match (a short one), or undefined when no name matches both.
 * Decided exactly for the dialect `globToRegex` translates (`*` any run of characters but /, `?` one,
 * everything else itself, case-sensitive as the job's regexes are): a breadth-first search over pairs
 * of positions in the two globs, where a `*` may stand for nothing or take one more character, and a
 * character is taken only when both globs accept it.
 */
export function commonFileName(first: string, second: string): string | undefined {
    const a = [...first];
    const b = [...second];
    const key = (i: number, j: number) => i * (b.length + 1) + j;
    const from = new Map<number, { previous: number; taken: string } | null>([[key(0, 0), null]]);
    // 0-1 breadth-first: passing over a `*` costs no character, so it goes to the front of the queue.
    const queue: [number, number][] = [[0, 0]];
    const visit = (i: number, j: number, previous: number, taken: string) => {
        if (!from.has(key(i, j))) {
            from.set(key(i, j), { previous, taken });
            if (taken === "") {
                queue.unshift([i, j]);
            } else {
                queue.push([i, j]);
            }
        }
    };
    while (queue.length > 0) {
        const [i, j] = queue.shift()!;
        const here = key(i, j);
        if (i === a.length && j === b.length) {
            let name = "";
            for (let step = from.get(here); step; step = from.get(step.previous)) {
                name = step.taken + name;
            }
            return name;
        }
        if (a[i] === "*") {
            visit(i + 1, j, here, "");
        }
        if (b[j] === "*") {
            visit(i, j + 1, here, "");
        }
        if (i === a.length || j === b.length) {
            continue;
        }
        // A literal of either glob, or any character (x) where both take any.
        const wildcard = (character: string) => character === "*" || character === "?";
        const candidates = new Set([a[i]!, b[j]!].filter((character) => !wildcard(character)));
        if (candidates.size === 0) {
            candidates.add("x");
        }
        for (const character of candidates) {
            const next = (glob: string[], position: number) =>
                glob[position] === "*" ? position : glob[position] === "?" || glob[position] === character ? position + 1 : undefined;
            const [nextI, nextJ] = [next(a, i), next(b, j)];
            if (nextI !== undefined && nextJ !== undefined && character !== "/") {
                visit(nextI, nextJ, here, character);
            }
        }
    }
    return undefined;
}

function escapeLiteral(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
