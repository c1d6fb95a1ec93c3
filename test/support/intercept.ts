import type { MetadataBearer, MiddlewareStack } from "@smithy/types";

/**
 * Answers that moto cannot give (a record, run or query that failed, a batch answered in part),
 * made by intercepting a client's requests of one command: the test sees the input, may send some
 * or all of it on to moto, and returns the output the code under test receives.
 */

let interceptors = 0;

/**
 * Hands every `commandName` request the client makes to `intercept` instead of sending it; `send`
 * passes an input on to moto and resolves with moto's output. Returns a remover.
 */
export function interceptCommand<CommandInput extends object, CommandOutput extends MetadataBearer>(
    client: { readonly middlewareStack: unknown },
    commandName: string,
    intercept: (input: CommandInput, send: (input: CommandInput) => Promise<CommandOutput>) => Promise<CommandOutput>,
): () => void {
    // Every AWS SDK v3 client has a stack of this shape; one client's command types are all this helper needs.
    const stack = client.middlewareStack as MiddlewareStack<CommandInput, CommandOutput>;
    const name = `intercept-${commandName}-${(interceptors += 1)}`;
    stack.add(
        (next, context) => async (args) => {
            if (context.commandName !== commandName) {
                return next(args);
            }
            let response: unknown = {};
            const output = await intercept(args.input, async (input) => {
                const sent = await next({ ...args, input });
                response = sent.response;
                return sent.output;
            });
            return { response, output };
        },
        { step: "initialize", name },
    );
    return () => stack.remove(name);
}

/** Why a record is refused, as Kinesis and Firehose report one they did not take. */
export type RecordFault = { readonly code: string; readonly message: string } | undefined;

/**
 * Sends on only the records no fault is given for; the others come back in their places as failed
 * entries. `recordFault` learns how many times the same data has been sent (`attempt`), through
 * `attempts`, which the caller keeps across requests.
 */
export async function failRecords<Entry>(
    records: readonly { readonly Data?: Uint8Array }[],
    attempts: Map<string, number>,
    recordFault: ((text: string, attempt: number) => RecordFault) | undefined,
    send: (passed: number[]) => Promise<Entry[]>,
): Promise<{ readonly entries: (Entry | { ErrorCode: string; ErrorMessage: string })[]; readonly failed: number }> {
    const faults = records.map((record) => {
        const text = Buffer.from(record.Data ?? new Uint8Array()).toString("utf8");
        const attempt = (attempts.get(text) ?? 0) + 1;
        attempts.set(text, attempt);
        return recordFault?.(text, attempt);
    });
    const passed = faults.flatMap((fault, index) => (fault ? [] : [index]));
    const taken = passed.length > 0 ? await send(passed) : [];
    return {
        entries: faults.map((fault) => (fault ? { ErrorCode: fault.code, ErrorMessage: fault.message } : taken.shift()!)),
        failed: faults.filter(Boolean).length,
    };
}
