"""The lookup plan: the JSON the Pulumi program builds from config/lookups/<lookup>.yaml, checked before a load.

Its shape is contracts/lookup-plan.ts; tests-py/test_contracts.py holds this parser, and the names and
limits below, to the JSON Schema generated from it (contracts/lookup_plan.schema.json).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ingest.dynamodb_writer import DYNAMODB_ITEM_LIMIT

FORMATS = ("jsonl", "dynamodb-json", "data-pipeline-json", "redshift-text", "csv", "keys")
ATTRIBUTE_TYPES = {"string": "S", "number": "N", "boolean": "BOOL"}
KEY_TYPES = ("string", "number")
GENERATION_ATTRIBUTE = "load_generation"
_LOOKUP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_MARKER_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")


class LookupPlanError(ValueError):
    """The lookup plan is not usable; the message lists every problem."""


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: str  # one of KEY_TYPES

    @property
    def descriptor(self) -> str:
        return ATTRIBUTE_TYPES[self.type]


@dataclass(frozen=True)
class DeclaredAttribute:
    name: str
    type: str  # one of ATTRIBUTE_TYPES
    required: bool

    @property
    def descriptor(self) -> str:
        return ATTRIBUTE_TYPES[self.type]


@dataclass(frozen=True)
class UnloadSettings:
    """How a Redshift UNLOAD wrote its text (redshift-text): the columns in order, no header."""

    columns: tuple[str, ...]
    delimiter: str  # one character (DELIMITER AS)
    escape: bool  # UNLOAD ran with ESCAPE: a backslash precedes every delimiter, backslash, quote and line break in data
    null_as: str  # the text of a null (NULL AS; empty unless set)


@dataclass(frozen=True)
class LookupPlan:
    lookup: str
    partition: KeyAttribute
    sort: KeyAttribute | None
    attributes: tuple[DeclaredAttribute, ...]
    format: str  # one of FORMATS
    ttl_attribute: str | None
    ttl_days: int | None
    max_item_bytes: int
    full_refresh: bool
    markers: tuple[str, ...]  # object names that complete an export folder
    unload: UnloadSettings | None  # redshift-text only

    @functools.cached_property
    def keys(self) -> tuple[KeyAttribute, ...]:
        return (self.partition,) if self.sort is None else (self.partition, self.sort)

    @functools.cached_property
    def key_names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    @functools.cached_property
    def declared_names(self) -> frozenset[str]:
        return frozenset(attribute.name for attribute in self.attributes)

    @functools.cached_property
    def column_types(self) -> dict[str, str]:
        """The declared type of each key and attribute name (CSV cells are read by it)."""
        return {key.name: key.type for key in self.keys} | {attribute.name: attribute.type for attribute in self.attributes}


_PLAN_FIELDS = ("lookup", "key", "attributes", "format", "ttl", "maxItemBytes", "fullRefresh", "markers", "unload")


def parse_lookup_plan(document: object) -> LookupPlan:
    """Validates the lookup plan JSON; raises LookupPlanError listing every problem."""
    if not isinstance(document, dict):
        raise LookupPlanError("the lookup plan must be a JSON object")
    problems = [f"{name}: unknown field" for name in document if name not in _PLAN_FIELDS]
    problems += [f"{name}: missing" for name in _PLAN_FIELDS if name not in document]
    lookup = document.get("lookup")
    if "lookup" in document and not (isinstance(lookup, str) and _LOOKUP_NAME.match(lookup)):
        problems.append(f"lookup: {lookup!r} is not lower-kebab-case (a letter, then letters, digits or -, at most 31)")
    key = document.get("key")
    partition = sort = None
    if "key" in document and not (isinstance(key, dict) and set(key) == {"partition", "sort"}):
        problems.append("key: must be an object with partition and sort (null without a sort key)")
    elif isinstance(key, dict):
        partition = _key_attribute("key.partition", key["partition"], problems)
        if key["sort"] is not None:
            sort = _key_attribute("key.sort", key["sort"], problems)
    key_names = [attribute.name for attribute in (partition, sort) if attribute]
    if len(key_names) == 2 and key_names[0] == key_names[1]:
        problems.append(f"key.sort.attribute: {key_names[1]!r} is already the partition key")
    attributes: list[DeclaredAttribute] = []
    raw_attributes = document.get("attributes")
    if "attributes" in document and not isinstance(raw_attributes, list):
        problems.append("attributes: must be a list")
    for index, raw in enumerate(raw_attributes if isinstance(raw_attributes, list) else []):
        attribute = _declared_attribute(f"attributes[{index}]", raw, problems)
        if attribute is None:
            continue
        if attribute.name in key_names:
            problems.append(f"attributes[{index}].name: {attribute.name!r} is a key attribute (keys are always required)")
        elif any(earlier.name == attribute.name for earlier in attributes):
            problems.append(f"attributes[{index}].name: {attribute.name!r} is declared twice")
        elif attribute.name == GENERATION_ATTRIBUTE:
            problems.append(f"attributes[{index}].name: {GENERATION_ATTRIBUTE!r} is the attribute the loader sets on a full refresh")
        else:
            attributes.append(attribute)
    export_format = document.get("format")
    if "format" in document and export_format not in FORMATS:
        problems.append(f"format: {export_format!r} is not one of {', '.join(FORMATS)}")
    ttl = document.get("ttl")
    ttl_attribute = ttl_days = None
    if ttl is not None:
        if not (isinstance(ttl, dict) and set(ttl) == {"attribute", "days"}):
            problems.append("ttl: must be null or an object with attribute and days")
        elif not (isinstance(ttl["attribute"], str) and ttl["attribute"]):
            problems.append("ttl.attribute: must be a non-empty string")
        elif not (_is_int(ttl["days"]) and ttl["days"] >= 1):
            problems.append(f"ttl.days: {ttl['days']!r} is not a whole number of days >= 1")
        elif ttl["attribute"] in [*key_names, *(attribute.name for attribute in attributes), GENERATION_ATTRIBUTE]:
            problems.append(f"ttl.attribute: {ttl['attribute']!r} is already a key or declared attribute, set by the loader itself")
        else:
            ttl_attribute, ttl_days = ttl["attribute"], ttl["days"]
    if GENERATION_ATTRIBUTE in key_names:
        problems.append(f"key: {GENERATION_ATTRIBUTE!r} is the attribute the loader sets on a full refresh")
    max_item_bytes = document.get("maxItemBytes")
    if "maxItemBytes" in document and not (_is_int(max_item_bytes) and 1 <= max_item_bytes <= DYNAMODB_ITEM_LIMIT):
        problems.append(f"maxItemBytes: {max_item_bytes!r} is not a whole number from 1 to {DYNAMODB_ITEM_LIMIT}")
    full_refresh = document.get("fullRefresh")
    if "fullRefresh" in document and not isinstance(full_refresh, bool):
        problems.append(f"fullRefresh: {full_refresh!r} is not true or false")
    markers = document.get("markers")
    if "markers" in document and not (
        isinstance(markers, list) and markers and all(isinstance(name, str) and _MARKER_NAME.match(name) for name in markers)
    ):
        problems.append(f"markers: {markers!r} is not a non-empty list of object names (letters, digits, _ . -)")
    unload = (
        _unload_settings(
            document.get("unload"),
            export_format,
            [*key_names, *(attribute.name for attribute in attributes if attribute.required)],
            problems,
        )
        if "unload" in document
        else None
    )
    if export_format == "keys" and (sort is not None or any(attribute.required for attribute in attributes)):
        problems.append("format: a keys export holds only the partition key; the plan has a sort key or required attributes")
    if problems:
        raise LookupPlanError("; ".join(problems))
    return LookupPlan(
        lookup=lookup,
        partition=partition,
        sort=sort,
        attributes=tuple(attributes),
        format=export_format,
        ttl_attribute=ttl_attribute,
        ttl_days=ttl_days,
        max_item_bytes=max_item_bytes,
        full_refresh=full_refresh,
        markers=tuple(markers),
        unload=unload,
    )


def _unload_settings(raw: object, export_format: object, needed: list[str], problems: list[str]) -> UnloadSettings | None:
    if export_format != "redshift-text":
        if raw is not None:
            problems.append(f"unload: only a redshift-text export has unload settings (the format is {export_format!r})")
        return None
    if not (isinstance(raw, dict) and set(raw) == {"columns", "delimiter", "escape", "nullAs"}):
        problems.append("unload: a redshift-text export needs an object with columns, delimiter, escape and nullAs")
        return None
    columns, delimiter = raw["columns"], raw["delimiter"]
    if not (isinstance(columns, list) and columns and all(isinstance(name, str) and name for name in columns)):
        problems.append(f"unload.columns: {columns!r} is not a non-empty list of column names")
        return None
    if len(set(columns)) != len(columns):
        problems.append(f"unload.columns: {sorted({name for name in columns if columns.count(name) > 1})} appear more than once")
    problems += [f"unload.columns: key or required column {name!r} is missing" for name in needed if name not in columns]
    if not (isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in "\\\n\r"):
        problems.append(f"unload.delimiter: {delimiter!r} is not one character other than a backslash or line break")
    if not isinstance(raw["escape"], bool):
        problems.append(f"unload.escape: {raw['escape']!r} is not true or false")
    if not isinstance(raw["nullAs"], str):
        problems.append(f"unload.nullAs: {raw['nullAs']!r} is not a string")
    return UnloadSettings(tuple(columns), delimiter, raw["escape"], raw["nullAs"])


def _key_attribute(path: str, raw: object, problems: list[str]) -> KeyAttribute | None:
    if not (isinstance(raw, dict) and set(raw) == {"attribute", "type"}):
        problems.append(f"{path}: must be an object with attribute and type")
    elif not (isinstance(raw["attribute"], str) and raw["attribute"]):
        problems.append(f"{path}.attribute: must be a non-empty string")
    elif raw["type"] not in KEY_TYPES:
        # DynamoDB keys are strings, numbers or binary; a boolean cannot be a key.
        problems.append(f"{path}.type: {raw['type']!r} is not one of {', '.join(KEY_TYPES)}")
    else:
        return KeyAttribute(raw["attribute"], raw["type"])
    return None


def _declared_attribute(path: str, raw: object, problems: list[str]) -> DeclaredAttribute | None:
    if not (isinstance(raw, dict) and set(raw) == {"name", "type", "required"}):
        problems.append(f"{path}: must be an object with name, type and required")
    elif not (isinstance(raw["name"], str) and raw["name"]):
        problems.append(f"{path}.name: must be a non-empty string")
    elif raw["type"] not in ATTRIBUTE_TYPES:
        problems.append(f"{path}.type: {raw['type']!r} is not one of {', '.join(ATTRIBUTE_TYPES)}")
    elif not isinstance(raw["required"], bool):
        problems.append(f"{path}.required: {raw['required']!r} is not true or false")
    else:
        return DeclaredAttribute(raw["name"], raw["type"], raw["required"])
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
