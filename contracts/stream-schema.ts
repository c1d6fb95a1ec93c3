import { z } from "zod";
import { fieldNamePattern, maximumDecimalPrecision, simpleColumnKinds } from "./column-types";

/**
 * The stream schema document: what the deploy side (config/stream.ts `streamSchemaDocument`) hands
 * the runtime readers of a stream, the producer and file-to-stream functions in STREAM_SCHEMA and
 * the warehouse export job from S3. Field names with parsed column types, and the event time: always
 * its format (how every timestamp field is written), its field only when the stream has one.
 *
 * The shape is generated as `glue-scripts/ingest/contracts/stream_schema.schema.json` (by
 * scripts/write-plan-schema.ts) for the Python side; the refinement below says what JSON Schema
 * cannot (a decimal's scale within its precision, names declared once, the event-time field a
 * declared timestamp). The Lambda functions read the document with their own parser
 * (lambdas/shared/stream-schema.ts, no zod in a bundle), typed by this module and checked against
 * it in test/stream-records.test.ts; the export's parser is checked against the JSON Schema in
 * tests-py/test_contracts.py.
 */

export const columnTypeSchema = z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.enum(simpleColumnKinds) }),
    z.strictObject({
        kind: z.literal("decimal"),
        precision: z.int().min(1).max(maximumDecimalPrecision),
        scale: z.int().min(0).max(maximumDecimalPrecision),
    }),
]);

export type ColumnType = z.infer<typeof columnTypeSchema>;

export const streamSchemaDocumentSchema = z
    .strictObject({
        stream: z.string().min(1),
        fields: z.array(z.strictObject({ name: z.string().regex(fieldNamePattern), type: columnTypeSchema })).min(1),
        eventTime: z.strictObject({
            /** The timestamp field every record must carry; absent when records carry no event time. */
            field: z.string().min(1).optional(),
            /** How every timestamp field is written: `epoch-millis`, or a datetime pattern such as yyyy-MM-dd'T'HH:mm:ss.SSSXXX. */
            format: z.string().min(1),
        }),
    })
    .superRefine((document, context) => {
        const kinds = new Map<string, string>();
        document.fields.forEach(({ name, type }, index) => {
            if (type.kind === "decimal" && type.scale > type.precision) {
                context.addIssue({ code: "custom", path: ["fields", index, "type", "scale"], message: "must be at most the precision" });
            }
            if (kinds.has(name)) {
                context.addIssue({ code: "custom", path: ["fields", index, "name"], message: `"${name}" is declared twice` });
            }
            kinds.set(name, type.kind);
        });
        const { field } = document.eventTime;
        if (field !== undefined && kinds.get(field) !== "timestamp") {
            context.addIssue({
                code: "custom",
                path: ["eventTime", "field"],
                message: kinds.has(field) ? `"${field}" is a ${kinds.get(field)}, not a timestamp` : `"${field}" is not a declared field`,
            });
        }
    });

export type StreamSchemaDocument = z.infer<typeof streamSchemaDocumentSchema>;

export type StreamSchemaField = StreamSchemaDocument["fields"][number];

/**
 * The date column the warehouse export partitions its Parquet by (`<column>=YYYY-MM-DD/`): the event
 * time's date when the stream has an event time, else the date the object arrived
 * (glue-scripts/ingest/stream_export.py, date_column). No field of an exported stream may share its name.
 */
export function exportDateColumn(eventTimeField: string | undefined): "event_date" | "arrival_date" {
    return eventTimeField === undefined ? "arrival_date" : "event_date";
}
