"""The warehouse export job against moto on local Spark: one shared scenario of seven runs, then exact checks.

Spark time is the budget here, so the scenario runs once per module:
1. two good objects (one gzipped) and a corrupt one: the good ones are exported, the run fails;
2. only the corrupt object is pending: it is named again, nothing is rewritten (through the entry script);
3. the corrupt object is moved away: nothing to export (through the entry script);
4. one marker is deleted and the run stops before rewriting it (a failing S3 call): still pending;
5. another object is delivered; an object-scoped run (--delivered_key, the on-delivery starter's) names the
   unmarked one: it alone is exported again, to the same keys with the same bytes, the new one stays pending;
6. the same object-scoped run again (a second start for the object, through the entry script): nothing to export;
7. an object-scoped run for an object that is gone fails, converting nothing.
Runs 6 and 7 find nothing to convert, so Spark reads only in runs 1, 4 and 5.
The tests then read what each run left behind. The stream schema is the one the Lambdas get in STREAM_SCHEMA.

A stream without event time (by arrival, tests-py/fixtures/stream-schema-pings.json, the document the deploy
side writes for test/fixtures/streams-arrival/pings.yaml) gets one more run, on buckets of its own: its
records need no timestamp and are filed by the arrival date of their object.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
import stream_export_job
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, DecimalType, IntegerType, StringType, StructField, StructType, TimestampType

from ingest.json_lines import object_rows, parse_record
from ingest.report import RunFailure
from ingest.stream_export import (
    ArrivalFolders,
    StreamField,
    StreamSchema,
    StreamSchemaError,
    arrival_date,
    arrival_folders,
    classify_records,
    export_file_name,
    exported_key,
    lines_schema,
    marker_key,
    name_collisions,
    parse_stream_schema,
    quarantine_key,
    run,
)

REGION = "us-east-1"
STREAM_SCHEMA = {
    "stream": "clickstream",
    "fields": [
        {"name": "event_id", "type": {"kind": "string"}},
        {"name": "event_time", "type": {"kind": "timestamp"}},
        {"name": "amount", "type": {"kind": "decimal", "precision": 12, "scale": 2}},
        {"name": "item_count", "type": {"kind": "integer"}},
    ],
    "eventTime": {"field": "event_time", "format": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"},
}
CONFIG = "stream-export-config"
DELIVERY = "stream-export-delivery"
WAREHOUSE = "stream-export-warehouse"
QUARANTINE = "stream-export-quarantine"
GLUE_TEMP = "stream-export-glue-temp"
ARGUMENTS = {
    "stream_uri": f"s3://{CONFIG}/streams/clickstream.json",
    "delivery_bucket": DELIVERY,
    "delivery_prefix": "firehose/clickstream/",
    "destination_bucket": WAREHOUSE,
    "destination_prefix": "snowpipe/clickstream/",
    "quarantine_bucket": QUARANTINE,
    "quarantine_prefix": "clickstream/",
    "staging_uri": f"s3://{GLUE_TEMP}/stream-export/",
}
GZ_NAME = "clickstream-warehouse-1-2026-11-23-14-05-01-0b6c1f0e-5b3a-4c1e-9f1d-2a7e8c9d0f11"
PLAIN_NAME = "clickstream-warehouse-1-2026-11-23-14-20-01-7e2d4a90-1c3b-4d5e-8f60-718293a4b5c6"
CORRUPT_NAME = "clickstream-warehouse-1-2026-11-23-15-05-01-c0ffee00-0000-4000-8000-000000000000"
GZ_KEY = f"firehose/clickstream/2026/11/23/14/{GZ_NAME}.gz"
PLAIN_KEY = f"firehose/clickstream/2026/11/23/14/{PLAIN_NAME}"  # delivered without compression
CORRUPT_KEY = f"firehose/clickstream/2026/11/23/15/{CORRUPT_NAME}.gz"
LATER_KEY = "firehose/clickstream/2026/11/23/16/clickstream-warehouse-1-2026-11-23-16-05-01-5eed0000-0000-4000-8000-000000000000.gz"
CORRUPT_ERROR = "not a readable GZIP object: Compressed file ended before the end-of-stream marker was reached"
T = "2026-11-23T10:00:00.000Z"

# The gzipped object, one physical line each, with the reason each line is quarantined (None: exported).
GZ_LINES: list[tuple[bytes, str | None]] = [
    (b'{"event_id":"e1","event_time":"2026-11-22T23:59:59.999Z","amount":12.50,"item_count":3,"page":"/cart"}', None),
    (b'{"event_id":"e2","event_time":"2026-11-23T00:30:00.000+01:00","amount":null,"item_count":1}', None),
    (b"", None),  # blank: skipped, but it still counts for the numbering
    (b'{"event_id":"e3","event_time":"2026-11-23T00:00:00.000Z","amount":-0.5,"item_count":0}', None),
    (
        b'{"event_id": "e4", "event_time": "2026-11-23T10:00:00.000Z", ',
        "invalid JSON: Expecting property name enclosed in double quotes at column 62",
    ),
    (b'[{"event_id":"e5"}]', "not a JSON object: the line holds a JSON array"),
    (b'{"event_id":"e6","amount":2.00}', "event time missing: field event_time is absent or null"),
    (b'{"event_id":"e7","event_time":null}', "event time missing: field event_time is absent or null"),
    (
        f'{{"event_id":"e8","event_time":"{T}","item_count":"3"}}'.encode(),
        "field item_count: expected a JSON number for integer, got a JSON string",
    ),
    (
        f'{{"event_id":"e9","event_time":"{T}","item_count":3000000000}}'.encode(),
        "field item_count: 3000000000 is not a whole number that fits integer",
    ),
    (f'{{"event_id":"e10","event_time":"{T}","item_count":2.0}}'.encode(), "field item_count: 2.0 is not a whole number that fits integer"),
    (
        b'{"event_id":"e11","event_time":"2026-11-23 10:00:00","item_count":1}',
        "field event_time: \"2026-11-23 10:00:00\" is not a timestamp like yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    ),
    (
        b'{"event_id":"e12","event_time":1795442400000}',
        "field event_time: expected a JSON string for timestamp (yyyy-MM-dd'T'HH:mm:ss.SSSXXX), got a JSON number",
    ),
    (
        f'{{"event_id":"e13","event_time":"{T}","amount":12345678901.5}}'.encode(),
        "field amount: 12345678901.5 is not a decimal with at most 10 digits before and 2 after the point",
    ),
    (
        f'{{"event_id":"e14","event_time":"{T}","amount":1.234}}'.encode(),
        "field amount: 1.234 is not a decimal with at most 10 digits before and 2 after the point",
    ),
    (
        f'{{"event_id":"e15","event_time":"{T}","amount":{{"value":1}}}}'.encode(),
        "field amount: expected a JSON number for decimal(12,2), got a JSON object",
    ),
    (f'{{"event_id":"e16","event_time":"{T}","amount":NaN}}'.encode(), "invalid JSON: NaN is not a JSON value"),
    (f'{{"event_id":17,"event_time":"{T}"}}'.encode(), "field event_id: expected a JSON string for string, got a JSON number"),
    (f'{{"event_id":"e18","event_time":"{T}"}} {{"event_id":"e19"}}'.encode(), "invalid JSON: Extra data at column 60"),
    (f'{{"event_id":"caf\xe9","event_time":"{T}"}}'.encode("latin-1"), "invalid JSON: not valid UTF-8"),
]
PLAIN_BODY = (
    b'{"event_id":"p1","event_time":"2026-11-23T14:05:01.123Z","amount":99.99,"item_count":2}\n'
    b'{"event_id":"p2","event_time":"2026-11-22T08:00:00.000-05:00","amount":0,"item_count":-7}\r\n'
    b"   \n"
    b'{"event_id":"p3","event_time":"2026-11-23T14:05:01.5Z"}\n'
    b'{"event_id":"p4","event_time":"2026-11-23T23:59:59.999+00:00","amount":1234567890.12,"item_count":2147483647}'
)
FILE_SCHEMA = StructType(
    [
        StructField("event_id", StringType()),
        StructField("event_time", TimestampType()),
        StructField("amount", DecimalType(12, 2)),
        StructField("item_count", IntegerType()),
    ]
)


def final_uri(name: str, event_date: str) -> str:
    return f"s3://{WAREHOUSE}/snowpipe/clickstream/event_date={event_date}/{name}.parquet"


# Every Parquet file, with its rows in line order.
EXPECTED_FILES = {
    final_uri(GZ_NAME, "2026-11-22"): [
        ("e1", dt.datetime(2026, 11, 22, 23, 59, 59, 999000), Decimal("12.50"), 3),
        ("e2", dt.datetime(2026, 11, 22, 23, 30), None, 1),
    ],
    final_uri(GZ_NAME, "2026-11-23"): [("e3", dt.datetime(2026, 11, 23), Decimal("-0.50"), 0)],
    final_uri(PLAIN_NAME, "2026-11-22"): [("p2", dt.datetime(2026, 11, 22, 13), Decimal("0.00"), -7)],
    final_uri(PLAIN_NAME, "2026-11-23"): [
        ("p1", dt.datetime(2026, 11, 23, 14, 5, 1, 123000), Decimal("99.99"), 2),
        ("p3", dt.datetime(2026, 11, 23, 14, 5, 1, 500000), None, None),
        ("p4", dt.datetime(2026, 11, 23, 23, 59, 59, 999000), Decimal("1234567890.12"), 2147483647),
    ],
}
GZ_REJECTED = [
    {"source_object": GZ_KEY, "line": number, "reason": reason, "record": line.decode("utf-8", "backslashreplace")}
    for number, (line, reason) in enumerate(GZ_LINES, start=1)
    if reason is not None
]
GZ_EXPORT = {
    "lines": 19,
    "exported": 3,
    "quarantined": 16,
    "files": [final_uri(GZ_NAME, "2026-11-22"), final_uri(GZ_NAME, "2026-11-23")],
    "quarantine": f"s3://{QUARANTINE}/clickstream/rejected/{GZ_KEY}.jsonl",
}
PLAIN_EXPORT = {
    "lines": 4,
    "exported": 4,
    "quarantined": 0,
    "files": [final_uri(PLAIN_NAME, "2026-11-22"), final_uri(PLAIN_NAME, "2026-11-23")],
    "quarantine": None,
}
RUN_FAILURE = (
    "objects-not-exported: 1 of 3 pending object(s) could not be exported and stay pending (the others were exported): "
    f"{CORRUPT_KEY}: {CORRUPT_ERROR}"
)


@dataclass
class Run:
    report: dict  # as stored in the quarantine bucket
    printed: list[str]  # what the run printed
    failure: str | None  # the RunFailure, or stderr of the entry script
    exit_code: int | None  # when run through the entry script
    state: dict[str, dict[str, str]]  # bucket -> key -> ETag, after the run


@dataclass
class Scenario:
    first: Run
    second: Run
    third: Run
    crashed: Run
    rerun: Run
    repeated: Run
    missing: Run


def bucket_state(s3, buckets=(DELIVERY, WAREHOUSE, QUARANTINE, GLUE_TEMP)) -> dict[str, dict[str, str]]:
    return {bucket: {entry["Key"]: entry["ETag"] for entry in s3.list_objects_v2(Bucket=bucket).get("Contents", [])} for bucket in buckets}


def latest_report(
    s3, before: dict[str, dict[str, str]], quarantine=QUARANTINE, reports_prefix="clickstream/reports/", glue_run_id: str | None = None
) -> dict:
    reports = [
        key for key in bucket_state(s3, (quarantine,))[quarantine] if key.startswith(reports_prefix) and key not in before[quarantine]
    ]
    assert len(reports) == 1, reports
    report = json.loads(s3.get_object(Bucket=quarantine, Key=reports[0])["Body"].read())
    if glue_run_id is None:
        # A run Glue did not start (a local run) is named by its start in UTC, so the reports list in run order.
        assert re.fullmatch(r"\d{8}T\d{12}Z", report["runId"]), report["runId"]
    else:
        assert report["runId"] == glue_run_id
    assert reports == [f"{reports_prefix}{report['runId']}.json"]
    return report


class CrashingS3:
    """The real client, except that copying a quarantine file fails: a run that stops before its marker."""

    def __init__(self, s3) -> None:
        self._s3 = s3

    def __getattr__(self, name: str):
        return getattr(self._s3, name)

    def copy_object(self, **kwargs):
        if kwargs["Key"].endswith(".jsonl"):
            raise ConnectionError("the run stopped here")
        return self._s3.copy_object(**kwargs)


def run_directly(spark, s3, client=None, arguments=ARGUMENTS) -> Run:
    before = bucket_state(s3)
    printed: list[str] = []
    failure = None
    try:
        run(spark, arguments, client or s3, progress=printed.append)
    except (RunFailure, ConnectionError) as error:
        failure = f"{type(error).__name__}: {error}"
    return Run(report=latest_report(s3, before), printed=printed, failure=failure, exit_code=None, state=bucket_state(s3))


def run_entry_script(s3, arguments=ARGUMENTS) -> Run:
    """The entry script as Glue runs it: with the job's arguments and Glue's own --JOB_RUN_ID, which names the report."""
    before = bucket_state(s3)
    glue_run_id = f"jr_{uuid.uuid4().hex}"
    argv = [
        "stream_export_job.py",
        *(token for name, value in arguments.items() for token in (f"--{name}", value)),
        *("--JOB_RUN_ID", glue_run_id),
    ]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        exit_code = stream_export_job.main(argv)
    return Run(
        report=latest_report(s3, before, glue_run_id=glue_run_id),
        printed=out.getvalue().splitlines(),
        failure=err.getvalue() or None,
        exit_code=exit_code,
        state=bucket_state(s3),
    )


@pytest.fixture(scope="module")
def s3(moto_endpoint, aws_environment):
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def shared_buckets(s3) -> None:
    """The buckets both scenarios use: the config (stream schemas) and Glue's temporary bucket (staging)."""
    for bucket in (CONFIG, GLUE_TEMP):
        s3.create_bucket(Bucket=bucket)


@pytest.fixture(scope="module")
def scenario(spark, s3, shared_buckets) -> Scenario:
    for bucket in (DELIVERY, WAREHOUSE, QUARANTINE):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=CONFIG, Key="streams/clickstream.json", Body=json.dumps(STREAM_SCHEMA).encode("utf-8"))
    gz_body = gzip.compress(b"".join(line + b"\n" for line, _ in GZ_LINES))
    s3.put_object(Bucket=DELIVERY, Key=GZ_KEY, Body=gz_body)
    s3.put_object(Bucket=DELIVERY, Key=PLAIN_KEY, Body=PLAIN_BODY)
    s3.put_object(Bucket=DELIVERY, Key=CORRUPT_KEY, Body=gzip.compress(PLAIN_BODY)[:40])  # cut short in transit

    first = run_directly(spark, s3)
    second = run_entry_script(s3)
    s3.delete_object(Bucket=DELIVERY, Key=CORRUPT_KEY)  # an operator moves the broken object away
    third = run_entry_script(s3)
    s3.delete_object(Bucket=DELIVERY, Key=marker_key(GZ_KEY))  # as if the first run had stopped before this marker
    crashed = run_directly(spark, s3, CrashingS3(s3))
    s3.put_object(Bucket=DELIVERY, Key=LATER_KEY, Body=gzip.compress(PLAIN_BODY))
    rerun = run_directly(spark, s3, arguments={**ARGUMENTS, "delivered_key": GZ_KEY})
    repeated = run_entry_script(s3, arguments={**ARGUMENTS, "delivered_key": GZ_KEY})
    missing = run_directly(spark, s3, arguments={**ARGUMENTS, "delivered_key": CORRUPT_KEY})
    return Scenario(first=first, second=second, third=third, crashed=crashed, rerun=rerun, repeated=repeated, missing=missing)


def without_run_times(report: dict) -> dict:
    assert set(report) >= {"runId", "startedAt", "finishedAt"}
    return {key: value for key, value in report.items() if key not in ("runId", "startedAt", "finishedAt")}


def test_parquet_files_hold_exactly_the_good_records_typed_and_in_line_order(spark, scenario):
    files = spark.read.parquet(*EXPECTED_FILES).withColumn("file", F.input_file_name())
    # The event date is in the key (Hive style), not in the file: the files hold the declared columns only.
    assert files.drop("file").schema == FILE_SCHEMA
    by_file: dict[str, list[tuple]] = {}
    for row in files.collect():
        by_file.setdefault(row["file"], []).append(tuple(row)[:4])
    assert by_file == EXPECTED_FILES


def test_parquet_footer_declares_snappy_and_the_types_snowflake_reads(spark, scenario):
    jvm = spark.sparkContext._jvm
    configuration = spark.sparkContext._jsc.hadoopConfiguration()
    for uri in EXPECTED_FILES:
        path = jvm.org.apache.hadoop.fs.Path(uri)
        reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(
            jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(path, configuration)
        )
        try:
            footer = reader.getFooter()
            schema = footer.getFileMetaData().getSchema().toString()
            codecs = {str(column.getCodec().toString()) for block in footer.getBlocks() for column in block.getColumns()}
        finally:
            reader.close()
        assert schema == (
            "message spark_schema {\n"
            "  optional binary event_id (STRING);\n"
            "  optional int64 event_time (TIMESTAMP(MICROS,true));\n"
            "  optional int64 amount (DECIMAL(12,2));\n"
            "  optional int32 item_count;\n"
            "}\n"
        ), uri
        assert codecs == {"SNAPPY"}, uri


def test_event_date_partitions_read_back_as_dates(spark, scenario):
    table = spark.read.parquet(f"s3://{WAREHOUSE}/snowpipe/clickstream/")
    assert table.schema == StructType([*FILE_SCHEMA.fields, StructField("event_date", DateType())])
    assert sorted((row["event_id"], row["event_date"]) for row in table.select("event_id", "event_date").collect()) == [
        ("e1", dt.date(2026, 11, 22)),
        ("e2", dt.date(2026, 11, 22)),
        ("e3", dt.date(2026, 11, 23)),
        ("p1", dt.date(2026, 11, 23)),
        ("p2", dt.date(2026, 11, 22)),
        ("p3", dt.date(2026, 11, 23)),
        ("p4", dt.date(2026, 11, 23)),
    ]


def test_one_file_per_object_and_event_date_under_deterministic_keys(scenario):
    assert sorted(scenario.first.state[WAREHOUSE]) == [
        f"snowpipe/clickstream/event_date=2026-11-22/{GZ_NAME}.parquet",
        f"snowpipe/clickstream/event_date=2026-11-22/{PLAIN_NAME}.parquet",
        f"snowpipe/clickstream/event_date=2026-11-23/{GZ_NAME}.parquet",
        f"snowpipe/clickstream/event_date=2026-11-23/{PLAIN_NAME}.parquet",
    ]
    assert (
        exported_key("snowpipe/clickstream/", GZ_KEY, "event_date", "2026-11-22")
        == f"snowpipe/clickstream/event_date=2026-11-22/{GZ_NAME}.parquet"
    )


def test_malformed_records_are_quarantined_with_line_reason_and_raw_text(s3, scenario):
    quarantined = sorted(key for key in scenario.first.state[QUARANTINE] if not key.startswith("clickstream/reports/"))
    assert quarantined == [f"clickstream/rejected/{GZ_KEY}.jsonl"] == [quarantine_key("clickstream/", GZ_KEY)]
    body = s3.get_object(Bucket=QUARANTINE, Key=quarantined[0])["Body"].read().decode("utf-8")
    assert body.endswith("\n")
    assert [json.loads(line) for line in body.splitlines()] == GZ_REJECTED
    assert len(GZ_REJECTED) == 16


def test_markers_are_written_for_exported_objects_only(s3, scenario):
    markers = sorted(key for key in scenario.first.state[DELIVERY] if key.startswith("_exported/"))
    assert markers == [f"_exported/{GZ_KEY}", f"_exported/{PLAIN_KEY}"]
    plain_marker = json.loads(s3.get_object(Bucket=DELIVERY, Key=f"_exported/{PLAIN_KEY}")["Body"].read())
    assert {key: value for key, value in plain_marker.items() if key != "exportedAt"} == PLAIN_EXPORT


def test_first_run_reports_every_object_and_fails_on_the_corrupt_one(scenario):
    first = scenario.first
    assert first.failure == f"RunFailure: {RUN_FAILURE}"
    assert without_run_times(first.report) == {
        "job": "stream-export",
        "stream": "clickstream",
        "deliveredKey": None,
        "status": "failed",
        "objectsPending": 3,
        "objectsExported": 2,
        "objects": {GZ_KEY: GZ_EXPORT, PLAIN_KEY: PLAIN_EXPORT},
        "failedObjects": {CORRUPT_KEY: CORRUPT_ERROR},
        "totals": {"lines": 23, "exported": 7, "quarantined": 16, "files": 4},
        "failure": {"reason": "objects-not-exported", "detail": RUN_FAILURE.removeprefix("objects-not-exported: ")},
    }
    [printed] = first.printed
    assert json.loads(printed) == {"level": "ERROR", "message": "stream export finished", **first.report}
    assert first.state[GLUE_TEMP] == {}  # staging is cleaned up


def test_second_run_exports_nothing_new_and_names_the_corrupt_object_still_pending(scenario):
    second = scenario.second
    assert second.exit_code == 1
    detail = f"1 of 1 pending object(s) could not be exported and stay pending (the others were exported): {CORRUPT_KEY}: {CORRUPT_ERROR}"
    assert second.failure == f"stream export failed: objects-not-exported: {detail}\n"
    assert without_run_times(second.report) == {
        "job": "stream-export",
        "stream": "clickstream",
        "deliveredKey": None,
        "status": "failed",
        "objectsPending": 1,
        "objectsExported": 0,
        "objects": {},
        "failedObjects": {CORRUPT_KEY: CORRUPT_ERROR},
        "totals": {"lines": 0, "exported": 0, "quarantined": 0, "files": 0},
        "failure": {"reason": "objects-not-exported", "detail": detail},
    }
    assert f"_exported/{CORRUPT_KEY}" not in second.state[DELIVERY]
    # The exported files are untouched: same keys, same content.
    assert second.state[WAREHOUSE] == scenario.first.state[WAREHOUSE]
    assert second.state[GLUE_TEMP] == {}


def test_with_every_object_exported_there_is_nothing_to_export(scenario):
    third = scenario.third
    assert (third.exit_code, third.failure) == (0, None)
    assert without_run_times(third.report) == {
        "job": "stream-export",
        "stream": "clickstream",
        "deliveredKey": None,
        "status": "nothing to export",
        "objectsPending": 0,
        "objectsExported": 0,
        "objects": {},
        "failedObjects": {},
        "totals": {"lines": 0, "exported": 0, "quarantined": 0, "files": 0},
        "failure": None,
    }
    assert [json.loads(line) for line in third.printed] == [{"level": "INFO", "message": "stream export finished", **third.report}]
    assert third.state[WAREHOUSE] == scenario.first.state[WAREHOUSE]


def test_a_run_that_stops_before_the_marker_leaves_the_object_pending(scenario):
    crashed = scenario.crashed
    assert crashed.failure == "ConnectionError: the run stopped here"
    assert without_run_times(crashed.report) == {
        "job": "stream-export",
        "stream": "clickstream",
        "deliveredKey": None,
        "status": "failed",
        "objectsPending": 1,
        "objectsExported": 0,
        "objects": {},
        "failedObjects": {},
        "totals": {"lines": 0, "exported": 0, "quarantined": 0, "files": 0},
        "failure": {"reason": "unexpected-error", "detail": "ConnectionError: the run stopped here"},
    }
    assert f"_exported/{GZ_KEY}" not in crashed.state[DELIVERY]
    assert crashed.state[WAREHOUSE] == scenario.first.state[WAREHOUSE]  # copied again before the crash: same content
    assert crashed.state[GLUE_TEMP] == {}


def test_an_object_scoped_run_exports_only_its_object_again_to_the_same_keys_with_the_same_content(scenario):
    rerun = scenario.rerun
    assert rerun.failure is None
    assert without_run_times(rerun.report) == {
        "job": "stream-export",
        "stream": "clickstream",
        "deliveredKey": GZ_KEY,
        "status": "succeeded",
        "objectsPending": 1,
        "objectsExported": 1,
        "objects": {GZ_KEY: GZ_EXPORT},
        "failedObjects": {},
        "totals": {"lines": 19, "exported": 3, "quarantined": 16, "files": 2},
        "failure": None,
    }
    # ETags are content hashes: the rewritten Parquet and quarantine files are byte for byte the same.
    assert rerun.state[WAREHOUSE] == scenario.first.state[WAREHOUSE]
    rejected = f"clickstream/rejected/{GZ_KEY}.jsonl"
    assert rerun.state[QUARANTINE][rejected] == scenario.first.state[QUARANTINE][rejected]
    assert f"_exported/{GZ_KEY}" in rerun.state[DELIVERY]
    # The object delivered meanwhile is pending too, but not this run's: no Parquet file, no marker.
    assert LATER_KEY in rerun.state[DELIVERY]
    assert f"_exported/{LATER_KEY}" not in rerun.state[DELIVERY]
    assert rerun.state[GLUE_TEMP] == {}


def test_an_object_scoped_run_for_an_exported_object_has_nothing_to_export(scenario):
    repeated = scenario.repeated
    assert (repeated.exit_code, repeated.failure) == (0, None)
    assert without_run_times(repeated.report) == {
        "job": "stream-export",
        "stream": "clickstream",
        "deliveredKey": GZ_KEY,
        "status": "nothing to export",
        "objectsPending": 0,
        "objectsExported": 0,
        "objects": {},
        "failedObjects": {},
        "totals": {"lines": 0, "exported": 0, "quarantined": 0, "files": 0},
        "failure": None,
    }
    assert {bucket: keys for bucket, keys in repeated.state.items() if bucket != QUARANTINE} == {
        bucket: keys for bucket, keys in scenario.rerun.state.items() if bucket != QUARANTINE
    }


def test_an_object_scoped_run_for_an_object_that_is_gone_fails_and_converts_nothing(scenario):
    missing = scenario.missing
    detail = f"s3://{DELIVERY}/{CORRUPT_KEY} does not exist (expired or deleted before it was exported)"
    assert missing.failure == f"RunFailure: delivered-object-missing: {detail}"
    assert without_run_times(missing.report) == {
        "job": "stream-export",
        "stream": "clickstream",
        "deliveredKey": CORRUPT_KEY,
        "status": "failed",
        "objectsPending": 0,
        "objectsExported": 0,
        "objects": {},
        "failedObjects": {},
        "totals": {"lines": 0, "exported": 0, "quarantined": 0, "files": 0},
        "failure": {"reason": "delivered-object-missing", "detail": detail},
    }
    assert missing.state[WAREHOUSE] == scenario.rerun.state[WAREHOUSE]


# ---------------------------------------------------------------------------------------------
# A stream without event time: one run over two dated objects and one copied in by hand.

PINGS_SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "stream-schema-pings.json").read_text(encoding="utf-8"))
PINGS_DELIVERY = "stream-export-pings-delivery"
PINGS_WAREHOUSE = "stream-export-pings-warehouse"
PINGS_QUARANTINE = "stream-export-pings-quarantine"
PINGS_BUCKETS = (PINGS_DELIVERY, PINGS_WAREHOUSE, PINGS_QUARANTINE, GLUE_TEMP)
# As components/warehouse-export lays the stream out; Firehose's !{timestamp:yyyy/MM/dd/HH}/ dates the delivered keys.
PINGS_ARGUMENTS = {
    "stream_uri": f"s3://{CONFIG}/streams/pings.json",
    "delivery_bucket": PINGS_DELIVERY,
    "delivery_prefix": "pings/",
    "destination_bucket": PINGS_WAREHOUSE,
    "destination_prefix": "pings/",
    "quarantine_bucket": PINGS_QUARANTINE,
    "quarantine_prefix": "streams/pings/export/",
    "staging_uri": f"s3://{GLUE_TEMP}/stream-export-pings/",
}
LATE_NAME = "pings-warehouse-1-2026-11-23-23-59-58-1a2b3c4d-0000-4000-8000-000000000001"
MIDNIGHT_NAME = "pings-warehouse-1-2026-11-24-00-00-03-1a2b3c4d-0000-4000-8000-000000000002"
LATE_KEY = f"pings/2026/11/23/23/{LATE_NAME}.gz"  # received just before midnight, UTC
MIDNIGHT_KEY = f"pings/2026/11/24/00/{MIDNIGHT_NAME}"
BY_HAND_KEY = "pings/copied-by-hand.jsonl"  # no date folders: its arrival date is unknown
BY_HAND_ERROR = "its key has no arrival date (Firehose's YYYY/MM/DD/HH/ folders before the name), by which a stream without event time files its records"
LATE_LINES = [
    b'{"device_id":"d-1","battery":80}',
    b'{"device_id":"d-2","battery":"low"}',
    b'{"device_id":"d-3","last_boot":"2026-11-20 08:00:00"}',
    b"{}",
]
PINGS_RUN_FAILURE = (
    f"1 of 3 pending object(s) could not be exported and stay pending (the others were exported): {BY_HAND_KEY}: {BY_HAND_ERROR}"
)


def pings_uri(name: str, day: str) -> str:
    return f"s3://{PINGS_WAREHOUSE}/pings/arrival_date={day}/{name}.parquet"


@pytest.fixture(scope="module")
def pings_run(spark, s3, shared_buckets) -> Run:
    for bucket in PINGS_BUCKETS[:3]:
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=CONFIG, Key="streams/pings.json", Body=json.dumps(PINGS_SCHEMA).encode("utf-8"))
    s3.put_object(Bucket=PINGS_DELIVERY, Key=LATE_KEY, Body=gzip.compress(b"\n".join(LATE_LINES) + b"\n"))
    s3.put_object(Bucket=PINGS_DELIVERY, Key=MIDNIGHT_KEY, Body=b'{"battery":5,"last_boot":null}\n')
    s3.put_object(Bucket=PINGS_DELIVERY, Key=BY_HAND_KEY, Body=b'{"battery":1}\n')
    before = bucket_state(s3, PINGS_BUCKETS)
    printed: list[str] = []
    try:
        run(spark, PINGS_ARGUMENTS, s3, progress=printed.append)
        failure = None
    except RunFailure as error:
        failure = str(error)
    report = latest_report(s3, before, PINGS_QUARANTINE, "streams/pings/export/reports/")
    return Run(report=report, printed=printed, failure=failure, exit_code=None, state=bucket_state(s3, PINGS_BUCKETS))


def test_without_event_time_records_need_no_timestamp_and_are_filed_by_arrival_date(spark, pings_run):
    exported = spark.read.parquet(f"s3://{PINGS_WAREHOUSE}/pings/").withColumn("file", F.input_file_name())
    assert exported.schema == StructType(
        [
            StructField("device_id", StringType()),
            StructField("battery", IntegerType()),
            StructField("last_boot", TimestampType()),
            StructField("arrival_date", DateType()),
            StructField("file", StringType(), False),
        ]
    )
    assert sorted((tuple(row) for row in exported.collect()), key=lambda row: (row[4], row[0] or "")) == [
        (None, None, None, dt.date(2026, 11, 23), pings_uri(LATE_NAME, "2026-11-23")),
        ("d-1", 80, None, dt.date(2026, 11, 23), pings_uri(LATE_NAME, "2026-11-23")),
        ("d-3", None, dt.datetime(2026, 11, 20, 8), dt.date(2026, 11, 23), pings_uri(LATE_NAME, "2026-11-23")),
        (None, 5, None, dt.date(2026, 11, 24), pings_uri(MIDNIGHT_NAME, "2026-11-24")),
    ]


def test_without_event_time_an_object_without_an_arrival_date_stays_pending(s3, pings_run):
    assert pings_run.failure == f"objects-not-exported: {PINGS_RUN_FAILURE}"
    assert sorted(pings_run.state[PINGS_WAREHOUSE]) == [
        f"pings/arrival_date=2026-11-23/{LATE_NAME}.parquet",
        f"pings/arrival_date=2026-11-24/{MIDNIGHT_NAME}.parquet",
    ]
    assert without_run_times(pings_run.report) == {
        "job": "stream-export",
        "stream": "pings",
        "deliveredKey": None,
        "status": "failed",
        "objectsPending": 3,
        "objectsExported": 2,
        "objects": {
            LATE_KEY: {
                "lines": 4,
                "exported": 3,
                "quarantined": 1,
                "files": [pings_uri(LATE_NAME, "2026-11-23")],
                "quarantine": f"s3://{PINGS_QUARANTINE}/streams/pings/export/rejected/{LATE_KEY}.jsonl",
            },
            MIDNIGHT_KEY: {
                "lines": 1,
                "exported": 1,
                "quarantined": 0,
                "files": [pings_uri(MIDNIGHT_NAME, "2026-11-24")],
                "quarantine": None,
            },
        },
        "failedObjects": {BY_HAND_KEY: BY_HAND_ERROR},
        "totals": {"lines": 5, "exported": 4, "quarantined": 1, "files": 2},
        "failure": {"reason": "objects-not-exported", "detail": PINGS_RUN_FAILURE},
    }
    # A present value is still checked: the one rejected record is for its type, not for a missing time.
    rejected = f"streams/pings/export/rejected/{LATE_KEY}.jsonl"
    assert sorted(key for key in pings_run.state[PINGS_QUARANTINE] if "/rejected/" in key) == [rejected]
    body = s3.get_object(Bucket=PINGS_QUARANTINE, Key=rejected)["Body"].read().decode("utf-8")
    assert [json.loads(line) for line in body.splitlines()] == [
        {
            "source_object": LATE_KEY,
            "line": 2,
            "reason": "field battery: expected a JSON number for integer, got a JSON string",
            "record": '{"device_id":"d-2","battery":"low"}',
        }
    ]
    assert sorted(key for key in pings_run.state[PINGS_DELIVERY] if key.startswith("_exported/")) == [
        f"_exported/{LATE_KEY}",
        f"_exported/{MIDNIGHT_KEY}",
    ]
    assert pings_run.state[GLUE_TEMP] == {}


@pytest.mark.parametrize(
    ("delivered_key", "day"),
    [
        (LATE_KEY, "2026-11-23"),
        ("a/b/2026/01/02/00/x", "2026-01-02"),
        ("pings/2026/02/30/10/x.gz", None),  # no such day
        ("pings/2026/11/23/x.gz", None),  # no hour folder
        ("pings/2026/11/23/14/", None),  # no name
        (BY_HAND_KEY, None),
    ],
)
def test_arrival_date_is_the_date_of_firehoses_folders(delivered_key, day):
    assert arrival_date(delivered_key) == day


@pytest.mark.parametrize(
    ("time_folders", "read"),
    [
        ("yyyy/MM/dd/HH", ArrivalFolders(r"(\d{4}/\d{2}/\d{2})/\d{2}/[^/]+$", "%Y/%m/%d", "yyyy/MM/dd")),
        ("yyyy/MM/dd", ArrivalFolders(r"(\d{4}/\d{2}/\d{2})/[^/]+$", "%Y/%m/%d", "yyyy/MM/dd")),
        ("HH/yyyy/MM/dd", "time folders 'HH/yyyy/MM/dd' must start yyyy/MM/dd, then only yyyy, MM, dd, HH"),
        ("yyyy/MM/dd/HH/mm", "time folders 'yyyy/MM/dd/HH/mm' must start yyyy/MM/dd, then only yyyy, MM, dd, HH"),
        ("yyyy-MM-dd/HH", "time folders 'yyyy-MM-dd/HH' must start yyyy/MM/dd, then only yyyy, MM, dd, HH"),
    ],
)
def test_the_contracts_time_folders_say_where_a_delivered_keys_date_is(time_folders, read):
    # The delivery stream's prefix is !{timestamp:<deliveredTimeFolders>}/ (contracts/export_layout.json).
    if isinstance(read, str):
        with pytest.raises(ValueError) as refused:
            arrival_folders(time_folders)
        assert str(refused.value) == read
    else:
        assert arrival_folders(time_folders) == read


# ---------------------------------------------------------------------------------------------
# Without S3: the record parser, the stream schema, and the typing of every kind on a tiny frame.

EVERY_KIND = {
    "stream": "every-kind",
    "fields": [
        {"name": "id", "type": {"kind": "string"}},
        {"name": "at", "type": {"kind": "timestamp"}},
        {"name": "day", "type": {"kind": "date"}},
        {"name": "flag", "type": {"kind": "boolean"}},
        {"name": "big", "type": {"kind": "long"}},
        {"name": "ratio", "type": {"kind": "double"}},
        {"name": "count", "type": {"kind": "integer"}},
        {"name": "price", "type": {"kind": "decimal", "precision": 5, "scale": 2}},
    ],
    "eventTime": {"field": "at", "format": "epoch-millis"},
}
EPOCH = "is not a whole number of milliseconds since 1970-01-01T00:00:00Z, in years 1 to 9999"

# (line, reason, typed values of an exported record: id, at, day, flag, big, ratio, count, price, event_date)
EVERY_KIND_LINES = [
    (
        '{"id":"a","at":1795442400000,"day":"2026-11-23","flag":true,"big":9007199254740993,"ratio":-1.5e3,"count":7,"price":123.45,"x":1}',
        None,
        (
            "a",
            dt.datetime(2026, 11, 23, 14),
            dt.date(2026, 11, 23),
            True,
            9007199254740993,
            -1500.0,
            7,
            Decimal("123.45"),
            dt.date(2026, 11, 23),
        ),
    ),
    ('{"id":"b","at":0,"flag":false}', None, ("b", dt.datetime(1970, 1, 1), None, False, None, None, None, None, dt.date(1970, 1, 1))),
    ('{"id":"c","at":"1795442400000"}', "field at: expected a JSON number for timestamp (epoch-millis), got a JSON string", None),
    ('{"id":"d","at":1795442400000.5}', f"field at: 1795442400000.5 {EPOCH}", None),
    ('{"id":"e","at":99999999999999999}', f"field at: 99999999999999999 {EPOCH}", None),
    ('{"id":"f","at":1,"flag":"true"}', "field flag: expected a JSON boolean for boolean, got a JSON string", None),
    ('{"id":"g","at":1,"day":"2026-02-30"}', 'field day: "2026-02-30" is not a date like yyyy-MM-dd', None),
    ('{"id":"h","at":1,"big":9223372036854775808}', "field big: 9223372036854775808 is not a whole number that fits long", None),
    ('{"id":"i","at":1,"ratio":1e999}', "field ratio: 1e999 is not a finite decimal number", None),
    ('{"id":"j","at":1,"count":-2147483649}', "field count: -2147483649 is not a whole number that fits integer", None),
    ('{"id":"k","at":1,"price":1000.1}', "field price: 1000.1 is not a decimal with at most 3 digits before and 2 after the point", None),
    ('{"id":"l","at":1,"big":"12"}', "field big: expected a JSON number for long, got a JSON string", None),
    ('{"id":"m","at":1,"day":["2026-11-23"]}', "field day: expected a JSON string for date, got a JSON array", None),
]


def test_every_kind_is_typed_or_rejected_with_the_field_named(spark):
    stream = parse_stream_schema(EVERY_KIND)
    body = "\n".join(line for line, _, _ in EVERY_KIND_LINES).encode("utf-8")
    lines = spark.createDataFrame(list(object_rows(0, "every-kind.json", body, stream.field_names)), lines_schema(stream))
    classified = classify_records(lines, stream).drop("object_index", "source_object", "record").collect()
    actual = [
        (row["line"], row["reason"], None if row["reason"] else tuple(row)[2:]) for row in sorted(classified, key=lambda row: row["line"])
    ]
    assert actual == [(number, reason, values) for number, (_, reason, values) in enumerate(EVERY_KIND_LINES, start=1)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"event_id":"a","amount":1.50,"item_count":12345678901234567890}',
            (None, (("string", "a"), None, ("number", "1.50"), ("number", "12345678901234567890"))),
        ),
        ('{"event_id":true,"event_time":{"at":1},"amount":[1]}', (None, (("boolean", "true"), ("object", None), ("array", None), None))),
        ('"text"', ("not a JSON object: the line holds a JSON string", None)),
        ("null", ("not a JSON object: the line holds a JSON null", None)),
        ('{"amount":-Infinity}', ("invalid JSON: -Infinity is not a JSON value", None)),
        ('{"event_id":"x",}', ("invalid JSON: Expecting property name enclosed in double quotes at column 17", None)),
        ("[" * 100_000, ("invalid JSON: nested too deeply", None)),
    ],
    ids=["exact number text", "non-scalar kinds", "string", "null", "infinity", "trailing comma", "deep nesting"],
)
def test_parse_record(text, expected):
    assert parse_record(text, ("event_id", "event_time", "amount", "item_count")) == expected


def test_lines_are_numbered_over_every_physical_line():
    body = b'{"a":1}\n\n  \r\n{"a":2}\r\n{"a":3}'
    assert [(row[2], row[3]) for row in object_rows(4, "k", body, ("a",))] == [(1, '{"a":1}'), (4, '{"a":2}\r'), (5, '{"a":3}')]


@pytest.mark.parametrize(
    ("delivered_key", "file_name"),
    [
        (GZ_KEY, f"{GZ_NAME}.parquet"),
        (PLAIN_KEY, f"{PLAIN_NAME}.parquet"),
        ("firehose/events.json.gz", "events.json.parquet"),
        ("events.gzip", "events.gzip.parquet"),
    ],
)
def test_export_file_name(delivered_key, file_name):
    assert export_file_name(delivered_key) == file_name


def test_objects_that_would_write_the_same_keys_are_held_back():
    keys = ["a/2026/11/23/14/x.gz", "a/2026/11/23/15/x", "a/2026/11/23/15/y.gz", "b/x.gz"]
    assert name_collisions(keys) == {
        "a/2026/11/23/15/x": "its Parquet file name x.parquet is also that of a/2026/11/23/14/x.gz",
        "b/x.gz": "its Parquet file name x.parquet is also that of a/2026/11/23/14/x.gz",
    }


def _drop_event_field(schema: dict) -> None:
    schema["fields"] = schema["fields"][:1]


def _bad_kinds(schema: dict) -> None:
    schema["fields"][2]["type"] = {"kind": "decimal", "precision": 40, "scale": 2}
    schema["fields"][3]["type"] = {"kind": "float"}


def _duplicate_and_reserved(schema: dict) -> None:
    schema["fields"].append({"name": "event_id", "type": {"kind": "string"}})
    schema["fields"].append({"name": "event_date", "type": {"kind": "date"}})


def _event_time_not_a_timestamp(schema: dict) -> None:
    schema["eventTime"] = {"field": "item_count", "format": ""}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_drop_event_field, "eventTime.field: 'event_time' is not a declared field"),
        (
            _bad_kinds,
            "fields[2].type: a decimal needs integers 1 <= precision <= 38 and 0 <= scale <= precision, not 40, 2; "
            "fields[3].type.kind: 'float' is not one of string, integer, long, double, boolean, date, timestamp, decimal",
        ),
        (
            _duplicate_and_reserved,
            "fields[4].name: 'event_id' is declared twice; fields[5].name: 'event_date' is the partition column the export adds",
        ),
        (
            _event_time_not_a_timestamp,
            "eventTime.field: 'item_count' has kind integer; the event time must be a timestamp; eventTime.format: must be epoch-millis or a datetime pattern; got ''",
        ),
    ],
    ids=["event time undeclared", "bad kinds", "duplicate and reserved names", "event time not a timestamp"],
)
def test_stream_schema_problems_are_all_reported(mutate, message):
    schema = json.loads(json.dumps(STREAM_SCHEMA))
    mutate(schema)
    with pytest.raises(StreamSchemaError) as raised:
        parse_stream_schema(schema)
    assert str(raised.value) == message


def test_a_schema_without_an_event_time_field_files_by_arrival_date():
    assert parse_stream_schema(PINGS_SCHEMA) == StreamSchema(
        stream="pings",
        fields=(
            StreamField(name="device_id", kind="string"),
            StreamField(name="battery", kind="integer"),
            StreamField(name="last_boot", kind="timestamp"),
        ),
        event_time_field=None,
        event_time_format="yyyy-MM-dd HH:mm:ss",
    )
    assert (parse_stream_schema(PINGS_SCHEMA).date_column, parse_stream_schema(STREAM_SCHEMA).date_column) == ("arrival_date", "event_date")


NOT_A_FIELD_NAME = "eventTime.field: must be a field name, or absent when records carry no event time; got"


@pytest.mark.parametrize(
    ("event_time", "extra_field", "message"),
    [
        ({"field": None, "format": "epoch-millis"}, None, f"{NOT_A_FIELD_NAME} None"),
        ({"field": "", "format": "epoch-millis"}, None, f"{NOT_A_FIELD_NAME} ''"),
        ({"field": ["last_boot"], "format": "epoch-millis"}, None, f"{NOT_A_FIELD_NAME} ['last_boot']"),
        (
            {"field": "battery", "format": "epoch-millis"},
            None,
            "eventTime.field: 'battery' has kind integer; the event time must be a timestamp",
        ),
        ({}, None, "eventTime.format: must be epoch-millis or a datetime pattern; got None"),
        ({"format": "epoch-seconds"}, None, "eventTime.format: must be epoch-millis or a datetime pattern; got 'epoch-seconds'"),
        ("epoch-millis", None, "eventTime: must be an object with format, and field when records carry an event time"),
        (
            {"format": "epoch-millis"},
            {"name": "arrival_date", "type": {"kind": "date"}},
            "fields[3].name: 'arrival_date' is the partition column the export adds",
        ),
    ],
    ids=[
        "null field",
        "empty field",
        "field not a name",
        "field not a timestamp",
        "no format",
        "epoch seconds",
        "not an object",
        "reserved arrival_date",
    ],
)
def test_a_malformed_event_time_is_refused(event_time, extra_field, message):
    schema = {**PINGS_SCHEMA, "eventTime": event_time, "fields": PINGS_SCHEMA["fields"] + ([extra_field] if extra_field else [])}
    with pytest.raises(StreamSchemaError) as raised:
        parse_stream_schema(schema)
    assert str(raised.value) == message
