/**
 * Reads an extract's identity from its archive name, as the job plan's archive naming describes
 * it. The extract id sorts in extract order; the extract version is the same order as a number.
 */

export interface ArchiveNaming {
    /** Anchored regex over the file name, one group per entry of `groups`. */
    readonly regex: string;
    readonly groups: readonly ("timestamp" | "sequence")[];
    /** yyyy MM dd HH mm ss, '-', '_', '.' and 'quoted' literals; UTC. */
    readonly timestampFormat: string;
}

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

const fieldTokens = ["yyyy", "MM", "dd", "HH", "mm", "ss"] as const;
type FieldToken = (typeof fieldTokens)[number];

/** Epoch seconds of `text` read with `format`, or undefined when it is not a real UTC time. */
export function parseTimestamp(text: string, format: string): number | undefined {
    const fields: Record<FieldToken, number> = { yyyy: 0, MM: 1, dd: 1, HH: 0, mm: 0, ss: 0 };
    let position = 0;
    let index = 0;
    while (index < format.length) {
        const token = fieldTokens.find((candidate) => format.startsWith(candidate, index));
        if (token) {
            const digits = text.slice(position, position + token.length);
            if (!/^\d+$/.test(digits) || digits.length !== token.length) {
                return undefined;
            }
            fields[token] = Number(digits);
            position += token.length;
            index += token.length;
            continue;
        }
        let literal = format.charAt(index);
        if (literal === "'") {
            const end = format.indexOf("'", index + 1);
            literal = format.slice(index + 1, end);
            index = end + 1;
        } else {
            index += 1;
        }
        if (!text.startsWith(literal, position)) {
            return undefined;
        }
        position += literal.length;
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
