"""Mapped tables of a job plan for tests that need a table but no whole plan (typed read, assembly, the change set)."""

from __future__ import annotations

from ingest.job_plan import Deletes, JoinPair, ParentLink, PlanColumn, PlanTable


def plan_table(
    name: str,
    primary_key: tuple[str, ...],
    parent: str | None = None,
    on: str = "",
    deletes: Deletes | None = None,
    columns: tuple[PlanColumn, ...] = (),
) -> PlanTable:
    """A mapped table with its primary key, its join to its parent (on one column), its deletes and its columns."""
    return PlanTable(
        name=name,
        file_glob=f"{name}.csv",
        file_regex=f"^{name}\\.csv$",
        required=True,
        primary_key=primary_key,
        columns=columns,
        mode="incremental",
        catalog_table=name,
        lake_prefix=f"{name}/",
        parent=None if parent is None else ParentLink(parent, (JoinPair(child=on, parent=on),)),
        deletes=deletes,
    )
