"""Typed read: header checks, staging, and the classification of every bad-row kind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from plan_tables import plan_table

from ingest.csv_dialect import CsvDialect
from ingest.job_plan import PlanColumn
from ingest.staging import FileLayout, HeaderMismatch, MappedColumn, read_header, stage_file
from ingest.typed_read import ExtractInfo, classify, read_staged_lines

DIALECT = CsvDialect(delimiter=",", quote='"', escape='"', null_value="", encoding="UTF-8", header=True, trim_keys=True)

ORDERS = plan_table(
    "orders",
    ("order_id",),
    columns=(
        PlanColumn("order_id", "string", nullable=False),
        PlanColumn("customer_id", "string", nullable=False),
        PlanColumn("order_date", "date", nullable=False, format="yyyy-MM-dd"),
        PlanColumn("total", "decimal(6,2)", nullable=True),
        PlanColumn("items", "int", nullable=True),
        PlanColumn("paid", "boolean", nullable=True),
        PlanColumn("updated_at", "timestamp", nullable=True, format="yyyy-MM-dd HH:mm:ss"),
    ),
)
HEADER = "order_id,customer_id,order_date,total,items,paid,updated_at"
EXTRACT = ExtractInfo(extract_id="20261122T101500Z-000001", extract_version=1795342500000001, extract_time="2026-11-22T10:15:00Z")

# (line text, expected reason, expected detail); line numbers follow from the order (header is line 1).
LINES = [
    ("O1,C1,2026-11-01,12.50,3,true,2026-11-01 10:00:00", None, None),
    ("O2,C1,2026-11-02,,,,", None, None),
    ('"O3","C,2",2026-11-03,0.5,1,0,2026-11-03 00:00:00', None, None),
    ("O4,C1,2026-11-04,1.00", "malformed", "expected 7 fields separated by ',', found 4"),
    ("O5,C1,2026-11-05,1,2,true,2026-11-05 00:00:00,extra", "malformed", "expected 7 fields separated by ',', found 8"),
    (
        '"O6"x,C1,2026-11-06,1,2,true,2026-11-06 00:00:00',
        "malformed",
        "not RFC 4180 quoting: a quote or line break inside an unquoted field, or text after a closing quote",
    ),
    (",C1,2026-11-07,1,2,true,2026-11-07 00:00:00", "null-primary-key", "primary key column order_id is null"),
    ("O8,,2026-11-08,1,2,true,2026-11-08 00:00:00", "null-required", "column customer_id must not be null"),
    ("O9,C1,2026-13-09,1,2,true,2026-11-09 00:00:00", "bad-date", 'column order_date: ["2026-13-09"] is not a date like yyyy-MM-dd'),
    (
        "O10,C1,2026-11-10,12345.6,2,true,",
        "bad-decimal",
        'column total: ["12345.6"] is not a decimal with at most 4 digits before and 2 after the point',
    ),
    (
        "O11,C1,2026-11-11,1.234,2,true,",
        "bad-decimal",
        'column total: ["1.234"] is not a decimal with at most 4 digits before and 2 after the point',
    ),
    ("O12,C1,2026-11-12,1,two,true,", "bad-number", 'column items: ["two"] is not a whole number that fits int'),
    ("O13,C1,2026-11-13,1,1.5,true,", "bad-number", 'column items: ["1.5"] is not a whole number that fits int'),
    ("O14,C1,2026-11-14,1,99999999999,true,", "bad-number", 'column items: ["99999999999"] is not a whole number that fits int'),
    ("O15,C1,2026-11-15,1,2,maybe,", "bad-boolean", 'column paid: ["maybe"] is not true/false, t/f, yes/no, y/n or 1/0'),
    (
        "O16,C1,2026-11-16,1,2,true,16/11/2026 10:00",
        "bad-timestamp",
        'column updated_at: ["16/11/2026 10:00"] is not a timestamp like yyyy-MM-dd HH:mm:ss',
    ),
    ("", "empty-line", "the line is empty"),
    ("O18,C1,2026-11-18,1,2,true,", "duplicate-primary-key", "primary key (order_id) appears 2 times"),
    ("O18,C2,2026-11-18,1,2,true,", "duplicate-primary-key", "primary key (order_id) appears 2 times"),
    ("O19,C1,2026-11-19,-1.5,-2,no,2026-11-19 23:59:59", None, None),
]


@pytest.fixture(scope="module")
def classified(spark, tmp_path_factory):
    directory = tmp_path_factory.mktemp("typed")
    source = directory / "orders.csv"
    body = "\n".join([HEADER, *(line for line, _, _ in LINES)]) + "\n"
    source.write_bytes(body.encode("utf-8") + b"O20,C1,2026-11-20,1,2,caf\xe9,\n")
    staged = stage_file(
        str(source),
        str(directory / "staged" / "orders" / "0.txt"),
        table="orders",
        file_index=0,
        entry_name="orders.csv",
        columns=[MappedColumn(column.name, column.nullable) for column in ORDERS.columns],
        dialect=DIALECT,
    )
    lines = read_staged_lines(spark, [staged.path], ["orders.csv"])
    result = classify(lines, ORDERS, DIALECT, EXTRACT)
    return staged, result.accepted.collect(), result.rejected.collect()


def test_every_bad_row_kind_is_rejected_with_its_reason_file_and_line(classified):
    _, _, rejected = classified
    expected = [
        ("orders", "orders.csv", index + 2, reason, detail, line)
        for index, (line, reason, detail) in enumerate(LINES)
        if reason is not None
    ]
    expected.append(
        ("orders", "orders.csv", 22, "bad-encoding", "not valid UTF-8", "4f32302c43312c323032362d31312d32302c312c322c636166e92c")
    )
    actual = sorted((row.table, row.file, row.line, row.reason, row.detail, row.raw) for row in rejected)
    assert actual == sorted(expected)


def test_accepted_rows_are_typed_and_carry_their_source(classified):
    _, accepted, _ = classified
    extract_time = dt.datetime(2026, 11, 22, 10, 15)
    version = 1795342500000001
    expected = [
        (
            "O1",
            "C1",
            dt.date(2026, 11, 1),
            Decimal("12.50"),
            3,
            True,
            dt.datetime(2026, 11, 1, 10),
            EXTRACT.extract_id,
            version,
            extract_time,
            "orders.csv",
            2,
        ),
        (
            "O19",
            "C1",
            dt.date(2026, 11, 19),
            Decimal("-1.50"),
            -2,
            False,
            dt.datetime(2026, 11, 19, 23, 59, 59),
            EXTRACT.extract_id,
            version,
            extract_time,
            "orders.csv",
            21,
        ),
        ("O2", "C1", dt.date(2026, 11, 2), None, None, None, None, EXTRACT.extract_id, version, extract_time, "orders.csv", 3),
        (
            "O3",
            "C,2",
            dt.date(2026, 11, 3),
            Decimal("0.50"),
            1,
            False,
            dt.datetime(2026, 11, 3),
            EXTRACT.extract_id,
            version,
            extract_time,
            "orders.csv",
            4,
        ),
    ]
    assert sorted(tuple(row) for row in accepted) == expected


def test_rows_read_equal_rows_accepted_plus_rows_rejected(classified):
    staged, accepted, rejected = classified
    assert staged.records == len(LINES) + 1
    assert len(accepted) + len(rejected) == staged.records


HEADER_COLUMNS = [MappedColumn("order_id", False), MappedColumn("customer_id", False), MappedColumn("total", True)]


@pytest.mark.parametrize(
    ("header", "unknown_columns", "message"),
    [
        (["order_id", "total"], "reject", "orders.csv: header lacks column(s) ['customer_id']"),
        (["order_id", "customer_id", "total", "x"], "reject", "orders.csv: header has unexpected column(s) ['x']"),
        (["order_id", "client_id", "total"], "ignore", "orders.csv: header has ['client_id'] where the mapping expects ['customer_id']"),
        (["order_id", "customer_id", "x"], "ignore", "orders.csv: header has ['x'] where the mapping expects ['total']"),
        (
            ["customer_id", "order_id", "total"],
            "reject",
            "orders.csv: column 1 is 'customer_id' but the mapping expects 'order_id' (columns reordered)",
        ),
        (["order_id", "customer_id", "order_id"], "ignore", "orders.csv: header names column(s) ['order_id'] more than once"),
    ],
)
def test_header_must_name_the_mapping_columns_in_order(header, unknown_columns, message):
    with pytest.raises(HeaderMismatch) as raised:
        read_header("orders.csv", header, HEADER_COLUMNS, unknown_columns)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (["order_id", "customer_id", "total"], FileLayout(positions=(0, 1, 2), field_count=3)),
        # An extract from before the mapping gained the nullable column `total`.
        (["order_id", "customer_id"], FileLayout(positions=(0, 1, None), field_count=2)),
        (
            ["order_id", "channel", "customer_id", "total", "note"],
            FileLayout(positions=(0, 2, 3), field_count=5, ignored_columns=("channel", "note")),
        ),
        ([" order_id ", "customer_id ", "total"], FileLayout(positions=(0, 1, 2), field_count=3)),
    ],
)
def test_header_says_where_each_mapped_column_is(header, layout):
    assert read_header("orders.csv", header, HEADER_COLUMNS, "ignore") == layout
