import { runProgramWithExports } from "../../cli/preview/program";
import type { RecordingMocks } from "./pulumi-mocks";

export { repositoryRoot } from "../../config/load";
export { runProgramWithExports, stackConfig } from "../../cli/preview/program";

/** Runs the real program (index.ts) for a stack under mocks and returns every resource it declared. */
export async function runProgram(stack: string): Promise<RecordingMocks> {
    return (await runProgramWithExports(stack)).mocks;
}
