"""The lookup-table loader: one export (a folder of parts) in S3 loaded into a DynamoDB lookup table, by a Glue Spark job.

It replaces AWS Data Pipeline's "Import DynamoDB backup data from S3". Where things are:

    plan        <lookup_uri>                                    the LookupPlan JSON the Pulumi program uploads
    export      s3://<export_bucket><export_prefix><folder>/    parts and a completion marker (lookup_export.py)
    checkpoint  <checkpoint_uri><lookup>/<URL-encoded folder>/<digest>.json               while the export is loaded
    rejected    <checkpoint_uri><lookup>/<URL-encoded folder>/<digest>/rejected/<range>.jsonl   one object per range
    report      s3://<report_bucket>/<report_prefix><lookup>/<run id>/report.json
    rejected    s3://<report_bucket>/<report_prefix><lookup>/<run id>/rejected.jsonl  {part, line, code, reason, text}

A run, on the driver:
1. Resolves the export: the folder of the newest completion marker (`latest`), or the folder asked
   for, and its parts (every object, or what its manifest lists; a folder without a marker is never
   loaded). The digest of the parts' keys, ETags and sizes names the export. It reads the checkpoint
   of that exact export. Without one, it splits each part into byte ranges of about `chunk_bytes`,
   each starting at a line start (found by reading a little past each boundary) — a gzip part, and
   an escaped redshift-text part, are one range each — and writes a checkpoint holding the ranges,
   each CSV part's header, the load time (for TTLs) and the load generation, so a resumed run uses
   the same ranges and writes the same items.
2. Key pass: one Spark task per range reads its range (a ranged GetObject with If-Match on the part's
   ETag, or the whole gzip part decompressed as it streams), validates every line and emits the
   keys; Spark reduces them and the driver collects only the keys that occur on more than one good
   line (with the position of the last such line) and, for a full refresh, the keys named only by
   rejected lines. Last line wins across the whole export this way (parts in order, then lines),
   although ranges are written in parallel and in no particular order.
3. Load pass: the ranges not completed yet, one Spark job each, `ranges_in_flight` at a time. A task
   validates its lines again, skips lines a later line supersedes, and writes the rest with
   BatchWriteItem from a bounded pool of threads (25 puts a request, never one key twice in a request),
   backing off with full jitter on throttling and on UnprocessedItems until a deadline; it writes its
   rejected lines to an object and returns only counts. When a range is fully written the driver
   records it in the checkpoint. A range that could not be fully written is not recorded: the run
   fails after the other ranges, and the next run of the same export loads only what is missing.
   A part whose line count differs from its manifest's item count (DynamoDB export) fails the run.
4. Full refresh: every item carries `load_generation` (derived from the folder and digest, so it is
   the same in a resumed run). Only after every range of every part is written, parallel scan
   segments (Spark tasks) delete the items of other generations, except keys whose lines were
   rejected (their last good value stays). So a key any part holds is never deleted: it is
   overwritten in place and never missing; a failed range or part means no deletion.
5. Assembles rejected.jsonl (line numbers are range-local until every earlier range of the part has
   its line count), writes the report, deletes the checkpoint. Report counts cover the whole export,
   also when some ranges were loaded by an earlier run; requests and retries are this run's.

Only the export whose load started last can be resumed: a run discards every other checkpoint of its
lookup before it writes, because its writes (and a full refresh's deletions) make them describe a table
that no longer is. That relies on one run at a time per lookup (the Glue job's maxConcurrentRuns is 1).

Nothing but counts, the rejected lines' objects and completed range ids crosses the executor
boundary, apart from the duplicated and rejected keys of the key pass (a small share of an export).
A rerun of a completed export puts the same items again (PutRequest), so the table ends the same.
CSV exports must keep each record on one physical line (no line breaks inside quoted cells).
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import json
import random
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from ingest.dynamodb_writer import is_transient
from ingest.locations import load_json, split_s3_uri
from ingest.lookup_export import ExportFolder, ExportPart, resolve_export
from ingest.lookup_lines import (
    ParsedLine,
    Rejection,
    header_problems,
    join_escaped_lines,
    key_of,
    parse_csv_header,
    parse_record,
    short,
)
from ingest.lookup_plan import GENERATION_ATTRIBUTE, LookupPlan, LookupPlanError, parse_lookup_plan
from ingest.report import RunFailure, reported_run

LOOKUP_JOB_CONTRACT = "lookup_job_arguments"
BATCH_WRITE_LIMIT = 25
_MAX_NAMED_FAILURES = 5


# ---------------------------------------------------------------------------------------------
# Byte ranges


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


# ---------------------------------------------------------------------------------------------
# Executor side: settings, clients, batch writes


@dataclass(frozen=True)
class LoaderTuning:
    chunk_bytes: int = 8 * 1024 * 1024
    probe_bytes: int = 64 * 1024
    ranges_in_flight: int | None = None  # Spark jobs at once; defaults to the cluster's parallelism
    threads: int = 16  # BatchWriteItem requests in flight per range
    deadline_seconds: float = 900.0  # per range (and per scan segment) for backing off
    backoff_base_seconds: float = 0.05
    backoff_cap_seconds: float = 5.0
    scan_segments: int | None = None  # full refresh; defaults to the cluster's parallelism
    # A longer line cannot be an item (400 KB, even as escaped JSON text), and reading it whole could exhaust a worker.
    line_limit: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class TaskSettings:
    """Everything a task needs, sent with it (plain data, so it pickles)."""

    plan: LookupPlan
    table_name: str
    export_bucket: str
    parts: tuple[ExportPart, ...]
    headers: tuple[tuple[str, ...] | None, ...]  # a CSV export's header, per part
    stamp: Mapping[str, dict]
    generation: str
    parts_bucket: str
    parts_prefix: str  # rejected-line parts go to <parts_prefix><range, 6 digits>.jsonl
    s3_endpoint: str | None
    dynamodb_endpoint: str | None
    region: str | None
    tuning: LoaderTuning


ClientFactory = Callable[[TaskSettings], object]


@functools.cache
def _client(service: str, endpoint_url: str | None, region: str | None, pool: int, attempts: int):
    config = Config(retries={"total_max_attempts": attempts, "mode": "standard"}, max_pool_connections=max(10, pool))
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, config=config)


def default_dynamodb_client(settings: TaskSettings):
    """A client without botocore's retries (backoff is this module's), built once per Python worker."""
    return _client("dynamodb", settings.dynamodb_endpoint, settings.region, settings.tuning.threads, 1)


def _s3_client(settings: TaskSettings):
    return _client("s3", settings.s3_endpoint, settings.region, 10, 3)


class WriteEntry(NamedTuple):
    key: tuple[str, ...]
    request: dict  # {"PutRequest": ...} or {"DeleteRequest": ...}
    line: int | None  # range-local line of a put
    text: str | None = None  # the line of a put, reported if DynamoDB refuses it


@dataclass
class WriteCounts:
    written: int = 0
    requests: int = 0
    retries: int = 0  # requests repeated after a throttling or transient error
    unprocessed_retried: int = 0  # entries sent again after coming back in UnprocessedItems
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (line, text, DynamoDB's message) of refused puts
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def fail(self, entries: Sequence[WriteEntry], message: str) -> None:
        with self.lock:
            self.failed += len(entries)
            if len(self.failures) < _MAX_NAMED_FAILURES:
                self.failures.append(f"{len(entries)} item(s), e.g. key {list(entries[0].key)}: {message}")


class BatchWriter:
    """BatchWriteItem from a bounded pool of threads: 25 entries a request, a key at most once a request.

    Throttling and transient errors repeat the request, UnprocessedItems are sent again, both with
    exponential backoff and full jitter until the deadline; what is left then is counted as failed.
    A request DynamoDB refuses as invalid is split into single entries, so one bad item is refused
    alone (counted in `refused` with its line) and the others are written.
    """

    def __init__(
        self,
        client,
        table_name: str,
        key_names: Sequence[str],
        tuning: LoaderTuning,
        counts: WriteCounts,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table = table_name
        self._key_names = tuple(key_names)
        self._tuning = tuning
        self._counts = counts
        self._sleep = sleep
        self._clock = clock
        self._deadline = clock() + tuning.deadline_seconds
        self._pool = ThreadPoolExecutor(max_workers=tuning.threads)
        self._in_flight: set[Future] = set()
        self._batch: list[WriteEntry] = []
        self._batch_keys: set[tuple[str, ...]] = set()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if exc_info[0] is None:
                self._flush()
                for future in self._in_flight:
                    future.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, entry: WriteEntry) -> None:
        if entry.key in self._batch_keys:
            self._flush()  # DynamoDB refuses a request that names a key twice
        self._batch.append(entry)
        self._batch_keys.add(entry.key)
        if len(self._batch) == BATCH_WRITE_LIMIT:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        if len(self._in_flight) >= self._tuning.threads * 2:
            done, self._in_flight = wait(self._in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()
        self._in_flight.add(self._pool.submit(self._send, self._batch))
        self._batch, self._batch_keys = [], set()

    def _send(self, entries: list[WriteEntry]) -> None:
        pending = entries
        attempt = 0
        while True:
            self._counts.add(requests=1)
            try:
                response = self._client.batch_write_item(RequestItems={self._table: [entry.request for entry in pending]})
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code == "ValidationException":
                    self._refused(pending, error)
                    return
                if not is_transient(error):
                    self._counts.fail(pending, f"{code}: {error}")
                    return
                reason = code
                self._counts.add(retries=1)
            except (ConnectionError, HTTPClientError) as error:
                reason = type(error).__name__
                self._counts.add(retries=1)
            else:
                unprocessed = response.get("UnprocessedItems", {}).get(self._table, [])
                self._counts.add(written=len(pending) - len(unprocessed))
                if not unprocessed:
                    return
                by_key = {entry.key: entry for entry in pending}
                pending = [by_key[self._request_key(request)] for request in unprocessed]
                reason = "UnprocessedItems"
                self._counts.add(unprocessed_retried=len(pending))
            pause = random.uniform(0, min(self._tuning.backoff_cap_seconds, self._tuning.backoff_base_seconds * 2**attempt))
            if self._clock() + pause > self._deadline:
                self._counts.fail(pending, f"still {reason} after {attempt + 1} attempts at the deadline")
                return
            attempt += 1
            self._sleep(pause)

    def _refused(self, entries: list[WriteEntry], error: ClientError) -> None:
        if len(entries) > 1:
            for entry in entries:
                self._send([entry])
            return
        [entry] = entries
        message = error.response.get("Error", {}).get("Message", str(error))
        if entry.line is None:
            self._counts.fail(entries, f"ValidationException: {message}")
        else:
            with self._counts.lock:
                self._counts.refused.append((entry.line, entry.text or "", message))

    def _request_key(self, request: Mapping) -> tuple[str, ...]:
        if "PutRequest" in request:
            return key_of(request["PutRequest"]["Item"], self._key_names)
        return key_of(request["DeleteRequest"]["Key"], self._key_names)


# ---------------------------------------------------------------------------------------------
# Executor side: the tasks


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


def _physical_lines(settings: TaskSettings, byte_range: ByteRange) -> Iterator[bytes]:
    """The range's physical lines without their line break: a ranged read, or a gzip part decompressed as it streams."""
    part = settings.parts[byte_range.part]
    request = {"Bucket": settings.export_bucket, "Key": part.key, "IfMatch": part.etag}  # the part planned on, or PreconditionFailed
    if part.gzip:
        with gzip.GzipFile(fileobj=_s3_client(settings).get_object(**request)["Body"]) as stream:
            yield from bounded_lines(stream.read, settings.tuning.line_limit)
        return
    body = _s3_client(settings).get_object(**request, Range=f"bytes={byte_range.first}-{byte_range.last}")["Body"]
    yield from bounded_lines(body.read, settings.tuning.line_limit)


def _lines(settings: TaskSettings, byte_range: ByteRange) -> RangeLines:
    return range_lines(
        _physical_lines(settings, byte_range),
        settings.plan,
        part_start=byte_range.first == 0,
        has_header=settings.headers[byte_range.part] is not None,
    )


def _parse(raw: bytes, settings: TaskSettings, byte_range: ByteRange) -> tuple[str, ParsedLine]:
    if isinstance(raw, OverlongLine):
        reason = f"the line is {raw.length} bytes long; the loader reads lines of at most {settings.tuning.line_limit} bytes"
        return raw.decode("utf-8", "backslashreplace") + "...", ParsedLine(rejection=Rejection("line-too-long", reason))
    return parse_record(raw, settings.plan, header=settings.headers[byte_range.part], stamp=settings.stamp)


KeyStats = tuple[int, tuple[int, int] | None, bool]  # (good lines, position of the last good line, named by a rejected line)


def key_partition(ranges: Iterable[ByteRange], settings: TaskSettings) -> Iterator[tuple[tuple[str, ...], KeyStats]]:
    """Key pass: (key, stats) for every line whose key is valid; the position is (range index, line in range)."""
    for byte_range in ranges:
        for number, raw in _lines(settings, byte_range):
            _, parsed = _parse(raw, settings, byte_range)
            if parsed.item is not None:
                yield parsed.key, (1, (byte_range.index, number), False)
            elif parsed.key is not None and settings.plan.full_refresh:
                yield parsed.key, (0, None, True)


def merge_key_stats(first: KeyStats, second: KeyStats) -> KeyStats:
    positions = [position for position in (first[1], second[1]) if position is not None]
    return first[0] + second[0], max(positions) if positions else None, first[2] or second[2]


def load_partition(ranges: Iterable[ByteRange], settings: TaskSettings, winners, client_factory: ClientFactory) -> Iterator[dict]:
    """Load pass (mapPartitions): one outcome dict per range; `winners` is the broadcast of duplicated keys."""
    for byte_range in ranges:
        yield load_range(byte_range, settings, winners.value, client_factory)


def load_range(
    byte_range: ByteRange,
    settings: TaskSettings,
    winners: Mapping[tuple[str, ...], tuple[int, int]],
    client_factory: ClientFactory = default_dynamodb_client,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Validates and writes one range; writes its rejected lines to its part object; returns its counts.

    A line whose key is in `winners` at another position is superseded by a later line: counted as a
    duplicate, not written. `error` is set (and nothing written) when the range cannot be read.
    """
    outcome = {
        "range": byte_range.index,
        "part": byte_range.part,
        "physicalLines": 0,
        "lines": 0,
        "loaded": 0,
        "rejected": 0,
        "rejectedByReason": {},
        "duplicates": 0,
        "requests": 0,
        "retries": 0,
        "unprocessedRetried": 0,
        "failed": 0,
        "failures": [],
        "error": None,
    }
    part = settings.parts[byte_range.part]
    rejected: list[dict] = []
    counts = WriteCounts()
    writer = BatchWriter(
        client_factory(settings), settings.table_name, settings.plan.key_names, settings.tuning, counts, sleep=sleep, clock=clock
    )
    lines = _lines(settings, byte_range)
    try:
        with writer:
            for number, raw in lines:
                outcome["lines"] += 1
                text, parsed = _parse(raw, settings, byte_range)
                if parsed.rejection is not None:
                    rejected.append({"line": number, "code": parsed.rejection.code, "reason": parsed.rejection.reason, "text": text})
                    continue
                winner = winners.get(parsed.key)
                if winner is not None and winner != (byte_range.index, number):
                    outcome["duplicates"] += 1
                    continue
                writer.add(WriteEntry(parsed.key, {"PutRequest": {"Item": parsed.item}}, number, text))
    except (BotoCoreError, ClientError, OSError, EOFError, zlib.error) as error:
        # Items written before the part became unreadable stay; the range is not recorded, so a later run writes it again.
        outcome["error"] = f"cannot read bytes {byte_range.first}-{byte_range.last} of {part.key}: {error}"
        return outcome
    outcome["physicalLines"] = lines.physical
    for number, text, message in counts.refused:
        rejected.append({"line": number, "code": "refused-by-dynamodb", "reason": f"DynamoDB refused the item: {message}", "text": text})
    outcome.update(
        loaded=counts.written,
        rejected=len(rejected),
        requests=counts.requests,
        retries=counts.retries,
        unprocessedRetried=counts.unprocessed_retried,
        failed=counts.failed,
        failures=counts.failures,
    )
    for record in rejected:
        outcome["rejectedByReason"][record["code"]] = outcome["rejectedByReason"].get(record["code"], 0) + 1
    if rejected:
        body = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in sorted(rejected, key=lambda record: record["line"]))
        _s3_client(settings).put_object(
            Bucket=settings.parts_bucket, Key=part_key(settings.parts_prefix, byte_range.index), Body=body.encode("utf-8")
        )
    return outcome


def delete_partition(
    segments: Iterable[int], settings: TaskSettings, total_segments: int, kept, client_factory: ClientFactory
) -> Iterator[dict]:
    """Full refresh (mapPartitions over scan segments): deletes the items of other load generations."""
    for segment in segments:
        yield delete_stale_segment(segment, total_segments, settings, kept.value, client_factory)


def delete_stale_segment(
    segment: int,
    total_segments: int,
    settings: TaskSettings,
    kept: frozenset[tuple[str, ...]],
    client_factory: ClientFactory = default_dynamodb_client,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Scans one segment for items whose load_generation is not this export's and deletes them, except `kept` keys."""
    client = client_factory(settings)
    key_names = settings.plan.key_names
    names = {f"#k{index}": name for index, name in enumerate(key_names)} | {"#g": GENERATION_ATTRIBUTE}
    request = {
        "TableName": settings.table_name,
        "Segment": segment,
        "TotalSegments": total_segments,
        "ConsistentRead": True,
        "ProjectionExpression": ", ".join(name for name in names if name != "#g"),
        "FilterExpression": "attribute_not_exists(#g) OR #g <> :g",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":g": {"S": settings.generation}},
    }
    counts = WriteCounts()
    outcome = {
        "segment": segment,
        "deleted": 0,
        "kept": 0,
        "requests": 0,
        "retries": 0,
        "unprocessedRetried": 0,
        "failed": 0,
        "failures": [],
    }
    deadline = clock() + settings.tuning.deadline_seconds
    with BatchWriter(client, settings.table_name, key_names, settings.tuning, counts, sleep=sleep, clock=clock) as writer:
        start_key = None
        while True:
            page = _scan_page(
                client, {**request, **({"ExclusiveStartKey": start_key} if start_key else {})}, settings, counts, sleep, clock, deadline
            )
            if page is None:
                break
            for stale in page.get("Items", []):
                key = {name: stale[name] for name in key_names}
                if key_of(key, key_names) in kept:
                    outcome["kept"] += 1
                else:
                    writer.add(WriteEntry(key_of(key, key_names), {"DeleteRequest": {"Key": key}}, None))
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                break
    outcome.update(
        deleted=counts.written,
        requests=counts.requests,
        retries=counts.retries,
        unprocessedRetried=counts.unprocessed_retried,
        failed=counts.failed,
        failures=counts.failures,
    )
    return outcome


def _scan_page(client, request: dict, settings: TaskSettings, counts: WriteCounts, sleep, clock, deadline: float) -> dict | None:
    """One Scan page with the writer's backoff; None (and a failure counted) when it is still throttled at the deadline."""
    attempt = 0
    while True:
        counts.add(requests=1)
        try:
            return client.scan(**request)
        except ClientError as error:
            if not is_transient(error):
                raise
            reason = error.response.get("Error", {}).get("Code", "")
        except (ConnectionError, HTTPClientError) as error:
            reason = type(error).__name__
        pause = random.uniform(0, min(settings.tuning.backoff_cap_seconds, settings.tuning.backoff_base_seconds * 2**attempt))
        if clock() + pause > deadline:
            with counts.lock:
                counts.failed += 1
                counts.failures.append(f"scan segment {request['Segment']}: still {reason} after {attempt + 1} attempts at the deadline")
            return None
        counts.add(retries=1)
        attempt += 1
        sleep(pause)


# ---------------------------------------------------------------------------------------------
# Keys, checkpoints, generations


def url_safe_key(export_folder: str) -> str:
    """The export folder as one path segment: every character but letters, digits and _.-~ percent-encoded."""
    return quote(export_folder, safe="")


def load_generation(export_folder: str, digest: str) -> str:
    """The generation stamped on every item of one export: the same for every run of the same parts."""
    return hashlib.sha256(f"{export_folder}\n{digest}".encode()).hexdigest()[:32]


def checkpoint_location(checkpoint_uri: str, lookup: str, export_folder: str, digest: str) -> tuple[str, str]:
    """(bucket, key) of the checkpoint of one export (its folder, with exactly these parts)."""
    bucket, prefix = split_s3_uri(checkpoint_uri)
    return bucket, f"{prefix}{lookup}/{url_safe_key(export_folder)}/{digest}.json"


def part_key(parts_prefix: str, range_index: int) -> str:
    return f"{parts_prefix}{range_index:06d}.jsonl"


def report_key(report_prefix: str, lookup: str, run_id: str, name: str) -> str:
    return f"{report_prefix}{lookup}/{run_id}/{name}"


@dataclass
class Checkpoint:
    """What the runs of one export record as they go; `completed` maps range index to its counts.

    The export is named by its folder and digest (every part's key, ETag and size), so a checkpoint
    is resumed only for exactly the parts it was planned on.
    """

    folder: str
    digest: str
    fingerprint: str  # of the plan and table: a checkpoint made under another plan is not resumed
    generation: str
    loaded_at: int  # epoch seconds of the first run, the base of the TTLs
    headers: tuple[tuple[str, ...] | None, ...]  # per part
    ranges: list[ByteRange]
    completed: dict[int, dict] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 2,
                "folder": self.folder,
                "digest": self.digest,
                "fingerprint": self.fingerprint,
                "loadGeneration": self.generation,
                "loadedAt": self.loaded_at,
                "headers": [list(header) if header is not None else None for header in self.headers],
                "ranges": [[byte_range.part, byte_range.first, byte_range.last] for byte_range in self.ranges],
                "completed": {str(index): counts for index, counts in sorted(self.completed.items())},
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, document: Mapping) -> Checkpoint:
        if document.get("version") != 2:
            raise ValueError(f"checkpoint version {document.get('version')!r} is not 2")
        return cls(
            folder=document["folder"],
            digest=document["digest"],
            fingerprint=document["fingerprint"],
            generation=document["loadGeneration"],
            loaded_at=document["loadedAt"],
            headers=tuple(tuple(header) if header is not None else None for header in document["headers"]),
            ranges=[ByteRange(index, part, first, last) for index, (part, first, last) in enumerate(document["ranges"])],
            completed={int(index): counts for index, counts in document["completed"].items()},
        )


# Counts a completed range keeps in the checkpoint (the rest of its outcome is this run's work).
_RANGE_COUNTS = ("physicalLines", "lines", "loaded", "rejected", "rejectedByReason", "duplicates")


def plan_fingerprint(plan_document: Mapping, table_name: str) -> str:
    return hashlib.sha256(json.dumps([plan_document, table_name], sort_keys=True).encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------
# The run


@dataclass(frozen=True)
class LookupClients:
    s3: object
    dynamodb: object
    sns: object | None = None


@dataclass
class LookupReport:
    run_id: str
    started_at: str
    lookup: str | None = None
    table: str | None = None
    export: ExportFolder | None = None
    load_generation: str | None = None
    status: str = "running"
    lines: int = 0
    loaded: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    deleted: int = 0
    deletion: dict = field(default_factory=lambda: {"status": "not requested"})
    ranges_total: int = 0
    ranges_skipped: int = 0
    ranges_loaded: int = 0
    range_failures: dict[int, str] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    unprocessed_retried: int = 0
    seconds: float = 0.0
    rejected_location: str | None = None
    failure: dict | None = None
    finished_at: str | None = None

    def to_dict(self) -> dict:
        return {
            "job": "lookup-load",
            "lookup": self.lookup,
            "runId": self.run_id,
            "status": self.status,
            "table": self.table,
            "export": self.export.to_dict() if self.export is not None else None,
            "loadGeneration": self.load_generation,
            "lines": self.lines,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "rejectedByReason": dict(sorted(self.rejected_by_reason.items())),
            "duplicates": self.duplicates,
            "deleted": self.deleted,
            "deletion": self.deletion,
            "ranges": {
                "total": self.ranges_total,
                "skipped": self.ranges_skipped,
                "loaded": self.ranges_loaded,
                "failed": len(self.range_failures),
                "failures": {str(index): error for index, error in sorted(self.range_failures.items())},
            },
            "requests": self.requests,
            "retries": self.retries,
            "unprocessedRetried": self.unprocessed_retried,
            "seconds": self.seconds,
            "rejectedLocation": self.rejected_location,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "failure": self.failure,
        }

    def add_work(self, outcome: Mapping) -> None:
        self.requests += outcome["requests"]
        self.retries += outcome["retries"]
        self.unprocessed_retried += outcome["unprocessedRetried"]


def run(
    spark: SparkSession,
    arguments: Mapping[str, str],
    clients: LookupClients,
    *,
    tuning: LoaderTuning = LoaderTuning(),
    client_factory: ClientFactory = default_dynamodb_client,
    run_id: str | None = None,
    now: Callable[[], float] = time.time,
    on_range_recorded: Callable[[int, int], None] | None = None,
    progress: Callable[[str], None] = print,
) -> LookupReport:
    """Loads one export; writes and prints the report, then returns it or raises RunFailure.

    `client_factory` builds the DynamoDB client of each task (tests inject throttling through it);
    `on_range_recorded(range index, ranges recorded so far)` is called on the driver after each
    checkpoint write; `now` gives the load time of a new checkpoint (the TTL base).
    """
    started = time.monotonic()
    start_time = datetime.fromtimestamp(now(), UTC)
    report = LookupReport(run_id=run_id or start_time.strftime("%Y%m%dT%H%M%S%fZ"), started_at=_iso(start_time))

    def finish_and_publish() -> None:
        report.seconds = round(time.monotonic() - started, 3)
        report.finished_at = _iso(datetime.fromtimestamp(now(), UTC))
        _publish(clients, arguments, report, progress)

    with reported_run(report, finish_and_publish):
        _load(spark, arguments, clients, report, tuning, client_factory, now, on_range_recorded, progress)
        report.status = "succeeded"
    return report


def _load(spark, arguments, clients: LookupClients, report: LookupReport, tuning, client_factory, now, on_range_recorded, progress) -> None:
    _check_arguments(arguments)
    s3 = clients.s3
    try:
        plan_document = load_json(s3, arguments["lookup_uri"])
        plan = parse_lookup_plan(plan_document)
    except (LookupPlanError, json.JSONDecodeError, ClientError, OSError) as error:
        raise RunFailure("invalid-lookup-plan", f"{arguments['lookup_uri']}: {error}") from error
    report.lookup, report.table = plan.lookup, arguments["table_name"]
    _check_table(clients.dynamodb, arguments["table_name"], plan)
    bucket = arguments["export_bucket"]
    export = resolve_export(s3, bucket, arguments["export_prefix"], arguments["export"], plan.markers, plan.format)
    report.export = export
    if export.unlisted:
        progress(
            json.dumps({"level": "WARN", "message": "objects the manifest does not list are not loaded", "objects": list(export.unlisted)})
        )

    checkpoint_bucket, checkpoint_key = checkpoint_location(arguments["checkpoint_uri"], plan.lookup, export.folder, export.digest)
    fingerprint = plan_fingerprint(plan_document, arguments["table_name"])
    checkpoint = _read_checkpoint(s3, checkpoint_bucket, checkpoint_key, progress)
    if checkpoint is not None and checkpoint.fingerprint != fingerprint:
        progress(
            json.dumps(
                {"level": "WARN", "message": "checkpoint made under another plan or table; loading afresh", "checkpoint": checkpoint_key}
            )
        )
        checkpoint = None
    # This run writes to the table, so no other checkpoint of the lookup describes the table any more.
    _delete_checkpoints(s3, checkpoint_bucket, _lookup_prefix(checkpoint_key), keep=checkpoint_key)
    if checkpoint is None:
        checkpoint = _new_checkpoint(s3, bucket, export, plan, fingerprint, tuning, int(now()))
        _write_checkpoint(s3, checkpoint_bucket, checkpoint_key, checkpoint)
    report.load_generation = checkpoint.generation
    report.ranges_total = len(checkpoint.ranges)
    report.ranges_skipped = len(checkpoint.completed)
    settings = _task_settings(plan, arguments, clients, export, checkpoint, checkpoint_bucket, checkpoint_key, tuning)
    progress(
        json.dumps(
            {
                "level": "INFO",
                "message": "lookup load started",
                "lookup": plan.lookup,
                "export": f"s3://{bucket}/{export.folder}",
                "parts": len(export.parts),
                "bytes": sum(part.size for part in export.parts),
                "ranges": report.ranges_total,
                "alreadyLoaded": report.ranges_skipped,
            }
        )
    )

    sc = spark.sparkContext
    parallelism = max(1, sc.defaultParallelism)
    pending = [byte_range for byte_range in checkpoint.ranges if byte_range.index not in checkpoint.completed]
    winners: dict = {}
    kept: frozenset = frozenset()
    if pending or plan.full_refresh:
        winners, kept = _key_pass(sc, checkpoint.ranges, settings, parallelism)
        progress(json.dumps({"level": "INFO", "message": "keys counted", "duplicatedKeys": len(winners), "keysOnlyRejected": len(kept)}))
    if pending:
        recorder = _RangeRecorder(s3, checkpoint_bucket, checkpoint_key, checkpoint, report, on_range_recorded, progress)
        _load_pass(sc, pending, settings, winners, client_factory, tuning.ranges_in_flight or parallelism, recorder)
    _add_totals(report, checkpoint)
    if report.range_failures:
        if plan.full_refresh:
            report.deletion = {"status": "skipped", "reason": "not every range was loaded"}
        listed = "; ".join(f"range {index}: {error}" for index, error in sorted(report.range_failures.items()))
        raise RunFailure(
            "ranges-failed",
            f"{len(report.range_failures)} of {report.ranges_total} range(s) were not fully loaded; "
            f"a run of the same export loads only the ranges not loaded yet: {listed}",
        )
    _check_part_counts(export, checkpoint)
    if report.rejected:
        report.rejected_location = _write_rejected(s3, arguments, plan.lookup, report.run_id, checkpoint, settings)
    if plan.full_refresh:
        _delete_stale(sc, settings, kept, client_factory, tuning.scan_segments or parallelism, report)
    _delete_checkpoints(s3, checkpoint_bucket, _lookup_prefix(checkpoint_key))


def _check_arguments(arguments: Mapping[str, str]) -> None:
    problems = [
        f"--{name} must end in / (got {arguments[name]!r})"
        for name in ("export_prefix", "report_prefix")
        if not arguments[name].endswith("/")
    ]
    try:
        split_s3_uri(arguments["checkpoint_uri"])
        if not arguments["checkpoint_uri"].endswith("/"):
            problems.append(f"--checkpoint_uri must end in / (got {arguments['checkpoint_uri']!r})")
    except ValueError as error:
        problems.append(f"--checkpoint_uri: {error}")
    if not arguments["export"]:
        problems.append("--export must be latest, an export folder ending in /, or the key of its completion marker")
    if problems:
        raise RunFailure("invalid-arguments", "; ".join(problems))


def _check_table(dynamodb, table_name: str, plan: LookupPlan) -> None:
    """The table's key schema must be the plan's key: otherwise every write would be refused."""
    try:
        table = dynamodb.describe_table(TableName=table_name)["Table"]
    except ClientError as error:
        raise RunFailure("table-not-found", f"cannot describe table {table_name}: {error}") from error
    types = {definition["AttributeName"]: definition["AttributeType"] for definition in table["AttributeDefinitions"]}
    actual = [
        (entry["AttributeName"], types.get(entry["AttributeName"]))
        for entry in sorted(table["KeySchema"], key=lambda entry: entry["KeyType"])
    ]
    expected = [(key.name, key.descriptor) for key in plan.keys]
    if actual != expected:
        shown = ", ".join
        raise RunFailure(
            "table-key-mismatch",
            f"table {table_name} has the key {shown(f'{name} ({kind})' for name, kind in actual)}; "
            f"the plan has {shown(f'{name} ({kind})' for name, kind in expected)}",
        )


def _read_checkpoint(s3, bucket: str, key: str, progress: Callable[[str], None]) -> Checkpoint | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    try:
        return Checkpoint.from_json(json.loads(body))
    except (ValueError, KeyError, TypeError) as error:
        # Loading afresh is always correct (the writes are idempotent); it only costs time.
        progress(json.dumps({"level": "WARN", "message": "unreadable checkpoint; loading afresh", "checkpoint": key, "error": str(error)}))
        return None


def _write_checkpoint(s3, bucket: str, key: str, checkpoint: Checkpoint) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=checkpoint.to_json().encode("utf-8"), ContentType="application/json")


def _lookup_prefix(checkpoint_key: str) -> str:
    """<checkpoint prefix><lookup>/ of a checkpoint key <checkpoint prefix><lookup>/<export>/<etag>.json."""
    return checkpoint_key.rsplit("/", 2)[0] + "/"


def _delete_checkpoints(s3, bucket: str, prefix: str, *, keep: str | None = None) -> None:
    """Every checkpoint (and its rejected-line parts) under `prefix`, except the checkpoint `keep` and its parts."""
    kept_parts = keep.removesuffix(".json") + "/" if keep else None
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(
            entry["Key"]
            for entry in page.get("Contents", [])
            if not (keep and (entry["Key"] == keep or entry["Key"].startswith(kept_parts)))
        )
    for start in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": name} for name in keys[start : start + 1000]], "Quiet": True})


def _new_checkpoint(
    s3, bucket: str, export: ExportFolder, plan: LookupPlan, fingerprint: str, tuning: LoaderTuning, loaded_at: int
) -> Checkpoint:
    ranges: list[ByteRange] = []
    headers: list[tuple[str, ...] | None] = []
    for part_index, part in enumerate(export.parts):

        def read(first: int, last: int, part: ExportPart = part) -> bytes:
            return s3.get_object(Bucket=bucket, Key=part.key, Range=f"bytes={first}-{last}", IfMatch=part.etag)["Body"].read()

        headers.append(_read_header(s3, bucket, part, tuning, plan) if plan.format == "csv" and part.size > 0 else None)
        if whole_part(part, plan):
            spans = [(0, part.size - 1)] if part.size > 0 else []
        else:
            spans = split_ranges(read, part.size, tuning.chunk_bytes, tuning.probe_bytes)
        ranges += [ByteRange(index, part_index, first, last) for index, (first, last) in enumerate(spans, start=len(ranges))]
    return Checkpoint(
        folder=export.folder,
        digest=export.digest,
        fingerprint=fingerprint,
        generation=load_generation(export.folder, export.digest),
        loaded_at=loaded_at,
        headers=tuple(headers),
        ranges=ranges,
    )


def _read_header(s3, bucket: str, part: ExportPart, tuning: LoaderTuning, plan: LookupPlan) -> tuple[str, ...]:
    """A CSV part's header: each part of a CSV export starts with its own (Spark and UNLOAD ... HEADER write one per part).

    Read as the tasks read lines, gzip or not, with the same bound on its length.
    """
    uri = f"s3://{bucket}/{part.key}"
    body = s3.get_object(Bucket=bucket, Key=part.key, IfMatch=part.etag)["Body"]
    try:
        stream = gzip.GzipFile(fileobj=body) if part.gzip else body
        first = next(bounded_lines(stream.read, tuning.line_limit, tuning.probe_bytes), b"")
        if isinstance(first, OverlongLine):
            raise RunFailure("invalid-export", f"{uri}: the CSV header is {first.length} bytes long; lines may be {tuning.line_limit}")
        header = parse_csv_header(first.removesuffix(b"\r").decode("utf-8"))
    except (UnicodeDecodeError, csv.Error, OSError, EOFError, zlib.error) as error:
        raise RunFailure("invalid-export", f"{uri}: the CSV header cannot be read: {error}") from error
    finally:
        body.close()  # only the first line is needed
    problems = header_problems(header, plan)
    if problems:
        raise RunFailure("invalid-export", f"{uri}: the CSV header cannot be loaded with the plan: {'; '.join(problems)}")
    return header


def _task_settings(
    plan, arguments, clients: LookupClients, export: ExportFolder, checkpoint: Checkpoint, checkpoint_bucket, checkpoint_key, tuning
) -> TaskSettings:
    stamp: dict[str, dict] = {}
    if plan.ttl_attribute is not None:
        stamp[plan.ttl_attribute] = {"N": str(checkpoint.loaded_at + plan.ttl_days * 86_400)}
    if plan.full_refresh:
        stamp[GENERATION_ATTRIBUTE] = {"S": checkpoint.generation}
    return TaskSettings(
        plan=plan,
        table_name=arguments["table_name"],
        export_bucket=arguments["export_bucket"],
        parts=export.parts,
        headers=checkpoint.headers,
        stamp=stamp,
        generation=checkpoint.generation,
        parts_bucket=checkpoint_bucket,
        parts_prefix=checkpoint_key.removesuffix(".json") + "/rejected/",
        s3_endpoint=clients.s3.meta.endpoint_url,
        dynamodb_endpoint=clients.dynamodb.meta.endpoint_url,
        region=clients.dynamodb.meta.region_name,
        tuning=tuning,
    )


def _key_pass(sc, ranges: Sequence[ByteRange], settings: TaskSettings, parallelism: int) -> tuple[dict, frozenset]:
    """(key -> position of its last good line, for keys on more than one good line; keys only rejected lines name)."""
    if not ranges:
        return {}, frozenset()
    keys = sc.parallelize(list(ranges), len(ranges)).mapPartitions(functools.partial(key_partition, settings=settings))
    try:
        stats = (
            keys.reduceByKey(merge_key_stats, numPartitions=parallelism)
            .filter(lambda pair: pair[1][0] > 1 or (pair[1][0] == 0 and pair[1][2]))
            .collect()
        )
    except Py4JJavaError as error:
        raise RunFailure("export-unreadable", f"the key pass failed: {_task_error(error)}") from error
    winners = {key: position for key, (good, position, _) in stats if good > 1}
    return winners, frozenset(key for key, (good, _, _) in stats if good == 0)


class _RangeRecorder:
    """Records completed ranges in the checkpoint (one writer, the driver) and failed ones in the report."""

    def __init__(self, s3, bucket: str, key: str, checkpoint: Checkpoint, report: LookupReport, hook, progress) -> None:
        self._s3, self._bucket, self._key = s3, bucket, key
        self._checkpoint = checkpoint
        self._report = report
        self._hook = hook
        self._progress = progress
        self._lock = threading.Lock()

    def failed(self, index: int, error: str) -> None:
        with self._lock:
            self._report.range_failures[index] = error
        self._progress(json.dumps({"level": "ERROR", "message": "range not loaded", "range": index, "error": error}))

    def completed(self, outcome: Mapping) -> None:
        index = outcome["range"]
        with self._lock:
            self._report.add_work(outcome)
        if outcome["error"] or outcome["failed"]:
            self.failed(index, outcome["error"] or f"{outcome['failed']} item(s) not written: {'; '.join(outcome['failures'])}")
            return
        if outcome["lines"] != outcome["loaded"] + outcome["rejected"] + outcome["duplicates"]:
            self.failed(
                index,
                f"count mismatch: {outcome['lines']} lines but {outcome['loaded']} loaded + "
                f"{outcome['rejected']} rejected + {outcome['duplicates']} duplicates",
            )
            return
        with self._lock:
            self._checkpoint.completed[index] = {name: outcome[name] for name in _RANGE_COUNTS}
            _write_checkpoint(self._s3, self._bucket, self._key, self._checkpoint)
            self._report.ranges_loaded += 1
            recorded = len(self._checkpoint.completed)
        self._progress(
            json.dumps({"level": "INFO", "message": "range loaded", **{name: outcome[name] for name in ("range", *_RANGE_COUNTS)}})
        )
        if self._hook is not None:
            self._hook(index, recorded)


def _load_pass(sc, pending: Sequence[ByteRange], settings, winners, client_factory, in_flight: int, recorder: _RangeRecorder) -> None:
    """One Spark job per range, `in_flight` at a time, so each range is recorded as soon as it is written.

    An error on the driver (a checkpoint that cannot be written) stops the pass: nothing more is
    started or recorded, and the error is raised once the jobs running finish.
    """
    winners_broadcast = sc.broadcast(winners)
    loads = sc.parallelize(list(pending), len(pending)).mapPartitions(
        functools.partial(load_partition, settings=settings, winners=winners_broadcast, client_factory=client_factory)
    )
    stopped = threading.Event()

    def load(partition: int) -> None:
        if stopped.is_set():
            return
        try:
            [outcome] = sc.runJob(loads, lambda outcomes: outcomes, [partition])
        except Py4JJavaError as error:
            recorder.failed(pending[partition].index, _task_error(error))
            return
        if stopped.is_set():
            return  # written, not recorded: the next run writes the range again, to the same items
        try:
            recorder.completed(outcome)
        except BaseException:
            stopped.set()
            raise

    try:
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            for future in as_completed([pool.submit(load, partition) for partition in range(len(pending))]):
                future.result()
    finally:
        stopped.set()
        winners_broadcast.destroy()


def _task_error(error: Exception) -> str:
    """The Python exception a Spark task died of, from the Java error that carries its traceback."""
    text = str(error)
    python_errors = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)\b:? ?[^\n]*)$", text, re.MULTILINE)
    return short(python_errors[-1] if python_errors else text.strip().splitlines()[0], 500)


def _add_totals(report: LookupReport, checkpoint: Checkpoint) -> None:
    """Counts of the whole export: every completed range, whichever run loaded it."""
    for counts in checkpoint.completed.values():
        report.lines += counts["lines"]
        report.loaded += counts["loaded"]
        report.rejected += counts["rejected"]
        report.duplicates += counts["duplicates"]
        for code, count in counts["rejectedByReason"].items():
            report.rejected_by_reason[code] = report.rejected_by_reason.get(code, 0) + count


def _check_part_counts(export: ExportFolder, checkpoint: Checkpoint) -> None:
    """A DynamoDB export's manifest gives each part's item count: a part that read fewer or more lines is not the part exported."""
    lines = [0] * len(export.parts)
    for byte_range in checkpoint.ranges:
        lines[byte_range.part] += checkpoint.completed[byte_range.index]["lines"]
    wrong = [
        f"{part.key} has {count} line(s); the manifest lists {part.lines} item(s)"
        for part, count in zip(export.parts, lines, strict=True)
        if part.lines is not None and part.lines != count
    ]
    if wrong:
        raise RunFailure(
            "part-incomplete", f"{len(wrong)} part(s) do not hold what the manifest lists, so nothing is deleted: {'; '.join(wrong)}"
        )


def _write_rejected(s3, arguments: Mapping[str, str], lookup: str, run_id: str, checkpoint: Checkpoint, settings: TaskSettings) -> str:
    """Joins the ranges' rejected lines into rejected.jsonl, naming each line's part and its line number in the part."""
    bucket, key = arguments["report_bucket"], report_key(arguments["report_prefix"], lookup, run_id, "rejected.jsonl")
    offset, current_part = 0, None
    with tempfile.TemporaryFile() as spool:
        for byte_range in checkpoint.ranges:
            if byte_range.part != current_part:
                offset, current_part = 0, byte_range.part
            counts = checkpoint.completed[byte_range.index]
            if counts["rejected"]:
                rejected = s3.get_object(Bucket=settings.parts_bucket, Key=part_key(settings.parts_prefix, byte_range.index))["Body"]
                for line in rejected.iter_lines():
                    record = {"part": settings.parts[byte_range.part].key, **json.loads(line)}
                    record["line"] += offset
                    spool.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
            offset += counts["physicalLines"]
        spool.seek(0)
        s3.upload_fileobj(spool, bucket, key, ExtraArgs={"ContentType": "application/x-ndjson"})
    return f"s3://{bucket}/{key}"


def _delete_stale(sc, settings: TaskSettings, kept: frozenset, client_factory, segments: int, report: LookupReport) -> None:
    if report.loaded == 0:
        report.deletion = {"status": "skipped", "reason": "the export loaded no items; a full refresh would empty the table"}
        return
    kept_broadcast = sc.broadcast(kept)
    try:
        outcomes = (
            sc.parallelize(range(segments), segments)
            .mapPartitions(
                functools.partial(
                    delete_partition, settings=settings, total_segments=segments, kept=kept_broadcast, client_factory=client_factory
                )
            )
            .collect()
        )
    except Py4JJavaError as error:
        raise RunFailure("stale-deletion-failed", f"a scan segment failed: {_task_error(error)}") from error
    finally:
        kept_broadcast.destroy()
    for outcome in outcomes:
        report.add_work(outcome)
        report.deleted += outcome["deleted"]
    failed = sum(outcome["failed"] for outcome in outcomes)
    kept_count = sum(outcome["kept"] for outcome in outcomes)
    if failed:
        report.deletion = {"status": "incomplete", "segments": segments, "keptRejectedKeys": kept_count, "notDeleted": failed}
        failures = "; ".join(failure for outcome in outcomes for failure in outcome["failures"])
        raise RunFailure(
            "stale-deletion-failed", f"{failed} stale item(s) or scan page(s) not deleted; the next run deletes them: {failures}"
        )
    report.deletion = {"status": "done", "segments": segments, "keptRejectedKeys": kept_count}


def _publish(clients: LookupClients, arguments: Mapping[str, str], report: LookupReport, progress: Callable[[str], None]) -> None:
    document = report.to_dict()
    key = report_key(arguments["report_prefix"], report.lookup or "unknown-lookup", report.run_id, "report.json")
    clients.s3.put_object(
        Bucket=arguments["report_bucket"], Key=key, Body=json.dumps(document, indent=2).encode("utf-8"), ContentType="application/json"
    )
    progress(json.dumps({"level": "ERROR" if report.failure else "INFO", "message": "lookup load finished", **document}))
    topic = arguments.get("notification_topic_arn")
    if clients.sns is not None and topic:
        clients.sns.publish(TopicArn=topic, Subject=_notification_subject(report), Message=json.dumps(notification(report, arguments, key)))


def notification(report: LookupReport, arguments: Mapping[str, str], report_object_key: str) -> dict:
    """What the lookup's topic is told of a load: its outcome, its counts and where the report is."""
    return {
        "lookup": report.lookup,
        "status": report.status,
        "export": report.export.folder if report.export is not None else None,
        "parts": len(report.export.parts) if report.export is not None else None,
        "lines": report.lines,
        "loaded": report.loaded,
        "rejected": report.rejected,
        "rejectedByReason": report.rejected_by_reason,
        "duplicates": report.duplicates,
        "deleted": report.deleted,
        "failure": report.failure,
        "report": f"s3://{arguments['report_bucket']}/{report_object_key}",
    }


def _notification_subject(report: LookupReport) -> str:
    outcome = "failed" if report.failure else "succeeded"
    return f"[{report.lookup or 'lookup'}] load {outcome}: {report.loaded} loaded, {report.rejected} rejected"[:100]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
