"""Nested assembly on small frames: complete items from the current rows of their roots."""

from __future__ import annotations

import datetime as dt

from ingest.assembly import ItemTree, build_items

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
    tree = ItemTree(PLAN)
    rows = {name: spark.createDataFrame(values, schema) for name, (schema, values) in CURRENT.items()}
    items = build_items(rows, tree, snapshot=7)
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
