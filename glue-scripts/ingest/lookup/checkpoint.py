"""Where an export's checkpoint is kept, what it records, and how the driver plans, reads, writes and discards it.

A checkpoint is written before anything is loaded (the export's byte ranges, each CSV part's header,
the load time and the load generation) and records each range once it is fully written, so a
resumed run uses the same ranges and writes the same items, and loads only what is missing.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from botocore.exceptions import ClientError

from ingest.locations import split_s3_uri
from ingest.lookup.ranges import ByteRange, OverlongLine, bounded_lines, split_ranges, whole_part
from ingest.lookup.settings import LoaderTuning
from ingest.lookup_export import ExportFolder, ExportPart
from ingest.lookup_lines import header_problems, parse_csv_header
from ingest.lookup_plan import LookupPlan
from ingest.report import RunFailure


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
RANGE_COUNTS = ("physicalLines", "lines", "loaded", "rejected", "rejectedByReason", "duplicates")


def plan_fingerprint(plan_document: Mapping, table_name: str) -> str:
    return hashlib.sha256(json.dumps([plan_document, table_name], sort_keys=True).encode()).hexdigest()[:32]


def read_checkpoint(s3, bucket: str, key: str, progress: Callable[[str], None]) -> Checkpoint | None:
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


def write_checkpoint(s3, bucket: str, key: str, checkpoint: Checkpoint) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=checkpoint.to_json().encode("utf-8"), ContentType="application/json")


def lookup_prefix(checkpoint_key: str) -> str:
    """<checkpoint prefix><lookup>/ of a checkpoint key <checkpoint prefix><lookup>/<export>/<etag>.json."""
    return checkpoint_key.rsplit("/", 2)[0] + "/"


def delete_checkpoints(s3, bucket: str, prefix: str, *, keep: str | None = None) -> None:
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


def new_checkpoint(
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
