/** Renders rows as aligned columns under a header, numbers right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[] = []): string {
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
    const line = (cells: readonly string[]) =>
        cells
            .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
            .join("  ")
            .trimEnd();
    return [line(header), ...rows.map(line)].map((text) => `${text}\n`).join("");
}
