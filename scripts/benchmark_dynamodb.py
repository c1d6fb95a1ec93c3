"""Benchmarks the DynamoDB items writer against moto at a write budget, and writes its section of BENCHMARKS.md.

The items are the example mapping's (`config/mappings/customers.yaml`): customers with their orders (each with its
lines) and addresses nested inside, built in plain Python from the same generator as the sample extracts, with every
attribute the job's items carry, and handed to the writer as the job hands them: AttributeValue JSON with its size
(`encoded_item`, the rules ingest/item_json.py applies in Spark). `write_partition` runs with the job's own
`WriterSettings` (from the job plan), as
`--writers` tasks sharing the budget, each in its own thread with its share, all against one moto server:

  (a) clean: a simulated table that takes exactly the budget (write units and read units a second);
  (b) one write call in four answered with throttling, whatever the rate (`throttling_client_factory`);
  (c) a table that takes half the budget, with the writer's adaptive slowdown, and without it for comparison; and one
      that takes a third of it, the slowest the writer's deadline allows for;
  (d) (a) again on the same table: a rerun, whose check should find every item at the run's snapshot;
  (e) the writer alone, with a client that sends nothing (`discarding_client_factory`), one task unpaced: what one
      Python worker can send per second of CPU, which `WRITER_UNITS_PER_SECOND` must stay under; and moto alone, unpaced.

Each case is repeated; the section reports medians with the spread (fewest to most), and beside the measurements a
calculation of the leg at real scale (333k and 3.3M items, the stack's workers and budgets) from `writer_count`, the
measured write units per item and the writer's deadline rule.

    .venv/bin/python scripts/benchmark_dynamodb.py [--items 1000] [--budget 150] [--writers 2] [--repetitions 5] [--output BENCHMARKS.md]

Not part of the test suite: it takes a few minutes. moto bounds what (a)-(d) can show: it never throttles, has no
capacity model and answers from the same machine in milliseconds, so the table's capacity is `SimulatedTable`'s (a
token bucket in front of moto) and the budget is kept well under what moto stores a second, which (e) measures.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import math
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import boto3

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO_ROOT, "glue-scripts"), REPO_ROOT]

import ingest.dynamodb_writer as dynamodb_writer  # noqa: E402
from ingest.dynamodb_writer import (  # noqa: E402
    ITEM_BYTES,
    ON_DEMAND_WARM_WRITE_UNITS,
    WRITE_COUNTS,
    WRITER_UNITS_PER_SECOND,
    WriterSettings,
    check_read_units,
    encoded_item,
    item_size,
    to_item,
    write_partition,
    write_units,
    writer_count,
)
from ingest.job import item_writer_settings  # noqa: E402
from ingest.job_plan import ItemNode, JobPlan, parse_job_plan  # noqa: E402
from local.benchmarks import example_plan, median_and_spread, replace_section, use_emulated_aws  # noqa: E402
from local.moto_server import moto_server  # noqa: E402
from local.sample_extract import FIRST_EXTRACT, ExtractGenerator  # noqa: E402
from local.throttling import SimulatedTable, discarding_client_factory, throttling_client_factory  # noqa: E402

REGION = "us-east-1"
SECTION = "## DynamoDB leg at real scale"
THROTTLE_PATTERN = [True, False, False, False]  # one write call in four answered with throttling
SEED = 42
# Items of this many roots are sized for the calculation (sizing needs no table).
SIZED_ITEMS = 20_000

# The calculation's inputs, as the stack defines them (config/stack-settings.ts, components/extract-pipeline/defaults.ts).
ITEM_COUNTS = (333_000, 3_300_000)
WARMED_BUDGETS = (10_000, 40_000)
GLUE_WORKERS = 10  # glue.maxWorkers' default
CORES_PER_G1X_EXECUTOR = 4  # G.1X: 1 DPU, 4 vCPU, one executor per worker
LATENCY_PROMISE_MINUTES = 45  # latencyPromiseMinutes' default
JOB_TIMEOUT_MINUTES = 40  # glue.timeoutMinutes' default


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000, help="items written per case and repetition")
    # moto stores about 250 of these items (350 write units) a second on this machine: the budget stays well under it.
    parser.add_argument(
        "--budget", type=float, default=150, help="write units a second shared by the writers (and the table's capacity in (a))"
    )
    parser.add_argument("--writers", type=int, default=2, help="writer tasks sharing the budget, one thread each")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--output", default=os.path.join(REPO_ROOT, "BENCHMARKS.md"))
    arguments = parser.parse_args()
    plan = parse_job_plan(example_plan())
    sized = item_sizes(plan, example_items(plan, SIZED_ITEMS))
    print(json.dumps({"sized": sized}), flush=True)
    rows = example_items(plan, arguments.items)
    cases: dict[str, list[dict]] = collections.defaultdict(list)
    with moto_server() as endpoint:
        use_emulated_aws(endpoint, REGION)
        bench = Bench(plan, endpoint, rows, arguments.budget, arguments.writers)
        for repetition in range(arguments.repetitions):
            table = bench.new_table()
            for name, measure in (
                ("clean", lambda table=table: bench.clean(table)),
                ("rerun", lambda table=table: bench.rerun(table)),
                ("throttled", bench.throttled),
                ("slow", lambda: bench.slow(1 / 2, adaptive=True)),
                ("slowWithoutSlowdown", lambda: bench.slow(1 / 2, adaptive=False)),
                ("slowest", lambda: bench.slow(1 / 3, adaptive=True)),
                ("ceiling", bench.ceiling),
                ("moto", bench.moto),
            ):
                result = measure()
                cases[name].append(result)
                print(json.dumps({"repetition": repetition, "case": name, **result}), flush=True)
    summary = {name: summarize(results) for name, results in cases.items()}
    settings = {"items": arguments.items, "budget": arguments.budget, "writers": arguments.writers, "repetitions": arguments.repetitions}
    calculation = calculate(sized, summary["ceiling"]["unitsPerCpuSecond"]["median"])
    print(json.dumps({"summary": summary, "calculation": calculation}), flush=True)
    write_section(arguments.output, settings, sized, summary, calculation)
    print(f"wrote the {SECTION[3:]} section of {arguments.output}")
    return 0


def example_items(plan: JobPlan, count: int) -> list[dict]:
    """`count` items of the plan's shape, as the job hands them to the writer: one per root row of a full extract.

    Values are typed as Spark reads them (decimals, timestamps, dates, integers, booleans); the nested
    collections are sorted by their orderBy and primary key, nulls left out of maps as the writer does.
    """
    rows, _ = ExtractGenerator(plan, seed=SEED, children=2).extract(0, roots=count, bad_rows=0)
    tables = {table.name: table for table in plan.tables}

    def typed(name: str, row: dict) -> dict:
        columns = tables[name].columns
        return {
            column.name: Decimal(row[column.name])
            if row[column.name] is not None and column.type.startswith("decimal")
            else row[column.name]
            for column in columns
        }

    children: dict[str, dict[tuple, list[dict]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for table in plan.tables:
        if table.parent is not None:
            for row in rows[table.name]:
                children[table.name][tuple(row[pair.child] for pair in table.parent.on)].append(typed(table.name, row))

    item = plan.item
    activity = collections.defaultdict(list)
    for reference in item.ttl.activity:
        activity[reference.table].append(reference.column)

    def payload(node: ItemNode, row: dict, moments: list) -> dict:
        moments.extend(row[column] for column in activity.get(node.table, []) if row[column] is not None)
        built = {attribute.attribute: row[attribute.column] for attribute in node.attributes}
        for collection in node.collections:
            child = tables[collection.node.table]
            order = list(dict.fromkeys([*collection.order_by, *child.primary_key]))
            members = children[child.name][tuple(row[pair.parent] for pair in child.parent.on)]
            members = sorted(members, key=lambda member: tuple((member[column] is not None, member[column]) for column in order))
            built[collection.attribute] = [payload(collection.node, member, moments) for member in members]
        return built

    version = int(FIRST_EXTRACT.timestamp()) * 1_000_000 + 1
    items = []
    for root in rows[item.root.table]:
        moments: list[dt.datetime] = []
        built = payload(item.root, typed(item.root.table, root), moments)
        latest = max(moments, default=FIRST_EXTRACT)
        items.append(
            {
                item.partition_key.attribute: root[item.partition_key.column],
                item.sort_key.attribute: item.sort_key.value,
                **built,
                item.version_attribute: version,
                item.snapshot_attribute: 1,
                item.ttl.attribute: int(latest.timestamp()) + item.ttl.retention_days * 86_400,
            }
        )
    return items


def item_sizes(plan: JobPlan, items: list[dict]) -> dict:
    """Mean size, write units and check read units per item, by DynamoDB's rules."""
    keys = item_writer_settings(plan, "sizing").keys
    sizes = [item_size(to_item(item, keys)) for item in items]
    units = collections.Counter(write_units(size) for size in sizes)
    return {
        "items": len(sizes),
        "meanBytes": round(statistics.mean(sizes), 1),
        "minBytes": min(sizes),
        "maxBytes": max(sizes),
        "writeUnitsPerItem": round(sum(unit * count for unit, count in units.items()) / len(sizes), 4),
        "unitShares": {str(unit): round(count / len(sizes), 4) for unit, count in sorted(units.items())},
        "readUnitsPerItem": statistics.mean(check_read_units(size) for size in sizes),
    }


class Bench:
    """The writers of one case, run together against one table; every figure from what the writers and the table counted."""

    def __init__(self, plan: JobPlan, endpoint: str, rows: list[dict], budget: float, writers: int) -> None:
        self.plan = plan
        self.endpoint = endpoint
        # As the job hands them over: Spark has turned each item into its JSON and size before the writer sees it.
        keys = item_writer_settings(plan, "sizing").keys
        self.rows = [encoded_item(row, keys) for row in rows]
        self.budget = budget
        self.writers = writers
        self.units = sum(write_units(row[ITEM_BYTES]) for row in self.rows)
        self.dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)

    def new_table(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        item = self.plan.item
        keys = [(item.partition_key.attribute, "HASH"), (item.sort_key.attribute, "RANGE")]
        self.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": attribute, "KeyType": kind} for attribute, kind in keys],
            AttributeDefinitions=[{"AttributeName": attribute, "AttributeType": "S"} for attribute, _ in keys],
            BillingMode="PAY_PER_REQUEST",
        )
        return name

    def settings(self, table: str, units_per_second: float) -> WriterSettings:
        return item_writer_settings(self.plan, table, write_units_per_second=units_per_second, endpoint_url=self.endpoint, region=REGION)

    def run(self, table: str, factory, *, writers: int | None = None, units_per_second: float | None = None) -> dict:
        """The rows split among the writers, each writing its part at its share of the budget; the outcomes summed."""
        writers = writers or self.writers
        share = (units_per_second or self.budget) / writers
        settings = self.settings(table, share)
        parts = [self.rows[index::writers] for index in range(writers)]
        started, cpu = time.monotonic(), time.process_time()
        with ThreadPoolExecutor(max_workers=writers) as pool:
            outcomes = list(pool.map(lambda part: next(write_partition(part, settings, factory)), parts))
        seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu
        totals = {name: sum(outcome[name] for outcome in outcomes) for name in WRITE_COUNTS}
        return {"seconds": seconds, "cpuSeconds": cpu_seconds, **totals}

    def stored(self, table: str) -> int:
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT")
        return sum(page["Count"] for page in pages)

    def clean(self, table: str) -> dict:
        simulated = SimulatedTable(self.budget, self.budget)
        totals = self.run(table, simulated.client_factory())
        return self._figures(totals, simulated) | {
            "lost": len(self.rows) - self.stored(table),
            "unitsPerSecondOfBudget": simulated.write_units / totals["seconds"] / self.budget,
        }

    def rerun(self, table: str) -> dict:
        simulated = SimulatedTable(self.budget, self.budget)
        keys = _ReadKeys()
        totals = self.run(table, keys.counting(simulated.client_factory()))
        return self._figures(totals, simulated) | {
            "writesSent": simulated.calls["PutItem"] + simulated.calls["DeleteItem"],
            "checksPerItem": totals["checks"] / len(self.rows),
            "readUnits": keys.read_units,
            "readUnitsPerItem": keys.read_units / len(self.rows),
        }

    def throttled(self) -> dict:
        table = self.new_table()
        totals = self.run(table, throttling_client_factory(THROTTLE_PATTERN))
        return self._figures(totals) | {"lost": len(self.rows) - self.stored(table)}

    def slow(self, fraction: float, *, adaptive: bool) -> dict:
        """A table that takes `fraction` of the budget; without `adaptive`, the writer keeps its rate when throttled."""
        table = self.new_table()
        simulated = SimulatedTable(self.budget * fraction, self.budget)
        saved = dynamodb_writer.SLOWDOWN
        dynamodb_writer.SLOWDOWN = saved if adaptive else 1.0
        try:
            totals = self.run(table, simulated.client_factory())
        finally:
            dynamodb_writer.SLOWDOWN = saved
        ideal = self.units / (self.budget * fraction)
        return self._figures(totals, simulated) | {
            "lost": len(self.rows) - self.stored(table),
            "throttledShare": simulated.throttled["PutItem"] / max(1, simulated.calls["PutItem"]),
            "timeOfIdeal": totals["seconds"] / ideal,
        }

    def ceiling(self) -> dict:
        """One writer task, unpaced, sending nothing: what one Python worker prepares, signs and parses per second of CPU.

        Per second of this process's CPU (its threads together hold one core at most, by the GIL), so
        that other work on the machine does not lower it.
        """
        totals = self.run("discarded", discarding_client_factory(), writers=1, units_per_second=1e9)
        return self._figures(totals) | {
            "itemsPerCpuSecond": len(self.rows) / totals["cpuSeconds"],
            "unitsPerCpuSecond": totals["writeUnits"] / totals["cpuSeconds"],
        }

    def moto(self) -> dict:
        """One writer task, unpaced, against moto itself: what moto stores a second on this machine."""
        totals = self.run(self.new_table(), SimulatedTable(1e9, 1e9).client_factory(), writers=1, units_per_second=1e9)
        return self._figures(totals)

    def _figures(self, totals: dict, simulated: SimulatedTable | None = None) -> dict:
        items = len(self.rows)
        figures = {
            "seconds": totals["seconds"],
            "written": totals["written"],
            "unchanged": totals["unchanged"],
            "failed": totals["failed"],
            "requestsPerItem": totals["requests"] / items,
            "throttled": totals["throttled"],
            "retries": totals["retries"],
            "writeUnitsPerItem": totals["writeUnits"] / items,
            "itemsPerSecond": items / totals["seconds"],
            "unitsPerSecond": totals["writeUnits"] / totals["seconds"],
        }
        if simulated is not None:
            figures["tableThrottled"] = sum(simulated.throttled.values())
        return figures


class _ReadKeys:
    """Counts the keys of the BatchGetItem calls a simulated table admitted: half a read unit each, for items of up to 4 KB."""

    def __init__(self) -> None:
        self.keys = 0
        self._lock = threading.Lock()

    @property
    def read_units(self) -> float:
        return self.keys * check_read_units(1)

    def counting(self, factory):
        def build(settings: WriterSettings):
            client = factory(settings)

            # Registered after the table's own handler: a call it throttles never gets here.
            def count(params, **_):
                body = json.loads(params["body"])
                with self._lock:
                    self.keys += sum(len(request["Keys"]) for request in body["RequestItems"].values())

            client.meta.events.register("before-call.dynamodb.BatchGetItem", count)
            return client

        return build


def summarize(results: list[dict]) -> dict:
    """Median and spread of every figure over the repetitions."""
    # Unrounded: the tables scale some figures before they round them.
    return {name: median_and_spread([result[name] for result in results], digits=None) for name in results[0]}


def calculate(sized: dict, ceiling_units_per_second: float) -> list[dict]:
    """The leg at real scale: writers, shares, DynamoDB minutes and each writer's deadline, by the writer's own rules."""
    task_slots = (GLUE_WORKERS - 1) * CORES_PER_G1X_EXECUTOR
    defaults = WriterSettings("items", "pk", "sk", "lake_snapshot", 400_000)
    run_minutes = LATENCY_PROMISE_MINUTES - math.ceil(LATENCY_PROMISE_MINUTES / 3)
    rows = []
    budgets = [(ON_DEMAND_WARM_WRITE_UNITS, "new on-demand table"), *((budget, "warmed to the budget") for budget in WARMED_BUDGETS)]
    for items in ITEM_COUNTS:
        for budget, table in budgets:
            writers = writer_count(budget, items, task_slots)
            share = budget / writers
            units = items * sized["writeUnitsPerItem"]
            read_units = items * sized["readUnitsPerItem"]
            # What Deadline.extend adds up: every write's units and every check's read units, at the writer's share.
            deadline = defaults.deadline_grace_seconds + defaults.deadline_allowance * (units + read_units) / writers / share
            write_minutes = units / min(budget, writers * ceiling_units_per_second) / 60
            rows.append(
                {
                    "items": items,
                    "budget": budget,
                    "table": table,
                    "writers": writers,
                    "share": share,
                    "itemsPerWriter": math.ceil(items / writers),
                    "writeUnits": units,
                    "writeMinutes": write_minutes,
                    "rerunCheckMinutes": read_units / budget / 60,
                    "deadlineMinutes": deadline / 60,
                    "shareOfCeiling": share / ceiling_units_per_second,
                    "minutesLeft": run_minutes - write_minutes,
                }
            )
    return rows


def _spread(figure: dict, digits: int = 2, scale: float = 1.0) -> str:
    median, low, high = (figure[key] * scale for key in ("median", "min", "max"))
    return f"{median:,.{digits}f} ({low:,.{digits}f} to {high:,.{digits}f})"


def write_section(path: str, settings: dict, sized: dict, summary: dict, calculation: list[dict]) -> None:
    """Replaces (or appends) this script's section of BENCHMARKS.md, keeping every other section as it is."""
    section = "\n".join([SECTION, "", *measured_lines(settings, sized, summary), "", *calculated_lines(sized, summary, calculation)])
    replace_section(path, SECTION, section)


def measured_lines(settings: dict, sized: dict, summary: dict) -> list[str]:
    machine = f"{os.cpu_count()} cores shared with other work, Python {platform.python_version()}, moto server"
    budget, writers, items = settings["budget"], settings["writers"], settings["items"]
    clean, rerun, throttled = summary["clean"], summary["rerun"], summary["throttled"]
    slow, unslowed, slowest = summary["slow"], summary["slowWithoutSlowdown"], summary["slowest"]
    ceiling, moto = summary["ceiling"], summary["moto"]
    shares = ", ".join(
        f"{float(share) * 100:.0f} % of {unit} unit{'s' if unit != '1' else ''}" for unit, share in sized["unitShares"].items()
    )

    def row(label: str, figures: dict, *, throttled_calls: str = "tableThrottled", lost: bool = True) -> str:
        return (
            f"| {label} | {_spread(figures['requestsPerItem'], 3)} | "
            f"{_spread(figures[throttled_calls], 0) if throttled_calls in figures else ''} | {_spread(figures['writeUnitsPerItem'], 3)} | "
            f"{_spread(figures['itemsPerSecond'], 0)} | {_spread(figures['unitsPerSecond'], 0)} | "
            f"{format(figures['lost']['max'], 'g') if lost else ''} | {_spread(figures['seconds'], 1)} |"
        )

    return [
        "### Measured",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d} by `scripts/benchmark_dynamodb.py --items {items} --budget {budget:g} "
        f"--writers {writers} --repetitions {settings['repetitions']}` ({machine}).",
        "Items are the example mapping's, built in plain Python from the sample-extract generator with every attribute the job",
        f"writes (customers with orders, order lines and addresses nested): {sized['items']:,} of them average "
        f"{sized['meanBytes']:,.0f} bytes ({sized['minBytes']:,} to {sized['maxBytes']:,});",
        f"{shares}: **{sized['writeUnitsPerItem']:.3f} write units per item** (about 1.38 was estimated before; the job's own items averaged",
        "906 to 909 bytes in `scripts/benchmark_extract.py`'s run of 2026-11-23). Each case writes "
        f"{items:,} items with `write_partition` and the job's `WriterSettings` (16 threads",
        f"per writer) as {writers} writer tasks, one thread each, sharing a budget of {budget:g} write units a second against one "
        f"table; {settings['repetitions']} repetitions, median (fewest to most). The writer takes each item as the job hands it over:",
        "its AttributeValue JSON and size, which Spark computes (here `encoded_item`, by the same rules).",
        "",
        "What moto bounds: it never throttles, has no capacity model and answers from this machine in milliseconds. So a table's",
        "capacity here is `SimulatedTable` (local/throttling.py: a token bucket per kind of unit with a second of burst, in front",
        "of moto, throttling what it cannot take), and the budget stays under what moto itself stores: "
        f"{_spread(moto['itemsPerSecond'], 0)} of these",
        f"items a second from one unpaced writer (last row), against the budget's {budget / sized['writeUnitsPerItem']:.0f}; "
        "(a) reaching the budget shows moto did not bound the cases. Real",
        "DynamoDB adds network latency (milliseconds a call, which 16 threads per writer absorb) and partitions; these cases show",
        "requests per item and pacing, not DynamoDB's speed. Seconds and items a second depend on the machine's other work.",
        "",
        "| case | requests per item | throttled calls | write units per item | items/s | write units/s | lost | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        row(f"(a) clean: table capacity = budget ({budget:g} WCU/s and RCU/s)", clean),
        row("(b) one write call in four throttled, whatever the rate", throttled, throttled_calls="throttled"),
        row(f"(c) table takes half the budget ({budget / 2:g} WCU/s), adaptive slowdown", slow),
        row("(c') the same, slowdown off (`SLOWDOWN` = 1)", unslowed),
        row(f"(c'') table takes a third of the budget ({budget / 3:g} WCU/s)", slowest),
        row("(d) rerun of (a) on the same table", rerun, lost=False),
        row("(e) one writer, unpaced, client sends nothing", ceiling, throttled_calls="-", lost=False),
        row("moto alone: one writer, unpaced", moto, throttled_calls="-", lost=False),
        "",
        f"- (a) {_spread(clean['requestsPerItem'], 3)} requests per item when the budget matches the table (target ≤ 1.05), at "
        f"{_spread(clean['unitsPerSecondOfBudget'], 1, 100)} % of the budget.",
        f"- (b) {throttled['lost']['max']:g} items lost. One call in four fails whatever is sent, so requests per item stay near 4/3; "
        "the writer cuts its rate",
        "  every second it sees throttling, down to `MIN_RATE` (half its share), and writes about three quarters of what it sends: "
        f"{_spread(throttled['unitsPerSecond'], 0)} of {budget:g} units a second.",
        f"- (c) {_spread(slow['throttledShare'], 1, 100)} % of write calls throttled with the slowdown against "
        f"{_spread(unslowed['throttledShare'], 1, 100)} % without it; both take",
        f"  {_spread(slow['timeOfIdeal'])} and {_spread(unslowed['timeOfIdeal'])} times the ideal (the items' write units at the "
        "table's rate): throttled calls cost no write units, so the slowdown saves requests, not time.",
        f"  (c'') at a third of the budget, below `MIN_RATE`: {_spread(slowest['throttledShare'], 1, 100)} % throttled, "
        f"{_spread(slowest['timeOfIdeal'])} times the ideal, {slowest['lost']['max']:g} lost.",
        f"- (d) writes sent: {_spread(rerun['writesSent'], 0)}; BatchGetItem checks per item {_spread(rerun['checksPerItem'], 3)} "
        f"(one per 100 items); read units {_spread(rerun['readUnits'], 0)}",
        f"  ({_spread(rerun['readUnitsPerItem'], 2)} per item), paced at the budget in read units.",
        f"- (e) one Python worker parses, signs and sends (nowhere) {_spread(ceiling['itemsPerCpuSecond'], 0)} of these items "
        f"({_spread(ceiling['unitsPerCpuSecond'], 0)} write units) per second",
        f"  of CPU with the network left out, against `WRITER_UNITS_PER_SECOND` = {WRITER_UNITS_PER_SECOND:,}, the share above "
        "which `writer_count` adds a writer. In a Glue task",
        "  each row also crosses from the JVM (its key, JSON and size; `row.asDict()`), which this leaves out.",
    ]


def calculated_lines(sized: dict, summary: dict, calculation: list[dict]) -> list[str]:
    task_slots = (GLUE_WORKERS - 1) * CORES_PER_G1X_EXECUTOR
    wait_minutes = math.ceil(LATENCY_PROMISE_MINUTES / 3)
    run_minutes = LATENCY_PROMISE_MINUTES - wait_minutes
    ceiling = summary["ceiling"]["unitsPerCpuSecond"]["median"]
    lines = [
        "### Calculated (not measured)",
        "",
        f"From `writer_count`, the writer's deadline rule, the measured {sized['writeUnitsPerItem']:.3f} write units and "
        f"{sized['readUnitsPerItem']:.2f} check read units per item, and the",
        f"measured ceiling of {ceiling:,.0f} write units per CPU second. Task slots: G.1X is 1 DPU (4 vCPU, 16 GB), one executor per",
        f"worker; of glue.maxWorkers {GLUE_WORKERS} one runs the driver, so ({GLUE_WORKERS} - 1) x {CORES_PER_G1X_EXECUTOR} = "
        f"{task_slots} task slots, what the job reads as",
        "`defaultParallelism` once every executor is up. That is an assumption: with `--enable-auto-scaling` Glue may hold fewer",
        "executors when the write starts, and `writer_count` then picks fewer writers with larger shares (at 40,000, which wants 40",
        "writers, it always binds; at 10,000 only below 3 executors). DynamoDB minutes are the write units at the budget (or at the",
        "writers' measured ceiling, were it lower). A writer's deadline is grace 300 s + allowance 3 x (its write units + its",
        'check read units) / its share. A rerun\'s checks take the "rerun check" minutes (read units at the budget) instead of',
        "writes; a first load's checks run beside its writes.",
        "",
        "| items | budget WCU/s | table | writers | share per writer WCU/s | items per writer | write units | DynamoDB minutes | "
        "rerun check minutes | deadline per writer, minutes | share / ceiling |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in calculation:
        lines.append(
            f"| {row['items']:,} | {row['budget']:,} | {row['table']} | {row['writers']} | {row['share']:,.0f} | "
            f"{row['itemsPerWriter']:,} | {row['writeUnits'] / 1e6:.2f}M | {row['writeMinutes']:.1f} | {row['rerunCheckMinutes']:.1f} | "
            f"{row['deadlineMinutes']:.1f} | {row['shareOfCeiling']:.2f} |"
        )
    lines += [
        "",
        f"Against the {LATENCY_PROMISE_MINUTES}-minute promise (latencyPromiseMinutes' default): up to {wait_minutes} minutes of "
        f"waiting (trigger queue, Glue queue and start) leave a run {run_minutes} minutes,",
        f"and the job times out at {JOB_TIMEOUT_MINUTES}.",
        "",
    ]
    for row in calculation:
        if row["minutesLeft"] <= 0:
            verdict = "does not fit: the writes alone take longer than the run may"
        else:
            verdict = f"fits if the rest of the run (Spark on the extract) takes under {row['minutesLeft']:.0f} minutes"
        deadline = (
            f"the writers' deadline ({row['deadlineMinutes']:.0f} min after they start) is past the job timeout, so a table much "
            "slower than the budget ends such a run by the timeout, not by items counted failed"
            if row["deadlineMinutes"] > JOB_TIMEOUT_MINUTES
            else f"the writers' deadline ({row['deadlineMinutes']:.0f} min after they start) catches a table much slower than the "
            f"budget if the writers start within {JOB_TIMEOUT_MINUTES - row['deadlineMinutes']:.0f} minutes of the run's start, "
            "else the job timeout does"
        )
        lines.append(
            f"- {row['items']:,} items, {row['budget']:,} WCU/s ({row['table']}): {row['writeMinutes']:.1f} minutes of writes; "
            f"{verdict}; {deadline}."
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
