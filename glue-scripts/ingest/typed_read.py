"""Typed read: staged lines become typed rows, or quarantined rows with a reason.

Every check is a Spark SQL expression evaluated in the JVM (no per-row Python). Each line gets
exactly one outcome: accepted, or rejected with the first reason that applies, so
rows read = rows accepted + rows rejected holds by construction and is checked in the report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from ingest.csv_dialect import KEY_PADDING_PATTERN, CsvDialect
from ingest.job_plan import PlanTable
from ingest.staging import BAD_ENCODING, BAD_QUOTING, MAX_RECORD_BYTES, TOO_LONG, UNCLOSED_QUOTE, FileLayout

OUTCOME_COLUMN = "ingest_staging_outcome"
FILE_INDEX_COLUMN = "ingest_file_index"
FIELDS_COLUMN = "ingest_fields"
REASON_COLUMN = "ingest_reason"
DETAIL_COLUMN = "ingest_detail"
RAW_COLUMN = "ingest_raw_line"
FILE_COLUMN = "ingest_source_file"
LINE_COLUMN = "ingest_source_line"

_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")


@dataclass(frozen=True)
class ExtractInfo:
    extract_id: str
    extract_version: int
    extract_time: str  # ISO-8601 UTC, e.g. 2026-11-22T10:15:00Z


@dataclass(frozen=True)
class ClassifiedRows:
    """One table's records, each with its reason (null when accepted), and the two views of them.

    `accepted` has the table's typed columns plus the lake's own; `rejected` is what quarantine keeps.
    Both are projections of `rows`: persisting `rows` once serves both and every count.
    """

    rows: DataFrame
    accepted: DataFrame
    rejected: DataFrame


def read_staged_lines(spark: SparkSession, staged_paths: Sequence[str], entry_names: Sequence[str]) -> DataFrame:
    """Staged records as (source file, line number, staging outcome, record text or hex bytes)."""
    parts = F.split(F.col("value"), "\t", 5)
    form, payload = parts.getItem(3), parts.getItem(4)
    # A record that spans lines was staged as a JSON string, so that staged lines stay one per record.
    text = F.when(form == F.lit("j"), F.from_json(F.concat(F.lit("["), payload, F.lit("]")), "array<string>").getItem(0)).otherwise(payload)
    names = F.array(*[F.lit(name) for name in entry_names])
    return (
        spark.read.option("lineSep", "\n")
        .text(list(staged_paths))
        .select(
            parts.getItem(0).cast("int").alias(FILE_INDEX_COLUMN),
            F.element_at(names, parts.getItem(0).cast("int") + 1).alias(FILE_COLUMN),
            parts.getItem(1).cast("long").alias(LINE_COLUMN),
            parts.getItem(2).alias(OUTCOME_COLUMN),
            text.alias(RAW_COLUMN),
        )
    )


def classify(
    lines: DataFrame, table: PlanTable, dialect: CsvDialect, extract: ExtractInfo, layouts: Mapping[int, FileLayout] | None = None
) -> ClassifiedRows:
    """Parses, types and validates one table's records. Rejected rows carry reason, detail, file, line, raw text.

    `layouts` says, per staged file index, where each mapped column is (read from its header); by
    default every file holds the mapped columns in order.
    """
    columns = table.columns
    names = list(table.column_names)
    layout = _FileLayouts(layouts or {}, len(names))
    parsed = lines.select("*", _fields(F.col(RAW_COLUMN), dialect).alias(FIELDS_COLUMN))
    checks: list[tuple[Column, Column, Column]] = [
        *[
            (F.col(OUTCOME_COLUMN) == F.lit(outcome), F.lit(reason), F.lit(detail))
            for outcome, (reason, detail) in _staging_rejections(dialect).items()
        ],
        (F.col(RAW_COLUMN) == F.lit(""), F.lit("empty-line"), F.lit("the line is empty")),
        (
            F.size(FIELDS_COLUMN) != layout.field_count(),
            F.lit("malformed"),
            F.concat(
                F.lit("expected "),
                layout.field_count().cast("string"),
                F.lit(f" fields separated by {dialect.delimiter!r}, found "),
                F.size(FIELDS_COLUMN).cast("string"),
            ),
        ),
    ]
    primary_key = set(table.primary_key)
    trimmed_columns = primary_key | {pair.child for pair in (table.parent.on if table.parent is not None else ())}
    # Each field's text is computed once into a column of its own: the checks, the typed value and
    # the detail all read it, and recomputing the unquoting for each would cost more than the read.
    texts: dict[str, Column] = {}
    for position, column in enumerate(columns):
        raw = _field_value(layout.field(position), dialect)
        texts[f"ingest_text_{position}"] = raw
        if column.name in trimmed_columns:
            texts[f"ingest_unpadded_{position}"] = F.regexp_replace(raw, KEY_PADDING_PATTERN, "")
    parsed = parsed.select("*", *[text.alias(name) for name, text in texts.items()])
    typed: dict[str, Column] = {}
    for position, column in enumerate(columns):
        raw = F.col(f"ingest_text_{position}")
        if column.name in trimmed_columns:
            unpadded = F.col(f"ingest_unpadded_{position}")
            if column.name in primary_key:
                checks.append((raw.isNull(), F.lit("null-primary-key"), F.lit(f"primary key column {column.name} is null")))
                checks.append((unpadded == F.lit(""), F.lit("blank-primary-key"), F.lit(f"primary key column {column.name} is blank")))
            if dialect.trim_keys:
                raw = unpadded
        try:
            read = typed_value(raw, column.type, column.format)
        except ValueError:
            raise ValueError(f"column {column.name} has unsupported type {column.type}") from None
        typed[column.name] = read.value
        if column.name not in primary_key and not column.nullable:
            checks.append((raw.isNull(), F.lit("null-required"), F.lit(f"column {column.name} must not be null")))
        checks.append((raw.isNotNull() & ~read.valid, F.lit(_type_reason(column.type)), _detail(column.name, raw, read.expectation)))
    reason = F.lit(None).cast("string")
    detail = F.lit(None).cast("string")
    for condition, check_reason, check_detail in reversed(checks):
        reason = F.when(condition, check_reason).otherwise(reason)
        detail = F.when(condition, check_detail).otherwise(detail)
    classified = parsed.select(
        FILE_COLUMN,
        LINE_COLUMN,
        RAW_COLUMN,
        reason.alias(REASON_COLUMN),
        detail.alias(DETAIL_COLUMN),
        *[value.alias(name) for name, value in typed.items()],
    )
    key_columns = list(table.primary_key)
    # Only rows that passed every other check compete for a key; a malformed line cannot make a good one a duplicate.
    duplicates = F.count(F.when(F.col(REASON_COLUMN).isNull(), 1)).over(Window.partitionBy(*key_columns))
    with_duplicates = (
        classified.withColumn("ingest_key_count", duplicates)
        .withColumn(
            DETAIL_COLUMN,
            F.when(
                F.col(REASON_COLUMN).isNull() & (F.col("ingest_key_count") > 1),
                F.concat(
                    F.lit(f"primary key ({', '.join(key_columns)}) appears "), F.col("ingest_key_count").cast("string"), F.lit(" times")
                ),
            ).otherwise(F.col(DETAIL_COLUMN)),
        )
        .withColumn(
            REASON_COLUMN,
            F.when(F.col(REASON_COLUMN).isNull() & (F.col("ingest_key_count") > 1), F.lit("duplicate-primary-key")).otherwise(
                F.col(REASON_COLUMN)
            ),
        )
    )
    accepted = with_duplicates.where(F.col(REASON_COLUMN).isNull()).select(
        *names,
        F.lit(extract.extract_id).alias("ingest_extract_id"),
        F.lit(extract.extract_version).cast("long").alias("ingest_extract_version"),
        F.to_timestamp(F.lit(extract.extract_time)).alias("ingest_extract_time"),
        F.col(FILE_COLUMN),
        F.col(LINE_COLUMN),
    )
    rejected = with_duplicates.where(F.col(REASON_COLUMN).isNotNull()).select(
        F.lit(table.name).alias("table"),
        F.col(FILE_COLUMN).alias("file"),
        F.col(LINE_COLUMN).alias("line"),
        F.col(REASON_COLUMN).alias("reason"),
        F.col(DETAIL_COLUMN).alias("detail"),
        F.col(RAW_COLUMN).alias("raw"),
    )
    return ClassifiedRows(rows=with_duplicates, accepted=accepted, rejected=rejected)


@dataclass(frozen=True)
class _FileLayouts:
    """Per-file field positions as Spark expressions on the record's file index."""

    layouts: Mapping[int, FileLayout]
    column_count: int

    def _as_mapped(self) -> bool:
        return all(layout == FileLayout.as_mapped(self.column_count) for layout in self.layouts.values())

    def _by_file(self, values: Sequence[int]) -> Column:
        return F.element_at(F.array(*[F.lit(value) for value in values]), F.col(FILE_INDEX_COLUMN) + 1)

    def field_count(self) -> Column:
        if self._as_mapped():
            return F.lit(self.column_count)
        indexes = range(max(self.layouts) + 1)
        return self._by_file([self.layouts[i].field_count if i in self.layouts else self.column_count for i in indexes])

    def field(self, column: int) -> Column:
        """The raw field of the column-th mapped column; null where the file lacks that column."""
        if self._as_mapped():
            return F.col(FIELDS_COLUMN).getItem(column)
        indexes = range(max(self.layouts) + 1)
        positions = [self.layouts[i].positions[column] if i in self.layouts else column for i in indexes]
        position = self._by_file([-1 if value is None else value for value in positions])
        return F.when(position >= 0, F.element_at(F.col(FIELDS_COLUMN), position + 1))


def _fields(record: Column, dialect: CsvDialect) -> Column:
    """The raw fields of a well-formed record, quotes included (the split stops nowhere else)."""
    # Without a quote no field can hold the delimiter, and a plain split is several times faster.
    plain = F.split(record, dialect.delimiter_pattern, -1)
    quoted = F.regexp_extract_all(record, F.lit(dialect.field_in_record), 1)
    return F.when(F.instr(record, dialect.quote) > 0, quoted).otherwise(plain)


def _field_value(field: Column, dialect: CsvDialect) -> Column:
    """A raw field as the value it stands for: unquoted and unescaped, or null when it is the null marker."""
    content = field.substr(F.lit(2), F.length(field) - F.lit(2))
    unquoted = F.regexp_replace(content, dialect.escaped_character, "$1")
    return F.when(field.startswith(dialect.quote), unquoted).when(field == F.lit(dialect.null_value), F.lit(None)).otherwise(field)


def _staging_rejections(dialect: CsvDialect) -> dict[str, tuple[str, str]]:
    return {
        BAD_ENCODING: ("bad-encoding", f"not valid {dialect.encoding}"),
        BAD_QUOTING: (
            "malformed",
            "not RFC 4180 quoting: a quote or line break inside an unquoted field, or text after a closing quote",
        ),
        UNCLOSED_QUOTE: ("malformed", "a quoted field is not closed before the end of the file"),
        TOO_LONG: ("record-too-long", f"longer than {MAX_RECORD_BYTES} bytes: a quoted field is probably never closed"),
    }


@dataclass(frozen=True)
class TypedValue:
    """One raw text value read as a Spark type: shared by the CSV typed read and the stream export."""

    value: Column  # the typed value; null when the text is null or not valid for the type
    valid: Column  # whether a non-null text is a valid value of the type
    expectation: str  # what a valid value looks like, e.g. "a whole number that fits int"


# Whole numbers since 1970-01-01T00:00:00Z, limited to what a Spark timestamp holds (years 1 to 9999):
# beyond it Spark's conversion fails the whole job instead of giving null.
EPOCH_FORMATS = {
    "epoch-millis": ("milliseconds", -62_135_596_800_000, 253_402_300_799_999),
    "epoch-seconds": ("seconds", -62_135_596_800, 253_402_300_799),
}


def typed_value(raw: Column, kind: str, datetime_format: str | None = None, *, type_name: str | None = None) -> TypedValue:
    """Reads `raw` (text) as `kind`, a Spark SQL type name: string, int, bigint, double, boolean, date, timestamp, decimal(p,s).

    Dates and timestamps need `datetime_format`: a Spark datetime pattern, or for timestamps also
    epoch-millis or epoch-seconds (a whole number since 1970-01-01T00:00:00Z). `type_name` is what
    the expectation calls an int or bigint (the stream schema says integer and long); defaults to `kind`.
    """
    if kind == "string":
        return TypedValue(raw, F.lit(True), "text")
    if kind in ("int", "bigint"):
        value = raw.cast(kind)
        return TypedValue(value, raw.rlike(r"^[+-]?[0-9]+$") & value.isNotNull(), f"a whole number that fits {type_name or kind}")
    if kind == "double":
        value = raw.cast("double")
        pattern = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
        # Text beyond the double range (1e999) casts to infinity, which is not a finite number.
        finite = ~value.isin(float("inf"), float("-inf"))
        return TypedValue(value, raw.rlike(pattern) & value.isNotNull() & finite, "a finite decimal number")
    if kind == "boolean":
        value = raw.cast("boolean")
        return TypedValue(value, value.isNotNull(), "true/false, t/f, yes/no, y/n or 1/0")
    decimal = _DECIMAL.match(kind)
    if decimal:
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
        integer_digits = precision - scale
        fraction = f"(\\.[0-9]{{1,{scale}}})?" if scale > 0 else ""
        pattern = f"^[+-]?[0-9]{{1,{max(integer_digits, 1)}}}{fraction}$"
        valid = raw.rlike(pattern) if integer_digits > 0 else raw.rlike(f"^[+-]?0?(\\.[0-9]{{1,{scale}}})?$")
        return TypedValue(raw.cast(kind), valid, f"a decimal with at most {integer_digits} digits before and {scale} after the point")
    if kind == "date":
        value = F.to_date(raw, datetime_format)
        return TypedValue(value, value.isNotNull(), f"a date like {datetime_format}")
    if kind == "timestamp" and datetime_format in EPOCH_FORMATS:
        unit, lowest, highest = EPOCH_FORMATS[datetime_format]
        number = F.when(raw.rlike(r"^[+-]?[0-9]{1,18}$"), raw.cast("bigint"))
        in_range = F.coalesce(number.between(lowest, highest), F.lit(False))
        value = F.when(in_range, F.timestamp_millis(number) if unit == "milliseconds" else F.timestamp_seconds(number))
        return TypedValue(value, in_range, f"a whole number of {unit} since 1970-01-01T00:00:00Z, in years 1 to 9999")
    if kind == "timestamp":
        value = F.try_to_timestamp(raw, F.lit(datetime_format))
        return TypedValue(value, value.isNotNull(), f"a timestamp like {datetime_format}")
    raise ValueError(f"unsupported type {kind}")


def _type_reason(kind: str) -> str:
    if kind in ("date", "timestamp"):
        return f"bad-{kind}"
    if kind == "boolean":
        return "bad-boolean"
    if kind.startswith("decimal"):
        return "bad-decimal"
    return "bad-number"


def _detail(name: str, raw: Column, expectation: str) -> Column:
    return F.concat(F.lit(f"column {name}: "), F.to_json(F.array(raw)), F.lit(f" is not {expectation}"))
