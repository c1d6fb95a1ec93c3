"""Export lines, parsed and validated: each line is an item DynamoDB can hold, or a rejection with its exact reason.

Pure functions of the line and the plan; the loader's tasks call them on every line of their range.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import NamedTuple

from ingest.dynamodb_writer import ItemValueError, item_size
from ingest.lookup_plan import LookupPlan
from ingest.strict_json import InvalidJson, JsonNumber, json_kind, parse_strict

PARTITION_KEY_LIMIT = 2048  # bytes of a string partition key value
SORT_KEY_LIMIT = 1024
MAX_NESTING = 32
REJECTION_CODES = (
    "invalid-json",
    "not-an-object",
    "invalid-csv",
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
    elif plan.format == "dynamodb-json":
        values = _dynamodb_json_values(text, plan)
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


def _dynamodb_json_values(text: str, plan: LookupPlan) -> dict[str, dict | _Invalid] | Rejection:
    document = _parse_json(text)
    if isinstance(document, Rejection):
        return document
    if not isinstance(document, dict):
        return Rejection("not-an-object", f"not a JSON object: the line holds {_json_kind(document)}")
    item = document
    # DynamoDB's S3 export wraps each item in {"Item": ...}; a bare item is accepted too. A lone
    # "Item" member is the wrapper unless the partition key itself is called Item.
    if list(document) == ["Item"] and plan.partition.name != "Item":
        item = document["Item"]
        if not isinstance(item, dict):
            return Rejection("not-an-object", f"the Item member is {_json_kind(item)}, not an object of attributes")
    return {name: _attribute(_from_dynamodb_json, value) for name, value in item.items()}


def _from_dynamodb_json(value: object, depth: int) -> dict:
    """Checks one AttributeValue in DynamoDB JSON and returns it as the client sends it (B as bytes, N normalized)."""
    if depth > MAX_NESTING:
        raise _InvalidValue(f"nested more than {MAX_NESTING} levels deep")
    if not (isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _KIND_NAMES):
        shown = short(json.dumps(value, ensure_ascii=False, default=str))
        raise _InvalidValue(f"{shown} is not an attribute value (an object with one of {', '.join(_KIND_NAMES)})")
    ((descriptor, content),) = value.items()
    if descriptor in ("S", "N", "B") and not isinstance(content, str):
        raise _InvalidValue(f"the {descriptor} value must be a JSON string, got {_json_kind(content)}")
    if descriptor == "S":
        return {"S": content}
    if descriptor == "N":
        return {"N": _checked_number(content)}
    if descriptor == "B":
        return {"B": _base64(content)}
    if descriptor == "BOOL":
        if not isinstance(content, bool):
            raise _InvalidValue(f"the BOOL value must be true or false, got {_json_kind(content)}")
        return {"BOOL": content}
    if descriptor == "NULL":
        if content is not True:
            raise _InvalidValue("the NULL value must be true")
        return {"NULL": True}
    if descriptor == "M":
        if not isinstance(content, dict):
            raise _InvalidValue(f"the M value must be a JSON object, got {_json_kind(content)}")
        return {"M": {name: _from_dynamodb_json(member, depth + 1) for name, member in content.items()}}
    if not isinstance(content, list):
        raise _InvalidValue(f"the {descriptor} value must be a JSON array, got {_json_kind(content)}")
    if descriptor == "L":
        return {"L": [_from_dynamodb_json(element, depth + 1) for element in content]}
    if not content:
        raise _InvalidValue(f"the {descriptor} set is empty; DynamoDB sets hold at least one element")
    if not all(isinstance(element, str) for element in content):
        raise _InvalidValue(f"the {descriptor} set must hold JSON strings")
    members = {"SS": lambda text: text, "NS": _checked_number, "BS": _base64}[descriptor]
    elements = [members(element) for element in content]
    if len(set(elements)) != len(elements):
        raise _InvalidValue(f"the {descriptor} set holds an element twice")
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


def _csv_value(cell: str, declared: str | None) -> dict | _Invalid:
    """A cell by its declared type; a cell that does not read as that type stays a string, which the checks reject."""
    if declared == "number" and _NUMBER_TEXT.match(cell):
        try:
            return {"N": dynamodb_number(cell)}
        except ValueError as error:
            return _Invalid(str(error))
    if declared == "boolean" and cell.lower() in ("true", "false"):
        return {"BOOL": cell.lower() == "true"}
    return {"S": cell}  # undeclared columns are kept as the text they hold


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
