import { expect } from "chai";
import { ESLint, type Linter } from "eslint";
import * as path from "path";
import { pathToFileURL } from "url";
import tseslint from "typescript-eslint";
import { repositoryRoot } from "./support/program";

/** The project's ESLint blocks that hold a floor (`floors/imports`), with only that rule, over TypeScript's parser. */
async function floorBlocks(): Promise<Linter.Config[]> {
    const imported = (await import(pathToFileURL(path.join(repositoryRoot, "eslint.config.mjs")).href)) as { default: Linter.Config[] };
    const floors = imported.default
        .filter((block) => block.rules?.["floors/imports"] !== undefined)
        .map((block) => ({
            files: block.files,
            ...(block.ignores ? { ignores: block.ignores } : {}),
            plugins: block.plugins,
            rules: { "floors/imports": block.rules!["floors/imports"] },
        }));
    return [{ files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } }, ...floors];
}

describe("import floors (eslint.config.mjs, scripts/import-floors.mjs)", () => {
    let eslint: ESLint;

    before(async () => {
        eslint = new ESLint({ cwd: repositoryRoot, overrideConfigFile: true, overrideConfig: await floorBlocks() });
    });

    /** The floor messages for `code` as if written in `file` (a path from the repository root). */
    async function problems(file: string, code: string): Promise<string[]> {
        const [result] = await eslint.lintText(code, { filePath: path.join(repositoryRoot, file) });
        return result!.messages.map((message) => message.message);
    }

    const cases: { file: string; code: string; expected: string[] }[] = [
        { file: "lambdas/shared/clock.ts", code: 'import { x } from "../../contracts/column-types";', expected: [] },
        { file: "lambdas/event-filter/deep/inner/reader.ts", code: 'import { x } from "../../../shared/json-text";', expected: [] },
        {
            file: "lambdas/event-filter/deep/inner/reader.ts",
            code: 'import { x } from "../../../../config/stream";',
            expected: [
                "lambdas/event-filter/deep/inner/reader.ts may not import config/stream: a function's bundle holds lambdas/** and " +
                    "contracts/** only; put what deploy time and run time share in contracts/",
            ],
        },
        {
            file: "lambdas/shared/loader.ts",
            code: 'import { y } from "../../glue-scripts/ingest/contracts/job_arguments.json";\nimport * as pulumi from "@pulumi/pulumi";',
            expected: [
                "lambdas/shared/loader.ts may not import glue-scripts/ingest/contracts/job_arguments.json: a function's bundle holds " +
                    "lambdas/** and contracts/** only; put what deploy time and run time share in contracts/",
                "lambdas/shared/loader.ts may not import @pulumi/pulumi: a function's bundle holds lambdas/** and contracts/** only; " +
                    "put what deploy time and run time share in contracts/",
            ],
        },
        {
            file: "lambdas/shared/events.ts",
            code: 'import { S3Client } from "@aws-sdk/client-s3";\nimport * as zlib from "zlib";',
            expected: [],
        },
        {
            file: "contracts/outputs.ts",
            code: 'import { z } from "zod";\nimport job from "../glue-scripts/ingest/contracts/job_arguments.json";\nexport * from "./column-types";',
            expected: [],
        },
        {
            file: "contracts/outputs.ts",
            code: 'export { Stream } from "../config/stream";\nimport * as yaml from "yaml";',
            expected: [
                "contracts/outputs.ts may not import config/stream: contracts/** imports nothing of the project but the Glue jobs' " +
                    "JSON contracts, and no package but zod: deploy time and run time both import it",
                "contracts/outputs.ts may not import yaml: contracts/** imports nothing of the project but the Glue jobs' JSON " +
                    "contracts, and no package but zod: deploy time and run time both import it",
            ],
        },
        {
            file: "cli/runs/table.ts",
            code: 'const storage = await import("../../components/storage");',
            expected: [
                "cli/runs/table.ts may not import components/storage: cli/** reaches the components only through the preview " +
                    "(cli/preview/), which runs index.ts; shared names go in contracts/",
            ],
        },
        { file: "cli/preview/program.ts", code: 'import { Storage } from "../../components/storage";', expected: [] },
        {
            file: "cli/runs.ts",
            code: 'import { load } from "../config/load";\nimport { S3Client } from "@aws-sdk/client-s3";',
            expected: [],
        },
    ];

    for (const { file, code, expected } of cases) {
        it(`${expected.length === 0 ? "lets" : "refuses"} ${file}: ${code.split("\n").join(" ")}`, async () => {
            expect(await problems(file, code)).to.deep.equal(expected);
        });
    }
});
