/**
 * Reading the inputs the mocks recorded. They are plain JSON-like values of no declared type, so each
 * read names the path it expects; a value of the wrong kind means a component changed under the
 * reader, and says where.
 */

/** The value at a path of object keys, or undefined where the path leaves the value. */
export function valueAt(value: unknown, ...path: string[]): unknown {
    let current = value;
    for (const key of path) {
        if (typeof current !== "object" || current === null) {
            return undefined;
        }
        current = (current as Record<string, unknown>)[key];
    }
    return current;
}

/** The list at a path; empty where there is none. */
export function listAt(value: unknown, ...path: string[]): unknown[] {
    const found = valueAt(value, ...path);
    return Array.isArray(found) ? (found as unknown[]) : [];
}

export function textAt(value: unknown, ...path: string[]): string {
    const found = valueAt(value, ...path);
    if (typeof found !== "string") {
        throw new Error(`expected text at ${path.join(".") || "the top"}, found ${JSON.stringify(found)}`);
    }
    return found;
}

export function textsAt(value: unknown, ...path: string[]): string[] {
    return listAt(value, ...path).map((item) => textAt(item));
}

export function numberAt(value: unknown, ...path: string[]): number {
    const found = valueAt(value, ...path);
    if (typeof found !== "number") {
        throw new Error(`expected a number at ${path.join(".") || "the top"}, found ${JSON.stringify(found)}`);
    }
    return found;
}

/** The parsed JSON of a string input, such as an event pattern, a policy or a redrive policy. */
export function jsonAt(value: unknown, ...path: string[]): unknown {
    return JSON.parse(textAt(value, ...path)) as unknown;
}
