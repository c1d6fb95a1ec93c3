"""DynamoDB clients for tests and benchmarks of the writer: throttling where DynamoDB would, which moto never does.

- `throttling_client_factory`: a share of the write calls is throttled, whatever the rate.
- `SimulatedTable`: a table's capacity in front of moto; a call the capacity cannot take is throttled.
- `discarding_client_factory`: every call succeeds without reaching any server (the writer's own cost).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from ingest.dynamodb_writer import READ_UNIT_BYTES, WriterSettings, check_read_units, item_size, write_units

WRITE_OPERATIONS = ("PutItem", "DeleteItem")


def _client(settings: WriterSettings):
    return boto3.client(
        "dynamodb",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=max(10, settings.threads)),
    )


def _throttled(settings: WriterSettings) -> tuple[AWSResponse, dict]:
    error = {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}
    return AWSResponse(settings.endpoint_url or "", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}


def throttling_client_factory(pattern: Iterable[bool], operations: Iterable[str] = WRITE_OPERATIONS) -> Callable[[WriterSettings], object]:
    """Client factory for `write_partition`: call n of `operations`, counted over every client it builds, is throttled when the cycled pattern says True."""
    answers = itertools.cycle(pattern)
    lock = threading.Lock()

    def factory(settings: WriterSettings):
        client = _client(settings)

        def maybe_throttle(**_):
            with lock:
                throttle = next(answers)
            return _throttled(settings) if throttle else None

        for operation in operations:
            client.meta.events.register(f"before-call.dynamodb.{operation}", maybe_throttle)
        return client

    return factory


class SimulatedTable:
    """A table that takes `write_units_per_second` write units and `read_units_per_second` read units, in front of moto.

    Each capacity is a bucket that starts full and keeps at most `burst_seconds` of it, as a table
    at rest can take a second's worth at once. A call whose units the bucket does not hold is
    throttled and costs nothing; one it holds costs them, by DynamoDB's rules from the request
    (a put by its item's size; a delete, whose stored size the request does not carry, one unit;
    a read half a unit per key). Every call is counted by operation, as the table saw it.
    """

    def __init__(
        self,
        write_units_per_second: float,
        read_units_per_second: float,
        *,
        burst_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.write_units = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._rates = {"write": write_units_per_second, "read": read_units_per_second}
        self._capacity = {kind: rate * burst_seconds for kind, rate in self._rates.items()}
        self._tokens = dict(self._capacity)
        self._updated = clock()

    def client_factory(self) -> Callable[[WriterSettings], object]:
        def factory(settings: WriterSettings):
            client = _client(settings)

            def admit(model, params, **_):
                kind, units = self._cost(model.name, json.loads(params["body"]))
                return None if self._take(model.name, kind, units) else _throttled(settings)

            for operation in (*WRITE_OPERATIONS, "BatchGetItem"):
                client.meta.events.register(f"before-call.dynamodb.{operation}", admit)
            return client

        return factory

    @staticmethod
    def _cost(operation: str, body: dict) -> tuple[str, float]:
        if operation == "PutItem":
            return "write", write_units(item_size(body["Item"]))
        if operation == "DeleteItem":
            return "write", 1
        # The stored items' sizes are not in the request: each key costs what an item of up to 4 KB does.
        return "read", sum(check_read_units(READ_UNIT_BYTES) * len(request["Keys"]) for request in body["RequestItems"].values())

    def _take(self, operation: str, kind: str, units: float) -> bool:
        with self._lock:
            now = self._clock()
            for name, rate in self._rates.items():
                self._tokens[name] = min(self._capacity[name], self._tokens[name] + (now - self._updated) * rate)
            self._updated = now
            self.calls[operation] += 1
            if self._tokens[kind] < units:
                self.throttled[operation] += 1
                return False
            self._tokens[kind] -= units
            if kind == "write":
                self.write_units += units
            return True


def discarding_client_factory() -> Callable[[WriterSettings], object]:
    """Clients that build, sign and parse every call as usual and send none: each write succeeds, each check finds nothing stored."""

    def factory(settings: WriterSettings):
        client = _client(settings)

        def answer(**_):
            return AWSResponse(settings.endpoint_url or "https://dynamodb.invalid", 200, {}, _Body(b"{}"))

        client.meta.events.register("before-send.dynamodb", answer)
        return client

    return factory


class _Body:
    """The raw stream botocore reads a response body from."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_):
        yield self._content

    def read(self, *_) -> bytes:
        return self._content
