/**
 * RFC 4180 CSV read one physical line at a time, as readline hands them over: commas inside
 * quotes, doubled quotes, and quoted fields that run over line breaks (the row then carries the
 * number of the line it started on). A line break inside quotes comes back as "\n" whatever the
 * file used, since readline has already taken the breaks off.
 */

export interface CsvCell {
    readonly text: string;
    /** Written in quotes: `""` is an empty string, an empty unquoted cell is no value. */
    readonly quoted: boolean;
}

export type CsvRow =
    | { readonly kind: "row"; readonly line: number; readonly cells: readonly CsvCell[] }
    | { readonly kind: "bad"; readonly line: number; readonly reason: string }
    | { readonly kind: "blank"; readonly line: number };

export type BadCsvRow = Extract<CsvRow, { kind: "bad" }>;

export class CsvReader {
    private cells: CsvCell[] = [];
    private text = "";
    private quoted = false;
    private inQuotes = false;
    private startLine = 0;

    /**
     * @param maximumRowCharacters a quoted field still open after this many characters is given up
     *   (the row is reported bad and reading starts afresh on the next line), so a stray quote
     *   cannot pull the rest of a large file into memory.
     */
    constructor(private readonly maximumRowCharacters: number) {}

    /** Reads one physical line (without its line break); returns the row it completes, if any. */
    push(line: string, lineNumber: number): CsvRow | undefined {
        if (!this.inQuotes) {
            if (line === "") {
                return { kind: "blank", line: lineNumber };
            }
            this.startLine = lineNumber;
        } else {
            this.text += "\n";
        }
        let index = 0;
        let afterClosingQuote = false;
        while (index < line.length) {
            const character = line.charAt(index);
            if (this.inQuotes) {
                const close = line.indexOf('"', index);
                if (close < 0) {
                    this.text += line.slice(index);
                    index = line.length;
                } else if (line.charAt(close + 1) === '"') {
                    this.text += line.slice(index, close + 1);
                    index = close + 2;
                } else {
                    this.text += line.slice(index, close);
                    this.inQuotes = false;
                    afterClosingQuote = true;
                    index = close + 1;
                }
                continue;
            }
            if (afterClosingQuote) {
                if (character !== ",") {
                    return this.bad(`cell ${this.cells.length + 1} has text after its closing quote`);
                }
                this.endCell();
                afterClosingQuote = false;
                index++;
                continue;
            }
            if (character === '"') {
                this.inQuotes = true;
                this.quoted = true;
                index++;
                continue;
            }
            const comma = line.indexOf(",", index);
            const end = comma < 0 ? line.length : comma;
            const quote = line.indexOf('"', index);
            if (quote >= 0 && quote < end) {
                return this.bad(`cell ${this.cells.length + 1} has a quote inside an unquoted value`);
            }
            this.text += line.slice(index, end);
            if (comma >= 0) {
                this.endCell();
            }
            index = end + 1;
        }
        if (this.inQuotes) {
            if (this.text.length > this.maximumRowCharacters) {
                return this.bad(`a quoted field runs past ${this.maximumRowCharacters} characters without its closing quote`);
            }
            return undefined;
        }
        this.endCell();
        const cells = this.cells;
        this.cells = [];
        return { kind: "row", line: this.startLine, cells };
    }

    /** A quoted field is open: the next line continues it, so an empty line there is part of it. */
    get insideQuotes(): boolean {
        return this.inQuotes;
    }

    /**
     * Gives up the row left open by a quoted field, when the line that would continue it cannot be
     * read (it is over the line bound); returns that row as bad, or undefined when no row is open.
     */
    interrupt(reason: string): BadCsvRow | undefined {
        return this.inQuotes ? this.bad(reason) : undefined;
    }

    /** At the end of the file: the row left open by a quoted field that never closed, if any. */
    end(): BadCsvRow | undefined {
        return this.inQuotes ? this.bad("a quoted field has no closing quote before the end of the file") : undefined;
    }

    private endCell(): void {
        this.cells.push({ text: this.text, quoted: this.quoted });
        this.text = "";
        this.quoted = false;
    }

    private bad(reason: string): BadCsvRow {
        this.cells = [];
        this.text = "";
        this.quoted = false;
        this.inQuotes = false;
        return { kind: "bad", line: this.startLine, reason };
    }
}
