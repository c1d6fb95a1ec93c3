/** Glue's --conf value for the lake's Iceberg catalog (glue-scripts/ingest/contracts/iceberg_catalog.json), written out. */
export const lakeConf = (bucket: string): string =>
    "spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions" +
    " --conf spark.sql.catalog.lake=org.apache.iceberg.spark.SparkCatalog" +
    " --conf spark.sql.catalog.lake.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog" +
    " --conf spark.sql.catalog.lake.io-impl=org.apache.iceberg.aws.s3.S3FileIO" +
    " --conf spark.sql.catalog.lake.glue.skip-name-validation=false" +
    ` --conf spark.sql.catalog.lake.warehouse=s3://${bucket}/`;
