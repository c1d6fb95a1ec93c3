"""Small DataFrames held in the JVM, for tests that build many of them.

`spark.createDataFrame` on a Python list goes through a Python RDD, so every query over it starts
Python workers; a VALUES relation is planned and run in the JVM alone, several times faster.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType, _parse_datatype_string


def local_frame(spark: SparkSession, rows: Sequence[Sequence | Mapping], schema: str | StructType) -> DataFrame:
    """A DataFrame of `rows` (tuples in schema order, or dicts by column name) with exactly `schema`."""
    struct = schema if isinstance(schema, StructType) else _parse_datatype_string(schema)
    names = [field.name for field in struct.fields]
    columns = ", ".join(f"CAST(c{index} AS {field.dataType.simpleString()}) AS `{field.name}`" for index, field in enumerate(struct.fields))
    if not rows:
        nulls = ", ".join(f"CAST(NULL AS {field.dataType.simpleString()}) AS `{field.name}`" for field in struct.fields)
        return spark.sql(f"SELECT {nulls} WHERE false")
    values = ", ".join(
        "(" + ", ".join(_literal(row[name] if isinstance(row, Mapping) else row[index]) for index, name in enumerate(names)) + ")"
        for row in rows
    )
    aliases = ", ".join(f"c{index}" for index in range(len(names)))
    return spark.sql(f"SELECT {columns} FROM VALUES {values} AS t({aliases})")


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        # NaN and the infinities have no literal; Spark reads them from these strings.
        return repr(value) if math.isfinite(value) else f"CAST('{value}' AS DOUBLE)"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
    if isinstance(value, list | tuple):
        return f"array({', '.join(_literal(element) for element in value)})"
    if isinstance(value, Mapping):
        return f"named_struct({', '.join(f'{_literal(name)}, {_literal(member)}' for name, member in value.items())})"
    raise TypeError(f"no SQL literal for {type(value).__name__}")
