"""The lookup-table loader: its pure parts, then whole runs against moto on local Spark.

Spark and moto time is the budget: the 50k-line load runs once, the other runs are small exports
split into small ranges (`chunk_bytes`) so that each still spans several ranges. Tables are read
back with DynamoDB's own export to S3: moto answers Scan at about a millisecond per item.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import boto3
import lookup_faults
import lookup_load_job
import pytest
from botocore.exceptions import ClientError
from lookup_faults import faulty_client_factory

from ingest.arguments import load_contract
from ingest.lookup.batch_writer import BatchWriter, WriteCounts, WriteEntry
from ingest.lookup.checkpoint import checkpoint_location, load_generation, url_safe_key
from ingest.lookup.driver import LOOKUP_JOB_CONTRACT
from ingest.lookup.driver import run as run_loader
from ingest.lookup.ranges import OverlongLine, bounded_lines, split_ranges
from ingest.lookup.settings import LoaderTuning, LookupClients
from ingest.lookup_lines import Rejection, dynamodb_number, parse_line
from ingest.lookup_plan import LookupPlanError, parse_lookup_plan
from ingest.report import RunFailure

REGION = "us-east-1"
ASSETS = "lookup-assets"
EXPORTS = "lookup-exports"
REPORTS = "lookup-reports"
DUMPS = "lookup-table-dumps"
REPORT_PREFIX = "reports/"
NOTIFICATIONS = "arn:aws:sns:us-east-1:123456789012:lookup-notifications"
STACK = "lookup-tests"
# The plan the deploy side writes for test/fixtures/lookups-loader/products.yaml (products without a time to
# live or a full refresh, items of at most 4 KiB); test/lookup-plan-document.test.ts checks it is lookupPlan's.
PRODUCTS_PLAN = json.loads((Path(__file__).parent / "fixtures" / "lookup-plan-products.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Pure parts


def test_the_job_reads_the_argument_names_of_its_contract():
    # The names the entry script passes to getResolvedOptions; the Pulumi component imports the same JSON file.
    contract = load_contract(LOOKUP_JOB_CONTRACT)
    assert contract.deploy == (
        "lookup_uri",
        "table_name",
        "export_bucket",
        "export_prefix",
        "checkpoint_uri",
        "report_bucket",
        "report_prefix",
        "notification_topic_arn",
        "stack",
    )
    assert contract.run == ("export",)


def _plan(**changes) -> dict:
    return {**PRODUCTS_PLAN, **changes}


def test_a_broken_plan_is_refused_with_every_problem():
    broken = _plan(
        lookup="Products",
        key={"partition": {"attribute": "product_id", "type": "string"}, "sort": {"attribute": "product_id", "type": "boolean"}},
        attributes=[
            {"name": "category", "type": "string", "required": True},
            {"name": "category", "type": "number", "required": False},
            {"name": "price", "type": "decimal", "required": False},
            {"name": "load_generation", "type": "string", "required": False},
            {"name": "product_id", "type": "string", "required": True},
        ],
        format="parquet",
        ttl={"attribute": "category", "days": 30},
        maxItemBytes=500_000,
        fullRefresh="yes",
        description="not in the plan",
    )
    with pytest.raises(LookupPlanError) as raised:
        parse_lookup_plan(broken)
    assert str(raised.value).split("; ") == [
        "description: unknown field",
        "lookup: 'Products' is not lower-kebab-case (a letter, then letters, digits or -, at most 31)",
        "key.sort.type: 'boolean' is not one of string, number",
        "attributes[1].name: 'category' is declared twice",
        "attributes[2].type: 'decimal' is not one of string, number, boolean",
        "attributes[3].name: 'load_generation' is the attribute the loader sets on a full refresh",
        "attributes[4].name: 'product_id' is a key attribute (keys are always required)",
        "format: 'parquet' is not one of jsonl, dynamodb-json, data-pipeline-json, redshift-text, csv, keys",
        "ttl.attribute: 'category' is already a key or declared attribute, set by the loader itself",
        "maxItemBytes: 500000 is not a whole number from 1 to 409600",
        "fullRefresh: 'yes' is not true or false",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.50", "12.5"),
        ("-0.000", "0"),
        ("1E+3", "1000"),
        ("0.00012", "0.00012"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("1234567890123456789012345678901234567800000", "1234567890123456789012345678901234567800000"),
        ("1e-130", "0." + "0" * 129 + "1"),
    ],
)
def test_numbers_keep_every_digit(text, expected):
    assert dynamodb_number(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NaN", "NaN is not a number"),
        ("1_000", "1_000 is not a number"),
        (" 1", " 1 is not a number"),
        (
            "123456789012345678901234567890123456789",
            "123456789012345678901234567890123456789 has 39 significant digits; DynamoDB keeps at most 38",
        ),
        ("1e126", "1e126 is outside DynamoDB's number range (magnitudes from 1E-130 to below 1E+126)"),
        ("1e-131", "1e-131 is outside DynamoDB's number range (magnitudes from 1E-130 to below 1E+126)"),
    ],
)
def test_numbers_dynamodb_cannot_hold_are_refused(text, reason):
    with pytest.raises(ValueError) as raised:
        dynamodb_number(text)
    assert str(raised.value) == reason


JSONL = parse_lookup_plan(PRODUCTS_PLAN)
DYNAMODB_JSON = parse_lookup_plan(
    _plan(
        format="dynamodb-json",
        key={"partition": {"attribute": "product_id", "type": "string"}, "sort": {"attribute": "version", "type": "number"}},
        attributes=[{"name": "category", "type": "string", "required": True}, {"name": "in_stock", "type": "boolean", "required": False}],
    )
)
CSV = parse_lookup_plan(
    _plan(format="csv", attributes=[*PRODUCTS_PLAN["attributes"], {"name": "active", "type": "boolean", "required": False}])
)
CSV_HEADER = ("product_id", "category", "price", "active", "note")
NOT_AN_ATTRIBUTE_VALUE = "is not an attribute value (an object with one of S, N, BOOL, NULL, M, L, B, SS, NS, BS)"


@pytest.mark.parametrize(
    ("plan", "text", "expected"),
    [
        # jsonl: every JSON type, numbers exact, null kept except for a declared attribute
        (
            JSONL,
            '{"product_id": "P1", "category": "toys", "price": 12.50, "tags": ["a", 1, null], "meta": {"new": true, "note": null}, "gone": null}',
            {
                "product_id": {"S": "P1"},
                "category": {"S": "toys"},
                "price": {"N": "12.5"},
                "tags": {"L": [{"S": "a"}, {"N": "1"}, {"NULL": True}]},
                "meta": {"M": {"new": {"BOOL": True}, "note": {"NULL": True}}},
                "gone": {"NULL": True},
            },
        ),
        (JSONL, '{"product_id": "P1", "category": "toys", "price": null}', {"product_id": {"S": "P1"}, "category": {"S": "toys"}}),
        (
            JSONL,
            '{"product_id": "P1", "category": "toys", "n": 12345678901234567890.5}',
            {"product_id": {"S": "P1"}, "category": {"S": "toys"}, "n": {"N": "12345678901234567890.5"}},
        ),
        (JSONL, '{"product_id": "P1", "category": "toys"', Rejection("invalid-json", "invalid JSON: Expecting ',' delimiter at column 40")),
        (JSONL, '{"product_id": "P1", "category": NaN}', Rejection("invalid-json", "invalid JSON: NaN is not a JSON value")),
        (JSONL, '{"product_id": "P1", "category": "toys"} {}', Rejection("invalid-json", "invalid JSON: Extra data at column 42")),
        (JSONL, '["P1"]', Rejection("not-an-object", "not a JSON object: the line holds an array")),
        (JSONL, "17", Rejection("not-an-object", "not a JSON object: the line holds a number")),
        (JSONL, '{"category": "toys"}', Rejection("missing-key", "key attribute product_id is missing")),
        (JSONL, '{"product_id": null, "category": "toys"}', Rejection("missing-key", "key attribute product_id is missing (null)")),
        (
            JSONL,
            '{"product_id": 17, "category": "toys"}',
            Rejection("wrong-key-type", "key attribute product_id must be a string, got a number (17)"),
        ),
        (
            JSONL,
            '{"product_id": {"id": 1}, "category": "toys"}',
            Rejection("wrong-key-type", "key attribute product_id must be a string, got a map"),
        ),
        (JSONL, '{"product_id": "", "category": "toys"}', Rejection("empty-key", "key attribute product_id is an empty string")),
        (
            JSONL,
            '{"product_id": "' + "é" * 1025 + '", "category": "toys"}',
            Rejection("key-too-long", "key attribute product_id is 2050 bytes long; DynamoDB allows at most 2048"),
        ),
        (JSONL, '{"product_id": "P1", "price": 3}', Rejection("missing-attribute", "required attribute category is missing")),
        (JSONL, '{"product_id": "P1", "category": null}', Rejection("missing-attribute", "required attribute category is missing (null)")),
        (
            JSONL,
            '{"product_id": "P1", "category": "toys", "price": "12.50"}',
            Rejection("wrong-attribute-type", 'attribute price must be a number, got a string ("12.50")'),
        ),
        (
            JSONL,
            '{"product_id": "P1", "category": false}',
            Rejection("wrong-attribute-type", "attribute category must be a string, got a boolean (false)"),
        ),
        (
            JSONL,
            '{"product_id": "P1", "category": "toys", "price": 1e400}',
            Rejection(
                "invalid-value", "attribute price: 1e400 is outside DynamoDB's number range (magnitudes from 1E-130 to below 1E+126)"
            ),
        ),
        (
            JSONL,
            '{"product_id": "P1", "category": "toys", "deep": ' + "[" * 33 + "]" * 33 + "}",
            Rejection("invalid-value", "attribute deep: nested more than 32 levels deep"),
        ),
        (
            JSONL,
            '{"product_id": "P1", "category": "toys", "notes": "' + "x" * 4096 + '"}',
            Rejection("item-too-large", f"the item is {10 + 2 + 8 + 4 + 5 + 4096} bytes; the limit is 4096"),
        ),
        # dynamodb-json: DynamoDB's export line or a bare item; sets, binary, N normalized
        (
            DYNAMODB_JSON,
            '{"Item": {"product_id": {"S": "P1"}, "version": {"N": "2.0"}, "category": {"S": "toys"}, "tags": {"SS": ["a", "b"]}, '
            '"sizes": {"NS": ["1.50", "2"]}, "blob": {"B": "AAE="}, "dims": {"M": {"unit": {"NULL": true}, "l": {"L": [{"BOOL": false}]}}}}}',
            {
                "product_id": {"S": "P1"},
                "version": {"N": "2"},
                "category": {"S": "toys"},
                "tags": {"SS": ["a", "b"]},
                "sizes": {"NS": ["1.5", "2"]},
                "blob": {"B": b"\x00\x01"},
                "dims": {"M": {"unit": {"NULL": True}, "l": {"L": [{"BOOL": False}]}}},
            },
        ),
        (
            DYNAMODB_JSON,
            '{"product_id": {"S": "P1"}, "version": {"N": "1"}, "category": {"S": "toys"}, "in_stock": {"BOOL": true}}',
            {"product_id": {"S": "P1"}, "version": {"N": "1"}, "category": {"S": "toys"}, "in_stock": {"BOOL": True}},
        ),
        (DYNAMODB_JSON, '{"Item": 5}', Rejection("not-an-object", "the Item member is a number, not an object of attributes")),
        (
            DYNAMODB_JSON,
            '{"Item": {"product_id": {"S": "P1"}, "category": {"S": "toys"}}}',
            Rejection("missing-key", "key attribute version is missing"),
        ),
        (
            DYNAMODB_JSON,
            '{"Item": {"product_id": {"S": "P1"}, "version": {"S": "1"}, "category": {"S": "toys"}}}',
            Rejection("wrong-key-type", 'key attribute version must be a number, got a string ("1")'),
        ),
        (
            DYNAMODB_JSON,
            '{"Item": {"product_id": "P1", "version": {"N": "1"}, "category": {"S": "toys"}}}',
            Rejection("invalid-value", f'key attribute product_id: "P1" {NOT_AN_ATTRIBUTE_VALUE}'),
        ),
        (
            DYNAMODB_JSON,
            '{"Item": {"product_id": {"S": "P1"}, "version": {"N": "1"}, "category": {"S": "toys"}, "in_stock": {"S": "yes"}}}',
            Rejection("wrong-attribute-type", 'attribute in_stock must be a boolean, got a string ("yes")'),
        ),
        (
            DYNAMODB_JSON,
            '{"Item": {"product_id": {"S": "P1"}, "version": {"N": "1"}, "category": {"S": "toys"}, "tags": {"SS": []}}}',
            Rejection("invalid-value", "attribute tags: the SS set is empty; DynamoDB sets hold at least one element"),
        ),
        (
            DYNAMODB_JSON,
            '{"Item": {"product_id": {"S": "P1"}, "version": {"N": "1"}, "category": {"S": "toys"}, "sizes": {"NS": ["1.0", "1"]}}}',
            Rejection("invalid-value", "attribute sizes: the NS set holds an element twice"),
        ),
        (
            DYNAMODB_JSON,
            '{"Item": {"product_id": {"S": "P1"}, "version": {"N": "1"}, "category": {"S": "toys"}, "blob": {"B": "not base64!"}}}',
            Rejection("invalid-value", "attribute blob: not base64! is not base64: Only base64 data is allowed"),
        ),
        (
            DYNAMODB_JSON,
            '{"Item": {"product_id": {"S": "P1"}, "version": {"N": "1"}, "category": {"S": "toys"}, "x": {"S": "a", "N": "1"}}}',
            Rejection("invalid-value", f'attribute x: {{"S": "a", "N": "1"}} {NOT_AN_ATTRIBUTE_VALUE}'),
        ),
        # csv: cells by declared type, empty cell absent, undeclared columns kept as strings
        (
            CSV,
            'P1,toys,9.90,TRUE,"hello, ""world"""',
            {
                "product_id": {"S": "P1"},
                "category": {"S": "toys"},
                "price": {"N": "9.9"},
                "active": {"BOOL": True},
                "note": {"S": 'hello, "world"'},
            },
        ),
        (CSV, "P1,toys,,,", {"product_id": {"S": "P1"}, "category": {"S": "toys"}}),
        (CSV, "P1,toys,9.90,true", Rejection("wrong-cell-count", "expected 5 cells, as in the header; got 4")),
        (CSV, 'P1,"toys,9.90,true,', Rejection("invalid-csv", "invalid CSV: unexpected end of data")),
        (CSV, ",toys,1,true,", Rejection("missing-key", "key attribute product_id is missing")),
        (CSV, "P1,,1,true,", Rejection("missing-attribute", "required attribute category is missing")),
        (CSV, "P1,toys,cheap,true,", Rejection("wrong-attribute-type", 'attribute price must be a number, got a string ("cheap")')),
        (CSV, "P1,toys,1,yes,", Rejection("wrong-attribute-type", 'attribute active must be a boolean, got a string ("yes")')),
        (
            CSV,
            "P1,toys,1e999,true,",
            Rejection(
                "invalid-value", "attribute price: 1e999 is outside DynamoDB's number range (magnitudes from 1E-130 to below 1E+126)"
            ),
        ),
    ],
)
def test_each_line_is_an_item_or_a_rejection_with_its_exact_reason(plan, text, expected):
    parsed = parse_line(text, plan, header=CSV_HEADER if plan is CSV else None)
    if isinstance(expected, Rejection):
        assert (parsed.item, parsed.rejection) == (None, expected)
    else:
        assert (parsed.item, parsed.rejection) == (expected, None)


def test_the_stamp_is_added_and_counted_in_the_size():
    stamp = {"expires_at": {"N": "1800000000"}, "load_generation": {"S": "g" * 32}}
    parsed = parse_line('{"product_id": "P1", "category": "toys", "expires_at": 5}', JSONL, stamp=stamp)
    assert parsed.item == {"product_id": {"S": "P1"}, "category": {"S": "toys"}, **stamp}
    limit = 10 + 2 + 8 + 4 + (10 + 2) + (15 + 32)
    exact = parse_line('{"product_id": "P1", "category": "toys"}', parse_lookup_plan(_plan(maxItemBytes=limit)), stamp=stamp)
    over = parse_line('{"product_id": "P1", "category": "toys"}', parse_lookup_plan(_plan(maxItemBytes=limit - 1)), stamp=stamp)
    assert (exact.rejection, over.rejection) == (None, Rejection("item-too-large", f"the item is {limit} bytes; the limit is {limit - 1}"))


def test_a_rejected_line_keeps_its_key_when_the_key_is_valid():
    # Full refresh keeps the keys that only rejected lines name; a line without a valid key names none.
    assert parse_line('{"product_id": "P7", "category": 5}', JSONL).key == ("P7",)
    assert parse_line('{"product_id": "", "category": "toys"}', JSONL).key is None
    assert parse_line('{"Item": {"product_id": {"S": "P1"}, "version": {"N": "1.50"}}}', DYNAMODB_JSON).key == ("P1", "1.5")


@pytest.mark.parametrize(
    ("data", "chunk", "probe", "starts"),
    [
        (b"aaaa\nbbbb\ncccc\n", 5, 3, [0, 5, 10]),  # each boundary right after a break
        (b"aaaa\nbbbb\ncccc\n", 4, 3, [0, 5, 10]),  # boundaries inside lines move to the next line start
        (b"a\n" + b"x" * 40 + b"\nb\nc", 8, 4, [0, 43]),  # a long line swallows boundaries; probes read on
        (b"aaaa\nbbbb", 4, 2, [0, 5]),  # no break at the end
        (b"aaaa\nbbbb", 7, 2, [0]),  # a boundary in the last line finds no line after it
        (b"aaaa\nbbbb\n", 9, 2, [0]),  # the last boundary finds only the end of the object
        (b"", 4, 2, []),
    ],
)
def test_ranges_start_at_line_starts_and_cover_the_object(data, chunk, probe, starts):
    reads: list[tuple[int, int]] = []

    def read(first: int, last: int) -> bytes:
        reads.append((first, last))
        return data[first : last + 1]

    ranges = split_ranges(read, len(data), chunk, probe)
    assert [first for first, _ in ranges] == starts
    assert b"".join(data[first : last + 1] for first, last in ranges) == data
    assert all(last - first + 1 <= probe for first, last in reads)


def test_checkpoint_keys_and_generations_are_stable_per_export():
    assert url_safe_key("exports/2026/11 v2/") == "exports%2F2026%2F11%20v2%2F"
    assert checkpoint_location("s3://assets/checkpoints/", "products", "exports/a/", "d1") == (
        "assets",
        "checkpoints/products/exports%2Fa%2F/d1.json",
    )
    generation = load_generation("exports/a/", "d1")
    assert generation == load_generation("exports/a/", "d1")
    assert len({generation, load_generation("exports/a/", "d2"), load_generation("exports/b/", "d1")}) == 3


class _FakeTable:
    """batch_write_item against a dict: `script` answers call n (throttle, a number of items left unprocessed, or write all)."""

    def __init__(self, script=(), refuse: str | None = None) -> None:
        self.items: dict[str, dict] = {}
        self.requests: list[list[str]] = []
        self._script = list(script)
        self._refuse = refuse
        self._lock = threading.Lock()

    def batch_write_item(self, RequestItems):
        [(table, entries)] = RequestItems.items()
        keys = [entry["PutRequest"]["Item"]["pk"]["S"] for entry in entries]
        with self._lock:
            self.requests.append(keys)
            answer = self._script.pop(0) if self._script else None
        if len(set(keys)) != len(keys):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "duplicate keys"}}, "BatchWriteItem")
        if self._refuse in keys:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "item refused"}}, "BatchWriteItem")
        if answer == "throttle":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "BatchWriteItem")
        left = answer if isinstance(answer, int) else 0
        for entry in entries[: len(entries) - left]:
            self.items[entry["PutRequest"]["Item"]["pk"]["S"]] = entry["PutRequest"]["Item"]
        return {"UnprocessedItems": {table: entries[len(entries) - left :]} if left else {}}


def _write(table: _FakeTable, keys: list[str], **tuning) -> tuple[WriteCounts, list[float]]:
    counts, pauses = WriteCounts(), []
    settings = LoaderTuning(threads=1, backoff_base_seconds=0.01, **tuning)
    with BatchWriter(table, "t", ["pk"], settings, counts, sleep=pauses.append) as writer:
        for line, key in enumerate(keys, start=1):
            writer.add(WriteEntry((key,), {"PutRequest": {"Item": {"pk": {"S": key}, "line": {"N": str(line)}}}}, line, f"line of {key}"))
    return counts, pauses


def test_batches_hold_25_entries_and_never_a_key_twice():
    table = _FakeTable()
    keys = [f"K{index}" for index in range(30)] + ["K30", "K31", "K30"]
    counts, _ = _write(table, keys)
    assert [len(request) for request in table.requests] == [25, 7, 1]
    assert table.items["K30"]["line"] == {"N": "33"}  # the later line is written by the later request
    assert (counts.written, counts.requests, counts.failed) == (33, 3, 0)


def test_throttling_and_unprocessed_items_are_sent_again_until_written():
    table = _FakeTable(script=["throttle", 10, "throttle", None, 3, None])
    counts, pauses = _write(table, [f"K{index}" for index in range(30)])
    # 25 entries: throttled, 15 written + 10 back, throttled, 10 written; 5 entries: 2 written + 3 back, 3 written
    assert [len(request) for request in table.requests] == [25, 25, 10, 10, 5, 3]
    assert sorted(table.items) == sorted(f"K{index}" for index in range(30))
    assert (counts.written, counts.requests, counts.retries, counts.unprocessed_retried, counts.failed) == (30, 6, 2, 13, 0)
    assert len(pauses) == 4
    assert [pause <= 0.01 * 2**attempt for attempt, pause in zip([0, 1, 2, 0], pauses, strict=True)] == [True] * 4


def test_an_item_dynamodb_refuses_is_refused_alone():
    table = _FakeTable(refuse="K3")
    counts, _ = _write(table, [f"K{index}" for index in range(5)])
    assert table.requests == [["K0", "K1", "K2", "K3", "K4"], ["K0"], ["K1"], ["K2"], ["K3"], ["K4"]]
    assert sorted(table.items) == ["K0", "K1", "K2", "K4"]
    assert counts.refused == [(4, "line of K3", "item refused")]
    assert (counts.written, counts.failed) == (4, 0)


def test_entries_still_throttled_at_the_deadline_are_failed_not_dropped():
    now = [0.0]
    table = _FakeTable(script=["throttle"] * 100)
    counts, pauses = WriteCounts(), []
    tuning = LoaderTuning(threads=1, deadline_seconds=2.0, backoff_base_seconds=0.5, backoff_cap_seconds=1.0)

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    with BatchWriter(table, "t", ["pk"], tuning, counts, sleep=sleep, clock=lambda: now[0]) as writer:
        for index in range(3):
            writer.add(WriteEntry((f"K{index}",), {"PutRequest": {"Item": {"pk": {"S": f"K{index}"}}}}, index + 1))
    assert (counts.written, counts.failed) == (0, 3)
    assert counts.failures == [
        f"3 item(s), e.g. key ['K0']: still ProvisionedThroughputExceededException after {len(pauses) + 1} attempts at the deadline"
    ]
    assert sum(pauses) <= 2.0


# ---------------------------------------------------------------------------------------------
# Runs against moto


@dataclass(frozen=True)
class Env:
    s3: object
    dynamodb: object
    clients: LookupClients


@pytest.fixture(scope="module")
def env(spark, moto_endpoint) -> Env:
    def client(service: str):
        return boto3.client(
            service, endpoint_url=moto_endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )

    s3, dynamodb = client("s3"), client("dynamodb")
    for bucket in (ASSETS, EXPORTS, REPORTS, DUMPS):
        s3.create_bucket(Bucket=bucket)
    spark.sparkContext.addPyFile(lookup_faults.__file__)  # the fault-injecting clients run in the Python workers
    assert client("sns").create_topic(Name=NOTIFICATIONS.rsplit(":", 1)[1])["TopicArn"] == NOTIFICATIONS
    return Env(s3=s3, dynamodb=dynamodb, clients=LookupClients(s3=s3, dynamodb=dynamodb))


def _table(env: Env, key=(("product_id", "S"),)) -> str:
    name = f"lookup-{uuid.uuid4().hex[:10]}"
    env.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": attribute, "KeyType": kind} for (attribute, _), kind in zip(key, ("HASH", "RANGE"), strict=False)],
        AttributeDefinitions=[{"AttributeName": attribute, "AttributeType": kind} for attribute, kind in key],
        BillingMode="PAY_PER_REQUEST",
    )
    env.dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    return name


def _arguments(env: Env, table: str, plan: dict, scenario: str, export: str = "latest") -> dict[str, str]:
    plan_key = f"plans/{scenario}/{uuid.uuid4().hex[:6]}.json"
    env.s3.put_object(Bucket=ASSETS, Key=plan_key, Body=json.dumps(plan).encode())
    return {
        "lookup_uri": f"s3://{ASSETS}/{plan_key}",
        "table_name": table,
        "export_bucket": EXPORTS,
        "export_prefix": f"{scenario}/",
        "checkpoint_uri": f"s3://{ASSETS}/checkpoints/{scenario}/",
        "report_bucket": REPORTS,
        "report_prefix": REPORT_PREFIX,
        "notification_topic_arn": NOTIFICATIONS,
        "stack": STACK,
        "export": export,
    }


def _export(env: Env, key: str, lines: list[bytes], *, marker: str | None = "_SUCCESS") -> bytes:
    """One part of an export folder (the key's folder), and the folder's completion marker after it unless `marker` is None."""
    body = b"\n".join(lines) + b"\n"
    env.s3.put_object(Bucket=EXPORTS, Key=key, Body=body)
    if marker is not None:
        env.s3.put_object(Bucket=EXPORTS, Key=f"{key.rsplit('/', 1)[0]}/{marker}", Body=b"")
    return body


def _run(spark, env: Env, arguments: dict, **options) -> dict:
    options.setdefault("progress", lambda message: None)
    return run_loader(spark, arguments, env.clients, **options).to_dict()


def _seed(env: Env, table: str, items: list[dict]) -> None:
    for start in range(0, len(items), 25):
        response = env.dynamodb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        )
        assert not response["UnprocessedItems"]


def _stored(env: Env, table: str) -> dict[tuple, dict]:
    """The whole table, by key, as DynamoDB's export writes it (B as base64, set members sorted)."""
    description = env.dynamodb.describe_table(TableName=table)["Table"]
    key_names = [entry["AttributeName"] for entry in sorted(description["KeySchema"], key=lambda entry: entry["KeyType"])]
    prefix = f"{table}/{uuid.uuid4().hex[:8]}"
    export = env.dynamodb.export_table_to_point_in_time(
        TableArn=description["TableArn"], S3Bucket=DUMPS, S3Prefix=prefix, ExportFormat="DYNAMODB_JSON"
    )
    deadline = time.monotonic() + 30
    while (
        status := env.dynamodb.describe_export(ExportArn=export["ExportDescription"]["ExportArn"])["ExportDescription"]["ExportStatus"]
    ) == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the table export did not finish"
        time.sleep(0.05)
    assert status == "COMPLETED"
    [dump] = env.s3.list_objects_v2(Bucket=DUMPS, Prefix=prefix + "/")["Contents"]
    lines = gzip.decompress(env.s3.get_object(Bucket=DUMPS, Key=dump["Key"])["Body"].read()).decode("utf-8").splitlines()
    items = [_sorted_sets(json.loads(line)["Item"]) for line in lines]
    return {tuple(next(iter(item[name].values())) for name in key_names): item for item in items}


def _sorted_sets(item: dict) -> dict:
    return {
        name: {kind: sorted(content) if kind in ("SS", "NS", "BS") else content for kind, content in value.items()}
        for name, value in item.items()
    }


def _report(env: Env, lookup: str, run_id: str, name: str = "report.json"):
    body = env.s3.get_object(Bucket=REPORTS, Key=f"{REPORT_PREFIX}{lookup}/{run_id}/{name}")["Body"].read().decode("utf-8")
    return json.loads(body) if name.endswith(".json") else [json.loads(line) for line in body.splitlines()]


def _checkpoint_objects(env: Env, scenario: str) -> list[str]:
    listed = env.s3.list_objects_v2(Bucket=ASSETS, Prefix=f"checkpoints/{scenario}/")
    return [entry["Key"] for entry in listed.get("Contents", [])]


# Bad lines of a products export: (line, code, exact reason). The item-too-large one depends on the stamp.
BAD_LINES: list[tuple[bytes, str, str]] = [
    (b'{"product_id": "B1", "category": "x"', "invalid-json", "invalid JSON: Expecting ',' delimiter at column 37"),
    (b'["P1", "toys"]', "not-an-object", "not a JSON object: the line holds an array"),
    (b'{"category": "toys"}', "missing-key", "key attribute product_id is missing"),
    (b'{"product_id": null, "category": "toys"}', "missing-key", "key attribute product_id is missing (null)"),
    (b'{"product_id": 17, "category": "toys"}', "wrong-key-type", "key attribute product_id must be a string, got a number (17)"),
    (b'{"product_id": "", "category": "toys"}', "empty-key", "key attribute product_id is an empty string"),
    (
        b'{"product_id": "' + b"K" * 2100 + b'", "category": "toys"}',
        "key-too-long",
        "key attribute product_id is 2100 bytes long; DynamoDB allows at most 2048",
    ),
    (b'{"product_id": "B8", "price": 1}', "missing-attribute", "required attribute category is missing"),
    (
        b'{"product_id": "B9", "category": "toys", "price": "cheap"}',
        "wrong-attribute-type",
        'attribute price must be a number, got a string ("cheap")',
    ),
    (
        b'{"product_id": "B10", "category": "toys", "weight": 1e400}',
        "invalid-value",
        "attribute weight: 1e400 is outside DynamoDB's number range (magnitudes from 1E-130 to below 1E+126)",
    ),
    (
        b'{"product_id": "B11", "category": "toys", "notes": "' + b"x" * 5000 + b'"}',
        "item-too-large",
        "the item is {size} bytes; the limit is 4096",
    ),
    (b'{"product_id": "B12", "category": NaN}', "invalid-json", "invalid JSON: NaN is not a JSON value"),
    (b'{"product_id": "B13", "category": "\xff"}', "invalid-json", "the line is not valid UTF-8"),
    (b'"just a string"', "not-an-object", "not a JSON object: the line holds a string"),
    (b'{"product_id": "B15", "category": true}', "wrong-attribute-type", "attribute category must be a string, got a boolean (true)"),
    # a rejected line for a key that a good line loads: the good line's item stays
    (b'{"product_id": "P000010", "category": ["toys"]}', "wrong-attribute-type", "attribute category must be a string, got a list"),
]
CATEGORIES = ("toys", "games", "books", "garden", "kitchen")
PRICE_DIGITS = {0: ("00", ""), 1: ("25", ".25"), 2: ("50", ".5"), 3: ("75", ".75")}  # token decimals -> stored N suffix


@dataclass
class Products:
    body: bytes
    items: dict[tuple, dict]  # the table it should leave, without the stamp
    rejected: list[dict]  # the rejected.jsonl it should produce
    lines: int  # non-blank lines
    good: int


def _products(env: Env, key: str, count: int, *, bad_every: int, stamp_bytes: int = 0, first: int = 0) -> Products:
    """A jsonl export of products first..first+count-1 with bad lines, later duplicates, blank and CRLF lines.

    The expected table follows the lines in order, a later good line replacing an earlier one.
    """
    lines: list[bytes] = []
    items: dict[tuple, dict] = {}
    rejected: list[dict] = []
    good = 0
    for index in range(first, first + count):
        if index % 5003 == 2000:
            lines.append(b"   ")  # blank: skipped, but counted in line numbers
        if index % bad_every == bad_every - 1:
            text, code, reason = BAD_LINES[(index // bad_every) % len(BAD_LINES)]
            lines.append(text)
            shown = text.decode("utf-8", "backslashreplace")
            rejected.append(
                {
                    "part": key,
                    "line": len(lines),
                    "code": code,
                    "reason": reason.format(size=10 + 3 + 8 + 4 + 5 + 5000 + stamp_bytes),
                    "text": shown,
                }
            )
            continue
        product, category = index, CATEGORIES[index % len(CATEGORIES)]
        if index % 997 == 500:
            product, category = index - 300, "updated"  # a later line for an earlier product (usually the same range)
        elif index % 1009 == 17 and index - first >= 20_000:
            product, category = index - 20_000, "moved"  # ... and one many ranges later
        product_id = f"P{product:06d}"
        record = {"product_id": product_id, "category": category}
        item = {"product_id": {"S": product_id}, "category": {"S": category}}
        if index % 50 == 3:  # lists and maps are rarer: moto takes a third longer to store an item that holds them
            record["tags"] = ["sale", index]
            item["tags"] = {"L": [{"S": "sale"}, {"N": str(index)}]}
        if index % 101 == 7:
            record["meta"] = {"new": True, "note": None}
            item["meta"] = {"M": {"new": {"BOOL": True}, "note": {"NULL": True}}}
        text = json.dumps(record)
        if index % 13 == 0:
            text = text[:-1] + ', "price": null}'  # an optional declared attribute given as null is left out
        elif index % 7:
            token, suffix = PRICE_DIGITS[index % 4]
            text = text[:-1] + f', "price": {index // 4}.{token}}}'
            item["price"] = {"N": f"{index // 4}{suffix}"}
        lines.append(text.encode() + (b"\r" if index % 4999 == 0 else b""))
        items[(product_id,)] = item
        good += 1
    body = _export(env, key, lines)
    return Products(body=body, items=items, rejected=rejected, lines=sum(1 for line in lines if line.strip()), good=good)


def _by_reason(rejected: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in rejected:
        counts[record["code"]] = counts.get(record["code"], 0) + 1
    return dict(sorted(counts.items()))


def test_a_50k_line_export_loads_every_good_line_once_and_reports_every_bad_line(spark, env):
    table = _table(env)
    arguments = _arguments(env, table, PRODUCTS_PLAN, "big")
    chunk = 1024 * 1024
    export = _products(env, "big/2026-11-23/products.jsonl", 50_000, bad_every=1000)
    report = _run(spark, env, arguments, tuning=LoaderTuning(chunk_bytes=chunk), run_id="big-1")

    assert _stored(env, table) == export.items
    assert _report(env, "products", "big-1", "rejected.jsonl") == export.rejected
    loaded = len(export.items)
    assert {name: report[name] for name in ("status", "lines", "loaded", "rejected", "rejectedByReason", "duplicates", "deleted")} == {
        "status": "succeeded",
        "lines": export.lines,
        "loaded": loaded,
        "rejected": len(export.rejected),
        "rejectedByReason": _by_reason(export.rejected),
        "duplicates": export.good - loaded,
        "deleted": 0,
    }
    assert set(report["rejectedByReason"]) == {code for _, code, _ in BAD_LINES}
    part = env.s3.head_object(Bucket=EXPORTS, Key="big/2026-11-23/products.jsonl")
    assert {name: report["export"][name] for name in ("folder", "marker", "listing", "parts", "unlisted")} == {
        "folder": "big/2026-11-23/",
        "marker": "big/2026-11-23/_SUCCESS",
        "listing": "folder",
        "parts": [{"key": "big/2026-11-23/products.jsonl", "bytes": part["ContentLength"], "gzip": False}],
        "unlisted": [],
    }
    assert report["ranges"] == {
        "total": math.ceil(len(export.body) / chunk),
        "skipped": 0,
        "loaded": math.ceil(len(export.body) / chunk),
        "failed": 0,
        "failures": {},
    }
    # Every item sent once: one PutRequest per loaded item, in full batches but for each range's last.
    assert (report["retries"], report["unprocessedRetried"]) == (0, 0)
    assert math.ceil(loaded / 25) <= report["requests"] <= math.ceil(loaded / 25) + report["ranges"]["total"]
    assert report["deletion"] == {"status": "not requested"}
    assert report["rejectedLocation"] == f"s3://{REPORTS}/{REPORT_PREFIX}products/big-1/rejected.jsonl"
    assert _report(env, "products", "big-1") == report
    assert _checkpoint_objects(env, "big") == []


class Crash(Exception):
    pass


def test_a_crashed_load_resumes_from_its_checkpoint_and_ends_like_an_uninterrupted_one(spark, env):
    table = _table(env)
    plan = {**PRODUCTS_PLAN, "ttl": {"attribute": "expires_at", "days": 30}, "fullRefresh": True}
    arguments = _arguments(env, table, plan, "crash")
    first_load, rerun_at = 1_800_000_000, 1_900_000_000
    expires = first_load + 30 * 86_400  # 1802592000: 7 significant digits, 5 bytes
    export = _products(env, "crash/1/products.jsonl", 2000, bad_every=125, stamp_bytes=(10 + 5) + (15 + 32))
    stale = {
        f"S{index:03d}": {"product_id": {"S": f"S{index:03d}"}, "category": {"S": "gone"}, "load_generation": {"S": "older"}}
        for index in range(30)
    }
    stale["B9"] = {
        "product_id": {"S": "B9"},
        "category": {"S": "kept: its line in the export is rejected"},
        "load_generation": {"S": "older"},
    }
    stale["P000005"] = {"product_id": {"S": "P000005"}, "category": {"S": "old value"}, "load_generation": {"S": "older"}}
    _seed(env, table, list(stale.values()))
    tuning = LoaderTuning(chunk_bytes=24 * 1024)

    def crash_after_three(range_index: int, recorded: int) -> None:
        if recorded == 3:
            raise Crash(f"the driver died after recording range {range_index}")

    with pytest.raises(Crash):
        _run(spark, env, arguments, tuning=tuning, run_id="crash-1", now=lambda: first_load, on_range_recorded=crash_after_three)
    crashed = _report(env, "products", "crash-1")
    assert (crashed["status"], crashed["failure"]["reason"]) == ("failed", "unexpected-error")
    [checkpoint_key] = [key for key in _checkpoint_objects(env, "crash") if key.endswith(".json")]
    checkpoint = json.loads(env.s3.get_object(Bucket=ASSETS, Key=checkpoint_key)["Body"].read())
    completed = len(checkpoint["completed"])
    assert completed >= 3
    assert checkpoint["loadedAt"] == first_load
    half_loaded = _stored(env, table)
    assert all((key,) in half_loaded for key in stale)  # nothing is deleted before the whole export is loaded

    report = _run(spark, env, arguments, tuning=tuning, run_id="crash-2", now=lambda: rerun_at)

    generation = crashed["loadGeneration"]
    expected = {
        key: {**item, "expires_at": {"N": str(expires)}, "load_generation": {"S": generation}} for key, item in export.items.items()
    }
    expected[("B9",)] = stale["B9"]
    assert _stored(env, table) == expected
    total = math.ceil(len(export.body) / tuning.chunk_bytes)
    assert report["ranges"] == {"total": total, "skipped": completed, "loaded": total - completed, "failed": 0, "failures": {}}
    assert {
        name: report[name]
        for name in ("status", "loadGeneration", "lines", "loaded", "rejected", "rejectedByReason", "duplicates", "deleted")
    } == {
        "status": "succeeded",
        "loadGeneration": generation,
        "lines": export.lines,
        "loaded": len(export.items),
        "rejected": len(export.rejected),
        "rejectedByReason": _by_reason(export.rejected),
        "duplicates": export.good - len(export.items),
        "deleted": len(stale) - 2,  # B9 is kept, P000005 is in the export
    }
    assert report["deletion"] == {"status": "done", "segments": spark.sparkContext.defaultParallelism, "keptRejectedKeys": 1}
    assert _report(env, "products", "crash-2", "rejected.jsonl") == export.rejected
    assert _checkpoint_objects(env, "crash") == []


def test_throttling_and_unprocessed_items_lose_nothing(spark, env):
    table = _table(env)
    arguments = _arguments(env, table, PRODUCTS_PLAN, "throttled")
    export = _products(env, "throttled/1/products.jsonl", 1200, bad_every=10_000)
    factory = faulty_client_factory(throttle=[True, False, False], unprocessed=[False, True])
    tuning = LoaderTuning(chunk_bytes=12 * 1024, threads=4, backoff_base_seconds=0.001, backoff_cap_seconds=0.01)
    report = _run(spark, env, arguments, tuning=tuning, client_factory=factory, run_id="throttled-1")

    assert _stored(env, table) == export.items
    assert (report["status"], report["loaded"], report["rejected"]) == ("succeeded", len(export.items), 0)
    # Each range's calls 0, 3, 6, ... are throttled, and calls 1, 5, 7, 11, ... write only half their items.
    requests, ranges = report["requests"], report["ranges"]["total"]
    assert ranges >= 4
    assert requests / 3 <= report["retries"] <= requests / 3 + ranges
    assert report["unprocessedRetried"] >= requests / 3 - 2 * ranges


def test_full_refresh_removes_stale_keys_after_the_load_and_a_plain_load_keeps_them(spark, env):
    table = _table(env)
    # what an earlier full refresh left: P000000..P000299
    _seed(
        env,
        table,
        [{"product_id": {"S": f"P{index:06d}"}, "category": {"S": "before"}, "load_generation": {"S": "older"}} for index in range(300)],
    )
    refresh = _arguments(env, table, {**PRODUCTS_PLAN, "fullRefresh": True}, "refresh", export="refresh/b/")
    lines = [json.dumps({"product_id": f"P{index:06d}", "category": "after"}).encode() for index in range(100, 400)]
    lines.append(b'{"product_id": "P000050", "category": 50}')  # rejected: P000050 keeps its last good value
    lines.append(b"{not json")
    _export(env, "refresh/b/products.jsonl", lines)
    counts_during_load: list[int] = []
    report = _run(
        spark,
        env,
        refresh,
        tuning=LoaderTuning(chunk_bytes=4 * 1024),
        run_id="refresh-1",
        on_range_recorded=lambda *_: counts_during_load.append(env.dynamodb.describe_table(TableName=table)["Table"]["ItemCount"]),
    )

    generation = report["loadGeneration"]
    after = {
        (f"P{index:06d}",): {"product_id": {"S": f"P{index:06d}"}, "category": {"S": "after"}, "load_generation": {"S": generation}}
        for index in range(100, 400)
    }
    kept = {("P000050",): {"product_id": {"S": "P000050"}, "category": {"S": "before"}, "load_generation": {"S": "older"}}}
    assert _stored(env, table) == after | kept
    assert (report["loaded"], report["rejected"], report["deleted"]) == (300, 2, 99)
    assert report["deletion"] == {"status": "done", "segments": spark.sparkContext.defaultParallelism, "keptRejectedKeys": 1}
    # While ranges were being written, nothing was deleted: the table only grew.
    assert len(counts_during_load) == report["ranges"]["total"] >= 3
    assert counts_during_load == sorted(counts_during_load) and counts_during_load[0] >= 300

    plain = _arguments(env, table, PRODUCTS_PLAN, "refresh", export="refresh/c/")
    _export(
        env,
        "refresh/c/products.jsonl",
        [json.dumps({"product_id": f"P{index:06d}", "category": "plain"}).encode() for index in range(390, 420)],
    )
    report = _run(spark, env, plain, tuning=LoaderTuning(chunk_bytes=512), run_id="refresh-2")

    plain_items = {(f"P{index:06d}",): {"product_id": {"S": f"P{index:06d}"}, "category": {"S": "plain"}} for index in range(390, 420)}
    assert _stored(env, table) == after | kept | plain_items
    assert (report["loaded"], report["deleted"], report["deletion"]) == (30, 0, {"status": "not requested"})


def test_a_failed_range_fails_the_run_without_deleting_and_a_corrected_export_loads_afresh(spark, env):
    table = _table(env)
    _seed(env, table, [{"product_id": {"S": "STALE"}, "category": {"S": "x"}, "load_generation": {"S": "older"}}])
    arguments = _arguments(env, table, {**PRODUCTS_PLAN, "fullRefresh": True}, "failing")
    lines = [json.dumps({"product_id": f"{'Q' if index == 150 else 'P'}{index:06d}", "category": "toys"}).encode() for index in range(300)]
    _export(env, "failing/1/products.jsonl", lines)
    tuning = LoaderTuning(chunk_bytes=4 * 1024)

    with pytest.raises(RunFailure) as raised:
        _run(spark, env, arguments, tuning=tuning, client_factory=faulty_client_factory(poison="Q"), run_id="failing-1")
    failed = _report(env, "products", "failing-1")
    total = failed["ranges"]["total"]
    [(failed_range, error)] = failed["ranges"]["failures"].items()
    assert error == "RuntimeError: injected failure on a batch with a Q* key"
    assert (raised.value.reason, raised.value.detail) == (
        "ranges-failed",
        f"1 of {total} range(s) were not fully loaded; a run of the same export loads only the ranges not loaded yet: range {failed_range}: {error}",
    )
    assert (failed["status"], failed["ranges"]["loaded"], failed["deletion"]) == (
        "failed",
        total - 1,
        {"status": "skipped", "reason": "not every range was loaded"},
    )
    assert ("STALE",) in _stored(env, table)
    [stale_checkpoint] = [key for key in _checkpoint_objects(env, "failing") if key.endswith(".json")]

    # The part is replaced (a new ETag, so another export): nothing of the old object's checkpoint is resumed, and it is cleaned up.
    corrected = [json.dumps({"product_id": f"P{index:06d}", "category": "fixed"}).encode() for index in range(300)]
    _export(env, "failing/1/products.jsonl", corrected)
    stale_seen_while_loading: list[bool] = []
    report = _run(
        spark,
        env,
        arguments,
        tuning=tuning,
        run_id="failing-2",
        on_range_recorded=lambda *_: stale_seen_while_loading.append(stale_checkpoint in _checkpoint_objects(env, "failing")),
    )
    assert stale_seen_while_loading == [False] * total  # discarded before the first write
    assert report["export"]["digest"] != failed["export"]["digest"]
    assert report["ranges"] == {"total": total, "skipped": 0, "loaded": total, "failed": 0, "failures": {}}
    assert (report["loaded"], report["deleted"]) == (300, 1)
    generation = {"S": report["loadGeneration"]}
    assert _stored(env, table) == {
        (f"P{index:06d}",): {"product_id": {"S": f"P{index:06d}"}, "category": {"S": "fixed"}, "load_generation": generation}
        for index in range(300)
    }
    assert stale_checkpoint.startswith("checkpoints/failing/products/failing%2F1%2F/")
    assert _checkpoint_objects(env, "failing") == []


def test_dynamodb_json_exports_with_a_sort_key_and_ttl(spark, env):
    table = _table(env, key=(("product_id", "S"), ("version", "N")))
    plan = {
        **PRODUCTS_PLAN,
        "key": {"partition": {"attribute": "product_id", "type": "string"}, "sort": {"attribute": "version", "type": "number"}},
        "attributes": [
            {"name": "category", "type": "string", "required": True},
            {"name": "in_stock", "type": "boolean", "required": False},
        ],
        "format": "dynamodb-json",
        "ttl": {"attribute": "expires_at", "days": 7},
    }
    arguments = _arguments(env, table, plan, "ddb-json")
    lines = [
        b'{"Item": {"product_id": {"S": "P1"}, "version": {"N": "1"}, "category": {"S": "toys"}, "in_stock": {"BOOL": true}, '
        b'"tags": {"SS": ["b", "a"]}, "sizes": {"NS": ["1.50", "2"]}, "dims": {"M": {"w": {"N": "10"}, "unit": {"NULL": true}}}, '
        b'"codes": {"L": [{"S": "x"}, {"N": "3"}]}, "blob": {"B": "AAE="}}}',
        b'{"product_id": {"S": "P1"}, "version": {"N": "2.0"}, "category": {"S": "games"}}',
        b'{"Item": {"product_id": {"S": "P2"}, "version": {"N": "1"}, "category": {"S": "toys"}}}',
        b'{"Item": {"product_id": {"S": "P2"}, "version": {"N": "1.0"}, "category": {"S": "books"}}}',
        b'{"Item": {"product_id": {"S": "P3"}, "version": {"S": "1"}, "category": {"S": "toys"}}}',
        b'{"Item": {"product_id": {"S": "P4"}, "version": {"N": "1"}, "category": "toys"}}',
        b"",
        b'{"Item": 5}',
    ]
    _export(env, "ddb-json/bare/part-0.json", lines)
    loaded_at = 1_800_000_000
    published: list[dict] = []
    recording_sns = SimpleNamespace(publish=lambda **message: published.append(message))
    clients = LookupClients(s3=env.s3, dynamodb=env.dynamodb, sns=recording_sns)
    report = run_loader(
        spark, arguments, clients, tuning=LoaderTuning(chunk_bytes=256), run_id="ddb-json-1", now=lambda: loaded_at, progress=lambda _: None
    ).to_dict()

    ttl = {"expires_at": {"N": str(loaded_at + 7 * 86_400)}}
    assert _stored(env, table) == {
        ("P1", "1"): {
            "product_id": {"S": "P1"},
            "version": {"N": "1"},
            "category": {"S": "toys"},
            "in_stock": {"BOOL": True},
            "tags": {"SS": ["a", "b"]},
            "sizes": {"NS": ["1.5", "2"]},
            "dims": {"M": {"w": {"N": "10"}, "unit": {"NULL": True}}},
            "codes": {"L": [{"S": "x"}, {"N": "3"}]},
            "blob": {"B": "AAE="},
            **ttl,
        },
        ("P1", "2"): {"product_id": {"S": "P1"}, "version": {"N": "2"}, "category": {"S": "games"}, **ttl},
        ("P2", "1"): {
            "product_id": {"S": "P2"},
            "version": {"N": "1"},
            "category": {"S": "books"},
            **ttl,
        },  # 1.0 is the key 1: last line wins
    }
    assert _report(env, "products", "ddb-json-1", "rejected.jsonl") == [
        {
            "part": "ddb-json/bare/part-0.json",
            "line": 5,
            "code": "wrong-key-type",
            "reason": 'key attribute version must be a number, got a string ("1")',
            "text": lines[4].decode(),
        },
        {
            "part": "ddb-json/bare/part-0.json",
            "line": 6,
            "code": "invalid-value",
            "reason": f'attribute category: "toys" {NOT_AN_ATTRIBUTE_VALUE}',
            "text": lines[5].decode(),
        },
        {
            "part": "ddb-json/bare/part-0.json",
            "line": 8,
            "code": "not-an-object",
            "reason": "the Item member is a number, not an object of attributes",
            "text": lines[7].decode(),
        },
    ]
    assert (report["lines"], report["loaded"], report["rejected"], report["duplicates"]) == (7, 3, 3, 1)
    assert report["ranges"]["total"] >= 3
    assert [(message["TopicArn"], message["Subject"], json.loads(message["Message"])) for message in published] == [
        (
            NOTIFICATIONS,
            "[products] load succeeded: 3 loaded, 3 rejected",
            {
                "lookup": "products",
                "status": "succeeded",
                "export": "ddb-json/bare/",
                "parts": 1,
                "lines": 7,
                "loaded": 3,
                "rejected": 3,
                "rejectedByReason": {"invalid-value": 1, "not-an-object": 1, "wrong-key-type": 1},
                "duplicates": 1,
                "deleted": 0,
                "failure": None,
                "report": f"s3://{REPORTS}/{REPORT_PREFIX}products/ddb-json-1/report.json",
            },
        )
    ]


def test_csv_exports_through_the_entry_script(spark, env):
    table = _table(env, key=(("store_id", "N"), ("product_id", "S")))
    plan = {
        **PRODUCTS_PLAN,
        "key": {"partition": {"attribute": "store_id", "type": "number"}, "sort": {"attribute": "product_id", "type": "string"}},
        "attributes": [*PRODUCTS_PLAN["attributes"], {"name": "active", "type": "boolean", "required": False}],
        "format": "csv",
    }
    arguments = _arguments(env, table, plan, "csv")
    lines = [
        "\ufeffstore_id,product_id,category,price,active,note",
        '1,P1,toys,9.90,true,"hello, world"',
        "1,P2,games,,FALSE,",
        '2,P1,"books",12,,"said ""hi"""',
        "x,P3,toys,1,true,",
        "3,P4,toys,cheap,true,",
        "3,P5,toys,1",
        "3,,toys,1,true,",
        '3,"P8,toys,1,true,',
        "1,P2,toys,5,true,last\r",
    ]
    _export(env, "csv/1/stores.csv", [line.encode() for line in lines])
    argv = ["lookup_load_job.py", "--JOB_RUN_ID", "jr_csv"] + [part for name, value in arguments.items() for part in (f"--{name}", value)]

    assert lookup_load_job.main(argv) == 0

    assert _stored(env, table) == {
        ("1", "P1"): {
            "store_id": {"N": "1"},
            "product_id": {"S": "P1"},
            "category": {"S": "toys"},
            "price": {"N": "9.9"},
            "active": {"BOOL": True},
            "note": {"S": "hello, world"},
        },
        ("1", "P2"): {
            "store_id": {"N": "1"},
            "product_id": {"S": "P2"},
            "category": {"S": "toys"},
            "price": {"N": "5"},
            "active": {"BOOL": True},
            "note": {"S": "last"},
        },
        ("2", "P1"): {
            "store_id": {"N": "2"},
            "product_id": {"S": "P1"},
            "category": {"S": "books"},
            "price": {"N": "12"},
            "note": {"S": 'said "hi"'},
        },
    }
    assert [(record["line"], record["code"], record["reason"]) for record in _report(env, "products", "jr_csv", "rejected.jsonl")] == [
        (5, "wrong-key-type", 'key attribute store_id must be a number, got a string ("x")'),
        (6, "wrong-attribute-type", 'attribute price must be a number, got a string ("cheap")'),
        (7, "wrong-cell-count", "expected 6 cells, as in the header; got 4"),
        (8, "missing-key", "key attribute product_id is missing"),
        (9, "invalid-csv", "invalid CSV: unexpected end of data"),
    ]
    report = _report(env, "products", "jr_csv")
    assert (report["runId"], report["status"], report["lines"], report["loaded"], report["duplicates"]) == ("jr_csv", "succeeded", 9, 3, 1)
    # The entry script publishes the load's counts for its `stack` argument's stack, beside the lookup.
    published = boto3.client("cloudwatch").list_metrics(Namespace="Ingestion", Dimensions=[{"Name": "Stack", "Value": STACK}])["Metrics"]
    series = (("Lookup", "products"), ("Stack", STACK))
    named = {(metric["MetricName"], tuple(sorted((pair["Name"], pair["Value"]) for pair in metric["Dimensions"]))) for metric in published}
    assert sorted(named) == [
        ("LookupItemsDeleted", series),
        ("LookupItemsLoaded", series),
        ("LookupLinesRead", series),
        ("LookupLinesRejected", series),
    ]

    # A rerun of the completed export puts the same items again: same table, same counts.
    stored = _stored(env, table)
    assert lookup_load_job.main([*argv[:2], "jr_csv_again", *argv[3:]]) == 0
    assert _stored(env, table) == stored
    again = _report(env, "products", "jr_csv_again")
    assert {name: again[name] for name in ("lines", "loaded", "rejected", "duplicates")} == {
        "lines": 9,
        "loaded": 3,
        "rejected": 5,
        "duplicates": 1,
    }
    assert again["ranges"]["skipped"] == 0


# ---------------------------------------------------------------------------------------------
# Exports of many parts


def _put(env: Env, key: str, body: bytes) -> dict:
    """Puts one object and returns what the manifests of real exports say of it: its size and ETag."""
    etag = env.s3.put_object(Bucket=EXPORTS, Key=key, Body=body)["ETag"]
    return {"bytes": len(body), "etag": etag.strip('"')}


def _product_line(product: str, category: str) -> bytes:
    return json.dumps({"product_id": product, "category": category}).encode()


def test_a_folder_of_parts_is_loaded_as_one_export_once_its_marker_lands_and_a_crash_between_parts_resumes(spark, env):
    table = _table(env)
    # What the previous full refresh left: R1..R5 are stale unless a part holds them; ONLY3 is held by part 3 only.
    _seed(
        env,
        table,
        [
            {"product_id": {"S": key}, "category": {"S": "before"}, "load_generation": {"S": "older"}}
            for key in ("R1", "R2", "R3", "R4", "R5", "ONLY3", "P000001")
        ],
    )
    arguments = _arguments(env, table, {**PRODUCTS_PLAN, "fullRefresh": True}, "parts")
    folder = "parts/2026-11-26/"
    parts = {
        f"{folder}part-00000.jsonl": [_product_line(f"P{index:06d}", "first") for index in range(0, 120)] + [b"{broken"],
        f"{folder}part-00001.jsonl": [_product_line(f"P{index:06d}", "second") for index in range(100, 220)],
        f"{folder}part-00002.jsonl": [
            b"",
            _product_line("ONLY3", "third"),
            _product_line("P000001", "third"),
            b'["not an object"]',
            _product_line("LONG", "x" * 5000),
        ],
    }
    for key, lines in parts.items():
        _export(env, key, lines, marker=None)
    env.s3.put_object(Bucket=EXPORTS, Key=f"{folder}_committed_123", Body=b"{}")  # Spark's own bookkeeping: hidden, not a part
    _export(env, "parts/2026-11-27/part-00000.jsonl", [_product_line("NEWER", "not complete")], marker=None)

    # No folder is complete yet: nothing is loaded, nothing deleted.
    with pytest.raises(RunFailure) as raised:
        _run(spark, env, arguments, run_id="parts-0")
    assert (raised.value.reason, _report(env, "products", "parts-0")["export"]) == ("no-export", None)

    env.s3.put_object(Bucket=EXPORTS, Key=f"{folder}_SUCCESS", Body=b"")
    tuning = LoaderTuning(chunk_bytes=8 * 1024, line_limit=4096)  # each part is one range

    def crash_after_the_first_part(range_index: int, recorded: int) -> None:
        if recorded == 1:
            raise Crash(f"the driver died after part {range_index} was loaded")

    with pytest.raises(Crash):
        _run(spark, env, arguments, tuning=tuning, run_id="parts-1", on_range_recorded=crash_after_the_first_part)
    assert all((key,) in _stored(env, table) for key in ("R1", "ONLY3"))  # nothing is deleted before every part is loaded
    [checkpoint_key] = [key for key in _checkpoint_objects(env, "parts") if key.endswith(".json")]
    # The crash stops the run; a part whose load was under way when it struck may have been recorded too.
    recorded = len(json.loads(env.s3.get_object(Bucket=ASSETS, Key=checkpoint_key)["Body"].read())["completed"])
    assert 1 <= recorded < 3

    report = _run(spark, env, arguments, tuning=tuning, run_id="parts-2")

    generation = {"load_generation": {"S": report["loadGeneration"]}}
    expected = {(f"P{index:06d}",): "first" for index in range(0, 100)} | {(f"P{index:06d}",): "second" for index in range(100, 220)}
    expected |= {("ONLY3",): "third", ("P000001",): "third"}  # the last part's line wins
    assert _stored(env, table) == {
        key: {"product_id": {"S": key[0]}, "category": {"S": category}, **generation} for key, category in expected.items()
    }
    assert report["export"]["folder"] == folder  # the newer folder has no marker, so it is not an export yet
    assert [part["key"] for part in report["export"]["parts"]] == list(parts)
    assert (report["ranges"]["total"], report["ranges"]["skipped"], report["ranges"]["loaded"]) == (3, recorded, 3 - recorded)
    assert (report["lines"], report["loaded"], report["rejected"], report["duplicates"], report["deleted"]) == (
        121 + 120 + 4,
        len(expected),
        3,
        21,  # P000100..P000119 twice, P000001 twice
        5,
    )
    assert _report(env, "products", "parts-2", "rejected.jsonl") == [
        {
            "part": f"{folder}part-00000.jsonl",
            "line": 121,
            "code": "invalid-json",
            "reason": "invalid JSON: Expecting property name enclosed in double quotes at column 2",
            "text": "{broken",
        },
        {
            "part": f"{folder}part-00002.jsonl",
            "line": 4,
            "code": "not-an-object",
            "reason": "not a JSON object: the line holds an array",
            "text": '["not an object"]',
        },
        {
            "part": f"{folder}part-00002.jsonl",
            "line": 5,
            "code": "line-too-long",
            "reason": "the line is 5038 bytes long; the loader reads lines of at most 4096 bytes",
            "text": '{"product_id": "LONG", "category": "' + "x" * 164 + "...",
        },
    ]


def _dynamodb_export(env: Env, folder: str, data: dict[str, list[bytes]], *, counts: dict[str, int] | None = None) -> None:
    """A DynamoDB export to S3 as the service writes it: gzip data files, then the files manifest and the summary."""
    entries = []
    env.s3.put_object(Bucket=EXPORTS, Key=f"{folder}_started", Body=b"")
    for name, lines in data.items():
        stored = _put(env, f"{folder}data/{name}", gzip.compress(b"".join(line + b"\n" for line in lines)))
        count = (counts or {}).get(name, len(lines))
        entries.append({"itemCount": count, "md5Checksum": "unused", "etag": stored["etag"], "dataFileS3Key": f"{folder}data/{name}"})
    env.s3.put_object(Bucket=EXPORTS, Key=f"{folder}manifest-files.json", Body="".join(json.dumps(entry) + "\n" for entry in entries))
    summary = {
        "version": "2020-06-30",
        "exportArn": "arn:aws:dynamodb:us-east-1:123456789012:table/products/export/01764000000000-a1b2c3d4",
        "s3Bucket": EXPORTS,
        "s3Prefix": folder.split("AWSDynamoDB/")[0].rstrip("/"),
        "manifestFilesS3Key": f"{folder}manifest-files.json",
        "itemCount": sum(len(lines) for lines in data.values()),
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    }
    env.s3.put_object(Bucket=EXPORTS, Key=f"{folder}manifest-summary.json", Body=json.dumps(summary).encode())


def _dynamodb_item(product: str, category: str) -> bytes:
    return json.dumps({"Item": {"product_id": {"S": product}, "category": {"S": category}}}).encode()


def test_a_dynamodb_export_is_loaded_from_its_manifests_and_a_part_short_of_its_item_count_deletes_nothing(spark, env):
    table = _table(env)
    _seed(env, table, [{"product_id": {"S": "STALE"}, "category": {"S": "x"}, "load_generation": {"S": "older"}}])
    arguments = _arguments(env, table, {**PRODUCTS_PLAN, "format": "dynamodb-json", "fullRefresh": True}, "ddb-export")
    short = "ddb-export/AWSDynamoDB/01764000000000-short/"
    data = {
        "a1.json.gz": [_dynamodb_item(f"P{index}", "toys") for index in range(40)],
        "b2.json.gz": [],  # an empty partition still gets its (empty) file
        "c3.json.gz": [_dynamodb_item(f"P{index}", "books") for index in range(40, 60)] + [b'{"Item": {"product_id": {"N": "1"}}}'],
    }
    _dynamodb_export(env, short, data, counts={"c3.json.gz": 30})

    with pytest.raises(RunFailure) as raised:
        _run(spark, env, arguments, run_id="ddb-export-1")
    assert (raised.value.reason, raised.value.detail) == (
        "part-incomplete",
        f"1 part(s) do not hold what the manifest lists, so nothing is deleted: {short}data/c3.json.gz has 21 line(s); "
        "the manifest lists 30 item(s)",
    )
    assert ("STALE",) in _stored(env, table)

    complete = "ddb-export/AWSDynamoDB/01764000000001-whole/"
    _dynamodb_export(env, complete, data)
    env.s3.put_object(Bucket=EXPORTS, Key=f"{complete}data/stray.json.gz", Body=gzip.compress(_dynamodb_item("STRAY", "x") + b"\n"))
    report = _run(spark, env, arguments, run_id="ddb-export-2")

    generation = {"load_generation": {"S": report["loadGeneration"]}}
    assert _stored(env, table) == {
        (f"P{index}",): {"product_id": {"S": f"P{index}"}, "category": {"S": "toys" if index < 40 else "books"}, **generation}
        for index in range(60)
    }
    assert {name: report["export"][name] for name in ("folder", "marker", "listing", "unlisted")} == {
        "folder": complete,
        "marker": f"{complete}manifest-summary.json",
        "listing": "dynamodb-export",
        "unlisted": [f"{complete}data/stray.json.gz"],
    }
    assert [(part["key"], part["gzip"]) for part in report["export"]["parts"]] == [(f"{complete}data/{name}", True) for name in data]
    assert report["ranges"]["total"] == 3  # a gzip part is one range, also the empty partition's
    assert (report["loaded"], report["rejected"], report["deleted"]) == (60, 1, 1)
    assert _report(env, "products", "ddb-export-2", "rejected.jsonl") == [
        {
            "part": f"{complete}data/c3.json.gz",
            "line": 21,
            "code": "wrong-key-type",
            "reason": "key attribute product_id must be a string, got a number (1)",
            "text": '{"Item": {"product_id": {"N": "1"}}}',
        }
    ]


REDSHIFT_PLAN = {
    **PRODUCTS_PLAN,
    "format": "redshift-text",
    "fullRefresh": True,
    "unload": {"columns": ["product_id", "category", "price"], "delimiter": "|", "escape": True, "nullAs": ""},
}


def test_a_redshift_manifest_is_the_source_of_truth_a_missing_part_fails_the_load_and_deletes_nothing(spark, env):
    table = _table(env)
    _seed(env, table, [{"product_id": {"S": "STALE"}, "category": {"S": "x"}, "load_generation": {"S": "older"}}])
    arguments = _arguments(env, table, REDSHIFT_PLAN, "redshift")
    folder = "redshift/2026-11-26/"
    slices = {
        f"{folder}0000_part_00.gz": b"P1|toys|9.90\nP2|board games \\| puzzles|\n",
        f"{folder}0001_part_00.gz": b"P3|line one\\\nline two|12\nP4|back\\\\slash|1\n",
        f"{folder}0002_part_00.gz": b"P5|toys\nP6|caf\xc3\xa9 \xe2\x98\x95|3.5\n",
    }
    stored = {key: _put(env, key, gzip.compress(body)) for key, body in slices.items() if not key.endswith("0001_part_00.gz")}
    manifest = {
        "entries": [{"url": f"s3://{EXPORTS}/{key}", "meta": {"content_length": len(gzip.compress(body))}} for key, body in slices.items()],
        "schema": {"elements": [{"name": "product_id"}, {"name": "category"}, {"name": "price"}]},
        "author": {"name": "Amazon Redshift", "version": "1.0.0"},
        "meta": {"content_length": sum(len(gzip.compress(body)) for body in slices.values()), "record_count": 6},
    }
    env.s3.put_object(Bucket=EXPORTS, Key=f"{folder}manifest", Body=json.dumps(manifest).encode())
    assert len(stored) == 2

    with pytest.raises(RunFailure) as raised:
        _run(spark, env, arguments, run_id="redshift-1")
    assert (raised.value.reason, raised.value.detail) == (
        "missing-part",
        f"s3://{EXPORTS}/{folder}manifest: listed part {folder}0001_part_00.gz is missing",
    )
    assert ("STALE",) in _stored(env, table)

    _put(env, f"{folder}0001_part_00.gz", gzip.compress(slices[f"{folder}0001_part_00.gz"]))
    env.s3.put_object(Bucket=EXPORTS, Key=f"{folder}notes.txt", Body=b"not part of the unload")
    report = _run(spark, env, arguments, run_id="redshift-2")

    generation = {"load_generation": {"S": report["loadGeneration"]}}
    assert _stored(env, table) == {
        ("P1",): {"product_id": {"S": "P1"}, "category": {"S": "toys"}, "price": {"N": "9.9"}, **generation},
        ("P2",): {"product_id": {"S": "P2"}, "category": {"S": "board games | puzzles"}, **generation},
        ("P3",): {"product_id": {"S": "P3"}, "category": {"S": "line one\nline two"}, "price": {"N": "12"}, **generation},
        ("P4",): {"product_id": {"S": "P4"}, "category": {"S": "back\\slash"}, "price": {"N": "1"}, **generation},
        ("P6",): {"product_id": {"S": "P6"}, "category": {"S": "café ☕"}, "price": {"N": "3.5"}, **generation},
    }
    assert (report["export"]["listing"], report["export"]["unlisted"]) == ("manifest", [f"{folder}notes.txt"])
    assert (report["lines"], report["loaded"], report["rejected"], report["deleted"]) == (6, 5, 1, 1)
    [rejected] = _report(env, "products", "redshift-2", "rejected.jsonl")
    assert (rejected["part"], rejected["line"], rejected["code"], rejected["text"]) == (
        f"{folder}0002_part_00.gz",
        1,
        "wrong-cell-count",
        "P5|toys",
    )


@pytest.mark.parametrize(
    ("scenario", "plan", "lines", "expected", "rejected"),
    [
        (
            "data-pipeline",
            {**PRODUCTS_PLAN, "format": "data-pipeline-json"},
            [
                b'{"product_id": {"s": "P1"}, "category": {"s": "toys"}, "price": {"n": "9.90"}}',
                b'{"product_id": {"S": "P2"}, "category": {"S": "toys"}}',
            ],
            {("P1",): {"product_id": {"S": "P1"}, "category": {"S": "toys"}, "price": {"N": "9.9"}}},
            2,
        ),
        (
            "keys",
            {**PRODUCTS_PLAN, "format": "keys", "attributes": []},
            [b"P1", b" P2", b"P3\r"],
            {("P1",): {"product_id": {"S": "P1"}}, (" P2",): {"product_id": {"S": " P2"}}, ("P3",): {"product_id": {"S": "P3"}}},
            None,
        ),
    ],
)
def test_each_format_loads_through_a_folder(spark, env, scenario, plan, lines, expected, rejected):
    table = _table(env)
    arguments = _arguments(env, table, plan, scenario)
    _export(env, f"{scenario}/2026-11-26/part-00000", lines)
    report = _run(spark, env, arguments, run_id=scenario)
    assert _stored(env, table) == expected
    assert report["loaded"] == len(expected)
    if rejected is None:
        assert report["rejected"] == 0
    else:
        [record] = _report(env, "products", scenario, "rejected.jsonl")
        assert (record["part"], record["line"]) == (f"{scenario}/2026-11-26/part-00000", rejected)


@pytest.mark.parametrize(
    ("scenario", "change", "reason", "detail"),
    [
        (
            "refused-plan",
            {"plan": {**PRODUCTS_PLAN, "format": "xml", "ttl": {"attribute": "expires_at", "days": 0}}},
            "invalid-lookup-plan",
            "{plan_uri}: format: 'xml' is not one of jsonl, dynamodb-json, data-pipeline-json, redshift-text, csv, keys; ttl.days: 0 is not a whole number of days >= 1",
        ),
        (
            "refused-key",
            {"key": (("product_id", "N"),)},
            "table-key-mismatch",
            "table {table} has the key product_id (N); the plan has product_id (S)",
        ),
        (
            "refused-none",
            {"export": None},
            "no-export",
            f"there is no complete export under s3://{EXPORTS}/refused-none/: no folder holds a marker (_SUCCESS, manifest-summary.json, manifest)",
        ),
        (
            "refused-header",
            {"plan": {**PRODUCTS_PLAN, "format": "csv"}, "export": b"id,category\nP1,toys\n"},
            "invalid-export",
            f"s3://{EXPORTS}/refused-header/1/export: the CSV header cannot be loaded with the plan: key column 'product_id' is missing",
        ),
        (
            "refused-long-header",
            {
                "plan": {**PRODUCTS_PLAN, "format": "csv"},
                "export": b"product_id,category,price,notes_and_more\nP1,toys,1,x\n",
                "tuning": LoaderTuning(line_limit=16),
            },
            "invalid-export",
            f"s3://{EXPORTS}/refused-long-header/1/export: the CSV header is 40 bytes long; lines may be 16",
        ),
        (
            "refused-incomplete",
            {"export": "refused-incomplete/2/"},  # a folder asked for by name, whose parts are there but not its marker
            "no-export",
            f"s3://{EXPORTS}/refused-incomplete/2/ has no completion marker (_SUCCESS, manifest-summary.json, manifest): "
            "the export is not complete",
        ),
        (
            "refused-marker",
            {"export": "refused-marker/1/export"},
            "invalid-arguments",
            "--export 'refused-marker/1/export' is not latest, a folder ending in /, or a marker (_SUCCESS, manifest-summary.json, manifest)",
        ),
        (
            "refused-manifest",
            {"export": "refused-manifest/1/manifest", "manifest": b'{"files": ["export"]}'},
            "invalid-manifest",
            # the braces are doubled twice: once for this f-string, once for the test's .format
            f's3://{EXPORTS}/refused-manifest/1/manifest is not a manifest: expected {{{{"entries": [{{{{"url": "s3://..."}}}}, ...]}}}}',
        ),
    ],
)
def test_runs_that_cannot_load_fail_before_writing_with_the_reason(spark, env, scenario, change, reason, detail):
    table = _table(env, key=change.get("key", (("product_id", "S"),)))
    export = change.get("export")
    arguments = _arguments(env, table, change.get("plan", PRODUCTS_PLAN), scenario, export if isinstance(export, str) else "latest")
    if "export" not in change or isinstance(export, bytes):
        env.s3.put_object(Bucket=EXPORTS, Key=f"{scenario}/1/export", Body=export or b'{"product_id": "P1", "category": "toys"}\n')
        env.s3.put_object(Bucket=EXPORTS, Key=f"{scenario}/1/_SUCCESS", Body=b"")
    if isinstance(export, str):
        env.s3.put_object(Bucket=EXPORTS, Key=f"{scenario}/2/export", Body=b'{"product_id": "P1", "category": "toys"}\n')
    if "manifest" in change:
        env.s3.put_object(Bucket=EXPORTS, Key=f"{scenario}/1/manifest", Body=change["manifest"])
    with pytest.raises(RunFailure) as raised:
        _run(spark, env, arguments, run_id=scenario, tuning=change.get("tuning", LoaderTuning()))
    assert (raised.value.reason, raised.value.detail) == (reason, detail.format(table=table, plan_uri=arguments["lookup_uri"]))
    # A plan that cannot be read names no lookup; its report goes under unknown-lookup/.
    report = _report(env, "unknown-lookup" if reason == "invalid-lookup-plan" else "products", scenario)
    assert (report["status"], report["failure"]) == ("failed", {"reason": reason, "detail": raised.value.detail})
    assert _stored(env, table) == {}


@pytest.mark.parametrize(
    ("data", "chunk", "limit", "expected"),
    [
        (b"a\nbb\n\nccc", 2, 10, [b"a", b"bb", b"", b"ccc"]),  # lines across chunks; the last without a break
        (b"a\nbb\n", 64, 10, [b"a", b"bb"]),
        (b"ok\n" + b"x" * 25 + b"\nafter\n", 4, 10, [b"ok", ("x" * 10, 25), b"after"]),  # over the limit: its head and length
        (b"x" * 30, 8, 10, [("x" * 10, 30)]),  # one endless line, never ended
        (b"", 8, 10, []),
    ],
)
def test_lines_are_read_with_a_bound_and_an_overlong_line_is_given_by_its_head_and_length(data, chunk, limit, expected):
    stream = io.BytesIO(data)
    lines = list(bounded_lines(stream.read, limit, chunk_bytes=chunk))
    shown = [(line.decode(), line.length) if isinstance(line, OverlongLine) else line for line in lines]
    assert shown == expected
