"""Writes nested items to DynamoDB from the executors, paced to the run's write budget.

Conditions. Every item is written with a conditional PutItem: `attribute_not_exists(<partition
key>) OR <snapshot> <= :snapshot`. The snapshot is the lake commit sequence the item was assembled
from (the run ledger hands out one per committed extract, in commit order), so an item built from
an older view of the lake can never replace one built from a newer view, whatever order runs finish
in. A row flagged `ingest_delete_item` is a DeleteItem with the same condition. The condition is
evaluated by DynamoDB atomically with the write, which a read-then-write check would not be with
two runs writing at once. BatchWriteItem cannot carry a condition, so items are not batched into
one request; they are written concurrently from a bounded pool of threads per writer task instead,
which costs the same write units (DynamoDB charges per item either way).

Budget. The run may spend a number of write units per second on the table (the stack's
`itemsWriteUnitsPerSecond`, which also sets the table's warm throughput and on-demand maximum).
The job gives the items to `writer_count` tasks, no more than can run at once, and each spends at
most its share through a `TokenBucket` charged with what DynamoDB charges: a put costs one unit
per started KB of the item, and a conditional write that fails costs the same; a put that replaces
a larger item and a delete (which costs the stored item's size) are settled upward with the units
the response reports. So the table is never asked for more than the budget, instead of being asked
for everything and answering with throttling. When it throttles anyway (a table that is not warm
yet, or slower than the stack says), the task lowers its rate and wins it back gradually.

Reruns. Before writing, the task reads the snapshot attribute of each chunk of items with one
eventually consistent BatchGetItem (half a read unit per item of up to 4 KB, paced in read units
like the writes): an item the table already holds at the run's snapshot is not written again
(`unchanged`), nor one it holds at a newer snapshot (`stale`), nor a deletion of an item it no
longer holds. A read that is not consistent yet can only show an older state than the table's, so
it can make the writer send a write the condition then decides, never skip one it needed.

Deadline. A task gives up on an item only when the table has given it far less than its share:
its deadline is a grace period plus `deadline_allowance` times the time its share needs for the
units of the items it has taken on, so it follows from the budget and the items, not from a
fixed clock. An item still unwritten then is counted and named in the outcome, never dropped
silently. Outcomes are plain dicts so nothing but data crosses the executor boundary.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Context, Decimal
from itertools import islice

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from ingest.retry import BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS, Backoff

THROTTLING_ERRORS = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
RETRYABLE_ERRORS = THROTTLING_ERRORS | {"InternalServerError", "ServiceUnavailable", "LimitExceededException"}


def is_transient(error: ClientError) -> bool:
    """Throttling, or a failure on the server's side (any 5xx, whatever its body says): worth another try."""
    code = error.response.get("Error", {}).get("Code", "")
    return code in RETRYABLE_ERRORS or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500


DYNAMODB_ITEM_LIMIT = 400 * 1024
# Oversize and failed items are counted in full; this many of each are named in the outcome.
_MAX_NAMED_ITEMS = 100

# What DynamoDB charges: a write unit per started KB written; an eventually consistent read, half a
# read unit per started 4 KB read (a key that is not there costs half a unit too).
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
# A new on-demand table takes this many write units per second at once (its warm throughput).
ON_DEMAND_WARM_WRITE_UNITS = 4000
# BatchGetItem's limit: keys read in one request.
CHECK_BATCH = 100


def write_units(item_bytes: int) -> int:
    """Write units of a put of an item this size, or of a conditional write of it that fails."""
    return max(1, math.ceil(item_bytes / WRITE_UNIT_BYTES))


def check_read_units(item_bytes: int) -> float:
    """Read units of an eventually consistent read of an item this size."""
    return max(1, math.ceil(item_bytes / READ_UNIT_BYTES)) / 2


class ItemValueError(ValueError):
    """A value DynamoDB cannot store: a NaN or infinite number, or an empty or missing key."""


# The most one writer task is asked to send. One Python worker parses the JSON Spark made of the
# example mapping's items (1.4 write units each), signs and sends about 1,600 write units of them
# (1,500 to 1,750) per second of CPU with the network left out (BENCHMARKS.md, "DynamoDB leg at
# real scale"), before each row's crossing from the JVM: a share of 1,000 stays within its core.
WRITER_UNITS_PER_SECOND = 1000
# Fewer items than this are not worth a task of their own: its start costs more than their writes.
MIN_ITEMS_PER_WRITER = 5000


def writer_count(write_units_per_second: float, items: int, task_slots: int) -> int:
    """How many tasks write the run's items, each spending an equal share of the budget.

    Enough that no share is more than one Python worker sends (`WRITER_UNITS_PER_SECOND`), no more
    than Spark runs at once (a task waiting for a slot would leave its share unspent), and not one
    per handful of items.
    """
    wanted = math.ceil(write_units_per_second / WRITER_UNITS_PER_SECOND)
    return max(1, min(task_slots, wanted, math.ceil(items / MIN_ITEMS_PER_WRITER)))


@dataclass(frozen=True)
class WriterSettings:
    table_name: str
    partition_key: str
    sort_key: str | None
    snapshot_attribute: str
    max_item_bytes: int
    # This task's share of the run's budget; check reads are paced at as many read units.
    write_units_per_second: float = ON_DEMAND_WARM_WRITE_UNITS
    endpoint_url: str | None = None
    region: str | None = None
    threads: int = 16
    # The table may give a task as little as 1/allowance of its share, after the grace period, before items fail.
    deadline_allowance: float = 3.0
    deadline_grace_seconds: float = 300.0
    backoff_base_seconds: float = BACKOFF_BASE_SECONDS
    backoff_cap_seconds: float = BACKOFF_CAP_SECONDS

    @property
    def keys(self) -> list[str]:
        return [self.partition_key] + ([self.sort_key] if self.sort_key else [])


# The run report's item counts, in the order it lists them.
WRITE_COUNTS = (
    "written",
    "unchanged",
    "deleted",
    "stale",
    "oversize",
    "failed",
    "requests",
    "checks",
    "retries",
    "throttled",
    "writeUnits",
)

# The columns of an item as the writer takes it (computed by Spark expressions in ingest/item_json.py,
# or by `encoded_item` from a plain row): its key named for people, its AttributeValue JSON, its size
# by DynamoDB's rules, and why DynamoDB could not store it (null when it can).
ITEM_KEY = "ingest_item_key"
ITEM_JSON = "ingest_item_json"
ITEM_BYTES = "ingest_item_bytes"
ITEM_PROBLEM = "ingest_item_problem"

# A row with this column set true stands for an item to delete: its root no longer exists in the
# lake. The delete carries the snapshot like a put, so an item built from more of the lake stays.
DELETE_MARKER = "ingest_delete_item"


@dataclass
class WriteOutcome:
    written: int = 0
    # Not sent: the table already held the item at the run's snapshot, or no longer held a deleted one.
    unchanged: int = 0
    deleted: int = 0
    # Not written: the table holds the item from a newer snapshot (seen by the check or by the condition).
    stale: int = 0
    oversize: int = 0
    failed: int = 0
    # PutItem and DeleteItem calls, retries included; `checks` are the BatchGetItem calls.
    requests: int = 0
    checks: int = 0
    retries: int = 0
    # Calls the table answered with throttling, writes and checks.
    throttled: int = 0
    # Write units the writes cost, as DynamoDB reports them (or charges them, where it does not say).
    write_units: int = 0
    oversize_items: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        counts = {name: getattr(self, _attribute(name)) for name in WRITE_COUNTS}
        return {**counts, "oversize_items": self.oversize_items, "failures": self.failures}


def _attribute(count: str) -> str:
    return "write_units" if count == "writeUnits" else count


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


def encoded_item(row: Mapping, keys: list[str]) -> dict:
    """A plain item row (nested Python values) in the form the writer takes, as item_json makes it in Spark."""
    encoded = {ITEM_KEY: _key_text(row, keys), DELETE_MARKER: bool(row.get(DELETE_MARKER))}
    try:
        item = to_item({name: value for name, value in row.items() if name != DELETE_MARKER}, keys)
    except ItemValueError as error:
        return {**encoded, ITEM_JSON: None, ITEM_BYTES: None, ITEM_PROBLEM: str(error)}
    return {**encoded, ITEM_JSON: json.dumps(item), ITEM_BYTES: item_size(item), ITEM_PROBLEM: None}


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


# Burst a bucket keeps: one second of its rate, so a task that paused briefly catches up.
BURST_SECONDS = 1.0
# On throttling the rate drops to this fraction of itself, at most once per interval: the requests
# in flight when the table pushed back all come back throttled, and one cut answers all of them.
SLOWDOWN = 0.7
SLOWDOWN_INTERVAL_SECONDS = 1.0
# After a cut the rate climbs back by this fraction of the cut rate per second, up to the share. In
# proportion to the cut rate, so that a table throttling every second keeps pulling the rate down
# to what it takes, as far as `MIN_RATE`.
RECOVERY_PER_SECOND = 0.05
# The rate never drops below this fraction of the share; the deadline decides when to give up. Not
# lower: throttling need not follow the rate (one call in four refused whatever is sent cuts the rate
# every second), and a task at half its share with a third of its calls refused still writes the
# third of its share that the deadline (`deadline_allowance` 3) allows for. A table slower than that
# fails its items by the deadline whatever the writer sends.
MIN_RATE = 1 / 2


class TokenBucket:
    """Units per second for the threads of one writer task, adapting to throttling.

    A request reserves its units and is told when to send: reservations are served in order at
    the current rate, and up to `BURST_SECONDS` of unused rate is kept. The bucket starts empty,
    so tasks that start together do not add a burst on top of the budget. Units can be owed: an
    item larger than the burst waits for all of them, and `settle` charges what a request turned
    out to cost beyond its reservation.
    """

    def __init__(self, units_per_second: float, *, clock: Callable[[], float]) -> None:
        self.share = units_per_second
        self.slowdowns = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._updated = clock()
        self._cut_rate = units_per_second
        self._cut_at = -math.inf

    @property
    def rate(self) -> float:
        with self._lock:
            return self._rate(self._clock())

    def reserve(self, units: float, deadline: float = math.inf) -> float | None:
        """Takes `units` and returns when they may be spent; None (and nothing taken) when that is after `deadline`."""
        with self._lock:
            now = self._refill()
            owed = units - self._tokens
            when = now if owed <= 0 else now + owed / self._rate(now)
            if when > deadline:
                return None
            self._tokens -= units
            return when

    def settle(self, units: float) -> None:
        """Charges units a request cost beyond its reservation; later reservations wait for them."""
        with self._lock:
            self._refill()
            self._tokens -= units

    def throttled(self) -> None:
        with self._lock:
            now = self._refill()
            if now - self._cut_at >= SLOWDOWN_INTERVAL_SECONDS:
                self._cut_rate = max(self.share * MIN_RATE, self._rate(now) * SLOWDOWN)
                self._cut_at = now
                self.slowdowns += 1

    def _rate(self, now: float) -> float:
        return min(self.share, self._cut_rate * (1 + RECOVERY_PER_SECOND * (now - self._cut_at)))

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.share * BURST_SECONDS, self._tokens + (now - self._updated) * self._rate(now))
        self._updated = now
        return now


class Deadline:
    """When a writer task stops retrying: a grace period, then `allowance` times the time its share needs for what it took on."""

    def __init__(self, start: float, *, grace_seconds: float, allowance: float) -> None:
        # Extended by the thread that hands out the items, read by the threads that send them.
        self.at = start + grace_seconds
        self._allowance = allowance

    def extend(self, units: float, units_per_second: float) -> None:
        self.at += self._allowance * units / units_per_second


@functools.cache
def _cached_client(endpoint_url: str | None, region: str | None, threads: int):
    # No client-side parameter validation: it walks every request against the service model, about
    # 40 % of a writer's CPU, and DynamoDB validates each request itself (a ValidationException is a
    # failure named with its item, as any request DynamoDB refuses).
    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=max(10, threads), parameter_validation=False)
    return boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region, config=config)


def default_client(settings: WriterSettings):
    """A client without botocore's own retries, so backoff and retry counts are this module's, and without client-side validation.

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
    writer = _PartitionWriter(client_factory(settings), settings, sleep, clock)
    writer.write(rows)
    yield writer.outcome.as_dict()


@dataclass(frozen=True)
class _Write:
    """One item's request, with what it costs."""

    key_text: str
    key: dict[str, dict]
    request: dict
    deleting: bool
    snapshot: Decimal
    units: int
    check_units: float


# A stored item without the snapshot attribute: the condition never lets the writer replace it.
_NO_SNAPSHOT = Decimal("Infinity")


class _PartitionWriter:
    def __init__(self, client, settings: WriterSettings, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self._client = client
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self.outcome = WriteOutcome()
        self.writes = TokenBucket(settings.write_units_per_second, clock=clock)
        self.reads = TokenBucket(settings.write_units_per_second, clock=clock)
        self.deadline = Deadline(clock(), grace_seconds=settings.deadline_grace_seconds, allowance=settings.deadline_allowance)

    def write(self, rows: Iterable[Mapping]) -> None:
        threads = self._settings.threads
        in_flight: set[Future] = set()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            iterator = iter(rows)
            while chunk := list(islice(iterator, CHECK_BATCH)):
                for write in self._unwritten(self._prepared(chunk)):
                    self.deadline.extend(write.units, self.writes.share)
                    if len(in_flight) >= threads * 4:
                        done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                    in_flight.add(pool.submit(self._send, write))
            for future in in_flight:
                future.result()

    def _record(self, **counts: float) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self.outcome, name, getattr(self.outcome, name) + count)

    def _remember(self, entries: list[dict], entry: dict) -> None:
        with self._lock:
            if len(entries) < _MAX_NAMED_ITEMS:
                entries.append(entry)

    def _fail(self, key_text: str, error: str) -> None:
        self._record(failed=1)
        self._remember(self.outcome.failures, {"key": key_text, "error": error})

    def _prepared(self, rows: list[Mapping]) -> list[_Write]:
        """The requests of a chunk of rows; rows that cannot be items are failed, oversize ones counted."""
        settings = self._settings
        writes = []
        for row in rows:
            encoded = row if ITEM_JSON in row else encoded_item(row, settings.keys)
            key_text = encoded[ITEM_KEY]
            deleting = bool(encoded.get(DELETE_MARKER))
            if encoded[ITEM_PROBLEM] is not None:
                self._fail(key_text, encoded[ITEM_PROBLEM])
                continue
            size = encoded[ITEM_BYTES]
            if not deleting and size > settings.max_item_bytes:
                self._record(oversize=1)
                self._remember(self.outcome.oversize_items, {"key": key_text, "bytes": size})
                continue
            item = json.loads(encoded[ITEM_JSON])
            snapshot = item[settings.snapshot_attribute]
            key = {name: item[name] for name in settings.keys}
            request = {
                "TableName": settings.table_name,
                "ConditionExpression": "attribute_not_exists(#pk) OR #snapshot <= :snapshot",
                "ExpressionAttributeNames": {"#pk": settings.partition_key, "#snapshot": settings.snapshot_attribute},
                "ExpressionAttributeValues": {":snapshot": snapshot},
                "ReturnConsumedCapacity": "TOTAL",
                **({"Key": key} if deleting else {"Item": item}),
            }
            # A delete costs the stored item's size, unknown until DynamoDB reports it: one unit, settled after.
            units = 1 if deleting else write_units(size)
            writes.append(_Write(key_text, key, request, deleting, Decimal(snapshot["N"]), units, check_read_units(size)))
        return writes

    def _unwritten(self, writes: list[_Write]) -> list[_Write]:
        """The writes the table still needs, by the stored snapshots; the others are counted as unchanged or stale."""
        stored = self._stored_snapshots(writes)
        if stored is None:
            return writes
        needed = []
        for write in writes:
            held = stored.get(_key_identity(write.key))
            if held is None:
                if write.deleting:
                    self._record(unchanged=1)
                else:
                    needed.append(write)
            elif held > write.snapshot:
                self._record(stale=1)
            elif held == write.snapshot and not write.deleting:
                self._record(unchanged=1)
            else:
                needed.append(write)
        return needed

    def _stored_snapshots(self, writes: list[_Write]) -> dict[tuple, Decimal] | None:
        """The snapshot each stored item of the chunk holds, absent for items not stored.

        None when the check cannot tell: a key DynamoDB refuses (each write then reports its own
        error), or the deadline passed with keys unread (the conditions decide).
        """
        settings = self._settings
        if not writes:
            return {}
        names = {f"#k{index}": name for index, name in enumerate(settings.keys)} | {"#snapshot": settings.snapshot_attribute}
        keys = list({_key_identity(write.key): write.key for write in writes}.values())
        units = sum(write.check_units for write in writes)
        self.deadline.extend(units, self.reads.share)
        stored: dict[tuple, Decimal] = {}
        backoff = self._backoff()
        while keys:
            when = self.reads.reserve(units, self.deadline.at)
            if when is None:
                return None
            self._wait_until(when)
            self._record(checks=1)
            try:
                response = self._client.batch_get_item(
                    RequestItems={
                        settings.table_name: {"Keys": keys, "ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
                    },
                    ReturnConsumedCapacity="TOTAL",
                )
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code == "ValidationException":
                    return None
                if not is_transient(error):
                    raise
                self._on_retryable(self.reads, code)
            except (ConnectionError, HTTPClientError):
                pass
            else:
                consumed = sum(entry.get("CapacityUnits", 0) for entry in response.get("ConsumedCapacity", []))
                if consumed > units:
                    self.reads.settle(consumed - units)
                for item in response.get("Responses", {}).get(settings.table_name, []):
                    held = item.get(settings.snapshot_attribute)
                    stored[_key_identity({name: item[name] for name in settings.keys})] = Decimal(held["N"]) if held else _NO_SNAPSHOT
                unread = response.get("UnprocessedKeys", {}).get(settings.table_name, {}).get("Keys", [])
                if not unread:
                    return stored
                # DynamoDB leaves keys unprocessed when it throttles part of the batch.
                self._on_retryable(self.reads, "ProvisionedThroughputExceededException")
                units = units * len(unread) / len(keys)
                keys = unread
            if not backoff.wait():
                return None
        return stored

    def _send(self, write: _Write) -> None:
        reason = "waiting for its write units"
        backoff = self._backoff()
        while True:
            # A throttled request cost nothing, but its retry reserves its units again: together with
            # the lower rate, the debt this leaves slows the task down while the table catches up.
            when = self.writes.reserve(write.units, self.deadline.at)
            if when is None:
                self._fail(write.key_text, f"still {reason} after {backoff.pauses} attempts at the deadline")
                return
            self._wait_until(when)
            self._record(requests=1)
            try:
                call = self._client.delete_item if write.deleting else self._client.put_item
                response = call(**write.request)
            except ClientError as error:
                reason = error.response.get("Error", {}).get("Code", "")
                if reason == "ConditionalCheckFailedException":
                    # A failed condition costs the item's units all the same, and DynamoDB does not say how many.
                    self._record(stale=1, write_units=write.units)
                    return
                if not is_transient(error):
                    self._fail(write.key_text, f"{reason}: {error}")
                    return
                self._on_retryable(self.writes, reason)
            except (ConnectionError, HTTPClientError) as error:
                reason = type(error).__name__
            else:
                consumed = response.get("ConsumedCapacity", {}).get("CapacityUnits", write.units)
                if consumed > write.units:
                    self.writes.settle(consumed - write.units)
                self._record(write_units=math.ceil(max(consumed, write.units)), **({"deleted": 1} if write.deleting else {"written": 1}))
                return
            if not backoff.wait():
                self._fail(write.key_text, f"still {reason} after {backoff.pauses + 1} attempts at the deadline")
                return
            self._record(retries=1)

    def _on_retryable(self, bucket: TokenBucket, code: str) -> None:
        if code in THROTTLING_ERRORS:
            self._record(throttled=1)
            bucket.throttled()

    def _backoff(self) -> Backoff:
        """The pauses of one request, until the task's deadline as it stands at each pause."""
        settings = self._settings
        return Backoff(
            settings.backoff_base_seconds, settings.backoff_cap_seconds, lambda: self.deadline.at, clock=self._clock, sleep=self._sleep
        )

    def _wait_until(self, when: float) -> None:
        delay = when - self._clock()
        if delay > 0:
            self._sleep(delay)


def _key_identity(key: Mapping[str, dict]) -> tuple:
    """A key's attribute values as a hashable value, the same for the key sent and the key read back."""
    return tuple((name, *next(iter(value.items()))) for name, value in sorted(key.items()))
