"""Stages extracted CSV files for Spark: checked header, UTF-8, and every line numbered.

Spark's readers lose a record's line number, and the run must report the source file and line of
every rejected row. The driver already streams each extracted file once (it counted the bytes
while unzipping), so it rewrites each file as `<file index>\\t<line number>\\t<flag>\\t<line>` in UTF-8 while checking the
header. A line that is not valid in the declared encoding is kept as hex with the flag `e`, so it
is quarantined with its line number rather than silently altered; other lines have the flag `-`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

VALID_LINE = "-"
BAD_ENCODING = "e"


class HeaderMismatch(Exception):
    """A file's header does not name the mapping's columns in the mapping's order."""

    def __init__(self, entry_name: str, detail: str) -> None:
        super().__init__(f"{entry_name}: {detail}")
        self.entry_name = entry_name
        self.detail = detail


@dataclass(frozen=True)
class StagedFile:
    table: str
    file_index: int
    entry_name: str
    path: str
    data_lines: int


def check_header(entry_name: str, header_fields: Sequence[str], columns: Sequence[str]) -> None:
    """Raises HeaderMismatch naming the first difference: missing, extra, renamed or reordered columns."""
    found = [field.strip() for field in header_fields]
    if found == list(columns):
        return
    missing = [column for column in columns if column not in found]
    extra = [field for field in found if field not in columns]
    if missing and extra:
        raise HeaderMismatch(entry_name, f"header has {extra} where the mapping expects {missing}")
    if missing:
        raise HeaderMismatch(entry_name, f"header lacks column(s) {missing}")
    if extra:
        raise HeaderMismatch(entry_name, f"header has unexpected column(s) {extra}")
    position = next(index for index, (a, b) in enumerate(zip(found, columns, strict=True)) if a != b)
    raise HeaderMismatch(
        entry_name,
        f"column {position + 1} is {found[position]!r} but the mapping expects {columns[position]!r} (columns reordered)",
    )


def stage_file(
    source_path: str,
    destination_path: str,
    *,
    table: str,
    file_index: int,
    entry_name: str,
    columns: Sequence[str],
    csv_options: dict,
) -> StagedFile:
    """Writes the numbered UTF-8 copy of one extracted file and returns what was staged."""
    encoding = csv_options["encoding"]
    has_header = csv_options["header"]
    os.makedirs(os.path.dirname(destination_path), exist_ok=True)
    data_lines = 0
    with open(source_path, "rb") as source, open(destination_path, "w", encoding="utf-8", newline="\n") as target:
        for line_number, raw in enumerate(_lines(source), start=1):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                text = None
            if line_number == 1 and has_header:
                if text is None:
                    raise HeaderMismatch(entry_name, f"header is not valid {encoding}")
                check_header(entry_name, _parse_fields(text, csv_options), columns)
                continue
            flag, content = (VALID_LINE, text) if text is not None else (BAD_ENCODING, raw.hex())
            target.write(f"{file_index}\t{line_number}\t{flag}\t{content}\n")
            data_lines += 1
    if has_header and data_lines == 0 and os.path.getsize(source_path) == 0:
        raise HeaderMismatch(entry_name, "file is empty; expected at least a header line")
    return StagedFile(table=table, file_index=file_index, entry_name=entry_name, path=destination_path, data_lines=data_lines)


def _lines(source: io.BufferedReader):
    """Yields each line without its terminator (\\n or \\r\\n); no phantom line after a final newline."""
    pending = b""
    while chunk := source.read(1 << 20):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line[:-1] if line.endswith(b"\r") else line
    if pending:
        yield pending[:-1] if pending.endswith(b"\r") else pending


def _parse_fields(text: str, csv_options: dict) -> list[str]:
    reader = csv.reader(
        [text],
        delimiter=csv_options["delimiter"],
        quotechar=csv_options["quote"],
        doublequote=csv_options["escape"] == csv_options["quote"],
        escapechar=None if csv_options["escape"] == csv_options["quote"] else csv_options["escape"],
    )
    return next(reader, [])
