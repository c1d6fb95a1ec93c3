"""The lake's Iceberg tables: their names and schemas from the plan, and keeping them in step with it.

Each mapped table has three Iceberg tables in the Glue Data Catalog (see `lakeTables` in
config/job-plan.ts, which builds their specs into the plan): `current` (one row per primary key,
the latest version by extract order, partitioned by a bucket of the item's root key), `history`
(the accepted rows of each extract, partitioned by extract id) and `keys` (every key ever loaded
with its root, its latest version and whether the source deleted it, partitioned by a bucket of
the key). The stack declares them; the job creates any that is missing (an emulator's catalog
cannot write Iceberg metadata) and evolves them to the plan: nullable columns added, types
widened where Iceberg allows it without rewriting data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

from ingest.contract_files import packaged_contract
from ingest.job_plan import JobPlan, PlanTable
from ingest.report import RunFailure
from ingest.spark_settings import iceberg_catalog

CURRENT = "current"
HISTORY = "history"
KEYS = "keys"

_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")
_BUCKET = re.compile(r"^bucket\[(\d+)\]$")
# Which type changes Iceberg makes in place and how a refused one is worded, shared with the Pulumi
# program, which refuses the same changes before it deploys (config/lake-schema.ts).
_WIDENING = packaged_contract("type_widening.json")


@dataclass(frozen=True)
class LakeTable:
    name: str
    table: str
    role: str
    location: str
    columns: tuple[tuple[str, str], ...]
    partition_by: tuple[tuple[str, str], ...]
    sort_by: tuple[str, ...]
    properties: Mapping[str, str]

    def identifier(self, database: str) -> str:
        return f"{iceberg_catalog()['catalog']}.`{database}`.`{self.name}`"


def lake_tables(plan: JobPlan) -> dict[tuple[str, str], LakeTable]:
    """The plan's Iceberg tables by (mapped table, role)."""
    return {
        (spec.table, spec.role): LakeTable(
            name=spec.name,
            table=spec.table,
            role=spec.role,
            location=spec.location,
            columns=tuple((column.name, column.type) for column in spec.columns),
            partition_by=spec.partition_by,
            sort_by=spec.sort_by,
            properties=spec.properties,
        )
        for spec in plan.lake.tables
    }


def ensure_tables(spark: SparkSession, plan: JobPlan, database: str, lake_bucket: str) -> list[str]:
    """Creates missing tables and evolves existing ones to the plan; returns what it changed, for the report."""
    changes: list[str] = []
    for table in lake_tables(plan).values():
        identifier = table.identifier(database)
        if not spark.catalog.tableExists(identifier):
            _create(spark, table, identifier, f"s3://{lake_bucket}/{table.location}", table.properties)
            changes.append(f"created {table.name}")
            continue
        changes.extend(_evolve(spark, table, identifier))
    return changes


def _create(spark: SparkSession, table: LakeTable, identifier: str, location: str, properties: Mapping[str, str]) -> None:
    columns = ", ".join(f"`{name}` {kind}" for name, kind in table.columns)
    partitions = ", ".join(_partition_term(column, transform) for column, transform in table.partition_by)
    settings = ", ".join(f"'{key}'='{value}'" for key, value in properties.items())
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {identifier} ({columns}) USING iceberg"
        + (f" PARTITIONED BY ({partitions})" if partitions else "")
        + f" LOCATION '{location}' TBLPROPERTIES ({settings})"
    )
    spark.sql(f"ALTER TABLE {identifier} WRITE ORDERED BY {', '.join(f'`{column}`' for column in table.sort_by)}")


def _partition_term(column: str, transform: str) -> str:
    bucket = _BUCKET.match(transform)
    if bucket:
        return f"bucket({bucket.group(1)}, `{column}`)"
    if transform == "identity":
        return f"`{column}`"
    raise ValueError(f"unsupported partition transform {transform}")


def _evolve(spark: SparkSession, table: LakeTable, identifier: str) -> list[str]:
    existing = {field.name: field.dataType.simpleString() for field in spark.table(identifier).schema.fields}
    changes: list[str] = []
    for name, kind in table.columns:
        if name not in existing:
            spark.sql(f"ALTER TABLE {identifier} ADD COLUMN `{name}` {kind}")
            changes.append(f"added {table.name}.{name} {kind}")
        elif existing[name] != kind:
            if not widens(existing[name], kind):
                raise RunFailure(
                    "incompatible-schema-change",
                    _WIDENING["refusal"].format(table=table.name, column=name, lake=existing[name], mapping=kind),
                )
            spark.sql(f"ALTER TABLE {identifier} ALTER COLUMN `{name}` TYPE {kind}")
            changes.append(f"widened {table.name}.{name} from {existing[name]} to {kind}")
    return changes


def widens(old: str, new: str) -> bool:
    """Whether Iceberg can change a column from `old` to `new` in place: its type promotion rules, as
    contracts/type_widening.json states them."""
    if {"from": old, "to": new} in _WIDENING["promotions"]:
        return True
    old_decimal, new_decimal = _DECIMAL.match(old), _DECIMAL.match(new)
    return bool(
        _WIDENING["decimalPrecisionMayRise"]
        and old_decimal
        and new_decimal
        and old_decimal.group(2) == new_decimal.group(2)
        and int(new_decimal.group(1)) > int(old_decimal.group(1))
    )


def snapshot_id(spark: SparkSession, identifier: str) -> int | None:
    """The table's current snapshot, or None while it has none."""
    row = spark.sql(f"SELECT snapshot_id FROM {identifier}.snapshots ORDER BY committed_at DESC LIMIT 1").first()
    return None if row is None else int(row[0])


def table_at(spark: SparkSession, identifier: str, snapshot: int | None) -> DataFrame:
    """The table as of a snapshot (an empty table has none: then as it is)."""
    reader = spark.read.format("iceberg")
    if snapshot is not None:
        reader = reader.option("snapshot-id", str(snapshot))
    return reader.load(identifier.replace("`", ""))


def accepted_schema(table: PlanTable, plan: JobPlan) -> str:
    """Spark DDL of a table's accepted rows: the mapped columns, then the lake's own columns."""
    columns = [(column.name, column.type) for column in table.columns]
    columns += [(column.name, column.type) for column in plan.lake.metadata_columns]
    return ", ".join(f"`{name}` {kind}" for name, kind in columns)


def scanned(frame: DataFrame) -> dict[str, dict[str, int]]:
    """Per Iceberg table (by name): data files and bytes the executed frame's scans read, after pruning.

    Read from Spark's SQL metrics of the plan that ran, through adaptive execution's stages and the
    cache the frame was computed into.
    """
    totals: dict[str, dict[str, int]] = {}
    seen: set[int] = set()

    def visit(node) -> None:
        # A cached or reused scan appears under every plan that reads it; it read its files once.
        if node.id() in seen:
            return
        seen.add(node.id())
        name = node.nodeName()
        if name.startswith("BatchScan "):
            table = name.rsplit(".", 1)[-1]
            metrics = node.metrics()
            entry = totals.setdefault(table, {"files": 0, "bytes": 0})
            for metric, key in (("resultDataFiles", "files"), ("totalDataFileSize", "bytes")):
                if metrics.contains(metric):
                    entry[key] += int(metrics.apply(metric).value())
        for inner in _inner_plans(node):
            visit(inner)

    visit(frame._jdf.queryExecution().executedPlan())
    return totals


def _inner_plans(node) -> list:
    name = node.getClass().getSimpleName()
    if name == "AdaptiveSparkPlanExec":
        return [node.executedPlan()]
    if name.endswith("QueryStageExec"):
        return [node.plan()]
    if name == "InMemoryTableScanExec":
        return [node.relation().cacheBuilder().cachedPlan()]
    children = node.children()
    return [children.apply(index) for index in range(children.size())]
