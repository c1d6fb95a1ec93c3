"""BatchWriteItem from a task: the entries it writes, what it counts, and the writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import NamedTuple

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from ingest.dynamodb_writer import is_transient
from ingest.lookup.settings import LoaderTuning
from ingest.lookup_lines import key_of

BATCH_WRITE_LIMIT = 25
_MAX_NAMED_FAILURES = 5


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
        backoff = self._tuning.backoff(self._deadline, clock=self._clock, sleep=self._sleep)
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
            if not backoff.wait():
                self._counts.fail(pending, f"still {reason} after {backoff.pauses + 1} attempts at the deadline")
                return

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
