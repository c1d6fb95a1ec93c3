"""Items serialized by Spark expressions are the items the Python writer builds: same values, same sizes."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from local_frames import local_frame

from ingest.dynamodb_writer import ITEM_BYTES, ITEM_JSON, ITEM_KEY, ITEM_PROBLEM, encoded_item
from ingest.item_json import dynamodb_items

SCHEMA = (
    "pk string, sk string, name string, count int, total bigint, price decimal(12,2), ratio double, active boolean, "
    "born date, seen timestamp, tags array<string>, "
    "orders array<struct<order_id:string, amount:decimal(14,4), placed:date, lines:array<struct<line:int, sku:string>>>>, "
    "home struct<city:string, zip:string>"
)
ROWS = [
    {
        "pk": "C1",
        "sk": "PROFILE",
        "name": 'Zoë 🚀 "Ada"\nLovelace',
        "count": -3,
        "total": 9223372036854775807,
        "price": Decimal("1200.50"),
        "ratio": 0.1,
        "active": True,
        "born": dt.date(1815, 12, 10),
        "seen": dt.datetime(2026, 11, 1, 9, 0, 0, 120000),
        "tags": ["a", "", None],
        "orders": [
            {"order_id": "O1", "amount": Decimal("10.0000"), "placed": dt.date(2026, 1, 2), "lines": [{"line": 1, "sku": "A"}]},
            {"order_id": "O2", "amount": Decimal("-0.0000"), "placed": None, "lines": []},
        ],
        "home": {"city": "Oslo", "zip": None},
    },
    {
        "pk": "C2",
        "sk": "PROFILE",
        "name": "",
        "count": 0,
        "total": -1,
        "price": Decimal("0.00"),
        "ratio": 1.5e-7,
        "active": False,
        "born": None,
        "seen": dt.datetime(2026, 11, 1, 9, 0, 0),
        "tags": [],
        "orders": [],
        "home": None,
    },
    {
        "pk": "C3",
        "sk": "PROFILE",
        "name": None,
        "count": None,
        "total": None,
        "price": Decimal("-12.30"),
        "ratio": 123456789.125,
        "active": None,
        "born": None,
        "seen": None,
        "tags": None,
        "orders": [{"order_id": "O3", "amount": None, "placed": None, "lines": None}],
        "home": {"city": None, "zip": None},
    },
]


def _numbers_as_decimals(value):
    """An AttributeValue with every N as a Decimal: DynamoDB stores 1.0 and 1 as the same number."""
    if isinstance(value, dict):
        return {key: Decimal(member) if key == "N" else _numbers_as_decimals(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_numbers_as_decimals(element) for element in value]
    return value


def _same_as_the_python_writers(spark, rows: list[dict]) -> None:
    """Spark's encoding of each row is the writer's own (`encoded_item`): key, whether it has a problem, and for an item
    without one its JSON (numbers compared as numbers) and size."""
    frame = local_frame(spark, rows, SCHEMA)
    serialized = {row[ITEM_KEY]: row.asDict() for row in dynamodb_items(frame, ["pk", "sk"]).collect()}
    assert len(serialized) == len(rows)
    for source in frame.collect():
        expected = encoded_item(source.asDict(recursive=True), ["pk", "sk"])
        actual = serialized[expected[ITEM_KEY]]
        assert (actual[ITEM_PROBLEM] is None) == (expected[ITEM_PROBLEM] is None), expected
        if expected[ITEM_PROBLEM] is None:
            assert actual[ITEM_BYTES] == expected[ITEM_BYTES], expected
            assert _numbers_as_decimals(json.loads(actual[ITEM_JSON])) == _numbers_as_decimals(json.loads(expected[ITEM_JSON])), expected


def test_items_serialized_in_spark_match_the_python_writers_items_and_sizes(spark):
    _same_as_the_python_writers(spark, ROWS)


def test_numbers_keep_every_digit_and_lose_only_trailing_zeros(spark):
    frame = local_frame(spark, ROWS[:1], SCHEMA)
    [row] = dynamodb_items(frame, ["pk", "sk"]).collect()
    item = json.loads(row[ITEM_JSON])
    assert (item["total"], item["price"], item["orders"]["L"][1]["M"]["amount"]) == (
        {"N": "9223372036854775807"},
        {"N": "1200.5"},
        {"N": "0"},
    )
    assert item["seen"] == {"S": "2026-11-01T09:00:00.120000Z"}
    assert item["tags"] == {"L": [{"S": "a"}, {"S": ""}, {"NULL": True}]}
    assert item["home"] == {"M": {"city": {"S": "Oslo"}}}


def test_an_item_whose_key_is_missing_or_empty_says_so(spark):
    frame = local_frame(spark, [{**ROWS[1], "pk": ""}, {**ROWS[1], "pk": None}], SCHEMA)
    assert sorted((row[ITEM_KEY], row[ITEM_PROBLEM]) for row in dynamodb_items(frame, ["pk", "sk"]).collect()) == [
        ("pk='', sk='PROFILE'", "key attribute 'pk' is missing or empty"),
        ("pk=None, sk='PROFILE'", "key attribute 'pk' is missing or empty"),
    ]
    _same_as_the_python_writers(spark, [{**ROWS[1], "pk": ""}, {**ROWS[1], "pk": "C9", "sk": None}])


def test_a_nan_or_infinite_number_anywhere_in_an_item_is_its_problem(spark):
    nan, infinity = float("nan"), float("inf")
    rows = [
        {**ROWS[1], "pk": "TOP", "ratio": nan},
        {**ROWS[1], "pk": "NEG", "ratio": -infinity},
        {**ROWS[1], "pk": "FINE", "ratio": 1e308},
    ]
    frame = local_frame(spark, rows, SCHEMA)
    assert sorted((row[ITEM_KEY], row[ITEM_PROBLEM]) for row in dynamodb_items(frame, ["pk", "sk"]).collect()) == [
        ("pk='FINE', sk='PROFILE'", None),
        ("pk='NEG', sk='PROFILE'", "ratio holds a NaN or infinite number"),
        ("pk='TOP', sk='PROFILE'", "ratio holds a NaN or infinite number"),
    ]
    _same_as_the_python_writers(spark, rows)


def test_a_nan_inside_a_list_of_maps_is_found(spark):
    schema = "pk string, sk string, readings array<struct<at:string, value:double>>"
    rows = [
        {"pk": "R1", "sk": "S", "readings": [{"at": "a", "value": 1.0}, {"at": "b", "value": float("nan")}]},
        {"pk": "R2", "sk": "S", "readings": [{"at": "a", "value": None}, None]},
    ]
    frame = local_frame(spark, rows, schema)
    assert sorted((row[ITEM_KEY], row[ITEM_PROBLEM]) for row in dynamodb_items(frame, ["pk", "sk"]).collect()) == [
        ("pk='R1', sk='S'", "readings holds a NaN or infinite number"),
        ("pk='R2', sk='S'", None),
    ]
