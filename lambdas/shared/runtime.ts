/** What every handler needs from its surroundings: JSON log lines, sleeping, reading its environment. */

export interface LogEntry {
    readonly level: "info" | "warn" | "error";
    readonly message: string;
    readonly [detail: string]: unknown;
}

export type Log = (entry: LogEntry) => void;

/** One JSON object per line, which CloudWatch Logs Insights reads field by field. */
export const jsonLog: Log = (entry) => console.log(JSON.stringify(entry));

/**
 * Writes each entry as one line straight to stdout. The Lambda runtime's console.log puts a
 * timestamp, request id and level before the text (or, with the JSON log format, wraps it as a
 * string), and CloudWatch then no longer reads the line as Embedded Metric Format; stdout lines
 * reach the log stream as written.
 */
export const stdoutLog: Log = (entry) => {
    process.stdout.write(`${JSON.stringify(entry)}\n`);
};

export function sleep(milliseconds: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** `Name: message` of a thrown value. */
export function errorText(error: unknown): string {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Reads a function's settings from its environment, collecting every missing or invalid variable
 * so one error names them all. `Name` is the function's variables, from its contract.ts, which the
 * component that deploys it sets: a name the contract does not list fails typecheck.
 */
export class EnvironmentReader<Name extends string = string> {
    private readonly missing: string[] = [];
    private readonly problems: string[] = [];

    constructor(
        private readonly environment: NodeJS.ProcessEnv,
        /** Such as "the file-to-stream function", for the error message. */
        private readonly owner: string,
    ) {}

    required(name: Name): string {
        const value = this.environment[name];
        if (value === undefined || value === "") {
            this.missing.push(name);
            return "";
        }
        return value;
    }

    /** The value, or undefined when the variable is unset or empty. */
    optional(name: Name): string | undefined {
        const value = this.environment[name];
        return value === "" ? undefined : value;
    }

    /** A whole number of at least `minimum`, or `fallback` when the variable is unset or empty. */
    wholeNumber(name: Name, fallback: number, minimum: number): number {
        const value = this.environment[name];
        if (value === undefined || value === "") {
            return fallback;
        }
        if (!/^\d+$/.test(value) || Number(value) < minimum) {
            this.problems.push(`${name} must be a whole number of at least ${minimum}, not "${value}"`);
            return fallback;
        }
        return Number(value);
    }

    /** Parses a present value; a thrown error's message becomes one of the problems. */
    parsed<T>(name: Name, parse: (text: string) => T): T | undefined {
        const text = this.required(name);
        if (text === "") {
            return undefined;
        }
        try {
            return parse(text);
        } catch (error) {
            this.problems.push(error instanceof Error ? error.message : String(error));
            return undefined;
        }
    }

    problem(message: string): void {
        this.problems.push(message);
    }

    /** Throws one error naming every missing and invalid variable, if there are any. */
    done(): void {
        const all = [
            ...(this.missing.length > 0 ? [`${this.owner}'s environment lacks ${this.missing.join(", ")}`] : []),
            ...this.problems,
        ];
        if (all.length > 0) {
            throw new Error(all.join("; "));
        }
    }
}
