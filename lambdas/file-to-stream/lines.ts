/**
 * Splits a file's bytes into lines as they arrive, chunk by chunk, holding at most one line of at
 * most `maxLineBytes` bytes. A longer line is never held: its bytes are counted until its end and it
 * comes out as too long, with its number. Line breaks are "\n", "\r\n" and a lone "\r", as Node's
 * readline has them, so line numbers are the ones an editor shows.
 *
 * Blank lines are skipped in bulk: at the start of a line, bytes that cannot begin a line worth
 * reading (line breaks, and for JSON lines also spaces and tabs) are stepped over in one tight loop
 * that only counts the line breaks, so a file of empty lines costs what its bytes cost rather than a
 * string and a callback per line. Leading whitespace stepped over this way is left out of a line's
 * text (JSON ignores it) but counted in its bytes.
 */

/** One line that was read: its text (without its line break), or only its size when over the bound. */
export type Line =
    | { readonly kind: "text"; readonly number: number; readonly text: string }
    | { readonly kind: "too-long"; readonly number: number; readonly bytes: number };

export interface LineSplitterOptions {
    /** A line of more bytes than this (its break not counted) is too long. */
    readonly maxLineBytes: number;
    /**
     * Which lines may be skipped without being handed over: "whitespace" (lines of spaces, tabs and
     * nothing else, as JSON lines skip them) or "empty" (lines with nothing on them, as CSV skips them).
     */
    readonly blank: "whitespace" | "empty";
}

const lineFeed = 0x0a;
const carriageReturn = 0x0d;

/** Bytes stepped over at the start of a line, by `blank` mode; line breaks are among them in both. */
const skippable = {
    whitespace: byteSet([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]),
    empty: byteSet([0x0a, 0x0d]),
} as const;

/**
 * Long runs of empty lines ("\n" or "\r\n" again and again) are compared with a block of them at a
 * time (a memcmp), once `blockRun` line breaks in a row suggest the run goes on.
 */
const blockBytes = 4096;
const blockRun = 64;
const feedBlock = Buffer.alloc(blockBytes, "\n");
const returnFeedBlock = Buffer.from("\r\n".repeat(blockBytes / 2));

function byteSet(bytes: readonly number[]): Uint8Array {
    const set = new Uint8Array(256);
    for (const byte of bytes) {
        set[byte] = 1;
    }
    return set;
}

export class LineSplitter {
    /** Lines begun so far: complete ones, blank ones skipped, and the one being read, if any. */
    private completeLines = 0;
    /** Bytes of the current line so far, leading whitespace stepped over included. */
    private lineBytes = 0;
    /** The parts of the current line while it is within the bound; dropped once it is over. */
    private parts: Buffer[] = [];
    /** The current line is over the bound: its bytes are counted, not kept. */
    private tooLong = false;
    /** The last byte was a "\r" that ended a line: a "\n" right after it belongs to the same break. */
    private afterCarriageReturn = false;
    private readonly skip: Uint8Array;

    constructor(private readonly options: LineSplitterOptions) {
        this.skip = skippable[options.blank];
    }

    /** Lines begun so far, as a report counts them: the current unfinished one included. */
    get lines(): number {
        return this.completeLines + (this.lineBytes > 0 ? 1 : 0);
    }

    /** The line being read when the input stopped short, if it had bytes: its number and its bytes so far. */
    unfinished(): { readonly number: number; readonly bytes: number; readonly tooLong: boolean } | undefined {
        return this.lineBytes > 0 ? { number: this.completeLines + 1, bytes: this.lineBytes, tooLong: this.tooLong } : undefined;
    }

    /**
     * Reads a chunk, handing each line it completes to `onLine`; `onLine` returns false to stop
     * reading (the rest of the chunk is dropped). `skipBlank` is asked at the start of each line
     * whether blank lines may be skipped there (a CSV field in quotes keeps its empty lines).
     * Returns false when `onLine` stopped.
     */
    push(chunk: Buffer, onLine: (line: Line) => boolean, skipBlank: () => boolean = () => true): boolean {
        const length = chunk.length;
        const skip = this.skip;
        let index = 0;
        // Where the next "\n" and "\r" are, each looked up again only once passed: -1 when none is left.
        let nextFeed = -2;
        let nextReturn = -2;
        while (index < length) {
            if (this.afterCarriageReturn) {
                this.afterCarriageReturn = false;
                if (chunk[index] === lineFeed) {
                    index++;
                    continue;
                }
            }
            if (this.parts.length === 0 && !this.tooLong && skip[chunk[index]!] === 1 && skipBlank()) {
                // Step over blank lines (and a line's leading whitespace) counting only the breaks.
                let position = index;
                let breaks = 0;
                let afterReturn = false;
                let lineStart = index;
                // Line breaks in a row just before `position`: after a few dozen, a block compare may pay.
                let run = 0;
                while (position < length) {
                    const byte = chunk[position]!;
                    if (skip[byte] !== 1) {
                        break;
                    }
                    if (byte === lineFeed) {
                        if (!afterReturn) {
                            breaks++;
                        }
                        afterReturn = false;
                        lineStart = position + 1;
                        run++;
                    } else if (byte === carriageReturn) {
                        breaks++;
                        afterReturn = true;
                        lineStart = position + 1;
                        run++;
                    } else {
                        afterReturn = false;
                        run = 0;
                    }
                    position++;
                    if (run >= blockRun && position + blockBytes <= length) {
                        const next = chunk[position];
                        const block = next === carriageReturn ? returnFeedBlock : next === lineFeed && !afterReturn ? feedBlock : undefined;
                        if (block !== undefined) {
                            if (chunk.compare(block, 0, blockBytes, position, position + blockBytes) === 0) {
                                // Each "\n" of a block of them ends a line; each "\r\n" of a block of those ends one.
                                breaks += block === feedBlock ? blockBytes : blockBytes / 2;
                                position += blockBytes;
                                lineStart = position;
                            } else {
                                run = 0;
                            }
                        }
                    }
                }
                if (breaks > 0) {
                    this.completeLines += breaks;
                    this.lineBytes = 0;
                }
                this.afterCarriageReturn = afterReturn;
                this.lineBytes += position - lineStart;
                index = position;
                continue;
            }
            if (nextFeed !== -1 && nextFeed < index) {
                nextFeed = chunk.indexOf(lineFeed, index);
            }
            if (nextReturn !== -1 && nextReturn < index) {
                nextReturn = chunk.indexOf(carriageReturn, index);
            }
            const end = nextFeed < 0 ? nextReturn : nextReturn < 0 ? nextFeed : Math.min(nextFeed, nextReturn);
            if (end < 0) {
                this.take(chunk.subarray(index));
                return true;
            }
            this.take(chunk.subarray(index, end));
            this.afterCarriageReturn = chunk[end] === carriageReturn;
            index = end + 1;
            if (!onLine(this.finishLine())) {
                return false;
            }
        }
        return true;
    }

    /** At the end of the input: the last line, when the file does not end with a line break. */
    end(onLine: (line: Line) => boolean): void {
        if (this.parts.length > 0 || this.tooLong) {
            onLine(this.finishLine());
        } else if (this.lineBytes > 0) {
            // Only whitespace after the last break: a blank line, counted as read.
            this.completeLines++;
            this.lineBytes = 0;
        }
    }

    private take(bytes: Buffer): void {
        this.lineBytes += bytes.length;
        if (this.tooLong) {
            return;
        }
        if (this.lineBytes > this.options.maxLineBytes) {
            this.tooLong = true;
            this.parts = [];
        } else if (bytes.length > 0) {
            this.parts.push(bytes);
        }
    }

    private finishLine(): Line {
        const number = ++this.completeLines;
        const line: Line = this.tooLong
            ? { kind: "too-long", number, bytes: this.lineBytes }
            : {
                  kind: "text",
                  number,
                  text: this.parts.length === 1 ? this.parts[0]!.toString("utf8") : Buffer.concat(this.parts).toString("utf8"),
              };
        this.parts = [];
        this.tooLong = false;
        this.lineBytes = 0;
        return line;
    }
}
