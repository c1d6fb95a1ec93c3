import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { generatedSchemas, generatedSchemaText } from "../scripts/contract-schemas";
import { repositoryRoot } from "./support/program";

describe("the JSON Schemas the Python side reads (glue-scripts/ingest/contracts/*.schema.json)", () => {
    for (const generated of generatedSchemas) {
        const file = path.relative(repositoryRoot, generated.file);

        it(`${file} is exactly what scripts/write-plan-schema.ts writes from its zod schema, so neither side can drift`, () => {
            expect(fs.readFileSync(generated.file, "utf8"), "stale: run npx tsx scripts/write-plan-schema.ts").to.equal(
                generatedSchemaText(generated),
            );
        });
    }

    it("generates every *.schema.json there, and nothing else", () => {
        const folder = path.join(repositoryRoot, "glue-scripts", "ingest", "contracts");
        const committed = fs.readdirSync(folder).filter((name) => name.endsWith(".schema.json"));
        expect(committed.sort()).to.deep.equal(generatedSchemas.map((generated) => path.basename(generated.file)).sort());
    });
});
