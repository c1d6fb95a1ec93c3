"""The CloudWatch metrics the jobs publish: latency per extract, rows and items per run, counts per lookup load.

Namespace, metric names, units and dimensions are defined once, in `contracts/run_metrics.json`; the
Pulumi program reads the same file for the alarms and the dashboard that watch these metrics. Every
datum names its stack (the job's `stack` argument) beside its pipeline or lookup: two stacks in one
account and region may deploy the same pipeline, and each stack's alarms must watch its own runs only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache

from ingest.contract_files import packaged_contract
from ingest.report import RunReport


@cache
def metrics_contract() -> dict:
    return packaged_contract("run_metrics.json")


def run_start_metrics(report: RunReport, *, stack: str) -> list[dict]:
    """What a run publishes as it starts: how long its archive waited, so a long wait alarms while the run still has time."""
    run = {"stack": stack, "pipeline": report.pipeline}
    return [_datum("extractRuns", "landingToRunStart", run, report.start_delay_seconds(), report.started_at)]


def run_end_metrics(report: RunReport, *, stack: str) -> list[dict]:
    """What a finished run publishes (after `finish`): its latency and what it loaded if it succeeded, its quarantined rows always."""
    run = {"stack": stack, "pipeline": report.pipeline}
    quarantined = sum(counts.quarantined for counts in report.tables.values())
    data = [_datum("extractRuns", "rowsQuarantined", run, quarantined, report.finished_at)]
    latency = report.latency_seconds()
    if latency is not None:
        accepted = sum(counts.accepted for counts in report.tables.values())
        data += [
            _datum("extractRuns", "landingToItemsWritten", run, latency, report.finished_at),
            _datum("extractRuns", "rowsAccepted", run, accepted, report.finished_at),
            _datum("extractRuns", "itemsWritten", run, report.items.get("written", 0), report.finished_at),
        ]
    return data


def lookup_load_metrics(report: Mapping, *, stack: str) -> list[dict]:
    """The counts of a lookup load that succeeded, from its report document (`LookupReport.to_dict()`)."""
    load = {"stack": stack, "lookup": report["lookup"]}
    counts = {
        "linesRead": report["lines"],
        "itemsLoaded": report["loaded"],
        "linesRejected": report["rejected"],
        "itemsDeleted": report["deleted"],
    }
    return [_datum("lookupLoads", metric, load, value, report["finishedAt"]) for metric, value in counts.items()]


def put_metrics(cloudwatch, data: list[dict]) -> None:
    """Publishes the data in one call (PutMetricData takes up to 1000 data points)."""
    cloudwatch.put_metric_data(Namespace=metrics_contract()["namespace"], MetricData=data)


def _datum(group: str, metric: str, dimensions: Mapping[str, str], value: int, at: str) -> dict:
    """One data point of `metric`; `dimensions` gives the value of each dimension the contract names (by its key there)."""
    section = metrics_contract()[group]
    definition = section["metrics"][metric]
    return {
        "MetricName": definition["name"],
        "Dimensions": [{"Name": name, "Value": dimensions[role]} for role, name in section["dimensions"].items()],
        "Timestamp": datetime.fromisoformat(at),
        "Value": value,
        "Unit": definition["unit"],
    }
