r"""Export lines, parsed and validated: each line is an item DynamoDB can hold, or a rejection with its exact reason.

Pure functions of the line and the plan; the loader's tasks call them on every line of their range
(parse_record; join_escaped_lines first for a redshift-text export unloaded with ESCAPE). A value
arrives exactly as written or its line is rejected with the reason: nothing is trimmed, nulled or
reinterpreted.

What each format's file looks like, for a products lookup keyed by product_id:

jsonl: one JSON object per line; numbers keep every digit, null is NULL (left out for an optional
declared attribute).

    {"product_id": "P-1001", "category": "toys", "price": 12.50, "tags": ["wood", "3+"]}
    {"product_id": "P-1002", "category": "garden", "price": null}
    {"product_id": "P-1003", "category": "books", "note": "\"Ulysses\", 1922 édition"}

dynamodb-json: DynamoDB JSON items, as DynamoDB's export to S3 writes them or bare.

    {"Item": {"product_id": {"S": "P-1001"}, "category": {"S": "toys"}, "price": {"N": "12.50"}}}
    {"Item": {"product_id": {"S": "P-1002"}, "category": {"S": "garden"}, "tags": {"SS": ["sale"]}}}
    {"product_id": {"S": "P-1003"}, "category": {"S": "books"}, "in_stock": {"BOOL": false}}

data-pipeline-json: AWS Data Pipeline's "Export DynamoDB table to S3" (the emr-dynamodb-connector):
one item per line, types written s, n, b, sS, nS, bS, m, l, bOOL, nULL or nULLValue.

    {"product_id":{"s":"P-1001"},"category":{"s":"toys"},"price":{"n":"12.50"}}
    {"product_id":{"s":"P-1002"},"category":{"s":"garden"},"tags":{"sS":["sale","outdoor"]}}
    {"product_id":{"s":"P-1003"},"category":{"s":"books"},"in_stock":{"bOOL":false},"note":{"nULLValue":true}}

redshift-text: Redshift UNLOAD's default text, no header, the unload columns in order (here
product_id, category, price, note; DELIMITER '|', ESCAPE, NULL AS ''). A cell equal to NULL AS is
a null; with ESCAPE a backslash precedes each delimiter, backslash, CR and LF in text data, and
an escaped LF continues the record on the next line. A BOOLEAN is written t or f.

    P-1001|toys|12.50|Wooden train \| 3 parts
    P-1002|garden||
    P-1003|books|7.00|C:\\shelf\\classics

csv: a header line, then one row per item; an empty cell is left out.

    product_id,category,price,note
    P-1001,toys,12.50,"Wooden train, ""3 parts"" boxed"
    P-1002,garden,,

keys: one partition key per line, exactly as written; the item is the key alone.

    P-1001
    P-1002
    P-1003
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from functools import partial
from itertools import accumulate
from typing import NamedTuple

from ingest.dynamodb_writer import ItemValueError, item_size
from ingest.lookup_plan import LookupPlan
from ingest.strict_json import InvalidJson, JsonNumber, json_kind, parse_strict

PARTITION_KEY_LIMIT = 2048  # bytes of a string partition key value
SORT_KEY_LIMIT = 1024
MAX_NESTING = 32
REJECTION_CODES = (
    "line-too-long",
    "invalid-json",
    "not-an-object",
    "invalid-csv",
    "invalid-text",
    "wrong-format",
    "wrong-cell-count",
    "missing-key",
    "invalid-value",
    "wrong-key-type",
    "empty-key",
    "key-too-long",
    "missing-attribute",
    "wrong-attribute-type",
    "item-too-large",
    "refused-by-dynamodb",
)
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_NUMBER_CONTEXT = Context(prec=60)  # exact for every number DynamoDB holds (38 digits)


@dataclass(frozen=True)
class Rejection:
    code: str  # one of REJECTION_CODES
    reason: str


@dataclass(frozen=True)
class ParsedLine:
    """A line as the loader sees it: an item to write, or a rejection. `key` is set whenever the key is valid."""

    key: tuple[str, ...] | None = None
    item: dict | None = None
    rejection: Rejection | None = None


class _Invalid(NamedTuple):
    """An attribute whose value DynamoDB cannot hold, kept so the checks report the right attribute."""

    reason: str


class _InvalidValue(ValueError):
    pass


def parse_record(
    raw: bytes, plan: LookupPlan, *, header: Sequence[str] | None = None, stamp: Mapping[str, dict] | None = None
) -> tuple[str, ParsedLine]:
    """One record's bytes (without its LF) as the text to report and the parsed line.

    A CRLF line end loses its CR, except in redshift-text: Redshift writes LF line ends, so a CR
    there is data. A record that is not UTF-8 is rejected with its format's syntax code; its text
    is then shown with the bad bytes as \\x escapes.
    """
    if plan.format != "redshift-text":
        raw = raw.removesuffix(b"\r")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        rejection = Rejection(_SYNTAX_CODES[plan.format], "the line is not valid UTF-8")
        return raw.decode("utf-8", "backslashreplace"), ParsedLine(rejection=rejection)
    return text, parse_line(text, plan, header=header, stamp=stamp)


_SYNTAX_CODES = {
    "jsonl": "invalid-json",
    "dynamodb-json": "invalid-json",
    "data-pipeline-json": "invalid-json",
    "redshift-text": "invalid-text",
    "csv": "invalid-csv",
    "keys": "invalid-text",
}


def parse_line(text: str, plan: LookupPlan, *, header: Sequence[str] | None = None, stamp: Mapping[str, dict] | None = None) -> ParsedLine:
    """One export line (without its line break) as an item or a rejection with its exact reason.

    `header` holds a CSV export's column names; `stamp` the attributes the loader adds to every item
    (TTL, load generation), which count towards the item size. Checks, in order: the line's syntax,
    each key attribute (present, holdable, of its type, not empty, not too long), each declared
    attribute in declared order (present if required, holdable, of its type), every other
    attribute (holdable), the item size with the stamp.
    """
    if plan.format == "jsonl":
        values = _jsonl_values(text)
    elif plan.format in _TYPE_NAMES:
        values = _typed_json_values(text, plan)
    elif plan.format == "redshift-text":
        values = _unload_values(text, plan)
    elif plan.format == "keys":
        values = _key_line_values(text, plan)
    else:
        if header is None:
            raise ValueError("a CSV export needs its header")
        values = _csv_values(text, plan, header)
    if isinstance(values, Rejection):
        return ParsedLine(rejection=values)
    return _check_item(values, plan, stamp or {})


_NULL = {"NULL": True}


def _check_item(values: Mapping[str, dict | _Invalid], plan: LookupPlan, stamp: Mapping[str, dict]) -> ParsedLine:
    key_values: list[str] = []
    for key, limit in zip(plan.keys, (PARTITION_KEY_LIMIT, SORT_KEY_LIMIT), strict=False):
        value = values.get(key.name)
        if value is None or value == _NULL:
            return ParsedLine(
                rejection=Rejection("missing-key", f"key attribute {key.name} is missing" + ("" if value is None else " (null)"))
            )
        if isinstance(value, _Invalid):
            return ParsedLine(rejection=Rejection("invalid-value", f"key attribute {key.name}: {value.reason}"))
        if _descriptor(value) != key.descriptor:
            return ParsedLine(
                rejection=Rejection("wrong-key-type", f"key attribute {key.name} must be a {key.type}, got {_describe(value)}")
            )
        if key.type == "string":
            if value["S"] == "":
                return ParsedLine(rejection=Rejection("empty-key", f"key attribute {key.name} is an empty string"))
            size = len(value["S"].encode("utf-8"))
            if size > limit:
                reason = f"key attribute {key.name} is {size} bytes long; DynamoDB allows at most {limit}"
                return ParsedLine(rejection=Rejection("key-too-long", reason))
        key_values.append(value[key.descriptor])
    key = tuple(key_values)
    for attribute in plan.attributes:
        value = values.get(attribute.name)
        if value is None or value == _NULL:
            if attribute.required:
                reason = f"required attribute {attribute.name} is missing" + ("" if value is None else " (null)")
                return ParsedLine(key=key, rejection=Rejection("missing-attribute", reason))
            continue
        if isinstance(value, _Invalid):
            return ParsedLine(key=key, rejection=Rejection("invalid-value", f"attribute {attribute.name}: {value.reason}"))
        if _descriptor(value) != attribute.descriptor:
            reason = f"attribute {attribute.name} must be a {attribute.type}, got {_describe(value)}"
            return ParsedLine(key=key, rejection=Rejection("wrong-attribute-type", reason))
    item: dict[str, dict] = {}
    for name, value in values.items():
        if isinstance(value, _Invalid):
            return ParsedLine(key=key, rejection=Rejection("invalid-value", f"attribute {name}: {value.reason}"))
        if value == _NULL and name in plan.declared_names:
            continue  # an optional declared attribute given as null is left out, like an empty CSV cell
        item[name] = value
    item.update(stamp)
    size = _item_bytes(item)
    if size > plan.max_item_bytes:
        return ParsedLine(key=key, rejection=Rejection("item-too-large", f"the item is {size} bytes; the limit is {plan.max_item_bytes}"))
    return ParsedLine(key=key, item=item)


def _descriptor(value: Mapping) -> str:
    return next(iter(value))


_KIND_NAMES = {
    "S": "a string",
    "N": "a number",
    "BOOL": "a boolean",
    "NULL": "null",
    "M": "a map",
    "L": "a list",
    "B": "binary",
    "SS": "a string set",
    "NS": "a number set",
    "BS": "a binary set",
}


def _describe(value: Mapping) -> str:
    """How a value is named in a reason: `a string ("abc")`, `a number (12.5)`, `a map`."""
    descriptor = _descriptor(value)
    content = value[descriptor]
    if descriptor == "S":
        return f"{_KIND_NAMES['S']} ({short(json.dumps(content, ensure_ascii=False))})"
    if descriptor == "N":
        return f"{_KIND_NAMES['N']} ({short(content)})"
    if descriptor == "BOOL":
        return f"{_KIND_NAMES['BOOL']} ({'true' if content else 'false'})"
    return _KIND_NAMES[descriptor]


def short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dynamodb_number(text: str) -> str:
    """The N text of a number DynamoDB can store, with every digit kept; raises ValueError saying why it cannot."""
    if not _NUMBER_TEXT.match(text):
        raise ValueError(f"{short(text)} is not a number")
    number = Decimal(text)
    if number == 0:
        return "0"
    significant = len("".join(map(str, number.as_tuple().digits)).rstrip("0"))  # Decimal keeps no leading zeros
    if significant > 38:
        raise ValueError(f"{short(text)} has {significant} significant digits; DynamoDB keeps at most 38")
    if not -130 <= number.adjusted() <= 125:
        raise ValueError(f"{short(text)} is outside DynamoDB's number range (magnitudes from 1E-130 to below 1E+126)")
    return format(number.normalize(_NUMBER_CONTEXT), "f")


def _checked_number(text: str) -> str:
    try:
        return dynamodb_number(text)
    except ValueError as error:
        raise _InvalidValue(str(error)) from error


def _parse_json(text: str) -> object | Rejection:
    try:
        return parse_strict(text)
    except InvalidJson as error:
        return Rejection("invalid-json", str(error))


def _json_kind(value: object) -> str:
    """The JSON kind with its article, as reasons name it: a number, an array, null."""
    kind = json_kind(value)
    return {"array": "an array", "object": "an object", "null": "null"}.get(kind, f"a {kind}")


def _jsonl_values(text: str) -> dict[str, dict | _Invalid] | Rejection:
    document = _parse_json(text)
    if isinstance(document, Rejection):
        return document
    if not isinstance(document, dict):
        return Rejection("not-an-object", f"not a JSON object: the line holds {_json_kind(document)}")
    return {name: _attribute(_from_json, value) for name, value in document.items()}


def _attribute(convert: Callable[[object, int], dict], value: object) -> dict | _Invalid:
    try:
        return convert(value, 1)
    except _InvalidValue as error:
        return _Invalid(str(error))


def _from_json(value: object, depth: int) -> dict:
    """A plain JSON value as an AttributeValue: null is NULL (also inside maps), numbers keep their digits.

    Not `dynamodb_writer.to_attribute_value`: that one leaves nulls out of maps and accepts floats.
    """
    if depth > MAX_NESTING:
        raise _InvalidValue(f"nested more than {MAX_NESTING} levels deep")
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, JsonNumber):
        return {"N": _checked_number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {name: _from_json(member, depth + 1) for name, member in value.items()}}
    return {"L": [_from_json(element, depth + 1) for element in value]}


# How each typed-JSON format writes the type of an AttributeValue, in _KIND_NAMES order.
# data-pipeline-json is the item format of the emr-dynamodb-connector (awslabs/emr-dynamodb-connector),
# which AWS Data Pipeline's "Export DynamoDB table to S3" ran: ExportRecordWriter writes one
# DynamoDBItemWritable.writeStream() per line, Gson's JSON of the item's AttributeValues, B and BS as
# base64 (DynamoDBUtil's ByteBuffer/SdkBytes serializers), N and NS as JSON strings. Up to connector 4.x
# Gson serialized the fields of SDK v1's AttributeValue by reflection: s, n, b, sS, nS, bS, m, l, bOOL,
# and nULLValue (nULL in older v1 SDKs, e.g. 2015's); since 5.0 (commit 1dec9d1, SDK v2) AttributeValueSerializer
# writes each type as toV1FieldCasingStyle("NULL") and so on: s, n, b, sS, nS, bS, m, l, bOOL, nULL.
_TYPE_NAMES = {
    "dynamodb-json": {descriptor: descriptor for descriptor in _KIND_NAMES},
    "data-pipeline-json": {
        "s": "S",
        "n": "N",
        "bOOL": "BOOL",
        "nULL": "NULL",
        "nULLValue": "NULL",
        "m": "M",
        "l": "L",
        "b": "B",
        "sS": "SS",
        "nS": "NS",
        "bS": "BS",
    },
}
_OTHER_TYPED_FORMAT = {"dynamodb-json": "data-pipeline-json", "data-pipeline-json": "dynamodb-json"}


def _typed_json_values(text: str, plan: LookupPlan) -> dict[str, dict | _Invalid] | Rejection:
    names = _TYPE_NAMES[plan.format]
    document = _parse_json(text)
    if isinstance(document, Rejection):
        if plan.format == "data-pipeline-json" and "\x03" in text and not text.startswith("{"):
            reason = (
                "the line holds name^C{value} pairs separated by ^B (the Hive-based Data Pipeline export); "
                "data-pipeline-json reads one JSON object per line"
            )
            return Rejection("wrong-format", reason)
        return document
    if not isinstance(document, dict):
        return Rejection("not-an-object", f"not a JSON object: the line holds {_json_kind(document)}")
    item = document
    # DynamoDB's S3 export wraps each item in {"Item": ...}; a bare item is accepted too. A lone
    # "Item" member is the wrapper unless the partition key itself is called Item.
    wrapped = list(document) == ["Item"] and plan.partition.name != "Item"
    if wrapped and plan.format == "dynamodb-json":
        item = document["Item"]
        if not isinstance(item, dict):
            return Rejection("not-an-object", f"the Item member is {_json_kind(item)}, not an object of attributes")
    # A line of the other typed format (its items in the export's wrapper too) is told apart as a whole.
    other = _OTHER_TYPED_FORMAT[plan.format]
    attributes = document["Item"] if wrapped and isinstance(document["Item"], dict) else item
    for name, value in attributes.items():
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPE_NAMES[other]:
            reason = (
                f'the line looks like {other}: attribute {name} has the type "{next(iter(value))}"; '
                f"{plan.format} writes types as {', '.join(names)}"
            )
            return Rejection("wrong-format", reason)
    convert = partial(_from_typed_json, names=names)
    return {name: _attribute(convert, value) for name, value in item.items()}


def _from_typed_json(value: object, depth: int, names: Mapping[str, str]) -> dict:
    """Checks one AttributeValue written with `names` (dynamodb-json's or data-pipeline-json's type
    names) and returns it as the client sends it (B as bytes, N normalized); reasons name the type
    as the line writes it."""
    if depth > MAX_NESTING:
        raise _InvalidValue(f"nested more than {MAX_NESTING} levels deep")
    if not (isinstance(value, dict) and len(value) == 1 and next(iter(value)) in names):
        shown = short(json.dumps(value, ensure_ascii=False, default=str))
        raise _InvalidValue(f"{shown} is not an attribute value (an object with one of {', '.join(names)})")
    ((written, content),) = value.items()
    descriptor = names[written]
    if descriptor in ("S", "N", "B") and json_kind(content) != "string":  # a JsonNumber is a str too
        raise _InvalidValue(f"the {written} value must be a JSON string, got {_json_kind(content)}")
    if descriptor == "S":
        return {"S": content}
    if descriptor == "N":
        return {"N": _checked_number(content)}
    if descriptor == "B":
        return {"B": _base64(content)}
    if descriptor == "BOOL":
        if not isinstance(content, bool):
            raise _InvalidValue(f"the {written} value must be true or false, got {_json_kind(content)}")
        return {"BOOL": content}
    if descriptor == "NULL":
        if content is not True:
            raise _InvalidValue(f"the {written} value must be true")
        return {"NULL": True}
    if descriptor == "M":
        if not isinstance(content, dict):
            raise _InvalidValue(f"the {written} value must be a JSON object, got {_json_kind(content)}")
        return {"M": {name: _from_typed_json(member, depth + 1, names) for name, member in content.items()}}
    if not isinstance(content, list):
        raise _InvalidValue(f"the {written} value must be a JSON array, got {_json_kind(content)}")
    if descriptor == "L":
        return {"L": [_from_typed_json(element, depth + 1, names) for element in content]}
    if not content:
        raise _InvalidValue(f"the {written} set is empty; DynamoDB sets hold at least one element")
    if not all(json_kind(element) == "string" for element in content):
        raise _InvalidValue(f"the {written} set must hold JSON strings")
    members = {"SS": lambda text: text, "NS": _checked_number, "BS": _base64}[descriptor]
    elements = [members(element) for element in content]
    if len(set(elements)) != len(elements):
        raise _InvalidValue(f"the {written} set holds an element twice")
    return {descriptor: elements}


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise _InvalidValue(f"{short(text)} is not base64: {error}") from error


def _csv_values(text: str, plan: LookupPlan, header: Sequence[str]) -> dict[str, dict | _Invalid] | Rejection:
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as error:
        return Rejection("invalid-csv", f"invalid CSV: {error}")
    row = rows[0] if rows else []
    if len(row) != len(header):
        return Rejection("wrong-cell-count", f"expected {len(header)} cells, as in the header; got {len(row)}")
    types = plan.column_types
    return {name: _csv_value(cell, types.get(name)) for name, cell in zip(header, row, strict=True) if cell != ""}


_CSV_BOOLEANS = {"true": True, "false": False}
_UNLOAD_BOOLEANS = {"t": True, "f": False, **_CSV_BOOLEANS}  # Redshift outputs a BOOLEAN as t or f


def _csv_value(cell: str, declared: str | None, booleans: Mapping[str, bool] = _CSV_BOOLEANS) -> dict | _Invalid:
    """A cell by its declared type; a cell that does not read as that type stays a string, which the checks reject."""
    if declared == "number" and _NUMBER_TEXT.match(cell):
        try:
            return {"N": dynamodb_number(cell)}
        except ValueError as error:
            return _Invalid(str(error))
    if declared == "boolean" and cell.lower() in booleans:
        return {"BOOL": booleans[cell.lower()]}
    return {"S": cell}  # undeclared columns are kept as the text they hold


def _unload_values(text: str, plan: LookupPlan) -> dict[str, dict | _Invalid] | Rejection:
    r"""A Redshift UNLOAD record: cells in unload-column order, typed like CSV cells (a BOOLEAN's t and f too).

    A cell whose text, as written, equals NULL AS is a null: a key or required attribute is then
    missing, an optional or undeclared one is left out of the item. UNLOAD's default NULL AS is the
    empty string, so with it an empty string and a null cannot be told apart: both are null. With
    ESCAPE the cell is compared as written, before unescaping: with NULL AS '\N' the cell \N is a
    null and the cell \\N the text \N.
    """
    unload = plan.unload
    cells = _unload_cells(text, unload.delimiter, unload.escape)
    if len(cells) != len(unload.columns):
        return Rejection("wrong-cell-count", f"expected {len(unload.columns)} cells (the unload columns); got {len(cells)}")
    types = plan.column_types
    values: dict[str, dict | _Invalid] = {}
    for name, (start, written) in zip(unload.columns, cells, strict=True):
        if written == unload.null_as:
            if name in types:
                values[name] = _NULL  # so the checks say "(null)"; an optional declared attribute is left out
            continue
        cell = _unescaped(written, start, unload.delimiter, name) if unload.escape else written
        if isinstance(cell, Rejection):
            return cell
        values[name] = _csv_value(cell, types.get(name), _UNLOAD_BOOLEANS)
    return values


def _unload_cells(text: str, delimiter: str, escape: bool) -> list[tuple[int, str]]:
    """(start, cell as written) for each cell of an UNLOAD record; with ESCAPE a delimiter after an escaping backslash is data."""
    if not (escape and "\\" in text):
        parts = text.split(delimiter)
        return list(zip(accumulate((len(part) + 1 for part in parts[:-1]), initial=0), parts, strict=True))
    cells: list[tuple[int, str]] = []
    start = index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == delimiter:
            cells.append((start, text[start:index]))
            start = index + 1
        index += 1
    cells.append((start, text[start:]))
    return cells


_UNLOAD_ESCAPED = "\\\n\r\"'"  # and the delimiter; quotes are escaped only with ADDQUOTES, but never ambiguous


def _unescaped(cell: str, start: int, delimiter: str, column: str) -> str | Rejection:
    """The data of a cell UNLOAD wrote with ESCAPE.

    With ESCAPE, UNLOAD puts a backslash before every linefeed, carriage return, delimiter and
    backslash in CHAR and VARCHAR data, and before every quotation mark (" or ') when ADDQUOTES is
    also given. So a backslash is always followed by one of those characters, which is the data.
    """
    if "\\" not in cell:
        return cell
    data: list[str] = []
    index = 0
    while index < len(cell):
        if cell[index] != "\\":
            data.append(cell[index])
            index += 1
            continue
        where = f"column {column}: the backslash at character {start + index + 1}"
        if index + 1 == len(cell):
            return Rejection("invalid-text", f"{where} ends the record and escapes nothing")
        escaped = cell[index + 1]
        if escaped != delimiter and escaped not in _UNLOAD_ESCAPED:
            reason = f"{where} escapes {escaped!r}; ESCAPE puts a backslash only before the delimiter, a backslash, a quote, CR or LF"
            return Rejection("invalid-text", reason)
        data.append(escaped)
        index += 2
    return "".join(data)


def join_escaped_lines(lines: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """The records of an UNLOAD ... ESCAPE text from its (line number, line without LF) in order.

    A line that ends in an odd number of backslashes ends in an escaped LF: the record goes on in
    the next line. Each record is yielded with the number of its first line and its escaped LFs
    kept as backslash + LF, which its parser unescapes. A record still open at the end of the
    input is yielded as it is; its parser rejects the backslash that ends it.
    """
    first: int | None = None
    pieces: list[bytes] = []
    for number, line in lines:
        if first is None:
            first = number
        pieces.append(line)
        if (len(line) - len(line.rstrip(b"\\"))) % 2 == 1:
            pieces.append(b"\n")
            continue
        yield first, b"".join(pieces)
        first, pieces = None, []
    if first is not None:
        yield first, b"".join(pieces[:-1])  # without the LF that never came


def _key_line_values(text: str, plan: LookupPlan) -> dict[str, dict | _Invalid]:
    """A keys line: the partition key exactly as written (no trimming); a number key as DynamoDB holds it."""
    key = plan.partition
    if key.type == "string":
        return {key.name: {"S": text}}
    if text == "":
        return {}
    try:
        return {key.name: {"N": dynamodb_number(text)}}
    except ValueError as error:
        return {key.name: _Invalid(str(error))}


def _item_bytes(item: Mapping[str, dict]) -> int:
    try:
        return item_size(item)
    except ItemValueError:
        # item_size knows no sets; sized as lists they come out a few bytes larger than DynamoDB counts,
        # so an item near the limit is rejected here rather than refused by DynamoDB.
        return item_size({name: _sets_as_lists(value) for name, value in item.items()})


def _sets_as_lists(value: dict) -> dict:
    descriptor = _descriptor(value)
    if descriptor in ("SS", "NS", "BS"):
        return {"L": [{descriptor[0]: element} for element in value[descriptor]]}
    if descriptor == "M":
        return {"M": {name: _sets_as_lists(member) for name, member in value["M"].items()}}
    if descriptor == "L":
        return {"L": [_sets_as_lists(element) for element in value["L"]]}
    return value


def key_of(item: Mapping[str, dict], key_names: Sequence[str]) -> tuple[str, ...]:
    """The key of an item (or a Key map) as parse_line gives it: the S or normalized N text of each key attribute."""
    return tuple(next(iter(item[name].values())) for name in key_names)


def parse_csv_header(text: str) -> tuple[str, ...]:
    """The column names of a CSV export's first line (a UTF-8 byte order mark is dropped)."""
    return tuple(next(csv.reader([text.removeprefix("\ufeff")], strict=True), []))


def header_problems(header: Sequence[str], plan: LookupPlan) -> list[str]:
    """Why a CSV header cannot be loaded with the plan (every reason), or nothing."""
    problems = [f"column {name!r} appears more than once" for name in sorted({name for name in header if header.count(name) > 1})]
    problems += [f"key column {key.name!r} is missing" for key in plan.keys if key.name not in header]
    required = [attribute.name for attribute in plan.attributes if attribute.required]
    problems += [f"required column {name!r} is missing" for name in required if name not in header]
    if "" in header:
        problems.append("a column has no name")
    return problems
