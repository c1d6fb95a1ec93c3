"""DynamoDB clients that answer some PutItem calls with throttling, for tests and benchmarks of the writer."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from ingest.dynamodb_writer import WriterSettings


def throttling_client_factory(pattern: Iterable[bool]) -> Callable[[WriterSettings], object]:
    """Client factory for `write_partition`: PutItem call n is throttled when the cycled pattern says True."""
    answers = itertools.cycle(pattern)

    def factory(settings: WriterSettings):
        client = boto3.client(
            "dynamodb", endpoint_url=settings.endpoint_url, region_name=settings.region, config=Config(retries={"total_max_attempts": 1})
        )

        def maybe_throttle(**_):
            if next(answers):
                error = {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}
                return AWSResponse(settings.endpoint_url or "", 400, {}, None), {
                    "Error": error,
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
            return None

        client.meta.events.register("before-call.dynamodb.PutItem", maybe_throttle)
        return client

    return factory
