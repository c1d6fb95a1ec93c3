"""What a load is tuned with, what each task is sent with it (plain data, so it pickles), and the clients."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import boto3
from botocore.config import Config

from ingest.lookup_export import ExportPart
from ingest.lookup_plan import LookupPlan
from ingest.retry import BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS, Backoff


@dataclass(frozen=True)
class LoaderTuning:
    chunk_bytes: int = 8 * 1024 * 1024
    probe_bytes: int = 64 * 1024
    ranges_in_flight: int | None = None  # Spark jobs at once; defaults to the cluster's parallelism
    threads: int = 16  # BatchWriteItem requests in flight per range
    deadline_seconds: float = 900.0  # per range (and per scan segment) for backing off
    backoff_base_seconds: float = BACKOFF_BASE_SECONDS
    backoff_cap_seconds: float = BACKOFF_CAP_SECONDS
    scan_segments: int | None = None  # full refresh; defaults to the cluster's parallelism
    # A longer line cannot be an item (400 KB, even as escaped JSON text), and reading it whole could exhaust a worker.
    line_limit: int = 16 * 1024 * 1024

    def backoff(self, deadline: float, *, clock: Callable[[], float], sleep: Callable[[float], None]) -> Backoff:
        """The pauses between the attempts of one request, until `deadline` (a time on `clock`)."""
        return Backoff(self.backoff_base_seconds, self.backoff_cap_seconds, lambda: deadline, clock=clock, sleep=sleep)


@dataclass(frozen=True)
class TaskSettings:
    """Everything a task needs, sent with it (plain data, so it pickles)."""

    plan: LookupPlan
    table_name: str
    export_bucket: str
    parts: tuple[ExportPart, ...]
    headers: tuple[tuple[str, ...] | None, ...]  # a CSV export's header, per part
    stamp: Mapping[str, dict]
    generation: str
    parts_bucket: str
    parts_prefix: str  # rejected-line parts go to <parts_prefix><range, 6 digits>.jsonl
    s3_endpoint: str | None
    dynamodb_endpoint: str | None
    region: str | None
    tuning: LoaderTuning


ClientFactory = Callable[[TaskSettings], object]


@functools.cache
def _client(service: str, endpoint_url: str | None, region: str | None, pool: int, attempts: int):
    config = Config(retries={"total_max_attempts": attempts, "mode": "standard"}, max_pool_connections=max(10, pool))
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, config=config)


def default_dynamodb_client(settings: TaskSettings):
    """A client without botocore's retries (the loader backs off itself, ingest/retry.py), built once per Python worker."""
    return _client("dynamodb", settings.dynamodb_endpoint, settings.region, settings.tuning.threads, 1)


def s3_client(settings: TaskSettings):
    return _client("s3", settings.s3_endpoint, settings.region, 10, 3)


@dataclass(frozen=True)
class LookupClients:
    s3: object
    dynamodb: object
    sns: object | None = None
