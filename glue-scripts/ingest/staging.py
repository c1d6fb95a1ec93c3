"""Stages extracted CSV files for Spark: decoded, cut into records, numbered and checked.

Spark's readers lose a record's line number, and the run must report the source file and line of
every rejected row. The driver already streams each extracted file once (it counted the bytes
while unzipping), so it cuts each file into records itself, following the quotes as
`csv_dialect` defines them, and writes one staged line per record in UTF-8:

    <file index> TAB <line where the record starts> TAB <outcome> TAB <form> TAB <payload>

The outcome is `-` for a record the typed read may parse, or why it cannot be: not valid in the
declared encoding, quoting that breaks RFC 4180, a quoted field never closed before the end of
the file, a record longer than any real one. The payload is the record's text without its final
line break, exactly as written: as is (`t`), as a JSON string when it spans lines (`j`), or as
the hex of its bytes when they are not valid in the encoding (`x`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from ingest.csv_dialect import BYTE_ORDER_MARKS, LINE_FEED_BY_ENCODING, UTF16_BYTE_ORDER_MARKS, CsvDialect, LineState

READABLE = "-"
BAD_ENCODING = "e"
BAD_QUOTING = "q"
UNCLOSED_QUOTE = "u"
TOO_LONG = "l"

# A quoted field left open by mistake would otherwise swallow the rest of the file into one
# record; no real row is this long (a DynamoDB item holds at most 400 KB).
MAX_RECORD_BYTES = 16 * 1024 * 1024

_READ_SIZE = 1 << 20


class UnreadableFile(Exception):
    """A file of the archive cannot be read as the mapping describes it; the archive is rejected."""

    reason = "unreadable-file"

    def __init__(self, entry_name: str, detail: str) -> None:
        super().__init__(f"{entry_name}: {detail}")
        self.entry_name = entry_name
        self.detail = detail


class HeaderMismatch(UnreadableFile):
    """A file's header does not name the mapping's columns in the mapping's order."""

    reason = "header-mismatch"


@dataclass(frozen=True)
class FileLayout:
    """Where a file holds each mapped column: its field position, or None for a nullable column it lacks."""

    positions: tuple[int | None, ...]
    field_count: int
    ignored_columns: tuple[str, ...] = ()

    @classmethod
    def as_mapped(cls, column_count: int) -> FileLayout:
        return cls(positions=tuple(range(column_count)), field_count=column_count)


@dataclass(frozen=True)
class StagedFile:
    table: str
    file_index: int
    entry_name: str
    path: str
    records: int
    layout: FileLayout


@dataclass(frozen=True)
class MappedColumn:
    name: str
    nullable: bool


@dataclass(frozen=True)
class SourceRecord:
    line: int  # the physical line the record starts on, counting from 1
    outcome: str
    text: str | None  # without the final line break; None when the bytes are not valid in the encoding
    raw: bytes  # the record's bytes, kept only when `text` is None


def read_header(entry_name: str, header_fields: Sequence[str], columns: Sequence[MappedColumn], unknown_columns: str) -> FileLayout:
    """Matches a header to the mapping by name; raises HeaderMismatch naming what is wrong.

    The mapped columns a file has must come in the mapping's order. A nullable column may be
    missing (an extract from before the mapping gained it): its values are null. A column the
    mapping does not know rejects the archive, or is ignored and reported with
    `unknownColumns: ignore`. A missing column beside an unknown one looks like a rename and is
    never guessed at.
    """
    found = [field.strip() for field in header_fields]
    names = [column.name for column in columns]
    repeated = sorted({name for name in found if found.count(name) > 1})
    if repeated:
        raise HeaderMismatch(entry_name, f"header names column(s) {repeated} more than once")
    missing = [column for column in columns if column.name not in found]
    extra = [field for field in found if field not in names]
    if missing and extra:
        raise HeaderMismatch(entry_name, f"header has {extra} where the mapping expects {[column.name for column in missing]}")
    required = [column.name for column in missing if not column.nullable]
    if required:
        raise HeaderMismatch(entry_name, f"header lacks column(s) {required}")
    if extra and unknown_columns == "reject":
        raise HeaderMismatch(entry_name, f"header has unexpected column(s) {extra}")
    present = [field for field in found if field in names]
    expected = [name for name in names if name in present]
    if present != expected:
        position = next(index for index, (a, b) in enumerate(zip(present, expected, strict=True)) if a != b)
        raise HeaderMismatch(
            entry_name,
            f"column {position + 1} is {present[position]!r} but the mapping expects {expected[position]!r} (columns reordered)",
        )
    return FileLayout(
        positions=tuple(found.index(name) if name in found else None for name in names),
        field_count=len(found),
        ignored_columns=tuple(extra),
    )


def stage_file(
    source_path: str,
    destination_path: str,
    *,
    table: str,
    file_index: int,
    entry_name: str,
    columns: Sequence[MappedColumn],
    dialect: CsvDialect,
    unknown_columns: str = "reject",
) -> StagedFile:
    """Writes the staged copy of one extracted file and returns what was staged."""
    os.makedirs(os.path.dirname(destination_path), exist_ok=True)
    staged_records = 0
    layout = FileLayout.as_mapped(len(columns))
    with open(source_path, "rb") as source, open(destination_path, "w", encoding="utf-8", newline="\n") as target:
        records = read_records(source, dialect, entry_name)
        if dialect.header:
            header = next(records, None)
            if header is None:
                raise HeaderMismatch(entry_name, "file is empty; expected at least a header line")
            if header.outcome != READABLE:
                raise HeaderMismatch(entry_name, f"header line is not {_describe_outcome(header.outcome, dialect)}")
            layout = read_header(entry_name, dialect.split(header.text), columns, unknown_columns)
        for record in records:
            target.write(_staged_line(file_index, record))
            staged_records += 1
    return StagedFile(
        table=table, file_index=file_index, entry_name=entry_name, path=destination_path, records=staged_records, layout=layout
    )


def read_records(source: BinaryIO, dialect: CsvDialect, entry_name: str) -> Iterator[SourceRecord]:
    """The file's records in order, each with the line it starts on and whether it can be parsed."""
    encoding, start = _encoding_of(source, dialect.encoding, entry_name)
    codec = encoding.lower()
    record_start = 0
    texts: list[str] = []
    raws: list[bytes] = []
    decodable = True
    size = 0
    # A line feed never falls inside a character of these encodings, so decoding line by line
    # gives exactly what decoding the whole record would.
    for number, raw in enumerate(_physical_lines(source, start, LINE_FEED_BY_ENCODING[encoding]), start=1):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            text, decodable = raw.decode(codec, errors="replace"), False
        if not texts:
            record_start = number
        texts.append(text)
        raws.append(raw)
        size += len(raw)
        state = dialect.line_state(_without_line_break(text), inside_quotes=len(texts) > 1)
        if state is LineState.CONTINUES and size <= MAX_RECORD_BYTES:
            continue
        outcome = {LineState.ENDS_RECORD: READABLE, LineState.MALFORMED: BAD_QUOTING, LineState.CONTINUES: TOO_LONG}[state]
        yield _record(record_start, outcome if decodable else BAD_ENCODING, texts, raws, codec)
        texts, raws, decodable, size = [], [], True, 0
    if texts:
        yield _record(record_start, UNCLOSED_QUOTE if decodable else BAD_ENCODING, texts, raws, codec)


def _record(line: int, outcome: str, texts: list[str], raws: list[bytes], codec: str) -> SourceRecord:
    if outcome == BAD_ENCODING:
        raw = b"".join(raws)
        for line_break in ("\r\n".encode(codec), "\n".encode(codec)):
            if raw.endswith(line_break):
                raw = raw[: -len(line_break)]
                break
        return SourceRecord(line=line, outcome=outcome, text=None, raw=raw)
    return SourceRecord(line=line, outcome=outcome, text=_without_line_break("".join(texts)), raw=b"")


def _encoding_of(source: BinaryIO, declared: str, entry_name: str) -> tuple[str, bytes]:
    """The encoding to read with and the file's first bytes, without a byte-order mark (which is not data)."""
    start = source.read(_READ_SIZE)
    if declared == "UTF-16":
        encoding = UTF16_BYTE_ORDER_MARKS.get(start[:2])
        if encoding is None:
            raise UnreadableFile(entry_name, "UTF-16 text without a byte-order mark; declare UTF-16LE or UTF-16BE instead")
        return encoding, start[2:]
    mark = BYTE_ORDER_MARKS.get(declared)
    if mark and start.startswith(mark):
        return declared, start[len(mark) :]
    if start.startswith(BYTE_ORDER_MARKS["UTF-8"]):
        raise UnreadableFile(entry_name, f"starts with a UTF-8 byte-order mark, but the mapping declares {declared}")
    return declared, start


def _physical_lines(source: BinaryIO, start: bytes, line_feed: bytes) -> Iterator[bytes]:
    """Each line with its line feed (the last may have none); a line feed counts only on a whole code unit."""
    width = len(line_feed)
    pending = bytearray(start)
    search = 0
    while True:
        line_start = 0
        while (end := pending.find(line_feed, search)) >= 0:
            if (end - line_start) % width:
                search = end + 1
                continue
            yield bytes(pending[line_start : end + width])
            line_start = search = end + width
        del pending[:line_start]
        chunk = source.read(_READ_SIZE)
        if not chunk:
            break
        search = max(len(pending) - width + 1, 0)
        pending += chunk
    if pending:
        yield bytes(pending)


def _without_line_break(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _staged_line(file_index: int, record: SourceRecord) -> str:
    if record.text is None:
        form, payload = "x", record.raw.hex()
    elif "\n" in record.text:
        form, payload = "j", json.dumps(record.text, ensure_ascii=False)
    else:
        form, payload = "t", record.text
    return f"{file_index}\t{record.line}\t{record.outcome}\t{form}\t{payload}\n"


def _describe_outcome(outcome: str, dialect: CsvDialect) -> str:
    return {
        BAD_ENCODING: f"valid {dialect.encoding}",
        BAD_QUOTING: "valid CSV (RFC 4180 quoting)",
        UNCLOSED_QUOTE: "valid CSV (a quoted field is never closed)",
        TOO_LONG: f"valid CSV (longer than {MAX_RECORD_BYTES} bytes)",
    }[outcome]
