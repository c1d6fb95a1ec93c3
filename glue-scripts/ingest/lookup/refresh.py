"""The executor side of a full refresh: parallel scan segments delete the items of other load generations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from ingest.dynamodb_writer import is_transient
from ingest.lookup.batch_writer import BatchWriter, WriteCounts, WriteEntry
from ingest.lookup.settings import ClientFactory, TaskSettings, default_dynamodb_client
from ingest.lookup_lines import key_of
from ingest.lookup_plan import GENERATION_ATTRIBUTE
from ingest.retry import Backoff


def delete_partition(
    segments: Iterable[int], settings: TaskSettings, total_segments: int, kept, client_factory: ClientFactory
) -> Iterator[dict]:
    """Full refresh (mapPartitions over scan segments): deletes the items of other load generations."""
    for segment in segments:
        yield delete_stale_segment(segment, total_segments, settings, kept.value, client_factory)


def delete_stale_segment(
    segment: int,
    total_segments: int,
    settings: TaskSettings,
    kept: frozenset[tuple[str, ...]],
    client_factory: ClientFactory = default_dynamodb_client,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Scans one segment for items whose load_generation is not this export's and deletes them, except `kept` keys."""
    client = client_factory(settings)
    key_names = settings.plan.key_names
    names = {f"#k{index}": name for index, name in enumerate(key_names)} | {"#g": GENERATION_ATTRIBUTE}
    request = {
        "TableName": settings.table_name,
        "Segment": segment,
        "TotalSegments": total_segments,
        "ConsistentRead": True,
        "ProjectionExpression": ", ".join(name for name in names if name != "#g"),
        "FilterExpression": "attribute_not_exists(#g) OR #g <> :g",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":g": {"S": settings.generation}},
    }
    counts = WriteCounts()
    outcome = {
        "segment": segment,
        "deleted": 0,
        "kept": 0,
        "requests": 0,
        "retries": 0,
        "unprocessedRetried": 0,
        "failed": 0,
        "failures": [],
    }
    deadline = clock() + settings.tuning.deadline_seconds
    with BatchWriter(client, settings.table_name, key_names, settings.tuning, counts, sleep=sleep, clock=clock) as writer:
        start_key = None
        while True:
            page = _scan_page(
                client,
                {**request, **({"ExclusiveStartKey": start_key} if start_key else {})},
                counts,
                settings.tuning.backoff(deadline, clock=clock, sleep=sleep),
            )
            if page is None:
                break
            for stale in page.get("Items", []):
                key = {name: stale[name] for name in key_names}
                if key_of(key, key_names) in kept:
                    outcome["kept"] += 1
                else:
                    writer.add(WriteEntry(key_of(key, key_names), {"DeleteRequest": {"Key": key}}, None))
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                break
    outcome.update(
        deleted=counts.written,
        requests=counts.requests,
        retries=counts.retries,
        unprocessedRetried=counts.unprocessed_retried,
        failed=counts.failed,
        failures=counts.failures,
    )
    return outcome


def _scan_page(client, request: dict, counts: WriteCounts, backoff: Backoff) -> dict | None:
    """One Scan page with the writer's backoff; None (and a failure counted) when it is still throttled at the deadline."""
    while True:
        counts.add(requests=1)
        try:
            return client.scan(**request)
        except ClientError as error:
            if not is_transient(error):
                raise
            reason = error.response.get("Error", {}).get("Code", "")
        except (ConnectionError, HTTPClientError) as error:
            reason = type(error).__name__
        if not backoff.wait():
            with counts.lock:
                counts.failed += 1
                counts.failures.append(
                    f"scan segment {request['Segment']}: still {reason} after {backoff.pauses + 1} attempts at the deadline"
                )
            return None
        counts.add(retries=1)
