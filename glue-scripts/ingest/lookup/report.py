"""A load's report: its counts, rejected.jsonl assembled from the ranges' rejected lines, and where it is published.

The report is written to S3 and the log, and a notification of it sent to the lookup's topic.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ingest.lookup.checkpoint import Checkpoint, part_key
from ingest.lookup.settings import LookupClients, TaskSettings
from ingest.lookup_export import ExportFolder


def report_key(report_prefix: str, lookup: str, run_id: str, name: str) -> str:
    return f"{report_prefix}{lookup}/{run_id}/{name}"


@dataclass
class LookupReport:
    run_id: str
    started_at: str
    lookup: str | None = None
    table: str | None = None
    export: ExportFolder | None = None
    load_generation: str | None = None
    status: str = "running"
    lines: int = 0
    loaded: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    deleted: int = 0
    deletion: dict = field(default_factory=lambda: {"status": "not requested"})
    ranges_total: int = 0
    ranges_skipped: int = 0
    ranges_loaded: int = 0
    range_failures: dict[int, str] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    unprocessed_retried: int = 0
    seconds: float = 0.0
    rejected_location: str | None = None
    failure: dict | None = None
    finished_at: str | None = None

    def to_dict(self) -> dict:
        return {
            "job": "lookup-load",
            "lookup": self.lookup,
            "runId": self.run_id,
            "status": self.status,
            "table": self.table,
            "export": self.export.to_dict() if self.export is not None else None,
            "loadGeneration": self.load_generation,
            "lines": self.lines,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "rejectedByReason": dict(sorted(self.rejected_by_reason.items())),
            "duplicates": self.duplicates,
            "deleted": self.deleted,
            "deletion": self.deletion,
            "ranges": {
                "total": self.ranges_total,
                "skipped": self.ranges_skipped,
                "loaded": self.ranges_loaded,
                "failed": len(self.range_failures),
                "failures": {str(index): error for index, error in sorted(self.range_failures.items())},
            },
            "requests": self.requests,
            "retries": self.retries,
            "unprocessedRetried": self.unprocessed_retried,
            "seconds": self.seconds,
            "rejectedLocation": self.rejected_location,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "failure": self.failure,
        }

    def add_work(self, outcome: Mapping) -> None:
        self.requests += outcome["requests"]
        self.retries += outcome["retries"]
        self.unprocessed_retried += outcome["unprocessedRetried"]


def add_totals(report: LookupReport, checkpoint: Checkpoint) -> None:
    """Counts of the whole export: every completed range, whichever run loaded it."""
    for counts in checkpoint.completed.values():
        report.lines += counts["lines"]
        report.loaded += counts["loaded"]
        report.rejected += counts["rejected"]
        report.duplicates += counts["duplicates"]
        for code, count in counts["rejectedByReason"].items():
            report.rejected_by_reason[code] = report.rejected_by_reason.get(code, 0) + count


def write_rejected(s3, arguments: Mapping[str, str], lookup: str, run_id: str, checkpoint: Checkpoint, settings: TaskSettings) -> str:
    """Joins the ranges' rejected lines into rejected.jsonl, naming each line's part and its line number in the part."""
    bucket, key = arguments["report_bucket"], report_key(arguments["report_prefix"], lookup, run_id, "rejected.jsonl")
    offset, current_part = 0, None
    with tempfile.TemporaryFile() as spool:
        for byte_range in checkpoint.ranges:
            if byte_range.part != current_part:
                offset, current_part = 0, byte_range.part
            counts = checkpoint.completed[byte_range.index]
            if counts["rejected"]:
                rejected = s3.get_object(Bucket=settings.parts_bucket, Key=part_key(settings.parts_prefix, byte_range.index))["Body"]
                for line in rejected.iter_lines():
                    record = {"part": settings.parts[byte_range.part].key, **json.loads(line)}
                    record["line"] += offset
                    spool.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
            offset += counts["physicalLines"]
        spool.seek(0)
        s3.upload_fileobj(spool, bucket, key, ExtraArgs={"ContentType": "application/x-ndjson"})
    return f"s3://{bucket}/{key}"


def publish(clients: LookupClients, arguments: Mapping[str, str], report: LookupReport, progress: Callable[[str], None]) -> None:
    document = report.to_dict()
    key = report_key(arguments["report_prefix"], report.lookup or "unknown-lookup", report.run_id, "report.json")
    clients.s3.put_object(
        Bucket=arguments["report_bucket"], Key=key, Body=json.dumps(document, indent=2).encode("utf-8"), ContentType="application/json"
    )
    progress(json.dumps({"level": "ERROR" if report.failure else "INFO", "message": "lookup load finished", **document}))
    topic = arguments.get("notification_topic_arn")
    if clients.sns is not None and topic:
        clients.sns.publish(TopicArn=topic, Subject=_notification_subject(report), Message=json.dumps(notification(report, arguments, key)))


def notification(report: LookupReport, arguments: Mapping[str, str], report_object_key: str) -> dict:
    """What the lookup's topic is told of a load: its outcome, its counts and where the report is."""
    return {
        "lookup": report.lookup,
        "status": report.status,
        "export": report.export.folder if report.export is not None else None,
        "parts": len(report.export.parts) if report.export is not None else None,
        "lines": report.lines,
        "loaded": report.loaded,
        "rejected": report.rejected,
        "rejectedByReason": report.rejected_by_reason,
        "duplicates": report.duplicates,
        "deleted": report.deleted,
        "failure": report.failure,
        "report": f"s3://{arguments['report_bucket']}/{report_object_key}",
    }


def _notification_subject(report: LookupReport) -> str:
    outcome = "failed" if report.failure else "succeeded"
    return f"[{report.lookup or 'lookup'}] load {outcome}: {report.loaded} loaded, {report.rejected} rejected"[:100]


def iso_timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
