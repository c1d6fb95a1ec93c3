"""Mapped tables of a job plan for tests that read only their keys, joins and deletes (assembly, the change set)."""

from __future__ import annotations

from ingest.job_plan import Deletes, JoinPair, ParentLink, PlanTable


def plan_table(
    name: str, primary_key: tuple[str, ...], parent: str | None = None, on: str = "", deletes: Deletes | None = None
) -> PlanTable:
    """A mapped table with its primary key, its join to its parent (on one column) and its deletes; no columns."""
    return PlanTable(
        name=name,
        file_glob=f"{name}.csv",
        file_regex=f"^{name}\\.csv$",
        required=True,
        primary_key=primary_key,
        columns=(),
        mode="incremental",
        catalog_table=name,
        lake_prefix=f"{name}/",
        parent=None if parent is None else ParentLink(parent, (JoinPair(child=on, parent=on),)),
        deletes=deletes,
    )
