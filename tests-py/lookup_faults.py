"""DynamoDB clients for the lookup loader's Spark tasks that throttle, answer with UnprocessedItems or die, on purpose.

The factories are shipped to the executors with the task, so this file must reach the Python workers:
`spark.sparkContext.addPyFile(lookup_faults.__file__)` (the tests' fixture and the benchmark do it).
Each task calls the factory once, so every range starts its patterns afresh.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator

from botocore.exceptions import ClientError

from ingest.lookup.settings import TaskSettings, default_dynamodb_client


class FaultyBatchWrites:
    """Wraps a DynamoDB client; BatchWriteItem call n follows the cycled patterns, everything else passes through.

    throttle[n]: the call fails with ProvisionedThroughputExceededException and writes nothing.
    unprocessed[n]: only the first half of the request is written; the rest comes back in UnprocessedItems.
    poison: a request holding an item whose partition key starts with it raises RuntimeError (the task dies).
    """

    def __init__(self, client, throttle: Iterator[bool], unprocessed: Iterator[bool], poison: str | None, key: str) -> None:
        self._client = client
        self._throttle = throttle
        self._unprocessed = unprocessed
        self._poison = poison
        self._key = key
        self._lock = threading.Lock()

    def batch_write_item(self, **request):
        [(table, entries)] = request["RequestItems"].items()
        if self._poison is not None and any(
            entry.get("PutRequest", {}).get("Item", {}).get(self._key, {}).get("S", "").startswith(self._poison) for entry in entries
        ):
            raise RuntimeError(f"injected failure on a batch with a {self._poison}* key")
        with self._lock:
            throttled, partial = next(self._throttle), next(self._unprocessed)
        if throttled:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}}
            raise ClientError(error, "BatchWriteItem")
        if not partial:
            return self._client.batch_write_item(**request)
        written, returned = entries[: len(entries) // 2], entries[len(entries) // 2 :]
        response = self._client.batch_write_item(RequestItems={table: written}) if written else {}
        return {**response, "UnprocessedItems": {table: returned}}

    def __getattr__(self, name: str):
        return getattr(self._client, name)


def faulty_client_factory(
    *, throttle: Iterable[bool] = (False,), unprocessed: Iterable[bool] = (False,), poison: str | None = None
) -> Callable[[TaskSettings], FaultyBatchWrites]:
    throttle, unprocessed = tuple(throttle), tuple(unprocessed)

    def factory(settings: TaskSettings) -> FaultyBatchWrites:
        return FaultyBatchWrites(
            default_dynamodb_client(settings), itertools.cycle(throttle), itertools.cycle(unprocessed), poison, settings.plan.partition.name
        )

    return factory


class DiscardedBatchWrites:
    """A client whose BatchWriteItem accepts every item and stores nothing: the loader without the DynamoDB leg."""

    def batch_write_item(self, **request):
        return {"UnprocessedItems": {}}


def discarding_client_factory() -> Callable[[TaskSettings], DiscardedBatchWrites]:
    def factory(settings: TaskSettings) -> DiscardedBatchWrites:
        return DiscardedBatchWrites()

    return factory
