"""Nested assembly on small frames: complete items from the current rows of their roots."""

from __future__ import annotations

import datetime as dt

from plan_tables import plan_table

from ingest.assembly import ItemTree, build_items
from ingest.job_plan import (
    ActivityColumn,
    ItemCollection,
    ItemKey,
    ItemNode,
    ItemShape,
    ItemTtl,
    NodeAttribute,
)


def node(name: str, attributes: dict[str, str], *collections: ItemCollection) -> ItemNode:
    return ItemNode(name, tuple(NodeAttribute(column, attribute) for column, attribute in attributes.items()), collections)


TABLES = {
    "customers": plan_table("customers", ("customer_id",)),
    "orders": plan_table("orders", ("order_id",), "customers", on="customer_id"),
    "lines": plan_table("lines", ("order_id", "line_no"), "orders", on="order_id"),
    "addresses": plan_table("addresses", ("address_id",), "customers", on="customer_id"),
}
ITEM = ItemShape(
    partition_key=ItemKey(attribute="pk", column="customer_id", type="S"),
    sort_key=ItemKey(attribute="sk", value="PROFILE", type="S"),
    version_attribute="extract_version",
    snapshot_attribute="lake_snapshot",
    ttl=ItemTtl(
        attribute="expires_at",
        retention_days=10,
        activity=(ActivityColumn("customers", "updated_at"), ActivityColumn("orders", "updated_at")),
    ),
    root=node(
        "customers",
        {"customer_id": "customer_id", "name": "fullName"},
        ItemCollection(
            "orders",
            ("placed",),
            node(
                "orders",
                {"order_id": "order_id", "placed": "placed"},
                ItemCollection("lines", ("line_no",), node("lines", {"line_no": "line", "sku": "sku"})),
            ),
        ),
        ItemCollection("addresses", ("kind",), node("addresses", {"kind": "kind", "city": "city"})),
    ),
)

T = dt.datetime
V1, V2, V3 = 100, 200, 300

# The current rows of roots C1 and C2 (what the job reads for the items it rebuilds), each with its root.
LOADED = T(2026, 6, 1)
CURRENT = {
    "customers": (
        "customer_id string, name string, updated_at timestamp, ingest_extract_version long, ingest_extract_time timestamp",
        [
            ("C1", "Ada Lovelace", T(2026, 2, 1), V2, LOADED),
            ("C2", "Bob", T(2026, 1, 5), V1, LOADED),
            ("C3", "Cy", None, V1, LOADED),
        ],
    ),
    "orders": (
        "order_id string, customer_id string, placed date, updated_at timestamp, ingest_extract_version long, ingest_extract_time timestamp",
        [
            ("O1", "C1", dt.date(2026, 1, 2), T(2026, 1, 2), V1, LOADED),
            ("O2", "C1", dt.date(2026, 1, 1), T(2026, 3, 1), V3, LOADED),
            ("O3", "C2", dt.date(2026, 1, 3), T(2026, 1, 3), V1, LOADED),
        ],
    ),
    "lines": (
        "order_id string, line_no int, sku string, ingest_extract_version long, ingest_extract_time timestamp",
        [("O1", 2, "B", V1, LOADED), ("O1", 1, "A2", V3, LOADED), ("O2", 1, "C", V3, LOADED), ("O3", 1, "D", V1, LOADED)],
    ),
    "addresses": (
        "address_id string, customer_id string, kind string, city string, ingest_extract_version long, ingest_extract_time timestamp",
        [("A1", "C1", "work", "Oslo", V1, LOADED), ("A2", "C1", "home", "Bergen", V2, LOADED)],
    ),
}


def test_items_are_complete_sorted_and_carry_version_snapshot_and_ttl(spark):
    tree = ItemTree(TABLES, ITEM.root)
    rows = {name: spark.createDataFrame(values, schema) for name, (schema, values) in CURRENT.items()}
    items = build_items(rows, tree, ITEM, snapshot=7)
    actual = sorted((row.asDict(recursive=True) for row in items.collect()), key=lambda item: item["pk"])
    ttl = 10 * 86_400
    assert actual == [
        {
            "pk": "C1",
            "sk": "PROFILE",
            "customer_id": "C1",
            "fullName": "Ada Lovelace",
            "orders": [
                {"order_id": "O2", "placed": dt.date(2026, 1, 1), "lines": [{"line": 1, "sku": "C"}]},
                {"order_id": "O1", "placed": dt.date(2026, 1, 2), "lines": [{"line": 1, "sku": "A2"}, {"line": 2, "sku": "B"}]},
            ],
            "addresses": [{"kind": "home", "city": "Bergen"}, {"kind": "work", "city": "Oslo"}],
            "extract_version": V3,
            "lake_snapshot": 7,
            "expires_at": int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()) + ttl,
        },
        {
            "pk": "C2",
            "sk": "PROFILE",
            "customer_id": "C2",
            "fullName": "Bob",
            "orders": [{"order_id": "O3", "placed": dt.date(2026, 1, 3), "lines": [{"line": 1, "sku": "D"}]}],
            "addresses": [],
            "extract_version": V1,
            "lake_snapshot": 7,
            "expires_at": int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp()) + ttl,
        },
        # No activity column has a value: the item expires after the latest extract that loaded one of its rows.
        {
            "pk": "C3",
            "sk": "PROFILE",
            "customer_id": "C3",
            "fullName": "Cy",
            "orders": [],
            "addresses": [],
            "extract_version": V1,
            "lake_snapshot": 7,
            "expires_at": int(dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp()) + ttl,
        },
    ]
