"""Safe unzip: each kind of bad archive is rejected with its reason, and nothing is left behind."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import random
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ingest.archive import (
    ArchiveLimits,
    ArchiveRejected,
    ExtractedArchive,
    ExtractedFile,
    RejectReason,
    TableFilePattern,
    extract_archive,
    quarantine_reason,
)

MIB = 1024 * 1024
PATTERNS = (
    TableFilePattern(table="customers", file_regex=r"^customers[^/]*\.csv$", required=True),
    TableFilePattern(table="orders", file_regex=r"^orders[^/]*\.csv$", required=True),
    TableFilePattern(table="addresses", file_regex=r"^[^/]*addresses\.csv$", required=False),
)
LIMITS = ArchiveLimits(max_entries=8, max_uncompressed_bytes=8 * MIB, max_compression_ratio=100.0)

CUSTOMERS = b"customer_id,name\nC1,Ada\nC2,Grace\n"
ORDERS = b"order_id,customer_id\nO1,C1\nO2,C2\n"
REQUIRED = [("customers.csv", CUSTOMERS), ("orders.csv", ORDERS)]


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # duplicates are one of the cases
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, content in entries:
                archive.writestr(name, content)
    return buffer.getvalue()


def _entry(name: str, unix_mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = unix_mode << 16
    return info


def _offsets(archive: bytes, name: str) -> tuple[int, int]:
    """Offsets of the entry's local header and of its central directory record."""
    local = zipfile.ZipFile(io.BytesIO(archive)).getinfo(name).header_offset
    # The central directory follows all entry data, so the name's last occurrence is in its record, 46 bytes in.
    central = archive.rindex(name.encode()) - 46
    return local, central


_LOCAL_FIELDS = {"flag_bits": (6, "<H"), "compress_size": (18, "<L"), "file_size": (22, "<L")}
_CENTRAL_FIELDS = {
    "extract_version": (6, "<H"),
    "flag_bits": (8, "<H"),
    "compress_size": (20, "<L"),
    "file_size": (24, "<L"),
    "header_offset": (42, "<L"),
}


def _patched(archive: bytes, name: str, **fields: int) -> bytes:
    """The archive with header fields of one entry overwritten, in its local header too where that has the field."""
    local, central = _offsets(archive, name)
    patched = bytearray(archive)
    for field, value in fields.items():
        offset, layout = _CENTRAL_FIELDS[field]
        struct.pack_into(layout, patched, central + offset, value)
        if field in _LOCAL_FIELDS:
            offset, layout = _LOCAL_FIELDS[field]
            struct.pack_into(layout, patched, local + offset, value)
    return bytes(patched)


def _with_data_replaced(archive: bytes, name: str, replace: Callable[[bytes], bytes]) -> bytes:
    """The archive with the entry's compressed data passed through `replace` (which keeps its length)."""
    local, _ = _offsets(archive, name)
    start = local + 30 + len(name)  # zipfile.writestr writes no extra field
    size = _compressed_size(archive, name)
    return archive[:start] + replace(archive[start : start + size]) + archive[start + size :]


def _central_directory_moved(archive: bytes, by: int) -> bytes:
    """The archive with the end record pointing `by` bytes past where its central directory really starts."""
    end = archive.rindex(b"PK\x05\x06")
    (offset,) = struct.unpack_from("<L", archive, end + 16)
    return archive[: end + 16] + struct.pack("<L", offset + by) + archive[end + 20 :]


def _overlapping(name_template: str, tables: list[str], content: bytes) -> bytes:
    """One stored entry's data shared by one central directory record per table, each named from the template."""
    names = [name_template.format(table=table) for table in tables]
    assert len({len(name) for name in names}) == 1, "the records are copies, so the names must be equally long"
    single = _zip([(names[0], content)], zipfile.ZIP_STORED)
    _, central = _offsets(single, names[0])
    end = single.rindex(b"PK\x05\x06")
    record = single[central:end]
    records = b"".join(record.replace(names[0].encode(), name.encode()) for name in names)
    end_record = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(names), len(names), len(records), central, 0)
    return single[:central] + records + end_record


def _compressed_size(archive: bytes, name: str) -> int:
    return zipfile.ZipFile(io.BytesIO(archive)).getinfo(name).compress_size


RATIO_BOMB = _zip([*REQUIRED, ("orders_bomb.csv", bytes(5_000_000))])
BOMB_WITHOUT_ORDERS = _zip([("customers.csv", bytes(5_000_000))])
# The headers claim 10 bytes; the data inflates to 5 MB.
LYING_HEADER = _patched(_zip([*REQUIRED, ("orders_more.csv", bytes(5_000_000))]), "orders_more.csv", file_size=10)
FLIPPED_BYTE = _with_data_replaced(
    _zip([*REQUIRED, ("orders_more.csv", ORDERS)], zipfile.ZIP_STORED), "orders_more.csv", lambda data: b"X" + data[1:]
)
NOT_DEFLATE = _with_data_replaced(_zip([*REQUIRED, ("orders_more.csv", ORDERS)]), "orders_more.csv", lambda data: b"\xff" * len(data))
STORED = _zip(REQUIRED, zipfile.ZIP_STORED)
LONG_NAME = f"orders_{'x' * 245}.csv"  # 256 bytes, one more than a file system holds
LONG_UTF8_NAME = f"orders_{'é' * 123}.csv"  # 134 characters but 257 bytes in UTF-8
DEFLATED = _zip(REQUIRED)
INCOMPRESSIBLE = random.Random(7).randbytes(10_000)


@dataclass(frozen=True)
class Rejection:
    id: str
    archive: bytes
    reason: RejectReason
    entry: str | None
    detail: str
    limits: ArchiveLimits = LIMITS


REJECTIONS = [
    Rejection("not-a-zip", CUSTOMERS, RejectReason.CORRUPT, None, "not a readable ZIP archive: File is not a zip file"),
    Rejection(
        "corrupt-truncated",
        DEFLATED[: len(DEFLATED) // 2],
        RejectReason.CORRUPT,
        None,
        "not a readable ZIP archive: File is not a zip file",
    ),
    Rejection("corrupt-crc", FLIPPED_BYTE, RejectReason.CORRUPT, "orders_more.csv", "entry 'orders_more.csv' fails its CRC-32 check"),
    Rejection(
        "corrupt-deflate-data",
        NOT_DEFLATE,
        RejectReason.CORRUPT,
        "orders_more.csv",
        "entry 'orders_more.csv' has invalid compressed data: Error -3 while decompressing data: invalid block type",
    ),
    Rejection(
        "corrupt-deflate-cut-short",
        _patched(DEFLATED, "orders.csv", compress_size=5),
        RejectReason.CORRUPT,
        "orders.csv",
        "entry 'orders.csv' ends inside its compressed data",
    ),
    Rejection(
        "corrupt-stored-past-end",
        _patched(STORED, "orders.csv", compress_size=10_000),
        RejectReason.CORRUPT,
        "orders.csv",
        "entry 'orders.csv' runs past the end of the archive",
    ),
    Rejection(
        "corrupt-size-mismatch",
        _patched(DEFLATED, "orders.csv", file_size=len(ORDERS) - 1),
        RejectReason.CORRUPT,
        "orders.csv",
        f"entry 'orders.csv' holds {len(ORDERS)} bytes but its header declares {len(ORDERS) - 1}",
    ),
    Rejection(
        "corrupt-no-local-header",
        _patched(DEFLATED, "orders.csv", header_offset=1),
        RejectReason.CORRUPT,
        "orders.csv",
        "entry 'orders.csv' has no local header at offset 1",
    ),
    Rejection(
        "corrupt-central-directory-offset",
        _central_directory_moved(DEFLATED, 100),
        RejectReason.CORRUPT,
        "customers.csv",
        "entry 'customers.csv' has no local header at offset -100",
    ),
    Rejection(
        "corrupt-utf8-name",
        _zip([*REQUIRED, ("é.csv", b"x")]).replace("é".encode(), b"\xc3("),
        RejectReason.CORRUPT,
        None,
        "not a readable ZIP archive: 'utf-8' codec can't decode byte 0xc3 in position 0: invalid continuation byte",
    ),
    Rejection(
        "corrupt-version-needed",
        _patched(DEFLATED, "orders.csv", extract_version=99),
        RejectReason.CORRUPT,
        None,
        "not a readable ZIP archive: zip file version 9.9",
    ),
    Rejection("empty", _zip([]), RejectReason.EMPTY, None, "the archive has no files (0 directory entries)"),
    Rejection(
        "empty-only-directories",
        _zip([("export/", b""), ("export/old/", b"")]),
        RejectReason.EMPTY,
        None,
        "the archive has no files (2 directory entries)",
    ),
    Rejection(
        "too-many-entries",
        _zip([*REQUIRED, *[(f"orders_{index}.csv", ORDERS) for index in range(7)]]),
        RejectReason.TOO_MANY_ENTRIES,
        None,
        "the archive has 9 entries; the limit is 8",
    ),
    Rejection(
        "zip-slip",
        _zip([*REQUIRED, ("../evil.csv", b"x")]),
        RejectReason.PATH_TRAVERSAL,
        "../evil.csv",
        "entry '../evil.csv' has a '..' path component",
    ),
    Rejection(
        "zip-slip-nested",
        _zip([("a/../../evil.csv", b"x"), *REQUIRED]),
        RejectReason.PATH_TRAVERSAL,
        "a/../../evil.csv",
        "entry 'a/../../evil.csv' has a '..' path component",
    ),
    Rejection(
        "zip-slip-backslash",
        _zip([("a\\..\\..\\evil.csv", b"x"), *REQUIRED]),
        RejectReason.PATH_TRAVERSAL,
        "a\\..\\..\\evil.csv",
        "entry 'a\\\\..\\\\..\\\\evil.csv' has a '..' path component",
    ),
    Rejection(
        "zip-slip-directory",
        _zip([("../", b""), *REQUIRED]),
        RejectReason.PATH_TRAVERSAL,
        "../",
        "entry '../' has a '..' path component",
    ),
    Rejection(
        "bad-entry-name-too-long",
        _zip([*REQUIRED, (LONG_NAME, b"x")]),
        RejectReason.BAD_ENTRY_NAME,
        LONG_NAME,
        f"entry {LONG_NAME!r} has a path component of 256 bytes in UTF-8; a file system holds at most 255",
    ),
    Rejection(
        "bad-entry-name-too-long-in-utf8",
        _zip([*REQUIRED, (LONG_UTF8_NAME, b"x")]),
        RejectReason.BAD_ENTRY_NAME,
        LONG_UTF8_NAME,
        f"entry {LONG_UTF8_NAME!r} has a path component of 257 bytes in UTF-8; a file system holds at most 255",
    ),
    Rejection(
        "bad-entry-name-long-folder",
        _zip([(f"{'x' * 256}/orders_more.csv", ORDERS), *REQUIRED]),
        RejectReason.BAD_ENTRY_NAME,
        f"{'x' * 256}/orders_more.csv",
        f"entry '{'x' * 256}/orders_more.csv' has a path component of 256 bytes in UTF-8; a file system holds at most 255",
    ),
    Rejection(
        "bad-entry-name-nul",
        _zip([*REQUIRED, ("orders_more.csv#.exe", b"x")]).replace(b"orders_more.csv#.exe", b"orders_more.csv\x00.exe"),
        RejectReason.BAD_ENTRY_NAME,
        "orders_more.csv\x00.exe",
        "entry 'orders_more.csv\\x00.exe' has a NUL byte in its name",
    ),
    Rejection(
        "absolute",
        _zip([*REQUIRED, ("/etc/x.csv", b"x")]),
        RejectReason.ABSOLUTE_PATH,
        "/etc/x.csv",
        "entry '/etc/x.csv' has an absolute path",
    ),
    Rejection(
        "absolute-drive",
        _zip([*REQUIRED, ("C:\\x.csv", b"x")]),
        RejectReason.ABSOLUTE_PATH,
        "C:\\x.csv",
        "entry 'C:\\\\x.csv' has an absolute path",
    ),
    Rejection(
        "absolute-unc",
        _zip([*REQUIRED, ("\\\\server\\share\\x.csv", b"x")]),
        RejectReason.ABSOLUTE_PATH,
        "\\\\server\\share\\x.csv",
        "entry '\\\\\\\\server\\\\share\\\\x.csv' has an absolute path",
    ),
    Rejection(
        "symlink",
        _zip([(_entry("customers.csv", stat.S_IFLNK | 0o777), b"/etc/passwd"), ("orders.csv", ORDERS)]),
        RejectReason.SYMLINK,
        "customers.csv",
        "entry 'customers.csv' is a symbolic link",
    ),
    Rejection(
        "fifo",
        _zip([(_entry("customers.csv", stat.S_IFIFO | 0o644), b""), ("orders.csv", ORDERS)]),
        RejectReason.SPECIAL_FILE,
        "customers.csv",
        "entry 'customers.csv' is a special file (prw-r--r--)",
    ),
    Rejection(
        "encrypted",
        _patched(DEFLATED, "orders.csv", flag_bits=0x1),
        RejectReason.ENCRYPTED_ENTRY,
        "orders.csv",
        "entry 'orders.csv' is encrypted",
    ),
    Rejection(
        "bzip2-compressed",
        _zip([*REQUIRED, ("orders_more.csv", ORDERS)], zipfile.ZIP_BZIP2),
        RejectReason.UNSUPPORTED_COMPRESSION,
        "customers.csv",
        "entry 'customers.csv' uses compression method 12; only stored (0) and deflated (8) are read",
    ),
    Rejection(
        "nested-zip-by-name",
        _zip([*REQUIRED, ("exports/orders.zip", DEFLATED)]),
        RejectReason.NESTED_ARCHIVE,
        "exports/orders.zip",
        "entry 'exports/orders.zip' is an archive, by its name",
    ),
    Rejection(
        "nested-tar-gz-by-name",
        _zip([*REQUIRED, ("orders.csv.TGZ", b"x")]),
        RejectReason.NESTED_ARCHIVE,
        "orders.csv.TGZ",
        "entry 'orders.csv.TGZ' is an archive, by its name",
    ),
    Rejection(
        "nested-zip-by-content",
        _zip([*REQUIRED, ("orders_more.csv", DEFLATED)]),
        RejectReason.NESTED_ARCHIVE,
        "orders_more.csv",
        "entry 'orders_more.csv' is an archive (ZIP), by its content",
    ),
    Rejection(
        "nested-empty-zip-by-content",
        _zip([*REQUIRED, ("orders_more.csv", _zip([]))]),
        RejectReason.NESTED_ARCHIVE,
        "orders_more.csv",
        "entry 'orders_more.csv' is an archive (ZIP), by its content",
    ),
    Rejection(
        "nested-gzip-by-content",
        _zip([*REQUIRED, ("orders_more.csv", gzip.compress(ORDERS, mtime=0))]),
        RejectReason.NESTED_ARCHIVE,
        "orders_more.csv",
        "entry 'orders_more.csv' is an archive (gzip), by its content",
    ),
    Rejection(
        "nested-xz-by-content",
        _zip([*REQUIRED, ("orders_more.csv", lzma.compress(ORDERS))]),
        RejectReason.NESTED_ARCHIVE,
        "orders_more.csv",
        "entry 'orders_more.csv' is an archive (xz), by its content",
    ),
    Rejection(
        "ratio-bomb",
        RATIO_BOMB,
        RejectReason.COMPRESSION_RATIO,
        "orders_bomb.csv",
        f"entry 'orders_bomb.csv': {MIB} bytes from {_compressed_size(RATIO_BOMB, 'orders_bomb.csv')} compressed bytes"
        " exceed the ratio limit of 100.0",
    ),
    Rejection(
        "ratio-bomb-before-missing-tables",
        BOMB_WITHOUT_ORDERS,
        RejectReason.COMPRESSION_RATIO,
        "customers.csv",
        f"entry 'customers.csv': {MIB} bytes from {_compressed_size(BOMB_WITHOUT_ORDERS, 'customers.csv')} compressed bytes"
        " exceed the ratio limit of 100.0",
    ),
    Rejection(
        "overlapping-entries-bomb",
        _overlapping("{table}_0001.csv", ["customers", "orders_aa", "orders_ab", "orders_ac", "orders_ad"], INCOMPRESSIBLE),
        RejectReason.COMPRESSION_RATIO,
        "orders_ac_0001.csv",
        "entry 'orders_ac_0001.csv': 40000 bytes from a 10390-byte archive exceed the ratio limit of 3.0",
        ArchiveLimits(max_entries=8, max_uncompressed_bytes=8 * MIB, max_compression_ratio=3.0),
    ),
    Rejection(
        "lying-header-too-large",
        LYING_HEADER,
        RejectReason.TOO_LARGE,
        "orders_more.csv",
        f"entry 'orders_more.csv': {3 * MIB + len(CUSTOMERS) + len(ORDERS)} bytes decompressed so far exceed the limit of {3 * MIB}",
        ArchiveLimits(max_entries=8, max_uncompressed_bytes=3 * MIB, max_compression_ratio=1_000_000.0),
    ),
    Rejection(
        "duplicate",
        _zip([*REQUIRED, ("orders.csv", ORDERS)]),
        RejectReason.DUPLICATE_ENTRY,
        "orders.csv",
        "entries 'orders.csv' and 'orders.csv' have the same file name, ignoring folders and case",
    ),
    Rejection(
        "duplicate-in-another-folder",
        _zip([*REQUIRED, ("export/orders.csv", ORDERS)]),
        RejectReason.DUPLICATE_ENTRY,
        "export/orders.csv",
        "entries 'orders.csv' and 'export/orders.csv' have the same file name, ignoring folders and case",
    ),
    Rejection(
        "duplicate-by-case",
        _zip([*REQUIRED, ("ORDERS.csv", ORDERS)]),
        RejectReason.DUPLICATE_ENTRY,
        "ORDERS.csv",
        "entries 'orders.csv' and 'ORDERS.csv' have the same file name, ignoring folders and case",
    ),
    Rejection(
        "missing-required-table",
        _zip([("customers.csv", CUSTOMERS)]),
        RejectReason.MISSING_TABLE,
        None,
        "no file matches required table(s) orders (^orders[^/]*\\.csv$)",
    ),
    Rejection(
        "missing-required-tables",
        _zip([("addresses.csv", b"address_id\n")]),
        RejectReason.MISSING_TABLE,
        None,
        "no file matches required table(s) customers (^customers[^/]*\\.csv$); orders (^orders[^/]*\\.csv$)",
    ),
    Rejection(
        "unknown-file",
        _zip([*REQUIRED, ("__MACOSX/._orders.csv", b"\x00\x05\x16\x07")]),
        RejectReason.UNKNOWN_FILE,
        "__MACOSX/._orders.csv",
        "entry '__MACOSX/._orders.csv' matches no table's file pattern",
    ),
    Rejection(
        "ambiguous",
        _zip([*REQUIRED, ("customers_addresses.csv", b"x")]),
        RejectReason.AMBIGUOUS_FILE,
        "customers_addresses.csv",
        "entry 'customers_addresses.csv' matches the file patterns of tables addresses, customers",
    ),
]


@pytest.mark.parametrize("case", REJECTIONS, ids=[case.id for case in REJECTIONS])
def test_a_bad_archive_is_rejected_with_its_reason_and_leaves_nothing_behind(tmp_path, case):
    archive_path = tmp_path / "extract.zip"
    archive_path.write_bytes(case.archive)
    destination = tmp_path / "extracted"

    with pytest.raises(ArchiveRejected) as rejected:
        extract_archive(str(archive_path), str(destination), PATTERNS, case.limits, "reject")

    assert quarantine_reason(rejected.value) == {"reason": case.reason.value, "entry": case.entry, "detail": case.detail}
    assert not destination.exists()


def test_every_reason_has_a_rejection_case():
    assert {case.reason for case in REJECTIONS} == set(RejectReason)


def _extract(tmp_path, archive: bytes, unknown_files="reject") -> tuple[ExtractedArchive, str]:
    archive_path = tmp_path / "extract.zip"
    archive_path.write_bytes(archive)
    destination = str(tmp_path / "extracted")
    return extract_archive(str(archive_path), destination, PATTERNS, LIMITS, unknown_files), destination


def _files_under(directory: str) -> dict[str, bytes]:
    found = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                found[os.path.relpath(path, directory)] = file.read()
    return found


# Over two chunks, so entries are read in several pieces; CSV-like, so well under the ratio limit.
LARGE_ORDERS = b"order_id,customer_id\n" + b"".join(f"O{index},C{index * 7919 % 100_003}\n".encode() for index in range(200_000))


def test_a_good_archive_extracts_each_table_file_flat_and_an_optional_table_may_be_absent(tmp_path):
    archive = _zip([("export/", b""), ("customers.csv", CUSTOMERS), ("export/2026/orders_1105.csv", LARGE_ORDERS)])

    extracted, destination = _extract(tmp_path, archive)

    assert len(LARGE_ORDERS) > 2 * MIB
    assert extracted == ExtractedArchive(
        files=(
            ExtractedFile("customers", "customers.csv", os.path.join(destination, "customers", "customers.csv"), len(CUSTOMERS)),
            ExtractedFile(
                "orders",
                "export/2026/orders_1105.csv",
                os.path.join(destination, "orders", "orders_1105.csv"),
                len(LARGE_ORDERS),
            ),
        ),
        ignored=(),
        total_bytes=len(CUSTOMERS) + len(LARGE_ORDERS),
    )
    assert _files_under(destination) == {"customers/customers.csv": CUSTOMERS, "orders/orders_1105.csv": LARGE_ORDERS}


def test_stored_entries_are_extracted_as_they_are(tmp_path):
    extracted, destination = _extract(tmp_path, STORED)

    assert [(extracted_file.table, extracted_file.size) for extracted_file in extracted.files] == [
        ("customers", len(CUSTOMERS)),
        ("orders", len(ORDERS)),
    ]
    assert _files_under(destination) == {"customers/customers.csv": CUSTOMERS, "orders/orders.csv": ORDERS}


def test_unknown_files_can_be_ignored_but_are_reported_and_never_written(tmp_path):
    mac_finder_info = b"\x00\x00\x00\x01Bud1"
    archive = _zip([*REQUIRED, ("__MACOSX/._orders.csv", b"\x00\x05\x16\x07"), (".DS_Store", mac_finder_info)])

    extracted, destination = _extract(tmp_path, archive, unknown_files="ignore")

    assert extracted.ignored == (".DS_Store", "__MACOSX/._orders.csv")
    assert [extracted_file.entry_name for extracted_file in extracted.files] == ["customers.csv", "orders.csv"]
    assert extracted.total_bytes == len(CUSTOMERS) + len(ORDERS) + 4 + len(mac_finder_info)
    assert _files_under(destination) == {"customers/customers.csv": CUSTOMERS, "orders/orders.csv": ORDERS}


def test_an_ignored_entry_is_still_checked_while_read(tmp_path):
    archive = _zip([*REQUIRED, ("notes.txt", bytes(1_000_000))])

    with pytest.raises(ArchiveRejected) as rejected:
        _extract(tmp_path, archive, unknown_files="ignore")

    assert (rejected.value.reason, rejected.value.entry) == (RejectReason.COMPRESSION_RATIO, "notes.txt")
    assert not (tmp_path / "extracted").exists()


def test_the_destination_must_not_exist_yet(tmp_path):
    (tmp_path / "extracted").mkdir()

    with pytest.raises(FileExistsError):
        _extract(tmp_path, DEFLATED)
