"""The CSV dialect of an extract: RFC 4180 with the mapping's delimiter, quote, escape and null marker.

One grammar serves both sides of the typed read. Staging (Python, on the driver, streaming each
file once) finds where each record ends and checks its quoting; the typed read (Spark, in the JVM)
splits the well-formed records into fields. Both use the patterns built here, written only in the
regular-expression syntax that Python's `re` and Java's `java.util.regex` read the same way:
characters as `\\uXXXX`, classes, non-capturing groups, a look-behind and a look-ahead.

The dialect, exactly:
- A record ends at a line feed (LF or CR LF) outside quotes; inside a quoted field line breaks are
  data, kept as written (a CR LF stays CR LF).
- A field is quoted when its first character is the quote. Inside it, the quote written twice (or,
  when the escape differs from the quote, the escape followed by the quote or by the escape) stands
  for that character; an escape before any other character is itself. After the closing quote
  comes the delimiter or the end of the record.
- An unquoted field may not hold the quote or a line break (RFC 4180 section 2.5): such a record
  is malformed, never guessed at.
- Null: an unquoted field equal to the null marker. A quoted field is never null, so with the
  default marker (empty) an unquoted empty field is null and `""` is the empty string; with a
  marker such as `\\N`, both an unquoted empty field and `""` are the empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

# Encodings whose text can be split into lines byte-exactly: every ASCII-compatible one below, and
# UTF-16 split on whole code units. `UTF-16` needs a byte-order mark to know its byte order.
LINE_FEED_BY_ENCODING = {
    "UTF-8": b"\n",
    "US-ASCII": b"\n",
    "ISO-8859-1": b"\n",
    "ISO-8859-15": b"\n",
    "windows-1252": b"\n",
    "UTF-16LE": b"\n\x00",
    "UTF-16BE": b"\x00\n",
}
UTF16_BYTE_ORDER_MARKS = {b"\xff\xfe": "UTF-16LE", b"\xfe\xff": "UTF-16BE"}
BYTE_ORDER_MARKS = {"UTF-8": b"\xef\xbb\xbf", "UTF-16LE": b"\xff\xfe", "UTF-16BE": b"\xfe\xff"}
SUPPORTED_ENCODINGS = (*LINE_FEED_BY_ENCODING, "UTF-16")

# Unicode White_Space at either end: what `trimKeys` removes from key values (Java's (?U)\s).
KEY_PADDING_PATTERN = r"(?U)^\s+|\s+$"


class LineState(Enum):
    """Where a physical line leaves the record it belongs to."""

    ENDS_RECORD = "ends-record"
    CONTINUES = "continues"  # a quoted field is still open: the record goes on on the next line
    MALFORMED = "malformed"


def _char(character: str) -> str:
    return f"\\u{ord(character):04x}"


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str
    quote: str
    escape: str
    null_value: str
    encoding: str
    header: bool
    trim_keys: bool

    @classmethod
    def from_plan(cls, csv_options: Mapping) -> CsvDialect:
        """The dialect of a job plan's `extract.csv`."""
        return cls(
            delimiter=csv_options["delimiter"],
            quote=csv_options["quote"],
            escape=csv_options["escape"],
            null_value=csv_options["nullValue"],
            encoding=csv_options["encoding"],
            header=csv_options["header"],
            trim_keys=csv_options["trimKeys"],
        )

    @property
    def _d(self) -> str:
        return _char(self.delimiter)

    @property
    def _q(self) -> str:
        return _char(self.quote)

    @property
    def _e(self) -> str:
        return _char(self.escape)

    @property
    def delimiter_pattern(self) -> str:
        return self._d

    @property
    def quoted_content(self) -> str:
        """The content of a quoted field, between its quotes (an escaped quote is part of it)."""
        # Possessive runs keep Java's matcher from recursing once per character: a field of a
        # thousand lines would overflow its stack otherwise. The grammar is unambiguous, so
        # giving up backtracking changes nothing that matches.
        q, e = self._q, self._e
        if self.quote == self.escape:
            return f"(?:[^{q}]++|{q}{q})*+"
        return f"(?:[^{q}{e}]++|{e}[{q}{e}]|{e}(?![{q}{e}]))*+"

    @property
    def field(self) -> str:
        """One whole field, quoted or not."""
        return f"(?:{self._q}{self.quoted_content}{self._q}|[^{self._d}{self._q}\\r\\n]*+)"

    @property
    def field_in_record(self) -> str:
        """A field starting at the record's start or right after a delimiter, captured as group 1.

        Found one after another in a well-formed record, these are exactly its fields, empty ones
        included (the look-behind, unlike a consumed delimiter, also finds an empty first field).
        """
        return f"(?:^|(?<={self._d}))({self.field})"

    @property
    def escaped_character(self) -> str:
        """An escape sequence inside a quoted field, with the character it stands for as group 1."""
        if self.quote == self.escape:
            return f"{self._q}({self._q})"
        return f"{self._e}([{self._q}{self._e}])"

    @cached_property
    def _record(self) -> re.Pattern[str]:
        return re.compile(f"{self.field}(?:{self._d}{self.field})*")

    @cached_property
    def _record_left_open(self) -> re.Pattern[str]:
        return re.compile(f"(?:{self.field}{self._d})*{self._q}{self.quoted_content}")

    @cached_property
    def _rest_of_record(self) -> re.Pattern[str]:
        return re.compile(f"{self.quoted_content}{self._q}(?:{self._d}{self.field})*")

    @cached_property
    def _rest_left_open(self) -> re.Pattern[str]:
        q, d = self._q, self._d
        return re.compile(f"{self.quoted_content}(?:{q}(?:{d}{self.field})*{d}{q}{self.quoted_content})?")

    @cached_property
    def _field_at(self) -> re.Pattern[str]:
        return re.compile(self.field)

    @cached_property
    def _escape_sequence(self) -> re.Pattern[str]:
        return re.compile(self.escaped_character)

    def line_state(self, text: str, *, inside_quotes: bool) -> LineState:
        """Where one physical line (without its line break) leaves the record.

        `inside_quotes` says whether the line continues a quoted field of the lines before it.
        """
        if not inside_quotes:
            if self.quote not in text and "\r" not in text:
                return LineState.ENDS_RECORD
            if self._record.fullmatch(text):
                return LineState.ENDS_RECORD
            if self._record_left_open.fullmatch(text):
                return LineState.CONTINUES
            return LineState.MALFORMED
        if self._rest_of_record.fullmatch(text):
            return LineState.ENDS_RECORD
        if self._rest_left_open.fullmatch(text):
            return LineState.CONTINUES
        return LineState.MALFORMED

    def split(self, record: str) -> list[str]:
        """The fields of a well-formed record, unquoted and unescaped (staging reads headers with it)."""
        fields: list[str] = []
        position = 0
        while True:
            match = self._field_at.match(record, position)
            text = match.group(0)
            quoted = text.startswith(self.quote)
            fields.append(self._escape_sequence.sub(r"\1", text[1:-1]) if quoted else text)
            position = match.end()
            if position == len(record):
                return fields
            if record[position] != self.delimiter:
                raise ValueError(f"not a well-formed record: {record!r}")
            position += 1
