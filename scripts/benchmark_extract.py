"""Benchmarks the batch extract job on local Spark against moto, and writes BENCHMARKS.md.

For each size it generates one full extract of the example mapping and measures, in the same run:
(a) the job's time without the DynamoDB network leg (every step, with write-items converting and
sizing every item on the executors but sending nothing), (b) the floor: Spark alone reading the same CSVs with the same schemas and writing them
as Parquet to the same emulated S3, and their ratio, rows per second and growth with size; and
(c) DynamoDB requests per item written, plainly and with throttling injected into a share of calls.

    .venv/bin/python scripts/benchmark_extract.py [--sizes 100000 1000000 3000000] [--output BENCHMARKS.md]

Not part of the test suite: it takes minutes to hours, depending on the sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time
import zipfile

import boto3
from pyspark import StorageLevel

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO_ROOT, "glue-scripts"), REPO_ROOT]

import ingest.job  # noqa: E402
from ingest.dynamodb_writer import item_size, to_item, write_partition, writer_settings  # noqa: E402
from ingest.job import AwsClients  # noqa: E402
from ingest.spark_settings import local_session  # noqa: E402
from local.emulated_pipeline import Pipeline  # noqa: E402
from local.moto_server import moto_server  # noqa: E402
from local.sample_extract import generate  # noqa: E402
from local.throttling import throttling_client_factory  # noqa: E402

REGION = "us-east-1"
ROWS_PER_ROOT = 9  # customers 1 + orders 2 + order_lines 4 + addresses 2, at two children per parent
SAMPLE_ITEMS = 2_000
THROTTLE_PATTERN = [True, False, False, False]  # one call in four answered with throttling


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 3_000_000], help="total rows per extract")
    parser.add_argument("--output", default=os.path.join(REPO_ROOT, "BENCHMARKS.md"))
    parser.add_argument(
        "--include", help="result lines printed by an earlier run of this script (one JSON object per line), reported with this run's"
    )
    arguments = parser.parse_args()
    earlier = []
    if arguments.include:
        with open(arguments.include, encoding="utf-8") as lines:
            earlier = [json.loads(line) for line in lines if line.startswith("{")]
    plan = json.loads(
        subprocess.run(
            ["npx", "tsx", "scripts/print-plan.ts", "customers"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout
    )
    results = []
    with moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="benchmark-") as work:
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION
        )
        spark = local_session(app_name="benchmark", shuffle_partitions=8, s3_endpoint=endpoint)
        try:
            for size in arguments.sizes:
                results.append(measure(spark, plan, endpoint, size, os.path.join(work, str(size))))
                print(json.dumps(results[-1]), flush=True)
        finally:
            spark.stop()
    write_markdown(arguments.output, sorted(earlier + results, key=lambda result: result["rows"]))
    print(f"wrote {arguments.output}")
    return 0


def measure(spark, plan: dict, endpoint: str, size: int, work: str) -> dict:
    os.makedirs(work)
    [entry] = generate(
        plan, os.path.join(work, "extract"), roots=max(1, size // ROWS_PER_ROOT), extracts=1, seed=42, children=2, bad_rows=0
    )
    rows = sum(entry["rows"].values())

    def client(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION)

    clients = AwsClients(s3=client("s3"), glue=client("glue"), dynamodb=client("dynamodb"), sns=client("sns"))
    pipeline = Pipeline(plan=plan, clients=clients, sqs=client("sqs"))
    with open(entry["archive"], "rb") as archive:
        body = archive.read()
    sample: list[dict] = []
    original_write_items = ingest.job._write_items
    ingest.job._write_items = lambda spark, plan, arguments, clients, report, items: _items_without_network(
        plan, arguments["items_table"], report, items, sample
    )
    try:
        started = time.monotonic()
        report, failure = pipeline.run_extract(spark, pathlib.Path(work), 1, body)
        job_seconds = time.monotonic() - started
    finally:
        ingest.job._write_items = original_write_items
    if failure:
        raise SystemExit(f"the job failed on {size} rows: {failure}")
    durations = report["durationsSeconds"]

    floor_seconds = spark_floor(spark, plan, entry["archive"], f"s3://{pipeline.lake}/floor/", work)
    plain = written_to_moto(pipeline, endpoint, sample, throttle=False)
    throttled = written_to_moto(pipeline, endpoint, sample, throttle=True)
    return {
        "rows": rows,
        "archiveBytes": len(body),
        "jobSeconds": round(job_seconds, 2),
        "floorSeconds": round(floor_seconds, 2),
        "ratio": round(job_seconds / floor_seconds, 2),
        "rowsPerSecond": round(rows / job_seconds),
        "steps": durations,
        "items": report["items"]["touched"],
        "itemBytes": report["items"]["bytes"],
        "plain": plain,
        "throttled": throttled,
    }


def spark_floor(spark, plan: dict, archive_path: str, target: str, work: str) -> float:
    """Spark alone: the same CSVs read with the same explicit schemas, written as Parquet."""
    extracted = os.path.join(work, "floor-input")
    with zipfile.ZipFile(archive_path) as archive:
        archive.extractall(extracted)
    started = time.monotonic()
    for table in plan["tables"]:
        schema = ", ".join(f"`{column['name']}` {column['type']}" for column in table["columns"])
        frame = spark.read.schema(schema).option("header", "true").csv(os.path.join(extracted, table["fileGlob"]))
        frame.write.mode("overwrite").parquet(f"{target}{table['name']}/")
    return time.monotonic() - started


def _items_without_network(plan: dict, items_table: str, report, items, sample: list[dict]) -> None:
    """write-items without DynamoDB: every item converted and sized on the executors; a sample kept."""
    keys = writer_settings(plan, items_table).keys
    items = items.persist(StorageLevel.MEMORY_AND_DISK)
    sizes = items.rdd.map(lambda row: item_size(to_item(row.asDict(recursive=True), keys))).stats()
    report.items = {"touched": sizes.count(), "bytes": int(sizes.sum())}
    sample.extend(row.asDict(recursive=True) for row in items.limit(SAMPLE_ITEMS).collect())
    items.unpersist()


def written_to_moto(pipeline: Pipeline, endpoint: str, rows: list[dict], *, throttle: bool) -> dict:
    """Writes the sample items to the emulated table; with `throttle`, one PutItem in four is throttled."""
    client_factory = throttling_client_factory(THROTTLE_PATTERN if throttle else [False])
    settings = writer_settings(pipeline.plan, pipeline.items_table, endpoint_url=endpoint, region=REGION, backoff_base_seconds=0.01)
    started = time.monotonic()
    [outcome] = write_partition(rows, settings, client_factory)
    return {
        "items": len(rows),
        "written": outcome["written"] + outcome["stale"],
        "failed": outcome["failed"],
        "requestsPerItem": round(outcome["requests"] / max(1, len(rows)), 3),
        "retries": outcome["retries"],
        "seconds": round(time.monotonic() - started, 2),
    }


def _sections_of_other_benchmarks(path: str) -> str:
    """The sections other benchmark scripts own (from the first "## Lookup loader" on), kept as they are."""
    try:
        with open(path, encoding="utf-8") as existing:
            text = existing.read()
    except FileNotFoundError:
        return ""
    start = text.find("\n## Lookup loader")
    return "" if start < 0 else text[start:]


def write_markdown(path: str, results: list[dict]) -> None:
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}, PySpark 3.5.6 local mode, moto server for S3/DynamoDB/Glue"
    lines = [
        "# Benchmarks",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d} by `scripts/benchmark_extract.py` ({machine}).",
        "Each size is one full extract of the example mapping (`config/mappings/customers.yaml`).",
        "",
        "## Batch extract job against the Spark floor",
        "",
        "(a) the job without the DynamoDB network leg: every step, with write-items converting and sizing every item on the",
        "executors but sending nothing; (b) Spark alone reading the same CSVs with the same schemas and writing Parquet to the",
        "same emulated S3. Both ran in the same process and Spark session.",
        "",
        "| rows | archive MB | (a) job s | (b) floor s | (a)/(b) | job rows/s | time growth vs previous size |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    previous = None
    for result in results:
        growth = (
            ""
            if previous is None
            else f"{result['jobSeconds'] / previous['jobSeconds']:.2f}x for {result['rows'] / previous['rows']:.2f}x rows"
        )
        lines.append(
            f"| {result['rows']:,} | {result['archiveBytes'] / 1e6:.1f} | {result['jobSeconds']} | {result['floorSeconds']} | "
            f"{result['ratio']} | {result['rowsPerSecond']:,} | {growth} |"
        )
        previous = result
    lines += [
        "",
        "Seconds per step of the job:",
        "",
        "| rows | " + " | ".join(results[0]["steps"]) + " |",
        "|---:|" + "---:|" * len(results[0]["steps"]),
    ]
    for result in results:
        lines.append(f"| {result['rows']:,} | " + " | ".join(str(value) for value in result["steps"].values()) + " |")
    lines += [
        "",
        "## DynamoDB writes",
        "",
        "One conditional PutItem per item (see `glue-scripts/ingest/dynamodb_writer.py` for why not BatchWriteItem), measured on",
        f"a sample of the run's items written to moto; under injected throttling one PutItem in {len(THROTTLE_PATTERN)} is answered",
        "with ProvisionedThroughputExceededException and retried with backoff.",
        "",
        "| rows | items built | mean item bytes | sample items | requests per item | throttled: written | requests per item | retries | lost |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        plain, throttled = result["plain"], result["throttled"]
        lines.append(
            f"| {result['rows']:,} | {result['items']:,} | {result['itemBytes'] // max(1, result['items']):,} | {plain['items']:,} | "
            f"{plain['requestsPerItem']} | {throttled['written']:,} | {throttled['requestsPerItem']} | {throttled['retries']:,} | "
            f"{throttled['items'] - throttled['written']} |"
        )
    kept = _sections_of_other_benchmarks(path)
    with open(path, "w", encoding="utf-8") as output:
        output.write("\n".join(lines) + "\n" + kept)


if __name__ == "__main__":
    sys.exit(main())
