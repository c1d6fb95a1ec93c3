import { epochMillis } from "../contracts/column-types";
import { datetimeDialects, tokenizeDatetimePattern } from "../contracts/datetime-pattern";
import type { Parsed } from "./formats";

/**
 * How a stream's event time is read by Firehose. Partitioned by event time (the default), late or
 * replayed events land in the partition of the hour they happened (not of their arrival). It reads
 * the time twice, with two small languages: a jq expression (dynamic partitioning's metadata
 * extraction) derives the partition value, and the Hive JSON SerDe parses the column with a
 * Joda-Time pattern. Both are derived here from the one format the stream definition declares.
 */

export const eventTimeGranularities = ["year", "month", "day", "hour"] as const;
export type EventTimeGranularity = (typeof eventTimeGranularities)[number];

interface Token {
    readonly letter: string;
    readonly width: number;
    /** Offset of the token in a formatted value; undefined once a variable-width token came before. */
    readonly offset: number | undefined;
}

/**
 * A stream's format is a pattern of the Java dialect (contracts/datetime-pattern.ts); the SerDe reads
 * it as the Joda dialect: the same fields, and Java's offsets XX (+0100) and XXX (+01:00 or Z) as
 * Joda's letters for them.
 */
const { fields: javaFields, separators } = datetimeDialects.java;
const jodaOffsets = datetimeDialects.joda.offsets;

/** The pattern letters each granularity needs, in the order the partition value lists them. */
const granularityLetters: Record<EventTimeGranularity, readonly string[]> = {
    year: ["y"],
    month: ["y", "M"],
    day: ["y", "M", "d"],
    hour: ["y", "M", "d", "H"],
};
const strftimeFormats: Record<EventTimeGranularity, string> = { year: "%Y", month: "%Y-%m", day: "%Y-%m-%d", hour: "%Y-%m-%d-%H" };
/** Athena partition projection's date format and interval unit for each granularity. */
export const projectionDates: Record<EventTimeGranularity, { readonly format: string; readonly unit: string }> = {
    year: { format: "yyyy", unit: "YEARS" },
    month: { format: "yyyy-MM", unit: "MONTHS" },
    day: { format: "yyyy-MM-dd", unit: "DAYS" },
    hour: { format: "yyyy-MM-dd-HH", unit: "HOURS" },
};

export interface EventTimeReading {
    /** Firehose's HiveJsonSerDe timestamp format: `millis` or a Joda-Time pattern. */
    readonly serdeFormat: string;
    /** jq expression giving the event-time partition value, such as `2026-11-23-14` for hours. */
    readonly partitionQuery: string;
}

/**
 * The Hive JSON SerDe's reading of a format alone, for a stream partitioned by arrival time: the
 * format need not give a partition value, only be one Firehose can parse.
 */
export function serdeTimestampFormat(format: string): Parsed<string> {
    if (format === epochMillis) {
        return { ok: true, value: "millis" };
    }
    const tokens = tokenize(format);
    return tokens.ok ? { ok: true, value: tokens.value.joda } : tokens;
}

/**
 * Derives Firehose's two readings of the event time from the declared format. Patterns are
 * limited to fixed-width fields before the offset, so the partition value is cut from the text at
 * known positions (the time as written: send UTC, or the partition is the writer's local hour).
 */
export function readEventTime(field: string, format: string, granularity: EventTimeGranularity): Parsed<EventTimeReading> {
    if (format === epochMillis) {
        return {
            ok: true,
            value: { serdeFormat: "millis", partitionQuery: `(.${field} / 1000 | floor | strftime("${strftimeFormats[granularity]}"))` },
        };
    }
    const tokens = tokenize(format);
    if (!tokens.ok) {
        return tokens;
    }
    const slices: string[] = [];
    for (const letter of granularityLetters[granularity]) {
        const token = tokens.value.tokens.find((candidate) => candidate.letter === letter);
        if (!token) {
            return { ok: false, error: `pattern "${format}" has no '${letter}', which partitioning by ${granularity} needs` };
        }
        if (token.offset === undefined) {
            return { ok: false, error: `pattern "${format}" has '${letter}' after a field of varying width; put the offset last` };
        }
        slices.push(`.${field}[${token.offset}:${token.offset + token.width}]`);
    }
    return { ok: true, value: { serdeFormat: tokens.value.joda, partitionQuery: `(${slices.join(' + "-" + ')})` } };
}

function tokenize(pattern: string): Parsed<{ tokens: Token[]; joda: string }> {
    const tokens: Token[] = [];
    let joda = "";
    let offset: number | undefined = 0;
    const advance = (width: number | undefined) => {
        offset = offset === undefined || width === undefined ? undefined : offset + width;
    };
    for (const piece of tokenizeDatetimePattern(pattern)) {
        if (piece.kind === "unclosed-quote") {
            return { ok: false, error: `pattern "${pattern}" has an unclosed quote` };
        }
        if (piece.kind === "quoted") {
            joda += `'${piece.text}'`;
            advance(Math.max(piece.text.length, 1));
            continue;
        }
        const { character, count } = piece;
        const widths = javaFields[character]?.widths;
        if (separators.includes(character)) {
            joda += character.repeat(count);
            advance(count);
        } else if (character === "X") {
            const jodaOffset = jodaOffsets[count];
            if (!jodaOffset) {
                return {
                    ok: false,
                    error: `pattern "${pattern}" has an offset Firehose cannot parse; use XX (+0100) or XXX (+01:00 or Z)`,
                };
            }
            joda += jodaOffset;
            advance(undefined);
        } else if (widths?.includes(count)) {
            tokens.push({ letter: character, width: count, offset });
            joda += character.repeat(count);
            advance(count);
        } else if (widths) {
            const expected = widths.map((width) => character.repeat(width));
            return {
                ok: false,
                error: `pattern "${pattern}" has '${character.repeat(count)}'; expected ${expected.slice(0, 3).join(" or ")}`,
            };
        } else {
            return {
                ok: false,
                error: `pattern "${pattern}" has '${character}', which Firehose cannot parse; use yyyy MM dd HH mm ss S, XX or XXX, quoted literals and - : . / , or space`,
            };
        }
    }
    for (const letter of ["y", "M", "d"]) {
        if (!tokens.some((token) => token.letter === letter)) {
            return { ok: false, error: `pattern "${pattern}" must contain a year, month and day (yyyy, MM, dd)` };
        }
    }
    return { ok: true, value: { tokens, joda } };
}
