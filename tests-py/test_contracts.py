"""The contracts between the Pulumi program and the Glue job, checked from the job's side.

The job plan schema is generated from the TypeScript `jobPlanSchema`; the plan checked here is the
one the TypeScript code really builds (printed by scripts/print-plan.ts), not a copy of it. The
stream schema document's schema is generated from `streamSchemaDocumentSchema` (contracts/), and
the export's parser is checked to accept and refuse what it describes.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from ingest.arguments import EXPORT_JOB_CONTRACT, EXTRACT_JOB_CONTRACT, MAINTENANCE_JOB_CONTRACT, given_optional, load_contract
from ingest.dynamodb_writer import DYNAMODB_ITEM_LIMIT
from ingest.lookup_plan import _LOOKUP_NAME, _MARKER_NAME, ATTRIBUTE_TYPES, FORMATS, KEY_TYPES, LookupPlanError, parse_lookup_plan
from ingest.report import run_report_key
from ingest.stream_export import _FIELD_NAME, KINDS, StreamSchemaError, parse_stream_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = REPO_ROOT / "glue-scripts" / "ingest" / "contracts"
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def plan_schema() -> dict[str, Any]:
    return json.loads((CONTRACTS / "job_plan.schema.json").read_text(encoding="utf-8"))


def errors_of(schema: dict[str, Any], plan: Any) -> list[tuple[str, str, str]]:
    """Every validation error as (JSON path, failed keyword, message), in a stable order."""
    errors = Draft202012Validator(schema).iter_errors(plan)
    return sorted((error.json_path, str(error.validator), error.message) for error in errors)


def test_plan_schema_is_a_valid_draft_2020_12_schema(plan_schema: dict[str, Any]) -> None:
    assert validator_for(plan_schema) is Draft202012Validator
    Draft202012Validator.check_schema(plan_schema)


def test_customers_plan_is_valid(plan_schema: dict[str, Any], customers_plan: dict[str, Any]) -> None:
    assert errors_of(plan_schema, customers_plan) == []
    # Guards against validating an empty or wrong plan: these are the tables the job will read.
    assert [table["name"] for table in customers_plan["tables"]] == ["customers", "addresses", "orders", "order_lines"]


def _set_plan_version(plan: dict[str, Any]) -> None:
    plan["planVersion"] = 3


def _drop_tables(plan: dict[str, Any]) -> None:
    del plan["tables"]


def _add_unknown_field(plan: dict[str, Any]) -> None:
    plan["item"]["ttlDays"] = 270


def _empty_nested_order_by(plan: dict[str, Any]) -> None:
    # Two collections deep: the recursive item node must be enforced through its $ref too.
    plan["item"]["root"]["collections"][0]["node"]["collections"][0]["orderBy"] = []


def _unknown_key_type(plan: dict[str, Any]) -> None:
    plan["item"]["partitionKey"]["type"] = "B"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set_plan_version, [("$.planVersion", "const", "2 was expected")]),
        (_drop_tables, [("$", "required", "'tables' is a required property")]),
        (
            _add_unknown_field,
            [("$.item", "additionalProperties", "Additional properties are not allowed ('ttlDays' was unexpected)")],
        ),
        (
            _empty_nested_order_by,
            [("$.item.root.collections[0].node.collections[0].orderBy", "minItems", "[] should be non-empty")],
        ),
        (_unknown_key_type, [("$.item.partitionKey.type", "enum", "'B' is not one of ['S', 'N']")]),
    ],
    ids=["wrong planVersion", "missing tables", "unknown field", "empty nested orderBy", "unknown key type"],
)
def test_broken_plan_is_rejected(
    plan_schema: dict[str, Any],
    customers_plan: dict[str, Any],
    mutate: Any,
    expected: list[tuple[str, str, str]],
) -> None:
    plan = copy.deepcopy(customers_plan)
    mutate(plan)
    assert errors_of(plan_schema, plan) == expected


def test_job_arguments_are_disjoint_snake_case_names() -> None:
    contract = json.loads((CONTRACTS / "job_arguments.json").read_text(encoding="utf-8"))
    deploy = set(contract["deployArguments"])
    run = set(contract["runArguments"])
    assert deploy, "deployArguments is empty"
    assert run, "runArguments is empty"
    # A name in both would be set at deploy time and again per run, and Glue keeps only one.
    assert deploy & run == set()
    assert sorted(name for name in deploy | run if not SNAKE_CASE.match(name)) == []


@pytest.mark.parametrize(
    ("name", "deploy", "run", "glue"),
    [
        (
            EXTRACT_JOB_CONTRACT,
            (
                "plan_uri",
                "lake_bucket",
                "quarantine_bucket",
                "items_table",
                "glue_database",
                "notification_topic_arn",
                "run_ledger_table",
                "staging_uri",
                "changes_uri",
                "items_write_units_per_second",
                "stack",
            ),
            ("archive_bucket", "archive_key", "archive_version_id", "extract_id", "extract_version", "archive_landed_at"),
            ("JOB_RUN_ID",),
        ),
        (
            EXPORT_JOB_CONTRACT,
            (
                "stream_uri",
                "delivery_bucket",
                "delivery_prefix",
                "destination_bucket",
                "destination_prefix",
                "quarantine_bucket",
                "quarantine_prefix",
                "staging_uri",
            ),
            (),
            (),
        ),
        (
            MAINTENANCE_JOB_CONTRACT,
            ("plan_uri", "lake_bucket", "glue_database", "run_ledger_table", "history_retention_days", "notification_topic_arn"),
            (),
            ("JOB_RUN_ID",),
        ),
    ],
    ids=["extract job", "export job", "maintenance job"],
)
def test_each_job_loads_its_contract_from_the_package(
    name: str, deploy: tuple[str, ...], run: tuple[str, ...], glue: tuple[str, ...]
) -> None:
    # The names the entry scripts pass to getResolvedOptions; the Pulumi program imports the same JSON files.
    contract = load_contract(name)
    assert (contract.deploy, contract.run, contract.glue) == (deploy, run, glue)


def test_export_job_arguments_are_deploy_and_optional_run_described_snake_case_names() -> None:
    contract = json.loads((CONTRACTS / "export_job_arguments.json").read_text(encoding="utf-8"))
    # A scheduled run gets no per-run arguments; an on-delivery run names its object (lambdas/export-starter).
    assert sorted(contract) == ["deployArguments", "optionalRunArguments", "version"]
    assert sorted(contract["optionalRunArguments"]) == ["delivered_key"]
    assert set(contract["deployArguments"]) & set(contract["optionalRunArguments"]) == set()
    arguments = {**contract["deployArguments"], **contract["optionalRunArguments"]}
    assert sorted(name for name in arguments if not SNAKE_CASE.match(name)) == []
    assert sorted(name for name, description in arguments.items() if not isinstance(description, str) or not description.strip()) == []


@pytest.mark.parametrize(
    ("argv", "given"),
    [
        (["stream_export_job.py", "--stream_uri", "s3://b/s.json"], ()),
        (["stream_export_job.py", "--delivered_key", "clickstream/a.gz"], ("delivered_key",)),
        (["stream_export_job.py", "--delivered_key=clickstream/a.gz"], ("delivered_key",)),
        (["stream_export_job.py", "--delivered_key_other", "x"], ()),
    ],
    ids=["absent", "as a pair", "with =", "a longer name"],
)
def test_an_optional_run_argument_is_resolved_only_when_the_run_was_given_it(argv: list[str], given: tuple[str, ...]) -> None:
    # The entry script passes these to getResolvedOptions beside the required names (ingest.glue_entry.job_arguments).
    assert load_contract(EXPORT_JOB_CONTRACT).optional == ("delivered_key",)
    assert given_optional(argv, load_contract(EXPORT_JOB_CONTRACT).optional) == given


def test_run_reports_are_kept_per_run_under_the_shared_layout() -> None:
    # The operator command line reads the same layout from contracts/run_report.json (test/cli-runs.test.ts).
    assert run_report_key("customers", "20261101T101500Z-000001", "jr_0a1b") == "customers/_reports/20261101T101500Z-000001/jr_0a1b.json"


def test_run_metrics_are_named_once_each_with_a_unit_cloudwatch_knows() -> None:
    # The Pulumi program's alarms and dashboard read these names from the same file (test/components.test.ts).
    contract = json.loads((CONTRACTS / "run_metrics.json").read_text(encoding="utf-8"))
    groups = [contract["extractRuns"], contract["lookupLoads"]]
    names = [definition["name"] for group in groups for definition in group["metrics"].values()]
    # Every datum names its stack beside its pipeline or lookup: two stacks in one account may deploy the same pipeline.
    assert (contract["namespace"], [group["dimensions"] for group in groups]) == (
        "Ingestion",
        [{"stack": "Stack", "pipeline": "Pipeline"}, {"stack": "Stack", "lookup": "Lookup"}],
    )
    assert sorted(set(names)) == sorted(names)
    assert sorted({definition["unit"] for group in groups for definition in group["metrics"].values()}) == ["Count", "Seconds"]


# ---------------------------------------------------------------------------------------------
# The stream schema document (contracts/stream-schema.ts -> stream_schema.schema.json)

PINGS_SCHEMA_DOCUMENT = REPO_ROOT / "tests-py" / "fixtures" / "stream-schema-pings.json"


@pytest.fixture(scope="module")
def stream_schema_schema() -> dict[str, Any]:
    return json.loads((CONTRACTS / "stream_schema.schema.json").read_text(encoding="utf-8"))


def _pings() -> dict[str, Any]:
    return json.loads(PINGS_SCHEMA_DOCUMENT.read_text(encoding="utf-8"))


def _with(**members: Any) -> dict[str, Any]:
    return {**_pings(), **members}


def _field(name: str, **type_members: Any) -> dict[str, Any]:
    return {"name": name, "type": type_members}


def _reader_accepts(document: Any) -> bool:
    try:
        parse_stream_schema(document)
    except StreamSchemaError:
        return False
    return True


def test_stream_schema_schema_is_a_valid_draft_2020_12_schema(stream_schema_schema: dict[str, Any]) -> None:
    assert validator_for(stream_schema_schema) is Draft202012Validator
    Draft202012Validator.check_schema(stream_schema_schema)


def test_the_export_names_the_kinds_and_field_names_the_contract_does(stream_schema_schema: dict[str, Any]) -> None:
    field = stream_schema_schema["properties"]["fields"]["items"]
    simple, decimal = field["properties"]["type"]["oneOf"]
    kinds = (*simple["properties"]["kind"]["enum"], decimal["properties"]["kind"]["const"])
    assert (kinds, field["properties"]["name"]["pattern"]) == (KINDS, _FIELD_NAME.pattern)


# (name, document, the export's parser accepts it, the JSON Schema accepts it). The schema says the
# shape; the parser also checks what a schema cannot (names declared once, the event-time field a
# declared timestamp, a decimal's scale within its precision, no field named as the date column
# the export adds) and ignores members it does not use.
STREAM_SCHEMA_VERDICTS = [
    ("the stream without event time (the deploy side's document)", _pings(), True, True),
    (
        "a stream with an event time and a decimal",
        _with(
            fields=[_field("event_time", kind="timestamp"), _field("amount", kind="decimal", precision=12, scale=2)],
            eventTime={"field": "event_time", "format": "epoch-millis"},
        ),
        True,
        True,
    ),
    ("not an object", [], False, False),
    ("no stream", {key: value for key, value in _pings().items() if key != "stream"}, False, False),
    ("an empty stream name", _with(stream=""), False, False),
    ("no fields", _with(fields=[]), False, False),
    ("a field that is not an object", _with(fields=["device_id"]), False, False),
    ("a field name that is not lower_snake_case", _with(fields=[_field("Device-Id", kind="string")]), False, False),
    ("an unknown kind", _with(fields=[_field("device_id", kind="text")]), False, False),
    ("a decimal of precision 40", _with(fields=[_field("amount", kind="decimal", precision=40, scale=1)]), False, False),
    ("a decimal without a scale", _with(fields=[_field("amount", kind="decimal", precision=4)]), False, False),
    ("a decimal with a boolean precision", _with(fields=[_field("amount", kind="decimal", precision=True, scale=0)]), False, False),
    ("no eventTime", {key: value for key, value in _pings().items() if key != "eventTime"}, False, False),
    ("an eventTime without a format", _with(eventTime={}), False, False),
    ("an empty format", _with(eventTime={"format": ""}), False, False),
    ("a null event-time field", _with(eventTime={"field": None, "format": "epoch-millis"}), False, False),
    ("an empty event-time field", _with(eventTime={"field": "", "format": "epoch-millis"}), False, False),
    ("a decimal's scale above its precision", _with(fields=[_field("amount", kind="decimal", precision=4, scale=5)]), False, True),
    ("a name declared twice", _with(fields=[_field("device_id", kind="string"), _field("device_id", kind="long")]), False, True),
    ("an undeclared event-time field", _with(eventTime={"field": "event_time", "format": "epoch-millis"}), False, True),
    ("an event-time field that is not a timestamp", _with(eventTime={"field": "battery", "format": "epoch-millis"}), False, True),
    ("a field named as the export's date column", _with(fields=[_field("arrival_date", kind="date")]), False, True),
    ("a member the export does not use", _with(description="heartbeats"), True, False),
]


@pytest.mark.parametrize(
    ("document", "reader", "schema"),
    [(document, reader, schema) for _, document, reader, schema in STREAM_SCHEMA_VERDICTS],
    ids=[name for name, *_ in STREAM_SCHEMA_VERDICTS],
)
def test_the_export_reads_the_stream_schema_the_contract_describes(
    stream_schema_schema: dict[str, Any], document: Any, reader: bool, schema: bool
) -> None:
    assert (_reader_accepts(document), Draft202012Validator(stream_schema_schema).is_valid(document)) == (reader, schema)


# ---------------------------------------------------------------------------------------------
# The lookup plan (contracts/lookup-plan.ts -> lookup_plan.schema.json)

PRODUCTS_PLAN_DOCUMENT = REPO_ROOT / "tests-py" / "fixtures" / "lookup-plan-products.json"


@pytest.fixture(scope="module")
def lookup_plan_schema() -> dict[str, Any]:
    return json.loads((CONTRACTS / "lookup_plan.schema.json").read_text(encoding="utf-8"))


def _products(**members: Any) -> dict[str, Any]:
    return {**json.loads(PRODUCTS_PLAN_DOCUMENT.read_text(encoding="utf-8")), **members}


def _loader_accepts(document: Any) -> bool:
    try:
        parse_lookup_plan(document)
    except LookupPlanError:
        return False
    return True


def test_lookup_plan_schema_is_a_valid_draft_2020_12_schema(lookup_plan_schema: dict[str, Any]) -> None:
    assert validator_for(lookup_plan_schema) is Draft202012Validator
    Draft202012Validator.check_schema(lookup_plan_schema)


def test_the_loader_names_the_formats_types_and_limits_the_contract_does(lookup_plan_schema: dict[str, Any]) -> None:
    properties = lookup_plan_schema["properties"]
    key = properties["key"]["properties"]["partition"]["properties"]
    attribute = properties["attributes"]["items"]["properties"]
    assert (
        tuple(properties["format"]["enum"]),
        tuple(key["type"]["enum"]),
        tuple(attribute["type"]["enum"]),
        properties["lookup"]["pattern"],
        properties["markers"]["items"]["pattern"],
        properties["maxItemBytes"]["maximum"],
    ) == (FORMATS, KEY_TYPES, tuple(ATTRIBUTE_TYPES), _LOOKUP_NAME.pattern, _MARKER_NAME.pattern, DYNAMODB_ITEM_LIMIT)


REDSHIFT_UNLOAD = {"columns": ["product_id", "category", "price"], "delimiter": "|", "escape": True, "nullAs": ""}

# (name, document, the loader accepts it, the JSON Schema accepts it). The schema says the shape; the
# loader also checks what a schema cannot: names declared once and apart from the keys, the TTL and
# the generation attribute, unload settings only for redshift-text and covering the required columns.
LOOKUP_PLAN_VERDICTS = [
    ("the products plan (the deploy side's)", _products(), True, True),
    ("a redshift-text plan", _products(format="redshift-text", unload=REDSHIFT_UNLOAD), True, True),
    ("not an object", [], False, False),
    ("no markers", _products(markers=[]), False, False),
    ("a marker with a folder", _products(markers=["done/_SUCCESS"]), False, False),
    ("a lookup name in upper case", _products(lookup="Products"), False, False),
    ("a boolean key", _products(key={"partition": {"attribute": "product_id", "type": "boolean"}, "sort": None}), False, False),
    ("an unknown format", _products(format="parquet"), False, False),
    ("an item limit above DynamoDB's", _products(maxItemBytes=400 * 1024 + 1), False, False),
    ("a TTL of zero days", _products(ttl={"attribute": "expires_at", "days": 0}), False, False),
    ("a member the loader does not know", _products(description="products"), False, False),
    ("a two-character delimiter", _products(format="redshift-text", unload={**REDSHIFT_UNLOAD, "delimiter": "||"}), False, False),
    (
        "a sort key named as the partition key",
        _products(key={"partition": {"attribute": "product_id", "type": "string"}, "sort": {"attribute": "product_id", "type": "string"}}),
        False,
        True,
    ),
    ("unload settings on a jsonl plan", _products(unload=REDSHIFT_UNLOAD), False, True),
    ("a TTL named as the generation attribute", _products(ttl={"attribute": "load_generation", "days": 30}), False, True),
]


@pytest.mark.parametrize(
    ("document", "loader", "schema"),
    [(document, loader, schema) for _, document, loader, schema in LOOKUP_PLAN_VERDICTS],
    ids=[name for name, *_ in LOOKUP_PLAN_VERDICTS],
)
def test_the_loader_reads_the_lookup_plan_the_contract_describes(
    lookup_plan_schema: dict[str, Any], document: Any, loader: bool, schema: bool
) -> None:
    assert (_loader_accepts(document), Draft202012Validator(lookup_plan_schema).is_valid(document)) == (loader, schema)
