/**
 * The column types and names a stream declares, as every reader of its schema document knows them:
 * the deploy side's stream definition, the Lambda validators and the warehouse export. Plain
 * constants (no zod), so a Lambda bundle may import them; `stream-schema.ts` builds the document's
 * schema from them.
 */

/** The types without parameters, in the order messages list them. */
export const simpleColumnKinds = ["string", "integer", "long", "double", "boolean", "date", "timestamp"] as const;

export type SimpleColumnKind = (typeof simpleColumnKinds)[number];

/** decimal(precision, scale): precision 1 to this, scale 0 to the precision. */
export const maximumDecimalPrecision = 38;

/** A field name: lower_snake_case, a letter, then letters, digits or _ (at most 63, Glue's limit is 255 but Athena's views are shorter). */
export const fieldNamePattern = /^[a-z][a-z0-9_]{0,62}$/;

/** The one timestamp format that is not a datetime pattern: integer milliseconds since the epoch (Firehose's `millis`). */
export const epochMillis = "epoch-millis";
