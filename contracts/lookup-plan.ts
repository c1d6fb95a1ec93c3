import { z } from "zod";

/**
 * The plan a lookup's loader job reads (uploaded beside it as JSON): config/lookup.ts builds it from
 * a lookup definition (lookupPlan), glue-scripts/ingest/lookup_plan.py parses it, and
 * lookup_plan.schema.json, generated from this schema, is what tests-py/test_contracts.py holds the
 * Python parser to.
 */

/** The export formats the loader reads. */
export const exportFormats = ["jsonl", "dynamodb-json", "data-pipeline-json", "redshift-text", "csv", "keys"] as const;
export type ExportFormat = (typeof exportFormats)[number];

/** DynamoDB keys are strings, numbers or binary; a boolean cannot be a key, and the loader reads no binary. */
export const lookupKeyTypes = ["string", "number"] as const;
export const lookupAttributeTypes = ["string", "number", "boolean"] as const;

/** A lookup's name: lower-kebab-case, a letter, then letters, digits or - (at most 31). */
export const lookupNamePattern = /^[a-z][a-z0-9-]{0,30}$/;

/** An object name that completes an export folder. */
export const exportMarkerPattern = /^[A-Za-z0-9_.-]{1,255}$/;

/** DynamoDB's item size limit, in bytes. */
export const dynamodbItemLimitBytes = 400 * 1024;

const keyAttribute = z.strictObject({ attribute: z.string().min(1), type: z.enum(lookupKeyTypes) });

export const lookupPlanSchema = z.strictObject({
    lookup: z.string().regex(lookupNamePattern),
    key: z.strictObject({ partition: keyAttribute, sort: keyAttribute.nullable() }),
    attributes: z.array(z.strictObject({ name: z.string().min(1), type: z.enum(lookupAttributeTypes), required: z.boolean() })),
    format: z.enum(exportFormats),
    ttl: z.strictObject({ attribute: z.string().min(1), days: z.int().min(1) }).nullable(),
    maxItemBytes: z.int().min(1).max(dynamodbItemLimitBytes),
    fullRefresh: z.boolean(),
    /** Object names that complete an export folder (the loader loads a folder only once one is there). */
    markers: z.array(z.string().regex(exportMarkerPattern)).min(1),
    /** How a Redshift UNLOAD wrote a redshift-text export; null for every other format. */
    unload: z
        .strictObject({
            columns: z.array(z.string().min(1)).min(1),
            /** One character other than a backslash or a line break. */
            delimiter: z.string().regex(/^[^\\\n\r]$/),
            escape: z.boolean(),
            nullAs: z.string(),
        })
        .nullable(),
});

export type LookupPlan = z.infer<typeof lookupPlanSchema>;
