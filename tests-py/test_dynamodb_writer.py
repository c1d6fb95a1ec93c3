"""The DynamoDB writer: type mapping, item sizes, write units and pacing, the rerun check, conditional writes, against moto."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from ingest.dynamodb_writer import (
    Deadline,
    ItemValueError,
    TokenBucket,
    WriterSettings,
    check_read_units,
    is_transient,
    item_size,
    to_attribute_value,
    to_item,
    write_partition,
    write_units,
    writer_count,
)
from local.throttling import SimulatedTable, throttling_client_factory


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


@pytest.mark.parametrize(
    ("item_bytes", "writes", "reads"),
    [(1, 1, 0.5), (1024, 1, 0.5), (1025, 2, 0.5), (4096, 4, 0.5), (4097, 5, 1.0), (400 * 1024, 400, 50.0)],
)
def test_units_follow_dynamodbs_rounding_a_unit_per_started_kb_written_and_half_a_unit_per_started_4_kb_read(item_bytes, writes, reads):
    assert (write_units(item_bytes), check_read_units(item_bytes)) == (writes, reads)


class FakeClock:
    """Time that passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_bucket_starts_empty_and_serves_reservations_in_order_at_its_rate():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    assert [bucket.reserve(4), bucket.reserve(4), bucket.reserve(2)] == [0.4, 0.8, 1.0]
    clock.now = 3.0
    # Two seconds unused keep one second of units (10); a reservation larger than that waits for the rest.
    assert [bucket.reserve(15), bucket.reserve(1)] == [3.5, 3.6]


def test_a_reservation_past_the_deadline_takes_nothing():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    assert bucket.reserve(20, deadline=1.5) is None
    assert bucket.reserve(10, deadline=1.5) == 1.0


def test_units_a_request_cost_beyond_its_reservation_delay_the_next_ones():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock)
    assert bucket.reserve(2) == 0.2
    bucket.settle(3)
    assert bucket.reserve(1) == 0.6


def test_throttling_cuts_the_rate_once_a_second_and_it_climbs_back_to_the_share():
    clock = FakeClock()
    bucket = TokenBucket(100, clock=clock)
    bucket.throttled()
    assert bucket.rate == pytest.approx(70)
    clock.now = 0.5
    bucket.throttled()  # the same round of requests in flight: no second cut
    assert bucket.rate == pytest.approx(71.75)  # 70 and 5 % of 70 per second
    clock.now = 1.0
    bucket.throttled()
    assert bucket.rate == pytest.approx(51.45)  # 0.7 * 73.5
    clock.now = 3.0
    assert bucket.rate == pytest.approx(56.595)  # 51.45 and 2 s * 5 % of it
    clock.now = 20.0
    assert bucket.rate == 100
    assert bucket.slowdowns == 2


def test_throttling_every_second_pulls_the_rate_down_to_half_the_share_and_no_lower():
    clock = FakeClock()
    bucket = TokenBucket(64, clock=clock)
    for second in range(20):
        clock.now = float(second)
        bucket.throttled()
    assert bucket.rate == pytest.approx(32)


def test_the_deadline_is_the_grace_period_plus_the_allowance_times_the_time_the_share_needs():
    deadline = Deadline(10.0, grace_seconds=300, allowance=3)
    deadline.extend(6, units_per_second=2)
    deadline.extend(1, units_per_second=4)
    assert deadline.at == 10 + 300 + 3 * 6 / 2 + 3 * 1 / 4


@pytest.mark.parametrize(
    ("units_per_second", "items", "task_slots", "writers"),
    [
        (4000, 3_300_000, 76, 4),  # the default budget: four writers of 1,000 units a second
        (40000, 3_300_000, 76, 40),
        (40000, 3_300_000, 36, 36),  # no more writers than run at once; each sends more
        (4000, 12_000, 76, 3),  # no writer for fewer than 5,000 items
        (4000, 10, 8, 1),
        (500, 1_000_000, 8, 1),
    ],
)
def test_writers_are_as_many_as_the_budget_needs_and_the_cluster_runs_at_once(units_per_second, items, task_slots, writers):
    assert writer_count(units_per_second, items, task_slots) == writers


class FakeDynamoDB:
    """A DynamoDB client over a dict that records each call with the fake time it was made.

    `throttle` lists the write calls (counted from 0) answered with throttling; `consumed` the
    units a write of a key reports, where it reports more than the item's size.
    """

    def __init__(self, clock: FakeClock, *, throttle=(), consumed=None, snapshot_attribute="lake_snapshot") -> None:
        self.clock = clock
        self.calls: list[tuple[str, float, str]] = []
        self.stored: dict[str, dict] = {}
        self._throttle = set(throttle)
        self._consumed = consumed or {}
        self._writes = 0
        self._snapshot = snapshot_attribute

    def batch_get_item(self, RequestItems, ReturnConsumedCapacity):
        [(table, request)] = RequestItems.items()
        self.calls.append(("BatchGetItem", self.clock(), ",".join(key["pk"]["S"] for key in request["Keys"])))
        found = [self.stored[key["pk"]["S"]] for key in request["Keys"] if key["pk"]["S"] in self.stored]
        return {"Responses": {table: [{name: item[name] for name in ("pk", "sk", self._snapshot)} for item in found]}}

    def put_item(self, **request):
        return self._write("PutItem", request["Item"]["pk"]["S"], request.get("Item"))

    def delete_item(self, **request):
        return self._write("DeleteItem", request["Key"]["pk"]["S"], None)

    def _write(self, operation: str, key: str, item):
        self.calls.append((operation, self.clock(), key))
        call, self._writes = self._writes, self._writes + 1
        if call in self._throttle:
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)
        if item is None:
            self.stored.pop(key, None)
        else:
            self.stored[key] = item
        return {"ConsumedCapacity": {"CapacityUnits": self._consumed[key]}} if key in self._consumed else {}


def _two_unit_items(count: int, snapshot: int = 1) -> list[dict]:
    """Items of 1,485 bytes: two write units and half a read unit each."""
    return [{"pk": f"C{index:04d}", "sk": "PROFILE", "lake_snapshot": snapshot, "note": "x" * 1450} for index in range(count)]


def _paced_settings(units_per_second: float, **overrides) -> WriterSettings:
    return WriterSettings(
        table_name="items",
        partition_key="pk",
        sort_key="sk",
        snapshot_attribute="lake_snapshot",
        max_item_bytes=400_000,
        write_units_per_second=units_per_second,
        threads=1,
        **overrides,
    )


def test_writes_are_paced_to_the_share_in_write_units_by_item_size():
    clock = FakeClock()
    table = FakeDynamoDB(clock)
    assert item_size(to_item(_two_unit_items(1)[0], ["pk", "sk"])) == 1485
    [outcome] = write_partition(_two_unit_items(4), _paced_settings(4), lambda _: table, sleep=clock.sleep, clock=clock)
    # The check reads 4 keys (2 read units at 4 a second); the write bucket kept 0.5 s of units meanwhile.
    assert table.calls == [
        ("BatchGetItem", 0.5, "C0000,C0001,C0002,C0003"),
        ("PutItem", 0.5, "C0000"),
        ("PutItem", 1.0, "C0001"),
        ("PutItem", 1.5, "C0002"),
        ("PutItem", 2.0, "C0003"),
    ]
    assert {name: outcome[name] for name in ("written", "requests", "checks", "retries", "throttled", "writeUnits")} == {
        "written": 4,
        "requests": 4,
        "checks": 1,
        "retries": 0,
        "throttled": 0,
        "writeUnits": 8,
    }


def test_units_a_write_reports_beyond_the_items_size_are_paid_before_the_next_write():
    clock = FakeClock()
    # C0000 replaced a stored item of 5 KB: DynamoDB charges the larger of the two.
    table = FakeDynamoDB(clock, consumed={"C0000": 5.0})
    [outcome] = write_partition(_two_unit_items(3), _paced_settings(4), lambda _: table, sleep=clock.sleep, clock=clock)
    # 1.5 read units take 0.375 s; C0000 then waits for the half unit missing. Its three extra
    # units delay C0001 by 0.75 s beyond the half second its own two take.
    assert [(operation, at) for operation, at, _ in table.calls] == [
        ("BatchGetItem", 0.375),
        ("PutItem", 0.5),
        ("PutItem", 1.75),
        ("PutItem", 2.25),
    ]
    assert outcome["writeUnits"] == 9


def test_a_throttled_write_cuts_the_rate_and_is_sent_again_at_the_lower_rate(monkeypatch):
    monkeypatch.setattr("ingest.retry.random.uniform", lambda low, high: high)
    clock = FakeClock()
    table = FakeDynamoDB(clock, throttle={1})
    [outcome] = write_partition(
        _two_unit_items(4), _paced_settings(4, backoff_base_seconds=0), lambda _: table, sleep=clock.sleep, clock=clock
    )
    times = [at for _, at, _ in table.calls]
    # C0001 is throttled at 1.0 s; the rate drops to 2.8 units a second, so its 2 units take 1/1.4 s.
    assert [(operation, key) for operation, _, key in table.calls[1:4]] == [
        ("PutItem", "C0000"),
        ("PutItem", "C0001"),
        ("PutItem", "C0001"),
    ]
    assert times[:4] == pytest.approx([0.5, 0.5, 1.0, 1.0 + 2 / 2.8])
    # The next write waits longer than a write at the full share (0.5 s).
    assert times[4] - times[3] > 0.5
    assert {name: outcome[name] for name in ("written", "requests", "retries", "throttled", "failed")} == {
        "written": 4,
        "requests": 5,
        "retries": 1,
        "throttled": 1,
        "failed": 0,
    }


def test_throttling_that_does_not_follow_the_rate_never_slows_the_writer_into_missing_its_deadline(monkeypatch):
    """One write in four throttled whatever is sent: the table takes three quarters of the share, more than the deadline needs."""
    monkeypatch.setattr("ingest.retry.random.uniform", lambda low, high: high)
    clock = FakeClock()
    table = FakeDynamoDB(clock, throttle=set(range(0, 1000, 4)))
    settings = _paced_settings(20, deadline_grace_seconds=1)
    [outcome] = write_partition(_two_unit_items(100), settings, lambda _: table, sleep=clock.sleep, clock=clock)
    # 1 s of grace, then three times what 50 read units and 200 write units need at 20 a second.
    assert clock.now <= 1 + 3 * (50 + 200) / 20
    # Calls 0, 4, ... 132 are throttled: 134 calls write the 100 items.
    assert _counts(outcome, "written", "failed", "requests", "throttled") == {"written": 100, "failed": 0, "requests": 134, "throttled": 34}


def test_the_deadline_grows_with_the_items_so_a_long_partition_at_its_share_is_never_cut_short():
    clock = FakeClock()
    table = FakeDynamoDB(clock)
    settings = _paced_settings(4, deadline_grace_seconds=10)
    [outcome] = write_partition(_two_unit_items(100), settings, lambda _: table, sleep=clock.sleep, clock=clock)
    # 50 read units, then 200 write units at 4 a second: over a minute, six times the grace period.
    assert (table.calls[0][1], table.calls[-1][1]) == (12.5, 61.5)
    assert (outcome["written"], outcome["failed"]) == (100, 0)


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


def _deletion(pk: str, snapshot: int) -> dict:
    return {"pk": pk, "sk": "PROFILE", "lake_snapshot": snapshot, "ingest_delete_item": True}


def _table(aws_client, table: str) -> dict[str, dict]:
    deserializer = TypeDeserializer()
    pages = aws_client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return {
        item["pk"]["S"]: {name: deserializer.deserialize(value) for name, value in item.items()} for page in pages for item in page["Items"]
    }


def _counts(outcome: dict, *names: str) -> dict[str, int]:
    return {name: outcome[name] for name in names}


def _unlimited_table() -> SimulatedTable:
    """Counts the calls moto receives, without throttling any."""
    return SimulatedTable(1e9, 1e9)


@pytest.fixture(autouse=True)
def _credentials(aws_environment):
    """Writer clients are built the way executors build them: from the environment."""


def test_writes_every_item_once_and_never_replaces_a_newer_snapshot(aws_client, items_table, moto_endpoint):
    settings = _settings(items_table, moto_endpoint)
    [first] = write_partition(_items(5, 40, "snapshot 5"), settings)
    assert _counts(first, "written", "unchanged", "stale", "oversize", "failed", "requests", "checks", "retries", "writeUnits") == {
        "written": 40,
        "unchanged": 0,
        "stale": 0,
        "oversize": 0,
        "failed": 0,
        "requests": 40,
        "checks": 1,
        "retries": 0,
        "writeUnits": 40,
    }
    [older] = write_partition(_items(4, 40, "snapshot 4"), settings)
    assert _counts(older, "written", "stale", "requests") == {"written": 0, "stale": 40, "requests": 0}
    [newer] = write_partition(_items(6, 40, "snapshot 6"), settings)
    assert _counts(newer, "written", "stale", "requests") == {"written": 40, "stale": 0, "requests": 40}
    stored = _table(aws_client, items_table)
    assert len(stored) == 40
    assert stored["C0007"] == {
        "pk": "C0007",
        "sk": "PROFILE",
        "label": "snapshot 6",
        "lake_snapshot": Decimal(6),
        "orders": [{"total": Decimal("9.9")}],
    }


def test_a_rerun_sends_no_write_for_items_the_table_holds_at_its_snapshot_or_newer(aws_client, items_table, moto_endpoint):
    settings = _settings(items_table, moto_endpoint)
    list(write_partition(_items(5, 30, "first run"), settings))
    aws_client("dynamodb").put_item(
        TableName=items_table, Item={"pk": {"S": "C0003"}, "sk": {"S": "PROFILE"}, "label": {"S": "newer"}, "lake_snapshot": {"N": "9"}}
    )
    aws_client("dynamodb").delete_item(TableName=items_table, Key={"pk": {"S": "C0004"}, "sk": {"S": "PROFILE"}})
    table = _unlimited_table()
    [rerun] = write_partition(_items(5, 30, "rerun"), settings, table.client_factory())
    # One BatchGetItem for the chunk; only the item that is gone is written again.
    assert dict(table.calls) == {"BatchGetItem": 1, "PutItem": 1}
    assert _counts(rerun, "written", "unchanged", "stale", "requests", "checks", "writeUnits") == {
        "written": 1,
        "unchanged": 28,
        "stale": 1,
        "requests": 1,
        "checks": 1,
        "writeUnits": 1,
    }
    stored = _table(aws_client, items_table)
    assert ([stored[key]["label"] for key in ("C0002", "C0003", "C0004")]) == ["first run", "newer", "rerun"]


def test_rows_of_more_than_one_chunk_are_checked_a_chunk_at_a_time(items_table, moto_endpoint):
    table = _unlimited_table()
    [outcome] = write_partition(_items(1, 250, "x"), _settings(items_table, moto_endpoint), table.client_factory())
    assert dict(table.calls) == {"BatchGetItem": 3, "PutItem": 250}
    assert _counts(outcome, "written", "checks") == {"written": 250, "checks": 3}


def test_deletions_remove_older_items_keep_newer_ones_and_send_nothing_for_items_already_gone(aws_client, items_table, moto_endpoint):
    settings = _settings(items_table, moto_endpoint)
    list(write_partition(_items(5, 3, "kept or deleted"), settings))
    table = _unlimited_table()
    rows = [_deletion("C0000", 6), _deletion("C0001", 4), _deletion("C0009", 6)]
    [outcome] = write_partition(rows, settings, table.client_factory())
    assert dict(table.calls) == {"BatchGetItem": 1, "DeleteItem": 1}
    assert _counts(outcome, "deleted", "stale", "unchanged", "requests") == {"deleted": 1, "stale": 1, "unchanged": 1, "requests": 1}
    assert sorted(_table(aws_client, items_table)) == ["C0001", "C0002"]


def test_an_item_stored_without_the_snapshot_attribute_is_never_replaced(aws_client, items_table, moto_endpoint):
    foreign = {"pk": {"S": "C0000"}, "sk": {"S": "PROFILE"}, "label": {"S": "written by hand"}}
    aws_client("dynamodb").put_item(TableName=items_table, Item=foreign)
    [outcome] = write_partition(_items(3, 1, "job"), _settings(items_table, moto_endpoint))
    assert _counts(outcome, "written", "stale", "requests") == {"written": 0, "stale": 1, "requests": 0}
    assert _table(aws_client, items_table)["C0000"]["label"] == "written by hand"


def test_the_condition_still_decides_when_the_check_reads_an_older_state(aws_client, items_table, moto_endpoint):
    """An eventually consistent read may miss a newer item; the conditional put then finds it and writes nothing."""
    aws_client("dynamodb").put_item(
        TableName=items_table, Item={"pk": {"S": "C0000"}, "sk": {"S": "PROFILE"}, "label": {"S": "newer"}, "lake_snapshot": {"N": "9"}}
    )

    def reads_nothing_yet(settings: WriterSettings):
        client = throttling_client_factory([False])(settings)
        answer = (AWSResponse(moto_endpoint, 200, {}, None), {"Responses": {settings.table_name: []}})
        client.meta.events.register("before-call.dynamodb.BatchGetItem", lambda **_: answer)
        return client

    [outcome] = write_partition(_items(5, 2, "older"), _settings(items_table, moto_endpoint), reads_nothing_yet)
    assert _counts(outcome, "written", "stale", "requests", "writeUnits") == {"written": 1, "stale": 1, "requests": 2, "writeUnits": 2}
    assert _table(aws_client, items_table)["C0000"]["label"] == "newer"


def test_one_write_in_four_throttled_costs_a_third_more_requests_and_loses_nothing(monkeypatch, aws_client, items_table, moto_endpoint):
    monkeypatch.setattr("ingest.retry.random.uniform", lambda low, high: high)
    clock = FakeClock()
    settings = _settings(items_table, moto_endpoint, threads=1, backoff_base_seconds=0.01)
    factory = throttling_client_factory([True, False, False, False])
    [outcome] = write_partition(_items(1, 30, "x"), settings, factory, sleep=clock.sleep, clock=clock)
    # Calls 0, 4, ... 36 are throttled: 40 calls write 30 items.
    assert _counts(outcome, "written", "failed", "requests", "retries", "throttled") == {
        "written": 30,
        "failed": 0,
        "requests": 40,
        "retries": 10,
        "throttled": 10,
    }
    assert len(_table(aws_client, items_table)) == 30


def test_a_table_slower_than_the_budget_slows_the_writer_down_and_every_item_is_written(monkeypatch, items_table, moto_endpoint):
    monkeypatch.setattr("ingest.retry.random.uniform", lambda low, high: high)
    clock = FakeClock()
    table = SimulatedTable(write_units_per_second=10, read_units_per_second=1000, clock=clock)
    settings = _settings(items_table, moto_endpoint, threads=1, write_units_per_second=20, deadline_grace_seconds=1)
    [outcome] = write_partition(_items(1, 40, "x"), settings, table.client_factory(), sleep=clock.sleep, clock=clock)
    assert _counts(outcome, "written", "failed") == {"written": 40, "failed": 0}
    assert outcome["throttled"] == table.throttled["PutItem"] > 0
    assert table.calls["PutItem"] == 40 + table.throttled["PutItem"] == outcome["requests"]


def test_a_table_far_slower_than_the_budget_fails_the_items_it_did_not_take_by_the_deadline_by_name(
    monkeypatch, aws_client, items_table, moto_endpoint
):
    monkeypatch.setattr("ingest.retry.random.uniform", lambda low, high: high)
    clock = FakeClock()
    # A tenth of the budget: less than the third (1 / deadline_allowance) the deadline allows for.
    table = SimulatedTable(write_units_per_second=2, read_units_per_second=1000, clock=clock)
    settings = _settings(items_table, moto_endpoint, threads=1, write_units_per_second=20, deadline_grace_seconds=1)
    [outcome] = write_partition(_items(1, 40, "x"), settings, table.client_factory(), sleep=clock.sleep, clock=clock)
    # The deadline: 1 s of grace, then three times what 40 items need at 20 units a second (20 read units, 40 write units).
    deadline = 1 + 3 * 20 / 20 + 3 * 40 / 20
    assert clock.now <= deadline
    stored = sorted(_table(aws_client, items_table))
    assert outcome["written"] == len(stored) == table.calls["PutItem"] - table.throttled["PutItem"]
    assert 0 < outcome["written"] <= 2 + 2 * deadline  # a second's burst, then 2 a second
    # Every item not written is named, with why: throttled until the deadline, or never given its units before it.
    assert sorted(failure["key"] for failure in outcome["failures"]) == [
        f"pk='C{index:04d}', sk='PROFILE'" for index in range(40) if f"C{index:04d}" not in stored
    ]
    assert {failure["error"].split(" after ")[0] for failure in outcome["failures"]} == {
        "still ProvisionedThroughputExceededException",
        "still waiting for its write units",
    }


def test_oversize_items_are_counted_and_not_sent(aws_client, items_table, moto_endpoint):
    settings = _settings(items_table, moto_endpoint, max_item_bytes=1_000)
    rows = [{"pk": "BIG", "sk": "PROFILE", "note": "x" * 2_000, "lake_snapshot": 1}, *_items(1, 2, "small")]
    [outcome] = write_partition(rows, settings)
    assert _counts(outcome, "written", "oversize", "requests") == {"written": 2, "oversize": 1, "requests": 2}
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
