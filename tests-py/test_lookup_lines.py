"""Export lines of the data-pipeline-json, redshift-text and keys formats, and parse_record's bytes handling.

Pure and fast: no Spark, no moto. Lines are shaped like real dumps (unicode, quotes, pipes and
backslashes in free text, empty strings beside nulls, numbers with many digits); every outcome is
the exact item or the exact rejection.
"""

from __future__ import annotations

import pytest

from ingest.lookup_lines import REJECTION_CODES, ParsedLine, Rejection, join_escaped_lines, parse_line, parse_record
from ingest.lookup_plan import FORMATS, LookupPlan, parse_lookup_plan

PRODUCT_ID = {"attribute": "product_id", "type": "string"}
CATEGORY = {"name": "category", "type": "string", "required": True}
PRICE = {"name": "price", "type": "number", "required": False}
IN_STOCK = {"name": "in_stock", "type": "boolean", "required": False}


def _plan(export_format: str, *, key: dict, attributes: list[dict], unload: dict | None = None) -> LookupPlan:
    return parse_lookup_plan(
        {
            "lookup": "products",
            "key": key,
            "attributes": attributes,
            "format": export_format,
            "ttl": None,
            "maxItemBytes": 4096,
            "fullRefresh": False,
            "markers": ["_SUCCESS"],
            "unload": unload,
        }
    )


def _unload(*, escape: bool, delimiter: str = "|", null_as: str = "") -> dict:
    return {"columns": ["product_id", "category", "price", "in_stock", "note"], "delimiter": delimiter, "escape": escape, "nullAs": null_as}


VERSIONED = {"partition": PRODUCT_ID, "sort": {"attribute": "version", "type": "number"}}
PIPELINE = _plan("data-pipeline-json", key=VERSIONED, attributes=[CATEGORY, IN_STOCK])
DYNAMODB_JSON = _plan("dynamodb-json", key=VERSIONED, attributes=[CATEGORY, IN_STOCK])
ESCAPED = _plan(
    "redshift-text", key={"partition": PRODUCT_ID, "sort": None}, attributes=[CATEGORY, PRICE, IN_STOCK], unload=_unload(escape=True)
)
PLAIN = _plan(
    "redshift-text", key={"partition": PRODUCT_ID, "sort": None}, attributes=[CATEGORY, PRICE, IN_STOCK], unload=_unload(escape=False)
)
NULL_N = _plan(
    "redshift-text",
    key={"partition": PRODUCT_ID, "sort": None},
    attributes=[CATEGORY, PRICE, IN_STOCK],
    unload=_unload(escape=True, delimiter=",", null_as="\\N"),
)
KEYS = _plan("keys", key={"partition": PRODUCT_ID, "sort": None}, attributes=[PRICE])
NUMBER_KEYS = _plan("keys", key={"partition": {"attribute": "id", "type": "number"}, "sort": None}, attributes=[])
JSONL = _plan("jsonl", key={"partition": PRODUCT_ID, "sort": None}, attributes=[CATEGORY])
CSV = _plan("csv", key={"partition": PRODUCT_ID, "sort": None}, attributes=[CATEGORY])
CSV_HEADER = ("product_id", "category")

PIPELINE_TYPES = "s, n, bOOL, nULL, nULLValue, m, l, b, sS, nS, bS"
UNKNOWN_ESCAPE = "ESCAPE puts a backslash only before the delimiter, a backslash, a quote, CR or LF"


def _outcome(parsed: ParsedLine) -> dict | Rejection:
    assert (parsed.item is None) != (parsed.rejection is None)
    if parsed.rejection is not None:
        assert parsed.rejection.code in REJECTION_CODES
        return parsed.rejection
    return parsed.item


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # every type as the emr-dynamodb-connector writes it: N normalized, B decoded, NULL kept when undeclared
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"2.50"},"category":{"s":"jouets \\"bois\\" | été \\\\ 東京"},'
            '"in_stock":{"bOOL":true},"tags":{"sS":["wood","3+"]},"sizes":{"nS":["1.50","12345678901234567890123456789012345678"]},'
            '"thumb":{"b":"AAEC/w=="},"variants":{"bS":["AA==","AQ=="]},'
            '"dims":{"m":{"unit":{"s":"cm"},"h":{"n":"-0.000120"},"extra":{"nULL":true}}},'
            '"history":{"l":[{"n":"1"},{"s":""},{"bOOL":false}]},"discontinued":{"nULLValue":true}}',
            {
                "product_id": {"S": "P-1001"},
                "version": {"N": "2.5"},
                "category": {"S": 'jouets "bois" | été \\ 東京'},
                "in_stock": {"BOOL": True},
                "tags": {"SS": ["wood", "3+"]},
                "sizes": {"NS": ["1.5", "12345678901234567890123456789012345678"]},
                "thumb": {"B": b"\x00\x01\x02\xff"},
                "variants": {"BS": [b"\x00", b"\x01"]},
                "dims": {"M": {"unit": {"S": "cm"}, "h": {"N": "-0.00012"}, "extra": {"NULL": True}}},
                "history": {"L": [{"N": "1"}, {"S": ""}, {"BOOL": False}]},
                "discontinued": {"NULL": True},
            },
        ),
        # an optional declared attribute given as null is left out; an empty string is a string
        (
            '{"product_id":{"s":" P-1002 "},"version":{"n":"1"},"category":{"s":""},"in_stock":{"nULLValue":true}}',
            {"product_id": {"S": " P-1002 "}, "version": {"N": "1"}, "category": {"S": ""}},
        ),
        (
            '{"product_id":{"S":"P-1001"},"version":{"N":"1"},"category":{"S":"toys"}}',
            Rejection(
                "wrong-format",
                f'the line looks like dynamodb-json: attribute product_id has the type "S"; data-pipeline-json writes types as {PIPELINE_TYPES}',
            ),
        ),
        (
            '{"Item":{"product_id":{"S":"P-1001"},"version":{"N":"1"},"category":{"S":"toys"}}}',
            Rejection(
                "wrong-format",
                f'the line looks like dynamodb-json: attribute product_id has the type "S"; data-pipeline-json writes types as {PIPELINE_TYPES}',
            ),
        ),
        (
            'product_id\x03{"s":"P-1001"}\x02version\x03{"n":"1"}\x02category\x03{"s":"toys"}',
            Rejection(
                "wrong-format",
                "the line holds name^C{value} pairs separated by ^B (the Hive-based Data Pipeline export); data-pipeline-json reads one JSON object per line",
            ),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"}',
            Rejection("invalid-json", "invalid JSON: Expecting ',' delimiter at column 49"),
        ),
        ('[{"s":"P-1001"}]', Rejection("not-an-object", "not a JSON object: the line holds an array")),
        ('{"version":{"n":"1"},"category":{"s":"toys"}}', Rejection("missing-key", "key attribute product_id is missing")),
        (
            '{"product_id":{"nULL":true},"version":{"n":"1"},"category":{"s":"toys"}}',
            Rejection("missing-key", "key attribute product_id is missing (null)"),
        ),
        (
            '{"product_id":{"n":"1001"},"version":{"n":"1"},"category":{"s":"toys"}}',
            Rejection("wrong-key-type", "key attribute product_id must be a string, got a number (1001)"),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":1},"category":{"s":"toys"}}',
            Rejection("invalid-value", "key attribute version: the n value must be a JSON string, got a number"),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"12345678901234567890123456789012345678.9"},"category":{"s":"toys"}}',
            Rejection(
                "invalid-value",
                "key attribute version: 12345678901234567890123456789012345678.9 has 39 significant digits; DynamoDB keeps at most 38",
            ),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"n":"5"}}',
            Rejection("wrong-attribute-type", "attribute category must be a string, got a number (5)"),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"},"in_stock":{"bOOL":"true"}}',
            Rejection("invalid-value", "attribute in_stock: the bOOL value must be true or false, got a string"),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"},"gone":{"nULLValue":false}}',
            Rejection("invalid-value", "attribute gone: the nULLValue value must be true"),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"},"tags":{"sS":["wood",3]}}',
            Rejection("invalid-value", "attribute tags: the sS set must hold JSON strings"),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"},"tags":{"sS":[]}}',
            Rejection("invalid-value", "attribute tags: the sS set is empty; DynamoDB sets hold at least one element"),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"},"sizes":{"nS":["1.0","1"]}}',
            Rejection("invalid-value", "attribute sizes: the nS set holds an element twice"),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"},"thumb":{"b":"not base64!"}}',
            Rejection("invalid-value", "attribute thumb: not base64! is not base64: Only base64 data is allowed"),
        ),
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"},"dims":{"m":{"unit":{"S":"cm"}}}}',
            Rejection("invalid-value", f'attribute dims: {{"S": "cm"}} is not an attribute value (an object with one of {PIPELINE_TYPES})'),
        ),
    ],
)
def test_data_pipeline_json_lines(text, expected):
    assert _outcome(parse_line(text, PIPELINE)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"}}',
            Rejection(
                "wrong-format",
                'the line looks like data-pipeline-json: attribute product_id has the type "s"; '
                "dynamodb-json writes types as S, N, BOOL, NULL, M, L, B, SS, NS, BS",
            ),
        ),
        # the checks both typed formats share: a JSON number is not the JSON string S, N, B and sets hold
        (
            '{"product_id": {"S": 1001}, "version": {"N": "1"}, "category": {"S": "toys"}}',
            Rejection("invalid-value", "key attribute product_id: the S value must be a JSON string, got a number"),
        ),
        (
            '{"product_id": {"S": "P-1001"}, "version": {"N": 1}, "category": {"S": "toys"}}',
            Rejection("invalid-value", "key attribute version: the N value must be a JSON string, got a number"),
        ),
        (
            '{"product_id": {"S": "P-1001"}, "version": {"N": "1"}, "category": {"S": "toys"}, "sizes": {"NS": ["1.5", 2]}}',
            Rejection("invalid-value", "attribute sizes: the NS set must hold JSON strings"),
        ),
    ],
)
def test_dynamodb_json_lines_checked_by_the_shared_typed_json_code(text, expected):
    assert _outcome(parse_line(text, DYNAMODB_JSON)) == expected


@pytest.mark.parametrize(
    ("plan", "text", "expected"),
    [
        # ESCAPE: escaped delimiters, backslashes, quotes, CR and LF are data; a t or f cell is a boolean
        (
            ESCAPED,
            'P-1001|Jouets & "bois"|12.50|t|Wooden train \\| 3 parts, 100% \\\\ natural, \\"tall\\" \\\'n\\\' narrow',
            {
                "product_id": {"S": "P-1001"},
                "category": {"S": 'Jouets & "bois"'},
                "price": {"N": "12.5"},
                "in_stock": {"BOOL": True},
                "note": {"S": "Wooden train | 3 parts, 100% \\ natural, \"tall\" 'n' narrow"},
            },
        ),
        (
            ESCAPED,
            "P-1002|garden|0.00|f|line one\\\nline two\\\r",
            {
                "product_id": {"S": "P-1002"},
                "category": {"S": "garden"},
                "price": {"N": "0"},
                "in_stock": {"BOOL": False},
                "note": {"S": "line one\nline two\r"},
            },
        ),
        # NULL AS '' (the default): empty cells are nulls, left out for optional and undeclared columns
        (ESCAPED, "P-1003|books|||", {"product_id": {"S": "P-1003"}, "category": {"S": "books"}}),
        (
            ESCAPED,
            " Ü-ßø 東京 |toys|12345678901234567890.123456789012345678|TRUE|1e3",
            {
                "product_id": {"S": " Ü-ßø 東京 "},
                "category": {"S": "toys"},
                "price": {"N": "12345678901234567890.123456789012345678"},
                "in_stock": {"BOOL": True},
                "note": {"S": "1e3"},
            },
        ),
        # an unescaped CR is data too: Redshift writes LF line ends
        (
            ESCAPED,
            "P-1004|toys|1|t|note\r",
            {
                "product_id": {"S": "P-1004"},
                "category": {"S": "toys"},
                "price": {"N": "1"},
                "in_stock": {"BOOL": True},
                "note": {"S": "note\r"},
            },
        ),
        # without ESCAPE a backslash is data
        (
            PLAIN,
            "P-1005|toys|2|false|C:\\shelf\\n \\\\ x\r",
            {
                "product_id": {"S": "P-1005"},
                "category": {"S": "toys"},
                "price": {"N": "2"},
                "in_stock": {"BOOL": False},
                "note": {"S": "C:\\shelf\\n \\\\ x\r"},
            },
        ),
        # NULL AS '\N' with ESCAPE: the cell \N is a null, \\N is the text \N, an empty cell is an empty string
        (NULL_N, "P-1006,toys,\\N,\\N,\\\\N", {"product_id": {"S": "P-1006"}, "category": {"S": "toys"}, "note": {"S": "\\N"}}),
        (NULL_N, "P-1007,,\\N,\\N,", {"product_id": {"S": "P-1007"}, "category": {"S": ""}, "note": {"S": ""}}),
        (
            NULL_N,
            "P-1008,Smith\\, Jones,3,f,\\N",
            {"product_id": {"S": "P-1008"}, "category": {"S": "Smith, Jones"}, "price": {"N": "3"}, "in_stock": {"BOOL": False}},
        ),
        (NULL_N, "\\N,toys,1,t,", Rejection("missing-key", "key attribute product_id is missing (null)")),
        (ESCAPED, "P-1001|toys|1|t", Rejection("wrong-cell-count", "expected 5 cells (the unload columns); got 4")),
        (ESCAPED, "P-1001|toys|1|t\\|in stock", Rejection("wrong-cell-count", "expected 5 cells (the unload columns); got 4")),
        (PLAIN, "P-1001|toys|1|t|Wooden train | 3 parts", Rejection("wrong-cell-count", "expected 5 cells (the unload columns); got 6")),
        (PLAIN, "P-1001|toys|1|t|Wooden train \\| 3 parts", Rejection("wrong-cell-count", "expected 5 cells (the unload columns); got 6")),
        (
            ESCAPED,
            "P-1001|toys|1|t|open \\",
            Rejection("invalid-text", "column note: the backslash at character 22 ends the record and escapes nothing"),
        ),
        (
            ESCAPED,
            "P-1001|toys|1|t|tab\\there",
            Rejection("invalid-text", f"column note: the backslash at character 20 escapes 't'; {UNKNOWN_ESCAPE}"),
        ),
        (
            ESCAPED,
            "\\P-1001|toys|1|t|",
            Rejection("invalid-text", f"column product_id: the backslash at character 1 escapes 'P'; {UNKNOWN_ESCAPE}"),
        ),
        (ESCAPED, "|toys|1|t|", Rejection("missing-key", "key attribute product_id is missing (null)")),
        (ESCAPED, "P-1001||1|t|", Rejection("missing-attribute", "required attribute category is missing (null)")),
        (ESCAPED, "P-1001|toys|cheap|t|", Rejection("wrong-attribute-type", 'attribute price must be a number, got a string ("cheap")')),
        (ESCAPED, "P-1001|toys|1|yes|", Rejection("wrong-attribute-type", 'attribute in_stock must be a boolean, got a string ("yes")')),
        (
            ESCAPED,
            "P-1001|toys|123456789012345678901234567890123456789|t|",
            Rejection(
                "invalid-value",
                "attribute price: 123456789012345678901234567890123456789 has 39 significant digits; DynamoDB keeps at most 38",
            ),
        ),
        (
            ESCAPED,
            "é" * 1025 + "|toys|1|t|",
            Rejection("key-too-long", "key attribute product_id is 2050 bytes long; DynamoDB allows at most 2048"),
        ),
    ],
)
def test_redshift_text_records(plan, text, expected):
    assert _outcome(parse_line(text, plan)) == expected


@pytest.mark.parametrize(
    ("plan", "text", "expected"),
    [
        (KEYS, "P-1001", {"product_id": {"S": "P-1001"}}),
        (KEYS, " P-1001 ", {"product_id": {"S": " P-1001 "}}),
        (KEYS, 'Ü-ßø "東京" | C:\\shelf', {"product_id": {"S": 'Ü-ßø "東京" | C:\\shelf'}}),
        (NUMBER_KEYS, "12345678901234567890123456789012345678", {"id": {"N": "12345678901234567890123456789012345678"}}),
        (NUMBER_KEYS, "-0.000120", {"id": {"N": "-0.00012"}}),
        (NUMBER_KEYS, "1.50E+3", {"id": {"N": "1500"}}),
        (KEYS, "", Rejection("empty-key", "key attribute product_id is an empty string")),
        (KEYS, "é" * 1025, Rejection("key-too-long", "key attribute product_id is 2050 bytes long; DynamoDB allows at most 2048")),
        (NUMBER_KEYS, "", Rejection("missing-key", "key attribute id is missing")),
        (NUMBER_KEYS, "P-1001", Rejection("invalid-value", "key attribute id: P-1001 is not a number")),
        (NUMBER_KEYS, " 12", Rejection("invalid-value", "key attribute id:  12 is not a number")),
        (
            NUMBER_KEYS,
            "123456789012345678901234567890123456789",
            Rejection(
                "invalid-value",
                "key attribute id: 123456789012345678901234567890123456789 has 39 significant digits; DynamoDB keeps at most 38",
            ),
        ),
        (
            NUMBER_KEYS,
            "1e126",
            Rejection(
                "invalid-value", "key attribute id: 1e126 is outside DynamoDB's number range (magnitudes from 1E-130 to below 1E+126)"
            ),
        ),
    ],
)
def test_keys_lines(plan, text, expected):
    assert _outcome(parse_line(text, plan)) == expected


def test_a_keys_item_is_the_key_and_the_stamp():
    stamp = {"expires_at": {"N": "1800000000"}}
    assert parse_line("P-1001", KEYS, stamp=stamp) == ParsedLine(key=("P-1001",), item={"product_id": {"S": "P-1001"}, **stamp})


def test_rejected_records_keep_a_valid_key_and_a_line_of_another_format_names_none():
    assert parse_line("P-1001|toys|cheap|t|", ESCAPED).key == ("P-1001",)
    assert parse_line('{"product_id":{"s":"P-1001"},"version":{"n":"1.50"},"category":{"n":"5"}}', PIPELINE).key == ("P-1001", "1.5")
    assert parse_line('{"product_id":{"S":"P-1001"},"version":{"N":"1"}}', PIPELINE).key is None


@pytest.mark.parametrize(
    ("lines", "records"),
    [
        ([(1, b"P-1|a"), (2, b"P-2|b")], [(1, b"P-1|a"), (2, b"P-2|b")]),
        ([(1, b"P-1|line one\\"), (2, b"line two"), (3, b"P-2|x")], [(1, b"P-1|line one\\\nline two"), (3, b"P-2|x")]),
        ([(1, b"P-1|a\\"), (2, b"\\"), (3, b"b"), (4, b"P-2|c")], [(1, b"P-1|a\\\n\\\nb"), (4, b"P-2|c")]),
        ([(1, b"P-1|C:\\\\"), (2, b"P-2|x\\\\\\\\")], [(1, b"P-1|C:\\\\"), (2, b"P-2|x\\\\\\\\")]),
        ([(1, b"P-1|a\\\\\\"), (2, b"b")], [(1, b"P-1|a\\\\\\\nb")]),
        ([(1, b"P-1|\\|\\"), (2, b"")], [(1, b"P-1|\\|\\\n")]),
        ([(7, b"P-1|a"), (9, b"P-2|b\\")], [(7, b"P-1|a"), (9, b"P-2|b\\")]),
        ([(4, b"P-1|x\\"), (5, b"y\\")], [(4, b"P-1|x\\\ny\\")]),
        ([], []),
    ],
    ids=[
        "no continuation",
        "one",
        "two in a row",
        "even backslashes",
        "three backslashes",
        "escaped LF ends the data",
        "open at end",
        "open after a continuation",
        "empty",
    ],
)
def test_escaped_line_breaks_join_physical_lines_into_records(lines, records):
    assert list(join_escaped_lines(iter(lines))) == records


def test_joined_records_parse_and_an_open_record_is_rejected():
    lines = [(1, b"P-1001|toys|1|t|Zeile eins\\"), (2, "Zeile zwei — fin".encode()), (3, b"P-1002|toys|1|t|open \\")]
    parsed = [(number, *parse_record(raw, ESCAPED)) for number, raw in join_escaped_lines(lines)]
    assert [(number, text, _outcome(line)) for number, text, line in parsed] == [
        (
            1,
            "P-1001|toys|1|t|Zeile eins\\\nZeile zwei — fin",
            {
                "product_id": {"S": "P-1001"},
                "category": {"S": "toys"},
                "price": {"N": "1"},
                "in_stock": {"BOOL": True},
                "note": {"S": "Zeile eins\nZeile zwei — fin"},
            },
        ),
        (
            3,
            "P-1002|toys|1|t|open \\",
            Rejection("invalid-text", "column note: the backslash at character 22 ends the record and escapes nothing"),
        ),
    ]


@pytest.mark.parametrize(
    ("plan", "raw", "text", "expected"),
    [
        # one trailing CR is a CRLF line end, except in redshift-text, where it is data
        (KEYS, b"P-1001\r", "P-1001", {"product_id": {"S": "P-1001"}}),
        (KEYS, b"P-1001\r\r", "P-1001\r", {"product_id": {"S": "P-1001\r"}}),
        (KEYS, "Ü-1001".encode(), "Ü-1001", {"product_id": {"S": "Ü-1001"}}),
        (
            JSONL,
            b'{"product_id": "P-1001", "category": "toys"}\r',
            '{"product_id": "P-1001", "category": "toys"}',
            {"product_id": {"S": "P-1001"}, "category": {"S": "toys"}},
        ),
        (CSV, b"P-1001,toys\r", "P-1001,toys", {"product_id": {"S": "P-1001"}, "category": {"S": "toys"}}),
        (
            PIPELINE,
            b'{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"}}\r',
            '{"product_id":{"s":"P-1001"},"version":{"n":"1"},"category":{"s":"toys"}}',
            {"product_id": {"S": "P-1001"}, "version": {"N": "1"}, "category": {"S": "toys"}},
        ),
        (ESCAPED, b"P-1001|toys|||\r", "P-1001|toys|||\r", {"product_id": {"S": "P-1001"}, "category": {"S": "toys"}, "note": {"S": "\r"}}),
        (PLAIN, b"P-1001|toys|||\r", "P-1001|toys|||\r", {"product_id": {"S": "P-1001"}, "category": {"S": "toys"}, "note": {"S": "\r"}}),
        # invalid UTF-8: the format's syntax code; the text shows the bad bytes
        (JSONL, b'{"product_id": "P-\xe9"}\r', '{"product_id": "P-\\xe9"}', Rejection("invalid-json", "the line is not valid UTF-8")),
        (
            DYNAMODB_JSON,
            b'{"product_id": {"S": "P-\xe9"}}',
            '{"product_id": {"S": "P-\\xe9"}}',
            Rejection("invalid-json", "the line is not valid UTF-8"),
        ),
        (
            PIPELINE,
            b'{"product_id":{"s":"P-\xe9"}}',
            '{"product_id":{"s":"P-\\xe9"}}',
            Rejection("invalid-json", "the line is not valid UTF-8"),
        ),
        (CSV, b"P-\xe9,toys", "P-\\xe9,toys", Rejection("invalid-csv", "the line is not valid UTF-8")),
        (ESCAPED, b"P-\xe9|toys|||\r", "P-\\xe9|toys|||\r", Rejection("invalid-text", "the line is not valid UTF-8")),
        (KEYS, b"P-\xc3\r", "P-\\xc3", Rejection("invalid-text", "the line is not valid UTF-8")),
    ],
)
def test_parse_record_strips_a_crlf_end_and_rejects_bytes_that_are_not_utf8(plan, raw, text, expected):
    shown, parsed = parse_record(raw, plan, header=CSV_HEADER if plan is CSV else None)
    assert (shown, _outcome(parsed)) == (text, expected)


def test_every_format_has_a_syntax_code_for_a_line_that_is_not_utf8():
    plans = {plan.format: plan for plan in (JSONL, DYNAMODB_JSON, PIPELINE, ESCAPED, CSV, KEYS)}
    assert sorted(plans) == sorted(FORMATS)
    codes = {name: parse_record(b"\xff", plan, header=CSV_HEADER)[1].rejection.code for name, plan in plans.items()}
    assert codes == {
        "jsonl": "invalid-json",
        "dynamodb-json": "invalid-json",
        "data-pipeline-json": "invalid-json",
        "redshift-text": "invalid-text",
        "csv": "invalid-csv",
        "keys": "invalid-text",
    }
