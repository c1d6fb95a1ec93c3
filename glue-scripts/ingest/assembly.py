"""Nested assembly: complete composite items rebuilt from the committed lake, with Spark only.

For every root key an extract touches (directly, or through any child at any depth, before or
after the extract moved a row to another parent), the item is rebuilt from all committed lake rows, keeping the latest version of each primary key by extract
order. Building from the lake rather than from the new rows is what makes incremental extracts,
late children and updates come out the same as a load from scratch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

VERSION = "ingest_extract_version"
ROOT_PREFIX = "ingest_root_"
PAYLOAD = "ingest_payload"
ACTIVITY = "ingest_activity"
CONTRIBUTED = "ingest_contributed_version"


@dataclass(frozen=True)
class ItemTree:
    """The plan's item shape with each table's primary key and join to its parent."""

    plan: Mapping

    @property
    def root(self) -> str:
        return self.plan["item"]["root"]["table"]

    def table(self, name: str) -> Mapping:
        return next(table for table in self.plan["tables"] if table["name"] == name)

    def tables(self) -> list[str]:
        """Tables of the item, parents before children."""
        found: list[str] = []

        def walk(node: Mapping) -> None:
            found.append(node["table"])
            for collection in node["collections"]:
                walk(collection["node"])

        walk(self.plan["item"]["root"])
        return found

    def root_columns(self) -> list[str]:
        return [f"{ROOT_PREFIX}{column}" for column in self.table(self.root)["primaryKey"]]


def latest_versions(rows: DataFrame, primary_key: list[str]) -> DataFrame:
    """One row per primary key: the one from the latest extract."""
    rank = F.row_number().over(Window.partitionBy(*primary_key).orderBy(F.col(VERSION).desc()))
    return rows.withColumn("ingest_rank", rank).where(F.col("ingest_rank") == 1).drop("ingest_rank")


def root_key_index(latest: Mapping[str, DataFrame], tree: ItemTree) -> dict[str, DataFrame]:
    """For each item table: its primary key columns and the root key its row belongs to.

    A row whose parent chain is broken (an orphan) has no entry, so it reaches no item.
    """
    root_key = tree.table(tree.root)["primaryKey"]
    index = {tree.root: latest[tree.root].select(*root_key, *[F.col(c).alias(f"{ROOT_PREFIX}{c}") for c in root_key])}
    for name in tree.tables()[1:]:
        table = tree.table(name)
        parent = table["parent"]
        parent_index = index[parent["table"]]
        renamed = parent_index.select(
            *[F.col(column).alias(f"ingest_parent_{column}") for column in tree.table(parent["table"])["primaryKey"]],
            *tree.root_columns(),
        )
        condition = [F.col(pair["child"]) == F.col(f"ingest_parent_{pair['parent']}") for pair in parent["on"]]
        child_columns = list(dict.fromkeys([*table["primaryKey"], *(pair["child"] for pair in parent["on"])]))
        index[name] = (
            latest[name].select(*child_columns).join(renamed, on=condition, how="inner").select(*table["primaryKey"], *tree.root_columns())
        )
    return index


def touched_root_keys(extract_rows: Mapping[str, DataFrame], indexes: Sequence[Mapping[str, DataFrame]], tree: ItemTree) -> DataFrame:
    """Root keys of every item that a row of this extract belongs to in any of the given states of the lake.

    Given the states before and after the extract, a row that moved to another parent touches
    both items: the one it leaves and the one it joins (its own children move with it).
    """
    touched = None
    for index in indexes:
        for name in tree.tables():
            keys = tree.table(name)["primaryKey"]
            roots = extract_rows[name].select(*keys).join(index[name], on=keys, how="inner").select(*tree.root_columns())
            touched = roots if touched is None else touched.unionByName(roots)
    return touched.distinct()


def orphan_counts(extract_rows: Mapping[str, DataFrame], index: Mapping[str, DataFrame], tree: ItemTree) -> dict[str, int]:
    """Rows of this extract, per child table, whose parent chain does not reach a root row."""
    counts: dict[str, int] = {}
    for name in tree.tables()[1:]:
        keys = tree.table(name)["primaryKey"]
        counts[name] = extract_rows[name].select(*keys).join(index[name], on=keys, how="left_anti").count()
    return counts


def build_items(
    latest: Mapping[str, DataFrame],
    index: Mapping[str, DataFrame],
    touched: DataFrame,
    tree: ItemTree,
    *,
    snapshot: int,
    fallback_activity: str,
) -> DataFrame:
    """One row per touched root key, with one column per item attribute (nested structs and arrays)."""
    item = tree.plan["item"]
    activity_columns: dict[str, list[str]] = {}
    for reference in item["ttl"]["activity"]:
        activity_columns.setdefault(reference["table"], []).append(reference["column"])

    def rows_of(name: str) -> DataFrame:
        keys = tree.table(name)["primaryKey"]
        in_touched = index[name].join(touched, on=tree.root_columns(), how="left_semi").select(*keys)
        return latest[name].join(in_touched, on=keys, how="left_semi")

    def node_frame(node: Mapping) -> DataFrame:
        name = node["table"]
        frame = rows_of(name)
        own_activity = [F.col(column).cast("timestamp") for column in activity_columns.get(name, [])]
        frame = frame.withColumn(ACTIVITY, _greatest(own_activity) if own_activity else F.lit(None).cast("timestamp"))
        frame = frame.withColumn(CONTRIBUTED, F.col(VERSION))
        nested: list[Column] = []
        for collection in node["collections"]:
            child = collection["node"]
            on = tree.table(child["table"])["parent"]["on"]
            aggregated = _aggregate_children(node_frame(child), collection, tree.table(child["table"])["primaryKey"], on)
            suffix = collection["attribute"]
            frame = frame.join(aggregated, on=[pair["parent"] for pair in on], how="left")
            frame = (
                frame.withColumn(ACTIVITY, _greatest([F.col(ACTIVITY), F.col(f"{ACTIVITY}_{suffix}")]))
                .withColumn(CONTRIBUTED, _greatest([F.col(CONTRIBUTED), F.col(f"{CONTRIBUTED}_{suffix}")]))
                .drop(f"{ACTIVITY}_{suffix}", f"{CONTRIBUTED}_{suffix}")
            )
            nested.append(F.coalesce(F.col(f"ingest_children_{suffix}"), F.array()).alias(suffix))
        payload = F.struct(*[F.col(a["column"]).alias(a["attribute"]) for a in node["attributes"]], *nested)
        return frame.withColumn(PAYLOAD, payload)

    root = node_frame(item["root"])
    partition_key = item["partitionKey"]
    key_columns = [_key_value(partition_key).alias(partition_key["attribute"])]
    if "sortKey" in item:
        key_columns.append(_key_value(item["sortKey"]).alias(item["sortKey"]["attribute"]))
    key_attributes = {column["attribute"] for column in [partition_key, item.get("sortKey", {})] if column}
    ttl = item["ttl"]
    activity = F.coalesce(F.col(ACTIVITY), F.to_timestamp(F.lit(fallback_activity)))
    payload_fields = [a["attribute"] for a in item["root"]["attributes"]] + [c["attribute"] for c in item["root"]["collections"]]
    return root.select(
        *key_columns,
        *[F.col(f"{PAYLOAD}.`{field}`").alias(field) for field in payload_fields if field not in key_attributes],
        F.col(CONTRIBUTED).alias(item["versionAttribute"]),
        F.lit(snapshot).cast("long").alias(item["snapshotAttribute"]),
        (F.unix_timestamp(activity) + F.lit(ttl["retentionDays"] * 86_400)).cast("long").alias(ttl["attribute"]),
    )


def _aggregate_children(frame: DataFrame, collection: Mapping, primary_key: list[str], on: list[Mapping]) -> DataFrame:
    """Children grouped under their parent's key, sorted by orderBy then primary key, as an array of payloads."""
    suffix = collection["attribute"]
    sort_fields = list(dict.fromkeys([*collection["orderBy"], *primary_key]))
    sortable = F.struct(
        *[F.col(column).alias(f"k{position}") for position, column in enumerate(sort_fields)], F.col(PAYLOAD).alias("payload")
    )
    grouped = frame.groupBy(*[F.col(pair["child"]).alias(pair["parent"]) for pair in on]).agg(
        F.sort_array(F.collect_list(sortable)).alias("ingest_sorted"),
        F.max(ACTIVITY).alias(f"{ACTIVITY}_{suffix}"),
        F.max(CONTRIBUTED).alias(f"{CONTRIBUTED}_{suffix}"),
    )
    return grouped.withColumn(f"ingest_children_{suffix}", F.transform("ingest_sorted", lambda entry: entry["payload"])).drop(
        "ingest_sorted"
    )


def _greatest(columns: list[Column]) -> Column:
    return columns[0] if len(columns) == 1 else F.greatest(*columns)


def _key_value(key: Mapping) -> Column:
    if "value" in key:
        return F.lit(key["value"])
    column = F.col(key["column"])
    return column.cast("string") if key["type"] == "S" else column
