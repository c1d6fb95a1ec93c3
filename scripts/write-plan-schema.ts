import * as fs from "fs";
import * as path from "path";
import { generatedSchemas, generatedSchemaText } from "./contract-schemas";

/**
 * Writes the JSON Schemas the Python side validates against, each from its zod schema
 * (scripts/contract-schemas.ts: the job plan, the stream schema document, the lookup plan) into
 * glue-scripts/ingest/contracts/. Run after changing any of them:
 *
 *     npx tsx scripts/write-plan-schema.ts
 *
 * test/contract-schemas.test.ts fails while a committed file differs from what this writes.
 */

for (const generated of generatedSchemas) {
    fs.writeFileSync(generated.file, generatedSchemaText(generated));
    console.log(`wrote ${path.relative(process.cwd(), generated.file)}`);
}
