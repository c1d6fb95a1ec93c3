"""Nested assembly on small frames: latest versions, touched roots through every level, orphans, items."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from pyspark.sql import functions as F

from ingest.assembly import ItemTree, build_items, latest_versions, orphan_counts, root_key_index, touched_root_keys

PLAN = {
    "tables": [
        {"name": "customers", "primaryKey": ["customer_id"]},
        {
            "name": "orders",
            "primaryKey": ["order_id"],
            "parent": {"table": "customers", "on": [{"child": "customer_id", "parent": "customer_id"}]},
        },
        {
            "name": "lines",
            "primaryKey": ["order_id", "line_no"],
            "parent": {"table": "orders", "on": [{"child": "order_id", "parent": "order_id"}]},
        },
        {
            "name": "addresses",
            "primaryKey": ["address_id"],
            "parent": {"table": "customers", "on": [{"child": "customer_id", "parent": "customer_id"}]},
        },
    ],
    "item": {
        "partitionKey": {"attribute": "pk", "column": "customer_id", "type": "S"},
        "sortKey": {"attribute": "sk", "value": "PROFILE", "type": "S"},
        "versionAttribute": "extract_version",
        "snapshotAttribute": "lake_snapshot",
        "ttl": {
            "attribute": "expires_at",
            "retentionDays": 10,
            "activity": [{"table": "customers", "column": "updated_at"}, {"table": "orders", "column": "updated_at"}],
        },
        "root": {
            "table": "customers",
            "attributes": [{"column": "customer_id", "attribute": "customer_id"}, {"column": "name", "attribute": "fullName"}],
            "collections": [
                {
                    "attribute": "orders",
                    "orderBy": ["placed"],
                    "node": {
                        "table": "orders",
                        "attributes": [{"column": "order_id", "attribute": "order_id"}, {"column": "placed", "attribute": "placed"}],
                        "collections": [
                            {
                                "attribute": "lines",
                                "orderBy": ["line_no"],
                                "node": {
                                    "table": "lines",
                                    "attributes": [{"column": "line_no", "attribute": "line"}, {"column": "sku", "attribute": "sku"}],
                                    "collections": [],
                                },
                            }
                        ],
                    },
                },
                {
                    "attribute": "addresses",
                    "orderBy": ["kind"],
                    "node": {
                        "table": "addresses",
                        "attributes": [{"column": "kind", "attribute": "kind"}, {"column": "city", "attribute": "city"}],
                        "collections": [],
                    },
                },
            ],
        },
    },
}

T = dt.datetime
V1, V2, V3 = 100, 200, 300

LAKE = {
    "customers": (
        "customer_id string, name string, updated_at timestamp, ingest_extract_version long",
        [
            ("C1", "Ada", T(2026, 1, 1), V1),
            ("C1", "Ada Lovelace", T(2026, 2, 1), V2),
            ("C2", "Bob", T(2026, 1, 5), V1),
            ("C3", "Cy", T(2026, 1, 7), V1),
        ],
    ),
    "orders": (
        "order_id string, customer_id string, placed date, updated_at timestamp, ingest_extract_version long",
        [
            ("O1", "C1", dt.date(2026, 1, 2), T(2026, 1, 2), V1),
            ("O2", "C1", dt.date(2026, 1, 1), T(2026, 3, 1), V3),
            ("O3", "C2", dt.date(2026, 1, 3), T(2026, 1, 3), V1),
            ("O9", "C9", dt.date(2026, 1, 3), T(2026, 1, 3), V3),
        ],
    ),
    "lines": (
        "order_id string, line_no int, sku string, ingest_extract_version long",
        [
            ("O1", 2, "B", V1),
            ("O1", 1, "A", V1),
            ("O1", 1, "A2", V3),
            ("O2", 1, "C", V3),
            ("O3", 1, "D", V1),
            ("O9", 1, "Z", V3),
        ],
    ),
    "addresses": (
        "address_id string, customer_id string, kind string, city string, ingest_extract_version long",
        [("A1", "C1", "work", "Oslo", V1), ("A2", "C1", "home", "Bergen", V2), ("A3", "C3", "home", "Rome", V1)],
    ),
}


@pytest.fixture(scope="module")
def frames(spark):
    tree = ItemTree(PLAN)
    lake = {name: spark.createDataFrame(rows, schema) for name, (schema, rows) in LAKE.items()}
    latest = {name: latest_versions(frame, tree.table(name)["primaryKey"]) for name, frame in lake.items()}
    index = root_key_index(latest, tree)
    extract3 = {name: frame.where(frame.ingest_extract_version == V3) for name, frame in lake.items()}
    return tree, latest, index, extract3


def test_latest_version_of_each_key_wins(frames):
    _, latest, _, _ = frames
    assert sorted(tuple(row) for row in latest["customers"].collect()) == [
        ("C1", "Ada Lovelace", T(2026, 2, 1), V2),
        ("C2", "Bob", T(2026, 1, 5), V1),
        ("C3", "Cy", T(2026, 1, 7), V1),
    ]
    assert sorted(tuple(row) for row in latest["lines"].collect()) == [
        ("O1", 1, "A2", V3),
        ("O1", 2, "B", V1),
        ("O2", 1, "C", V3),
        ("O3", 1, "D", V1),
        ("O9", 1, "Z", V3),
    ]


def test_touched_roots_follow_children_at_every_level_and_skip_orphans(frames):
    tree, _, index, extract3 = frames
    touched = touched_root_keys(extract3, [index], tree)
    assert sorted(row.ingest_root_customer_id for row in touched.collect()) == ["C1"]
    assert orphan_counts(extract3, index, tree) == {"orders": 1, "lines": 1, "addresses": 0}


def test_items_are_complete_sorted_and_carry_version_snapshot_and_ttl(frames, spark):
    tree, latest, index, _ = frames
    touched = spark.createDataFrame([("C1",), ("C2",)], "ingest_root_customer_id string")
    items = build_items(latest, index, touched, tree, snapshot=7, fallback_activity="2026-06-01T00:00:00Z")
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
    ]


# Three extracts that move children between parents: an order with its lines, an address twice,
# and an order the other way, with a late child of a moved order.
MOVES = {
    V1: {
        "customers": [("C1", "Ada", T(2026, 1, 1)), ("C2", "Bob", T(2026, 1, 1))],
        "orders": [("O1", "C1", dt.date(2026, 1, 1), T(2026, 1, 1)), ("O2", "C2", dt.date(2026, 1, 2), T(2026, 1, 2))],
        "lines": [("O1", 1, "A"), ("O1", 2, "B"), ("O2", 1, "C")],
        "addresses": [("A1", "C1", "home", "Oslo")],
    },
    V2: {
        "customers": [],
        "orders": [("O1", "C2", dt.date(2026, 1, 1), T(2026, 2, 1))],
        "lines": [],
        "addresses": [("A1", "C2", "home", "Oslo")],
    },
    V3: {
        "customers": [("C3", "Cy", T(2026, 3, 1))],
        "orders": [("O2", "C1", dt.date(2026, 1, 2), T(2026, 3, 1))],
        "lines": [("O1", 3, "D")],
        "addresses": [("A1", "C3", "work", "Rome")],
    },
}


def _lake_of(spark, versions) -> dict:
    return {
        name: spark.createDataFrame(
            [(*row, version) for version in versions for row in MOVES[version][name]],
            LAKE[name][0],
        )
        for name in LAKE
    }


def _state(spark, tree, versions) -> tuple[dict, dict]:
    lake = _lake_of(spark, versions)
    latest = {name: latest_versions(frame, tree.table(name)["primaryKey"]) for name, frame in lake.items()}
    return lake, latest


def _membership(tree, latest) -> dict[str, set]:
    """What each item is built from: per root, every (table, key, version) of the rows it holds."""
    index = root_key_index(latest, tree)
    rows = None
    for name in tree.tables():
        keys = tree.table(name)["primaryKey"]
        held = (
            index[name]
            .join(latest[name], on=keys)
            .select(
                F.lit(name).alias("table"),
                F.concat_ws("|", *[F.col(key).cast("string") for key in keys]).alias("key"),
                "ingest_extract_version",
                "ingest_root_customer_id",
            )
        )
        rows = held if rows is None else rows.unionByName(held)
    membership: dict[str, set] = {}
    for row in rows.collect():
        membership.setdefault(row.ingest_root_customer_id, set()).add((row.table, row.key, row.ingest_extract_version))
    return membership


def test_a_moved_child_leaves_its_old_item_and_joins_the_new_one_in_any_landing_order(spark):
    """Every landing order of three extracts that move children: each run rebuilds every item whose rows changed.

    An item is rebuilt by a run only when the run touches its root; the store keeps the item of the
    latest snapshot, as the writer does. Items are a function of the rows they hold, so comparing
    what each stored item was built from with the lake's final state proves the touched roots right.
    """
    tree = ItemTree(PLAN)
    memberships: dict[frozenset, dict[str, set]] = {}
    touched_by: dict[tuple[frozenset, int], set[str]] = {}
    for landing_order in itertools.permutations([V1, V2, V3]):
        stored: dict[str, tuple[int, set]] = {}
        for snapshot, version in enumerate(landing_order, start=1):
            landed = frozenset(landing_order[:snapshot])
            if landed not in memberships:
                memberships[landed] = _membership(tree, _state(spark, tree, landed)[1])
            if (landed, version) not in touched_by:
                lake, latest = _state(spark, tree, landed)
                _, before = _state(spark, tree, landed - {version})
                extract_rows = {name: frame.where(frame.ingest_extract_version == version) for name, frame in lake.items()}
                indexes = [root_key_index(latest, tree), root_key_index(before, tree)]
                touched = touched_root_keys(extract_rows, indexes, tree).collect()
                touched_by[(landed, version)] = {row.ingest_root_customer_id for row in touched}
            for root in touched_by[(landed, version)]:
                stored[root] = (snapshot, memberships[landed].get(root, set()))
        final = memberships[frozenset([V1, V2, V3])]
        assert {root: rows for root, (_, rows) in stored.items()} == final, landing_order
    assert final == {
        "C1": {("customers", "C1", V1), ("orders", "O2", V3), ("lines", "O2|1", V1)},
        "C2": {("customers", "C2", V1), ("orders", "O1", V2), ("lines", "O1|1", V1), ("lines", "O1|2", V1), ("lines", "O1|3", V3)},
        "C3": {("customers", "C3", V3), ("addresses", "A1", V3)},
    }
