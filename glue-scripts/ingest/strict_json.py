"""Strict JSON for lines a person must be told about: RFC 8259 only, numbers kept as their exact text.

Python's `json` accepts NaN and Infinity and turns numbers into floats; the stream export and the
lookup loader must refuse the former and never lose a digit, and both name the JSON kind of a
value in their reasons.
"""

from __future__ import annotations

import json


class JsonNumber(str):
    """A JSON number kept as its token text, so 1.50 and 12345678901234567890 are never rounded."""


class InvalidJson(ValueError):
    """A line that is not JSON; the message reads `invalid JSON: <why>`."""


def _reject_constant(name: str) -> None:
    raise InvalidJson(f"invalid JSON: {name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_int=JsonNumber, parse_float=JsonNumber, parse_constant=_reject_constant)


def parse_strict(text: str) -> object:
    """The JSON value of `text`; raises InvalidJson with the reason and, for syntax errors, the column."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise InvalidJson(f"invalid JSON: {error.msg} at column {error.colno}") from error
    except RecursionError as error:
        raise InvalidJson("invalid JSON: nested too deeply") from error


def json_kind(value: object) -> str:
    """boolean, number, string, object, array or null."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, JsonNumber):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"
