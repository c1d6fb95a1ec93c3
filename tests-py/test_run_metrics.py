"""The metrics the jobs publish, named as contracts/run_metrics.json says, and what a run publishes when.

The Pulumi program's alarms and dashboard read the same contract (test/components.test.ts checks
their side); here the data points themselves are checked, and a real run's, against moto.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import pytest
from test_report import finished_report

from ingest.job import AwsClients, run
from ingest.report import RunFailure
from ingest.run_metrics import lookup_load_metrics, put_metrics, run_end_metrics, run_start_metrics
from local.emulated_pipeline import Pipeline, extract_version

REGION = "us-east-1"


@dataclass
class RecordingCloudWatch:
    calls: list[dict] = field(default_factory=list)

    def put_metric_data(self, **request) -> None:
        self.calls.append(request)


# The series of a run of customers in the stack dev: the stack comes from the job's `stack` argument.
DEV_CUSTOMERS = (("Stack", "dev"), ("Pipeline", "customers"))


def datum(name: str, value: int, unit: str, at: datetime, dimensions: tuple[tuple[str, str], ...] = DEV_CUSTOMERS) -> dict:
    return {
        "MetricName": name,
        "Dimensions": [{"Name": dimension, "Value": dimension_value} for dimension, dimension_value in dimensions],
        "Timestamp": at,
        "Value": value,
        "Unit": unit,
    }


STARTED = datetime(2026, 11, 22, 6, 1, 2, tzinfo=UTC)
FINISHED = datetime(2026, 11, 22, 6, 13, 7, tzinfo=UTC)


def test_a_run_publishes_how_long_its_archive_waited_as_it_starts() -> None:
    assert run_start_metrics(finished_report("running"), stack="dev") == [datum("LandingToRunStart", 50, "Seconds", STARTED)]


def test_a_run_that_succeeded_publishes_its_latency_rows_and_items() -> None:
    assert run_end_metrics(finished_report("succeeded"), stack="dev") == [
        datum("RowsQuarantined", 1, "Count", FINISHED),
        datum("LandingToItemsWritten", 775, "Seconds", FINISHED),
        datum("RowsAccepted", 7, "Count", FINISHED),
        datum("ItemsWritten", 2, "Count", FINISHED),
    ]


def test_a_run_that_failed_publishes_only_what_it_quarantined() -> None:
    # It loaded nothing and wrote no complete set of items, so it has no latency and no rows or items to count.
    assert run_end_metrics(finished_report("failed"), stack="dev") == [datum("RowsQuarantined", 1, "Count", FINISHED)]


def test_the_same_pipeline_in_two_stacks_publishes_two_series() -> None:
    # Two stacks in one account and region may deploy the same pipeline; each stack's alarms watch its own series.
    published = {
        stack: [point["Dimensions"] for point in run_end_metrics(finished_report("succeeded"), stack=stack)] for stack in ("dev", "prod")
    }
    assert published == {
        "dev": [[{"Name": "Stack", "Value": "dev"}, {"Name": "Pipeline", "Value": "customers"}]] * 4,
        "prod": [[{"Name": "Stack", "Value": "prod"}, {"Name": "Pipeline", "Value": "customers"}]] * 4,
    }


def test_a_lookup_load_publishes_its_counts() -> None:
    document = {
        "lookup": "products",
        "lines": 1000,
        "loaded": 990,
        "rejected": 10,
        "deleted": 4,
        "finishedAt": "2026-11-22T03:31:40.250000Z",
    }
    at = datetime(2026, 11, 22, 3, 31, 40, 250000, tzinfo=UTC)
    lookup = (("Stack", "prod"), ("Lookup", "products"))
    assert lookup_load_metrics(document, stack="prod") == [
        datum("LookupLinesRead", 1000, "Count", at, lookup),
        datum("LookupItemsLoaded", 990, "Count", at, lookup),
        datum("LookupLinesRejected", 10, "Count", at, lookup),
        datum("LookupItemsDeleted", 4, "Count", at, lookup),
    ]


def test_metrics_go_to_the_contracts_namespace_in_one_call() -> None:
    cloudwatch = RecordingCloudWatch()
    data = run_end_metrics(finished_report("succeeded"), stack="dev")
    put_metrics(cloudwatch, data)
    assert cloudwatch.calls == [{"Namespace": "Ingestion", "MetricData": data}]


@pytest.fixture
def pipeline(customers_plan, moto_endpoint, aws_environment):
    def client(service: str):
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION)

    clients = AwsClients(
        s3=client("s3"), glue=client("glue"), dynamodb=client("dynamodb"), sns=client("sns"), cloudwatch=RecordingCloudWatch()
    )
    return Pipeline(plan=customers_plan, clients=clients, sqs=client("sqs"), stack="staging")


def land_unreadable_archive(pipeline: Pipeline) -> tuple[dict[str, str], datetime]:
    """The arguments of a run of an archive the job rejects at unzip, before it needs Spark, and when it landed."""
    extract_id, version = extract_version(22)
    name = f"crm_customers_{extract_id[:16]}_1.zip"
    version_id = pipeline.land(name, b"not a zip archive")
    arguments = pipeline.arguments(name, version_id, extract_id, version)
    return arguments, datetime.fromisoformat(arguments["archive_landed_at"])


def test_a_run_publishes_its_start_and_end_metrics_and_notifies_once(pipeline, tmp_path) -> None:
    arguments, landed = land_unreadable_archive(pipeline)
    with pytest.raises(RunFailure):
        run(None, arguments, pipeline.clients, work_dir=str(tmp_path), progress=lambda _: None)
    key = f"customers/_reports/{arguments['extract_id']}/{arguments['JOB_RUN_ID']}.json"
    report = json.loads(pipeline.clients.s3.get_object(Bucket=pipeline.lake, Key=key)["Body"].read())
    assert (report["status"], report["failure"]["reason"], report["notified"]) == ("failed", "archive-corrupt", True)
    assert report["landedAt"] == landed.isoformat()
    started, finished = (datetime.fromisoformat(report[moment]) for moment in ("startedAt", "finishedAt"))
    # The stack is the run's `stack` argument (the pipeline's, here "staging").
    series = (("Stack", "staging"), ("Pipeline", "customers"))
    assert pipeline.clients.cloudwatch.calls == [
        {
            "Namespace": "Ingestion",
            "MetricData": [datum("LandingToRunStart", round((started - landed).total_seconds()), "Seconds", started, series)],
        },
        {"Namespace": "Ingestion", "MetricData": [datum("RowsQuarantined", 0, "Count", finished, series)]},
    ]
    [message] = pipeline.notifications()
    assert message.splitlines()[0] == (
        f"[customers] extract {arguments['extract_id']} FAILED {round((finished - landed).total_seconds())}s after landing: archive-corrupt"
    )


@dataclass
class UnreachableTopic:
    def publish(self, **_request) -> None:
        raise ConnectionError("the topic cannot be reached")


def test_a_run_whose_notification_fails_keeps_its_report_saying_so_for_the_run_notifier(pipeline, tmp_path) -> None:
    arguments, _ = land_unreadable_archive(pipeline)
    clients = AwsClients(
        s3=pipeline.clients.s3,
        glue=pipeline.clients.glue,
        dynamodb=pipeline.clients.dynamodb,
        sns=UnreachableTopic(),
        cloudwatch=RecordingCloudWatch(),
    )
    with pytest.raises(ConnectionError, match="the topic cannot be reached"):
        run(None, arguments, clients, work_dir=str(tmp_path), progress=lambda _: None)
    key = f"customers/_reports/{arguments['extract_id']}/{arguments['JOB_RUN_ID']}.json"
    report = json.loads(pipeline.clients.s3.get_object(Bucket=pipeline.lake, Key=key)["Body"].read())
    assert (report["status"], report["failure"]["reason"], report["notified"]) == ("failed", "archive-corrupt", False)
    # The run ends with the error instead: Glue marks it failed, and the run notifier tells the topic.
    assert [call["MetricData"][0]["MetricName"] for call in clients.cloudwatch.calls] == ["LandingToRunStart"]
