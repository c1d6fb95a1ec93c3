"""The DynamoDB writer: type mapping, item sizes, conditional writes and backoff, against moto."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from ingest.dynamodb_writer import ItemValueError, WriterSettings, is_transient, item_size, to_attribute_value, to_item, write_partition
from local.throttling import throttling_client_factory


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, {"BOOL": True}),
        (0, {"N": "0"}),
        (-42, {"N": "-42"}),
        (0.1, {"N": "0.1"}),
        (1e21, {"N": "1000000000000000000000"}),
        (Decimal("19.90"), {"N": "19.9"}),
        (Decimal("100"), {"N": "100"}),
        (Decimal("1234567890123456789012345678901234567.1"), {"N": "1234567890123456789012345678901234567.1"}),
        (Decimal("-0.000"), {"N": "0"}),
        ("", {"S": ""}),
        ("Zoë", {"S": "Zoë"}),
        (dt.date(2026, 11, 22), {"S": "2026-11-22"}),
        (dt.datetime(2026, 11, 22, 3, 15, tzinfo=dt.UTC), {"S": "2026-11-22T03:15:00Z"}),
        (dt.datetime(2026, 11, 22, 3, 15, 0, 120, tzinfo=dt.UTC), {"S": "2026-11-22T03:15:00.000120Z"}),
        (b"\x00\x01", {"B": b"\x00\x01"}),
        ({"a": 1, "gone": None, "b": {"c": "x"}}, {"M": {"a": {"N": "1"}, "b": {"M": {"c": {"S": "x"}}}}}),
        ([1, None, "x", []], {"L": [{"N": "1"}, {"NULL": True}, {"S": "x"}, {"L": []}]}),
        (None, None),
    ],
)
def test_values_map_to_dynamodb_types_without_floats(value, expected):
    assert to_attribute_value(value) == expected


def test_naive_timestamps_are_read_as_local_times_as_spark_produces_them():
    local = dt.datetime(2026, 11, 22, 3, 15)
    expected = local.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert to_attribute_value(local) == {"S": expected}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity"), object()])
def test_values_dynamodb_cannot_hold_are_refused(value):
    with pytest.raises(ItemValueError):
        to_attribute_value(value)


def test_key_attributes_must_be_present_and_not_empty():
    assert to_item({"pk": "C1", "sk": "PROFILE", "n": None}, ["pk", "sk"]) == {"pk": {"S": "C1"}, "sk": {"S": "PROFILE"}}
    with pytest.raises(ItemValueError, match="key attribute 'pk' is missing or empty in pk='', sk='PROFILE'"):
        to_item({"pk": "", "sk": "PROFILE"}, ["pk", "sk"])
    with pytest.raises(ItemValueError, match="key attribute 'sk' is missing or empty in pk='C1', sk=None"):
        to_item({"pk": "C1", "sk": None}, ["pk", "sk"])


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"id": {"S": "abc"}}, 5),
        ({"id": {"S": "Zoë"}}, 6),
        ({"n": {"N": "123.45"}}, 1 + 3 + 1),
        ({"n": {"N": "100"}}, 1 + 1 + 1),
        ({"n": {"N": "0.001"}}, 1 + 1 + 1),
        ({"b": {"B": b"1234"}, "t": {"BOOL": True}, "z": {"NULL": True}}, 5 + 2 + 2),
        ({"m": {"M": {}}}, 1 + 3),
        ({"m": {"M": {"ab": {"S": "xy"}}}}, 1 + 3 + 1 + 2 + 2),
        ({"l": {"L": [{"S": "x"}, {"N": "7"}]}}, 1 + 3 + (1 + 1) + (1 + 2)),
    ],
)
def test_item_size_follows_dynamodbs_rules(item, size):
    assert item_size(item) == size


@pytest.fixture
def items_table(aws_client) -> str:
    name = f"items-{uuid.uuid4().hex[:8]}"
    aws_client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _settings(table: str, moto_endpoint: str, **overrides) -> WriterSettings:
    defaults = {"max_item_bytes": 400_000, "endpoint_url": moto_endpoint, "region": "us-east-1"}
    return WriterSettings(
        table_name=table, partition_key="pk", sort_key="sk", snapshot_attribute="lake_snapshot", **{**defaults, **overrides}
    )


def _items(snapshot: int, count: int, label: str) -> list[dict]:
    return [
        {"pk": f"C{index:04d}", "sk": "PROFILE", "label": label, "lake_snapshot": snapshot, "orders": [{"total": Decimal("9.90")}]}
        for index in range(count)
    ]


def _table(aws_client, table: str) -> dict[str, dict]:
    deserializer = TypeDeserializer()
    pages = aws_client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return {
        item["pk"]["S"]: {name: deserializer.deserialize(value) for name, value in item.items()} for page in pages for item in page["Items"]
    }


@pytest.fixture(autouse=True)
def _credentials(aws_environment):
    """Writer clients are built the way executors build them: from the environment."""


def test_writes_every_item_once_and_never_replaces_a_newer_snapshot(aws_client, items_table, moto_endpoint):
    settings = _settings(items_table, moto_endpoint)
    [first] = write_partition(_items(5, 40, "snapshot 5"), settings)
    assert {key: first[key] for key in ("written", "stale", "oversize", "failed", "requests", "retries")} == {
        "written": 40,
        "stale": 0,
        "oversize": 0,
        "failed": 0,
        "requests": 40,
        "retries": 0,
    }
    [older] = write_partition(_items(4, 40, "snapshot 4"), settings)
    assert (older["written"], older["stale"]) == (0, 40)
    [rerun] = write_partition(_items(5, 40, "snapshot 5 again"), settings)
    assert (rerun["written"], rerun["stale"]) == (40, 0)
    stored = _table(aws_client, items_table)
    assert len(stored) == 40
    assert stored["C0007"] == {
        "pk": "C0007",
        "sk": "PROFILE",
        "label": "snapshot 5 again",
        "lake_snapshot": Decimal(5),
        "orders": [{"total": Decimal("9.9")}],
    }


def test_throttling_is_retried_with_backoff_until_every_item_is_written(aws_client, items_table, moto_endpoint):
    pauses: list[float] = []
    settings = _settings(items_table, moto_endpoint, threads=1, backoff_base_seconds=0.01)
    [outcome] = write_partition(_items(1, 30, "x"), settings, throttling_client_factory([True, True, False]), sleep=pauses.append)
    assert (outcome["written"], outcome["failed"], outcome["retries"], outcome["requests"]) == (30, 0, 60, 90)
    assert len(pauses) == 60
    assert all(0 <= pause <= 0.02 for pause in pauses)
    assert len(_table(aws_client, items_table)) == 30


def test_items_still_throttled_at_the_deadline_are_counted_and_named_not_dropped_silently(items_table, moto_endpoint):
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    settings = _settings(items_table, moto_endpoint, threads=1, deadline_seconds=2.0, backoff_base_seconds=0.5, backoff_cap_seconds=1.0)
    [outcome] = write_partition(_items(1, 3, "x"), settings, throttling_client_factory([True]), sleep=sleep, clock=lambda: now[0])
    assert (outcome["written"], outcome["failed"]) == (0, 3)
    assert [failure["key"] for failure in outcome["failures"]] == [
        "pk='C0000', sk='PROFILE'",
        "pk='C0001', sk='PROFILE'",
        "pk='C0002', sk='PROFILE'",
    ]
    assert all("ProvisionedThroughputExceededException" in failure["error"] for failure in outcome["failures"])


def test_oversize_items_are_counted_and_not_sent(aws_client, items_table, moto_endpoint):
    settings = _settings(items_table, moto_endpoint, max_item_bytes=1_000)
    rows = [{"pk": "BIG", "sk": "PROFILE", "note": "x" * 2_000, "lake_snapshot": 1}, *_items(1, 2, "small")]
    [outcome] = write_partition(rows, settings)
    assert (outcome["written"], outcome["oversize"], outcome["requests"]) == (2, 1, 2)
    assert outcome["oversize_items"] == [{"key": "pk='BIG', sk='PROFILE'", "bytes": 2 + 3 + 2 + 7 + 4 + 2000 + 13 + 2}]
    assert sorted(_table(aws_client, items_table)) == ["C0000", "C0001"]


def test_items_dynamodb_refuses_are_failures_with_the_reason(items_table, moto_endpoint):
    settings = _settings(items_table, moto_endpoint)
    rows = [{"pk": 7, "sk": "PROFILE", "lake_snapshot": 1}, {"pk": "", "sk": "PROFILE", "lake_snapshot": 1}]
    [outcome] = write_partition(rows, settings)
    assert (outcome["written"], outcome["failed"]) == (0, 2)
    errors = sorted(failure["error"] for failure in outcome["failures"])
    assert errors[0].startswith("ValidationException: ")
    assert errors[1] == "key attribute 'pk' is missing or empty in pk='', sk='PROFILE'"


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("ProvisionedThroughputExceededException", 400, True),
        ("ThrottlingException", 400, True),
        ("InternalServerError", 500, True),
        # A 5xx whose body is not DynamoDB's JSON (a proxy's or an emulator's HTML page) has no error code.
        ("500", 500, True),
        ("503", 503, True),
        ("ValidationException", 400, False),
        ("ConditionalCheckFailedException", 400, False),
        ("AccessDeniedException", 400, False),
    ],
)
def test_throttling_and_server_failures_are_transient_and_request_errors_are_not(code, status, transient):
    error = ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem")
    assert is_transient(error) is transient
