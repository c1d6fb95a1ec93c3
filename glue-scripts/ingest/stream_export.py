"""The warehouse export: JSON records delivered by Firehose become Parquet files that Snowpipe loads.

A scheduled run exports every delivered object that has no marker yet; an object-scoped run (the
on-delivery starter's, with --delivered_key) exports the object it names, unless it has a marker
already. Runs go one at a time:

    delivered  s3://<delivery_bucket>/<delivery_prefix>YYYY/MM/DD/HH/<name>[.gz]
    Parquet    s3://<destination_bucket>/<destination_prefix>event_date=YYYY-MM-DD/<name>.parquet
               (a stream without event time: ...arrival_date=YYYY-MM-DD/<name>.parquet)
    rejected   s3://<quarantine_bucket>/<quarantine_prefix>rejected/<delivered key>.jsonl
    marker     s3://<delivery_bucket>/_exported/<delivered key>
    report     s3://<quarantine_bucket>/<quarantine_prefix>reports/<run id>.json

The Parquet files are filed by date, in UTC. A stream with an event time files each record under
the date of its event time (`event_date`), and rejects a record without one. A stream without one
(partitioned by arrival, its schema has no `eventTime.field`) requires no field of a record and
files every record of an object under the date Firehose received it (`arrival_date`): the
YYYY/MM/DD of the object's key, which the delivery stream's prefix `!{timestamp:yyyy/MM/dd/HH}/`
(the time folders of contracts/export_layout.json, which components/warehouse-export reads too)
writes from the arrival time of the oldest record in the object, in UTC: the same arrival time the
lake's `arrival_<granularity>` partition is cut from. It is read from the key rather than from
the object's LastModified because the key never changes, so a rerun writes the same Parquet keys,
and it names when Firehose received the records, not when it finished writing them. An object
whose key has no such date (copied in by hand) stays pending, with why. Snowpipe loads the whole
destination prefix by column name, so the folder's name is read by nothing but people and the
job itself.

There is exactly one Parquet file per (delivered object, date), named after the object, so
the names are the same on every run. An object's marker is written only after its files, so a run
that stops early leaves the object pending and the next run writes the same keys with the same
content: Snowpipe, which loads a file name once, never loads a record twice. Spark writes into a
staging prefix, partitioned so that each group is one file, and the driver copies each file to its
final key (a server-side copy) before writing the marker.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType

from ingest.contract_files import packaged_contract
from ingest.json_lines import read_objects
from ingest.locations import load_json, split_s3_uri
from ingest.report import RunFailure, reported_run
from ingest.typed_read import EPOCH_FORMATS, typed_value

# The delivery stream's time folders and the markers' prefix, which the Pulumi program reads too.
_LAYOUT = packaged_contract("export_layout.json")
MARKER_PREFIX: str = _LAYOUT["markerPrefix"]
DELIVERED_KEY = "delivered_key"  # the optional run argument of an object-scoped run
EVENT_DATE = "event_date"
ARRIVAL_DATE = "arrival_date"
DATE_FORMAT = "yyyy-MM-dd"
EPOCH_MILLIS = "epoch-millis"


@dataclass(frozen=True)
class ArrivalFolders:
    """How the date is read from the time folders the delivery stream puts before an object's name."""

    pattern: str  # group 1 is the date folders; read by both Python's re and Spark's (Java) regexp_extract
    date_format: str  # the group, as strptime reads it
    spark_date_format: str  # and as Spark's to_date reads it


# Each folder letter the delivery stream's `!{timestamp:...}` prefix may use: as a regular expression, for strptime.
_TIME_FOLDERS = {"yyyy": (r"\d{4}", "%Y"), "MM": (r"\d{2}", "%m"), "dd": (r"\d{2}", "%d"), "HH": (r"\d{2}", "%H")}
_DATE_FOLDERS = ["yyyy", "MM", "dd"]


def arrival_folders(time_folders: str) -> ArrivalFolders:
    """Reads `yyyy/MM/dd/HH` (the contract's deliveredTimeFolders): the date folders first, then any finer ones."""
    folders = time_folders.split("/")
    if folders[: len(_DATE_FOLDERS)] != _DATE_FOLDERS or any(folder not in _TIME_FOLDERS for folder in folders):
        raise ValueError(f"time folders {time_folders!r} must start yyyy/MM/dd, then only {', '.join(_TIME_FOLDERS)}")
    date, finer = folders[: len(_DATE_FOLDERS)], folders[len(_DATE_FOLDERS) :]
    pattern = "(" + "/".join(_TIME_FOLDERS[folder][0] for folder in date) + ")"
    pattern += "".join(f"/{_TIME_FOLDERS[folder][0]}" for folder in finer) + "/[^/]+$"
    return ArrivalFolders(pattern, "/".join(_TIME_FOLDERS[folder][1] for folder in date), "/".join(date))


ARRIVAL_FOLDERS = arrival_folders(_LAYOUT["deliveredTimeFolders"])

OBJECT_INDEX = "object_index"
SOURCE_OBJECT = "source_object"
LINE = "line"
RECORD = "record"
READ_ERROR = "read_error"
PARSE_ERROR = "parse_error"
FIELDS = "fields"
REASON = "reason"

_SPARK_TYPES = {
    "string": "string",
    "integer": "int",
    "long": "bigint",
    "double": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}
KINDS = (*_SPARK_TYPES, "decimal")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


# ---------------------------------------------------------------------------------------------
# The stream schema


class StreamSchemaError(ValueError):
    """The stream schema document is not usable; the message lists every problem."""


@dataclass(frozen=True)
class StreamField:
    name: str
    kind: str  # one of KINDS
    precision: int | None = None  # decimals only
    scale: int | None = None

    @property
    def spark_type(self) -> str:
        return f"decimal({self.precision},{self.scale})" if self.kind == "decimal" else _SPARK_TYPES[self.kind]

    @property
    def type_name(self) -> str:
        """The type as the stream schema names it: integer, long, decimal(12,2), ..."""
        return f"decimal({self.precision},{self.scale})" if self.kind == "decimal" else self.kind


@dataclass(frozen=True)
class StreamSchema:
    stream: str
    fields: tuple[StreamField, ...]
    event_time_field: str | None  # None: records carry no event time, and are filed by arrival date
    event_time_format: str  # epoch-millis or a Spark datetime pattern, for every timestamp field

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(stream_field.name for stream_field in self.fields)

    @property
    def date_column(self) -> str:
        """The partition column the export adds: event_date, or arrival_date for a stream without event time."""
        return date_column(self.event_time_field)

    def json_kind(self, stream_field: StreamField) -> str:
        """The JSON kind a record must give the field: timestamps are numbers for an epoch format, else strings."""
        if stream_field.kind in ("string", "date"):
            return "string"
        if stream_field.kind == "boolean":
            return "boolean"
        if stream_field.kind == "timestamp":
            return "number" if self.event_time_format in EPOCH_FORMATS else "string"
        return "number"

    def datetime_format(self, stream_field: StreamField) -> str | None:
        return {"date": DATE_FORMAT, "timestamp": self.event_time_format}.get(stream_field.kind)


def date_column(event_time_field: str | None) -> str:
    return ARRIVAL_DATE if event_time_field is None else EVENT_DATE


def parse_stream_schema(document: object) -> StreamSchema:
    """Validates the stream schema (the STREAM_SCHEMA document); raises StreamSchemaError listing every problem.

    eventTime always has the format of every timestamp field; its field is absent for a stream without event time.
    """
    if not isinstance(document, dict):
        raise StreamSchemaError("the stream schema must be a JSON object")
    problems: list[str] = []
    stream = document.get("stream")
    if not isinstance(stream, str) or not stream:
        problems.append("stream: must be a non-empty string")
    fields: list[StreamField] = []
    raw_fields = document.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        problems.append("fields: must be a non-empty list")
        raw_fields = []
    event_time = document.get("eventTime")
    event_field = event_time.get("field") if isinstance(event_time, dict) else None
    reserved = date_column(event_field)
    for index, raw in enumerate(raw_fields):
        parsed = _parse_field(f"fields[{index}]", raw, problems)
        if parsed is None:
            continue
        if any(earlier.name == parsed.name for earlier in fields):
            problems.append(f"fields[{index}].name: {parsed.name!r} is declared twice")
        elif parsed.name == reserved:
            problems.append(f"fields[{index}].name: {reserved!r} is the partition column the export adds")
        else:
            fields.append(parsed)
    event_format = None
    if not isinstance(event_time, dict):
        problems.append("eventTime: must be an object with format, and field when records carry an event time")
    else:
        event_format = event_time.get("format")
        kinds = {parsed.name: parsed.kind for parsed in fields}
        if "field" in event_time and (not isinstance(event_field, str) or not event_field):
            problems.append(f"eventTime.field: must be a field name, or absent when records carry no event time; got {event_field!r}")
        elif event_field is not None and event_field not in kinds:
            problems.append(f"eventTime.field: {event_field!r} is not a declared field")
        elif event_field is not None and kinds[event_field] != "timestamp":
            problems.append(f"eventTime.field: {event_field!r} has kind {kinds[event_field]}; the event time must be a timestamp")
        # typed_read also reads epoch-seconds, which no stream declares (contracts/column-types.ts, epochMillis).
        if not isinstance(event_format, str) or not event_format or event_format in set(EPOCH_FORMATS) - {EPOCH_MILLIS}:
            problems.append(f"eventTime.format: must be {EPOCH_MILLIS} or a datetime pattern; got {event_format!r}")
    if problems:
        raise StreamSchemaError("; ".join(problems))
    return StreamSchema(stream=stream, fields=tuple(fields), event_time_field=event_field, event_time_format=event_format)


def _parse_field(path: str, raw: object, problems: list[str]) -> StreamField | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be an object with name and type")
        return None
    name, field_type = raw.get("name"), raw.get("type")
    if not isinstance(name, str) or not _FIELD_NAME.match(name):
        problems.append(f"{path}.name: {name!r} is not lower_snake_case (a letter, then letters, digits or _, at most 63)")
        return None
    kind = field_type.get("kind") if isinstance(field_type, dict) else None
    if kind not in KINDS:
        problems.append(f"{path}.type.kind: {kind!r} is not one of {', '.join(KINDS)}")
        return None
    if kind != "decimal":
        return StreamField(name=name, kind=kind)
    precision, scale = field_type.get("precision"), field_type.get("scale")
    if not (_is_int(precision) and _is_int(scale) and 1 <= precision <= 38 and 0 <= scale <= precision):
        problems.append(
            f"{path}.type: a decimal needs integers 1 <= precision <= 38 and 0 <= scale <= precision, not {precision!r}, {scale!r}"
        )
        return None
    return StreamField(name=name, kind=kind, precision=precision, scale=scale)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# Pure DataFrame transforms


def lines_schema(stream: StreamSchema) -> StructType:
    """The frame the reader yields: a row per non-blank line, or one row with read_error for an unreadable object."""
    pair = StructType([StructField("kind", StringType()), StructField("text", StringType())])
    return StructType(
        [
            StructField(OBJECT_INDEX, IntegerType(), False),
            StructField(SOURCE_OBJECT, StringType(), False),
            StructField(LINE, LongType()),
            StructField(RECORD, StringType()),
            StructField(READ_ERROR, StringType()),
            StructField(PARSE_ERROR, StringType()),
            StructField(FIELDS, StructType([StructField(name, pair) for name in stream.field_names])),
        ]
    )


def classify_records(lines: DataFrame, stream: StreamSchema) -> DataFrame:
    """Types every record line; `reason` is the first thing wrong with it, null for a record that is exported.

    Columns: object_index, source_object, line, record, reason, the declared fields (typed), and the
    date column (stream.date_column): event_date, the UTC date of the event time; or, for a stream
    without event time, arrival_date, the date folders of source_object (ARRIVAL_FOLDERS; null for a
    key without them, which the run holds back before reading).
    Checks, in order: JSON, JSON object, event time present (when the stream has one), then each field
    in declared order: its JSON kind, then its value (range, digits, datetime format) by the rules of
    the CSV typed read.
    """
    event = stream.event_time_field
    checks: list[tuple[Column, Column]] = [(F.col(PARSE_ERROR).isNotNull(), F.col(PARSE_ERROR))]
    if event is not None:
        checks.append((F.col(f"{FIELDS}.{event}").isNull(), F.lit(f"event time missing: field {event} is absent or null")))
    typed: dict[str, Column] = {}
    for stream_field in stream.fields:
        name = stream_field.name
        given = F.col(f"{FIELDS}.{name}")
        expected = stream.json_kind(stream_field)
        datetime_format = stream.datetime_format(stream_field)
        read = typed_value(given.getField("text"), stream_field.spark_type, datetime_format, type_name=stream_field.type_name)
        label = stream_field.type_name + (f" ({datetime_format})" if stream_field.kind == "timestamp" else "")
        checks.append(
            (
                given.isNotNull() & (given.getField("kind") != F.lit(expected)),
                F.concat(F.lit(f"field {name}: expected a JSON {expected} for {label}, got a JSON "), given.getField("kind")),
            )
        )
        checks.append(
            (
                given.isNotNull() & ~read.valid,
                F.concat(F.lit(f"field {name}: "), _shown(given.getField("text"), expected), F.lit(f" is not {read.expectation}")),
            )
        )
        typed[name] = F.when(given.getField("kind") == F.lit(expected), read.value).cast(stream_field.spark_type)
    reason = F.lit(None).cast("string")
    for condition, check_reason in reversed(checks):
        reason = F.when(condition, check_reason).otherwise(reason)
    if event is not None:
        # A timestamp is an instant; the job's session time zone is UTC, so this is the UTC date.
        date = F.to_date(typed[event])
    else:
        date = F.to_date(F.regexp_extract(F.col(SOURCE_OBJECT), ARRIVAL_FOLDERS.pattern, 1), ARRIVAL_FOLDERS.spark_date_format)
    return lines.select(
        OBJECT_INDEX,
        SOURCE_OBJECT,
        LINE,
        RECORD,
        reason.alias(REASON),
        *[value.alias(name) for name, value in typed.items()],
        date.alias(stream.date_column),
    )


def exported_records(classified: DataFrame, stream: StreamSchema) -> DataFrame:
    """The good records: object_index, line, the declared fields, the date column."""
    return classified.where(F.col(REASON).isNull()).select(OBJECT_INDEX, LINE, *stream.field_names, stream.date_column)


def rejected_records(classified: DataFrame) -> DataFrame:
    """The malformed records as the quarantine holds them: object_index, line, and the JSON line to write."""
    return classified.where(F.col(REASON).isNotNull()).select(
        OBJECT_INDEX,
        LINE,
        F.to_json(F.struct(SOURCE_OBJECT, LINE, REASON, RECORD)).alias("value"),
    )


def _shown(text: Column, json_kind: str) -> Column:
    """The value as the record wrote it: a string in JSON quotes, a number as its digits."""
    if json_kind != "string":
        return text
    return F.regexp_extract(F.to_json(F.array(text)), r"^\[(.*)\]$", 1)


def write_exported(exported: DataFrame, date_column: str, uri: str) -> None:
    """One snappy Parquet file per (object, date) under uri/object_index=<i>/<date_column>=<d>/, rows in line order."""
    (
        exported.repartition(OBJECT_INDEX, date_column)
        .sortWithinPartitions(OBJECT_INDEX, date_column, LINE)
        .drop(LINE)
        .write.option("compression", "snappy")
        .partitionBy(OBJECT_INDEX, date_column)
        .parquet(uri)
    )


def write_rejected(rejected: DataFrame, uri: str) -> None:
    """One JSON-lines file per object under uri/object_index=<i>/, in line order."""
    (
        rejected.repartition(OBJECT_INDEX)
        .sortWithinPartitions(OBJECT_INDEX, LINE)
        .drop(LINE)
        .write.option("compression", "none")
        .partitionBy(OBJECT_INDEX)
        .text(uri)
    )


# ---------------------------------------------------------------------------------------------
# Keys


def export_file_name(delivered_key: str) -> str:
    """clickstream-...-<uuid>.gz -> clickstream-...-<uuid>.parquet"""
    return posixpath.basename(delivered_key).removesuffix(".gz") + ".parquet"


def exported_key(destination_prefix: str, delivered_key: str, date_column: str, date: str) -> str:
    """<destination_prefix><date_column>=<date>/<name>.parquet, the date column event_date or arrival_date."""
    return f"{destination_prefix}{date_column}={date}/{export_file_name(delivered_key)}"


def arrival_date(delivered_key: str) -> str | None:
    """2026-11-23 for .../2026/11/23/14/<name>: the UTC date Firehose received the object's records; None without it."""
    match = re.search(ARRIVAL_FOLDERS.pattern, delivered_key)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), ARRIVAL_FOLDERS.date_format).date().isoformat()
    except ValueError:
        return None


def undated_objects(keys: Sequence[str]) -> dict[str, str]:
    """Keys without Firehose's date folders, with why: a stream without event time files an object by them."""
    return {
        key: "its key has no arrival date (Firehose's YYYY/MM/DD/HH/ folders before the name), by which a stream "
        "without event time files its records"
        for key in keys
        if arrival_date(key) is None
    }


def quarantine_key(quarantine_prefix: str, delivered_key: str) -> str:
    return f"{quarantine_prefix}rejected/{delivered_key}.jsonl"


def marker_key(delivered_key: str) -> str:
    return f"{MARKER_PREFIX}{delivered_key}"


def report_key(quarantine_prefix: str, run_id: str) -> str:
    return f"{quarantine_prefix}reports/{run_id}.json"


def pending_objects(s3, bucket: str, prefix: str) -> list[str]:
    """Delivered keys under `prefix` without a marker, in key order."""
    delivered = [key for key in _list_keys(s3, bucket, prefix) if not key.startswith(MARKER_PREFIX) and not key.endswith("/")]
    marked = {key.removeprefix(MARKER_PREFIX) for key in _list_keys(s3, bucket, MARKER_PREFIX + prefix)}
    return [key for key in delivered if key not in marked]


def pending_object(s3, bucket: str, key: str) -> list[str]:
    """[key] when the delivered object has no marker yet, [] when a run exported it already; RunFailure when it is gone."""
    if _exists(s3, bucket, marker_key(key)):
        return []
    if not _exists(s3, bucket, key):
        raise RunFailure("delivered-object-missing", f"s3://{bucket}/{key} does not exist (expired or deleted before it was exported)")
    return [key]


def _exists(s3, bucket: str, key: str) -> bool:
    # A listing, not HeadObject: the role lists only its own prefixes, and S3 answers a HEAD of a
    # missing key with 403 rather than 404 unless the role may list the bucket without a prefix.
    # The key itself sorts first among the keys it prefixes.
    contents = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    return bool(contents) and contents[0]["Key"] == key


def _list_keys(s3, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(entry["Key"] for entry in page.get("Contents", []))
    return keys


# ---------------------------------------------------------------------------------------------
# The run


@dataclass
class ObjectExport:
    lines: int  # non-blank lines read; always exported + quarantined
    exported: int
    quarantined: int
    files: list[str] = field(default_factory=list)  # s3:// URIs of the Parquet files
    quarantine: str | None = None  # s3:// URI of the rejected records, when there are any

    def to_dict(self) -> dict:
        return {
            "lines": self.lines,
            "exported": self.exported,
            "quarantined": self.quarantined,
            "files": self.files,
            "quarantine": self.quarantine,
        }


@dataclass
class ExportReport:
    run_id: str
    started_at: str
    stream: str | None = None
    delivered_key: str | None = None  # the object of an object-scoped run; None for a run over the whole prefix
    status: str = "running"  # succeeded | nothing to export | failed
    pending: int = 0
    objects: dict[str, ObjectExport] = field(default_factory=dict)  # exported and marked, by delivered key
    failed_objects: dict[str, str] = field(default_factory=dict)  # left pending, by delivered key: why
    failure: dict | None = None
    finished_at: str | None = None

    def to_dict(self) -> dict:
        exports = self.objects.values()
        return {
            "job": "stream-export",
            "stream": self.stream,
            "runId": self.run_id,
            "deliveredKey": self.delivered_key,
            "status": self.status,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "objectsPending": self.pending,
            "objectsExported": len(self.objects),
            "objects": {key: export.to_dict() for key, export in sorted(self.objects.items())},
            "failedObjects": dict(sorted(self.failed_objects.items())),
            "totals": {
                "lines": sum(export.lines for export in exports),
                "exported": sum(export.exported for export in exports),
                "quarantined": sum(export.quarantined for export in exports),
                "files": sum(len(export.files) for export in exports),
            },
            "failure": self.failure,
        }


@dataclass(frozen=True)
class _Staged:
    parquet: dict[int, dict[str, str]]  # object index -> date -> staged key
    rejected: dict[int, str]  # object index -> staged key


_STAGED_PARQUET = re.compile(rf"/{OBJECT_INDEX}=(\d+)/(?:{EVENT_DATE}|{ARRIVAL_DATE})=(\d{{4}}-\d{{2}}-\d{{2}})/part-[^/]+\.parquet$")
_STAGED_REJECTED = re.compile(rf"/{OBJECT_INDEX}=(\d+)/part-[^/]+\.txt$")


def run(
    spark: SparkSession,
    arguments: dict[str, str],
    s3_client,
    *,
    run_id: str | None = None,
    progress: Callable[[str], None] = print,
) -> ExportReport:
    """Exports the pending delivered objects (the one --delivered_key names, or all); writes and prints the report,
    then returns it or raises RunFailure. The report is named after Glue's run id; a run without one (a local
    run) is named after the moment it began."""
    started = datetime.now(UTC)
    report = ExportReport(
        run_id=run_id or started.strftime("%Y%m%dT%H%M%S%fZ"), started_at=_iso(started), delivered_key=arguments.get(DELIVERED_KEY)
    )

    def finish_and_publish() -> None:
        report.finished_at = _iso(datetime.now(UTC))
        _publish(arguments, s3_client, report, progress)

    with reported_run(report, finish_and_publish):
        _export(spark, arguments, s3_client, report)
    return report


def _export(spark: SparkSession, arguments: dict[str, str], s3, report: ExportReport) -> None:
    _check_arguments(arguments)
    time_zone = spark.conf.get("spark.sql.session.timeZone")
    if time_zone != "UTC":
        raise RunFailure("spark-settings", f"the Spark session time zone is {time_zone}; the export needs UTC (apply_job_settings)")
    try:
        stream = parse_stream_schema(load_json(s3, arguments["stream_uri"]))
    except (StreamSchemaError, json.JSONDecodeError) as error:
        raise RunFailure("invalid-stream-schema", f"{arguments['stream_uri']}: {error}") from error
    report.stream = stream.stream
    if report.delivered_key is None:
        pending = pending_objects(s3, arguments["delivery_bucket"], arguments["delivery_prefix"])
    else:
        pending = pending_object(s3, arguments["delivery_bucket"], report.delivered_key)
    report.pending = len(pending)
    if not pending:
        report.status = "nothing to export"
        return
    # Firehose names carry a UUID, so this takes an object copied in by hand; a person decides which one is meant.
    report.failed_objects.update(name_collisions(pending))
    if stream.event_time_field is None:
        report.failed_objects.update(undated_objects([key for key in pending if key not in report.failed_objects]))
    pending = [key for key in pending if key not in report.failed_objects]
    staging_bucket, staging_root = split_s3_uri(arguments["staging_uri"])
    staging_prefix = posixpath.join(staging_root, report.run_id) + "/"
    try:
        exports, staged = _export_to_staging(spark, stream, arguments, s3, pending, f"s3://{staging_bucket}/{staging_prefix}", report)
        for index, key in enumerate(pending):
            if key in exports:
                _publish_object(
                    s3,
                    arguments,
                    stream.date_column,
                    staging_bucket,
                    key,
                    exports[key],
                    staged.parquet.get(index, {}),
                    staged.rejected.get(index),
                )
                report.objects[key] = exports[key]
    finally:
        _delete_prefix(s3, staging_bucket, staging_prefix)
    if report.failed_objects:
        listed = "; ".join(f"{key}: {error}" for key, error in sorted(report.failed_objects.items()))
        raise RunFailure(
            "objects-not-exported",
            f"{len(report.failed_objects)} of {report.pending} pending object(s) could not be exported and stay pending "
            f"(the others were exported): {listed}",
        )
    report.status = "succeeded"


def _check_arguments(arguments: dict[str, str]) -> None:
    problems = [
        f"--{name} must end in / (got {arguments[name]!r})"
        for name in ("delivery_prefix", "destination_prefix", "quarantine_prefix")
        if not arguments[name].endswith("/")
    ]
    delivered_key = arguments.get(DELIVERED_KEY)
    if delivered_key is not None and (not delivered_key.startswith(arguments["delivery_prefix"]) or delivered_key.endswith("/")):
        problems.append(
            f"--{DELIVERED_KEY} must name an object under --delivery_prefix {arguments['delivery_prefix']!r} (got {delivered_key!r})"
        )
    try:
        split_s3_uri(arguments["staging_uri"])  # listed and cleaned up with boto3, so it must be S3
    except ValueError as error:
        problems.append(f"--staging_uri: {error}")
    if problems:
        raise RunFailure("invalid-arguments", "; ".join(problems))


def name_collisions(keys: Sequence[str]) -> dict[str, str]:
    """Keys whose Parquet file name an earlier key already has, with why: they would write the same final keys."""
    first_with_name: dict[str, str] = {}
    collisions: dict[str, str] = {}
    for key in keys:
        name = export_file_name(key)
        if name in first_with_name:
            collisions[key] = f"its Parquet file name {name} is also that of {first_with_name[name]}"
        else:
            first_with_name[name] = key
    return collisions


def _export_to_staging(
    spark: SparkSession, stream: StreamSchema, arguments: dict[str, str], s3, pending: Sequence[str], staging_uri: str, report: ExportReport
) -> tuple[dict[str, ObjectExport], _Staged]:
    """Reads, types and stages every pending object; returns the counts of the readable ones and the staged files."""
    lines = read_delivered(spark, stream, arguments["delivery_bucket"], pending, s3).persist(StorageLevel.MEMORY_AND_DISK)
    classified = None
    try:
        read = lines.groupBy(OBJECT_INDEX).agg(F.count(LINE).alias("lines"), F.max(READ_ERROR).alias(READ_ERROR)).collect()
        read_errors = {row[OBJECT_INDEX]: row[READ_ERROR] for row in read if row[READ_ERROR] is not None}
        line_counts = {row[OBJECT_INDEX]: row["lines"] for row in read}
        for index, error in read_errors.items():
            report.failed_objects[pending[index]] = error
        classified = classify_records(lines.where(F.col(READ_ERROR).isNull()), stream).persist(StorageLevel.MEMORY_AND_DISK)
        counted = classified.groupBy(OBJECT_INDEX).agg(
            F.count(F.when(F.col(REASON).isNull(), 1)).alias("exported"), F.count(REASON).alias("quarantined")
        )
        counts = {row[OBJECT_INDEX]: (row["exported"], row["quarantined"]) for row in counted.collect()}
        exports: dict[str, ObjectExport] = {}
        for index, key in enumerate(pending):
            if index in read_errors:
                continue
            exported, quarantined = counts.get(index, (0, 0))
            lines_read = line_counts.get(index, 0)  # an empty object has no rows at all
            if lines_read != exported + quarantined:
                raise RunFailure(
                    "row-count-mismatch", f"{key}: read {lines_read} lines but exported {exported} + quarantined {quarantined}"
                )
            exports[key] = ObjectExport(lines=lines_read, exported=exported, quarantined=quarantined)
        if any(export.exported for export in exports.values()):
            write_exported(exported_records(classified, stream), stream.date_column, staging_uri + "records")
        if any(export.quarantined for export in exports.values()):
            write_rejected(rejected_records(classified), staging_uri + "rejected")
    finally:
        if classified is not None:
            classified.unpersist()
        lines.unpersist()
    staged = _list_staged(s3, staging_uri)
    for index, key in enumerate(pending):
        if key in exports:
            dates = staged.parquet.get(index, {})
            _check_staged(key, exports[key], dates, index in staged.rejected)
    return exports, staged


def read_delivered(spark: SparkSession, stream: StreamSchema, bucket: str, keys: Sequence[str], s3) -> DataFrame:
    """The lines of the delivered objects (see lines_schema); object_index is the position in `keys`, one task per object."""
    names = stream.field_names
    endpoint_url, region = s3.meta.endpoint_url, s3.meta.region_name
    objects = list(enumerate(keys))
    rows = spark.sparkContext.parallelize(objects, max(len(objects), 1)).mapPartitions(
        lambda part: read_objects(part, bucket, names, endpoint_url, region)
    )
    return spark.createDataFrame(rows, lines_schema(stream), verifySchema=False)


def _list_staged(s3, staging_uri: str) -> _Staged:
    bucket, prefix = split_s3_uri(staging_uri)
    parquet: dict[int, dict[str, str]] = {}
    rejected: dict[int, str] = {}
    for key in _list_keys(s3, bucket, prefix):
        if match := _STAGED_PARQUET.search(key):
            dates = parquet.setdefault(int(match.group(1)), {})
            if match.group(2) in dates:
                raise RunFailure("staging-layout", f"Spark wrote more than one file for object {match.group(1)} on {match.group(2)}")
            dates[match.group(2)] = key
        elif match := _STAGED_REJECTED.search(key):
            if int(match.group(1)) in rejected:
                raise RunFailure("staging-layout", f"Spark wrote more than one rejected-records file for object {match.group(1)}")
            rejected[int(match.group(1))] = key
    return _Staged(parquet=parquet, rejected=rejected)


def _check_staged(key: str, export: ObjectExport, dates: dict[str, str], has_rejected: bool) -> None:
    if bool(dates) != bool(export.exported) or has_rejected != bool(export.quarantined):
        raise RunFailure(
            "staging-layout",
            f"{key}: {export.exported} exported and {export.quarantined} quarantined records, "
            f"but staged {len(dates)} Parquet file(s) and {int(has_rejected)} rejected-records file(s)",
        )


def _publish_object(
    s3,
    arguments: dict[str, str],
    date_column: str,
    staging_bucket: str,
    key: str,
    export: ObjectExport,
    dates: dict[str, str],
    rejected: str | None,
) -> None:
    """Copies the object's staged files to their final keys, then writes its marker: the marker comes last."""
    destination = arguments["destination_bucket"]
    for date, staged_key in sorted(dates.items()):
        final = exported_key(arguments["destination_prefix"], key, date_column, date)
        # Each file is one object's records of one day: far below CopyObject's 5 GB limit.
        s3.copy_object(Bucket=destination, Key=final, CopySource={"Bucket": staging_bucket, "Key": staged_key})
        export.files.append(f"s3://{destination}/{final}")
    if rejected is not None:
        final = quarantine_key(arguments["quarantine_prefix"], key)
        s3.copy_object(
            Bucket=arguments["quarantine_bucket"],
            Key=final,
            CopySource={"Bucket": staging_bucket, "Key": rejected},
            ContentType="application/x-ndjson",
            MetadataDirective="REPLACE",
        )
        export.quarantine = f"s3://{arguments['quarantine_bucket']}/{final}"
    s3.put_object(
        Bucket=arguments["delivery_bucket"],
        Key=marker_key(key),
        Body=json.dumps({"exportedAt": _iso(datetime.now(UTC)), **export.to_dict()}, indent=2).encode("utf-8"),
        ContentType="application/json",
    )


def _delete_prefix(s3, bucket: str, prefix: str) -> None:
    keys = _list_keys(s3, bucket, prefix)
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def _publish(arguments: dict[str, str], s3, report: ExportReport, progress: Callable[[str], None]) -> None:
    document = report.to_dict()
    s3.put_object(
        Bucket=arguments["quarantine_bucket"],
        Key=report_key(arguments["quarantine_prefix"], report.run_id),
        Body=json.dumps(document, indent=2).encode("utf-8"),
        ContentType="application/json",
    )
    progress(json.dumps({"level": "ERROR" if report.status == "failed" else "INFO", "message": "stream export finished", **document}))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
