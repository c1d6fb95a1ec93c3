"""The CloudWatch metrics the jobs publish: latency per extract, rows and items per run, counts per lookup load.

Namespace, metric names, units and dimensions are defined once, in `contracts/run_metrics.json`; the
Pulumi program reads the same file for the alarms and the dashboard that watch these metrics.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib import resources

from ingest.report import RunReport


@cache
def metrics_contract() -> dict:
    return json.loads(resources.files("ingest").joinpath("contracts/run_metrics.json").read_text(encoding="utf-8"))


def run_start_metrics(report: RunReport) -> list[dict]:
    """What a run publishes as it starts: how long its archive waited, so a long wait alarms while the run still has time."""
    return [_datum("extractRuns", "landingToRunStart", report.pipeline, report.start_delay_seconds(), report.started_at)]


def run_end_metrics(report: RunReport) -> list[dict]:
    """What a finished run publishes (after `finish`): its latency and what it loaded if it succeeded, its quarantined rows always."""
    quarantined = sum(counts.quarantined for counts in report.tables.values())
    data = [_datum("extractRuns", "rowsQuarantined", report.pipeline, quarantined, report.finished_at)]
    latency = report.latency_seconds()
    if latency is not None:
        accepted = sum(counts.accepted for counts in report.tables.values())
        data += [
            _datum("extractRuns", "landingToItemsWritten", report.pipeline, latency, report.finished_at),
            _datum("extractRuns", "rowsAccepted", report.pipeline, accepted, report.finished_at),
            _datum("extractRuns", "itemsWritten", report.pipeline, report.items.get("written", 0), report.finished_at),
        ]
    return data


def lookup_load_metrics(report: Mapping) -> list[dict]:
    """The counts of a lookup load that succeeded, from its report document (`LookupReport.to_dict()`)."""
    counts = {
        "linesRead": report["lines"],
        "itemsLoaded": report["loaded"],
        "linesRejected": report["rejected"],
        "itemsDeleted": report["deleted"],
    }
    return [_datum("lookupLoads", metric, report["lookup"], value, report["finishedAt"]) for metric, value in counts.items()]


def put_metrics(cloudwatch, data: list[dict]) -> None:
    """Publishes the data in one call (PutMetricData takes up to 1000 data points)."""
    cloudwatch.put_metric_data(Namespace=metrics_contract()["namespace"], MetricData=data)


def _datum(group: str, metric: str, dimension_value: str, value: int, at: str) -> dict:
    section = metrics_contract()[group]
    definition = section["metrics"][metric]
    return {
        "MetricName": definition["name"],
        "Dimensions": [{"Name": section["dimension"], "Value": dimension_value}],
        "Timestamp": datetime.fromisoformat(at),
        "Value": value,
        "Unit": definition["unit"],
    }
