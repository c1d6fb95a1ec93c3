/**
 * What the TypeScript benchmark scripts share, as local/benchmarks.py does for the Python ones: figures
 * as a median with its spread, and each script's own section of BENCHMARKS.md.
 */
import * as fs from "fs";

/** A median of repeated measurements with their lowest and highest. */
export interface Figure {
    readonly median: number;
    readonly min: number;
    readonly max: number;
}

/** The median of repeated measurements with their lowest and highest, as local/benchmarks.py reports them. */
export function medianAndSpread(values: readonly number[], digits = 1): Figure {
    if (values.length === 0) {
        throw new Error("no measurements");
    }
    const sorted = [...values].sort((left, right) => left - right);
    const middle = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
    const round = (value: number) => Number(value.toFixed(digits));
    return { median: round(median), min: round(sorted[0]!), max: round(sorted.at(-1)!) };
}

/** '12.3 (11.9–13.0)': a median with its spread, as the tables show it. */
export function spreadText(figure: Figure): string {
    return `${figure.median} (${figure.min}–${figure.max})`;
}

/**
 * Writes `text` as the section starting at `heading` in the Markdown file `output`, keeping every
 * other section: the convention of local/benchmarks.py's replace_section, so both languages' scripts
 * share BENCHMARKS.md. The file is read just before it is written, so sections other scripts (or
 * people) changed while a benchmark ran are kept as they are now.
 */
export function writeSection(output: string, heading: string, text: string): void {
    const existing = fs.existsSync(output) ? fs.readFileSync(output, "utf8") : "# Benchmarks\n";
    fs.writeFileSync(output, replaceSection(existing, heading, text));
}

function replaceSection(existing: string, heading: string, text: string): string {
    const start = existing.indexOf(`\n${heading}\n`);
    let updated: string;
    if (start < 0) {
        updated = `${existing.replace(/\n+$/, "")}\n\n${text}`;
    } else {
        const following = existing.indexOf("\n## ", start + heading.length + 2);
        updated = existing.slice(0, start + 1) + text.replace(/\n+$/, "") + "\n" + (following >= 0 ? existing.slice(following) : "");
    }
    return `${updated.replace(/\n+$/, "")}\n`;
}
