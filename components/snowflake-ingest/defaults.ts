import type { ColumnType } from "../../config/formats";

/**
 * The Snowflake type of a stream field, exactly as the warehouse export writes it to Parquet
 * (glue-scripts/ingest/stream_export.py, Spark with TIMESTAMP_MICROS in UTC):
 * - string: Spark StringType, UTF-8 of any length -> VARCHAR (Snowflake's maximum length).
 * - integer: 32-bit -> NUMBER(10,0), every int32 fits (2,147,483,647 has 10 digits).
 * - long: 64-bit -> NUMBER(19,0), every int64 fits (9,223,372,036,854,775,807 has 19 digits).
 * - double: IEEE 754 double -> FLOAT (Snowflake's FLOAT is double precision).
 * - decimal(p,s) -> NUMBER(p,s), the same precision and scale.
 * - date -> DATE.
 * - timestamp: an instant (Parquet TIMESTAMP_MICROS adjusted to UTC) -> TIMESTAMP_LTZ(6), an instant
 *   with microseconds, shown in the session's time zone (TIMESTAMP_NTZ would drop that it is UTC).
 */
export function snowflakeType(type: ColumnType): string {
    switch (type.kind) {
        case "string":
            return "VARCHAR";
        case "integer":
            return "NUMBER(10,0)";
        case "long":
            return "NUMBER(19,0)";
        case "double":
            return "FLOAT";
        case "decimal":
            return `NUMBER(${type.precision},${type.scale})`;
        case "boolean":
            return "BOOLEAN";
        case "date":
            return "DATE";
        case "timestamp":
            return "TIMESTAMP_LTZ(6)";
    }
}

/** Snowflake's storage provider for an AWS partition: S3, S3GOV or S3CHINA. */
export function storageProviderOf(partition: string): string {
    return partition === "aws-us-gov" ? "S3GOV" : partition === "aws-cn" ? "S3CHINA" : "S3";
}

/** A Snowflake object's name as the provider creates it (quoted, so case is kept): `"DB"."SCHEMA"."NAME"`. */
export function qualifiedName(database: string, schema: string, name: string): string {
    return [database, schema, name].map((part) => `"${part}"`).join(".");
}

/**
 * The pipe's COPY statement: Parquet columns loaded by name into the table's columns, case
 * insensitively (the export writes the stream's field names; the table has one column per field).
 */
export function copyStatement(table: string, stage: string): string {
    return `COPY INTO ${table} FROM @${stage} FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE`;
}

/** The longest IAM role name AWS accepts. */
export const maxRoleNameLength = 64;
