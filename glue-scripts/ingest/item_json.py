"""Items in DynamoDB's JSON, and their sizes, computed by Spark expressions (no Python per item).

`dynamodb_items(items, keys)` turns the assembled items (one row per item, nested structs and
arrays) into one row per item with the item as DynamoDB AttributeValue JSON, its size by
DynamoDB's published rules, and, when DynamoDB could not store it, why. The writer only parses
the JSON and sends it. The rules are those of `dynamodb_writer.to_item` and `item_size`, which
the tests check against these expressions value by value:

- strings `S` (empty allowed outside keys), numbers `N` as decimal text without exponent or
  trailing zeros (doubles keep Java's shortest text, which DynamoDB reads the same), booleans
  `BOOL`, dates `S` as yyyy-MM-dd, timestamps `S` as ISO 8601 in UTC with microseconds when
  there are any, structs `M`, arrays `L` (a null element is `NULL`), null attributes left out;
- size: attribute names plus values; `S` its UTF-8 bytes, `N` half its significant digits
  rounded up plus one, `BOOL`/`NULL` 1, `L` 3 plus 1 and the size of each element, `M` 3 plus
  1, the name and the size of each member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingest.dynamodb_writer import ITEM_BYTES, ITEM_JSON, ITEM_KEY, ITEM_PROBLEM


@dataclass(frozen=True)
class _Encoded:
    """One value as an AttributeValue member (`S`, `N`, `BOOL`, `M` or `L`) with its size."""

    member: str
    content: Column  # the member's value; null when the value is null
    size: Column  # the value's size in bytes, when it is not null
    present: Column  # whether the value is not null
    # Whether the value holds a NaN or infinite number anywhere, which DynamoDB cannot store; None for types that cannot.
    unstorable: Column | None = None

    def in_map(self) -> Column:
        """The AttributeValue of a map member or attribute: null (left out of the JSON) when the value is null."""
        return F.when(self.present, F.struct(self.content.alias(self.member), F.lit(None).cast("boolean").alias("NULL")))

    def in_list(self) -> Column:
        """The AttributeValue of a list element: `{"NULL": true}` when the value is null."""
        return F.struct(F.when(self.present, self.content).alias(self.member), F.when(~self.present, F.lit(True)).alias("NULL"))


def dynamodb_items(items: DataFrame, keys: Sequence[str], carried: Sequence[str] = ()) -> DataFrame:
    """One row per item: key text, item JSON, item bytes and a problem (null when DynamoDB can store it).

    `carried` columns are passed through untouched (e.g. a marker the writer reads).
    """
    fields = [field for field in items.schema.fields if field.name not in carried]
    encoded = {field.name: _encode(F.col(f"`{field.name}`"), field.dataType) for field in fields}
    item = F.struct(*[value.in_map().alias(name) for name, value in encoded.items()])
    size = _sum([F.when(value.present, F.lit(_utf8_length(name)) + value.size).otherwise(0) for name, value in encoded.items()])
    problem = F.lit(None).cast("string")
    for name, value in reversed(encoded.items()):
        if value.unstorable is not None:
            problem = F.when(F.coalesce(value.unstorable, F.lit(False)), F.lit(f"{name} holds a NaN or infinite number")).otherwise(problem)
    for key in reversed(keys):
        text = F.col(f"`{key}`").cast("string")
        problem = F.when(text.isNull() | (text == F.lit("")), F.lit(f"key attribute {key!r} is missing or empty")).otherwise(problem)
    key_text = F.concat_ws(
        ", ", *[F.concat(F.lit(f"{key}="), _key_value_text(F.col(f"`{key}`"), items.schema[key].dataType)) for key in keys]
    )
    return items.select(
        key_text.alias(ITEM_KEY),
        F.to_json(item).alias(ITEM_JSON),
        size.alias(ITEM_BYTES),
        problem.alias(ITEM_PROBLEM),
        *[F.col(f"`{name}`") for name in carried],
    )


def _encode(value: Column, kind: T.DataType) -> _Encoded:
    present = value.isNotNull()
    if isinstance(kind, T.StringType):
        return _Encoded("S", value, F.octet_length(value), present)
    if isinstance(kind, T.BooleanType):
        return _Encoded("BOOL", value, F.lit(1), present)
    if isinstance(kind, T.FloatType | T.DoubleType):
        text = _number_text(value, kind)
        unstorable = F.isnan(value) | (F.abs(value) == F.lit(float("inf")))
        return _Encoded("N", text, _number_size(text), present, unstorable)
    if isinstance(kind, T.ByteType | T.ShortType | T.IntegerType | T.LongType | T.DecimalType):
        text = _number_text(value, kind)
        return _Encoded("N", text, _number_size(text), present)
    if isinstance(kind, T.DateType):
        text = F.date_format(value, "yyyy-MM-dd")
        return _Encoded("S", text, F.octet_length(text), present)
    if isinstance(kind, T.TimestampType | T.TimestampNTZType):
        micros = F.unix_micros(value.cast("timestamp")) % 1_000_000
        text = F.concat(
            F.date_format(value, "yyyy-MM-dd'T'HH:mm:ss"),
            F.when(micros != 0, F.concat(F.lit("."), F.lpad(micros.cast("string"), 6, "0"))).otherwise(F.lit("")),
            F.lit("Z"),
        )
        return _Encoded("S", text, F.octet_length(text), present)
    if isinstance(kind, T.StructType):
        members = {field.name: _encode(value[field.name], field.dataType) for field in kind.fields}
        content = F.struct(*[member.in_map().alias(name) for name, member in members.items()])
        size = F.lit(3) + _sum(
            [F.when(member.present, F.lit(1 + _utf8_length(name)) + member.size).otherwise(0) for name, member in members.items()]
        )
        return _Encoded("M", content, size, present, _any([member.unstorable for member in members.values()]))
    if isinstance(kind, T.ArrayType):
        element_kind = kind.elementType
        content = F.transform(value, lambda element: _encode(element, element_kind).in_list())
        sizes = F.transform(value, lambda element: _element_size(_encode(element, element_kind)))
        size = F.lit(3) + F.aggregate(sizes, F.lit(0).cast("long"), lambda total, element: total + element)
        unstorable = None
        if _holds_floating_point(element_kind):
            unstorable = F.exists(value, lambda element: F.coalesce(_encode(element, element_kind).unstorable, F.lit(False)))
        return _Encoded("L", content, size, present, unstorable)
    raise ValueError(f"values of type {kind.simpleString()} cannot be stored in DynamoDB")


def _holds_floating_point(kind: T.DataType) -> bool:
    """Whether values of this type can hold a NaN or an infinity."""
    if isinstance(kind, T.FloatType | T.DoubleType):
        return True
    if isinstance(kind, T.StructType):
        return any(_holds_floating_point(field.dataType) for field in kind.fields)
    if isinstance(kind, T.ArrayType):
        return _holds_floating_point(kind.elementType)
    return False


def _any(flags: list[Column | None]) -> Column | None:
    """Whether any of the flags holds; None when no flag can."""
    present = [F.coalesce(flag, F.lit(False)) for flag in flags if flag is not None]
    if not present:
        return None
    result = present[0]
    for flag in present[1:]:
        result = result | flag
    return result


def _key_value_text(value: Column, kind: T.DataType) -> Column:
    """A key's value as the writer names it in failures: strings quoted, numbers bare, a missing one None."""
    text = value.cast("string")
    if isinstance(kind, T.StringType):
        text = F.concat(F.lit("'"), text, F.lit("'"))
    return F.coalesce(text, F.lit("None"))


def _element_size(encoded: _Encoded) -> Column:
    """A list element's share of the list's size: 1, and its value's size (a NULL is 1)."""
    return (F.lit(1) + F.when(encoded.present, encoded.size).otherwise(1)).cast("long")


def _number_text(value: Column, kind: T.DataType) -> Column:
    text = value.cast("string")
    if isinstance(kind, T.DecimalType) and kind.scale > 0:
        # 12.50 -> 12.5, 10.00 -> 10, as DynamoDB would store them (and as Python's Decimal.normalize writes them).
        text = F.regexp_replace(F.regexp_replace(text, r"(\.[0-9]*?)0+$", "$1"), r"\.$", "")
    return F.when(text.rlike(r"^-0(\.0*)?$"), F.lit("0")).otherwise(text)


def _number_size(text: Column) -> Column:
    mantissa = F.regexp_replace(F.regexp_replace(text, r"[eE].*$", ""), r"[-.]", "")
    significant = F.regexp_replace(F.regexp_replace(mantissa, r"^0+", ""), r"0+$", "")
    digits = F.greatest(F.length(significant), F.lit(1))
    return F.ceil(digits / F.lit(2)).cast("int") + F.lit(1)


def _utf8_length(name: str) -> int:
    return len(name.encode("utf-8"))


def _sum(columns: list[Column]) -> Column:
    total = F.lit(0).cast("long")
    for column in columns:
        total = total + column
    return total
