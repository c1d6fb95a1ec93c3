/**
 * Java and Spark datetime patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSXXX`), as every part of the platform
 * that reads one splits it: one tokenizer, and the dialects the platform writes patterns for, each
 * with the letters and widths it takes. The readers (config/formats.ts for mappings and archive
 * names, config/event-time.ts for Firehose, lambdas/shared/stream-schema.ts and
 * lambdas/extract-trigger/extract-name.ts at run time) take their pieces from here and say in their
 * own words what their dialect refuses. Plain constants and functions (no zod): Lambda bundles
 * import this module.
 */

/**
 * A run of one character outside quotes (`yyyy`, `-`, `XXX`), the text between two quotes, or a
 * quote nothing closes (always the last piece: what follows it is not read).
 */
export type PatternPiece =
    | {
          readonly kind: "run";
          /** The character repeated: a pattern letter, or a separator. */
          readonly character: string;
          readonly count: number;
          /** Where the piece starts in the pattern. */
          readonly at: number;
      }
    | {
          readonly kind: "quoted";
          /** The text between the quotes as written: empty for `''`, which Java reads as one quote. */
          readonly text: string;
          readonly at: number;
      }
    | { readonly kind: "unclosed-quote"; readonly at: number };

/**
 * Splits a pattern into runs and quoted text, as Java's DateTimeFormatterBuilder, Joda-Time and
 * Spark do, in order; a reader meets an unclosed quote where it stands, after what comes before it.
 */
export function tokenizeDatetimePattern(pattern: string): PatternPiece[] {
    const pieces: PatternPiece[] = [];
    let index = 0;
    while (index < pattern.length) {
        const character = pattern.charAt(index);
        if (character === "'") {
            const end = pattern.indexOf("'", index + 1);
            if (end < 0) {
                pieces.push({ kind: "unclosed-quote", at: index });
                break;
            }
            pieces.push({ kind: "quoted", text: pattern.slice(index + 1, end), at: index });
            index = end + 1;
            continue;
        }
        let count = 1;
        while (pattern.charAt(index + count) === character) {
            count++;
        }
        pieces.push({ kind: "run", character, count, at: index });
        index += count;
    }
    return pieces;
}

/** The literal text a quoted piece stands for in Java's and Spark's reading: `''` is one quote. */
export function quotedText(piece: Extract<PatternPiece, { kind: "quoted" }>): string {
    return piece.text === "" ? "'" : piece.text;
}

/** A field of fixed width: the widths its letter may be repeated to. */
export interface FixedField {
    readonly widths: readonly number[];
}

/** Letters that are fields of fixed width, and the characters that separate them. */
export interface FixedWidthDialect {
    readonly fields: Readonly<Record<string, FixedField>>;
    readonly separators: readonly string[];
}

export interface DatetimeDialects {
    /**
     * Spark 3's datetime patterns, which the Glue job reads a mapping's date and timestamp columns
     * with: any of its date and time letters (Spark refuses the other ASCII letters).
     */
    readonly spark: {
        readonly dateLetters: readonly string[];
        readonly timeLetters: readonly string[];
        readonly separators: readonly string[];
    };
    /**
     * Java's DateTimeFormatter as the stream functions read an event's timestamps, which Spark's JSON
     * reader and the warehouse export read alike: fixed-width fields, fractions S to SSSSSSSSS, and
     * offsets X (+01 or +0130), XX (+0130) and XXX (+01:30), each Z for a zero offset.
     */
    readonly java: FixedWidthDialect & { readonly offsetWidths: readonly number[] };
    /**
     * Joda-Time as Firehose's Hive JSON SerDe reads the same timestamps: Java's fields, and the
     * offsets Java writes as XX and XXX written Z and ZZ.
     */
    readonly joda: { readonly offsets: Readonly<Record<number, string>> };
    /**
     * The UTC timestamps of archive names, which the extract trigger and the Glue job read: years,
     * months, days, hours, minutes and seconds at their full widths.
     */
    readonly archiveName: FixedWidthDialect;
}

const wholeFields: Readonly<Record<string, FixedField>> = {
    y: { widths: [4] },
    M: { widths: [2] },
    d: { widths: [2] },
    H: { widths: [2] },
    m: { widths: [2] },
    s: { widths: [2] },
};

/** The dialects, each the subset of its library's letters that the platform writes and reads alike. */
export const datetimeDialects: DatetimeDialects = {
    spark: {
        dateLetters: ["y", "M", "d", "D", "E"],
        timeLetters: ["H", "h", "k", "K", "m", "s", "S", "a", "X", "x", "Z", "z", "V", "O"],
        separators: [" ", "-", "/", ":", ".", ",", "_", "[", "]"],
    },
    java: {
        fields: { ...wholeFields, S: { widths: [1, 2, 3, 4, 5, 6, 7, 8, 9] } },
        offsetWidths: [1, 2, 3],
        separators: ["-", ":", ".", " ", "/", ","],
    },
    joda: { offsets: { 2: "Z", 3: "ZZ" } },
    archiveName: { fields: wholeFields, separators: ["-", "_", "."] },
};
