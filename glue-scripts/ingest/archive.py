"""Safe extraction of an untrusted ZIP archive: every table file is extracted, or nothing is.

Two passes. The first reads only the central directory and rejects what names, types and flags
already show (too many entries, names no file system can hold, unsafe paths, links, encrypted
entries, nested archives by name, duplicates, files no table claims), so such an archive writes nothing. The second decompresses
every entry itself, in fixed-size chunks, and counts the bytes it actually gets; a required table
without a file is judged after it. `zipfile.ZipFile.open` is not used for reading because it cuts
an entry's output at the size its header declares: a header that lies would then hide how much the
entry really holds. Any rejection removes the destination directory, so no partial extract is left.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO, Literal

CHUNK_SIZE = 1024 * 1024

UnknownFiles = Literal["reject", "ignore"]


class RejectReason(StrEnum):
    CORRUPT = "corrupt"
    EMPTY = "empty"
    TOO_MANY_ENTRIES = "too-many-entries"
    ABSOLUTE_PATH = "absolute-path"
    PATH_TRAVERSAL = "path-traversal"
    BAD_ENTRY_NAME = "bad-entry-name"
    SYMLINK = "symlink"
    SPECIAL_FILE = "special-file"
    ENCRYPTED_ENTRY = "encrypted-entry"
    UNSUPPORTED_COMPRESSION = "unsupported-compression"
    NESTED_ARCHIVE = "nested-archive"
    DUPLICATE_ENTRY = "duplicate-entry"
    AMBIGUOUS_FILE = "ambiguous-file"
    UNKNOWN_FILE = "unknown-file"
    MISSING_TABLE = "missing-table"
    TOO_LARGE = "too-large"
    COMPRESSION_RATIO = "compression-ratio"


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_uncompressed_bytes: int
    max_compression_ratio: float


@dataclass(frozen=True)
class TableFilePattern:
    table: str
    file_regex: str  # searched in the entry's file name without its folders, e.g. "^orders[^/]*\\.csv$"
    required: bool


class ArchiveRejected(Exception):
    """The archive is refused as a whole; `entry` names the offending entry when there is one."""

    def __init__(self, reason: RejectReason, entry: str | None, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.entry = entry
        self.detail = detail


@dataclass(frozen=True)
class ExtractedFile:
    table: str
    entry_name: str
    path: str
    size: int


@dataclass(frozen=True)
class ExtractedArchive:
    files: tuple[ExtractedFile, ...]  # sorted by (table, entry_name)
    ignored: tuple[str, ...]  # entry names of unknown files, sorted
    total_bytes: int  # decompressed bytes of every entry, ignored ones included: the figure the size limit applies to


def quarantine_reason(error: ArchiveRejected) -> dict:
    return {"reason": str(error.reason), "entry": error.entry, "detail": error.detail}


def extract_archive(
    archive_path: str,
    destination: str,
    patterns: Sequence[TableFilePattern],
    limits: ArchiveLimits,
    unknown_files: UnknownFiles,
) -> ExtractedArchive:
    """Extracts each table file to `destination/<table>/<file name>`, or raises ArchiveRejected leaving nothing behind.

    `destination` must not exist yet: it is created here, and removed again if the archive is rejected.
    """
    try:
        with zipfile.ZipFile(archive_path) as archive:
            infos = archive.infolist()
    # zipfile raises more than BadZipFile for a damaged central directory: an entry name flagged as
    # UTF-8 that is not, or a "version needed to extract" beyond what it supports.
    except (zipfile.BadZipFile, UnicodeDecodeError, NotImplementedError) as error:
        raise ArchiveRejected(RejectReason.CORRUPT, None, f"not a readable ZIP archive: {error}") from error
    entries = _plan(infos, patterns, limits, unknown_files)
    os.makedirs(destination)
    try:
        extracted = _extract(archive_path, destination, entries, limits)
        # Judged last, so that an archive which is also corrupt or a bomb is reported as such.
        _check_required_tables(extracted, patterns)
    except BaseException:
        shutil.rmtree(destination)
        raise
    return extracted


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    table: str | None  # None: an unknown file under unknown_files="ignore", read through but never written


_ENCRYPTED_FLAG = 0x1
_DRIVE = re.compile(r"^[A-Za-z]:")
_ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz")


def _plan(
    infos: Sequence[zipfile.ZipInfo], patterns: Sequence[TableFilePattern], limits: ArchiveLimits, unknown_files: UnknownFiles
) -> list[_Entry]:
    """Every file entry with its table, in archive order, after the checks that need no decompression."""
    if len(infos) > limits.max_entries:
        raise ArchiveRejected(
            RejectReason.TOO_MANY_ENTRIES, None, f"the archive has {len(infos)} entries; the limit is {limits.max_entries}"
        )
    table_regexes = [(pattern.table, re.compile(pattern.file_regex)) for pattern in patterns]
    entries: list[_Entry] = []
    first_entry_by_key: dict[str, str] = {}
    for info in infos:
        name = info.filename
        _check_name_fits_file_system(info)
        _check_path(name)
        if _is_directory(info):
            continue
        _check_file_header(info)
        file_name = _file_name(name)
        # Folders are flattened away and the job may run on a case-insensitive file system.
        key = file_name.casefold()
        if key in first_entry_by_key:
            raise ArchiveRejected(
                RejectReason.DUPLICATE_ENTRY,
                name,
                f"entries {first_entry_by_key[key]!r} and {name!r} have the same file name, ignoring folders and case",
            )
        first_entry_by_key[key] = name
        tables = sorted({table for table, regex in table_regexes if regex.search(file_name)})
        if len(tables) > 1:
            raise ArchiveRejected(
                RejectReason.AMBIGUOUS_FILE, name, f"entry {name!r} matches the file patterns of tables {', '.join(tables)}"
            )
        if not tables and unknown_files == "reject":
            raise ArchiveRejected(RejectReason.UNKNOWN_FILE, name, f"entry {name!r} matches no table's file pattern")
        entries.append(_Entry(info=info, table=tables[0] if tables else None))
    if not entries:
        raise ArchiveRejected(RejectReason.EMPTY, None, f"the archive has no files ({len(infos)} directory entries)")
    return entries


def _check_required_tables(extracted: ExtractedArchive, patterns: Sequence[TableFilePattern]) -> None:
    found = {extracted_file.table for extracted_file in extracted.files}
    missing = [pattern for pattern in patterns if pattern.required and pattern.table not in found]
    if missing:
        tables = "; ".join(f"{pattern.table} ({pattern.file_regex})" for pattern in missing)
        raise ArchiveRejected(RejectReason.MISSING_TABLE, None, f"no file matches required table(s) {tables}")


def _archive_path(name: str) -> str:
    # Archivers on Windows may write backslashes; treating them as separators is the reading that cannot escape.
    return name.replace("\\", "/")


def _file_name(name: str) -> str:
    return _archive_path(name).rsplit("/", 1)[-1]


# NAME_MAX of the Linux file systems the job extracts to (ext4, xfs, tmpfs), in bytes of the UTF-8 name.
_MAX_NAME_BYTES = 255


def _check_name_fits_file_system(info: zipfile.ZipInfo) -> None:
    """Rejects a name no file could be created under, before anything is written, rather than failing midway."""
    # zipfile cuts `filename` at a NUL byte (a trick to show one name and extract another); the original keeps it.
    name = info.orig_filename
    if "\0" in name:
        raise ArchiveRejected(RejectReason.BAD_ENTRY_NAME, name, f"entry {name!r} has a NUL byte in its name")
    for component in _archive_path(name).split("/"):
        size = len(component.encode("utf-8"))
        if size > _MAX_NAME_BYTES:
            raise ArchiveRejected(
                RejectReason.BAD_ENTRY_NAME,
                name,
                f"entry {name!r} has a path component of {size} bytes in UTF-8; a file system holds at most {_MAX_NAME_BYTES}",
            )


def _check_path(name: str) -> None:
    # Files are written flat under their table's folder and no link is ever created, so a name
    # without a root and without '..' cannot resolve outside the destination.
    path = _archive_path(name)
    if path.startswith("/") or _DRIVE.match(path):
        raise ArchiveRejected(RejectReason.ABSOLUTE_PATH, name, f"entry {name!r} has an absolute path")
    if ".." in path.split("/"):
        raise ArchiveRejected(RejectReason.PATH_TRAVERSAL, name, f"entry {name!r} has a '..' path component")


def _is_directory(info: zipfile.ZipInfo) -> bool:
    """Whether the entry is a directory; raises for links and other special files."""
    mode = info.external_attr >> 16  # the Unix mode, or 0 when the archiver recorded none (as on Windows)
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise ArchiveRejected(RejectReason.SYMLINK, info.filename, f"entry {info.filename!r} is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveRejected(
            RejectReason.SPECIAL_FILE, info.filename, f"entry {info.filename!r} is a special file ({stat.filemode(mode)})"
        )
    return kind == stat.S_IFDIR or _archive_path(info.filename).endswith("/")


def _check_file_header(info: zipfile.ZipInfo) -> None:
    name = info.filename
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise ArchiveRejected(RejectReason.ENCRYPTED_ENTRY, name, f"entry {name!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveRejected(
            RejectReason.UNSUPPORTED_COMPRESSION,
            name,
            f"entry {name!r} uses compression method {info.compress_type}; only stored (0) and deflated (8) are read",
        )
    if _file_name(name).lower().endswith(_ARCHIVE_SUFFIXES):
        raise ArchiveRejected(RejectReason.NESTED_ARCHIVE, name, f"entry {name!r} is an archive, by its name")


def _extract(archive_path: str, destination: str, entries: Sequence[_Entry], limits: ArchiveLimits) -> ExtractedArchive:
    archive_size = os.path.getsize(archive_path)
    files: list[ExtractedFile] = []
    ignored: list[str] = []
    total_bytes = 0
    with open(archive_path, "rb") as archive:
        for entry in entries:
            name = entry.info.filename
            if entry.table is None:
                # Read through all the same: a corrupt or oversized entry rejects the archive wherever it is.
                total_bytes += _copy_entry(archive, entry.info, _discard, limits, total_bytes, archive_size)
                ignored.append(name)
                continue
            table_directory = os.path.join(destination, entry.table)
            os.makedirs(table_directory, exist_ok=True)
            path = os.path.join(table_directory, _file_name(name))
            with open(path, "xb") as target:
                size = _copy_entry(archive, entry.info, target.write, limits, total_bytes, archive_size)
            total_bytes += size
            files.append(ExtractedFile(table=entry.table, entry_name=name, path=path, size=size))
    return ExtractedArchive(
        files=tuple(sorted(files, key=lambda extracted: (extracted.table, extracted.entry_name))),
        ignored=tuple(sorted(ignored)),
        total_bytes=total_bytes,
    )


def _discard(_chunk: bytes) -> None:
    """Where an ignored entry's bytes go: read for the checks, never written."""


# bzip2's "BZh" and tar's "ustar" are printable text a CSV file may hold, so those formats are caught by name only.
_ARCHIVE_MAGIC = {
    b"PK\x03\x04": "ZIP",
    b"PK\x05\x06": "ZIP",
    b"PK\x07\x08": "ZIP",
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"7z\xbc\xaf\x27\x1c": "7z",
    b"Rar!\x1a\x07": "RAR",
}
_MAGIC_LENGTH = max(len(magic) for magic in _ARCHIVE_MAGIC)


def _copy_entry(
    archive: BinaryIO,
    info: zipfile.ZipInfo,
    write: Callable[[bytes], object],
    limits: ArchiveLimits,
    bytes_before: int,
    archive_size: int,
) -> int:
    """Passes the entry's bytes to `write` chunk by chunk, rejecting the archive before writing past a limit."""
    name = info.filename
    size = 0
    crc = 0
    head = b""
    for chunk in _entry_chunks(archive, info):
        size += len(chunk)
        _check_limits(name, size, info.compress_size, bytes_before + size, archive_size, limits)
        if len(head) < _MAGIC_LENGTH:
            head += chunk[: _MAGIC_LENGTH - len(head)]
            _check_not_an_archive(name, head)
        crc = zlib.crc32(chunk, crc)
        write(chunk)
    if crc != info.CRC:
        raise ArchiveRejected(RejectReason.CORRUPT, name, f"entry {name!r} fails its CRC-32 check")
    if size != info.file_size:
        raise ArchiveRejected(RejectReason.CORRUPT, name, f"entry {name!r} holds {size} bytes but its header declares {info.file_size}")
    return size


def _check_limits(name: str, entry_bytes: int, compressed_bytes: int, total_bytes: int, archive_size: int, limits: ArchiveLimits) -> None:
    ratio = limits.max_compression_ratio
    if total_bytes > limits.max_uncompressed_bytes:
        raise ArchiveRejected(
            RejectReason.TOO_LARGE,
            name,
            f"entry {name!r}: {total_bytes} bytes decompressed so far exceed the limit of {limits.max_uncompressed_bytes}",
        )
    if entry_bytes > ratio * compressed_bytes:
        raise ArchiveRejected(
            RejectReason.COMPRESSION_RATIO,
            name,
            f"entry {name!r}: {entry_bytes} bytes from {compressed_bytes} compressed bytes exceed the ratio limit of {ratio}",
        )
    # Entries may share compressed data (an overlapping-entry bomb) or lie about their compressed size;
    # the archive's own size is the one figure no header can fake.
    if total_bytes > ratio * archive_size:
        raise ArchiveRejected(
            RejectReason.COMPRESSION_RATIO,
            name,
            f"entry {name!r}: {total_bytes} bytes from a {archive_size}-byte archive exceed the ratio limit of {ratio}",
        )


def _check_not_an_archive(name: str, head: bytes) -> None:
    for magic, kind in _ARCHIVE_MAGIC.items():
        if head.startswith(magic):
            raise ArchiveRejected(RejectReason.NESTED_ARCHIVE, name, f"entry {name!r} is an archive ({kind}), by its content")


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"


def _entry_chunks(archive: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    header = _local_header(archive, info.header_offset)
    if len(header) < _LOCAL_HEADER.size or not header.startswith(_LOCAL_SIGNATURE):
        raise ArchiveRejected(
            RejectReason.CORRUPT, info.filename, f"entry {info.filename!r} has no local header at offset {info.header_offset}"
        )
    name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
    archive.seek(name_length + extra_length, os.SEEK_CUR)
    raw = _raw_chunks(archive, info)
    return raw if info.compress_type == zipfile.ZIP_STORED else _inflated_chunks(raw, info.filename)


def _local_header(archive: BinaryIO, offset: int) -> bytes:
    if offset < 0:  # zipfile shifts offsets by where the central directory was expected, which can go below 0
        return b""
    archive.seek(offset)
    return archive.read(_LOCAL_HEADER.size)


def _raw_chunks(archive: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The entry's data as the archive holds it: compressed, unless the method is 'stored'."""
    remaining = info.compress_size
    while remaining > 0:
        chunk = archive.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            raise ArchiveRejected(RejectReason.CORRUPT, info.filename, f"entry {info.filename!r} runs past the end of the archive")
        remaining -= len(chunk)
        yield chunk


def _inflated_chunks(compressed_chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    """Inflates until the deflate stream itself ends, yielding at most CHUNK_SIZE bytes at a time."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # ZIP holds raw deflate data, without a zlib header
    for compressed in compressed_chunks:
        pending = compressed
        while not inflater.eof:
            try:
                chunk = inflater.decompress(pending, CHUNK_SIZE)
            except zlib.error as error:
                raise ArchiveRejected(RejectReason.CORRUPT, name, f"entry {name!r} has invalid compressed data: {error}") from error
            pending = inflater.unconsumed_tail
            if chunk:
                yield chunk
            elif not pending:
                break  # the inflater needs the next compressed chunk
        if inflater.eof:
            return
    raise ArchiveRejected(RejectReason.CORRUPT, name, f"entry {name!r} ends inside its compressed data")
