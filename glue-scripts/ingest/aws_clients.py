"""The AWS clients the extract and maintenance jobs call, typed by the operations they call on each.

boto3 builds its clients at run time, so there are no client classes to name without stub
packages; these Protocols say what the jobs need of a client instead, and a test's fake (a topic
that cannot be reached, a CloudWatch that records) is checked against the same shape. Requests
are boto3's keyword requests (`Bucket=..., Key=...`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3


class S3Client(Protocol):
    def get_object(self, *, Bucket: str, Key: str, **request: Any) -> dict[str, Any]: ...

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **request: Any) -> dict[str, Any]: ...

    def copy_object(self, *, Bucket: str, Key: str, CopySource: dict[str, str], **request: Any) -> dict[str, Any]: ...

    def put_object_tagging(self, *, Bucket: str, Key: str, Tagging: dict[str, Any], **request: Any) -> dict[str, Any]: ...

    def download_file(self, Bucket: str, Key: str, Filename: str, ExtraArgs: dict[str, str] | None = None) -> None: ...

    def upload_file(self, Filename: str, Bucket: str, Key: str) -> None: ...


class ClientMeta(Protocol):
    region_name: str | None


class DynamoDbClient(Protocol):
    meta: ClientMeta
    # The client's modeled errors, as boto3 attaches them (`exceptions.ConditionalCheckFailedException`).
    exceptions: Any

    def get_item(self, *, TableName: str, Key: dict[str, Any], **request: Any) -> dict[str, Any]: ...

    def put_item(self, *, TableName: str, Item: dict[str, Any], **request: Any) -> dict[str, Any]: ...

    def update_item(self, *, TableName: str, Key: dict[str, Any], **request: Any) -> dict[str, Any]: ...

    def delete_item(self, *, TableName: str, Key: dict[str, Any], **request: Any) -> dict[str, Any]: ...


class SnsClient(Protocol):
    def publish(self, *, TopicArn: str, Message: str, Subject: str, **request: Any) -> dict[str, Any]: ...


class CloudWatchClient(Protocol):
    def put_metric_data(self, *, Namespace: str, MetricData: list[dict[str, Any]]) -> Any: ...


class GlueClient(Protocol):
    """The Data Catalog; the jobs reach it through Spark's Iceberg catalog, so no operation is called on it directly."""


@dataclass(frozen=True)
class AwsClients:
    s3: S3Client
    glue: GlueClient
    dynamodb: DynamoDbClient
    sns: SnsClient
    # Built from the environment unless given, as the entry script builds the others.
    cloudwatch: CloudWatchClient = field(default_factory=lambda: boto3.client("cloudwatch"))
