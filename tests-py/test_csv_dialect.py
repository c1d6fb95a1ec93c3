"""RFC 4180 corners through the real staging and typed read on local Spark: exact values, lines and counts.

Every file here is a fixture of this test, shaped like what warehouses and spreadsheet tools write:
free text with line breaks and quotes, CR LF files, byte-order marks, null markers, padded keys.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import replace
from decimal import Decimal

import pytest
from plan_tables import plan_table

from ingest.csv_dialect import CsvDialect
from ingest.job_plan import PlanColumn, PlanTable
from ingest.staging import HeaderMismatch, MappedColumn, UnreadableFile, read_records, stage_file
from ingest.typed_read import FILE_COLUMN, LINE_COLUMN, ExtractInfo, classify, read_staged_lines

EXTRACT = ExtractInfo(extract_id="20261122T101500Z-000001", extract_version=1795342500000001, extract_time="2026-11-22T10:15:00Z")
DEFAULT = CsvDialect(delimiter=",", quote='"', escape='"', null_value="", encoding="UTF-8", header=True, trim_keys=True)
NULL_MARKER = replace(DEFAULT, null_value="\\N")

NOTES = plan_table(
    "notes",
    ("id",),
    columns=(
        PlanColumn("first", "string", nullable=True),
        PlanColumn("id", "string", nullable=False),
        PlanColumn("middle", "string", nullable=True),
        PlanColumn("last", "string", nullable=True),
    ),
)
NOTES_HEADER = b"first,id,middle,last\n"

TYPED = plan_table(
    "typed",
    ("id",),
    columns=(
        PlanColumn("id", "string", nullable=False),
        PlanColumn("amount", "decimal(6,2)", nullable=True),
        PlanColumn("day", "date", nullable=True, format="yyyy-MM-dd"),
        PlanColumn("at", "timestamp", nullable=True, format="yyyy-MM-dd HH:mm:ss"),
        PlanColumn("flag", "boolean", nullable=True),
        PlanColumn("label", "string", nullable=False),
        PlanColumn("note", "string", nullable=True),
    ),
)
TYPED_HEADER = b"id,amount,day,at,flag,label,note\n"

ORDERS = plan_table(
    "orders",
    ("order_id",),
    parent="customers",
    on="customer_id",
    columns=(
        PlanColumn("order_id", "string", nullable=False),
        PlanColumn("customer_id", "string", nullable=False),
        PlanColumn("note", "string", nullable=True),
    ),
)

THOUSAND_LINES = "\n".join(f"line {number}" for number in range(1, 1001))
BAD_QUOTING = "not RFC 4180 quoting: a quote or line break inside an unquoted field, or text after a closing quote"


def run_typed_read(spark, directory, table: PlanTable, dialect: CsvDialect, files: dict[str, bytes], unknown_columns: str = "reject"):
    """Stages the files as one table of one extract and returns (records per file, accepted, rejected)."""
    columns = list(table.column_names)
    mapped = [MappedColumn(column.name, column.nullable) for column in table.columns]
    directory.mkdir(parents=True, exist_ok=True)
    staged = []
    for index, (name, body) in enumerate(files.items()):
        source = directory / f"source-{index}"
        source.write_bytes(body)
        staged.append(
            stage_file(
                str(source),
                str(directory / "staged" / f"{index}.txt"),
                table=table.name,
                file_index=index,
                entry_name=name,
                columns=mapped,
                dialect=dialect,
                unknown_columns=unknown_columns,
            )
        )
    lines = read_staged_lines(spark, [file.path for file in staged], list(files))
    result = classify(lines, table, dialect, EXTRACT, {file.file_index: file.layout for file in staged})
    accepted = [tuple(row) for row in result.accepted.select(FILE_COLUMN, LINE_COLUMN, *columns).collect()]
    rejected = [tuple(row) for row in result.rejected.select("file", "line", "reason", "detail", "raw").collect()]
    return {file.entry_name: file.records for file in staged}, sorted(accepted), sorted(rejected)


NOTES_FILES = {
    "newlines.csv": NOTES_HEADER
    + b'"line 1\nline 2",N1,m,l\n'
    + b'f,N2,"m1\nm2\nm3",l\n'
    + b'f,N3,m,"l1\nl2"\n'
    + b'"a ""quoted"" word\n""next""",N4,"""",""\n'
    + b'"""\n""",N5,m,l\n'
    + b'f,N6,,""\n',
    "crlf.csv": b'first,id,middle,last\r\na,C1,"x\r\ny",z\r\nb,C2,m,l\r\n"c\r\n",C3,,\r\n',
    "long.csv": NOTES_HEADER + f'f,L1,"{THOUSAND_LINES}",l\ng,L2,m,l\n'.encode(),
    "unterminated.csv": NOTES_HEADER + b'a,U1,m,l\nb,U2,"never closed,l\nc,U3,m,l\n',
    "bom.csv": b"\xef\xbb\xbf" + NOTES_HEADER + b"f,B1,m,l\n",
    "quoting.csv": NOTES_HEADER + b'a,Q1,m"x,l\n"a"b,Q2,m,l\na,Q3,m,l\rx\na,Q4, "m",l\na,Q5,m,l',
    "keys.csv": NOTES_HEADER + b'a, K1 ,m,l\nb,"   ",m,l\nc,,m,l\nd,"",m,l\ne,\t\xc2\xa0K2\xc2\xa0,m,l\n',
    "fields.csv": NOTES_HEADER + b'a,F1,m\na,"F2,x",m,l,extra\n\nb,F3,m,l\n',
}


@pytest.fixture(scope="module")
def notes(spark, tmp_path_factory):
    return run_typed_read(spark, tmp_path_factory.mktemp("notes"), NOTES, DEFAULT, NOTES_FILES)


def test_quoted_fields_keep_line_breaks_quotes_and_delimiters_exactly_as_written(notes):
    _, accepted, _ = notes
    assert [row for row in accepted if row[0] in ("newlines.csv", "crlf.csv", "long.csv", "bom.csv")] == [
        ("bom.csv", 2, "f", "B1", "m", "l"),
        ("crlf.csv", 2, "a", "C1", "x\r\ny", "z"),
        ("crlf.csv", 4, "b", "C2", "m", "l"),
        ("crlf.csv", 5, "c\r\n", "C3", None, None),
        ("long.csv", 2, "f", "L1", THOUSAND_LINES, "l"),
        ("long.csv", 1002, "g", "L2", "m", "l"),
        ("newlines.csv", 2, "line 1\nline 2", "N1", "m", "l"),
        ("newlines.csv", 4, "f", "N2", "m1\nm2\nm3", "l"),
        ("newlines.csv", 7, "f", "N3", "m", "l1\nl2"),
        ("newlines.csv", 9, 'a "quoted" word\n"next"', "N4", '"', ""),
        ("newlines.csv", 11, '"\n"', "N5", "m", "l"),
        ("newlines.csv", 13, "f", "N6", None, ""),
    ]


def test_broken_quoting_is_quarantined_with_the_line_it_starts_on_and_the_text_as_written(notes):
    _, accepted, rejected = notes
    assert [row for row in accepted if row[0] in ("unterminated.csv", "quoting.csv")] == [
        ("quoting.csv", 6, "a", "Q5", "m", "l"),
        ("unterminated.csv", 2, "a", "U1", "m", "l"),
    ]
    assert [row for row in rejected if row[0] in ("unterminated.csv", "quoting.csv")] == [
        ("quoting.csv", 2, "malformed", BAD_QUOTING, 'a,Q1,m"x,l'),
        ("quoting.csv", 3, "malformed", BAD_QUOTING, '"a"b,Q2,m,l'),
        ("quoting.csv", 4, "malformed", BAD_QUOTING, "a,Q3,m,l\rx"),
        ("quoting.csv", 5, "malformed", BAD_QUOTING, 'a,Q4, "m",l'),
        (
            "unterminated.csv",
            3,
            "malformed",
            "a quoted field is not closed before the end of the file",
            'b,U2,"never closed,l\nc,U3,m,l',
        ),
    ]


def test_keys_lose_surrounding_white_space_and_blank_keys_are_quarantined(notes):
    _, accepted, rejected = notes
    assert [row for row in accepted if row[0] == "keys.csv"] == [
        ("keys.csv", 2, "a", "K1", "m", "l"),
        ("keys.csv", 6, "e", "K2", "m", "l"),
    ]
    assert [row for row in rejected if row[0] == "keys.csv"] == [
        ("keys.csv", 3, "blank-primary-key", "primary key column id is blank", 'b,"   ",m,l'),
        ("keys.csv", 4, "null-primary-key", "primary key column id is null", "c,,m,l"),
        ("keys.csv", 5, "blank-primary-key", "primary key column id is blank", 'd,"",m,l'),
    ]


def test_a_record_with_the_wrong_number_of_fields_is_malformed(notes):
    _, accepted, rejected = notes
    assert [row for row in accepted if row[0] == "fields.csv"] == [("fields.csv", 5, "b", "F3", "m", "l")]
    assert [row for row in rejected if row[0] == "fields.csv"] == [
        ("fields.csv", 2, "malformed", "expected 4 fields separated by ',', found 3", "a,F1,m"),
        ("fields.csv", 3, "malformed", "expected 4 fields separated by ',', found 5", 'a,"F2,x",m,l,extra'),
        ("fields.csv", 4, "empty-line", "the line is empty", ""),
    ]


def test_rows_read_count_records_not_lines_and_equal_accepted_plus_quarantined(notes):
    records, accepted, rejected = notes
    assert records == {
        "newlines.csv": 6,
        "crlf.csv": 3,
        "long.csv": 2,
        "unterminated.csv": 2,
        "bom.csv": 1,
        "quoting.csv": 5,
        "keys.csv": 5,
        "fields.csv": 4,
    }
    for name, count in records.items():
        assert count == sum(1 for row in accepted if row[0] == name) + sum(1 for row in rejected if row[0] == name)


def test_keys_are_kept_as_written_when_the_mapping_says_so(spark, tmp_path):
    untrimmed = replace(DEFAULT, trim_keys=False)
    records, accepted, rejected = run_typed_read(
        spark, tmp_path, NOTES, untrimmed, {"keys.csv": NOTES_HEADER + b'a, K1 ,m,l\nb,K1,m,l\nc,"  ",m,l\n'}
    )
    assert accepted == [("keys.csv", 2, "a", " K1 ", "m", "l"), ("keys.csv", 3, "b", "K1", "m", "l")]
    assert rejected == [("keys.csv", 4, "blank-primary-key", "primary key column id is blank", 'c,"  ",m,l')]
    assert records == {"keys.csv": 3}


def test_a_child_join_column_is_trimmed_like_the_key_it_joins_and_other_columns_are_not(spark, tmp_path):
    _, accepted, rejected = run_typed_read(
        spark, tmp_path, ORDERS, DEFAULT, {"orders.csv": b'order_id,customer_id,note\n" O1 ", C1 ," note "\n'}
    )
    assert accepted == [("orders.csv", 2, "O1", "C1", " note ")]
    assert rejected == []


NULL_MARKER_FILE = TYPED_HEADER + (
    b'K1,\\N,\\N,\\N,\\N,"",\\N\n'
    b'K2,1.50,2026-01-02,2026-01-02 03:04:05,true,,""\n'
    b"K3,,2026-01-02,2026-01-02 03:04:05,true,x,y\n"
    b'K4,1,"",2026-01-02 03:04:05,true,x,y\n'
    b"K5,1,2026-01-02,,true,x,y\n"
    b"K6,1,2026-01-02,2026-01-02 03:04:05,,x,y\n"
    b"K7,1,2026-01-02,2026-01-02 03:04:05,true,\\N,y\n"
    b'"\\N",1,2026-01-02,2026-01-02 03:04:05,false,x,"\\N"\n'
    b"\\N,1,2026-01-02,2026-01-02 03:04:05,true,x,y\n"
)


def test_with_a_null_marker_only_the_marker_is_null_and_empty_fields_are_empty_strings(spark, tmp_path):
    records, accepted, rejected = run_typed_read(spark, tmp_path, TYPED, NULL_MARKER, {"typed.csv": NULL_MARKER_FILE})
    at = dt.datetime(2026, 1, 2, 3, 4, 5)
    assert accepted == [
        ("typed.csv", 2, "K1", None, None, None, None, "", None),
        ("typed.csv", 3, "K2", Decimal("1.50"), dt.date(2026, 1, 2), at, True, "", ""),
        ("typed.csv", 9, "\\N", Decimal("1.00"), dt.date(2026, 1, 2), at, False, "x", "\\N"),
    ]
    assert rejected == [
        (
            "typed.csv",
            4,
            "bad-decimal",
            'column amount: [""] is not a decimal with at most 4 digits before and 2 after the point',
            "K3,,2026-01-02,2026-01-02 03:04:05,true,x,y",
        ),
        ("typed.csv", 5, "bad-date", 'column day: [""] is not a date like yyyy-MM-dd', 'K4,1,"",2026-01-02 03:04:05,true,x,y'),
        ("typed.csv", 6, "bad-timestamp", 'column at: [""] is not a timestamp like yyyy-MM-dd HH:mm:ss', "K5,1,2026-01-02,,true,x,y"),
        (
            "typed.csv",
            7,
            "bad-boolean",
            'column flag: [""] is not true/false, t/f, yes/no, y/n or 1/0',
            "K6,1,2026-01-02,2026-01-02 03:04:05,,x,y",
        ),
        ("typed.csv", 8, "null-required", "column label must not be null", "K7,1,2026-01-02,2026-01-02 03:04:05,true,\\N,y"),
        ("typed.csv", 10, "null-primary-key", "primary key column id is null", "\\N,1,2026-01-02,2026-01-02 03:04:05,true,x,y"),
    ]
    assert records == {"typed.csv": 9}


def test_with_the_default_null_marker_an_unquoted_empty_field_is_null_and_a_quoted_one_is_empty(spark, tmp_path):
    body = TYPED_HEADER + b'K1,,,,,"",\nK2,"",2026-01-02,2026-01-02 03:04:05,true,x,\nK3,1,2026-01-02,2026-01-02 03:04:05,true,,x\n'
    records, accepted, rejected = run_typed_read(spark, tmp_path, TYPED, DEFAULT, {"typed.csv": body})
    assert accepted == [("typed.csv", 2, "K1", None, None, None, None, "", None)]
    assert rejected == [
        (
            "typed.csv",
            3,
            "bad-decimal",
            'column amount: [""] is not a decimal with at most 4 digits before and 2 after the point',
            'K2,"",2026-01-02,2026-01-02 03:04:05,true,x,',
        ),
        ("typed.csv", 4, "null-required", "column label must not be null", "K3,1,2026-01-02,2026-01-02 03:04:05,true,,x"),
    ]
    assert records == {"typed.csv": 3}


def test_utf16_text_saved_by_a_spreadsheet_is_read_on_whole_code_units(spark, tmp_path):
    tab_separated = replace(DEFAULT, delimiter="\t", encoding="UTF-16")
    # U+0A41 U+0100 is 41 0A 00 01 in UTF-16LE: a line feed's bytes, but not on a code unit.
    text = 'first\tid\tmiddle\tlast\r\n"multi\r\nline"\tK1\tx\u0a41\u0100y\tcafé ☕\r\nf\tK2\tm\tl\r\n'
    little_endian = b"\xff\xfe" + text.encode("utf-16-le")
    big_endian = text.encode("utf-16-be")
    records, accepted, rejected = run_typed_read(spark, tmp_path / "le", NOTES, tab_separated, {"excel.txt": little_endian})
    assert accepted == [("excel.txt", 2, "multi\r\nline", "K1", "x\u0a41\u0100y", "café ☕"), ("excel.txt", 4, "f", "K2", "m", "l")]
    assert (records, rejected) == ({"excel.txt": 2}, [])
    _, accepted_big_endian, _ = run_typed_read(
        spark, tmp_path / "be", NOTES, replace(tab_separated, encoding="UTF-16BE"), {"excel.txt": big_endian}
    )
    assert accepted_big_endian == accepted


@pytest.mark.parametrize(
    ("dialect", "body", "error", "message"),
    [
        (
            replace(DEFAULT, encoding="UTF-16"),
            "first,id,middle,last\n".encode("utf-16-le"),
            UnreadableFile,
            "notes.csv: UTF-16 text without a byte-order mark; declare UTF-16LE or UTF-16BE instead",
        ),
        (
            replace(DEFAULT, encoding="ISO-8859-1"),
            b"\xef\xbb\xbf" + NOTES_HEADER,
            UnreadableFile,
            "notes.csv: starts with a UTF-8 byte-order mark, but the mapping declares ISO-8859-1",
        ),
        (DEFAULT, b'first,"id"x,middle,last\n', HeaderMismatch, "notes.csv: header line is not valid CSV (RFC 4180 quoting)"),
        (DEFAULT, b"", HeaderMismatch, "notes.csv: file is empty; expected at least a header line"),
        (DEFAULT, b"first,middle,last\n", HeaderMismatch, "notes.csv: header lacks column(s) ['id']"),
    ],
)
def test_a_file_that_cannot_be_read_as_mapped_is_refused_with_the_reason(tmp_path, dialect, body, error, message):
    source = tmp_path / "notes.csv"
    source.write_bytes(body)
    columns = [MappedColumn(column.name, column.nullable) for column in NOTES.columns]
    with pytest.raises(error) as raised:
        stage_file(
            str(source), str(tmp_path / "staged.txt"), table="notes", file_index=0, entry_name="notes.csv", columns=columns, dialect=dialect
        )
    assert str(raised.value) == message


def test_a_byte_order_mark_is_data_only_at_the_start_of_a_file():
    body = b"\xef\xbb\xbf" + NOTES_HEADER + "\ufeffa,K1,m,l\n".encode()
    texts = [record.text for record in read_records(io.BytesIO(body), DEFAULT, "notes.csv")]
    assert texts == ["first,id,middle,last", "\ufeffa,K1,m,l"]


ALPHABET = ["a", "b", ",", '"', "\n", "\r\n", " ", "é", "\\", "\t"]


def _random_field(rng: random.Random, dialect: CsvDialect) -> tuple[str, str | None]:
    """A field as written and the value it stands for (None for null)."""
    value = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 7)))
    if value == "" and rng.random() < 0.5:
        return "", None
    must_quote = any(character in value for character in (dialect.delimiter, dialect.quote, "\n", "\r")) or value == ""
    if not must_quote and rng.random() < 0.5:
        return value, value
    if dialect.escape == dialect.quote:
        escaped = value.replace(dialect.quote, dialect.quote * 2)
    else:
        escaped = value.replace(dialect.escape, dialect.escape * 2).replace(dialect.quote, dialect.escape + dialect.quote)
    return f"{dialect.quote}{escaped}{dialect.quote}", value


@pytest.mark.parametrize("dialect", [DEFAULT, replace(DEFAULT, escape="\\")], ids=["doubled-quote", "backslash-escape"])
def test_random_well_formed_records_read_back_exactly_on_the_driver_and_in_the_jvm(spark, tmp_path, dialect):
    rng = random.Random(20261126)
    table = plan_table(
        "random",
        ("id",),
        columns=(PlanColumn("id", "string", nullable=False), *(PlanColumn(f"c{index}", "string", nullable=True) for index in range(4))),
    )
    body, expected, line = ["id,c0,c1,c2,c3\n"], [], 2
    for number in range(400):
        fields = [_random_field(rng, dialect) for _ in range(4)]
        record = ",".join([f"R{number}", *(written for written, _ in fields)])
        body.append(record + rng.choice(["\n", "\r\n"]))
        expected.append(("random.csv", line, f"R{number}", *(value for _, value in fields)))
        # The driver reads headers with split, where nulls do not arise: an empty unquoted field is "".
        assert dialect.split(record) == [f"R{number}", *("" if value is None else value for _, value in fields)]
        line += record.count("\n") + 1
    records, accepted, rejected = run_typed_read(spark, tmp_path, table, dialect, {"random.csv": "".join(body).encode()})
    assert rejected == []
    assert accepted == sorted(expected)
    assert records == {"random.csv": 400}


def test_files_of_one_table_may_lack_a_nullable_column_or_carry_columns_the_mapping_ignores(spark, tmp_path):
    files = {
        "before.csv": b"first,id,middle\nf,K1,m\n",
        "after.csv": b"first,id,channel,middle,last\ng,K2,web,m,l\nh,K3,app,m\n",
    }
    records, accepted, rejected = run_typed_read(spark, tmp_path, NOTES, DEFAULT, files, unknown_columns="ignore")
    assert accepted == [("after.csv", 2, "g", "K2", "m", "l"), ("before.csv", 2, "f", "K1", "m", None)]
    assert rejected == [("after.csv", 3, "malformed", "expected 5 fields separated by ',', found 4", "h,K3,app,m")]
    assert records == {"before.csv": 1, "after.csv": 2}
