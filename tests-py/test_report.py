"""The frame every job runs in: the report records how the run ended and is published whatever happens."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from ingest.report import RunFailure, RunReport, describe_seconds, reported_run


@dataclass
class Report:
    status: str = "running"
    failure: dict | None = None
    published: list[tuple[str, dict | None]] = field(default_factory=list)

    def publish(self) -> None:
        self.published.append((self.status, self.failure))


def test_a_run_that_ends_well_is_published_once_as_the_body_left_it() -> None:
    report = Report()
    with reported_run(report, report.publish):
        report.status = "succeeded"
    assert report.published == [("succeeded", None)]


def test_a_run_failure_is_recorded_published_and_raised_again() -> None:
    report = Report()
    with pytest.raises(RunFailure) as raised, reported_run(report, report.publish):
        raise RunFailure("archive-path-traversal", "entry ../x escapes the extraction directory")
    failure = {"reason": "archive-path-traversal", "detail": "entry ../x escapes the extraction directory"}
    assert report.published == [("failed", failure)]
    assert (raised.value.reason, raised.value.detail) == (failure["reason"], failure["detail"])


def test_an_unexpected_error_is_published_as_one_and_raised_as_itself() -> None:
    report = Report()
    with pytest.raises(KeyError, match="'plan_uri'"), reported_run(report, report.publish):
        raise KeyError("plan_uri")
    assert report.published == [("failed", {"reason": "unexpected-error", "detail": "KeyError: 'plan_uri'"})]


LANDED_AT = "2026-11-22T06:00:12.345Z"


def finished_report(status: str, failure: dict | None = None) -> RunReport:
    """A run of an archive that landed at 06:00:12.345, started at 06:01:02 and finished at 06:13:07."""
    report = RunReport(
        pipeline="customers",
        extract_id="20261122T060000Z-000001",
        extract_version=1795327200000001,
        archive="s3://landing/incoming/customers/crm_customers_20261122T060000Z_1.zip?versionId=v1",
        job_run_id="jr_1",
        landed_at=LANDED_AT,
        started_at="2026-11-22T06:01:02Z",
    )
    report.table("customers").read, report.table("customers").accepted = 5, 5
    report.table("orders").read, report.table("orders").accepted, report.table("orders").quarantined = 3, 2, 1
    report.table("orders").quarantined_by_reason = {"bad-date": 1}
    report.items = {"touched": 2, "written": 2}
    report.status = status
    report.failure = failure
    report.finished_at = "2026-11-22T06:13:07Z"
    return report


def test_a_report_says_when_the_archive_landed_when_the_run_started_and_ended_and_its_latency() -> None:
    report = finished_report("succeeded")
    document = report.to_dict()
    assert {key: document[key] for key in ("landedAt", "startedAt", "finishedAt", "latencySeconds", "notified")} == {
        "landedAt": LANDED_AT,
        "startedAt": "2026-11-22T06:01:02Z",
        "finishedAt": "2026-11-22T06:13:07Z",
        # 12 minutes 54.655 seconds, to the second.
        "latencySeconds": 775,
        "notified": False,
    }
    assert (report.start_delay_seconds(), report.seconds_since_landing(), report.latency_seconds()) == (50, 775, 775)


def test_a_failed_run_or_one_still_going_has_no_latency() -> None:
    failed = finished_report("failed", {"reason": "too-many-rejected-rows", "detail": "orders: 1 of 3 rows rejected"})
    assert (failed.latency_seconds(), failed.to_dict()["latencySeconds"], failed.seconds_since_landing()) == (None, None, 775)
    running = finished_report("running")
    running.finished_at = None
    assert running.to_dict()["latencySeconds"] is None


def test_the_subject_says_pipeline_extract_outcome_and_how_long_after_landing() -> None:
    failed = finished_report("failed", {"reason": "too-many-rejected-rows", "detail": "orders: 1 of 3 rows rejected"})
    assert [finished_report("succeeded").subject(), failed.subject()] == [
        "[customers] extract 20261122T060000Z-000001 succeeded 12m 55s after landing: 7 rows, 2 items",
        "[customers] extract 20261122T060000Z-000001 FAILED 12m 55s after landing: too-many-rejected-rows",
    ]


def test_the_message_says_when_it_landed_started_and_finished_then_holds_the_report() -> None:
    report = finished_report("succeeded")
    summary, document = report.message().split("\n\n", 1)
    assert summary.splitlines() == [
        "[customers] extract 20261122T060000Z-000001 succeeded 12m 55s after landing: 7 rows, 2 items",
        "Archive: s3://landing/incoming/customers/crm_customers_20261122T060000Z_1.zip?versionId=v1",
        "Landed 2026-11-22T06:00:12.345Z, run jr_1 started 2026-11-22T06:01:02Z, finished 2026-11-22T06:13:07Z",
        "Latency: 12m 55s from landing to items written",
        "  customers: read 5, accepted 5, quarantined 0",
        "  orders: read 3, accepted 2, quarantined 1 (bad-date 1)",
        "Items: touched 2, written 2",
    ]
    # Whether the message itself reached the topic is not known while it is written, so the copy in it does not say.
    assert json.loads(document) == {key: value for key, value in report.to_dict().items() if key != "notified"}


def test_the_message_of_a_failed_run_gives_the_reason_and_no_latency() -> None:
    report = finished_report("failed", {"reason": "too-many-rejected-rows", "detail": "orders: 1 of 3 rows rejected"})
    assert report.message().split("\n\n", 1)[0].splitlines()[2:4] == [
        "Landed 2026-11-22T06:00:12.345Z, run jr_1 started 2026-11-22T06:01:02Z, finished 2026-11-22T06:13:07Z",
        "Reason: too-many-rejected-rows: orders: 1 of 3 rows rejected",
    ]


@pytest.mark.parametrize("landed_at", ["2026-11-22 06:00:12", "yesterday", ""])
def test_a_landing_time_without_a_zone_or_not_a_time_is_refused(landed_at: str) -> None:
    with pytest.raises(ValueError) as raised:
        RunReport(pipeline="p", extract_id="e", extract_version=1, archive="a", job_run_id="jr", landed_at=landed_at)
    assert str(raised.value) == f"archive_landed_at {landed_at!r} is not an ISO 8601 time with a zone, such as 2026-11-23T09:59:58.000Z"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (60, "1m 00s"), (775, "12m 55s"), (3599, "59m 59s"), (3600, "1h 00m 00s"), (3725, "1h 02m 05s")],
)
def test_durations_read_in_seconds_minutes_and_hours(seconds: int, text: str) -> None:
    assert describe_seconds(seconds) == text
