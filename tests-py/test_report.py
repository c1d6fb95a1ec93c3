"""The frame every job runs in: the report records how the run ended and is published whatever happens."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ingest.report import RunFailure, reported_run


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
