"""The Parquet lake: one partition per extract, registered in the Glue Data Catalog, and committed.

A lake partition counts only once its extract is committed: the run ledger gives each committed
extract a sequence number from an atomic counter, and the nested items are built from the
committed extracts only. An item records the highest sequence it was built from (its lake
snapshot), so a run that saw less of the lake can never overwrite an item built from more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

PARTITION_KEY = "ingest_extract_id"
COMMIT_PREFIX = "lake-commit#"
COMMIT_COUNTER = "lake-commit-counter"


def table_uri(lake_bucket: str, table: dict) -> str:
    return f"s3://{lake_bucket}/{table['lakePrefix']}"


def write_extract_partition(accepted: DataFrame, uri: str, extract_id: str) -> None:
    """Writes (or, on a rerun, replaces) exactly this extract's partition of one table."""
    (
        accepted.withColumn(PARTITION_KEY, F.lit(extract_id))
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy(PARTITION_KEY)
        .parquet(uri)
    )


def register_partitions(glue, database: str, catalog_table: str, uri: str, extract_ids: Sequence[str]) -> int:
    """Adds the extracts' partitions to the catalog; partitions that already exist are left as they are."""
    table = glue.get_table(DatabaseName=database, Name=catalog_table)["Table"]
    descriptor = table["StorageDescriptor"]
    inputs = [
        {"Values": [extract_id], "StorageDescriptor": {**descriptor, "Location": f"{uri}{PARTITION_KEY}={extract_id}/"}}
        for extract_id in extract_ids
    ]
    created = 0
    for start in range(0, len(inputs), 100):
        batch = inputs[start : start + 100]
        errors = glue.batch_create_partition(DatabaseName=database, TableName=catalog_table, PartitionInputList=batch).get("Errors", [])
        unexpected = [error for error in errors if error["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException"]
        if unexpected:
            detail = unexpected[0]["ErrorDetail"]
            raise RuntimeError(f"Glue refused partitions of {catalog_table}: {detail['ErrorCode']}: {detail['ErrorMessage']}")
        created += len(batch) - len(errors)
    return created


def commit_extract(dynamodb, ledger_table: str, extract_id: str, extract_version: int) -> int:
    """The extract's commit sequence: allocated once, the same on every rerun."""
    key = {"archive": {"S": f"{COMMIT_PREFIX}{extract_id}"}}
    existing = dynamodb.get_item(TableName=ledger_table, Key=key, ConsistentRead=True).get("Item")
    if existing:
        return int(existing["sequence"]["N"])
    counter = dynamodb.update_item(
        TableName=ledger_table,
        Key={"archive": {"S": COMMIT_COUNTER}},
        UpdateExpression="ADD #sequence :one",
        ExpressionAttributeNames={"#sequence": "sequence"},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    sequence = int(counter["Attributes"]["sequence"]["N"])
    try:
        dynamodb.put_item(
            TableName=ledger_table,
            Item={**key, "sequence": {"N": str(sequence)}, "extractVersion": {"N": str(extract_version)}},
            ConditionExpression="attribute_not_exists(#archive)",
            ExpressionAttributeNames={"#archive": "archive"},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        # A concurrent rerun of the same extract committed first; its sequence stands (ours is unused).
        return commit_extract(dynamodb, ledger_table, extract_id, extract_version)
    return sequence


def committed_extracts(dynamodb, ledger_table: str) -> dict[str, int]:
    """Every committed extract id with its commit sequence (a strongly consistent scan)."""
    committed: dict[str, int] = {}
    paginator = dynamodb.get_paginator("scan")
    for page in paginator.paginate(
        TableName=ledger_table,
        ConsistentRead=True,
        FilterExpression="begins_with(#archive, :prefix)",
        ExpressionAttributeNames={"#archive": "archive"},
        ExpressionAttributeValues={":prefix": {"S": COMMIT_PREFIX}},
    ):
        for item in page["Items"]:
            committed[item["archive"]["S"][len(COMMIT_PREFIX) :]] = int(item["sequence"]["N"])
    return committed


def read_committed(spark: SparkSession, uri: str, schema: str, extract_ids: Sequence[str]) -> DataFrame:
    """The table's rows from the given extracts only; an empty frame when the table has no data yet."""
    paths = [f"{uri}{PARTITION_KEY}={extract_id}/" for extract_id in extract_ids]
    existing = [path for path in paths if _exists(spark, path)]
    if not existing:
        return spark.createDataFrame([], f"{schema}, {PARTITION_KEY} STRING")
    return spark.read.schema(f"{schema}, {PARTITION_KEY} STRING").option("basePath", uri).parquet(*existing)


def _exists(spark: SparkSession, path: str) -> bool:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(hadoop_path)


def lake_schema(table: dict, metadata_columns: Sequence[Mapping[str, str]]) -> str:
    """Spark DDL of a lake table: the mapped columns, then the lake's own columns."""
    columns = [(column["name"], column["type"]) for column in table["columns"]]
    columns += [(column["name"], column["type"]) for column in metadata_columns]
    return ", ".join(f"`{name}` {kind}" for name, kind in columns)
