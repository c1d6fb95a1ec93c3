"""Spark settings the job relies on, applied the same way on Glue and on local Spark."""

from __future__ import annotations

import json
import os
import sys

from pyspark.sql import SparkSession

from ingest.contract_files import packaged_contract

# UTC everywhere: extract times, TTLs and timestamps in the lake must not depend on where Spark runs.
# CORRECTED: datetime patterns follow Spark 3 semantics instead of failing on legacy ambiguities.
# ANSI off: a value that does not parse becomes null, which the typed read turns into a reason.
# Adaptive execution on, stated rather than left to the platform's default: shuffles (the merges,
# the item assembly, Iceberg's hash-distributed writes) end in partitions of about the advisory
# size, so files per table per extract follow the data, not spark.sql.shuffle.partitions (200 on Glue).
JOB_SQL_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.sql.adaptive.advisoryPartitionSizeInBytes": "128m",
}

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_REPOSITORY_ROOT = os.path.dirname(_PACKAGE_ROOT)

# The jars local Spark loads beside PySpark's own: Iceberg as Glue 5.1 ships it, and S3A so that
# s3:// URIs work locally as on Glue. scripts/install_jars.py puts them in .jars/, checksums verified.
JVM_DEPENDENCIES = os.path.join(_REPOSITORY_ROOT, "scripts", "jvm-dependencies.json")


def local_jar_path(coordinates: str) -> str:
    """Where the install step keeps the jar of `group:artifact:version`."""
    _, artifact, version = coordinates.split(":")
    return os.path.join(_REPOSITORY_ROOT, ".jars", f"{artifact}-{version}.jar")


def iceberg_catalog() -> dict:
    """The Iceberg catalog contract (contracts/iceberg_catalog.json) that Glue's --conf settings follow too."""
    return packaged_contract("iceberg_catalog.json")


def iceberg_session_settings(warehouse: str) -> dict[str, str]:
    """Spark settings that make the contract's catalog name the lake's Iceberg tables in the Glue Data Catalog."""
    contract = iceberg_catalog()
    prefix = f"spark.sql.catalog.{contract['catalog']}"
    settings = {"spark.sql.extensions": contract["extensions"]}
    for key, value in contract["catalogSettings"].items():
        settings[f"{prefix}.{key}" if key else prefix] = value
    settings[f"{prefix}.{contract['warehouseSetting']}"] = warehouse
    return settings


def apply_job_settings(spark: SparkSession) -> None:
    for key, value in JOB_SQL_SETTINGS.items():
        spark.conf.set(key, value)


def local_session(
    *,
    app_name: str,
    shuffle_partitions: int = 8,
    s3_endpoint: str | None = None,
    master: str = "local[2]",
    warehouse: str = "s3://ingest-local-lake/",
) -> SparkSession:
    """A local session bound to loopback, with the lake's Iceberg catalog.

    With `s3_endpoint` (an emulator such as moto serving S3 and Glue), s3:// paths and the Glue
    Data Catalog behind the Iceberg catalog go there.
    """
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers import the job's package as Glue's --extra-py-files would make them.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))
    with open(JVM_DEPENDENCIES, encoding="utf-8") as file:
        manifest = json.load(file)
    jars = [local_jar_path(jar["coordinates"]) for jar in manifest["jars"]]
    missing = [jar for jar in jars if not os.path.exists(jar)]
    if missing:
        raise RuntimeError(f"missing {', '.join(missing)}: run `npm run setup` (scripts/install_jars.py) first")
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.driver.memory", os.environ.get("INGEST_SPARK_DRIVER_MEMORY", "2g"))
        # Python workers run the driver's interpreter, as on Glue, so they import the packages the
        # project's environment pins rather than whatever `python3` is first on the PATH.
        .config("spark.pyspark.python", sys.executable)
        # The collector and any other JVM option, with why, are in the manifest beside the jars.
        .config("spark.driver.extraJavaOptions", manifest["javaOptions"])
        .config("spark.jars", ",".join(jars))
    )
    for key, value in {**JOB_SQL_SETTINGS, **iceberg_session_settings(warehouse)}.items():
        builder = builder.config(key, value)
    if s3_endpoint:
        catalog = f"spark.sql.catalog.{iceberg_catalog()['catalog']}"
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        builder = (
            builder.config("spark.hadoop.fs.s3.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem")
            .config("spark.hadoop.fs.s3a.endpoint", s3_endpoint)
            .config("spark.hadoop.fs.s3a.path.style.access", "true")
            .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
            .config("spark.hadoop.fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
            .config("spark.hadoop.fs.s3a.access.key", os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
            .config("spark.hadoop.fs.s3a.secret.key", os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
            .config("spark.hadoop.fs.s3a.change.detection.mode", "none")
            .config(f"{catalog}.glue.endpoint", s3_endpoint)
            .config(f"{catalog}.s3.endpoint", s3_endpoint)
            .config(f"{catalog}.s3.path-style-access", "true")
            .config(f"{catalog}.client.region", region)
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
