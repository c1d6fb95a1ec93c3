/**
 * What a command writes to and reads from, so tests run commands in-process and read exactly
 * what a person would see.
 */

export interface Output {
    write(text: string): void;
    /** True on a terminal: progress is drawn in place there, and left out of pipes and files. */
    readonly isTTY: boolean;
}

export interface Terminal {
    readonly stdout: Output;
    readonly stderr: Output;
    readonly now: () => Date;
    readonly sleep: (milliseconds: number) => Promise<void>;
    /** Calls `handler` on the first Ctrl-C (a second one ends the process); returns a remover. */
    readonly onInterrupt: (handler: () => void) => () => void;
}

/** Exit codes, documented in the README's operator section. */
export const ExitCode = {
    ok: 0,
    unexpected: 1,
    usage: 2,
    credentials: 3,
    notFound: 4,
    queryFailed: 5,
    notStarted: 6,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure a person can act on: its message says what is wrong and what to do, its code ends the process. */
export class OperatorError extends Error {
    constructor(
        readonly exitCode: ExitCodeValue,
        message: string,
    ) {
        super(message);
        this.name = "OperatorError";
    }
}
