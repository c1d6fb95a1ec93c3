"""Benchmarks the lookup-table loader on local Spark against moto, and writes its section of BENCHMARKS.md.

For each size it generates a jsonl export of that many product lines (one object in an export folder
with its `_SUCCESS` marker) and loads it three times, each into a fresh table: (a) plainly; (b) with
throttling injected into one BatchWriteItem call in four and UnprocessedItems (half the request) into
one in four of the others; (c) with a client that accepts and discards every request, which is the
loader's own cost without the DynamoDB leg (two parses of every line, Spark, ranged reads). It reports
items per second, requests per item, retries, and items lost (expected minus the table's item count).

Then the multi-part case: the same `--parts-lines` lines as one uncompressed object and as
`--parts` gzip parts (what Redshift UNLOAD ... GZIP and DynamoDB's export write), each loaded plainly
once and with the discarding client `--repeats` times (medians with their spread).

    .venv/bin/python scripts/benchmark_lookup.py [--sizes 50000 200000] [--chunk-mib 1]
        [--parts-lines 1000000] [--parts 4] [--repeats 3] [--output BENCHMARKS.md]

Not part of the test suite: it takes minutes. Every figure in (a) and (b) is bounded by moto, which
stores about 3,000 items a second on one Python process; real DynamoDB is bounded by the table's
write capacity instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import sys
import time
import uuid

import boto3

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO_ROOT, "glue-scripts"), REPO_ROOT, os.path.join(REPO_ROOT, "tests-py")]

import lookup_faults  # noqa: E402

from ingest.lookup.driver import run  # noqa: E402
from ingest.lookup.settings import LoaderTuning, LookupClients  # noqa: E402
from ingest.spark_settings import local_session  # noqa: E402
from local.benchmarks import median_and_spread, replace_section, spread_text, use_emulated_aws  # noqa: E402
from local.moto_server import moto_server  # noqa: E402

REGION = "us-east-1"
SECTION = "## Lookup loader"
PLAN = {
    "lookup": "products",
    "key": {"partition": {"attribute": "product_id", "type": "string"}, "sort": None},
    "attributes": [{"name": "category", "type": "string", "required": True}, {"name": "price", "type": "number", "required": False}],
    "format": "jsonl",
    "ttl": {"attribute": "expires_at", "days": 30},
    "maxItemBytes": 409_600,
    "fullRefresh": False,
    "markers": ["_SUCCESS"],
    "unload": None,
}
CATEGORIES = ("toys", "games", "books", "garden", "kitchen")
THROTTLE = [True, False, False, False]
UNPROCESSED = [False, False, False, True]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000], help="lines per export")
    parser.add_argument("--chunk-mib", type=float, default=1.0, help="range size (the job's default is 8 MiB)")
    parser.add_argument("--parts-lines", type=int, default=1_000_000, help="lines of the multi-part export (0: skip it)")
    parser.add_argument("--parts", type=int, default=4, help="gzip parts of the multi-part export")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the loader alone on each layout")
    parser.add_argument("--output", default=os.path.join(REPO_ROOT, "BENCHMARKS.md"))
    arguments = parser.parse_args()
    results = []
    layouts = []
    with moto_server() as endpoint:
        use_emulated_aws(endpoint, REGION)
        spark = local_session(app_name="benchmark-lookup", shuffle_partitions=4, s3_endpoint=endpoint)
        spark.sparkContext.addPyFile(lookup_faults.__file__)  # the injecting clients run in the Python workers
        try:
            s3, dynamodb = boto3.client("s3", region_name=REGION), boto3.client("dynamodb", region_name=REGION)
            for bucket in ("bench-assets", "bench-exports", "bench-reports"):
                s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket="bench-assets", Key="products.json", Body=json.dumps(PLAN).encode())
            tuning = LoaderTuning(chunk_bytes=int(arguments.chunk_mib * 1024 * 1024))
            for size in arguments.sizes:
                folder = f"exports/{size}/"
                body = export_body(0, size)
                put_export(s3, folder, {"products.jsonl": body})
                result = {"lines": size, "exportBytes": len(body), "chunkBytes": tuning.chunk_bytes}
                for mode, factory in (
                    ("plain", None),
                    ("throttled", lookup_faults.faulty_client_factory(throttle=THROTTLE, unprocessed=UNPROCESSED)),
                    ("discarded", lookup_faults.discarding_client_factory()),
                ):
                    result[mode] = load(spark, s3, dynamodb, folder, tuning, factory, stored=mode != "discarded")
                    print(json.dumps({"lines": size, "mode": mode, **result[mode]}), flush=True)
                results.append(result)
            if arguments.parts_lines:
                layouts = compare_layouts(spark, s3, dynamodb, tuning, arguments.parts_lines, arguments.parts, arguments.repeats)
        finally:
            spark.stop()
    write_section(arguments.output, results, layouts)
    print(f"wrote the {SECTION[3:]} section of {arguments.output}")
    return 0


def compare_layouts(spark, s3, dynamodb, tuning: LoaderTuning, lines: int, parts: int, repeats: int) -> list[dict]:
    """The same lines as one uncompressed object and as gzip parts: one plain load each, then the loader alone `repeats` times."""
    share = -(-lines // parts)
    bodies = [export_body(start, min(lines, start + share)) for start in range(0, lines, share)]
    layouts = [
        ("one object", f"exports/layout-one-{lines}/", {"products.jsonl": b"".join(bodies)}),
        (
            f"{len(bodies)} gzip parts",
            f"exports/layout-gzip-{lines}/",
            {f"part-{index:05d}.jsonl.gz": gzip.compress(body) for index, body in enumerate(bodies)},
        ),
    ]
    results = []
    for name, folder, objects in layouts:
        put_export(s3, folder, objects)
        plain = load(spark, s3, dynamodb, folder, tuning, None, stored=True)
        print(json.dumps({"layout": name, "mode": "plain", **plain}), flush=True)
        alone = []
        for _ in range(repeats):
            alone.append(load(spark, s3, dynamodb, folder, tuning, lookup_faults.discarding_client_factory(), stored=False))
            print(json.dumps({"layout": name, "mode": "discarded", **alone[-1]}), flush=True)
        results.append(
            {
                "layout": name,
                "lines": lines,
                "bytes": sum(len(body) for body in objects.values()),
                "plain": plain,
                "repeats": repeats,
                "aloneSeconds": median_and_spread([run["seconds"] for run in alone], 1),
                "aloneItemsPerSecond": {
                    name: int(value) for name, value in median_and_spread([run["itemsPerSecond"] for run in alone]).items()
                },
            }
        )
    return results


def put_export(s3, folder: str, objects: dict[str, bytes]) -> None:
    """An export folder as the tools that write them leave it: the parts, then the completion marker."""
    for name, body in objects.items():
        s3.put_object(Bucket="bench-exports", Key=folder + name, Body=body)
    s3.put_object(Bucket="bench-exports", Key=folder + "_SUCCESS", Body=b"")


def export_body(first: int, end: int) -> bytes:
    lines = []
    for index in range(first, end):
        record = {
            "product_id": f"P{index:08d}",
            "category": CATEGORIES[index % len(CATEGORIES)],
            "price": f"{index % 1000}.{index % 100:02d}",
        }
        lines.append(json.dumps(record).replace(f'"{record["price"]}"', record["price"]))  # the price as a JSON number
    return ("\n".join(lines) + "\n").encode()


def load(spark, s3, dynamodb, folder: str, tuning: LoaderTuning, factory, *, stored: bool) -> dict:
    table = f"bench-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "product_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "product_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arguments = {
        "lookup_uri": "s3://bench-assets/products.json",
        "table_name": table,
        "export_bucket": "bench-exports",
        "export_prefix": "exports/",
        "checkpoint_uri": "s3://bench-assets/checkpoints/",
        "report_bucket": "bench-reports",
        "report_prefix": "reports/",
        "notification_topic_arn": "",
        "stack": "bench",
        "export": folder,
    }
    started = time.monotonic()
    marks: dict[str, float] = {}

    def progress(message: str) -> None:
        marks.setdefault(json.loads(message)["message"], time.monotonic() - started)

    options = {"client_factory": factory} if factory else {}
    report = run(spark, arguments, LookupClients(s3=s3, dynamodb=dynamodb), tuning=tuning, progress=progress, **options).to_dict()
    seconds = report["seconds"]
    items = dynamodb.describe_table(TableName=table)["Table"]["ItemCount"] if stored else report["loaded"]
    return {
        "loaded": report["loaded"],
        "stored": items,
        "lost": report["lines"] - items,
        "ranges": report["ranges"]["total"],
        "seconds": seconds,
        "keyPassSeconds": round(marks["keys counted"] - marks["lookup load started"], 2),
        "itemsPerSecond": round(report["loaded"] / seconds),
        "requests": report["requests"],
        "requestsPerItem": round(report["requests"] / max(1, report["loaded"]), 4),
        "retries": report["retries"],
        "unprocessedRetried": report["unprocessedRetried"],
    }


def write_section(path: str, results: list[dict], layouts: list[dict]) -> None:
    """Replaces (or appends) the Lookup loader section, keeping every other section as it is."""
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}, PySpark 3.5.6 local mode, moto server for S3/DynamoDB"
    chunk = results[0]["chunkBytes"] / 1024 / 1024
    lines = [
        SECTION,
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d} by `scripts/benchmark_lookup.py` ({machine}).",
        "Each size is one jsonl export of product lines (3 attributes each, plus the TTL the loader adds) loaded into an empty table,",
        f"in ranges of {chunk:g} MiB (the job's default is 8 MiB), two ranges at a time. Seconds are the whole run: plan, range split,",
        "key pass, load pass, report. (a) and (b) are bounded by moto, which stores about 3,000 items a second; (c) is the loader alone.",
        "",
        "(a) plain; (b) one BatchWriteItem call in four throttled and one in four of the rest answered with half its items",
        "unprocessed; (c) a client that accepts every request and stores nothing (parsing, Spark, ranged reads). The key pass",
        "(reading and validating every line once to find duplicate keys) is (a)'s; the first run's includes starting the Python workers.",
        "",
        "| lines | MB | ranges | (a) s | (a) items/s | (a) requests/item | (b) s | (b) items/s | (b) requests/item | (b) retries | "
        "(b) unprocessed resent | lost | (a) key pass s | (c) s | (c) items/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        plain, throttled, discarded = result["plain"], result["throttled"], result["discarded"]
        lines.append(
            f"| {result['lines']:,} | {result['exportBytes'] / 1e6:.1f} | {plain['ranges']} | {plain['seconds']} | {plain['itemsPerSecond']:,} | "
            f"{plain['requestsPerItem']} | {throttled['seconds']} | {throttled['itemsPerSecond']:,} | {throttled['requestsPerItem']} | "
            f"{throttled['retries']:,} | {throttled['unprocessedRetried']:,} | {plain['lost'] + throttled['lost']} | "
            f"{plain['keyPassSeconds']} | {discarded['seconds']} | {discarded['itemsPerSecond']:,} |"
        )
    if layouts:
        lines += [
            "",
            f"### One export of {layouts[0]['lines']:,} lines: one object against gzip parts",
            "",
            "The same lines as one uncompressed object (split into ranges at line starts) and as gzip parts (each part one range:",
            "gzip cannot be read from an offset, so the work spreads across parts instead). (a) one plain load into moto; the loader",
            f"alone (the discarding client of (c)) is the median of {layouts[0]['repeats']} runs, with the lowest and highest.",
            "",
            "| layout | MB | ranges | (a) s | (a) items/s | (a) requests/item | lost | alone s | alone items/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for layout in layouts:
            plain = layout["plain"]
            lines.append(
                f"| {layout['layout']} | {layout['bytes'] / 1e6:.1f} | {plain['ranges']} | {plain['seconds']} | {plain['itemsPerSecond']:,} | "
                f"{plain['requestsPerItem']} | {plain['lost']} | {spread_text(layout['aloneSeconds'])} | "
                f"{spread_text(layout['aloneItemsPerSecond'])} |"
            )
        lines += [
            "",
            "Requests per item are the same (25 puts a request) whatever the layout, and (a) is moto's pace either way. Alone, the",
            "gzip parts cost less here because each range is a Spark job of its own with a task in the key pass, and the object",
            "is cut into many small ranges; what bounds gzip instead is the part count: a part is read by one task, so an export",
            "of fewer parts than the job's cores leaves cores idle. Write at least as many parts as the loader has cores",
            "(Redshift writes one per slice; a DynamoDB export one or more per partition).",
        ]
    replace_section(path, SECTION, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
