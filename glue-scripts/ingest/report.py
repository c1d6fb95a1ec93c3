"""The run report: what one run read, accepted, rejected and wrote, and how long each step took."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ingest.contract_files import packaged_contract

SNS_MESSAGE_LIMIT = 250_000
SNS_SUBJECT_LIMIT = 100


def run_report_key(pipeline: str, extract_id: str, job_run_id: str) -> str:
    """Where a run's report is kept in the lake bucket: one per run, so a replay never hides why an earlier run failed.

    The layout is in `contracts/run_report.json`, which the operator command line reads too.
    """
    contract = packaged_contract("run_report.json")
    return contract["reportKey"].format(pipeline=pipeline, extractId=extract_id, jobRunId=job_run_id)


class RunFailure(Exception):
    """Ends a run unsuccessfully with a reason code a person can look up, and a detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class OutcomeReport(Protocol):
    """What every job's report has: how the run ended, and why when it failed."""

    status: str
    failure: dict | None


@contextmanager
def reported_run(report: OutcomeReport, publish: Callable[[], None]) -> Iterator[None]:
    """Runs the body as one job run whose report is published however it ends.

    A RunFailure, or any other error as `unexpected-error`, is recorded in the report before
    `publish` runs; then the failure is raised as RunFailure (an unexpected error as itself, so
    Glue shows its traceback).
    """
    try:
        yield
    except RunFailure as failure:
        _record_failure(report, failure)
    except Exception as error:
        _record_failure(report, unexpected_failure(error))
        raise
    finally:
        publish()
    if report.failure:
        raise RunFailure(report.failure["reason"], report.failure["detail"])


def unexpected_failure(error: Exception) -> RunFailure:
    """An error no step anticipated, as the failure a report records: its type and message."""
    return RunFailure("unexpected-error", f"{type(error).__name__}: {error}")


def _record_failure(report: OutcomeReport, failure: RunFailure) -> None:
    report.status = "failed"
    report.failure = {"reason": failure.reason, "detail": failure.detail}


@dataclass
class TableCounts:
    files: list[str] = field(default_factory=list)
    # Header columns the mapping does not declare, ignored as `unknownColumns: ignore` allows.
    ignored_columns: list[str] = field(default_factory=list)
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    orphans: int = 0
    # What the extract did to the current table: upserts, deletes, reroots (rows that followed a
    # moved parent) and forgotten keys (deleted at the source, never loaded).
    changes: dict[str, int] = field(default_factory=dict)
    # Data files and bytes read from the current table to rebuild the touched items.
    scanned: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "ignoredColumns": self.ignored_columns,
            "read": self.read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "quarantinedByReason": dict(sorted(self.quarantined_by_reason.items())),
            "orphans": self.orphans,
            "changes": self.changes,
            "scanned": self.scanned,
        }


@dataclass
class RunReport:
    pipeline: str
    extract_id: str
    extract_version: int
    archive: str
    job_run_id: str
    # When the archive version landed (ISO 8601 with a zone): the run's latency is measured from it.
    landed_at: str
    started_at: str = field(default_factory=lambda: _now())
    finished_at: str | None = None
    status: str = "running"
    failure: dict | None = None
    tables: dict[str, TableCounts] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
    lake_snapshot: int | None = None
    # An extract whose run died with its changes half applied, which this run completed first.
    completed_extract: str | None = None
    items: dict[str, int] = field(default_factory=dict)
    oversize_items: list[dict] = field(default_factory=list)
    quarantine_location: str | None = None
    oversize_location: str | None = None
    durations: dict[str, float] = field(default_factory=dict)
    # Whether the run's notification reached the topic; the run notifier publishes for a run whose report says no.
    notified: bool = False

    def __post_init__(self) -> None:
        _parse_time(self.landed_at, "archive_landed_at")

    @contextmanager
    def step(self, name: str, progress=print) -> Iterator[None]:
        """Times a step and logs its start and end as structured lines."""
        progress(json.dumps({"level": "INFO", "message": "step started", "step": name, "extract": self.extract_id}))
        started = time.monotonic()
        try:
            yield
        finally:
            self.durations[name] = round(time.monotonic() - started, 3)
            progress(
                json.dumps(
                    {"level": "INFO", "message": "step finished", "step": name, "seconds": self.durations[name], "extract": self.extract_id}
                )
            )

    def table(self, name: str) -> TableCounts:
        return self.tables.setdefault(name, TableCounts())

    def finish(self) -> None:
        self.finished_at = _now()

    def start_delay_seconds(self) -> int:
        """Seconds from the archive landing to this run starting: what waiting cost before any work."""
        return _seconds_between(self.landed_at, self.started_at)

    def seconds_since_landing(self) -> int:
        """Seconds from the archive landing to the end of this run (after `finish`)."""
        return _seconds_between(self.landed_at, self.finished_at)

    def latency_seconds(self) -> int | None:
        """Seconds from the archive landing to its items written, the latency the stack promises.

        The items are the last thing a successful run writes, so its end is when they were written;
        a run that failed wrote no complete set of items and has no latency, nor has a run still going.
        """
        if self.status != "succeeded" or self.finished_at is None:
            return None
        return self.seconds_since_landing()

    def to_dict(self) -> dict:
        return {
            "pipeline": self.pipeline,
            "extractId": self.extract_id,
            "extractVersion": self.extract_version,
            "archive": self.archive,
            "jobRunId": self.job_run_id,
            "status": self.status,
            "failure": self.failure,
            "landedAt": self.landed_at,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "latencySeconds": self.latency_seconds(),
            "tables": {name: counts.to_dict() for name, counts in sorted(self.tables.items())},
            "ignoredFiles": self.ignored_files,
            "lakeSnapshot": self.lake_snapshot,
            "completedExtract": self.completed_extract,
            "items": self.items,
            "oversizeItems": self.oversize_items,
            "quarantineLocation": self.quarantine_location,
            "oversizeLocation": self.oversize_location,
            "durationsSeconds": self.durations,
            "notified": self.notified,
        }

    def subject(self) -> str:
        """Pipeline, extract, outcome and how long after landing the run ended, most telling first (after `finish`)."""
        after = f"{describe_seconds(self.seconds_since_landing())} after landing"
        if self.status == "succeeded":
            rows = sum(counts.accepted for counts in self.tables.values())
            text = f"[{self.pipeline}] extract {self.extract_id} succeeded {after}: {rows} rows, {self.items.get('written', 0)} items"
        else:
            reason = (self.failure or {}).get("reason", "unknown")
            text = f"[{self.pipeline}] extract {self.extract_id} FAILED {after}: {reason}"
        return text[:SNS_SUBJECT_LIMIT]

    def message(self) -> str:
        """A short summary for people, then the full report as JSON (trimmed to fit an SNS message)."""
        lines = [
            self.subject(),
            f"Archive: {self.archive}",
            f"Landed {self.landed_at}, run {self.job_run_id} started {self.started_at}, finished {self.finished_at}",
        ]
        latency = self.latency_seconds()
        if latency is not None:
            lines.append(f"Latency: {describe_seconds(latency)} from landing to items written")
        if self.failure:
            lines.append(f"Reason: {self.failure['reason']}: {self.failure['detail']}")
        for name, counts in sorted(self.tables.items()):
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(counts.quarantined_by_reason.items()))
            lines.append(
                f"  {name}: read {counts.read}, accepted {counts.accepted}, quarantined {counts.quarantined}"
                + (f" ({reasons})" if reasons else "")
                + (f", orphans {counts.orphans}" if counts.orphans else "")
            )
        if self.items:
            lines.append("Items: " + ", ".join(f"{key} {value}" for key, value in self.items.items()))
        body = "\n".join(lines)
        # Whether this very message reaches the topic is not known while it is written.
        document = {key: value for key, value in self.to_dict().items() if key != "notified"}
        report = json.dumps(document, indent=2, default=str)
        if len(body) + len(report) + 2 > SNS_MESSAGE_LIMIT:
            return body + "\n\n(full report in the lake, too large for a notification)"
        return f"{body}\n\n{report}"

    def check_row_counts(self) -> None:
        """Rows read = rows accepted + rows quarantined, per table; anything else is a bug, never ignored."""
        for name, counts in self.tables.items():
            if counts.read != counts.accepted + counts.quarantined:
                raise RunFailure(
                    "row-count-mismatch",
                    f"{name}: read {counts.read} but accepted {counts.accepted} + quarantined {counts.quarantined}",
                )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str, name: str) -> datetime:
    problem = f"{name} {text!r} is not an ISO 8601 time with a zone, such as 2026-11-23T09:59:58.000Z"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError(problem) from error
    if moment.tzinfo is None:
        raise ValueError(problem)
    return moment


def _seconds_between(start: str, end: str) -> int:
    return round((_parse_time(end, "end") - _parse_time(start, "start")).total_seconds())


def describe_seconds(seconds: int) -> str:
    """'41s', '12m 05s', '1h 02m 05s': a duration as the notifications and `ingest runs` write it."""
    if seconds < 60:
        return f"{seconds}s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {rest:02d}s"
