"""Nested assembly: complete composite items rebuilt from the current tables, with Spark only.

For every root key an extract touches (directly, or through any child at any depth, before or
after the extract moved a row to another parent), the whole item is rebuilt from the current
rows of that root, which hold the latest version of every primary key by extract order. Building
from the lake rather than from the new rows is what makes incremental extracts, late children,
moves and deletes come out the same as a load from scratch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingest.job_plan import ItemCollection, ItemKey, ItemNode, ItemShape, JobPlan, JoinPair, PlanTable

VERSION = "ingest_extract_version"
PAYLOAD = "ingest_payload"
ACTIVITY = "ingest_activity"
CONTRIBUTED = "ingest_contributed_version"
EXTRACT_TIME = "ingest_extract_time"
LOADED = "ingest_loaded"


@dataclass(frozen=True)
class ItemTree:
    """The plan's item shape (its root node) with each table's primary key and join to its parent."""

    tables_by_name: Mapping[str, PlanTable]
    root_node: ItemNode

    @classmethod
    def of(cls, plan: JobPlan) -> ItemTree:
        return cls({table.name: table for table in plan.tables}, plan.item.root)

    @property
    def root(self) -> str:
        return self.root_node.table

    def table(self, name: str) -> PlanTable:
        return self.tables_by_name[name]

    def tables(self) -> list[str]:
        """Tables of the item, parents before children."""
        found: list[str] = []

        def walk(node: ItemNode) -> None:
            found.append(node.table)
            for collection in node.collections:
                walk(collection.node)

        walk(self.root_node)
        return found


def build_items(rows: Mapping[str, DataFrame], tree: ItemTree, item: ItemShape, *, snapshot: int) -> DataFrame:
    """One row per root row in `rows`, with one column per item attribute (nested structs and arrays).

    `rows` holds, per table of the item, the current rows of the roots being rebuilt; children
    join their parents on the relationship's columns at every level.
    """
    activity_columns: dict[str, list[str]] = {}
    for reference in item.ttl.activity:
        activity_columns.setdefault(reference.table, []).append(reference.column)

    def node_frame(node: ItemNode) -> DataFrame:
        name = node.table
        frame = rows[name]
        own_activity = [F.col(column).cast("timestamp") for column in activity_columns.get(name, [])]
        frame = frame.withColumn(ACTIVITY, _greatest(own_activity) if own_activity else F.lit(None).cast("timestamp"))
        frame = frame.withColumn(CONTRIBUTED, F.col(VERSION)).withColumn(LOADED, F.col(EXTRACT_TIME))
        nested: list[Column] = []
        for collection in node.collections:
            child = collection.node
            on = tree.table(child.table).parent.on
            aggregated = _aggregate_children(node_frame(child), collection, tree.table(child.table).primary_key, on)
            suffix = collection.attribute
            frame = frame.join(aggregated, on=[pair.parent for pair in on], how="left")
            for tracked in (ACTIVITY, CONTRIBUTED, LOADED):
                frame = frame.withColumn(tracked, _greatest([F.col(tracked), F.col(f"{tracked}_{suffix}")])).drop(f"{tracked}_{suffix}")
            nested.append(F.coalesce(F.col(f"ingest_children_{suffix}"), F.array()).alias(suffix))
        payload = F.struct(*[F.col(a.column).alias(a.attribute) for a in node.attributes], *nested)
        return frame.withColumn(PAYLOAD, payload)

    root = node_frame(item.root)
    key_columns = [_key_value(key).alias(key.attribute) for key in item.keys]
    key_attributes = {key.attribute for key in item.keys}
    ttl = item.ttl
    payload_fields = [a.attribute for a in item.root.attributes] + [c.attribute for c in item.root.collections]
    return root.select(
        *key_columns,
        *[F.col(f"{PAYLOAD}.`{field}`").alias(field) for field in payload_fields if field not in key_attributes],
        F.col(CONTRIBUTED).alias(item.version_attribute),
        F.lit(snapshot).cast("long").alias(item.snapshot_attribute),
        expires_at(F.col(ACTIVITY), F.col(LOADED), ttl.retention_days).alias(ttl.attribute),
    )


def expires_at(activity: Column, loaded: Column, retention_days: int) -> Column:
    """When an item expires (epoch seconds): `retention_days` after its latest activity, or after the latest
    extract that loaded one of its rows when no activity column has a value. The maintenance job removes
    an item's rows from the lake by the same rule, so lake and item age out together.
    """
    return (F.unix_timestamp(F.coalesce(activity, loaded)) + F.lit(retention_days * 86_400)).cast("long")


def _aggregate_children(frame: DataFrame, collection: ItemCollection, primary_key: tuple[str, ...], on: tuple[JoinPair, ...]) -> DataFrame:
    """Children grouped under their parent's key, sorted by orderBy then primary key, as an array of payloads."""
    suffix = collection.attribute
    sort_fields = list(dict.fromkeys([*collection.order_by, *primary_key]))
    sortable = F.struct(
        *[F.col(column).alias(f"k{position}") for position, column in enumerate(sort_fields)], F.col(PAYLOAD).alias("payload")
    )
    grouped = frame.groupBy(*[F.col(pair.child).alias(pair.parent) for pair in on]).agg(
        F.sort_array(F.collect_list(sortable)).alias("ingest_sorted"),
        F.max(ACTIVITY).alias(f"{ACTIVITY}_{suffix}"),
        F.max(CONTRIBUTED).alias(f"{CONTRIBUTED}_{suffix}"),
        F.max(LOADED).alias(f"{LOADED}_{suffix}"),
    )
    return grouped.withColumn(f"ingest_children_{suffix}", F.transform("ingest_sorted", lambda entry: entry["payload"])).drop(
        "ingest_sorted"
    )


def _greatest(columns: list[Column]) -> Column:
    return columns[0] if len(columns) == 1 else F.greatest(*columns)


def _key_value(key: ItemKey) -> Column:
    if key.value is not None:
        return F.lit(key.value)
    column = F.col(key.column)
    return column.cast("string") if key.type == "S" else column
