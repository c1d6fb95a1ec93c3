"""Export folders: which objects one export of a lookup is made of, and whether it is complete.

An export is a folder (a key prefix) under the lookup's export prefix. It is complete once one of the
plan's completion markers is in it, and only then loaded. What the marker is says which objects are
the export's parts:

    <folder>manifest-summary.json   a DynamoDB export to S3 (its folder is AWSDynamoDB/<export id>/):
                                    manifest-files.json, named by the summary, lists the data files;
                                    only a full export in DYNAMODB_JSON can be loaded
    <folder>...manifest             a manifest listing every part by URL: Redshift UNLOAD ... MANIFEST
                                    (`<name prefix>manifest`), AWS Data Pipeline's export (`manifest`)
    <folder><any other marker>      every object under the folder is a part (Spark's and Hadoop's
                                    `_SUCCESS`, a team's own marker), except hidden names (starting
                                    with _ or .), manifests and checksum files of the export itself

A manifest is the source of truth: a listed part that is not there fails the load with its name, a
listed part whose size or ETag differs from the manifest's is not the part the export wrote, and an
object in the folder that the manifest does not list is reported and not loaded. Parts are loaded in
the manifest's order, or in key order for a listed folder; a key written by several parts takes the
value of its last line in that order. A part whose key ends in `.gz` is gzip.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from botocore.exceptions import ClientError

from ingest.locations import split_s3_uri
from ingest.report import RunFailure

DYNAMODB_EXPORT_SUMMARY = "manifest-summary.json"
# Written beside a DynamoDB export's manifests, not data: the checksum files and the `_started` probe.
_DYNAMODB_EXPORT_COMPANIONS = (
    "manifest-files.json",
    "manifest-summary.checksum",
    "manifest-files.checksum",
    "manifest-summary.md5",
    "manifest-files.md5",
)


@dataclass(frozen=True)
class ExportPart:
    key: str
    etag: str  # as S3 returns it, in quotes
    size: int
    lines: int | None = None  # the item count a DynamoDB export's manifest gives the part

    @property
    def gzip(self) -> bool:
        return self.key.endswith(".gz")

    def to_dict(self) -> dict:
        return {"key": self.key, "bytes": self.size, "gzip": self.gzip}


@dataclass(frozen=True)
class ExportFolder:
    folder: str  # ends in /
    marker: str  # key of the completion marker
    listing: str  # "folder", "manifest" or "dynamodb-export"
    parts: tuple[ExportPart, ...]
    unlisted: tuple[str, ...]  # objects in the folder a manifest does not list: reported, not loaded

    @property
    def digest(self) -> str:
        """Names this export's content: any part replaced, added or removed gives another digest."""
        text = "\n".join([self.folder, *(f"{part.key} {part.etag.strip(chr(34))} {part.size}" for part in self.parts)])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def to_dict(self) -> dict:
        return {
            "folder": self.folder,
            "marker": self.marker,
            "listing": self.listing,
            "digest": self.digest,
            "parts": [part.to_dict() for part in self.parts],
            "unlisted": list(self.unlisted),
        }


@dataclass(frozen=True)
class _Listed:
    key: str
    etag: str
    size: int
    modified: object


def resolve_export(s3, bucket: str, prefix: str, export: str, markers: Sequence[str], export_format: str) -> ExportFolder:
    """The export a run loads: `latest` (the folder of the newest marker), a folder ending in /, or a marker's key."""
    if export == "latest":
        marker = _newest_marker(s3, bucket, prefix, markers)
    elif export.endswith("/"):
        marker = _marker_in(s3, bucket, export, markers)
    else:
        if posixpath.basename(export) not in markers:
            raise RunFailure(
                "invalid-arguments", f"--export {export!r} is not latest, a folder ending in /, or a marker ({', '.join(markers)})"
            )
        marker = export
    folder = posixpath.dirname(marker) + "/"
    if not folder.startswith(prefix) or folder == prefix:
        raise RunFailure("no-export", f"s3://{bucket}/{marker} is not inside a folder under the export prefix {prefix}")
    objects = list(_list(s3, bucket, folder))
    by_key = {entry.key: entry for entry in objects}
    if marker not in by_key:
        raise RunFailure(
            "no-export", f"s3://{bucket}/{folder} has no completion marker {posixpath.basename(marker)}: the export is not complete"
        )
    name = posixpath.basename(marker)
    if name == DYNAMODB_EXPORT_SUMMARY:
        if export_format != "dynamodb-json":
            raise RunFailure(
                "invalid-export",
                f"s3://{bucket}/{marker} is a DynamoDB export, whose lines are dynamodb-json; the lookup reads {export_format}",
            )
        return _dynamodb_export(s3, bucket, folder, marker, by_key)
    if name.endswith("manifest"):
        return _manifest_export(s3, bucket, folder, marker, by_key)
    return _folder_export(folder, marker, objects, markers)


def _list(s3, bucket: str, prefix: str) -> Iterator[_Listed]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            if not entry["Key"].endswith("/"):
                yield _Listed(entry["Key"], entry["ETag"], entry["Size"], entry["LastModified"])


def _newest_marker(s3, bucket: str, prefix: str, markers: Sequence[str]) -> str:
    newest = None
    for entry in _list(s3, bucket, prefix):
        is_marker = posixpath.basename(entry.key) in markers and posixpath.dirname(entry.key) + "/" != prefix
        if is_marker and (newest is None or (entry.modified, entry.key) > newest):
            newest = (entry.modified, entry.key)
    if newest is None:
        raise RunFailure(
            "no-export", f"there is no complete export under s3://{bucket}/{prefix}: no folder holds a marker ({', '.join(markers)})"
        )
    return newest[1]


def _marker_in(s3, bucket: str, folder: str, markers: Sequence[str]) -> str:
    for name in markers:
        try:
            s3.head_object(Bucket=bucket, Key=folder + name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                continue
            raise
        return folder + name
    raise RunFailure("no-export", f"s3://{bucket}/{folder} has no completion marker ({', '.join(markers)}): the export is not complete")


def _is_hidden(key: str) -> bool:
    return any(segment.startswith(("_", ".")) for segment in key.split("/"))


def _folder_export(folder: str, marker: str, objects: list[_Listed], markers: Sequence[str]) -> ExportFolder:
    nested = sorted(entry.key for entry in objects if entry.key != marker and posixpath.basename(entry.key) in markers)
    if nested:
        raise RunFailure("invalid-export", f"the export folder {folder} holds another export's marker: {', '.join(nested)}")
    parts = tuple(
        ExportPart(entry.key, entry.etag, entry.size)
        for entry in sorted(objects, key=lambda entry: entry.key)
        if not _is_hidden(entry.key[len(folder) :]) and not posixpath.basename(entry.key).endswith("manifest")
    )
    return ExportFolder(folder, marker, "folder", parts, ())


def _read_json(s3, bucket: str, key: str) -> object:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (ValueError, UnicodeDecodeError) as error:
        raise RunFailure("invalid-manifest", f"s3://{bucket}/{key} is not JSON: {error}") from error


def _manifest_export(s3, bucket: str, folder: str, marker: str, by_key: dict[str, _Listed]) -> ExportFolder:
    """Redshift UNLOAD's and Data Pipeline's manifest: {"entries": [{"url": "s3://...", "mandatory": ..., "meta": {"content_length": n}}]}."""
    document = _read_json(s3, bucket, marker)
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(isinstance(entry, dict) and isinstance(entry.get("url"), str) for entry in entries):
        raise RunFailure(
            "invalid-manifest", f's3://{bucket}/{marker} is not a manifest: expected {{"entries": [{{"url": "s3://..."}}, ...]}}'
        )
    parts: list[ExportPart] = []
    problems: list[str] = []
    for index, entry in enumerate(entries):
        try:
            entry_bucket, key = split_s3_uri(entry["url"])
        except ValueError as error:
            problems.append(f"entries[{index}].url: {error}")
            continue
        if entry_bucket != bucket or not key.startswith(folder):
            problems.append(f"entries[{index}].url {entry['url']} is outside the export folder s3://{bucket}/{folder}")
            continue
        listed = by_key.get(key)
        if listed is None:
            if entry.get("mandatory") is False:
                continue  # COPY's own rule: a part marked not mandatory may be absent
            problems.append(f"listed part {key} is missing")
            continue
        expected = entry["meta"].get("content_length") if isinstance(entry.get("meta"), dict) else None
        if expected is not None and expected != listed.size:
            problems.append(f"listed part {key} has {listed.size} bytes; the manifest says {expected}")
            continue
        parts.append(ExportPart(key, listed.etag, listed.size))
    if problems:
        raise RunFailure("missing-part", f"s3://{bucket}/{marker}: {'; '.join(problems)}")
    listed_keys = {part.key for part in parts}
    unlisted = tuple(sorted(key for key in by_key if key != marker and key not in listed_keys and not _is_hidden(key[len(folder) :])))
    return ExportFolder(folder, marker, "manifest", tuple(parts), unlisted)


def _dynamodb_export(s3, bucket: str, folder: str, marker: str, by_key: dict[str, _Listed]) -> ExportFolder:
    summary = _read_json(s3, bucket, marker)
    if not isinstance(summary, dict) or not isinstance(summary.get("manifestFilesS3Key"), str):
        raise RunFailure("invalid-manifest", f"s3://{bucket}/{marker} is not a DynamoDB export summary: it names no manifestFilesS3Key")
    if summary.get("outputFormat", "DYNAMODB_JSON") != "DYNAMODB_JSON":
        raise RunFailure(
            "invalid-export", f"s3://{bucket}/{marker}: the export is {summary['outputFormat']}; export the table as DYNAMODB_JSON"
        )
    if summary.get("exportType", "FULL_EXPORT") != "FULL_EXPORT":
        raise RunFailure(
            "invalid-export", f"s3://{bucket}/{marker}: an {summary['exportType']} holds changes, not the table; export the table in full"
        )
    files_key = folder + posixpath.basename(summary["manifestFilesS3Key"])
    if files_key not in by_key:
        raise RunFailure("missing-part", f"s3://{bucket}/{marker}: the files manifest {files_key} is missing")
    body = s3.get_object(Bucket=bucket, Key=files_key)["Body"].read().decode("utf-8")
    parts: list[ExportPart] = []
    problems: list[str] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            data_key, item_count = entry["dataFileS3Key"], entry["itemCount"]
        except (ValueError, KeyError, TypeError) as error:
            raise RunFailure("invalid-manifest", f"s3://{bucket}/{files_key} line {number} is not a data file entry: {error}") from error
        # The keys name the data file from the export prefix the table was exported to; the folder may
        # have been copied since, so the file is found by its place under the export's data/ folder.
        key = folder + "data/" + data_key.rsplit("/data/", 1)[-1].removeprefix("data/")
        listed = by_key.get(key)
        if listed is None:
            problems.append(f"listed part {key} is missing")
        else:
            # Not checked against the manifest's ETag: copying the folder gives new ETags. The item
            # count is checked once the part is read instead.
            parts.append(ExportPart(key, listed.etag, listed.size, item_count))
    if problems:
        raise RunFailure("missing-part", f"s3://{bucket}/{files_key}: {'; '.join(problems)}")
    listed_keys = {part.key for part in parts} | {marker, files_key} | {folder + name for name in _DYNAMODB_EXPORT_COMPANIONS}
    unlisted = tuple(sorted(key for key in by_key if key not in listed_keys and not _is_hidden(key[len(folder) :])))
    return ExportFolder(folder, marker, "dynamodb-export", tuple(parts), unlisted)
