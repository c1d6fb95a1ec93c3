"""One run of the batch extract job, step by step. The entry script only wires Glue (or local Spark) to `run`."""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlparse

import boto3
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.archive import ArchiveLimits, ArchiveRejected, TableFilePattern, extract_archive
from ingest.assembly import ItemTree, build_items
from ingest.csv_dialect import CsvDialect
from ingest.current_state import (
    CHANGE,
    UPSERT,
    ExtractMark,
    RootColumns,
    apply_to_current,
    apply_to_keys,
    compute_changes,
    touched_roots,
)
from ingest.dynamodb_writer import (
    DELETE_MARKER,
    ITEM_BYTES,
    ITEM_JSON,
    ITEM_KEY,
    ITEM_PROBLEM,
    WRITE_COUNTS,
    write_partition,
    writer_count,
    writer_settings,
)
from ingest.item_json import dynamodb_items
from ingest.lake import CURRENT, HISTORY, KEYS, accepted_schema, ensure_tables, lake_tables, scanned, snapshot_id, table_at
from ingest.lake_ledger import Commit, LakeLedger, PendingChanges
from ingest.locations import load_json
from ingest.report import RunFailure, RunReport, reported_run, run_report_key, unexpected_failure
from ingest.run_metrics import put_metrics, run_end_metrics, run_start_metrics
from ingest.staging import MappedColumn, UnreadableFile, stage_file
from ingest.typed_read import REASON_COLUMN, ExtractInfo, classify, read_staged_lines


@dataclass(frozen=True)
class AwsClients:
    s3: object
    glue: object
    dynamodb: object
    sns: object
    # Built from the environment unless given, as the entry script builds the others.
    cloudwatch: object = field(default_factory=lambda: boto3.client("cloudwatch"))


def load_plan(s3, plan_uri: str) -> dict:
    return load_json(s3, plan_uri)


def run(
    spark: SparkSession,
    arguments: dict[str, str],
    clients: AwsClients,
    *,
    work_dir: str,
    progress: Callable[[str], None] = print,
) -> RunReport:
    """Runs one extract end to end. Always writes the report and notifies, then returns it (or raises RunFailure)."""
    plan = load_plan(clients.s3, arguments["plan_uri"])
    archive_uri = f"s3://{arguments['archive_bucket']}/{arguments['archive_key']}?versionId={arguments['archive_version_id']}"
    report = RunReport(
        pipeline=plan["pipeline"],
        extract_id=arguments["extract_id"],
        extract_version=int(arguments["extract_version"]),
        archive=archive_uri,
        job_run_id=arguments["JOB_RUN_ID"],
        landed_at=arguments["archive_landed_at"],
    )
    with reported_run(report, lambda: _publish(plan, arguments, clients, report, progress)):
        # First, so that an archive that waited too long alarms while its run still has time to load it.
        put_metrics(clients.cloudwatch, run_start_metrics(report, stack=arguments["stack"]))
        _load_extract(spark, plan, arguments, clients, report, work_dir, progress)
        report.status = "succeeded"
    return report


def _load_extract(spark, plan, arguments, clients, report: RunReport, work_dir: str, progress) -> None:
    extract = ExtractInfo(
        extract_id=arguments["extract_id"],
        extract_version=int(arguments["extract_version"]),
        extract_time=_extract_time(arguments["extract_version"]),
    )
    archive_path = os.path.join(work_dir, "archive.zip")
    with report.step("download", progress):
        clients.s3.download_file(
            arguments["archive_bucket"],
            arguments["archive_key"],
            archive_path,
            ExtraArgs={"VersionId": arguments["archive_version_id"]} if arguments["archive_version_id"] != "null" else None,
        )
    tables = plan["tables"]
    with _archive_quarantined_on_failure(plan, arguments, clients, report):
        with report.step("unzip", progress):
            try:
                extracted = extract_archive(
                    archive_path,
                    os.path.join(work_dir, "extracted"),
                    [TableFilePattern(table=t["name"], file_regex=t["fileRegex"], required=t["required"]) for t in tables],
                    ArchiveLimits(
                        max_entries=plan["extract"]["limits"]["maxEntries"],
                        max_uncompressed_bytes=plan["extract"]["limits"]["maxUncompressedBytes"],
                        max_compression_ratio=plan["extract"]["limits"]["maxCompressionRatio"],
                    ),
                    plan["extract"]["unknownFiles"],
                )
            except ArchiveRejected as rejected:
                _quarantine_archive(plan, arguments, clients, report, rejected.reason, rejected.detail)
            report.ignored_files = list(extracted.ignored)
        with report.step("stage", progress):
            staged_by_table = _stage(plan, arguments, clients, report, extracted, work_dir)
        entry_names = [extracted_file.entry_name for extracted_file in extracted.files]
        with report.step("typed-read", progress):
            accepted = _typed_read(spark, plan, arguments, report, staged_by_table, entry_names, extract)
    present = {name for name, staged in staged_by_table.items() if staged}
    with report.step("history", progress):
        _write_history(spark, plan, arguments, accepted, present)
    ledger = LakeLedger(clients.dynamodb, arguments["run_ledger_table"])
    with ledger.lease(extract.extract_id, wait_seconds=LEASE_WAIT_SECONDS):
        with report.step("merge", progress):
            commit, touched = _merge(spark, plan, arguments, report, ledger, accepted, present, extract, progress)
        with report.step("assemble", progress):
            items = _assemble(spark, plan, arguments, commit, touched)
        with report.step("write-items", progress):
            _write_items(spark, plan, arguments, clients, report, items)
    # What this run cached (classified tables, touched roots, items) is of no use to the next run.
    spark.catalog.clearCache()


# A run waits this long for the runs before it to finish with the lake: the Glue timeout of a run
# that holds it, less the time this run needs itself.
LEASE_WAIT_SECONDS = 40 * 60


def _stage(plan, arguments, clients, report, extracted, work_dir) -> dict[str, list]:
    """Cuts every extracted file into numbered records and uploads them; a file that cannot be read as mapped rejects the archive."""
    columns_of = {
        table["name"]: [MappedColumn(name=column["name"], nullable=column["nullable"]) for column in table["columns"]]
        for table in plan["tables"]
    }
    staging = urlparse(arguments["staging_uri"])
    staged_by_table: dict[str, list] = {table["name"]: [] for table in plan["tables"]}
    for index, extracted_file in enumerate(extracted.files):
        local_path = os.path.join(work_dir, "staged", extracted_file.table, f"{index}.txt")
        try:
            staged = stage_file(
                extracted_file.path,
                local_path,
                table=extracted_file.table,
                file_index=index,
                entry_name=extracted_file.entry_name,
                columns=columns_of[extracted_file.table],
                dialect=CsvDialect.from_plan(plan["extract"]["csv"]),
                unknown_columns=plan["extract"]["unknownColumns"],
            )
        except UnreadableFile as unreadable:
            _quarantine_archive(plan, arguments, clients, report, unreadable.reason, str(unreadable))
        key = posixpath.join(staging.path.lstrip("/"), arguments["extract_id"], extracted_file.table, f"{index}.txt")
        clients.s3.upload_file(local_path, staging.netloc, key)
        staged_by_table[extracted_file.table].append((f"s3://{staging.netloc}/{key}", staged))
        counts = report.table(extracted_file.table)
        counts.files.append(extracted_file.entry_name)
        counts.ignored_columns.extend(column for column in staged.layout.ignored_columns if column not in counts.ignored_columns)
    return staged_by_table


def _typed_read(spark, plan, arguments, report, staged_by_table, entry_names, extract) -> dict[str, DataFrame]:
    """Types every table; quarantines bad rows with file, line and reason; fails past the mapping's threshold."""
    accepted: dict[str, DataFrame] = {}
    rejected_frames: list[DataFrame] = []
    for table in plan["tables"]:
        staged_files = staged_by_table[table["name"]]
        counts = report.table(table["name"])
        counts.read = sum(staged.records for _, staged in staged_files)
        if not staged_files:
            accepted[table["name"]] = spark.createDataFrame([], accepted_schema(table, plan))
            continue
        lines = read_staged_lines(spark, [uri for uri, _ in staged_files], entry_names)
        layouts = {staged.file_index: staged.layout for _, staged in staged_files}
        classified = classify(lines, table, CsvDialect.from_plan(plan["extract"]["csv"]), extract, layouts)
        # One pass classifies the table; every count comes from one aggregation over it.
        classified.rows.persist(StorageLevel.MEMORY_AND_DISK)
        by_reason = {row[0]: row[1] for row in classified.rows.groupBy(REASON_COLUMN).count().collect()}
        counts.accepted = by_reason.pop(None, 0)
        counts.quarantined_by_reason = by_reason
        counts.quarantined = sum(by_reason.values())
        accepted[table["name"]] = classified.accepted
        if counts.quarantined:
            rejected_frames.append(classified.rejected)
    report.check_row_counts()
    if rejected_frames and any(report.table(name).quarantined for name in report.tables):
        location = f"s3://{arguments['quarantine_bucket']}/{plan['pipeline']}/rows/ingest_extract_id={extract.extract_id}/"
        combined = rejected_frames[0]
        for frame in rejected_frames[1:]:
            combined = combined.unionByName(frame)
        combined.coalesce(1).write.mode("overwrite").json(location)
        report.quarantine_location = location
    threshold = plan["quarantine"]["maxRejectedFraction"]
    for name, counts in sorted(report.tables.items()):
        if counts.read and counts.quarantined / counts.read > threshold:
            raise RunFailure(
                "too-many-rejected-rows",
                f"{name}: {counts.quarantined} of {counts.read} rows rejected "
                f"({counts.quarantined / counts.read:.2%}, the mapping allows {threshold:.2%}); nothing was loaded",
            )
    return accepted


def _write_history(spark, plan, arguments, accepted, present: set[str]) -> None:
    """Keeps what this extract brought, per table, in the history table's partition of the extract (replaced on a rerun)."""
    database = arguments["glue_database"]
    tables = lake_tables(plan)
    ensure_tables(spark, plan, database, arguments["lake_bucket"])
    for name in sorted(present):
        columns = [column for column, _ in tables[(name, HISTORY)].columns]
        accepted[name].select(*columns).writeTo(tables[(name, HISTORY)].identifier(database)).overwritePartitions()


def _merge(spark, plan, arguments, report, ledger: LakeLedger, accepted, present: set[str], extract, progress):
    """Applies the extract's changes to the current and keys tables (and a change set a dead run left pending first).

    Returns the extract's commit and the roots whose items must be rebuilt.
    """
    database = arguments["glue_database"]
    tree = ItemTree(plan)
    touched = []
    pending = ledger.pending()
    if pending is not None and pending.extract_id != extract.extract_id:
        left = _read_changes(spark, tree, pending.location)
        _apply(spark, plan, database, ledger, pending, left, progress)
        ledger.commit(pending, _snapshots(spark, plan, database))
        report.completed_extract = pending.extract_id
        touched.append(touched_roots(plan, left))
        pending = None
    commit = ledger.committed(extract.extract_id)
    if commit is not None:
        # A rerun of a committed extract changes nothing in the lake; it rebuilds the extract's items
        # from the change set while that is kept, and has nothing to rebuild once it has expired.
        changes = _read_changes(spark, tree, commit.changes_location) if _exists(spark, commit.changes_location) else {}
    else:
        if pending is None:
            location = f"{arguments['changes_uri']}{extract.extract_id}/"
            rows = {name: report.table(name).accepted for name in accepted}
            changes = _compute(spark, plan, database, accepted, rows, present, extract, location)
            pending = PendingChanges(extract.extract_id, extract.extract_version, location, ())
            ledger.begin(pending.extract_id, pending.extract_version, location)
        else:
            changes = _read_changes(spark, tree, pending.location)
        _apply(spark, plan, database, ledger, pending, changes, progress)
        commit = ledger.commit(pending, _snapshots(spark, plan, database))
    _count_changes(plan, report, changes)
    report.lake_snapshot = commit.sequence
    if changes:
        touched.append(touched_roots(plan, changes))
    roots = RootColumns.of(plan)
    combined = spark.createDataFrame([], roots.schema)
    for frame in touched:
        combined = combined.unionByName(frame)
    return commit, combined.distinct().persist(StorageLevel.MEMORY_AND_DISK)


def _exists(spark, uri: str) -> bool:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(path)


CHANGE_ROWS_PER_FILE = 1_000_000


def _compute(spark, plan, database, accepted, rows: dict[str, int], present, extract, location: str) -> dict[str, DataFrame]:
    tables = lake_tables(plan)
    incoming = {name: frame for name, frame in accepted.items()}

    def keep(name: str, frame: DataFrame) -> DataFrame:
        path = f"{location}{name}/"
        # A change set is about as large as the table's part of the extract: a file per million rows,
        # not one per shuffle partition (each file costs a commit, and most change sets are small).
        frame.repartition(1 + rows[name] // CHANGE_ROWS_PER_FILE).write.mode("overwrite").parquet(path)
        return spark.read.schema(frame.schema).parquet(path)

    full_tables = {table["name"] for table in plan["tables"] if table["mode"] == "full"}
    absent_full = full_tables - present
    plan_for_run = {
        **plan,
        # A full-snapshot table whose file is not in this archive says nothing about deletes.
        "tables": [{**table, "mode": "incremental"} if table["name"] in absent_full else table for table in plan["tables"]],
    }
    return compute_changes(
        spark,
        plan_for_run,
        incoming,
        current=lambda name: table_at(spark, tables[(name, CURRENT)].identifier(database), None),
        keys=lambda name: table_at(spark, tables[(name, KEYS)].identifier(database), None),
        extract=ExtractMark(extract.extract_id, extract.extract_version, extract.extract_time),
        keep=keep,
    )


def _read_changes(spark, tree: ItemTree, location: str) -> dict[str, DataFrame]:
    return {name: spark.read.parquet(f"{location}{name}/") for name in tree.tables()}


def _apply(spark, plan, database, ledger: LakeLedger, pending: PendingChanges, changes, progress) -> None:
    tables = lake_tables(plan)
    roots = RootColumns.of(plan)
    tree = ItemTree(plan)
    for name in tree.tables():
        if name in pending.applied_tables:
            continue
        table = tree.table(name)
        current = tables[(name, CURRENT)]
        apply_to_current(spark, table, current.identifier(database), [column for column, _ in current.columns], roots, changes[name])
        apply_to_keys(spark, table, tables[(name, KEYS)].identifier(database), roots, changes[name])
        ledger.applied(pending.extract_id, name)
        progress(json.dumps({"level": "INFO", "message": "merged", "table": current.name, "extract": pending.extract_id}))


def _snapshots(spark, plan, database) -> dict[str, int]:
    found = {}
    for (_, role), table in lake_tables(plan).items():
        if role == CURRENT:
            snapshot = snapshot_id(spark, table.identifier(database))
            if snapshot is not None:
                found[table.name] = snapshot
    return found


def _count_changes(plan, report, changes) -> None:
    roots = RootColumns.of(plan)
    for name, frame in changes.items():
        counts = {row[CHANGE]: row["count"] for row in frame.groupBy(CHANGE).count().collect()}
        report.table(name).changes = dict(sorted(counts.items()))
        if "parent" in ItemTree(plan).table(name):
            report.table(name).orphans = frame.where((F.col(CHANGE) == F.lit(UPSERT)) & F.col(roots.names[0]).isNull()).count()


def _assemble(spark, plan, arguments, commit: Commit, touched: DataFrame) -> DataFrame:
    """The items of every touched root, from the current tables as the commit left them; deleted roots as deletions."""
    database = arguments["glue_database"]
    tables = lake_tables(plan)
    tree = ItemTree(plan)
    roots = RootColumns.of(plan)
    rows = {}
    for name in tree.tables():
        table = tables[(name, CURRENT)]
        current = table_at(spark, table.identifier(database), commit.snapshots.get(table.name))
        rows[name] = current.join(touched, list(roots.names), "left_semi")
    items = build_items(rows, tree, snapshot=commit.sequence)
    item = plan["item"]
    gone = touched.join(rows[tree.root].select(*roots.names), list(roots.names), "left_anti")
    by_column = dict(zip(roots.source, roots.names, strict=True))
    deletions = gone.select(
        *[_item_key(key, by_column).alias(key["attribute"]) for key in (item["partitionKey"], item.get("sortKey")) if key],
        F.lit(commit.sequence).cast("long").alias(item["snapshotAttribute"]),
        F.lit(True).alias(DELETE_MARKER),
    )
    return items.unionByName(deletions, allowMissingColumns=True)


def _item_key(key, by_column: dict[str, str]):
    if "value" in key:
        return F.lit(key["value"])
    column = F.col(by_column[key["column"]])
    return column.cast("string") if key["type"] == "S" else column


def _record_scans(plan, report, items: DataFrame) -> None:
    """Files and bytes each current table's scan read for the items (after Iceberg's pruning)."""
    names = {table.name: table.table for (_, role), table in lake_tables(plan).items() if role == CURRENT}
    for table_name, totals in scanned(items).items():
        if table_name in names:
            report.table(names[table_name]).scanned = totals


def _write_items(spark, plan, arguments, clients, report, items: DataFrame) -> None:
    """Writes the items at the run's write budget: `writer_count` tasks, each spending an equal share of it.

    Spark turns every item into DynamoDB's JSON and sizes it (ingest/item_json.py) in the same pass
    that assembles it; the writer tasks only parse and send. Files and bytes each current table's
    scan read are recorded from the plan that ran.
    """
    oversize = plan["oversize"]
    budget = float(arguments["items_write_units_per_second"])
    settings = writer_settings(
        plan, arguments["items_table"], endpoint_url=os.environ.get("AWS_ENDPOINT_URL"), region=clients.dynamodb.meta.region_name
    )
    max_bytes = settings.max_item_bytes
    encoded = dynamodb_items(items, settings.keys, carried=[DELETE_MARKER]).persist(StorageLevel.MEMORY_AND_DISK)
    too_large = ~F.coalesce(F.col(DELETE_MARKER), F.lit(False)) & F.col(ITEM_PROBLEM).isNull() & (F.col(ITEM_BYTES) > max_bytes)
    try:
        touched, oversize_count = encoded.agg(F.count(F.lit(1)), F.count(F.when(too_large, True))).first()
        if oversize_count and oversize["policy"] == "fail":
            raise RunFailure(
                "item-too-large",
                f"{oversize_count} item(s) exceed {max_bytes} bytes and the mapping's oversize policy is fail; nothing was written",
            )
        writers = writer_count(budget, touched, spark.sparkContext.defaultParallelism)
        settings = dataclasses.replace(settings, write_units_per_second=budget / writers)
        # Exactly `writers` partitions, so no more writer tasks run than share the budget. Merging
        # cached partitions costs no shuffle; only a frame with fewer partitions is spread out.
        partitions = encoded.rdd.getNumPartitions()
        writing = encoded.coalesce(writers) if partitions >= writers else encoded.repartition(writers)
        outcomes = writing.rdd.mapPartitions(lambda rows: write_partition((row.asDict() for row in rows), settings)).collect()
        totals = {"touched": touched, **{name: sum(outcome[name] for outcome in outcomes) for name in WRITE_COUNTS}}
        if totals["oversize"] and oversize["policy"] == "quarantine":
            location = f"s3://{arguments['quarantine_bucket']}/{plan['pipeline']}/oversize/ingest_extract_id={report.extract_id}/"
            # One line per item: {"key": ..., "bytes": ..., "item": <the item as DynamoDB JSON>}.
            described = F.to_json(F.struct(F.col(ITEM_KEY).alias("key"), F.col(ITEM_BYTES).alias("bytes")))
            line = F.concat(F.regexp_replace(described, "}$", ""), F.lit(',"item":'), F.col(ITEM_JSON), F.lit("}"))
            encoded.where(too_large).select(line.alias("value")).write.mode("overwrite").text(location)
            report.oversize_location = location
        _record_scans(plan, report, encoded)
    finally:
        encoded.unpersist()
    report.items = totals
    report.oversize_items = [entry for outcome in outcomes for entry in outcome["oversize_items"]][:100]
    failures = [entry for outcome in outcomes for entry in outcome["failures"]]
    if totals["failed"]:
        raise RunFailure(
            "items-not-written",
            f"{totals['failed']} item(s) could not be written to {settings.table_name}; first: {failures[0]['key']}: {failures[0]['error']}",
        )


@contextmanager
def _archive_quarantined_on_failure(plan, arguments, clients, report) -> Iterator[None]:
    """Quarantines the archive when the body fails, however it fails, then lets the failure end the run.

    Until the lake write nothing of the extract is kept, so the archive is all there is to look at
    or replay. A step that rejected the archive has already kept it with its reason; a run that
    failed on its rows keeps pointing at the rejected rows, which say more than the archive.
    """
    try:
        yield
    except Exception as error:
        failure = error if isinstance(error, RunFailure) else unexpected_failure(error)
        location = _archive_quarantine_location(plan, arguments)
        if report.quarantine_location != location:
            _keep_archive_in_quarantine(plan, arguments, clients, report, failure.reason, failure.detail)
            report.quarantine_location = report.quarantine_location or location
        raise


def _quarantine_archive(plan, arguments, clients, report, reason: str, detail: str) -> None:
    """Quarantines the rejected archive with its reason and fails the run."""
    _keep_archive_in_quarantine(plan, arguments, clients, report, reason, detail)
    report.quarantine_location = _archive_quarantine_location(plan, arguments)
    raise RunFailure(f"archive-{reason}", detail)


def _archive_quarantine_prefix(plan, arguments) -> str:
    return f"{plan['pipeline']}/archives/{arguments['extract_id']}/"


def _archive_quarantine_location(plan, arguments) -> str:
    return f"s3://{arguments['quarantine_bucket']}/{_archive_quarantine_prefix(plan, arguments)}"


def _keep_archive_in_quarantine(plan, arguments, clients, report, reason: str, detail: str) -> None:
    """Copies the archive to the quarantine bucket with `reason.json` and tags the landed object with the reason."""
    name = posixpath.basename(arguments["archive_key"])
    prefix = _archive_quarantine_prefix(plan, arguments)
    source = {"Bucket": arguments["archive_bucket"], "Key": arguments["archive_key"]}
    if arguments["archive_version_id"] != "null":
        source["VersionId"] = arguments["archive_version_id"]
    clients.s3.copy_object(Bucket=arguments["quarantine_bucket"], Key=prefix + name, CopySource=source)
    clients.s3.put_object(
        Bucket=arguments["quarantine_bucket"],
        Key=prefix + "reason.json",
        Body=json.dumps({"reason": reason, "detail": detail, "archive": report.archive}).encode("utf-8"),
    )
    tagging = {"TagSet": [{"Key": "ingest-status", "Value": "quarantined"}, {"Key": "ingest-reason", "Value": reason}]}
    tag_arguments = {"Bucket": arguments["archive_bucket"], "Key": arguments["archive_key"], "Tagging": tagging}
    if "VersionId" in source:
        tag_arguments["VersionId"] = source["VersionId"]
    clients.s3.put_object_tagging(**tag_arguments)


def _publish(plan, arguments, clients, report: RunReport, progress) -> None:
    """Notifies, then keeps the report saying whether the notification went out, then publishes the run's metrics.

    The report is written even when publishing fails, and says so: the run notifier, which hears of
    every run that did not succeed, then notifies in the job's place.
    """
    report.finish()
    try:
        clients.sns.publish(TopicArn=arguments["notification_topic_arn"], Subject=report.subject(), Message=report.message())
        report.notified = True
    finally:
        body = json.dumps(report.to_dict(), indent=2, default=str).encode("utf-8")
        report_key = run_report_key(plan["pipeline"], report.extract_id, report.job_run_id)
        clients.s3.put_object(Bucket=arguments["lake_bucket"], Key=report_key, Body=body)
    put_metrics(clients.cloudwatch, run_end_metrics(report, stack=arguments["stack"]))
    progress(json.dumps({"level": "INFO" if report.status == "succeeded" else "ERROR", "message": "run finished", **report.to_dict()}))


def _extract_time(extract_version: str) -> str:
    seconds = int(extract_version) // 1_000_000
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
