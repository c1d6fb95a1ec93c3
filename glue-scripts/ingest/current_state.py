"""What an extract changes in the current tables, computed before anything is written, then applied.

Every current row carries the key of the root whose item it belongs to, so items are rebuilt by
reading only their roots' rows. Keeping that key right is the work here, table by table, parents
first:

- A row of the extract that is newer than the lake's version of its key (the keys table says
  which) is an upsert; an older or equal one changes nothing (a late extract only fills what is
  older than it, a rerun changes nothing). A key deleted by a newer extract stays deleted.
- A row marked deleted by the table's operation column, or (for a full-snapshot table) a live key
  absent from the extract, is a delete.
- An upsert's root is its own key (root table) or its parent's root after this extract: from the
  parent's own change in this extract, or else from the parent's keys table; none means an orphan.
- When a parent's root changes (it moved, arrived after its children, or was deleted), every
  current child row under it follows (a reroot), and so on down the tree.

Each change records the root before and after it; both items are rebuilt. The change set is
written to the lake before the first table is touched (see lake_ledger), so a run that dies
half way is completed from exactly the same changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.assembly import ItemTree
from ingest.job_plan import PlanTable, RootColumn

CHANGE = "ingest_change"
UPSERT = "upsert"
DELETE = "delete"
REROOT = "reroot"
# A delete of a key the lake holds no live row of: only the keys table learns of it, so an older
# extract cannot bring the row back.
FORGET = "forget"

VERSION = "ingest_extract_version"
EXTRACT_ID = "ingest_extract_id"
EXTRACT_TIME = "ingest_extract_time"
DELETED = "ingest_deleted"
KNOWN_VERSION = "ingest_known_version"
KNOWN_DELETED = "ingest_known_deleted"
PREVIOUS_PREFIX = "ingest_previous_root_"


@dataclass(frozen=True)
class RootColumns:
    """The root key as every current row carries it: `ingest_root_<column>`, and as it was before a change."""

    names: tuple[str, ...]
    previous: tuple[str, ...]
    source: tuple[str, ...]
    types: tuple[str, ...]

    @classmethod
    def of(cls, columns: Sequence[RootColumn]) -> RootColumns:
        """From the plan's `lake.root_columns`."""
        return cls(
            names=tuple(column.name for column in columns),
            previous=tuple(f"{PREVIOUS_PREFIX}{column.column}" for column in columns),
            source=tuple(column.column for column in columns),
            types=tuple(column.type for column in columns),
        )

    @property
    def schema(self) -> str:
        """Spark DDL of a frame of root keys."""
        return ", ".join(f"`{name}` {kind}" for name, kind in zip(self.names, self.types, strict=True))

    def same(self) -> Column:
        """Whether a change keeps the row under the root it had (null-safe)."""
        condition = F.lit(True)
        for name, previous in zip(self.names, self.previous, strict=True):
            condition = condition & F.col(name).eqNullSafe(F.col(previous))
        return condition


@dataclass(frozen=True)
class ExtractMark:
    extract_id: str
    extract_version: int
    extract_time: str


def compute_changes(
    spark: SparkSession,
    tree: ItemTree,
    roots: RootColumns,
    incoming: Mapping[str, DataFrame],
    current: Callable[[str], DataFrame],
    keys: Callable[[str], DataFrame],
    extract: ExtractMark,
    keep: Callable[[str, DataFrame], DataFrame],
) -> dict[str, DataFrame]:
    """The change set of one extract, per table; `keep(table, frame)` writes a table's changes and returns them read back.

    `incoming` holds each table's accepted rows; `current` and `keys` give a table's current and
    keys tables as they are before the extract; `tree` says each table's key, parent and mode.
    """
    changes: dict[str, DataFrame] = {}
    for name in tree.tables():
        table = tree.table(name)
        primary_key = list(table.primary_key)
        # A full snapshot needs every key, to find those it leaves out.
        candidates = keys(name) if table.mode == "full" else narrowed(keys(name), primary_key[0], incoming[name].select(primary_key[0]))
        known = candidates.select(
            *primary_key,
            *[F.col(root).alias(previous) for root, previous in zip(roots.names, roots.previous, strict=True)],
            F.col(VERSION).alias(KNOWN_VERSION),
            F.col(DELETED).alias(KNOWN_DELETED),
        )
        rows = incoming[name].join(known, primary_key, "left")
        newer = F.col(KNOWN_VERSION).isNull() | (F.col(VERSION) > F.col(KNOWN_VERSION))
        marked_deleted = (
            # A null operation is not a delete.
            F.coalesce(F.col(table.deletes.column).isin(list(table.deletes.values)), F.lit(False))
            if table.deletes is not None
            else F.lit(False)
        )
        live_before = F.col(KNOWN_VERSION).isNotNull() & ~F.col(KNOWN_DELETED)
        upserts = rows.where(newer & ~marked_deleted)
        deletes = rows.where(newer & marked_deleted).select(
            *primary_key,
            *roots.previous,
            VERSION,
            EXTRACT_ID,
            EXTRACT_TIME,
            F.when(live_before, F.lit(DELETE)).otherwise(F.lit(FORGET)).alias(CHANGE),
        )
        if table.mode == "full":
            absent = (
                known.where(~F.col(KNOWN_DELETED) & (F.col(KNOWN_VERSION) < F.lit(extract.extract_version)))
                .join(incoming[name].select(*primary_key), primary_key, "left_anti")
                .select(
                    *primary_key,
                    *roots.previous,
                    F.lit(extract.extract_version).cast("bigint").alias(VERSION),
                    F.lit(extract.extract_id).alias(EXTRACT_ID),
                    F.to_timestamp(F.lit(extract.extract_time)).alias(EXTRACT_TIME),
                    F.lit(DELETE).alias(CHANGE),
                )
            )
            deletes = deletes.unionByName(absent)
        if table.parent is None:
            upserts = upserts.select("*", *[F.col(source).alias(root) for source, root in zip(roots.source, roots.names, strict=True)])
            reroots = None
        else:
            upserts = _with_parent_roots(upserts, incoming[name], table, tree, roots, changes, keys)
            reroots = _reroots(table, tree, roots, changes, current, upserts, deletes)
        change_rows = upserts.drop(KNOWN_VERSION, KNOWN_DELETED).withColumn(CHANGE, F.lit(UPSERT))
        change_rows = change_rows.unionByName(deletes, allowMissingColumns=True)
        if reroots is not None:
            change_rows = change_rows.unionByName(reroots, allowMissingColumns=True)
        changes[name] = keep(name, change_rows)
    return changes


def _parent_pairs(table: PlanTable) -> list[tuple[str, str]]:
    return [(pair.child, pair.parent) for pair in table.parent.on]


def _with_parent_roots(
    upserts: DataFrame, incoming: DataFrame, table: PlanTable, tree: ItemTree, roots: RootColumns, changes, keys
) -> DataFrame:
    """Each upsert with the root its parent has after this extract (null for an orphan)."""
    parent_name = table.parent.table
    parent_key = list(tree.table(parent_name).primary_key)
    pairs = _parent_pairs(table)
    parent_changes = changes[parent_name]
    changed = parent_changes.where(F.col(CHANGE) != F.lit(FORGET)).select(
        *parent_key,
        *[F.when(F.col(CHANGE) == F.lit(DELETE), F.lit(None)).otherwise(F.col(root)).alias(root) for root in roots.names],
    )
    # The extract's own rows name the parents (a superset of the upserts'), and are cheaper to read.
    wanted = incoming.select(F.col(pairs[0][0]).alias(pairs[0][1]))
    unchanged = (
        narrowed(keys(parent_name), pairs[0][1], wanted)
        .where(~F.col(DELETED))
        .join(parent_changes.select(*parent_key), parent_key, "left_anti")
        .select(*parent_key, *roots.names)
    )
    parent_roots = changed.unionByName(unchanged).select(
        *[F.col(parent).alias(f"ingest_parent_{parent}") for _, parent in pairs],
        *[F.col(root).alias(f"ingest_parent_{root}") for root in roots.names],
    )
    condition = [F.col(child) == F.col(f"ingest_parent_{parent}") for child, parent in pairs]
    joined = upserts.join(parent_roots, condition, "left")
    return joined.select(
        *upserts.columns,
        *[F.col(f"ingest_parent_{root}").alias(root) for root in roots.names],
    )


def _reroots(table: PlanTable, tree: ItemTree, roots: RootColumns, changes, current, upserts: DataFrame, deletes: DataFrame) -> DataFrame:
    """Current rows whose parent's root changes in this extract (and that the extract does not change itself)."""
    parent_name = table.parent.table
    pairs = _parent_pairs(table)
    primary_key = list(table.primary_key)
    moved = (
        changes[parent_name]
        .where((F.col(CHANGE) != F.lit(FORGET)) & ~roots.same())
        .select(
            *[F.col(parent).alias(f"ingest_parent_{parent}") for _, parent in pairs],
            *[F.col(previous).alias(f"ingest_parent_{previous}") for previous in roots.previous],
            *[
                F.when(F.col(CHANGE) == F.lit(DELETE), F.lit(None)).otherwise(F.col(root)).alias(f"ingest_parent_{root}")
                for root in roots.names
            ],
        )
    )
    previous_roots = moved.select(F.col(f"ingest_parent_{roots.previous[0]}").alias(roots.names[0]))
    children = narrowed(current(table.name), roots.names[0], previous_roots).select(
        *dict.fromkeys([*primary_key, *(child for child, _ in pairs), *roots.names])
    )
    # A child is under a moved parent when it joins the parent and sits under the parent's old root.
    condition = [F.col(child) == F.col(f"ingest_parent_{parent}") for child, parent in pairs] + [
        F.col(root).eqNullSafe(F.col(f"ingest_parent_{previous}")) for root, previous in zip(roots.names, roots.previous, strict=True)
    ]
    under_moved = children.join(moved, condition, "inner").select(
        *primary_key,
        *[F.col(root).alias(previous) for root, previous in zip(roots.names, roots.previous, strict=True)],
        *[F.col(f"ingest_parent_{root}").alias(root) for root in roots.names],
    )
    changed_by_extract = upserts.select(*primary_key).unionByName(deletes.select(*primary_key))
    return under_moved.join(changed_by_extract, primary_key, "left_anti").withColumn(CHANGE, F.lit(REROOT))


def touched_roots(roots: RootColumns, changes: Mapping[str, DataFrame]) -> DataFrame:
    """Root keys of every item a change reaches: the root a changed row had before, and the one it has after."""
    touched = None
    for frame in changes.values():
        relevant = frame.where(F.col(CHANGE) != F.lit(FORGET))
        for columns in (roots.names, roots.previous):
            keys = relevant.select(*[F.col(column).alias(root) for column, root in zip(columns, roots.names, strict=True)])
            keys = keys.where(F.col(roots.names[0]).isNotNull())
            touched = keys if touched is None else touched.unionByName(keys)
    return touched.distinct()


def apply_to_current(
    spark: SparkSession, table: PlanTable, identifier: str, columns: list[str], roots: RootColumns, changes: DataFrame
) -> None:
    """MERGEs one table's changes into its current table; applying them twice changes nothing the second time."""
    view = f"ingest_current_changes_{table.name}"
    changes.where(F.col(CHANGE) != F.lit(FORGET)).createOrReplaceTempView(view)
    newer = f"t.`{VERSION}` < s.`{VERSION}`"
    spark.sql(
        f"MERGE INTO {identifier} t USING {view} s ON {_same_key(table.primary_key)}{_within_roots(changes, roots)} "
        f"WHEN MATCHED AND s.`{CHANGE}` = '{DELETE}' AND {newer} THEN DELETE "
        f"WHEN MATCHED AND s.`{CHANGE}` = '{UPSERT}' AND {newer} THEN UPDATE SET {_assign(columns)} "
        f"WHEN MATCHED AND s.`{CHANGE}` = '{REROOT}' AND NOT ({_same_roots(roots)}) THEN UPDATE SET {_assign(roots.names)} "
        f"WHEN NOT MATCHED AND s.`{CHANGE}` = '{UPSERT}' THEN INSERT ({_names(columns)}) VALUES ({_names(columns, 's.')})"
    )
    spark.catalog.dropTempView(view)


def apply_to_keys(spark: SparkSession, table: PlanTable, identifier: str, roots: RootColumns, changes: DataFrame) -> None:
    """MERGEs one table's changes into its keys table: roots, latest versions and deletes."""
    view = f"ingest_key_changes_{table.name}"
    changes.withColumn(DELETED, F.col(CHANGE).isin(DELETE, FORGET)).createOrReplaceTempView(view)
    recorded = [*table.primary_key, *roots.names, EXTRACT_ID, VERSION, EXTRACT_TIME, DELETED]
    spark.sql(
        f"MERGE INTO {identifier} t USING {view} s ON {_same_key(table.primary_key)} "
        f"WHEN MATCHED AND s.`{CHANGE}` = '{REROOT}' AND NOT ({_same_roots(roots)}) THEN UPDATE SET {_assign(roots.names)} "
        f"WHEN MATCHED AND s.`{CHANGE}` <> '{REROOT}' AND t.`{VERSION}` < s.`{VERSION}` "
        f"THEN UPDATE SET {_assign([*roots.names, EXTRACT_ID, VERSION, EXTRACT_TIME, DELETED])} "
        f"WHEN NOT MATCHED AND s.`{CHANGE}` <> '{REROOT}' THEN INSERT ({_names(recorded)}) VALUES ({_names(recorded, 's.')})"
    )
    spark.catalog.dropTempView(view)


def _same_key(primary_key: tuple[str, ...]) -> str:
    return " AND ".join(f"t.`{column}` = s.`{column}`" for column in primary_key)


def _same_roots(roots: RootColumns) -> str:
    return " AND ".join(f"t.`{name}` <=> s.`{name}`" for name in roots.names)


def _assign(columns: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"t.`{column}` = s.`{column}`" for column in columns)


def _names(columns: list[str], prefix: str = "") -> str:
    return ", ".join(f"{prefix}`{column}`" for column in columns)


# Beyond this many values a literal list costs the planner (and Iceberg's filter on every file) more than it
# saves: spread over the buckets, a thousand keys or roots already reach most files.
_PRUNING_LIMIT = 1_000


def narrowed(frame: DataFrame, column: str, wanted: DataFrame) -> DataFrame:
    """`frame` restricted to rows whose `column` is among the values of `wanted` (null included), as a literal list
    Iceberg can prune partitions and files with; `frame` whole when there are too many values to list.

    Only a superset of what a join then matches exactly: the join still decides.
    """
    values = [row[0] for row in wanted.distinct().limit(_PRUNING_LIMIT + 1).collect()]
    if len(values) > _PRUNING_LIMIT:
        return frame
    known = [value for value in values if value is not None]
    condition = F.col(column).isin(known) if known else F.lit(False)
    if len(known) < len(values):
        condition = condition | F.col(column).isNull()
    return frame.where(condition)


def _within_roots(changes: DataFrame, roots: RootColumns) -> str:
    """A condition on the target's first root column that lets Iceberg skip buckets and files no change can reach.

    It names every root a changed row had before or has after the change (a current row can only
    sit under one of them), and null for orphans; with too many roots to list it is left out.
    """
    first, previous = roots.names[0], roots.previous[0]
    values = changes.select(F.col(first).alias("root")).unionByName(changes.select(F.col(previous).alias("root"))).distinct()
    listed = values.limit(_PRUNING_LIMIT + 1).collect()
    if len(listed) > _PRUNING_LIMIT:
        return ""
    known = [row.root for row in listed if row.root is not None]
    conditions = [f"t.`{first}` IS NULL"]
    if known:
        conditions.append(f"t.`{first}` IN ({', '.join(_literal(value) for value in known)})")
    return f" AND ({' OR '.join(conditions)})"


def _literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)
