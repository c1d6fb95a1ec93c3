"""Spark settings the job relies on, applied the same way on Glue and on local Spark."""

from __future__ import annotations

import os

from pyspark.sql import SparkSession

# UTC everywhere: extract times, TTLs and timestamps in the lake must not depend on where Spark runs.
# CORRECTED: datetime patterns follow Spark 3 semantics instead of failing on legacy ambiguities.
# ANSI off: a value that does not parse becomes null, which the typed read turns into a reason.
JOB_SQL_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}

# hadoop-aws matching the Hadoop 3.3.4 that PySpark 3.5.6 bundles; s3:// is served by S3A locally,
# so the job uses the same s3:// URIs as on Glue.
HADOOP_AWS_PACKAGE = "org.apache.hadoop:hadoop-aws:3.3.4"


def apply_job_settings(spark: SparkSession) -> None:
    for key, value in JOB_SQL_SETTINGS.items():
        spark.conf.set(key, value)


def local_session(*, app_name: str, shuffle_partitions: int = 8, s3_endpoint: str | None = None, master: str = "local[2]") -> SparkSession:
    """A local session bound to loopback; with `s3_endpoint` (an S3 emulator such as moto) s3:// paths go there."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers import the job's package as Glue's --extra-py-files would make them.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.driver.memory", os.environ.get("INGEST_SPARK_DRIVER_MEMORY", "2g"))
    )
    for key, value in JOB_SQL_SETTINGS.items():
        builder = builder.config(key, value)
    if s3_endpoint:
        repository = os.path.dirname(package_root)
        builder = (
            builder.config("spark.jars.packages", HADOOP_AWS_PACKAGE)
            .config("spark.jars.ivy", os.path.join(repository, ".venv", "ivy"))
            .config("spark.hadoop.fs.s3.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem")
            .config("spark.hadoop.fs.s3a.endpoint", s3_endpoint)
            .config("spark.hadoop.fs.s3a.path.style.access", "true")
            .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
            .config("spark.hadoop.fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
            .config("spark.hadoop.fs.s3a.access.key", os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
            .config("spark.hadoop.fs.s3a.secret.key", os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
            .config("spark.hadoop.fs.s3a.change.detection.mode", "none")
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
