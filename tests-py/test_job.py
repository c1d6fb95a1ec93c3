"""The whole job against moto on local Spark: incremental loads, ordering, reruns, reports and failures; and what the
job reads before it starts (its plan, its arguments), each parsed once into a typed shape.

A job run costs tens of seconds of Spark. Tests that only read what two extracts leave behind share
one module-scoped load (`two_extracts`), which keeps what the tests read (reports, items, messages) as
it was right after the load.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import errno
import io
import json
import re
import zipfile
from decimal import Decimal

import boto3
import pytest
from test_archive import _patched as patched_entry

from ingest import job
from ingest.arguments import EXTRACT_JOB_CONTRACT, load_contract
from ingest.aws_clients import AwsClients
from ingest.contract_files import packaged_contract
from ingest.job import ExtractArguments
from ingest.job_plan import ANNOTATIONS, SCHEMA_KEYWORDS, JobPlanError, PlanTable, parse_job_plan
from ingest.report import RunFailure
from local.emulated_pipeline import Pipeline, extract_version, zip_bytes

REGION = "us-east-1"

# The headers of the tests' customers mapping (tests-py/fixtures/mappings/customers.yaml), checked against its plan below.
HEADERS = {
    "customers": "customer_id,email,full_name,segment,credit_limit,created_at,updated_at",
    "orders": "order_id,customer_id,order_date,status,total_amount,updated_at",
    "order_lines": "order_id,line_number,sku,quantity,unit_price",
    "addresses": "address_id,customer_id,kind,line1,city,postcode,country,is_primary",
}


def csv_archive(rows: dict[str, list[str]]) -> bytes:
    """An archive with one CSV per table of the customers mapping; tables not given get a header only."""
    return zip_bytes({f"{table}.csv": "\n".join([header, *rows.get(table, [])]) + "\n" for table, header in HEADERS.items()})


def test_the_archives_are_headed_as_the_tests_mapping_reads_them(customers_plan):
    assert {table["name"]: ",".join(column["name"] for column in table["columns"]) for table in customers_plan["tables"]} == HEADERS


EXTRACT_1 = csv_archive(
    {
        "customers": [
            "C1,ada@example.com,Ada,gold,1000.00,2026-01-01 09:00:00,2026-11-01 09:00:00",
            "C2,bob@example.com,Bob,,,2026-01-02 09:00:00,2026-11-01 10:00:00",
        ],
        "orders": [
            "O1,C1,2026-10-30,shipped,30.00,2026-10-30 12:00:00",
            "O2,C2,2026-10-31,open,12.50,2026-10-31 12:00:00",
        ],
        "order_lines": ["O1,2,SKU-B,1,10.00", "O1,1,SKU-A,2,10.00"],
        "addresses": ["A1,C1,home,1 Main St,Oslo,0150,NO,true"],
    }
)
EXTRACT_2 = csv_archive(
    {
        "customers": [
            "C1,ada@example.com,Ada Lovelace,gold,1500.00,2026-01-01 09:00:00,2026-11-02 09:00:00",
            "C3,cy@example.com,Cy,silver,50.00,2026-11-02 08:00:00,2026-11-02 08:00:00",
        ],
        "orders": ["O3,C3,2026-11-02,open,5.00,2026-11-02 08:30:00"],
        "order_lines": ["O2,1,SKU-C,1,12.50", "O3,1,SKU-D,1,5.00", "O99,1,SKU-Z,1,1.00"],
    }
)
_, V1 = extract_version(1)
_, V2 = extract_version(2)
DAY = 86_400


def expected_items() -> list[dict]:
    """The items after extracts 1 and 2, in any order (lake_snapshot is checked separately)."""
    return [
        {
            "pk": "C1",
            "sk": "PROFILE",
            "customer_id": "C1",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "segment": "gold",
            "credit_limit": Decimal("1500"),
            "created_at": "2026-01-01T09:00:00Z",
            "updated_at": "2026-11-02T09:00:00Z",
            "orders": [
                {
                    "order_id": "O1",
                    "order_date": "2026-10-30",
                    "status": "shipped",
                    "total_amount": Decimal("30"),
                    "updated_at": "2026-10-30T12:00:00Z",
                    "lines": [
                        {"line_number": Decimal("1"), "sku": "SKU-A", "quantity": Decimal("2"), "unit_price": Decimal("10")},
                        {"line_number": Decimal("2"), "sku": "SKU-B", "quantity": Decimal("1"), "unit_price": Decimal("10")},
                    ],
                }
            ],
            "addresses": [
                {
                    "address_id": "A1",
                    "kind": "home",
                    "line1": "1 Main St",
                    "city": "Oslo",
                    "postcode": "0150",
                    "country": "NO",
                    "is_primary": True,
                }
            ],
            "extract_version": Decimal(V2),
            "expires_at": Decimal(int(dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC).timestamp()) + 270 * DAY),
        },
        {
            "pk": "C2",
            "sk": "PROFILE",
            "customer_id": "C2",
            "email": "bob@example.com",
            "name": "Bob",
            "created_at": "2026-01-02T09:00:00Z",
            "updated_at": "2026-11-01T10:00:00Z",
            "orders": [
                {
                    "order_id": "O2",
                    "order_date": "2026-10-31",
                    "status": "open",
                    "total_amount": Decimal("12.5"),
                    "updated_at": "2026-10-31T12:00:00Z",
                    "lines": [{"line_number": Decimal("1"), "sku": "SKU-C", "quantity": Decimal("1"), "unit_price": Decimal("12.5")}],
                }
            ],
            "addresses": [],
            "extract_version": Decimal(V2),
            "expires_at": Decimal(int(dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC).timestamp()) + 270 * DAY),
        },
        {
            "pk": "C3",
            "sk": "PROFILE",
            "customer_id": "C3",
            "email": "cy@example.com",
            "name": "Cy",
            "segment": "silver",
            "credit_limit": Decimal("50"),
            "created_at": "2026-11-02T08:00:00Z",
            "updated_at": "2026-11-02T08:00:00Z",
            "orders": [
                {
                    "order_id": "O3",
                    "order_date": "2026-11-02",
                    "status": "open",
                    "total_amount": Decimal("5"),
                    "updated_at": "2026-11-02T08:30:00Z",
                    "lines": [{"line_number": Decimal("1"), "sku": "SKU-D", "quantity": Decimal("1"), "unit_price": Decimal("5")}],
                }
            ],
            "addresses": [],
            "extract_version": Decimal(V2),
            "expires_at": Decimal(int(dt.datetime(2026, 11, 2, 8, 30, tzinfo=dt.UTC).timestamp()) + 270 * DAY),
        },
    ]


def new_pipeline(plan: dict, moto_endpoint: str) -> Pipeline:
    def client(service: str):
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION)

    clients = AwsClients(s3=client("s3"), glue=client("glue"), dynamodb=client("dynamodb"), sns=client("sns"))
    return Pipeline(plan=plan, clients=clients, sqs=client("sqs"))


@pytest.fixture
def pipeline(customers_plan, moto_endpoint, aws_environment):
    return new_pipeline(customers_plan, moto_endpoint)


@dataclasses.dataclass(frozen=True)
class TwoExtracts:
    """A pipeline after extracts 1 and 2, and what the tests read as the load left it."""

    pipeline: Pipeline
    first: dict
    first_failure: RunFailure | None
    second: dict
    second_failure: RunFailure | None
    items: list[dict]
    notifications: list[str]
    stored_report: dict


@pytest.fixture(scope="module")
def two_extracts(customers_plan, moto_endpoint, aws_environment, spark, tmp_path_factory) -> TwoExtracts:
    """Extracts 1 and 2 loaded once for the module. Only test_an_older_snapshot_never_overwrites_a_newer_item
    loads more into the pipeline; the others read what is kept here, taken before it could."""
    pipeline = new_pipeline(customers_plan, moto_endpoint)
    work = tmp_path_factory.mktemp("two-extracts")
    first, first_failure = pipeline.run_extract(spark, work, 1, EXTRACT_1)
    second, second_failure = pipeline.run_extract(spark, work, 2, EXTRACT_2)
    stored = None
    if second is not None:
        key = f"customers/_reports/{second['extractId']}/{second['jobRunId']}.json"
        stored = json.loads(pipeline.clients.s3.get_object(Bucket=pipeline.lake, Key=key)["Body"].read())
    return TwoExtracts(pipeline, first, first_failure, second, second_failure, pipeline.items(), pipeline.notifications(), stored)


def after_landing(subject: str) -> str:
    """A notification's subject with the time since landing, which differs on every run, as <elapsed>."""
    return re.sub(r"\b(\d+h )?(\d+m )?\d+s after landing", "<elapsed> after landing", subject)


def without_snapshot(items: list[dict]) -> list[dict]:
    return [{key: value for key, value in item.items() if key != "lake_snapshot"} for item in items]


def test_incremental_extracts_build_complete_items_and_report_exact_counts(two_extracts):
    first, failure = two_extracts.first, two_extracts.first_failure
    assert failure is None
    assert first["items"]["written"] == 2
    second, failure = two_extracts.second, two_extracts.second_failure
    assert failure is None

    assert without_snapshot(two_extracts.items) == expected_items()
    assert [item["lake_snapshot"] for item in two_extracts.items] == [2, 2, 2]
    assert second["status"] == "succeeded"
    assert second["lakeSnapshot"] == 2
    changes = {"customers": {"upsert": 2}, "orders": {"upsert": 1}, "order_lines": {"upsert": 3}, "addresses": {}}
    read = {"customers": 2, "orders": 1, "order_lines": 3, "addresses": 0}
    orphans = {"order_lines": 1}
    assert {name: {key: value for key, value in counts.items() if key != "scanned"} for name, counts in second["tables"].items()} == {
        name: {
            "files": [f"{name}.csv"],
            "ignoredColumns": [],
            "read": read[name],
            "accepted": read[name],
            "quarantined": 0,
            "quarantinedByReason": {},
            "orphans": orphans.get(name, 0),
            "changes": changes[name],
        }
        for name in read
    }
    # Every current table was read for the touched items, each scan counted once.
    assert {name: counts["scanned"]["files"] > 0 < counts["scanned"]["bytes"] for name, counts in second["tables"].items()} == {
        name: True for name in read
    }
    assert {key: second["items"][key] for key in ("touched", "written", "stale", "oversize")} == {
        "touched": 3,
        "written": 3,
        "stale": 0,
        "oversize": 0,
    }
    assert two_extracts.stored_report["tables"] == second["tables"]
    subjects = [after_landing(message.splitlines()[0]) for message in two_extracts.notifications]
    assert subjects == [
        "[customers] extract 20261101T101500Z-000001 succeeded <elapsed> after landing: 7 rows, 2 items",
        "[customers] extract 20261102T101500Z-000001 succeeded <elapsed> after landing: 6 rows, 3 items",
    ]


def test_extracts_in_the_opposite_order_and_reruns_give_the_same_items(pipeline, spark, tmp_path):
    assert pipeline.run_extract(spark, tmp_path, 2, EXTRACT_2)[1] is None
    assert pipeline.run_extract(spark, tmp_path, 1, EXTRACT_1)[1] is None
    assert without_snapshot(pipeline.items()) == expected_items()

    before = pipeline.items()
    rerun, failure = pipeline.run_extract(spark, tmp_path, 1, EXTRACT_1)
    assert failure is None
    assert rerun["lakeSnapshot"] == 2
    assert pipeline.items() == before


def test_a_child_moved_to_another_parent_leaves_the_old_item_with_its_own_children_and_reruns_change_nothing(pipeline, spark, tmp_path):
    assert pipeline.run_extract(spark, tmp_path, 1, EXTRACT_1)[1] is None
    moved = csv_archive(
        {
            "orders": ["O1,C2,2026-10-30,shipped,30.00,2026-11-03 12:00:00"],
            "addresses": ['A1,C2,home,"1 Main St\nFlat ""B""",Oslo,0150,NO,true'],
        }
    )
    report, failure = pipeline.run_extract(spark, tmp_path, 3, moved)
    assert failure is None
    assert report["items"]["touched"] == 2
    items = {item["pk"]: item for item in pipeline.items()}
    assert (items["C1"]["orders"], items["C1"]["addresses"]) == ([], [])
    assert [(order["order_id"], [line["sku"] for line in order["lines"]]) for order in items["C2"]["orders"]] == [
        ("O1", ["SKU-A", "SKU-B"]),
        ("O2", []),
    ]
    assert [address["line1"] for address in items["C2"]["addresses"]] == ['1 Main St\nFlat "B"']

    before = pipeline.items()
    rerun, failure = pipeline.run_extract(spark, tmp_path, 3, moved)
    assert failure is None
    assert rerun["items"]["touched"] == 2
    assert pipeline.items() == before


def test_an_older_snapshot_never_overwrites_a_newer_item(two_extracts, spark, tmp_path):
    pipeline = two_extracts.pipeline
    assert two_extracts.first_failure is None
    assert two_extracts.second_failure is None
    stale = {"pk": {"S": "C1"}, "sk": {"S": "PROFILE"}, "name": {"S": "stale"}, "lake_snapshot": {"N": "99"}}
    pipeline.clients.dynamodb.put_item(TableName=pipeline.items_table, Item=stale)
    report, failure = pipeline.run_extract(
        spark, tmp_path, 3, csv_archive({"customers": ["C1,a@x.io,Ada L,gold,1.00,2026-01-01 09:00:00,2026-11-03 09:00:00"]})
    )
    assert failure is None
    assert report["items"]["stale"] == 1
    assert pipeline.items()[0]["name"] == "stale"


@pytest.mark.parametrize("policy", ["quarantine", "fail"])
def test_an_item_over_the_size_limit_follows_the_oversize_policy(customers_plan, moto_endpoint, aws_environment, spark, tmp_path, policy):
    strict = {**customers_plan, "oversize": {"policy": policy, "maxItemBytes": 4_000}}
    pipeline = new_pipeline(strict, moto_endpoint)
    long_name = "Ada " + "ø" * 3_000
    body = csv_archive(
        {
            "customers": [
                f"C1,ada@example.com,{long_name},gold,1000.00,2026-01-01 09:00:00,2026-11-01 09:00:00",
                "C2,bob@example.com,Bob,,,2026-01-02 09:00:00,2026-11-01 10:00:00",
            ]
        }
    )
    report, failure = pipeline.run_extract(spark, tmp_path, 1, body)
    if policy == "fail":
        assert report is None
        assert (failure.reason, failure.detail) == (
            "item-too-large",
            "1 item(s) exceed 4000 bytes and the mapping's oversize policy is fail; nothing was written",
        )
        assert pipeline.items() == []
        return
    assert failure is None
    assert {key: report["items"][key] for key in ("touched", "written", "oversize", "failed")} == {
        "touched": 2,
        "written": 1,
        "oversize": 1,
        "failed": 0,
    }
    [oversize] = report["oversizeItems"]
    assert oversize["key"] == "pk='C1', sk='PROFILE'"
    assert oversize["bytes"] > 6_000
    assert [item["pk"] for item in pipeline.items()] == ["C2"]
    location = f"s3://{pipeline.quarantine}/customers/oversize/ingest_extract_id={report['extractId']}/"
    assert report["oversizeLocation"] == location
    kept = pipeline.clients.s3.list_objects_v2(Bucket=pipeline.quarantine, Prefix="customers/oversize/")["Contents"]
    [line] = [
        json.loads(line)
        for entry in kept
        for line in pipeline.clients.s3.get_object(Bucket=pipeline.quarantine, Key=entry["Key"])["Body"].read().decode().splitlines()
    ]
    assert (line["key"], line["bytes"]) == (oversize["key"], oversize["bytes"])
    assert (line["item"]["pk"], line["item"]["name"], line["item"]["lake_snapshot"]) == ({"S": "C1"}, {"S": long_name}, {"N": "1"})


def _symlink_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("customers.csv")
        link.external_attr = (0o120777) << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


BAD_ARCHIVES = [
    ("zip-slip", zip_bytes({"../customers.csv": "x"}), "archive-path-traversal"),
    ("absolute path", zip_bytes({"/customers.csv": "x"}), "archive-absolute-path"),
    ("symlink", _symlink_archive(), "archive-symlink"),
    ("nested zip", zip_bytes({"customers.zip": "x"}), "archive-nested-archive"),
    ("encrypted entry", patched_entry(csv_archive({}), "orders.csv", flag_bits=0x1), "archive-encrypted-entry"),
    ("too many entries", zip_bytes({f"customers{index}.csv": "x" for index in range(65)}), "archive-too-many-entries"),
    ("ratio bomb", zip_bytes({"customers.csv": "0" * 5_000_000}), "archive-compression-ratio"),
    ("truncated", csv_archive({})[:40], "archive-corrupt"),
    ("empty", zip_bytes({}), "archive-empty"),
    ("entry name too long", zip_bytes({f"customers_{'x' * 243}.csv": "x"}), "archive-bad-entry-name"),
    ("missing table", zip_bytes({"customers.csv": "customer_id\n"}), "archive-missing-table"),
    (
        "unknown file",
        zip_bytes({"customers.csv": "x", "orders.csv": "x", "order_lines.csv": "x", "notes.txt": "x"}),
        "archive-unknown-file",
    ),
]


@pytest.mark.parametrize(("label", "body", "reason"), BAD_ARCHIVES, ids=[case[0] for case in BAD_ARCHIVES])
def test_a_bad_archive_is_quarantined_with_its_reason_and_nothing_is_written(pipeline, spark, tmp_path, label, body, reason):
    report, failure = pipeline.run_extract(spark, tmp_path, 5, body)
    assert report is None
    assert failure.reason == reason
    extract_id = "20261105T101500Z-000001"
    quarantined = pipeline.clients.s3.get_object(Bucket=pipeline.quarantine, Key=f"customers/archives/{extract_id}/reason.json")
    assert json.loads(quarantined["Body"].read())["reason"] == reason.removeprefix("archive-")
    key = "incoming/customers/crm_customers_20261105T101500Z_1.zip"
    tags = pipeline.clients.s3.get_object_tagging(Bucket=pipeline.landing, Key=key)["TagSet"]
    assert sorted((tag["Key"], tag["Value"]) for tag in tags) == [
        ("ingest-reason", reason.removeprefix("archive-")),
        ("ingest-status", "quarantined"),
    ]
    assert pipeline.items() == []
    [message] = pipeline.notifications()
    assert after_landing(message.splitlines()[0]) == f"[customers] extract {extract_id} FAILED <elapsed> after landing: {reason}"


def _only_report(pipeline, extract_id: str) -> dict:
    [entry] = pipeline.clients.s3.list_objects_v2(Bucket=pipeline.lake, Prefix=f"customers/_reports/{extract_id}/")["Contents"]
    return json.loads(pipeline.clients.s3.get_object(Bucket=pipeline.lake, Key=entry["Key"])["Body"].read())


def _fail_with_an_io_error(*_arguments, **_keywords):
    raise OSError(errno.EIO, "Input/output error")


@pytest.mark.parametrize("failing_step", ["extract_archive", "_stage", "_typed_read"])
def test_an_unexpected_error_before_the_lake_write_quarantines_and_tags_the_archive(pipeline, spark, tmp_path, monkeypatch, failing_step):
    monkeypatch.setattr(job, failing_step, _fail_with_an_io_error)

    with pytest.raises(OSError, match=r"^\[Errno 5\] Input/output error$"):
        pipeline.run_extract(spark, tmp_path, 8, EXTRACT_1)

    extract_id = "20261108T101500Z-000001"
    failure = {"reason": "unexpected-error", "detail": "OSError: [Errno 5] Input/output error"}
    report = _only_report(pipeline, extract_id)
    assert (report["status"], report["failure"], report["quarantineLocation"]) == (
        "failed",
        failure,
        f"s3://{pipeline.quarantine}/customers/archives/{extract_id}/",
    )
    s3 = pipeline.clients.s3
    reason = json.loads(s3.get_object(Bucket=pipeline.quarantine, Key=f"customers/archives/{extract_id}/reason.json")["Body"].read())
    assert reason == {**failure, "archive": report["archive"]}
    name = "crm_customers_20261108T101500Z_1.zip"
    assert s3.get_object(Bucket=pipeline.quarantine, Key=f"customers/archives/{extract_id}/{name}")["Body"].read() == EXTRACT_1
    tags = s3.get_object_tagging(Bucket=pipeline.landing, Key=f"incoming/customers/{name}")["TagSet"]
    assert sorted((tag["Key"], tag["Value"]) for tag in tags) == [("ingest-reason", "unexpected-error"), ("ingest-status", "quarantined")]
    assert pipeline.items() == []
    [message] = pipeline.notifications()
    assert after_landing(message.splitlines()[0]) == f"[customers] extract {extract_id} FAILED <elapsed> after landing: unexpected-error"


def test_a_renamed_header_column_rejects_the_archive(pipeline, spark, tmp_path):
    headers = {**HEADERS, "customers": HEADERS["customers"].replace("customer_id,email", "customer_id,e_mail")}
    body = zip_bytes({f"{table}.csv": f"{header}\n" for table, header in headers.items()})
    report, failure = pipeline.run_extract(spark, tmp_path, 6, body)
    assert (report, failure.reason) == (None, "archive-header-mismatch")
    assert failure.detail == "customers.csv: header has ['e_mail'] where the mapping expects ['email']"


def test_too_many_bad_rows_fail_the_run_before_anything_is_loaded(pipeline, spark, tmp_path):
    body = csv_archive(
        {
            "customers": [
                "C1,a@x.io,Ada,gold,not-a-number,2026-01-01 09:00:00,2026-11-01 09:00:00",
                "C2,b@x.io,Bob,,,2026-01-01 09:00:00,2026-11-01 09:00:00",
            ]
        }
    )
    report, failure = pipeline.run_extract(spark, tmp_path, 7, body)
    assert report is None
    assert failure.reason == "too-many-rejected-rows"
    assert failure.detail == "customers: 1 of 2 rows rejected (50.00%, the mapping allows 1.00%); nothing was loaded"
    assert pipeline.items() == []
    lake_objects = pipeline.clients.s3.list_objects_v2(Bucket=pipeline.lake, Prefix="customers/customers/").get("KeyCount")
    assert lake_objects == 0
    rows = pipeline.clients.s3.list_objects_v2(Bucket=pipeline.quarantine, Prefix="customers/rows/")["Contents"]
    quarantined = [
        json.loads(line)
        for entry in rows
        if entry["Key"].endswith(".json")
        for line in pipeline.clients.s3.get_object(Bucket=pipeline.quarantine, Key=entry["Key"])["Body"].read().decode().splitlines()
    ]
    assert quarantined == [
        {
            "table": "customers",
            "file": "customers.csv",
            "line": 2,
            "reason": "bad-decimal",
            "detail": 'column credit_limit: ["not-a-number"] is not a decimal with at most 10 digits before and 2 after the point',
            "raw": "C1,a@x.io,Ada,gold,not-a-number,2026-01-01 09:00:00,2026-11-01 09:00:00",
        }
    ]
    extract_id = "20261107T101500Z-000001"
    report = _only_report(pipeline, extract_id)
    assert report["quarantineLocation"] == f"s3://{pipeline.quarantine}/customers/rows/ingest_extract_id={extract_id}/"
    reason = pipeline.clients.s3.get_object(Bucket=pipeline.quarantine, Key=f"customers/archives/{extract_id}/reason.json")["Body"]
    assert json.loads(reason.read()) == {"reason": "too-many-rejected-rows", "detail": failure.detail, "archive": report["archive"]}
    tags = pipeline.clients.s3.get_object_tagging(Bucket=pipeline.landing, Key="incoming/customers/crm_customers_20261107T101500Z_1.zip")
    assert sorted((tag["Key"], tag["Value"]) for tag in tags["TagSet"]) == [
        ("ingest-reason", "too-many-rejected-rows"),
        ("ingest-status", "quarantined"),
    ]


def test_generated_extracts_with_bad_rows_of_every_kind_account_for_every_row(
    customers_plan, moto_endpoint, aws_environment, spark, tmp_path
):
    from local.sample_extract import generate

    lenient = {**customers_plan, "quarantine": {"maxRejectedFraction": 0.9}}
    pipeline = new_pipeline(lenient, moto_endpoint)
    # 20 roots: the follow-up's 3 good customers beside its bad ones stay under the 90% allowed.
    manifest = generate(pipeline.job_plan, str(tmp_path / "extracts"), roots=20, extracts=2, seed=11, children=1.5, bad_rows=1)
    accepted_roots: set[str] = set()
    for day, entry in enumerate(manifest, start=1):
        with open(entry["archive"], "rb") as archive:
            report, failure = pipeline.run_extract(spark, tmp_path, day, archive.read())
        assert failure is None
        for table, counts in report["tables"].items():
            assert counts["read"] == entry["rows"][table]
            assert counts["read"] == counts["accepted"] + counts["quarantined"]
        assert report["tables"]["customers"]["quarantinedByReason"] == entry["expectedQuarantined"]
        assert all(not counts["quarantinedByReason"] for table, counts in report["tables"].items() if table != "customers")
        with zipfile.ZipFile(entry["archive"]) as archive:
            records = list(csv.reader(io.StringIO(archive.read("customers.csv").decode("utf-8", errors="replace"), newline="")))[1:]
        ids = [record[0] for record in records if len(record) == 7 and not record[0].startswith("BAD") and record[0]]
        accepted_roots |= {customer for customer in ids if ids.count(customer) == 1}
    assert sorted(item["pk"] for item in pipeline.items()) == sorted(accepted_roots)


# ---------------------------------------------------------------------------------------------
# What the job reads before it starts: the plan and its arguments, each parsed once


def _as_written(table: PlanTable) -> dict:
    """A typed table written back as the plan's JSON, key by key, to show the parse keeps every field."""
    document: dict = {
        "name": table.name,
        "fileGlob": table.file_glob,
        "fileRegex": table.file_regex,
        "required": table.required,
        "primaryKey": list(table.primary_key),
        "columns": [
            {"name": column.name, "type": column.type, "nullable": column.nullable}
            | ({} if column.format is None else {"format": column.format})
            for column in table.columns
        ],
    }
    if table.parent is not None:
        document["parent"] = {"table": table.parent.table, "on": [{"child": pair.child, "parent": pair.parent} for pair in table.parent.on]}
    document["mode"] = table.mode
    if table.deletes is not None:
        document["deletes"] = {"column": table.deletes.column, "values": list(table.deletes.values)}
    document["catalogTable"] = table.catalog_table
    document["lakePrefix"] = table.lake_prefix
    return document


@pytest.mark.parametrize("mapping", ["customers", "tests-py/fixtures/mappings/crm.yaml", "tests-py/fixtures/mappings/crm-evolved.yaml"])
def test_every_plan_the_program_builds_parses_into_the_typed_plan_and_loses_nothing(plan_of, mapping):
    document = plan_of(mapping)
    plan = parse_job_plan(document)
    assert (plan.plan_version, plan.pipeline) == (2, document["pipeline"])
    assert [table.name for table in plan.tables] == [table["name"] for table in document["tables"]]
    assert [_as_written(table) for table in plan.tables] == document["tables"]
    assert [(spec.name, spec.role) for spec in plan.lake.tables] == [(spec["name"], spec["role"]) for spec in document["lake"]["tables"]]
    assert plan.item.partition_key.attribute == document["item"]["partitionKey"]["attribute"]
    assert plan.oversize.max_item_bytes == document["oversize"]["maxItemBytes"]


def _retarget_orders(plan: dict) -> None:
    plan["tables"][2]["parent"]["table"] = "nope"


def _header_and_policy(plan: dict) -> None:
    plan["extract"]["csv"]["header"] = "yes"
    plan["oversize"]["policy"] = "drop"


def _misplaced_node(plan: dict) -> None:
    plan["item"]["root"]["collections"][0]["node"]["table"] = "order_lines"


BROKEN_PLANS = [
    ("wrong planVersion", lambda plan: plan.update(planVersion=3), "planVersion: must be 2, not 3"),
    ("missing tables", lambda plan: plan.pop("tables"), "tables: missing"),
    ("unknown field", lambda plan: plan["item"].update(ttlDays=270), "item.ttlDays: unknown field"),
    (
        "wrong type",
        lambda plan: plan["tables"][0]["columns"].__setitem__(0, {"name": 1, "type": "string", "nullable": True}),
        "tables[0].columns[0].name: must be a string, not 1",
    ),
    (
        "every problem at once",
        _header_and_policy,
        'extract.csv.header: must be a boolean, not "yes"; oversize.policy: "drop" is not one of fail, skip, quarantine',
    ),
    ("unknown parent", _retarget_orders, "tables[2].parent.table: 'nope' is not a table listed before orders"),
    (
        "key from a non-root column",
        lambda plan: plan["item"]["partitionKey"].update(column="email"),
        "item.partitionKey.column: 'email' is not a root column (lake.rootColumns)",
    ),
    (
        "node under the wrong parent",
        _misplaced_node,
        "item.root.collections[0].orderBy: 'order_date' is not a column of order_lines; "
        "item.root.collections[0].node.table: 'order_lines' is not a child of customers",
    ),
]


@pytest.mark.parametrize(("label", "mutate", "message"), BROKEN_PLANS, ids=[case[0] for case in BROKEN_PLANS])
def test_a_plan_the_job_cannot_use_is_refused_naming_every_problem_where_it_is(customers_plan, label, mutate, message):
    plan = copy.deepcopy(customers_plan)
    mutate(plan)
    with pytest.raises(JobPlanError) as refused:
        parse_job_plan(plan)
    assert str(refused.value) == message


def test_a_plan_that_is_not_an_object_is_refused():
    with pytest.raises(JobPlanError) as refused:
        parse_job_plan([])
    assert str(refused.value) == "the job plan must be a JSON object"


def test_the_plan_check_applies_every_rule_the_generated_schema_uses():
    # A keyword the validator did not apply would pass every plan unchecked on that rule.
    schema = packaged_contract("job_plan.schema.json")
    found: set[str] = set()

    def walk(node: dict) -> None:
        found.update(node)
        for name in ("properties", "$defs"):
            for member in node.get(name, {}).values():
                walk(member)
        for name in ("items", "additionalProperties", "propertyNames"):
            if isinstance(node.get(name), dict):
                walk(node[name])

    walk(schema)
    assert found - ANNOTATIONS <= SCHEMA_KEYWORDS


def test_a_plan_the_job_cannot_use_fails_the_run_before_it_starts(pipeline, tmp_path):
    broken = {**pipeline.plan, "planVersion": 3}
    pipeline.clients.s3.put_object(Bucket=pipeline.assets, Key="plan.json", Body=json.dumps(broken).encode("utf-8"))
    extract_id, version = extract_version(9)
    name = f"crm_customers_{extract_id[:16]}_1.zip"
    arguments = pipeline.arguments(name, pipeline.land(name, EXTRACT_1), extract_id, version)
    with pytest.raises(RunFailure) as failed:
        job.run(None, arguments, pipeline.clients, work_dir=str(tmp_path), progress=lambda _: None)
    assert (failed.value.reason, failed.value.detail) == (
        "invalid-job-plan",
        f"s3://{pipeline.assets}/plan.json: planVersion: must be 2, not 3",
    )


def test_the_run_arguments_are_one_field_per_name_of_the_contract():
    names = load_contract(EXTRACT_JOB_CONTRACT).all
    assert [field.name for field in dataclasses.fields(ExtractArguments)] == [name.lower() for name in names]


def test_arguments_the_job_cannot_use_fail_the_run_naming_each(pipeline):
    extract_id, version = extract_version(10)
    name = f"crm_customers_{extract_id[:16]}_1.zip"
    arguments = pipeline.arguments(name, pipeline.land(name, EXTRACT_1), extract_id, version)
    parsed = ExtractArguments.parse(arguments)
    assert (parsed.extract_version, parsed.items_write_units_per_second, parsed.job_run_id) == (
        version,
        float(pipeline.items_write_units_per_second),
        arguments["JOB_RUN_ID"],
    )
    del arguments["stack"]
    arguments["extract_version"] = "yesterday"
    with pytest.raises(RunFailure) as failed:
        ExtractArguments.parse(arguments)
    assert (failed.value.reason, failed.value.detail) == (
        "invalid-arguments",
        "--stack: missing; --extract_version: 'yesterday' is not a number",
    )
