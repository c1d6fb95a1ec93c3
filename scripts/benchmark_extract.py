"""Benchmarks the batch extract job on local Spark against moto, against an honest floor; writes its section of BENCHMARKS.md.

For each size it generates one full extract of the example mapping and measures, in the same run
and Spark session, `--repetitions` times each, back to back:
(a) the job without the DynamoDB network leg: every step, with write-items turning every item into
    DynamoDB JSON and sizing it, and the writer tasks receiving every item, but sending no request
    (the requests are `scripts/benchmark_dynamodb.py`'s);
(b) the honest floor: a minimal hand-written PySpark job doing the same essential work on the same
    archive, without validation: typed CSV read with the mapping's schemas, Parquet write, latest
    version per key, nested items (joins and sorted `collect_list`), every item serialized with `to_json`;
(c) CSV to Parquet alone: the same CSVs read with the same schemas, written as Parquet.
It reports medians with their spread (fewest-most), (a)/(b) per repetition, and the job's steps,
after a warm-up run of all three that is not reported.

    .venv/bin/python scripts/benchmark_extract.py [--sizes 100000 1000000 3000000] [--repetitions 3] [--output BENCHMARKS.md]

Not part of the test suite: it takes minutes to an hour, depending on the sizes. 3M rows need
INGEST_SPARK_DRIVER_MEMORY=8g.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time
import zipfile

import boto3
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO_ROOT, "glue-scripts"), REPO_ROOT]

import ingest.job  # noqa: E402
from ingest.dynamodb_writer import ITEM_BYTES, WriteOutcome, write_units  # noqa: E402
from ingest.job import AwsClients  # noqa: E402
from ingest.job_plan import ItemNode, JobPlan, PlanTable, parse_job_plan  # noqa: E402
from ingest.spark_settings import local_session  # noqa: E402
from local.benchmarks import example_plan, median_and_spread, replace_section, spread_text, use_emulated_aws  # noqa: E402
from local.emulated_pipeline import Pipeline  # noqa: E402
from local.moto_server import moto_server  # noqa: E402
from local.sample_extract import generate  # noqa: E402

REGION = "us-east-1"
ROWS_PER_ROOT = 9  # customers 1 + orders 2 + order_lines 4 + addresses 2, at two children per parent
SECTION = "## Batch extract job against the honest floor"
WARM_UP_ROWS = 10_000
STEPS = ("download", "unzip", "stage", "typed-read", "history", "merge", "assemble", "write-items")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 3_000_000], help="total rows per extract")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--output", default=os.path.join(REPO_ROOT, "BENCHMARKS.md"))
    arguments = parser.parse_args()
    plan = example_plan()
    results = []
    with moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="benchmark-") as work:
        use_emulated_aws(endpoint, REGION)
        spark = local_session(app_name="benchmark", s3_endpoint=endpoint)
        original_write_partition = ingest.job.write_partition
        ingest.job.write_partition = received_not_sent
        try:
            # Not reported: the first run of each piece of work starts Python workers and JIT-compiles the JVM's code.
            measure(spark, plan, endpoint, WARM_UP_ROWS, 1, os.path.join(work, "warm-up"))
            for size in arguments.sizes:
                results.append(measure(spark, plan, endpoint, size, arguments.repetitions, os.path.join(work, str(size))))
                print(json.dumps(results[-1]), flush=True)
        finally:
            ingest.job.write_partition = original_write_partition
            spark.stop()
    write_section(arguments.output, results, arguments.repetitions)
    print(f"wrote {arguments.output}")
    return 0


def received_not_sent(rows, settings):
    """The writer task's side of write-items without the network: every item received from Spark and counted, none sent."""
    outcome = WriteOutcome()
    for row in rows:
        outcome.written += 1
        outcome.write_units += write_units(row[ITEM_BYTES])
    yield outcome.as_dict()


def measure(spark, document: dict, endpoint: str, size: int, repetitions: int, work: str) -> dict:
    """`document` is the job plan's JSON, as each run's pipeline stores it for the job."""
    os.makedirs(work)
    plan = parse_job_plan(document)
    [entry] = generate(
        plan, os.path.join(work, "extract"), roots=max(1, size // ROWS_PER_ROOT), extracts=1, seed=42, children=2, bad_rows=0
    )
    rows = sum(entry["rows"].values())
    extracted = os.path.join(work, "csv")
    with zipfile.ZipFile(entry["archive"]) as archive:
        archive.extractall(extracted)
    with open(entry["archive"], "rb") as archive:
        body = archive.read()

    def client(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION)

    runs = []
    for repetition in range(repetitions):
        # A new pipeline each time (its own buckets, tables and lake): every run is a first, full load.
        pipeline = Pipeline(
            plan=document,
            clients=AwsClients(s3=client("s3"), glue=client("glue"), dynamodb=client("dynamodb"), sns=client("sns")),
            sqs=client("sqs"),
        )
        started = time.monotonic()
        report, failure = pipeline.run_extract(spark, pathlib.Path(work), 1, body)
        job_seconds = time.monotonic() - started
        if failure:
            raise SystemExit(f"the job failed on {size} rows: {failure}")
        target = f"s3://{pipeline.lake}/floor-{repetition}/"
        floor_seconds, floor_items = honest_floor(spark, plan, extracted, target)
        parquet_seconds = csv_to_parquet(spark, plan, extracted, f"s3://{pipeline.lake}/parquet-{repetition}/")
        if floor_items != report["items"]["touched"]:
            raise SystemExit(f"the floor built {floor_items} items and the job {report['items']['touched']}: not the same work")
        runs.append(
            {"job": job_seconds, "floor": floor_seconds, "parquet": parquet_seconds, "steps": report["durationsSeconds"], "report": report}
        )
        print(json.dumps({"rows": rows, "repetition": repetition, "job": job_seconds, "floor": floor_seconds, "parquet": parquet_seconds}))
    report = runs[-1]["report"]
    return {
        "rows": rows,
        "archiveBytes": len(body),
        "items": report["items"]["touched"],
        "writeUnits": report["items"]["writeUnits"],
        "job": median_and_spread([run["job"] for run in runs]),
        "floor": median_and_spread([run["floor"] for run in runs]),
        "parquet": median_and_spread([run["parquet"] for run in runs]),
        "ratio": median_and_spread([run["job"] / run["floor"] for run in runs]),
        "parquetRatio": median_and_spread([run["job"] / run["parquet"] for run in runs]),
        "steps": {step: round(statistics.median(run["steps"].get(step, 0.0) for run in runs), 2) for step in STEPS},
    }


def _typed_csv(spark, table: PlanTable, extracted: str) -> DataFrame:
    """A table's CSV files read with its schema, as Spark's own CSV reader does it (RFC 4180 quotes, newlines in values)."""
    schema = ", ".join(f"`{column.name}` {column.type}" for column in table.columns)
    formats = {column.type: column.format for column in table.columns if column.format is not None}
    reader = spark.read.schema(schema).options(header="true", multiLine="true", escape='"', nullValue="")
    if "timestamp" in formats:
        reader = reader.option("timestampFormat", formats["timestamp"])
    if "date" in formats:
        reader = reader.option("dateFormat", formats["date"])
    return reader.csv(os.path.join(extracted, table.file_glob))


def csv_to_parquet(spark, plan: JobPlan, extracted: str, target: str) -> float:
    """(c): the same CSVs read with the same schemas, written as Parquet."""
    started = time.monotonic()
    for table in plan.tables:
        _typed_csv(spark, table, extracted).write.mode("overwrite").parquet(f"{target}{table.name}/")
    return time.monotonic() - started


def honest_floor(spark, plan: JobPlan, extracted: str, target: str) -> tuple[float, int]:
    """(b): the job's essential work written minimally, without validation; returns its seconds and the items it built.

    Each table is read typed and written as Parquet with its line order; the latest line per
    primary key is kept (a window per table, as the job keeps the latest version); each node of
    the item is its table's attributes with its collections joined in, every collection a
    `collect_list` sorted by the mapping's order; every item is serialized with `to_json`.
    """
    started = time.monotonic()
    tables = {table.name: table for table in plan.tables}
    latest = {}
    for name, table in tables.items():
        _typed_csv(spark, table, extracted).withColumn("_line", F.monotonically_increasing_id()).write.mode("overwrite").parquet(
            f"{target}{name}/"
        )
        by_key = Window.partitionBy(*table.primary_key).orderBy(F.col("_line").desc())
        latest[name] = (
            spark.read.parquet(f"{target}{name}/")
            .withColumn("_rank", F.row_number().over(by_key))
            .where(F.col("_rank") == 1)
            .drop("_rank", "_line")
        )

    def node(definition: ItemNode, keep: list[str]) -> DataFrame:
        """A node's rows: the `keep` columns its parent needs, and the node itself as `_node`."""
        frame = latest[definition.table]
        for collection in definition.collections:
            links = tables[collection.node.table].parent.on
            order = list(collection.order_by)
            nested = node(collection.node, [link.child for link in links] + order)
            grouped = nested.groupBy(*[F.col(link.child).alias(f"_parent_{link.parent}") for link in links]).agg(
                F.transform(
                    F.sort_array(F.collect_list(F.struct(*[F.col(column) for column in order], F.col("_node").alias("_value")))),
                    lambda element: element["_value"],
                ).alias(collection.attribute)
            )
            frame = frame.join(grouped, [frame[link.parent] == grouped[f"_parent_{link.parent}"] for link in links], "left")
        attributes = [F.col(attribute.column).alias(attribute.attribute) for attribute in definition.attributes]
        collections = [F.col(collection.attribute) for collection in definition.collections]
        return frame.select(*[F.col(column) for column in dict.fromkeys(keep)], F.struct(*attributes, *collections).alias("_node"))

    item = plan.item
    key = item.partition_key
    sort_key = [F.lit(item.sort_key.value).alias(item.sort_key.attribute)] if item.sort_key is not None else []
    items = node(item.root, [key.column]).select(
        F.to_json(F.struct(F.col(key.column).alias(key.attribute), *sort_key, F.col("_node.*"))).alias("item")
    )
    built, _ = items.agg(F.count(F.lit(1)), F.sum(F.length("item"))).first()
    return time.monotonic() - started, built


def write_section(output: str, results: list[dict], repetitions: int) -> None:
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}, PySpark 3.5.6 local mode, moto server for S3/DynamoDB/Glue"
    lines = [
        SECTION,
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d} by `scripts/benchmark_extract.py --repetitions {repetitions}` ({machine},",
        f"Spark driver memory {os.environ.get('INGEST_SPARK_DRIVER_MEMORY', '2g')}). Each size is one full extract of the example",
        "mapping (`config/mappings/customers.yaml`), loaded into a new pipeline each time. Seconds are medians (fewest-most)",
        "of the repetitions; each ratio is taken per repetition, then its median. (a) the job without the DynamoDB network",
        "leg: every step, items turned into DynamoDB JSON and sized by Spark and handed to the writer tasks, no request sent;",
        "(b) the honest floor: the same essential work written minimally (typed CSV read, Parquet, latest version per key,",
        "nested items with joins and sorted `collect_list`, every item serialized with `to_json`), no validation;",
        "(c) CSV to Parquet alone.",
        "",
        "| rows | archive MB | items | (a) job s | (b) floor s | (a)/(b) | (c) CSV to Parquet s | (a)/(c) | job rows/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result['rows']:,} | {result['archiveBytes'] / 1e6:.1f} | {result['items']:,} | {spread_text(result['job'])} | "
            f"{spread_text(result['floor'])} | **{spread_text(result['ratio'])}** | {spread_text(result['parquet'])} | "
            f"{spread_text(result['parquetRatio'])} | {round(result['rows'] / result['job']['median']):,} |"
        )
    lines += ["", "Seconds per step of the job (medians):", "", "| rows | " + " | ".join(STEPS) + " |", "|---:|" + "---:|" * len(STEPS)]
    for result in results:
        lines.append(f"| {result['rows']:,} | " + " | ".join(str(result["steps"][step]) for step in STEPS) + " |")
    replace_section(output, SECTION, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
