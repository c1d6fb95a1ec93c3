"""Writes nested items to DynamoDB from the executors.

Every item is written with a conditional PutItem: `attribute_not_exists(<partition key>) OR
<snapshot> <= :snapshot`. The snapshot is the lake commit sequence the item was assembled from
(the run ledger hands out one per committed extract, in commit order), so an item built from an
older view of the lake can never replace one built from a newer view, whatever order runs finish
in; a rerun of the same extract carries the same snapshot and writes the same item again. The
condition is evaluated by DynamoDB atomically with the write, which a read-then-write check would
not be with two runs writing at once. BatchWriteItem cannot carry a condition, so items are not
batched into one request; they are written concurrently from a bounded pool of threads per Spark
partition instead, which gives the same throughput at the same write-capacity cost (DynamoDB
charges per item either way).

Throttling and transient server errors are retried with exponential backoff and full jitter until
a deadline; an item still unwritten then is counted and named in the outcome, never dropped
silently. Outcomes are plain dicts so nothing but data crosses the executor boundary.
"""

from __future__ import annotations

import base64
import functools
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Context, Decimal

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

RETRYABLE_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)


def is_transient(error: ClientError) -> bool:
    """Throttling, or a failure on the server's side (any 5xx, whatever its body says): worth another try."""
    code = error.response.get("Error", {}).get("Code", "")
    return code in RETRYABLE_ERRORS or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500


DYNAMODB_ITEM_LIMIT = 400 * 1024
# Oversize and failed items are counted in full; this many of each are named in the outcome.
_MAX_NAMED_ITEMS = 100


class ItemValueError(ValueError):
    """A value DynamoDB cannot store: a NaN or infinite number, or an empty or missing key."""


@dataclass(frozen=True)
class WriterSettings:
    table_name: str
    partition_key: str
    sort_key: str | None
    snapshot_attribute: str
    max_item_bytes: int
    endpoint_url: str | None = None
    region: str | None = None
    threads: int = 16
    deadline_seconds: float = 900.0
    backoff_base_seconds: float = 0.05
    backoff_cap_seconds: float = 5.0

    @property
    def keys(self) -> list[str]:
        return [self.partition_key] + ([self.sort_key] if self.sort_key else [])


def writer_settings(plan: Mapping, table_name: str, **tuning) -> WriterSettings:
    """Settings for writing a job plan's items to `table_name`; `tuning` overrides the writer's defaults."""
    item = plan["item"]
    return WriterSettings(
        table_name=table_name,
        partition_key=item["partitionKey"]["attribute"],
        sort_key=item["sortKey"]["attribute"] if "sortKey" in item else None,
        snapshot_attribute=item["snapshotAttribute"],
        max_item_bytes=plan["oversize"]["maxItemBytes"],
        **tuning,
    )


WRITE_COUNTS = ("written", "deleted", "stale", "oversize", "failed", "requests", "retries")

# A row with this column set true stands for an item to delete: its root no longer exists in the
# lake. The delete carries the snapshot like a put, so an item built from more of the lake stays.
DELETE_MARKER = "ingest_delete_item"


@dataclass
class WriteOutcome:
    written: int = 0
    deleted: int = 0
    stale: int = 0
    oversize: int = 0
    failed: int = 0
    requests: int = 0
    retries: int = 0
    oversize_items: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        counts = {name: getattr(self, name) for name in WRITE_COUNTS}
        return {**counts, "oversize_items": self.oversize_items, "failures": self.failures}


def to_attribute_value(value) -> dict | None:
    """One Python value as a DynamoDB AttributeValue; None for a null that is left out of a map."""
    if value is None:
        return None
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ItemValueError(f"{value} cannot be stored in DynamoDB")
        return {"N": _number_text(Decimal(repr(value)))}
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ItemValueError(f"{value} cannot be stored in DynamoDB")
        return {"N": _number_text(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, datetime):
        # Spark hands timestamps to Python as naive local times; astimezone reads them as such.
        moment = value.astimezone(UTC)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        return {"S": f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"}
    if isinstance(value, date):
        return {"S": value.isoformat()}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        members = {}
        for name, member in value.items():
            converted = to_attribute_value(member)
            if converted is not None:
                members[str(name)] = converted
        return {"M": members}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute_value(element) or {"NULL": True} for element in value]}
    raise ItemValueError(f"values of type {type(value).__name__} cannot be stored in DynamoDB")


def to_item(row: Mapping, keys: list[str]) -> dict:
    """A whole item; every key attribute must be present and not empty."""
    item = to_attribute_value(row)["M"]
    for key in keys:
        value = item.get(key)
        if value is None or value.get("S") == "":
            raise ItemValueError(f"key attribute {key!r} is missing or empty in {_key_text(row, keys)}")
    return item


def item_size(item: Mapping[str, dict]) -> int:
    """Item size by DynamoDB's published rules: names and values, list and map overheads."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: dict) -> int:
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "N":
        digits = Decimal(content).as_tuple().digits
        significant = "".join(map(str, digits)).strip("0") or "0"
        return math.ceil(len(significant) / 2) + 1
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode("utf-8")) + _value_size(member) for name, member in content.items())
    raise ItemValueError(f"unsupported attribute type {kind}")


def _number_text(number: Decimal) -> str:
    if number == 0:
        return "0"
    # The default context (28 digits) would round DynamoDB's 38-digit numbers.
    digits = len(number.as_tuple().digits)
    return format(number.normalize(Context(prec=max(digits, 1))), "f")


def _key_text(row: Mapping, keys: list[str]) -> str:
    return ", ".join(f"{key}={row.get(key)!r}" for key in keys)


@functools.cache
def _cached_client(endpoint_url: str | None, region: str | None, threads: int):
    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=max(10, threads))
    return boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region, config=config)


def default_client(settings: WriterSettings):
    """A client without botocore's own retries, so backoff and retry counts are this module's.

    Built once per Python worker: Spark reuses workers across partitions, and building a client
    (loading the service model) costs more than writing a small partition.
    """
    return _cached_client(settings.endpoint_url, settings.region, settings.threads)


def write_partition(
    rows: Iterable[Mapping],
    settings: WriterSettings,
    client_factory: Callable[[WriterSettings], object] = default_client,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[dict]:
    """Writes one partition's items; yields a single outcome dict (the mapPartitions contract)."""
    client = client_factory(settings)
    outcome = WriteOutcome()
    lock = threading.Lock()
    deadline = clock() + settings.deadline_seconds
    snapshot_name = settings.snapshot_attribute

    def record(**counts: int) -> None:
        with lock:
            for name, count in counts.items():
                setattr(outcome, name, getattr(outcome, name) + count)

    def send(row: Mapping) -> None:
        deleting = bool(row.get(DELETE_MARKER))
        try:
            item = to_item({name: value for name, value in row.items() if name != DELETE_MARKER}, settings.keys)
        except ItemValueError as error:
            record(failed=1)
            _remember(lock, outcome.failures, {"key": _key_text(row, settings.keys), "error": str(error)})
            return
        size = item_size(item)
        if not deleting and size > settings.max_item_bytes:
            record(oversize=1)
            _remember(lock, outcome.oversize_items, {"key": _key_text(row, settings.keys), "bytes": size})
            return
        request = {
            "TableName": settings.table_name,
            "ConditionExpression": "attribute_not_exists(#pk) OR #snapshot <= :snapshot",
            "ExpressionAttributeNames": {"#pk": settings.partition_key, "#snapshot": snapshot_name},
            "ExpressionAttributeValues": {":snapshot": item[snapshot_name]},
        }
        if deleting:
            request["Key"] = {key: item[key] for key in settings.keys}
        else:
            request["Item"] = item
        attempt = 0
        while True:
            record(requests=1)
            try:
                if deleting:
                    client.delete_item(**request)
                    record(deleted=1)
                else:
                    client.put_item(**request)
                    record(written=1)
                return
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code == "ConditionalCheckFailedException":
                    record(stale=1)
                    return
                if not is_transient(error):
                    record(failed=1)
                    _remember(lock, outcome.failures, {"key": _key_text(row, settings.keys), "error": f"{code}: {error}"})
                    return
                reason = code
            except (ConnectionError, HTTPClientError) as error:
                reason = type(error).__name__
            pause = random.uniform(0, min(settings.backoff_cap_seconds, settings.backoff_base_seconds * 2**attempt))
            if clock() + pause > deadline:
                record(failed=1)
                _remember(
                    lock,
                    outcome.failures,
                    {"key": _key_text(row, settings.keys), "error": f"still {reason} after {attempt + 1} attempts at the deadline"},
                )
                return
            record(retries=1)
            attempt += 1
            sleep(pause)

    in_flight: set[Future] = set()
    with ThreadPoolExecutor(max_workers=settings.threads) as pool:
        for row in rows:
            if len(in_flight) >= settings.threads * 4:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
            in_flight.add(pool.submit(send, row))
        for future in in_flight:
            future.result()
    yield outcome.as_dict()


def _remember(lock: threading.Lock, entries: list[dict], entry: dict) -> None:
    with lock:
        if len(entries) < _MAX_NAMED_ITEMS:
            entries.append(entry)


def plain_value(value):
    """An item as JSON-ready values, for the quarantine file of oversize items."""
    if isinstance(value, Mapping):
        return {str(name): plain_value(member) for name, member in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(element) for element in value]
    if isinstance(value, Decimal | float):
        return str(value)
    if isinstance(value, datetime | date):
        return to_attribute_value(value)["S"]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value
