"""What an extract changes in the current tables: versions, roots, moves, late parents, deletes, full snapshots.

The change sets come from the real `compute_changes` on local Spark; the lake they are computed
against is kept here as plain dicts and changed by `LakeModel.apply`, which follows the MERGE
conditions of `apply_to_current` and `apply_to_keys` (the job tests run the real MERGEs).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field, replace

from local_frames import local_frame
from plan_tables import plan_table

from ingest.assembly import ItemTree
from ingest.current_state import CHANGE, DELETE, FORGET, REROOT, UPSERT, ExtractMark, RootColumns, compute_changes, touched_roots
from ingest.job_plan import Deletes, ItemCollection, ItemNode, RootColumn

ROOT = "ingest_root_customer_id"
PREVIOUS = "ingest_previous_root_customer_id"
METADATA = "ingest_extract_id string, ingest_extract_version bigint, ingest_extract_time timestamp"


def leaf(name: str) -> ItemNode:
    return ItemNode(name, (), ())


TREE = ItemTree(
    {
        "customers": plan_table("customers", ("customer_id",)),
        "orders": plan_table("orders", ("order_id",), "customers", on="customer_id", deletes=Deletes("op", ("D",))),
        "lines": plan_table("lines", ("order_id", "line_no"), "orders", on="order_id", deletes=Deletes("op", ("D",))),
        "addresses": plan_table("addresses", ("address_id",), "customers", on="customer_id"),
    },
    ItemNode(
        "customers",
        (),
        (
            ItemCollection("orders", ("order_id",), ItemNode("orders", (), (ItemCollection("lines", ("line_no",), leaf("lines")),))),
            ItemCollection("addresses", ("address_id",), leaf("addresses")),
        ),
    ),
)
ROOTS = RootColumns.of([RootColumn(name=ROOT, column="customer_id", type="string")])


def changed(tree: ItemTree, name: str, **fields) -> ItemTree:
    """The tree with one table changed (its mode or deletes)."""
    return replace(tree, tables_by_name={**tree.tables_by_name, name: replace(tree.table(name), **fields)})


SCHEMAS = {
    "customers": "customer_id string, name string",
    "orders": "order_id string, customer_id string, op string",
    "lines": "order_id string, line_no int, sku string, op string",
    "addresses": "address_id string, customer_id string, city string",
}
KEYS = {name: table.primary_key for name, table in TREE.tables_by_name.items()}


@dataclass
class LakeModel:
    """Current and keys tables as dicts by primary key, changed as the MERGEs change them."""

    current: dict[str, dict[tuple, dict]] = field(default_factory=lambda: {name: {} for name in SCHEMAS})
    keys: dict[str, dict[tuple, dict]] = field(default_factory=lambda: {name: {} for name in SCHEMAS})

    def frames(self, spark, which: str, name: str):
        rows = list(getattr(self, which)[name].values())
        columns = SCHEMAS[name] + f", {METADATA}, {ROOT} string"
        if which == "keys":
            columns = ", ".join(f"{key} {'int' if key == 'line_no' else 'string'}" for key in KEYS[name])
            columns += f", {ROOT} string, {METADATA}, ingest_deleted boolean"
        return local_frame(spark, rows, columns)

    def apply(self, name: str, changes: list[dict]) -> None:
        current, keys = self.current[name], self.keys[name]
        for change in changes:
            key = tuple(change[column] for column in KEYS[name])
            kind, version = change[CHANGE], change["ingest_extract_version"]
            row = current.get(key)
            if kind == DELETE and row and row["ingest_extract_version"] < version:
                del current[key]
            elif kind == UPSERT and (row is None or row["ingest_extract_version"] < version):
                current[key] = {column: change[column] for column in _current_columns(name)}
            elif kind == REROOT and row and row[ROOT] != change[ROOT]:
                row[ROOT] = change[ROOT]
            known = keys.get(key)
            if kind == REROOT:
                if known and known[ROOT] != change[ROOT]:
                    known[ROOT] = change[ROOT]
            elif known is None or known["ingest_extract_version"] < version:
                keys[key] = {
                    **{column: change[column] for column in KEYS[name]},
                    ROOT: change[ROOT],
                    "ingest_extract_id": change["ingest_extract_id"],
                    "ingest_extract_version": version,
                    "ingest_extract_time": change["ingest_extract_time"],
                    "ingest_deleted": kind in (DELETE, FORGET),
                }

    def items(self) -> dict[str, frozenset]:
        """What each item is built from: per root with a root row, every (table, key, version) of its current rows."""
        held: dict[str, set] = {}
        for name, rows in self.current.items():
            for key, row in rows.items():
                if row[ROOT] is not None:
                    held.setdefault(row[ROOT], set()).add((name, key, row["ingest_extract_version"]))
        return {root: frozenset(rows) for root, rows in held.items() if any(table == "customers" for table, _, _ in rows)}

    def state(self) -> tuple:
        return tuple(
            (name, tuple(sorted((key, tuple(sorted(row.items()))) for key, row in table.items())))
            for which in (self.current, self.keys)
            for name, table in sorted(which.items())
        )

    def copy(self) -> LakeModel:
        def rows(tables):
            return {name: {key: dict(row) for key, row in table.items()} for name, table in tables.items()}

        return LakeModel(current=rows(self.current), keys=rows(self.keys))


def _current_columns(name: str) -> list[str]:
    return [column.split()[0] for column in SCHEMAS[name].split(", ")] + [
        "ingest_extract_id",
        "ingest_extract_version",
        "ingest_extract_time",
        ROOT,
    ]


def extract(number: int) -> ExtractMark:
    return ExtractMark(f"2026110{number}T000000Z-000001", number * 100, f"2026-11-0{number}T00:00:00Z")


def run_extract(spark, lake: LakeModel, mark: ExtractMark, rows: dict[str, list[tuple]], tree: ItemTree = TREE) -> tuple[dict, set]:
    """Computes the extract's changes against the model, applies them, returns (changes per table, touched roots)."""
    moment = dt.datetime.fromisoformat(mark.extract_time.removesuffix("Z"))
    incoming = {
        name: local_frame(
            spark, [(*values, mark.extract_id, mark.extract_version, moment) for values in rows.get(name, [])], f"{schema}, {METADATA}"
        )
        for name, schema in SCHEMAS.items()
    }
    kept: dict[str, list[dict]] = {}

    def keep(name, frame):
        kept[name] = [row.asDict() for row in frame.collect()]
        return local_frame(spark, kept[name], frame.schema)

    changes = compute_changes(
        spark,
        tree,
        ROOTS,
        incoming,
        current=lambda name: lake.frames(spark, "current", name),
        keys=lambda name: lake.frames(spark, "keys", name),
        extract=mark,
        keep=keep,
    )
    touched = {row[ROOT] for row in touched_roots(ROOTS, changes).collect()}
    for name in SCHEMAS:
        lake.apply(name, kept[name])
    return kept, touched


def summary(changes: dict[str, list[dict]]) -> dict[str, list[tuple]]:
    """Each table's changes as (kind, key, previous root, root), sorted."""
    return {
        name: sorted((row[CHANGE], tuple(row[column] for column in KEYS[name]), row[PREVIOUS], row[ROOT]) for row in rows)
        for name, rows in changes.items()
        if rows
    }


FIRST = {
    "customers": [("C1", "Ada"), ("C2", "Bob")],
    "orders": [("O1", "C1", None), ("O2", "C2", None)],
    "lines": [("O1", 1, "A", None), ("O1", 2, "B", None), ("O2", 1, "C", None)],
    "addresses": [("A1", "C1", "Oslo")],
}


def test_new_rows_take_their_root_and_children_without_a_parent_are_orphans(spark):
    lake = LakeModel()
    changes, touched = run_extract(spark, lake, extract(1), {**FIRST, "lines": [*FIRST["lines"], ("O9", 1, "Z", None)]})
    assert summary(changes) == {
        "customers": [(UPSERT, ("C1",), None, "C1"), (UPSERT, ("C2",), None, "C2")],
        "orders": [(UPSERT, ("O1",), None, "C1"), (UPSERT, ("O2",), None, "C2")],
        "lines": [
            (UPSERT, ("O1", 1), None, "C1"),
            (UPSERT, ("O1", 2), None, "C1"),
            (UPSERT, ("O2", 1), None, "C2"),
            (UPSERT, ("O9", 1), None, None),
        ],
        "addresses": [(UPSERT, ("A1",), None, "C1")],
    }
    assert touched == {"C1", "C2"}


def test_a_moved_order_takes_its_lines_along_and_both_items_are_touched(spark):
    lake = LakeModel()
    run_extract(spark, lake, extract(1), FIRST)
    changes, touched = run_extract(spark, lake, extract(2), {"orders": [("O1", "C2", None)]})
    assert summary(changes) == {
        "orders": [(UPSERT, ("O1",), "C1", "C2")],
        "lines": [(REROOT, ("O1", 1), "C1", "C2"), (REROOT, ("O1", 2), "C1", "C2")],
    }
    assert touched == {"C1", "C2"}
    assert {key: row[ROOT] for key, row in lake.current["lines"].items()} == {("O1", 1): "C2", ("O1", 2): "C2", ("O2", 1): "C2"}


def test_a_parent_that_arrives_after_its_children_adopts_them_at_every_level(spark):
    lake = LakeModel()
    run_extract(spark, lake, extract(1), {"orders": [("O5", "C5", None)], "lines": [("O5", 1, "E", None)]})
    assert {key: row[ROOT] for key, row in lake.current["lines"].items()} == {("O5", 1): None}
    changes, touched = run_extract(spark, lake, extract(2), {"customers": [("C5", "Eve")]})
    assert summary(changes) == {
        "customers": [(UPSERT, ("C5",), None, "C5")],
        "orders": [(REROOT, ("O5",), None, "C5")],
        "lines": [(REROOT, ("O5", 1), None, "C5")],
    }
    assert touched == {"C5"}


def test_an_older_extract_only_fills_what_is_older_and_a_rerun_changes_nothing(spark):
    lake = LakeModel()
    run_extract(spark, lake, extract(3), {"customers": [("C1", "Ada Lovelace")]})
    changes, touched = run_extract(spark, lake, extract(2), {"customers": [("C1", "Ada"), ("C2", "Bob")]})
    assert summary(changes) == {"customers": [(UPSERT, ("C2",), None, "C2")]}
    assert lake.current["customers"][("C1",)]["name"] == "Ada Lovelace"
    before = lake.state()
    changes, touched = run_extract(spark, lake, extract(2), {"customers": [("C1", "Ada"), ("C2", "Bob")]})
    assert (summary(changes), touched, lake.state()) == ({}, set(), before)


def test_deletes_by_operation_column_shrink_the_item_and_an_older_extract_never_brings_the_row_back(spark):
    lake = LakeModel()
    run_extract(spark, lake, extract(1), FIRST)
    changes, touched = run_extract(
        spark, lake, extract(3), {"orders": [("O1", "C1", "D")], "lines": [("O2", 1, "C", "D"), ("O7", 1, "X", "D")]}
    )
    assert summary(changes) == {
        "orders": [(DELETE, ("O1",), "C1", None)],
        "lines": [
            (DELETE, ("O2", 1), "C2", None),
            (FORGET, ("O7", 1), None, None),
            (REROOT, ("O1", 1), "C1", None),
            (REROOT, ("O1", 2), "C1", None),
        ],
    }
    assert touched == {"C1", "C2"}
    assert sorted(lake.current["orders"]) == [("O2",)]
    late, touched = run_extract(spark, lake, extract(2), {"orders": [("O1", "C1", None)], "lines": [("O7", 1, "X", None)]})
    assert (summary(late), touched) == ({}, set())
    assert sorted(lake.current["orders"]) == [("O2",)]


def test_a_deleted_root_orphans_its_children(spark):
    lake = LakeModel()
    run_extract(spark, lake, extract(1), FIRST)
    tree = changed(TREE, "customers", deletes=Deletes("name", ("<deleted>",)))
    changes, touched = run_extract(spark, lake, extract(2), {"customers": [("C1", "<deleted>")]}, tree)
    assert summary(changes) == {
        "customers": [(DELETE, ("C1",), "C1", None)],
        "orders": [(REROOT, ("O1",), "C1", None)],
        "lines": [(REROOT, ("O1", 1), "C1", None), (REROOT, ("O1", 2), "C1", None)],
        "addresses": [(REROOT, ("A1",), "C1", None)],
    }
    assert touched == {"C1"}
    assert "C1" not in lake.items()


def test_a_full_snapshot_table_deletes_the_live_keys_it_leaves_out(spark):
    lake = LakeModel()
    run_extract(spark, lake, extract(1), {**FIRST, "addresses": [("A1", "C1", "Oslo"), ("A2", "C2", "Rome")]})
    tree = changed(TREE, "addresses", mode="full")
    changes, touched = run_extract(spark, lake, extract(2), {"addresses": [("A2", "C2", "Roma")]}, tree)
    assert summary(changes) == {"addresses": [(DELETE, ("A1",), "C1", None), (UPSERT, ("A2",), "C2", "C2")]}
    assert touched == {"C1", "C2"}


MOVES = {
    1: FIRST,
    2: {"orders": [("O1", "C2", None)], "addresses": [("A1", "C2", "Oslo")], "lines": [("O2", 1, "C", "D")]},
    3: {"customers": [("C3", "Cy")], "orders": [("O2", "C1", None)], "lines": [("O1", 3, "D", None)], "addresses": [("A1", "C3", "Rome")]},
}


def test_any_landing_order_gives_the_items_a_load_from_scratch_gives(spark):
    """Every order of three extracts that move, delete and add children late: the stored items end the same."""
    landed: dict[tuple, tuple[set, LakeModel]] = {}
    for landing_order in itertools.permutations(MOVES):
        lake, stored = LakeModel(), {}
        for number in landing_order:
            key = (lake.state(), number)
            if key not in landed:
                after = lake.copy()
                _, touched = run_extract(spark, after, extract(number), MOVES[number])
                landed[key] = (touched, after)
            touched, after = landed[key]
            lake = after.copy()
            items = lake.items()
            for root in touched:
                stored[root] = items.get(root)
        assert {root: rows for root, rows in stored.items() if rows is not None} == lake.items(), landing_order
    assert {root: sorted((table, key) for table, key, _ in rows) for root, rows in lake.items().items()} == {
        "C1": [("customers", ("C1",)), ("orders", ("O2",))],
        "C2": [("customers", ("C2",)), ("lines", ("O1", 1)), ("lines", ("O1", 2)), ("lines", ("O1", 3)), ("orders", ("O1",))],
        "C3": [("addresses", ("A1",)), ("customers", ("C3",))],
    }
