"""Lake maintenance: what Glue's table optimizers do not do for a pipeline's lake.

- The rows of an item whose TTL has passed leave the current and keys tables, so the lake and the
  items age out together. An item's expiry is computed from its current rows by the same rule the
  job writes it with (`assembly.expires_at`), so no row an item still needs is removed.
- Orphans (rows whose parent chain reaches no root) leave when they are older than the item
  retention: no item holds them, and no item could hold them later than that.
- History partitions, and keys the source deleted, leave once older than the history retention.

The job holds the lake lease while it deletes, so no extract run merges at the same time.
Snapshots and orphan files are the optimizers' work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.assembly import ItemTree, expires_at
from ingest.aws_clients import S3Client, SnsClient
from ingest.current_state import DELETED, EXTRACT_TIME, RootColumns
from ingest.job_plan import JobPlan
from ingest.lake import CURRENT, HISTORY, KEYS, ensure_tables, lake_tables
from ingest.lake_ledger import LakeLedger
from ingest.report import reported_run

MAINTENANCE_OWNER = "lake-maintenance"


@dataclass
class MaintenanceReport:
    pipeline: str
    job_run_id: str
    now: str
    status: str = "running"
    failure: dict | None = None
    expired_items: int = 0
    deleted: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "pipeline": self.pipeline,
            "jobRunId": self.job_run_id,
            "now": self.now,
            "status": self.status,
            "failure": self.failure,
            "expiredItems": self.expired_items,
            "deletedRows": dict(sorted(self.deleted.items())),
        }

    def subject(self) -> str:
        if self.status == "succeeded":
            return f"[{self.pipeline}] lake maintenance: {self.expired_items} expired items, {sum(self.deleted.values())} rows removed"
        return f"[{self.pipeline}] lake maintenance FAILED: {(self.failure or {}).get('reason', 'unknown')}"


def run_maintenance(
    spark: SparkSession,
    plan: JobPlan,
    arguments: Mapping[str, str],
    *,
    ledger: LakeLedger,
    publish: Callable[[MaintenanceReport], None],
    now: datetime | None = None,
) -> MaintenanceReport:
    """One maintenance pass over a pipeline's lake; the report is published however it ends."""
    moment = now or datetime.now(UTC)
    report = MaintenanceReport(pipeline=plan.pipeline, job_run_id=arguments["JOB_RUN_ID"], now=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    with reported_run(report, lambda: publish(report)), ledger.lease(MAINTENANCE_OWNER, wait_seconds=3600):
        database = arguments["glue_database"]
        ensure_tables(spark, plan, database, arguments["lake_bucket"])
        now_seconds = int(moment.timestamp())
        _expire_items(spark, plan, database, report, now_seconds)
        _expire_history(spark, plan, database, report, now_seconds - int(arguments["history_retention_days"]) * 86_400)
        report.status = "succeeded"
    return report


def expired_roots(plan: JobPlan, current: Mapping[str, DataFrame], now_seconds: int) -> DataFrame:
    """Roots of items whose TTL (from their current rows, as the job computes it) has passed."""
    tree = ItemTree.of(plan)
    roots = RootColumns.of(plan.lake.root_columns)
    activity_columns: dict[str, list[str]] = {}
    for reference in plan.item.ttl.activity:
        activity_columns.setdefault(reference.table, []).append(reference.column)
    per_table = []
    for name in tree.tables():
        activity = [F.col(column).cast("timestamp") for column in activity_columns.get(name, [])]
        per_table.append(
            current[name]
            .where(F.col(roots.names[0]).isNotNull())
            .groupBy(*roots.names)
            .agg(
                (F.max(F.greatest(*activity) if len(activity) > 1 else activity[0]) if activity else F.lit(None).cast("timestamp")).alias(
                    "activity"
                ),
                F.max(EXTRACT_TIME).alias("loaded"),
            )
        )
    combined = per_table[0]
    for frame in per_table[1:]:
        combined = combined.unionByName(frame)
    items = combined.groupBy(*roots.names).agg(F.max("activity").alias("activity"), F.max("loaded").alias("loaded"))
    # Only a root with its root row is an item; other roots' rows are the orphans' concern.
    items = items.join(current[tree.root].select(*roots.names), list(roots.names), "left_semi")
    expiry = expires_at(F.col("activity"), F.col("loaded"), plan.item.ttl.retention_days)
    return items.where(expiry < F.lit(now_seconds)).select(*roots.names)


def _expire_items(spark: SparkSession, plan: JobPlan, database: str, report: MaintenanceReport, now_seconds: int) -> None:
    tables = lake_tables(plan)
    tree = ItemTree.of(plan)
    roots = RootColumns.of(plan.lake.root_columns)
    identifiers = {name: tables[(name, CURRENT)].identifier(database) for name in tree.tables()}
    current = {name: spark.table(identifier) for name, identifier in identifiers.items()}
    expired = expired_roots(plan, current, now_seconds).collect()
    report.expired_items = len(expired)
    orphan_cutoff = now_seconds - plan.item.ttl.retention_days * 86_400
    spark.createDataFrame(expired, roots.schema).createOrReplaceTempView("ingest_expired_roots")
    under_expired = (
        f"({', '.join(f'`{name}`' for name in roots.names)}) IN (SELECT {', '.join(f'`{name}`' for name in roots.names)} "
        "FROM ingest_expired_roots)"
    )
    stale_orphan = f"(`{roots.names[0]}` IS NULL AND `{EXTRACT_TIME}` < {_timestamp(orphan_cutoff)})"
    for name in tree.tables():
        keys = tables[(name, KEYS)].identifier(database)
        condition = f"{under_expired} OR {stale_orphan}"
        removed = spark.sql(f"SELECT count(*) FROM {identifiers[name]} WHERE {condition}").first()[0]
        if removed:
            # Keys the source deleted have no root either; they leave with the history, not here.
            spark.sql(f"DELETE FROM {keys} WHERE NOT `{DELETED}` AND ({condition})")
            spark.sql(f"DELETE FROM {identifiers[name]} WHERE {condition}")
        report.deleted[tables[(name, CURRENT)].name] = removed
    spark.catalog.dropTempView("ingest_expired_roots")


def _expire_history(spark: SparkSession, plan: JobPlan, database: str, report: MaintenanceReport, cutoff_seconds: int) -> None:
    tables = lake_tables(plan)
    for (_, role), table in sorted(tables.items()):
        identifier = table.identifier(database)
        if role == HISTORY:
            condition = f"`{EXTRACT_TIME}` < {_timestamp(cutoff_seconds)}"
        elif role == KEYS:
            condition = f"`{DELETED}` AND `{EXTRACT_TIME}` < {_timestamp(cutoff_seconds)}"
        else:
            continue
        removed = spark.sql(f"SELECT count(*) FROM {identifier} WHERE {condition}").first()[0]
        if removed:
            spark.sql(f"DELETE FROM {identifier} WHERE {condition}")
        report.deleted[table.name] = report.deleted.get(table.name, 0) + removed


def _timestamp(seconds: int) -> str:
    return f"TIMESTAMP '{datetime.fromtimestamp(seconds, UTC).strftime('%Y-%m-%d %H:%M:%S')}'"


def publish_report(s3: S3Client, sns: SnsClient, arguments: Mapping[str, str], report: MaintenanceReport, progress=print) -> None:
    """Keeps the report beside the pipeline's run reports and tells the pipeline's topic how the pass ended."""
    body = json.dumps(report.to_dict(), indent=2).encode("utf-8")
    key = f"{report.pipeline}/_maintenance/{report.job_run_id}.json"
    s3.put_object(Bucket=arguments["lake_bucket"], Key=key, Body=body)
    sns.publish(TopicArn=arguments["notification_topic_arn"], Subject=report.subject()[:100], Message=body.decode("utf-8"))
    progress(
        json.dumps({"level": "INFO" if report.status == "succeeded" else "ERROR", "message": "maintenance finished", **report.to_dict()})
    )
