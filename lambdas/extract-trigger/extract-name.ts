import type { ArchiveNaming } from "../../contracts/archive-naming";
import { datetimeDialects, tokenizeDatetimePattern } from "../../contracts/datetime-pattern";

/**
 * Reads an extract's identity from its archive name, as the job plan's archive naming describes
 * it. The extract id sorts in extract order; the extract version is the same order as a number.
 */

export interface ExtractIdentity {
    /** `<yyyyMMddTHHmmssZ>-<sequence, 6 digits>` */
    readonly extractId: string;
    /** Epoch seconds * 1000000 + sequence. */
    readonly extractVersion: number;
}

export type ExtractName =
    { readonly accepted: true; readonly extract: ExtractIdentity } | { readonly accepted: false; readonly reason: string };

/** The largest {sequence} an archive name may carry: the extract version keeps six digits for it. */
export const maximumSequence = 999_999;

export function readExtractName(key: string, landingPrefix: string, naming: ArchiveNaming): ExtractName {
    if (!key.startsWith(landingPrefix)) {
        return { accepted: false, reason: `key "${key}" is outside the landing prefix "${landingPrefix}"` };
    }
    const fileName = key.slice(landingPrefix.length);
    const match = new RegExp(naming.regex).exec(fileName);
    if (!match) {
        return { accepted: false, reason: `"${fileName}" does not match the archive naming ${naming.regex}` };
    }
    const captured = (group: "timestamp" | "sequence"): string | undefined => {
        const position = naming.groups.indexOf(group);
        return position < 0 ? undefined : match[position + 1];
    };
    const epochSeconds = parseTimestamp(captured("timestamp") ?? "", naming.timestampFormat);
    if (epochSeconds === undefined) {
        return { accepted: false, reason: `"${fileName}" has no valid timestamp in the format ${naming.timestampFormat}` };
    }
    const sequence = Number(captured("sequence") ?? "0");
    if (sequence > maximumSequence) {
        return { accepted: false, reason: `"${fileName}" has sequence ${sequence}; the largest supported is ${maximumSequence}` };
    }
    const compact = new Date(epochSeconds * 1000)
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}Z$/, "Z");
    return {
        accepted: true,
        extract: { extractId: `${compact}-${String(sequence).padStart(6, "0")}`, extractVersion: epochSeconds * 1_000_000 + sequence },
    };
}

/** The archiveName dialect's fields (contracts/datetime-pattern.ts), as this reader keeps them. */
const fieldTokens = ["yyyy", "MM", "dd", "HH", "mm", "ss"] as const;
type FieldToken = (typeof fieldTokens)[number];

/**
 * Epoch seconds of `text` read with `format` (of the archiveName dialect), or undefined when it is
 * not a real UTC time. A run of a field letter reads as many whole fields as it holds; what is left
 * of it, and every other character, is literal text.
 */
export function parseTimestamp(text: string, format: string): number | undefined {
    const fields: Record<FieldToken, number> = { yyyy: 0, MM: 1, dd: 1, HH: 0, mm: 0, ss: 0 };
    let position = 0;
    const literal = (expected: string): boolean => {
        if (!text.startsWith(expected, position)) {
            return false;
        }
        position += expected.length;
        return true;
    };
    for (const piece of tokenizeDatetimePattern(format)) {
        if (piece.kind === "unclosed-quote") {
            return undefined;
        }
        if (piece.kind === "quoted") {
            if (!literal(piece.text)) {
                return undefined;
            }
            continue;
        }
        const { character, count } = piece;
        const width = datetimeDialects.archiveName.fields[character]?.widths[0] ?? 0;
        const token = fieldTokens.find((candidate) => width > 0 && candidate === character.repeat(width));
        let left = count;
        while (token !== undefined && left >= width) {
            const digits = text.slice(position, position + width);
            if (!/^\d+$/.test(digits) || digits.length !== width) {
                return undefined;
            }
            fields[token] = Number(digits);
            position += width;
            left -= width;
        }
        if (!literal(character.repeat(left))) {
            return undefined;
        }
    }
    if (position !== text.length) {
        return undefined;
    }
    const millis = Date.UTC(fields.yyyy, fields.MM - 1, fields.dd, fields.HH, fields.mm, fields.ss);
    const date = new Date(millis);
    const roundTrips =
        date.getUTCFullYear() === fields.yyyy &&
        date.getUTCMonth() === fields.MM - 1 &&
        date.getUTCDate() === fields.dd &&
        date.getUTCHours() === fields.HH &&
        date.getUTCMinutes() === fields.mm &&
        date.getUTCSeconds() === fields.ss;
    return roundTrips && fields.yyyy >= 1970 ? millis / 1000 : undefined;
}
