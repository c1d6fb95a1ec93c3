"""The lookup-table loader: one export object in S3 loaded into a DynamoDB lookup table, by a Glue Spark job.

It replaces AWS Data Pipeline's "Import DynamoDB backup data from S3". Where things are:

    plan        <lookup_uri>                                          the LookupPlan JSON the Pulumi program uploads
    export      s3://<export_bucket>/<export_key>                     jsonl, dynamodb-json or csv; one item per line
    checkpoint  <checkpoint_uri><lookup>/<URL-encoded key>/<ETag>.json             while the export is being loaded
    rejected    <checkpoint_uri><lookup>/<URL-encoded key>/<ETag>/rejected/<range>.jsonl   one part per range, likewise
    report      s3://<report_bucket>/<report_prefix><lookup>/<run id>/report.json
    rejected    s3://<report_bucket>/<report_prefix><lookup>/<run id>/rejected.jsonl      {line, code, reason, text}

A run, on the driver:
1. Resolves the export (a key, or `latest`), reads its ETag and size, and reads the checkpoint of that
   exact object. Without one, it splits the object into byte ranges of about `chunk_bytes`, each
   starting at a line start (found by reading a little past each boundary), and writes a checkpoint
   holding the ranges, the load time (for TTLs) and the load generation, so a resumed run uses the
   same ranges and writes the same items.
2. Key pass: one Spark task per range reads its range (a ranged GetObject with If-Match on the ETag),
   validates every line and emits the keys; Spark reduces them and the driver collects only the keys
   that occur on more than one good line (with the position of the last such line) and, for a full
   refresh, the keys named only by rejected lines. Last line wins across the whole export this way,
   although ranges are written in parallel and in no particular order.
3. Load pass: the ranges not completed yet, one Spark job each, `ranges_in_flight` at a time. A task
   validates its lines again, skips lines a later line supersedes, and writes the rest with
   BatchWriteItem from a bounded pool of threads (25 puts a request, never one key twice in a request),
   backing off with full jitter on throttling and on UnprocessedItems until a deadline; it writes its
   rejected lines to a part object and returns only counts. When a range is fully written the driver
   records it in the checkpoint. A range that could not be fully written is not recorded: the run
   fails after the other ranges, and the next run of the same object loads only what is missing.
4. Full refresh: every item carries `load_generation` (derived from the export key and ETag, so it is
   the same in a resumed run). Only after every range is written, parallel scan segments (Spark tasks)
   delete the items of other generations, except keys whose lines were rejected (their last good value
   stays). Present keys are overwritten in place and never missing; a failed range means no deletion.
5. Assembles rejected.jsonl (line numbers are range-local until every earlier range's line count is
   known), writes the report, deletes the checkpoint. Report counts cover the whole export, also when
   some ranges were loaded by an earlier run; requests and retries are this run's.

Only the export whose load started last can be resumed: a run discards every other checkpoint of its
lookup before it writes, because its writes (and a full refresh's deletions) make them describe a table
that no longer is. That relies on one run at a time per lookup (the Glue job's maxConcurrentRuns is 1).

Nothing but counts, the rejected lines' part objects and completed range ids crosses the executor
boundary, apart from the duplicated and rejected keys of the key pass (a small share of an export).
A rerun of a completed export puts the same items again (PutRequest), so the table ends the same.
CSV exports must keep each record on one physical line (no line breaks inside quoted cells).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import random
import re
import tempfile
import threading
import time
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
from ingest.lookup_lines import ParsedLine, Rejection, header_problems, key_of, parse_csv_header, parse_line, short
from ingest.lookup_plan import GENERATION_ATTRIBUTE, LookupPlan, LookupPlanError, parse_lookup_plan
from ingest.report import RunFailure, reported_run

LOOKUP_JOB_CONTRACT = "lookup_job_arguments"
BATCH_WRITE_LIMIT = 25
_MAX_NAMED_FAILURES = 5


# ---------------------------------------------------------------------------------------------
# Byte ranges


class ByteRange(NamedTuple):
    index: int
    first: int  # offset of the range's first byte, a line start
    last: int  # offset of its last byte (inclusive), a line break unless it ends the object


def split_ranges(read: Callable[[int, int], bytes], size: int, chunk_bytes: int, probe_bytes: int = 64 * 1024) -> list[ByteRange]:
    """Ranges of about `chunk_bytes` covering `size` bytes, each starting at a line start.

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
    return [ByteRange(index, first, last) for index, (first, last) in enumerate(zip(starts, ends, strict=True))]


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


def range_lines(data: bytes, *, skip_header: bool = False) -> tuple[int, list[tuple[int, bytes]]]:
    """(physical lines in the range, [(line number from 1, bytes without line break)]); blank lines are kept."""
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()  # the break that ends the last line
    return len(pieces), [(number, piece) for number, piece in enumerate(pieces, start=1) if not (skip_header and number == 1)]


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


@dataclass(frozen=True)
class TaskSettings:
    """Everything a task needs, sent with it (plain data, so it pickles)."""

    plan: LookupPlan
    table_name: str
    export_bucket: str
    export_key: str
    etag: str  # as S3 returns it, in quotes
    header: tuple[str, ...] | None
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


@dataclass
class WriteCounts:
    written: int = 0
    requests: int = 0
    retries: int = 0  # requests repeated after a throttling or transient error
    unprocessed_retried: int = 0  # entries sent again after coming back in UnprocessedItems
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    refused: list[tuple[int | None, str]] = field(default_factory=list)  # (line, DynamoDB's message) of refused puts
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
                self._counts.refused.append((entry.line, message))

    def _request_key(self, request: Mapping) -> tuple[str, ...]:
        if "PutRequest" in request:
            return key_of(request["PutRequest"]["Item"], self._key_names)
        return key_of(request["DeleteRequest"]["Key"], self._key_names)


# ---------------------------------------------------------------------------------------------
# Executor side: the tasks


def _read_range(settings: TaskSettings, byte_range: ByteRange) -> bytes:
    response = _s3_client(settings).get_object(
        Bucket=settings.export_bucket,
        Key=settings.export_key,
        Range=f"bytes={byte_range.first}-{byte_range.last}",
        IfMatch=settings.etag,  # the object every range was planned on, or a PreconditionFailed
    )
    return response["Body"].read()


def _parse_raw(raw: bytes, settings: TaskSettings) -> tuple[str, ParsedLine]:
    raw = raw.removesuffix(b"\r")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        code = "invalid-csv" if settings.plan.format == "csv" else "invalid-json"
        return raw.decode("utf-8", "backslashreplace"), ParsedLine(rejection=Rejection(code, "the line is not valid UTF-8"))
    return text, parse_line(text, settings.plan, header=settings.header, stamp=settings.stamp)


def _lines(settings: TaskSettings, byte_range: ByteRange) -> tuple[int, list[tuple[int, bytes]]]:
    skip_header = settings.header is not None and byte_range.first == 0
    physical, lines = range_lines(_read_range(settings, byte_range), skip_header=skip_header)
    return physical, [(number, raw) for number, raw in lines if raw.strip()]


KeyStats = tuple[int, tuple[int, int] | None, bool]  # (good lines, position of the last good line, named by a rejected line)


def key_partition(ranges: Iterable[ByteRange], settings: TaskSettings) -> Iterator[tuple[tuple[str, ...], KeyStats]]:
    """Key pass: (key, stats) for every line whose key is valid; the position is (range index, line in range)."""
    for byte_range in ranges:
        _, lines = _lines(settings, byte_range)
        for number, raw in lines:
            _, parsed = _parse_raw(raw, settings)
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
    try:
        physical, lines = _lines(settings, byte_range)
    except (BotoCoreError, ClientError) as error:
        outcome["error"] = f"cannot read bytes {byte_range.first}-{byte_range.last} of the export: {error}"
        return outcome
    outcome["physicalLines"] = physical
    outcome["lines"] = len(lines)
    rejected: list[dict] = []
    counts = WriteCounts()
    writer = BatchWriter(
        client_factory(settings), settings.table_name, settings.plan.key_names, settings.tuning, counts, sleep=sleep, clock=clock
    )
    with writer:
        for number, raw in lines:
            text, parsed = _parse_raw(raw, settings)
            if parsed.rejection is not None:
                rejected.append({"line": number, "code": parsed.rejection.code, "reason": parsed.rejection.reason, "text": text})
                continue
            winner = winners.get(parsed.key)
            if winner is not None and winner != (byte_range.index, number):
                outcome["duplicates"] += 1
                continue
            writer.add(WriteEntry(parsed.key, {"PutRequest": {"Item": parsed.item}}, number))
    if counts.refused:
        texts = dict(lines)
        for number, message in counts.refused:
            text = texts[number].removesuffix(b"\r").decode("utf-8")
            rejected.append(
                {"line": number, "code": "refused-by-dynamodb", "reason": f"DynamoDB refused the item: {message}", "text": text}
            )
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


def url_safe_key(export_key: str) -> str:
    """The export key as one path segment: every character but letters, digits and _.-~ percent-encoded."""
    return quote(export_key, safe="")


def load_generation(export_key: str, etag: str) -> str:
    """The generation stamped on every item of one export object: the same for every run of that object."""
    return hashlib.sha256(f"{export_key}\n{etag.strip(chr(34))}".encode()).hexdigest()[:32]


def checkpoint_location(checkpoint_uri: str, lookup: str, export_key: str, etag: str) -> tuple[str, str]:
    """(bucket, key) of the checkpoint of one export object."""
    bucket, prefix = split_s3_uri(checkpoint_uri)
    return bucket, f"{prefix}{lookup}/{url_safe_key(export_key)}/{etag.strip(chr(34))}.json"


def part_key(parts_prefix: str, range_index: int) -> str:
    return f"{parts_prefix}{range_index:06d}.jsonl"


def report_key(report_prefix: str, lookup: str, run_id: str, name: str) -> str:
    return f"{report_prefix}{lookup}/{run_id}/{name}"


def resolve_export_key(s3, bucket: str, prefix: str, export_key: str) -> str:
    """The key itself, or for `latest` the newest object under the prefix by LastModified, then key."""
    if export_key != "latest":
        return export_key
    newest = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            if not entry["Key"].endswith("/") and (newest is None or (entry["LastModified"], entry["Key"]) > newest):
                newest = (entry["LastModified"], entry["Key"])
    if newest is None:
        raise RunFailure("no-export", f"there is no object under s3://{bucket}/{prefix}")
    return newest[1]


@dataclass
class Checkpoint:
    """What a run of one export object records as it goes; `completed` maps range index to its counts."""

    export_key: str
    etag: str
    size: int
    fingerprint: str  # of the plan and table: a checkpoint made under another plan is not resumed
    generation: str
    loaded_at: int  # epoch seconds of the first run, the base of the TTLs
    header: tuple[str, ...] | None
    ranges: list[ByteRange]
    completed: dict[int, dict] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "exportKey": self.export_key,
                "etag": self.etag,
                "size": self.size,
                "fingerprint": self.fingerprint,
                "loadGeneration": self.generation,
                "loadedAt": self.loaded_at,
                "header": list(self.header) if self.header is not None else None,
                "ranges": [[byte_range.first, byte_range.last] for byte_range in self.ranges],
                "completed": {str(index): counts for index, counts in sorted(self.completed.items())},
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, document: Mapping) -> Checkpoint:
        return cls(
            export_key=document["exportKey"],
            etag=document["etag"],
            size=document["size"],
            fingerprint=document["fingerprint"],
            generation=document["loadGeneration"],
            loaded_at=document["loadedAt"],
            header=tuple(document["header"]) if document["header"] is not None else None,
            ranges=[ByteRange(index, first, last) for index, (first, last) in enumerate(document["ranges"])],
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
    export_key: str | None = None
    etag: str | None = None
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
            "exportKey": self.export_key,
            "etag": self.etag,
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
    export_key = resolve_export_key(s3, bucket, arguments["export_prefix"], arguments["export"])
    try:
        head = s3.head_object(Bucket=bucket, Key=export_key)
    except ClientError as error:
        raise RunFailure("no-export", f"cannot read s3://{bucket}/{export_key}: {error}") from error
    etag, size = head["ETag"], head["ContentLength"]
    report.export_key, report.etag = export_key, etag.strip('"')

    checkpoint_bucket, checkpoint_key = checkpoint_location(arguments["checkpoint_uri"], plan.lookup, export_key, etag)
    fingerprint = plan_fingerprint(plan_document, arguments["table_name"])
    checkpoint = _read_checkpoint(s3, checkpoint_bucket, checkpoint_key, progress)
    if checkpoint is not None and (checkpoint.fingerprint != fingerprint or checkpoint.size != size):
        progress(
            json.dumps(
                {
                    "level": "WARN",
                    "message": "checkpoint made under another plan or table, or for another size; loading afresh",
                    "checkpoint": checkpoint_key,
                }
            )
        )
        checkpoint = None
    # This run writes to the table, so no other checkpoint of the lookup describes the table any more.
    _delete_checkpoints(s3, checkpoint_bucket, _lookup_prefix(checkpoint_key), keep=checkpoint_key)
    if checkpoint is None:
        checkpoint = _new_checkpoint(s3, bucket, export_key, etag, size, plan, fingerprint, tuning, int(now()))
        _write_checkpoint(s3, checkpoint_bucket, checkpoint_key, checkpoint)
    report.load_generation = checkpoint.generation
    report.ranges_total = len(checkpoint.ranges)
    report.ranges_skipped = len(checkpoint.completed)
    settings = _task_settings(plan, arguments, clients, checkpoint, checkpoint_bucket, checkpoint_key, tuning)
    progress(
        json.dumps(
            {
                "level": "INFO",
                "message": "lookup load started",
                "lookup": plan.lookup,
                "export": f"s3://{bucket}/{export_key}",
                "bytes": size,
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
        problems.append("--export must be an object key or latest")
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
    s3, bucket: str, key: str, etag: str, size: int, plan: LookupPlan, fingerprint: str, tuning: LoaderTuning, loaded_at: int
) -> Checkpoint:
    def read(first: int, last: int) -> bytes:
        return s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}", IfMatch=etag)["Body"].read()

    header = None
    if plan.format == "csv":
        header = _read_header(read, size, tuning, f"s3://{bucket}/{key}", plan)
    return Checkpoint(
        export_key=key,
        etag=etag,
        size=size,
        fingerprint=fingerprint,
        generation=load_generation(key, etag),
        loaded_at=loaded_at,
        header=header,
        ranges=split_ranges(read, size, tuning.chunk_bytes, tuning.probe_bytes),
    )


def _read_header(read: Callable[[int, int], bytes], size: int, tuning: LoaderTuning, uri: str, plan: LookupPlan) -> tuple[str, ...]:
    if size == 0:
        raise RunFailure("invalid-export", f"{uri} is empty: a CSV export starts with its header")
    end = line_start_at_or_after(read, 1, size, tuning.probe_bytes)
    try:
        header = parse_csv_header(read(0, end - 1).removesuffix(b"\n").removesuffix(b"\r").decode("utf-8"))
    except (UnicodeDecodeError, csv.Error) as error:
        raise RunFailure("invalid-export", f"{uri}: the CSV header cannot be read: {error}") from error
    problems = header_problems(header, plan)
    if problems:
        raise RunFailure("invalid-export", f"{uri}: the CSV header cannot be loaded with the plan: {'; '.join(problems)}")
    return header


def _task_settings(
    plan, arguments, clients: LookupClients, checkpoint: Checkpoint, checkpoint_bucket, checkpoint_key, tuning
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
        export_key=checkpoint.export_key,
        etag=checkpoint.etag,
        header=checkpoint.header,
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


def _write_rejected(s3, arguments: Mapping[str, str], lookup: str, run_id: str, checkpoint: Checkpoint, settings: TaskSettings) -> str:
    """Joins the ranges' parts into rejected.jsonl, turning range-local line numbers into the export's."""
    bucket, key = arguments["report_bucket"], report_key(arguments["report_prefix"], lookup, run_id, "rejected.jsonl")
    offset = 0
    with tempfile.TemporaryFile() as spool:
        for byte_range in checkpoint.ranges:
            counts = checkpoint.completed[byte_range.index]
            if counts["rejected"]:
                part = s3.get_object(Bucket=settings.parts_bucket, Key=part_key(settings.parts_prefix, byte_range.index))["Body"]
                for line in part.iter_lines():
                    record = json.loads(line)
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
        "export": report.export_key,
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
