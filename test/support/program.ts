import * as preview from "../../cli/preview/program";
import type { DeclaredResource } from "../../cli/preview/program";
import { fixtureRoot, withConfigRoot } from "./config-root";
import { RecordingMocks } from "./pulumi-mocks";

export { repositoryRoot } from "../../config/load";

/**
 * Runs the real program (index.ts) for a stack under mocks, with the stack outputs it exports, reading
 * its config from `root` (the tests' fixtures, test/fixtures/project/, unless a test gives its own).
 */
export async function runProgramWithExports(
    stack: string,
    mocks: RecordingMocks = new RecordingMocks(),
    root = fixtureRoot,
): Promise<{ mocks: RecordingMocks; exports: Record<string, unknown> }> {
    return withConfigRoot(root, () => preview.runProgramWithExports(stack, mocks));
}

/** Runs the real program for a stack under mocks, config from `root`, and returns every resource it declared. */
export async function runProgram(stack: string, root = fixtureRoot): Promise<RecordingMocks> {
    return (await runProgramWithExports(stack, new RecordingMocks(), root)).mocks;
}

/** The components and resources the real program declares for a stack, config from `root` (see cli/preview/program.ts). */
export async function declareProgram(stack: string, root = fixtureRoot): Promise<DeclaredResource[]> {
    return withConfigRoot(root, () => preview.declareProgram(stack));
}
