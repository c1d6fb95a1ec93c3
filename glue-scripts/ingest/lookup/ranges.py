"""Byte ranges of an export's parts, and the lines a task reads from one.

A part is cut into ranges of about `chunk_bytes`, each starting at a line start, so that tasks load
it in parallel; a gzip part, and an escaped redshift-text part, are one range each. A task reads
its range's lines through `bounded_lines`, which never holds more than one line of up to
`line_limit` bytes, and `RangeLines`, which numbers them as the file does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from ingest.lookup_export import ExportPart
from ingest.lookup_lines import join_escaped_lines
from ingest.lookup_plan import LookupPlan


class ByteRange(NamedTuple):
    index: int  # across the whole export, in part order: a later index holds later lines
    part: int  # index of the part in the export
    first: int  # offset in the part of the range's first byte, a line start
    last: int  # offset of its last byte (inclusive), a line break unless it ends the part


def split_ranges(read: Callable[[int, int], bytes], size: int, chunk_bytes: int, probe_bytes: int = 64 * 1024) -> list[tuple[int, int]]:
    """(first, last) byte ranges of about `chunk_bytes` covering `size` bytes, each starting at a line start.

    `read(first, last)` returns the bytes first..last (inclusive). For each boundary the range after
    it starts at the first line start at or after the boundary, found by reading `probe_bytes` from
    just before it (more when a line is longer). Boundaries inside one long line collapse.
    """
    if size <= 0:
        return []
    boundaries = range(chunk_bytes, size, chunk_bytes)
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda boundary: line_start_at_or_after(read, boundary, size, probe_bytes), boundaries))
    starts = sorted({0, *(start for start in found if start < size)})
    ends = [start - 1 for start in starts[1:]] + [size - 1]
    return list(zip(starts, ends, strict=True))


def line_start_at_or_after(read: Callable[[int, int], bytes], position: int, size: int, probe_bytes: int) -> int:
    """Offset of the first line that starts at or after `position` > 0; `size` when no line does."""
    offset = position - 1  # a line break just before the position makes the position a line start
    while offset < size:
        window = read(offset, min(size, offset + probe_bytes) - 1)
        newline = window.find(b"\n")
        if newline >= 0:
            return offset + newline + 1
        offset += len(window)
    return size


def whole_part(part: ExportPart, plan: LookupPlan) -> bool:
    """Whether a part is read as one range: gzip cannot be read from an offset, and an escaped
    redshift-text record may continue over a line break, so neither can be cut at line starts."""
    return part.gzip or (plan.unload is not None and plan.unload.escape)


def range_lines(pieces: Iterable[bytes], plan: LookupPlan, *, part_start: bool, has_header: bool) -> RangeLines:
    """The lines of a range as the tasks read them, from its physical lines (without their line break)."""
    return RangeLines(
        pieces,
        part_start=part_start,
        skip_header=has_header,
        escaped=plan.unload is not None and plan.unload.escape,
        # In a text format a line of spaces is a value (a key " ", a cell " "); only an empty line is blank.
        blank=_empty_line if plan.format in _TEXT_FORMATS else _blank_line,
    )


_TEXT_FORMATS = ("keys", "redshift-text")


def _empty_line(raw: bytes) -> bool:
    return raw in (b"", b"\r")


def _blank_line(raw: bytes) -> bool:
    return not raw.strip()


class RangeLines:
    """Iterates (line number in the range from 1, line bytes) over the range's records; counts physical lines.

    The part's first line loses a UTF-8 byte order mark (it is not data); a CSV part's header is
    skipped; blank lines are skipped but counted, so numbers stay those of the file. For an escaped
    redshift-text part a record continued over an escaped line break is one record, numbered by its
    first line. `physical` is final once iterated.
    """

    def __init__(
        self, pieces: Iterable[bytes], *, part_start: bool, skip_header: bool, escaped: bool, blank: Callable[[bytes], bool]
    ) -> None:
        self._pieces = pieces
        self._part_start = part_start
        self._skip_header = skip_header
        self._escaped = escaped
        self._blank = blank
        self.physical = 0

    def _numbered(self) -> Iterator[tuple[int, bytes]]:
        for number, piece in enumerate(self._pieces, start=1):
            self.physical = number
            if number == 1 and self._part_start:
                piece = piece.removeprefix(_BYTE_ORDER_MARK)
                if self._skip_header:
                    continue
            yield number, piece

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        numbered = join_escaped_lines(self._numbered()) if self._escaped else self._numbered()
        for number, raw in numbered:
            if not self._blank(raw):
                yield number, raw


_BYTE_ORDER_MARK = "\ufeff".encode()


class OverlongLine(bytes):
    """The start of a line longer than the loader reads (`line_limit`): the rest is skipped, never held, and the line rejected."""

    length: int


def bounded_lines(read: Callable[[int], bytes], line_limit: int, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """The lines of a stream without their line break, never holding more than one line of up to `line_limit` bytes.

    `read(n)` returns up to n bytes, b"" at the end. A longer line is given as an OverlongLine of its
    first bytes and its length, so a file of one endless line (or a gzip bomb of one) costs memory of
    one chunk, not of the line.
    """

    def too_long(start: bytes, length: int) -> OverlongLine:
        line = OverlongLine(start[: min(line_limit, 200)])
        line.length = length
        return line

    buffer = b""
    overlong: OverlongLine | None = None
    while chunk := read(chunk_bytes):
        pieces = (buffer + chunk).split(b"\n")
        buffer = pieces.pop()  # the line not ended yet
        for piece in pieces:
            if overlong is not None:
                overlong.length += len(piece)  # the end of the long line
                yield overlong
                overlong = None
            else:
                yield piece if len(piece) <= line_limit else too_long(piece, len(piece))
        if overlong is not None:
            overlong.length += len(buffer)
            buffer = b""
        elif len(buffer) > line_limit:
            overlong, buffer = too_long(buffer, len(buffer)), b""
    if overlong is not None:
        yield overlong
    elif buffer:
        yield buffer  # the last line, without a break after it
