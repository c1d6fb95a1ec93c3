"""The executor side of the key pass and the load pass: one Spark task per byte range, returning only counts."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping

from botocore.exceptions import BotoCoreError, ClientError

from ingest.lookup.batch_writer import BatchWriter, WriteCounts, WriteEntry
from ingest.lookup.checkpoint import part_key
from ingest.lookup.ranges import ByteRange, OverlongLine, RangeLines, bounded_lines, range_lines
from ingest.lookup.settings import ClientFactory, TaskSettings, default_dynamodb_client, s3_client
from ingest.lookup_lines import ParsedLine, Rejection, parse_record


def _physical_lines(settings: TaskSettings, byte_range: ByteRange) -> Iterator[bytes]:
    """The range's physical lines without their line break: a ranged read, or a gzip part decompressed as it streams."""
    part = settings.parts[byte_range.part]
    request = {"Bucket": settings.export_bucket, "Key": part.key, "IfMatch": part.etag}  # the part planned on, or PreconditionFailed
    if part.gzip:
        with gzip.GzipFile(fileobj=s3_client(settings).get_object(**request)["Body"]) as stream:
            yield from bounded_lines(stream.read, settings.tuning.line_limit)
        return
    body = s3_client(settings).get_object(**request, Range=f"bytes={byte_range.first}-{byte_range.last}")["Body"]
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
        s3_client(settings).put_object(
            Bucket=settings.parts_bucket, Key=part_key(settings.parts_prefix, byte_range.index), Body=body.encode("utf-8")
        )
    return outcome
