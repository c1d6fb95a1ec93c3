"""The sample extract generator: archive names, seeded output, incremental follow-ups and bad rows."""

from __future__ import annotations

import datetime as dt
import zipfile

from local.sample_extract import archive_name, generate


def test_archive_names_follow_the_mappings_naming(customers_plan):
    naming = customers_plan["extract"]["archiveNaming"]
    moment = dt.datetime(2026, 11, 22, 3, 15, tzinfo=dt.UTC)
    assert archive_name(naming, moment, 7) == "crm_customers_20261122T031500Z_7.zip"


def test_the_same_seed_gives_the_same_archives(customers_plan, tmp_path):
    first = generate(customers_plan, str(tmp_path / "a"), roots=20, extracts=2, seed=3, children=2, bad_rows=0)
    second = generate(customers_plan, str(tmp_path / "b"), roots=20, extracts=2, seed=3, children=2, bad_rows=0)
    for left, right in zip(first, second, strict=True):
        with zipfile.ZipFile(left["archive"]) as a, zipfile.ZipFile(right["archive"]) as b:
            assert {name: a.read(name) for name in a.namelist()} == {name: b.read(name) for name in b.namelist()}


def test_follow_up_extracts_update_roots_and_add_late_children(customers_plan, tmp_path):
    manifest = generate(customers_plan, str(tmp_path), roots=200, extracts=2, seed=1, children=2, bad_rows=0)
    with zipfile.ZipFile(manifest[0]["archive"]) as full, zipfile.ZipFile(manifest[1]["archive"]) as incremental:
        first_customers = {line.split(",")[0] for line in full.read("customers.csv").decode().splitlines()[1:]}
        later_customers = [line.split(",")[0] for line in incremental.read("customers.csv").decode().splitlines()[1:]]
        first_orders = {line.split(",")[0] for line in full.read("orders.csv").decode().splitlines()[1:]}
        later_orders = [line.split(",")[:2] for line in incremental.read("orders.csv").decode().splitlines()[1:]]
    assert len(first_customers) == 200
    updated = [customer for customer in later_customers if customer in first_customers]
    assert len(updated) == 20
    assert len(later_customers) - len(updated) == 10
    late_children = [order for order, customer in later_orders if order not in first_orders and customer in first_customers]
    assert late_children


def test_bad_rows_of_every_kind_with_the_quarantine_counts_they_cause(customers_plan, tmp_path):
    [entry] = generate(customers_plan, str(tmp_path), roots=10, extracts=1, seed=1, children=1, bad_rows=2)
    assert entry["expectedQuarantined"] == {
        "bad-decimal": 2,
        "bad-encoding": 2,
        "bad-timestamp": 2,
        "duplicate-primary-key": 4,
        "malformed": 2,
        "null-primary-key": 2,
    }
    with zipfile.ZipFile(entry["archive"]) as archive:
        lines = archive.read("customers.csv").splitlines()
    assert len(lines) == 1 + 10 + 2 * 6
    assert b"\xff\xfeBAD000001" in lines
