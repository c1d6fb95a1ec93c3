"""A pipeline's AWS resources in moto, and a way to run the real job against them."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field

from boto3.dynamodb.types import TypeDeserializer

from ingest.aws_clients import AwsClients
from ingest.dynamodb_writer import ON_DEMAND_WARM_WRITE_UNITS
from ingest.job import run
from ingest.job_plan import JobPlan, parse_job_plan
from ingest.report import RunFailure


def extract_version(day: int, sequence: int = 1) -> tuple[str, int]:
    """Extract id and version of an extract taken at 10:15:00 UTC on 2026-11-<day>."""
    import datetime as dt

    moment = dt.datetime(2026, 11, day, 10, 15, tzinfo=dt.UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{sequence:06d}", int(moment.timestamp()) * 1_000_000 + sequence


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def plan_archive(plan: JobPlan, rows: dict[str, list[str]]) -> bytes:
    """An archive with one CSV per table of the plan, headed by the plan's columns.

    A required table not given gets a file with its header only; an optional one is left out.
    """
    files = {}
    for table in plan.tables:
        if table.name in rows or table.required:
            header = ",".join(table.column_names)
            files[table.file_glob.replace("*", "")] = "\n".join([header, *rows.get(table.name, [])]) + "\n"
    return zip_bytes(files)


@dataclass
class Pipeline:
    """Buckets, tables, catalog and topic of one pipeline, with unique names so tests stay independent.

    `plan` is the job plan's JSON, as the stack stores it for the job; `job_plan` is what the job reads of it.
    """

    plan: dict
    clients: AwsClients
    sqs: object
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    # The run's write budget on the items table, as a stack with the default itemsWriteUnitsPerSecond gives it.
    items_write_units_per_second: int = ON_DEMAND_WARM_WRITE_UNITS
    # The stack its metrics name (their Stack dimension), as `scripts/run-local.ts` names its stack.
    stack: str = "local"

    def __post_init__(self) -> None:
        s3 = self.clients.s3
        self.landing, self.lake, self.quarantine, self.assets = (
            f"{role}-{self.suffix}" for role in ("landing", "lake", "quarantine", "assets")
        )
        for bucket in (self.landing, self.lake, self.quarantine, self.assets):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=self.landing, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=self.assets, Key="plan.json", Body=json.dumps(self.plan).encode("utf-8"))
        keys = self.job_plan.item.keys
        self.items_table = f"items-{self.suffix}"
        self.clients.dynamodb.create_table(
            TableName=self.items_table,
            KeySchema=[{"AttributeName": key.attribute, "KeyType": kind} for key, kind in zip(keys, ("HASH", "RANGE"), strict=False)],
            AttributeDefinitions=[{"AttributeName": key.attribute, "AttributeType": key.type} for key in keys],
            BillingMode="PAY_PER_REQUEST",
        )
        self.ledger_table = f"runs-{self.suffix}"
        self.clients.dynamodb.create_table(
            TableName=self.ledger_table,
            KeySchema=[{"AttributeName": "archive", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "archive", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.database = f"ingest_{self.suffix}"
        self.clients.glue.create_database(DatabaseInput={"Name": self.database})
        # The lake's Iceberg tables are the job's to create here: moto's Glue cannot write Iceberg metadata.
        self.topic_arn = self.clients.sns.create_topic(Name=f"runs-{self.suffix}")["TopicArn"]
        queue_url = self.sqs.create_queue(QueueName=f"notifications-{self.suffix}")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.clients.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        self.notification_queue = queue_url

    @property
    def job_plan(self) -> JobPlan:
        return parse_job_plan(self.plan)

    def deploy(self, plan: dict) -> None:
        """Replaces the pipeline's plan, as a `pulumi up` with a changed mapping does."""
        self.plan = plan
        self.clients.s3.put_object(Bucket=self.assets, Key="plan.json", Body=json.dumps(plan).encode("utf-8"))

    def land(self, name: str, body: bytes) -> str:
        """Puts an archive under the landing prefix and returns its version id."""
        key = f"{self.job_plan.extract.landing_prefix}{name}"
        return self.clients.s3.put_object(Bucket=self.landing, Key=key, Body=body)["VersionId"]

    def arguments(self, name: str, version_id: str, extract_id: str, version: int) -> dict[str, str]:
        key = f"{self.job_plan.extract.landing_prefix}{name}"
        # The landed version's Last-Modified, the time a replay gives a run.
        landed_at = self.clients.s3.head_object(Bucket=self.landing, Key=key, VersionId=version_id)["LastModified"]
        return {
            "plan_uri": f"s3://{self.assets}/plan.json",
            "lake_bucket": self.lake,
            "quarantine_bucket": self.quarantine,
            "items_table": self.items_table,
            "glue_database": self.database,
            "notification_topic_arn": self.topic_arn,
            "run_ledger_table": self.ledger_table,
            "staging_uri": f"s3://{self.assets}/temporary/{self.job_plan.pipeline}/staging/",
            "changes_uri": f"s3://{self.assets}/temporary/{self.job_plan.pipeline}/changes/",
            "items_write_units_per_second": str(self.items_write_units_per_second),
            "stack": self.stack,
            "archive_bucket": self.landing,
            "archive_key": key,
            "archive_version_id": version_id,
            "extract_id": extract_id,
            "extract_version": str(version),
            "archive_landed_at": landed_at.isoformat(),
            "JOB_RUN_ID": f"jr_{uuid.uuid4().hex}",
        }

    def run_extract(self, spark, tmp_path, day: int, body: bytes, sequence: int = 1):
        """Lands and loads one extract; returns (report dict or None, failure or None)."""
        extract_id, version = extract_version(day, sequence)
        name = f"crm_customers_{extract_id[:16]}_{sequence}.zip"
        version_id = self.land(name, body)
        work_dir = tmp_path / f"work-{extract_id}-{uuid.uuid4().hex[:6]}"
        work_dir.mkdir()
        try:
            report = run(
                spark, self.arguments(name, version_id, extract_id, version), self.clients, work_dir=str(work_dir), progress=lambda _: None
            )
        except RunFailure as failure:
            return None, failure
        return report.to_dict(), None

    def items(self) -> list[dict]:
        """Every item of the items table as plain JSON-like values, sorted by key."""
        deserializer = TypeDeserializer()
        pages = self.clients.dynamodb.get_paginator("scan").paginate(TableName=self.items_table, ConsistentRead=True)
        items = [{name: deserializer.deserialize(value) for name, value in item.items()} for page in pages for item in page["Items"]]
        keys = [key.attribute for key in self.job_plan.item.keys]
        return sorted(items, key=lambda entry: tuple(entry[key] for key in keys))

    def notifications(self) -> list[str]:
        messages = []
        while True:
            received = self.sqs.receive_message(QueueUrl=self.notification_queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            batch = received.get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(message["Body"])
                self.sqs.delete_message(QueueUrl=self.notification_queue, ReceiptHandle=message["ReceiptHandle"])
