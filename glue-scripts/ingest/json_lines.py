"""Delivered objects as numbered JSON records: the executor side of the stream export, plain Python.

Spark's JSON reader loses line numbers and reads leniently (single quotes, NaN, a string "12" for
a decimal), and the export must name the line and the field of every rejected record. So one task reads one delivered object whole, gunzips it, splits it
on "\\n" and parses each line with `ingest.strict_json`. Each declared field goes to Spark as its
JSON kind and its text, and Spark types the text with the rules the CSV typed read uses.

An object is all or nothing: if it cannot be read or decompressed it yields a single row with the
error and no records, so a broken object never has half its records exported.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator, Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ingest.strict_json import InvalidJson, json_kind, parse_strict

# A row of the lines frame: (object index, delivered key, line, record, read error, parse error, fields).
# `fields` holds one (JSON kind, text) pair per declared field, None for an absent or null value.
FieldValue = tuple[str, str | None] | None
LineRow = tuple[int, str, int | None, str | None, str | None, str | None, tuple[FieldValue, ...] | None]


def _field_value(value: object) -> FieldValue:
    kind = json_kind(value)
    if kind == "null":
        return None
    if kind == "boolean":
        return kind, "true" if value else "false"
    if kind in ("number", "string"):
        return kind, str(value)
    return kind, None  # objects and arrays are never a declared field's value; only their kind is reported


def parse_record(text: str, field_names: Sequence[str]) -> tuple[str | None, tuple[FieldValue, ...] | None]:
    """(reason, None) for a line that is not a JSON object, else (None, the declared fields' kinds and texts)."""
    try:
        document = parse_strict(text)
    except InvalidJson as error:
        return str(error), None
    if not isinstance(document, dict):
        return f"not a JSON object: the line holds a JSON {json_kind(document)}", None
    return None, tuple(_field_value(document.get(name)) for name in field_names)


class UnreadableObject(Exception):
    """A delivered object that cannot be read or decompressed; it stays pending."""


def decompress(key: str, body: bytes) -> bytes:
    """The object's bytes, gunzipped when its key ends in .gz; raises UnreadableObject."""
    if not key.endswith(".gz"):
        return body
    try:
        return gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as error:
        raise UnreadableObject(f"not a readable GZIP object: {error}") from error


def object_rows(index: int, key: str, data: bytes, field_names: Sequence[str]) -> Iterator[LineRow]:
    """One row per non-blank line of a decompressed object, numbered from 1 over every line (blank ones included)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the terminator of the last record, not an empty line after it
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield index, key, number, raw.decode("utf-8", "backslashreplace"), None, "invalid JSON: not valid UTF-8", None
            continue
        reason, fields = parse_record(text, field_names)
        yield index, key, number, text, None, reason, fields


def unreadable_row(index: int, key: str, error: str) -> LineRow:
    return index, key, None, None, error, None, None


def read_objects(
    objects: Iterable[tuple[int, str]], bucket: str, field_names: Sequence[str], endpoint_url: str | None, region: str | None
) -> Iterator[LineRow]:
    """Runs on an executor: reads each (index, key) with its own S3 client and yields its rows."""
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
    for index, key in objects:
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            data = decompress(key, body)
        except (BotoCoreError, ClientError) as error:
            yield unreadable_row(index, key, f"cannot read the object: {error}")
            continue
        except UnreadableObject as error:
            yield unreadable_row(index, key, str(error))
            continue
        yield from object_rows(index, key, data, field_names)
