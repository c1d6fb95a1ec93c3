/** Athena refuses a query once it has scanned this many bytes: 10 GiB, a few cents. */
export const defaultBytesScannedCutoff = 10 * 1024 ** 3;

/** Parquet through the Hive SerDe, which Glue, Athena and Spark all read. */
export const parquetStorage = {
    inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    serDeInfo: {
        name: "parquet",
        serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        parameters: { "serialization.format": "1" },
    },
} as const;
