import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { generatedSchemas } from "./contract-schemas";

/**
 * Writes the JSON Schemas the Python side validates against, each from its zod schema
 * (scripts/contract-schemas.ts): glue-scripts/ingest/contracts/job_plan.schema.json from
 * `jobPlanSchema`, stream_schema.schema.json from `streamSchemaDocumentSchema`. Run after changing
 * either:
 *
 *     npx tsx scripts/write-plan-schema.ts
 *
 * test/job-plan.test.ts and test/stream-validation.test.ts fail while a committed file differs from its schema.
 */

for (const generated of generatedSchemas) {
    // `$comment` goes right after `$schema` so the notice is the first thing a reader of the file sees.
    const { $schema, ...schema } = z.toJSONSchema(generated.schema);
    fs.writeFileSync(generated.file, `${JSON.stringify({ $schema, $comment: generated.notice, ...schema }, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), generated.file)}`);
}
