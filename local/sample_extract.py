"""Generates realistic extract archives for any mapping, from its job plan.

The first extract is a full dump: `roots` rows of the root table and, for each parent row, a
seeded random number of children (around `children` on average) down every relationship. Each
follow-up extract is incremental, as warehouse exports are: updates to about a tenth of the roots,
a few new roots, late children for parents loaded earlier, and updates to existing children. With
`bad_rows`, the root table of every extract also carries that many bad rows of each kind the
typed read quarantines, and the manifest says how many rows each reason should quarantine.

    python -m local.sample_extract --plan plan.json --out DIR --roots 1000 --extracts 3 --seed 7

prints one JSON manifest line per archive written.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import re
import string
import sys
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

# Run as `python -m local.sample_extract` from the repository root (scripts/run-local.ts), the job's
# package is beside this one rather than on the path.
sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "glue-scripts"))

from ingest.csv_dialect import CsvDialect
from ingest.job_plan import ArchiveNaming, JobPlan, PlanColumn, PlanTable, parse_job_plan

FIRST_EXTRACT = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
FIRST_NAMES = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Zoë", "José"]
LAST_NAMES = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Wirth", "Perlman", "Lee"]
CITIES = ["Oslo", "Lyon", "Porto", "Kraków", "Gent", "Aarhus", "Bilbao", "Turku", "Graz", "Brno"]
NICKNAMES = ["Amazing", "Countess", "Grandma COBOL", "Ed, the Dutchman"]
STREETS = ["Main St", "Harbour Rd", "Mill Lane", "Station Sq", "Kirkegata", "Rue Neuve", "Avenida Central"]


@dataclass
class TableState:
    """Rows generated so far for one table, by primary key, so later extracts can update them."""

    plan: PlanTable
    rows: dict[tuple, dict] = field(default_factory=dict)
    counter: int = 0
    children_of: dict[tuple, int] = field(default_factory=dict)


class ExtractGenerator:
    def __init__(self, plan: JobPlan, *, seed: int, children: float) -> None:
        self.plan = plan
        self.random = random.Random(seed)
        self.children = children
        self.tables = {table.name: TableState(table) for table in plan.tables}
        self.child_tables = {
            name: [table.name for table in plan.tables if table.parent is not None and table.parent.table == name] for name in self.tables
        }
        self.root = next(table.name for table in plan.tables if table.parent is None)

    def extract(
        self, index: int, *, roots: int, bad_rows: int, updated_roots: int | None = None
    ) -> tuple[dict[str, list[dict]], dict[str, int]]:
        """Rows per table for extract `index` (0 is the full dump) and the quarantine counts expected.

        A follow-up updates a tenth of the roots loaded so far, or `updated_roots` of them (so its
        size does not grow with the history), and a twentieth of their children.
        """
        moment = FIRST_EXTRACT + dt.timedelta(days=index)
        output: dict[str, list[dict]] = {name: [] for name in self.tables}
        if index == 0:
            for _ in range(roots):
                self._new_row(self.root, None, moment, output, depth=0)
        else:
            # Follow-ups touch only rows of earlier extracts, so no key appears twice in one extract.
            earlier = {name: list(state.rows.values()) for name, state in self.tables.items()}
            updates = updated_roots if updated_roots is not None else max(1, len(earlier[self.root]) // 10)
            for row in self.random.sample(earlier[self.root], k=min(updates, len(earlier[self.root]))):
                output[self.root].append(self._updated(self.root, row, moment))
            for _ in range(max(1, roots // 20)):
                self._new_row(self.root, None, moment, output, depth=0)
            for name, state in self.tables.items():
                if name == self.root or not earlier[name]:
                    continue
                share = len(earlier[name]) // 20 if updated_roots is None else updated_roots // 2
                for row in self.random.sample(earlier[name], k=min(max(1, share), len(earlier[name]))):
                    output[name].append(self._updated(name, row, moment))
                parents = earlier[state.plan.parent.table]
                late = len(parents) // 20 if updated_roots is None else updated_roots // 2
                for parent_row in self.random.sample(parents, k=min(max(1, late), len(parents))):
                    self._new_row(name, parent_row, moment, output, depth=1)
        expected = self._bad_rows(output[self.root], bad_rows) if bad_rows else {}
        return output, expected

    def _new_row(self, name: str, parent_row: dict | None, moment: dt.datetime, output: dict, depth: int) -> None:
        state = self.tables[name]
        state.counter += 1
        row = {column.name: self._value(name, column, state.counter, moment) for column in state.plan.columns}
        if parent_row is not None:
            on = state.plan.parent.on
            for pair in on:
                row[pair.child] = parent_row[pair.parent]
            parent_key = tuple(parent_row[pair.parent] for pair in on)
            position = state.children_of[parent_key] = state.children_of.get(parent_key, 0) + 1
            for column in state.plan.columns:
                in_key = column.name in state.plan.primary_key and column.name not in {pair.child for pair in on}
                if in_key and column.type in ("int", "bigint"):
                    row[column.name] = position
        key = tuple(row[column] for column in state.plan.primary_key)
        state.rows[key] = row
        output[name].append(dict(row))
        for child in self.child_tables[name]:
            count = self.random.randint(0, max(0, round(self.children * 2))) if depth < 6 else 0
            for _ in range(count):
                self._new_row(child, row, moment, output, depth + 1)

    def _updated(self, name: str, row: dict, moment: dt.datetime) -> dict:
        state = self.tables[name]
        keys = set(state.plan.primary_key) | {pair.child for pair in (state.plan.parent.on if state.plan.parent else ())}
        changeable = [column for column in state.plan.columns if column.name not in keys]
        for column in self.random.sample(changeable, k=min(2, len(changeable))):
            row[column.name] = self._value(name, column, state.counter, moment)
        for column in changeable:
            if column.type == "timestamp" and "updated" in column.name:
                row[column.name] = moment - dt.timedelta(minutes=self.random.randint(1, 600))
        return dict(row)

    def _value(self, table: str, column: PlanColumn, counter: int, moment: dt.datetime):
        name, kind = column.name, column.type
        if column.nullable and self.random.random() < 0.1:
            return None
        if name in self.tables[table].plan.primary_key and kind == "string":
            return f"{table[:3].upper()}{counter:08d}"
        if kind == "string":
            return self._text(name, counter)
        if kind in ("int", "bigint"):
            return self.random.randint(1, 9)
        if kind == "double":
            return round(self.random.uniform(0, 1000), 3)
        if kind == "boolean":
            return self.random.random() < 0.5
        if kind == "date":
            return (moment - dt.timedelta(days=self.random.randint(0, 900))).date()
        if kind == "timestamp":
            return moment - dt.timedelta(minutes=self.random.randint(1, 600 if "updated" in name else 900 * 1440))
        decimal = re.fullmatch(r"decimal\((\d+),(\d+)\)", kind)
        if decimal:
            precision, scale = int(decimal.group(1)), int(decimal.group(2))
            whole = self.random.randint(0, 10 ** min(precision - scale, 4) - 1)
            return f"{whole}.{self.random.randint(0, 10**scale - 1):0{scale}d}" if scale else str(whole)
        raise ValueError(f"column {table}.{name} has type {kind}, which the generator does not know")

    def _text(self, name: str, counter: int) -> str:
        choose = self.random.choice
        if "email" in name:
            return f"{choose(FIRST_NAMES).lower()}.{choose(LAST_NAMES).lower()}{counter}@example.com".replace("ë", "e").replace("é", "e")
        # Free text as warehouses hold it: every seventh name has a quoted nickname, every fourth
        # address line a second line; decided by the counter, so the random sequence stays the same.
        if "name" in name:
            nickname = f' "{NICKNAMES[counter % len(NICKNAMES)]}"' if counter % 7 == 0 else ""
            return f"{choose(FIRST_NAMES)}{nickname} {choose(LAST_NAMES)}"
        if "city" in name:
            return choose(CITIES)
        if "line" in name or "street" in name:
            second_line = f"\nFlat {counter % 9 + 1}, {counter % 5 + 1}. floor" if counter % 4 == 0 else ""
            return f"{self.random.randint(1, 200)} {choose(STREETS)}{second_line}"
        if "country" in name:
            return choose(["NO", "FR", "PT", "PL", "BE", "DK", "ES", "FI", "AT", "CZ"])
        if "post" in name or "zip" in name:
            return f"{self.random.randint(1000, 9999)}"
        if "sku" in name:
            return f"SKU-{self.random.randint(1, 5000):05d}"
        if "status" in name:
            return choose(["open", "paid", "shipped", "delivered", "cancelled"])
        if "kind" in name or "type" in name or "segment" in name:
            return choose(["gold", "silver", "bronze", "home", "work"])
        return "".join(choose(string.ascii_lowercase) for _ in range(8))

    def _bad_rows(self, rows: list[dict], count: int) -> dict[str, int]:
        """Appends `count` rows of each bad kind to the root table's rows; returns expected quarantine counts."""
        table = self.tables[self.root].plan
        expected: dict[str, int] = {}
        template = next(iter(self.tables[self.root].rows.values()))
        good_rows = list(rows)
        key_column = table.primary_key[0]
        typed = {column.type.split("(")[0]: column for column in table.columns if column.name not in table.primary_key}
        for index in range(count):
            marker = f"BAD{index:06d}"
            rows.append(_Raw(marker + "," + "only-two-fields"))
            expected["malformed"] = expected.get("malformed", 0) + 1
            rows.append({**template, key_column: None})
            expected["null-primary-key"] = expected.get("null-primary-key", 0) + 1
            rows.append(_Raw(b"\xff\xfe" + marker.encode()))
            expected["bad-encoding"] = expected.get("bad-encoding", 0) + 1
            rows.append(dict(good_rows[index % len(good_rows)]))
            expected["duplicate-primary-key"] = expected.get("duplicate-primary-key", 0) + 2
            for kind, reason, bad_value in (
                ("decimal", "bad-decimal", "12,5x"),
                ("int", "bad-number", "seven"),
                ("bigint", "bad-number", "seven"),
                ("timestamp", "bad-timestamp", "yesterday"),
                ("date", "bad-date", "2026-02-30"),
                ("boolean", "bad-boolean", "maybe"),
            ):
                if kind in typed:
                    rows.append({**template, key_column: f"{marker}{kind[:3].upper()}", typed[kind].name: _Raw(bad_value)})
                    expected[reason] = expected.get(reason, 0) + 1
        return expected


class _Raw:
    """Text (or bytes) written to the file exactly as given, bypassing CSV formatting."""

    def __init__(self, value: str | bytes) -> None:
        self.value = value


def archive_name(naming: ArchiveNaming | Mapping, moment: dt.datetime, sequence: int) -> str:
    """Fills an archive-name regex built by the mapping compiler with a timestamp and sequence.

    `naming` is the plan's `extract.archive_naming`, or its `extract.archiveNaming` JSON.
    """
    if not isinstance(naming, ArchiveNaming):
        naming = ArchiveNaming(regex=naming["regex"], groups=tuple(naming["groups"]), timestamp_format=naming["timestampFormat"])
    pattern = naming.regex.removeprefix("^").removesuffix("$")
    values = iter(_spark_pattern(naming.timestamp_format, moment) if group == "timestamp" else str(sequence) for group in naming.groups)
    filled = re.sub(r"\((?:[^()\\]|\\.)*\)", lambda _: next(values).replace("\\", "\\\\"), pattern)
    return re.sub(r"\\(.)", r"\1", filled)


def _spark_pattern(pattern: str, moment: dt.datetime | dt.date) -> str:
    """Formats with the subset of Spark datetime patterns mappings use: y M d H m s S, quotes, literals."""
    tokens = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
    output = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("'", index):
            end = pattern.index("'", index + 1)
            output.append(pattern[index + 1 : end])
            index = end + 1
            continue
        if pattern.startswith("SSSSSS", index):
            output.append(f"{moment.microsecond:06d}")
            index += 6
            continue
        if pattern.startswith("SSS", index):
            output.append(f"{moment.microsecond // 1000:03d}")
            index += 3
            continue
        token = next((token for token in tokens if pattern.startswith(token, index)), None)
        if token:
            output.append(moment.strftime(tokens[token]))
            index += len(token)
        else:
            output.append(pattern[index])
            index += 1
    return "".join(output)


def _lines(table: PlanTable, rows: list[dict], dialect: CsvDialect) -> Iterator[bytes]:
    encoding = dialect.encoding
    formats = {column.name: column.format for column in table.columns}
    names = list(table.column_names)

    class Sink:
        line = ""

        def write(self, text: str) -> None:
            Sink.line = text

    writer = csv.writer(Sink(), delimiter=dialect.delimiter, quotechar=dialect.quote, lineterminator="\n")
    if dialect.header:
        writer.writerow(names)
        yield Sink.line.encode(encoding)
    for row in rows:
        if isinstance(row, _Raw):
            yield row.value if isinstance(row.value, bytes) else f"{row.value}\n".encode(encoding)
            if isinstance(row.value, bytes):
                yield b"\n"
            continue
        raw_fields = {name: value.value for name, value in row.items() if isinstance(value, _Raw)}
        writer.writerow([raw_fields.get(name, _text_of(row[name], formats[name], dialect)) for name in names])
        yield Sink.line.encode(encoding)


def _text_of(value, pattern: str | None, dialect: CsvDialect) -> str:
    if value is None:
        return dialect.null_value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return _spark_pattern(pattern or ("yyyy-MM-dd HH:mm:ss" if isinstance(value, dt.datetime) else "yyyy-MM-dd"), value)
    return str(value)


def write_archive(path: str, plan: JobPlan, rows_by_table: dict[str, list[dict]]) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for table in plan.tables:
            file_name = _file_name(table)
            with archive.open(file_name, "w", force_zip64=True) as target:
                for line in _lines(table, rows_by_table[table.name], plan.extract.csv):
                    target.write(line)


def _file_name(table: PlanTable) -> str:
    """A file name the table's glob matches: the glob with its wildcards removed."""
    return table.file_glob.replace("*", "").replace("?", "x")


def generate(plan: JobPlan | Mapping, out: str, *, roots: int, extracts: int, seed: int, children: float, bad_rows: int) -> list[dict]:
    """Writes `extracts` archives under `out` and returns their manifest; `plan` is a JobPlan or the plan's JSON."""
    plan = plan if isinstance(plan, JobPlan) else parse_job_plan(plan)
    generator = ExtractGenerator(plan, seed=seed, children=children)
    manifest = []
    for index in range(extracts):
        rows, expected = generator.extract(index, roots=roots, bad_rows=bad_rows)
        moment = FIRST_EXTRACT + dt.timedelta(days=index)
        path = os.path.join(out, archive_name(plan.extract.archive_naming, moment, index + 1))
        write_archive(path, plan, rows)
        entry = {
            "archive": path,
            "extract": index + 1,
            "rows": {name: len(table_rows) for name, table_rows in rows.items()},
            "expectedQuarantined": dict(sorted(expected.items())),
        }
        manifest.append(entry)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", required=True, help="job plan JSON (scripts/print-plan.ts <mapping>)")
    parser.add_argument("--out", required=True, help="directory for the archives")
    parser.add_argument("--roots", type=int, default=1000, help="root rows in the first (full) extract")
    parser.add_argument("--extracts", type=int, default=1, help="extracts to write: a full one, then incremental ones")
    parser.add_argument("--children", type=float, default=2.0, help="average children per parent row")
    parser.add_argument("--bad-rows", type=int, default=0, help="bad rows of each kind in every extract's root table")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args(argv)
    if arguments.roots < 1 or arguments.extracts < 1:
        parser.error("--roots and --extracts must be at least 1")
    with open(arguments.plan, encoding="utf-8") as plan_file:
        plan = parse_job_plan(json.load(plan_file))
    for entry in generate(
        plan,
        arguments.out,
        roots=arguments.roots,
        extracts=arguments.extracts,
        seed=arguments.seed,
        children=arguments.children,
        bad_rows=arguments.bad_rows,
    ):
        print(json.dumps(entry), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
