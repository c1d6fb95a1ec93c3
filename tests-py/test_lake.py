"""The lake's current tables through the whole job on local Spark and moto: deletes, late extracts, a run that
dies half way, a column the warehouse adds, items that expire, and the lake agreeing with the items."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from pyspark.sql import functions as F

from ingest import job, lake
from ingest.aws_clients import AwsClients
from ingest.job_plan import parse_job_plan
from ingest.lake import CURRENT, HISTORY, KEYS, lake_tables
from ingest.lake_ledger import LakeLedger
from ingest.maintenance import publish_report, run_maintenance
from local.emulated_pipeline import Pipeline, plan_archive

REGION = "us-east-1"
CRM = "tests-py/fixtures/mappings/crm.yaml"
CRM_EVOLVED = "tests-py/fixtures/mappings/crm-evolved.yaml"

FIRST = {
    "customers": ["C1,Ada,2026-11-01 09:00:00,", "C2,Bob,2026-11-01 09:00:00,", "C3,Cy,2026-11-01 09:00:00,"],
    "orders": ["O1,C1,10.00,", "O2,C1,20.00,", "O3,C2,5.00,"],
    "order_lines": ["O1,1,A,", "O1,2,B,", "O2,1,C,"],
    "addresses": ["A1,C1,Oslo", "A2,C1,Rome", "A3,C2,Lyon"],
}


@pytest.fixture
def crm(plan_of, moto_endpoint, aws_environment):
    def client(service: str):
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION)

    clients = AwsClients(s3=client("s3"), glue=client("glue"), dynamodb=client("dynamodb"), sns=client("sns"))
    return Pipeline(plan=plan_of(CRM), clients=clients, sqs=client("sqs"))


def run(pipeline: Pipeline, spark, tmp_path, day: int, rows: dict[str, list[str]]) -> dict:
    report, failure = pipeline.run_extract(spark, tmp_path, day, plan_archive(pipeline.job_plan, rows))
    assert failure is None, failure
    return report


def shapes(pipeline: Pipeline) -> dict[str, dict]:
    """Each item as the keys it nests: orders with their line numbers, addresses."""
    return {
        item["pk"]: {
            "orders": {order["order_id"]: sorted(int(line["line_number"]) for line in order["lines"]) for order in item["orders"]},
            "addresses": sorted(address["address_id"] for address in item["addresses"]),
        }
        for item in pipeline.items()
    }


def lake_shapes(spark, pipeline: Pipeline) -> dict[str, dict]:
    """The same shapes read from the current tables, as Athena sees them: rows grouped by the root they carry."""
    tables = lake_tables(pipeline.job_plan)

    def current(name: str):
        return spark.table(tables[(name, CURRENT)].identifier(pipeline.database)).collect()

    roots = {row.customer_id for row in current("customers")}
    lines: dict[str, list[int]] = {}
    for row in current("order_lines"):
        lines.setdefault(row.order_id, []).append(row.line_number)
    shapes: dict[str, dict] = {root: {"orders": {}, "addresses": []} for root in roots}
    for row in current("orders"):
        if row.ingest_root_customer_id in roots:
            shapes[row.ingest_root_customer_id]["orders"][row.order_id] = sorted(lines.get(row.order_id, []))
    for row in current("addresses"):
        if row.ingest_root_customer_id in roots:
            shapes[row.ingest_root_customer_id]["addresses"].append(row.address_id)
    return {root: {**shape, "addresses": sorted(shape["addresses"])} for root, shape in shapes.items()}


def test_deletes_at_every_level_shrink_or_delete_items_and_an_older_extract_never_brings_rows_back(crm, spark, tmp_path):
    run(crm, spark, tmp_path, 1, FIRST)
    deletes = run(
        crm,
        spark,
        tmp_path,
        3,
        {
            "customers": ["C2,Bob,2026-11-03 09:00:00,D"],
            "orders": ["O2,C1,20.00,D"],
            "order_lines": ["O1,2,B,D"],
            "addresses": ["A1,C1,Oslo"],
        },
    )
    expected = {"C1": {"orders": {"O1": [1]}, "addresses": ["A1"]}, "C3": {"orders": {}, "addresses": []}}
    assert shapes(crm) == expected
    assert deletes["items"]["deleted"] == 1
    assert {name: counts["changes"] for name, counts in deletes["tables"].items()} == {
        "customers": {"delete": 1},
        "orders": {"delete": 1, "reroot": 1},
        "order_lines": {"delete": 1, "reroot": 1},
        "addresses": {"delete": 2, "upsert": 1},
    }
    late = run(
        crm,
        spark,
        tmp_path,
        2,
        {"customers": ["C2,Bob,2026-11-02 09:00:00,"], "orders": ["O2,C1,21.00,"], "order_lines": ["O1,2,B2,"]},
    )
    assert {name: counts["changes"] for name, counts in late["tables"].items()} == {
        "customers": {},
        "orders": {},
        "order_lines": {},
        "addresses": {},
    }
    assert late["items"]["touched"] == 0
    assert shapes(crm) == expected
    assert lake_shapes(spark, crm) == expected


def test_a_run_that_dies_between_tables_is_completed_by_the_next_run_and_a_rerun_changes_nothing(crm, spark, tmp_path, monkeypatch):
    applied = job.apply_to_current

    def dies_at_orders(spark_session, table, *arguments):
        if table.name == "orders":
            raise OSError("the driver lost its connection")
        return applied(spark_session, table, *arguments)

    monkeypatch.setattr(job, "apply_to_current", dies_at_orders)
    with pytest.raises(OSError, match="the driver lost its connection"):
        crm.run_extract(spark, tmp_path, 1, plan_archive(crm.job_plan, FIRST))
    pending = LakeLedger(crm.clients.dynamodb, crm.ledger_table).pending()
    assert (pending.extract_id, pending.applied_tables) == ("20261101T101500Z-000001", ("customers",))

    monkeypatch.setattr(job, "apply_to_current", applied)
    second = run(crm, spark, tmp_path, 2, {"orders": ["O4,C3,7.00,"]})
    assert second["completedExtract"] == "20261101T101500Z-000001"
    expected = {
        "C1": {"orders": {"O1": [1, 2], "O2": [1]}, "addresses": ["A1", "A2"]},
        "C2": {"orders": {"O3": []}, "addresses": ["A3"]},
        "C3": {"orders": {"O4": []}, "addresses": []},
    }
    assert shapes(crm) == expected
    assert lake_shapes(spark, crm) == expected
    tables = lake_tables(crm.job_plan)
    for name in ("customers", "orders", "order_lines", "addresses"):
        rows = spark.table(tables[(name, CURRENT)].identifier(crm.database))
        keys = crm.job_plan.table(name).primary_key
        assert rows.count() == rows.select(*keys).distinct().count(), name

    before = crm.items()
    rerun = run(crm, spark, tmp_path, 1, FIRST)
    assert {name: counts["changes"] for name, counts in rerun["tables"].items()} == {
        "customers": {"upsert": 3},
        "orders": {"upsert": 3},
        "order_lines": {"upsert": 3},
        "addresses": {"upsert": 3},
    }
    assert rerun["items"]["stale"] == 3
    assert crm.items() == before


def test_a_nullable_column_added_to_the_mapping_joins_the_lake_and_older_archives_still_load(crm, spark, tmp_path, plan_of):
    run(crm, spark, tmp_path, 1, FIRST)
    crm.deploy(plan_of(CRM_EVOLVED))
    run(crm, spark, tmp_path, 2, {"customers": ["C1,Ada,2026-11-02 09:00:00,,gold"]})
    older_format = plan_archive(parse_job_plan(plan_of(CRM)), {"customers": ["C4,Dee,2026-11-03 09:00:00,"]})
    report, failure = crm.run_extract(spark, tmp_path, 3, older_format)
    assert failure is None
    assert report["tables"]["customers"]["changes"] == {"upsert": 1}
    items = {item["pk"]: item for item in crm.items()}
    assert (items["C1"]["tier"], "tier" in items["C4"], "tier" in items["C2"]) == ("gold", False, False)
    current = lake_tables(crm.job_plan)[("customers", CURRENT)].identifier(crm.database)
    assert spark.table(current).schema["tier"].dataType.simpleString() == "string"
    assert sorted((row.customer_id, row.tier) for row in spark.table(current).collect()) == [
        ("C1", "gold"),
        ("C2", None),
        ("C3", None),
        ("C4", None),
    ]

    # The mapping's column changed type, as if customers.tier were declared `integer`.
    retyped = plan_of(CRM_EVOLVED)
    for columns in [table["columns"] for table in retyped["tables"] if table["name"] == "customers"] + [
        table["columns"] for table in retyped["lake"]["tables"] if table["table"] == "customers"
    ]:
        for column in columns:
            if column["name"] == "tier":
                column["type"] = "int"
    crm.deploy(retyped)
    report, failure = crm.run_extract(
        spark, tmp_path, 4, plan_archive(parse_job_plan(plan_of(CRM)), {"customers": ["C5,Eve,2026-11-04 09:00:00,"]})
    )
    assert (report, failure.reason, failure.detail) == (
        None,
        "incompatible-schema-change",
        "crm_customers.tier is string in the lake and int in the mapping; Iceberg can only widen int to bigint, float to double "
        "and raise a decimal's precision (same scale) without rewriting the table",
    )


@pytest.mark.parametrize(
    ("old", "new", "widens"),
    [
        ("int", "bigint", True),
        ("float", "double", True),
        ("decimal(10,2)", "decimal(12,2)", True),
        ("decimal(10,2)", "decimal(10,2)", False),
        ("decimal(10,2)", "decimal(12,3)", False),
        ("decimal(12,2)", "decimal(10,2)", False),
        ("bigint", "int", False),
        ("string", "int", False),
        ("date", "timestamp", False),
    ],
)
def test_only_the_type_changes_iceberg_makes_in_place_are_applied(old, new, widens):
    assert lake.widens(old, new) is widens


def test_maintenance_removes_the_rows_of_expired_items_and_old_history_and_keeps_live_ones(crm, spark, tmp_path):
    run(
        crm,
        spark,
        tmp_path,
        1,
        {**FIRST, "customers": ["C1,Ada,2026-12-20 09:00:00,", "C2,Bob,2026-11-01 09:00:00,", "C3,Cy,2026-11-01 09:00:00,"]},
    )
    published = []
    arguments = {
        "plan_uri": f"s3://{crm.assets}/plan.json",
        "lake_bucket": crm.lake,
        "glue_database": crm.database,
        "run_ledger_table": crm.ledger_table,
        "history_retention_days": "60",
        "notification_topic_arn": crm.topic_arn,
        "JOB_RUN_ID": "jr_maintenance",
    }
    report = run_maintenance(
        spark,
        crm.job_plan,
        arguments,
        ledger=LakeLedger(crm.clients.dynamodb, crm.ledger_table),
        publish=lambda report: (published.append(report.to_dict()), publish_report(crm.clients.s3, crm.clients.sns, arguments, report)),
        now=dt.datetime(2027, 1, 10, tzinfo=dt.UTC),
    )
    # C1's activity is 2026-12-20: 30 days later is after the pass. C2 and C3 expired on 2026-12-01.
    assert report.to_dict() == {
        "pipeline": "crm",
        "jobRunId": "jr_maintenance",
        "now": "2027-01-10T00:00:00Z",
        "status": "succeeded",
        "failure": None,
        "expiredItems": 2,
        "deletedRows": {
            "crm_addresses": 1,
            "crm_addresses_history": 3,
            "crm_addresses_keys": 0,
            "crm_customers": 2,
            "crm_customers_history": 3,
            "crm_customers_keys": 0,
            "crm_order_lines": 0,
            "crm_order_lines_history": 3,
            "crm_order_lines_keys": 0,
            "crm_orders": 1,
            "crm_orders_history": 3,
            "crm_orders_keys": 0,
        },
    }
    assert lake_shapes(spark, crm) == {"C1": {"orders": {"O1": [1, 2], "O2": [1]}, "addresses": ["A1", "A2"]}}
    tables = lake_tables(crm.job_plan)
    keys = spark.table(tables[("customers", KEYS)].identifier(crm.database))
    assert sorted(row.customer_id for row in keys.collect()) == ["C1"]
    assert spark.table(tables[("customers", HISTORY)].identifier(crm.database)).count() == 0
    stored = json.loads(crm.clients.s3.get_object(Bucket=crm.lake, Key="crm/_maintenance/jr_maintenance.json")["Body"].read())
    assert stored == published[0]
    assert [message for message in crm.notifications() if '"jobRunId": "jr_maintenance"' in message] == [json.dumps(published[0], indent=2)]
    assert spark.table(tables[("orders", CURRENT)].identifier(crm.database)).where(F.col("customer_id") == "C2").count() == 0
