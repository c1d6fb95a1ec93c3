"""The honest floor of the on-delivery export, as a plain spark-submit application with none of the job's code.

It reads one delivered object (gzip JSON lines) with Spark's own JSON reader against the stream's schema and
writes it as Parquet partitioned by event date, as the job's Parquet files are. FAILFAST fails the run on any
record that does not fit the schema, so every record is typed and written, as the job does with a clean object;
what the job adds (line numbers, a reason per rejected record, the quarantine, markers, the report) is left out.

    spark-submit local/json_lines_to_parquet.py SOURCE_URI TARGET_URI SCHEMA_DDL EVENT_TIME_FIELD TIMESTAMP_FORMAT
"""

from __future__ import annotations

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(argv: list[str]) -> int:
    source, target, schema, event_time_field, timestamp_format = argv[1:]
    spark = SparkSession.builder.appName("json-lines-to-parquet").getOrCreate()
    records = spark.read.schema(schema).option("mode", "FAILFAST").option("timestampFormat", timestamp_format).json(source)
    records.withColumn("event_date", F.to_date(event_time_field)).write.partitionBy("event_date").parquet(target)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
