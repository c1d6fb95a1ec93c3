"""One run of the batch extract job, step by step. The entry script only wires Glue (or local Spark) to `run`."""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from urllib.parse import urlparse

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.archive import ArchiveRejected, TableFilePattern, extract_archive
from ingest.arguments import EXTRACT_JOB_CONTRACT, load_contract
from ingest.assembly import ItemTree, build_items
from ingest.aws_clients import AwsClients, S3Client
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
    WriterSettings,
    write_partition,
    writer_count,
)
from ingest.item_json import dynamodb_items
from ingest.job_plan import ItemKey, JobPlan, JobPlanError, load_job_plan
from ingest.lake import CURRENT, HISTORY, KEYS, accepted_schema, ensure_tables, lake_tables, scanned, snapshot_id, table_at
from ingest.lake_ledger import Commit, LakeLedger, PendingChanges
from ingest.report import RunFailure, RunReport, reported_run, run_report_key, unexpected_failure
from ingest.run_metrics import put_metrics, run_end_metrics, run_start_metrics
from ingest.staging import MappedColumn, UnreadableFile, stage_file
from ingest.typed_read import REASON_COLUMN, ExtractInfo, classify, read_staged_lines


@dataclass(frozen=True)
class ExtractArguments:
    """A run's arguments: one field per name of contracts/job_arguments.json (Glue's JOB_RUN_ID as job_run_id)."""

    plan_uri: str
    lake_bucket: str
    quarantine_bucket: str
    items_table: str
    glue_database: str
    notification_topic_arn: str
    run_ledger_table: str
    staging_uri: str
    changes_uri: str
    items_write_units_per_second: float
    stack: str
    archive_bucket: str
    archive_key: str
    archive_version_id: str  # 'null' for an object written without versioning
    extract_id: str
    extract_version: int
    archive_landed_at: str
    job_run_id: str

    @classmethod
    def parse(cls, arguments: Mapping[str, str]) -> ExtractArguments:
        """The contract's arguments from Glue's (or a local run's) name -> text; raises RunFailure naming every bad one."""
        types = {field.name: field.type for field in fields(cls)}
        problems: list[str] = []
        values: dict[str, object] = {}
        for name in load_contract(EXTRACT_JOB_CONTRACT).all:
            if name not in arguments:
                problems.append(f"--{name}: missing")
                continue
            convert = {"int": int, "float": float}.get(types[name.lower()], str)
            try:
                values[name.lower()] = convert(arguments[name])
            except ValueError:
                problems.append(f"--{name}: {arguments[name]!r} is not a number")
        if problems:
            raise RunFailure("invalid-arguments", "; ".join(problems))
        return cls(**values)

    @property
    def archive_version(self) -> str | None:
        """The landed object's version id, or None for an object written without versioning."""
        return None if self.archive_version_id == "null" else self.archive_version_id

    @property
    def archive_uri(self) -> str:
        return f"s3://{self.archive_bucket}/{self.archive_key}?versionId={self.archive_version_id}"


def load_plan(s3: S3Client, plan_uri: str) -> JobPlan:
    """The run's job plan, parsed once; a plan the job cannot use fails the run before it starts, naming every problem."""
    try:
        return load_job_plan(s3, plan_uri)
    except JobPlanError as error:
        raise RunFailure("invalid-job-plan", str(error)) from error


def run(
    spark: SparkSession,
    arguments: Mapping[str, str],
    clients: AwsClients,
    *,
    work_dir: str,
    progress: Callable[[str], None] = print,
) -> RunReport:
    """Runs one extract end to end. Always writes the report and notifies, then returns it (or raises RunFailure).

    `arguments` are the job's arguments as Glue gives them; they and the plan they name are read
    into ExtractArguments and JobPlan here, once, and every step takes those.
    """
    parsed = ExtractArguments.parse(arguments)
    plan = load_plan(clients.s3, parsed.plan_uri)
    report = RunReport(
        pipeline=plan.pipeline,
        extract_id=parsed.extract_id,
        extract_version=parsed.extract_version,
        archive=parsed.archive_uri,
        job_run_id=parsed.job_run_id,
        landed_at=parsed.archive_landed_at,
    )
    with reported_run(report, lambda: _publish(plan, parsed, clients, report, progress)):
        # First, so that an archive that waited too long alarms while its run still has time to load it.
        put_metrics(clients.cloudwatch, run_start_metrics(report, stack=parsed.stack))
        _load_extract(spark, plan, parsed, clients, report, work_dir, progress)
        report.status = "succeeded"
    return report


def _load_extract(
    spark: SparkSession,
    plan: JobPlan,
    arguments: ExtractArguments,
    clients: AwsClients,
    report: RunReport,
    work_dir: str,
    progress: Callable[[str], None],
) -> None:
    extract = ExtractInfo(
        extract_id=arguments.extract_id,
        extract_version=arguments.extract_version,
        extract_time=_extract_time(arguments.extract_version),
    )
    archive_path = os.path.join(work_dir, "archive.zip")
    with report.step("download", progress):
        clients.s3.download_file(
            arguments.archive_bucket,
            arguments.archive_key,
            archive_path,
            ExtraArgs={"VersionId": arguments.archive_version} if arguments.archive_version is not None else None,
        )
    with _archive_quarantined_on_failure(plan, arguments, clients, report):
        with report.step("unzip", progress):
            try:
                extracted = extract_archive(
                    archive_path,
                    os.path.join(work_dir, "extracted"),
                    [TableFilePattern(table=table.name, file_regex=table.file_regex, required=table.required) for table in plan.tables],
                    plan.extract.limits,
                    plan.extract.unknown_files,
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
    ledger = LakeLedger(clients.dynamodb, arguments.run_ledger_table)
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


def _stage(plan: JobPlan, arguments: ExtractArguments, clients: AwsClients, report: RunReport, extracted, work_dir: str) -> dict[str, list]:
    """Cuts every extracted file into numbered records and uploads them; a file that cannot be read as mapped rejects the archive."""
    columns_of = {
        table.name: [MappedColumn(name=column.name, nullable=column.nullable) for column in table.columns] for table in plan.tables
    }
    staging = urlparse(arguments.staging_uri)
    staged_by_table: dict[str, list] = {table.name: [] for table in plan.tables}
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
                dialect=plan.extract.csv,
                unknown_columns=plan.extract.unknown_columns,
            )
        except UnreadableFile as unreadable:
            _quarantine_archive(plan, arguments, clients, report, unreadable.reason, str(unreadable))
        key = posixpath.join(staging.path.lstrip("/"), arguments.extract_id, extracted_file.table, f"{index}.txt")
        clients.s3.upload_file(local_path, staging.netloc, key)
        staged_by_table[extracted_file.table].append((f"s3://{staging.netloc}/{key}", staged))
        counts = report.table(extracted_file.table)
        counts.files.append(extracted_file.entry_name)
        counts.ignored_columns.extend(column for column in staged.layout.ignored_columns if column not in counts.ignored_columns)
    return staged_by_table


def _typed_read(
    spark: SparkSession, plan: JobPlan, arguments: ExtractArguments, report: RunReport, staged_by_table, entry_names, extract: ExtractInfo
) -> dict[str, DataFrame]:
    """Types every table; quarantines bad rows with file, line and reason; fails past the mapping's threshold."""
    accepted: dict[str, DataFrame] = {}
    rejected_frames: list[DataFrame] = []
    for table in plan.tables:
        staged_files = staged_by_table[table.name]
        counts = report.table(table.name)
        counts.read = sum(staged.records for _, staged in staged_files)
        if not staged_files:
            accepted[table.name] = spark.createDataFrame([], accepted_schema(table, plan))
            continue
        lines = read_staged_lines(spark, [uri for uri, _ in staged_files], entry_names)
        layouts = {staged.file_index: staged.layout for _, staged in staged_files}
        classified = classify(lines, table, plan.extract.csv, extract, layouts)
        # One pass classifies the table; every count comes from one aggregation over it.
        classified.rows.persist(StorageLevel.MEMORY_AND_DISK)
        by_reason = {row[0]: row[1] for row in classified.rows.groupBy(REASON_COLUMN).count().collect()}
        counts.accepted = by_reason.pop(None, 0)
        counts.quarantined_by_reason = by_reason
        counts.quarantined = sum(by_reason.values())
        accepted[table.name] = classified.accepted
        if counts.quarantined:
            rejected_frames.append(classified.rejected)
    report.check_row_counts()
    if rejected_frames and any(report.table(name).quarantined for name in report.tables):
        location = f"s3://{arguments.quarantine_bucket}/{plan.pipeline}/rows/ingest_extract_id={extract.extract_id}/"
        combined = rejected_frames[0]
        for frame in rejected_frames[1:]:
            combined = combined.unionByName(frame)
        combined.coalesce(1).write.mode("overwrite").json(location)
        report.quarantine_location = location
    threshold = plan.quarantine.max_rejected_fraction
    for name, counts in sorted(report.tables.items()):
        if counts.read and counts.quarantined / counts.read > threshold:
            raise RunFailure(
                "too-many-rejected-rows",
                f"{name}: {counts.quarantined} of {counts.read} rows rejected "
                f"({counts.quarantined / counts.read:.2%}, the mapping allows {threshold:.2%}); nothing was loaded",
            )
    return accepted


def _write_history(spark: SparkSession, plan: JobPlan, arguments: ExtractArguments, accepted, present: set[str]) -> None:
    """Keeps what this extract brought, per table, in the history table's partition of the extract (replaced on a rerun)."""
    database = arguments.glue_database
    tables = lake_tables(plan)
    ensure_tables(spark, plan, database, arguments.lake_bucket)
    for name in sorted(present):
        columns = [column for column, _ in tables[(name, HISTORY)].columns]
        accepted[name].select(*columns).writeTo(tables[(name, HISTORY)].identifier(database)).overwritePartitions()


def _merge(
    spark: SparkSession,
    plan: JobPlan,
    arguments: ExtractArguments,
    report: RunReport,
    ledger: LakeLedger,
    accepted,
    present: set[str],
    extract: ExtractInfo,
    progress,
):
    """Applies the extract's changes to the current and keys tables (and a change set a dead run left pending first).

    Returns the extract's commit and the roots whose items must be rebuilt.
    """
    database = arguments.glue_database
    tree = ItemTree.of(plan)
    roots = RootColumns.of(plan.lake.root_columns)
    touched = []
    pending = ledger.pending()
    if pending is not None and pending.extract_id != extract.extract_id:
        left = _read_changes(spark, tree, pending.location)
        _apply(spark, plan, database, ledger, pending, left, progress)
        ledger.commit(pending, _snapshots(spark, plan, database))
        report.completed_extract = pending.extract_id
        touched.append(touched_roots(roots, left))
        pending = None
    commit = ledger.committed(extract.extract_id)
    if commit is not None:
        # A rerun of a committed extract changes nothing in the lake; it rebuilds the extract's items
        # from the change set while that is kept, and has nothing to rebuild once it has expired.
        changes = _read_changes(spark, tree, commit.changes_location) if _exists(spark, commit.changes_location) else {}
    else:
        if pending is None:
            location = f"{arguments.changes_uri}{extract.extract_id}/"
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
        touched.append(touched_roots(roots, changes))
    combined = spark.createDataFrame([], roots.schema)
    for frame in touched:
        combined = combined.unionByName(frame)
    return commit, combined.distinct().persist(StorageLevel.MEMORY_AND_DISK)


def _exists(spark, uri: str) -> bool:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(path)


CHANGE_ROWS_PER_FILE = 1_000_000


def _compute(
    spark: SparkSession, plan: JobPlan, database: str, accepted, rows: dict[str, int], present, extract: ExtractInfo, location: str
) -> dict[str, DataFrame]:
    tables = lake_tables(plan)
    incoming = {name: frame for name, frame in accepted.items()}

    def keep(name: str, frame: DataFrame) -> DataFrame:
        path = f"{location}{name}/"
        # A change set is about as large as the table's part of the extract: a file per million rows,
        # not one per shuffle partition (each file costs a commit, and most change sets are small).
        frame.repartition(1 + rows[name] // CHANGE_ROWS_PER_FILE).write.mode("overwrite").parquet(path)
        return spark.read.schema(frame.schema).parquet(path)

    tree = ItemTree.of(plan)
    # A full-snapshot table whose file is not in this archive says nothing about deletes.
    tree_for_run = dataclasses.replace(
        tree,
        tables_by_name={
            name: dataclasses.replace(table, mode="incremental") if table.mode == "full" and name not in present else table
            for name, table in tree.tables_by_name.items()
        },
    )
    return compute_changes(
        spark,
        tree_for_run,
        RootColumns.of(plan.lake.root_columns),
        incoming,
        current=lambda name: table_at(spark, tables[(name, CURRENT)].identifier(database), None),
        keys=lambda name: table_at(spark, tables[(name, KEYS)].identifier(database), None),
        extract=ExtractMark(extract.extract_id, extract.extract_version, extract.extract_time),
        keep=keep,
    )


def _read_changes(spark, tree: ItemTree, location: str) -> dict[str, DataFrame]:
    return {name: spark.read.parquet(f"{location}{name}/") for name in tree.tables()}


def _apply(spark: SparkSession, plan: JobPlan, database: str, ledger: LakeLedger, pending: PendingChanges, changes, progress) -> None:
    tables = lake_tables(plan)
    roots = RootColumns.of(plan.lake.root_columns)
    tree = ItemTree.of(plan)
    for name in tree.tables():
        if name in pending.applied_tables:
            continue
        table = tree.table(name)
        current = tables[(name, CURRENT)]
        apply_to_current(spark, table, current.identifier(database), [column for column, _ in current.columns], roots, changes[name])
        apply_to_keys(spark, table, tables[(name, KEYS)].identifier(database), roots, changes[name])
        ledger.applied(pending.extract_id, name)
        progress(json.dumps({"level": "INFO", "message": "merged", "table": current.name, "extract": pending.extract_id}))


def _snapshots(spark: SparkSession, plan: JobPlan, database: str) -> dict[str, int]:
    found = {}
    for (_, role), table in lake_tables(plan).items():
        if role == CURRENT:
            snapshot = snapshot_id(spark, table.identifier(database))
            if snapshot is not None:
                found[table.name] = snapshot
    return found


def _count_changes(plan: JobPlan, report: RunReport, changes) -> None:
    roots = RootColumns.of(plan.lake.root_columns)
    for name, frame in changes.items():
        counts = {row[CHANGE]: row["count"] for row in frame.groupBy(CHANGE).count().collect()}
        report.table(name).changes = dict(sorted(counts.items()))
        if plan.table(name).parent is not None:
            report.table(name).orphans = frame.where((F.col(CHANGE) == F.lit(UPSERT)) & F.col(roots.names[0]).isNull()).count()


def _assemble(spark: SparkSession, plan: JobPlan, arguments: ExtractArguments, commit: Commit, touched: DataFrame) -> DataFrame:
    """The items of every touched root, from the current tables as the commit left them; deleted roots as deletions."""
    database = arguments.glue_database
    tables = lake_tables(plan)
    tree = ItemTree.of(plan)
    roots = RootColumns.of(plan.lake.root_columns)
    rows = {}
    for name in tree.tables():
        table = tables[(name, CURRENT)]
        current = table_at(spark, table.identifier(database), commit.snapshots.get(table.name))
        rows[name] = current.join(touched, list(roots.names), "left_semi")
    items = build_items(rows, tree, plan.item, snapshot=commit.sequence)
    item = plan.item
    gone = touched.join(rows[tree.root].select(*roots.names), list(roots.names), "left_anti")
    by_column = dict(zip(roots.source, roots.names, strict=True))
    deletions = gone.select(
        *[_item_key(key, by_column).alias(key.attribute) for key in item.keys],
        F.lit(commit.sequence).cast("long").alias(item.snapshot_attribute),
        F.lit(True).alias(DELETE_MARKER),
    )
    return items.unionByName(deletions, allowMissingColumns=True)


def _item_key(key: ItemKey, by_column: dict[str, str]):
    if key.value is not None:
        return F.lit(key.value)
    column = F.col(by_column[key.column])
    return column.cast("string") if key.type == "S" else column


def _record_scans(plan: JobPlan, report: RunReport, items: DataFrame) -> None:
    """Files and bytes each current table's scan read for the items (after Iceberg's pruning)."""
    names = {table.name: table.table for (_, role), table in lake_tables(plan).items() if role == CURRENT}
    for table_name, totals in scanned(items).items():
        if table_name in names:
            report.table(names[table_name]).scanned = totals


def _write_items(
    spark: SparkSession, plan: JobPlan, arguments: ExtractArguments, clients: AwsClients, report: RunReport, items: DataFrame
) -> None:
    """Writes the items at the run's write budget: `writer_count` tasks, each spending an equal share of it.

    Spark turns every item into DynamoDB's JSON and sizes it (ingest/item_json.py) in the same pass
    that assembles it; the writer tasks only parse and send. Files and bytes each current table's
    scan read are recorded from the plan that ran.
    """
    oversize = plan.oversize
    budget = arguments.items_write_units_per_second
    settings = item_writer_settings(
        plan, arguments.items_table, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"), region=clients.dynamodb.meta.region_name
    )
    max_bytes = settings.max_item_bytes
    encoded = dynamodb_items(items, settings.keys, carried=[DELETE_MARKER]).persist(StorageLevel.MEMORY_AND_DISK)
    too_large = ~F.coalesce(F.col(DELETE_MARKER), F.lit(False)) & F.col(ITEM_PROBLEM).isNull() & (F.col(ITEM_BYTES) > max_bytes)
    try:
        touched, oversize_count = encoded.agg(F.count(F.lit(1)), F.count(F.when(too_large, True))).first()
        if oversize_count and oversize.policy == "fail":
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
        if totals["oversize"] and oversize.policy == "quarantine":
            location = f"s3://{arguments.quarantine_bucket}/{plan.pipeline}/oversize/ingest_extract_id={report.extract_id}/"
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


def item_writer_settings(plan: JobPlan, table_name: str, **tuning) -> WriterSettings:
    """Settings for writing the plan's items to `table_name`; `tuning` overrides the writer's defaults."""
    return WriterSettings(
        table_name=table_name,
        partition_key=plan.item.partition_key.attribute,
        sort_key=None if plan.item.sort_key is None else plan.item.sort_key.attribute,
        snapshot_attribute=plan.item.snapshot_attribute,
        max_item_bytes=plan.oversize.max_item_bytes,
        **tuning,
    )


@contextmanager
def _archive_quarantined_on_failure(plan: JobPlan, arguments: ExtractArguments, clients: AwsClients, report: RunReport) -> Iterator[None]:
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


def _quarantine_archive(
    plan: JobPlan, arguments: ExtractArguments, clients: AwsClients, report: RunReport, reason: str, detail: str
) -> None:
    """Quarantines the rejected archive with its reason and fails the run."""
    _keep_archive_in_quarantine(plan, arguments, clients, report, reason, detail)
    report.quarantine_location = _archive_quarantine_location(plan, arguments)
    raise RunFailure(f"archive-{reason}", detail)


def _archive_quarantine_prefix(plan: JobPlan, arguments: ExtractArguments) -> str:
    return f"{plan.pipeline}/archives/{arguments.extract_id}/"


def _archive_quarantine_location(plan: JobPlan, arguments: ExtractArguments) -> str:
    return f"s3://{arguments.quarantine_bucket}/{_archive_quarantine_prefix(plan, arguments)}"


def _keep_archive_in_quarantine(
    plan: JobPlan, arguments: ExtractArguments, clients: AwsClients, report: RunReport, reason: str, detail: str
) -> None:
    """Copies the archive to the quarantine bucket with `reason.json` and tags the landed object with the reason."""
    name = posixpath.basename(arguments.archive_key)
    prefix = _archive_quarantine_prefix(plan, arguments)
    source = {"Bucket": arguments.archive_bucket, "Key": arguments.archive_key}
    if arguments.archive_version is not None:
        source["VersionId"] = arguments.archive_version
    clients.s3.copy_object(Bucket=arguments.quarantine_bucket, Key=prefix + name, CopySource=source)
    clients.s3.put_object(
        Bucket=arguments.quarantine_bucket,
        Key=prefix + "reason.json",
        Body=json.dumps({"reason": reason, "detail": detail, "archive": report.archive}).encode("utf-8"),
    )
    tagging = {"TagSet": [{"Key": "ingest-status", "Value": "quarantined"}, {"Key": "ingest-reason", "Value": reason}]}
    tag_arguments = {"Bucket": arguments.archive_bucket, "Key": arguments.archive_key, "Tagging": tagging}
    if "VersionId" in source:
        tag_arguments["VersionId"] = source["VersionId"]
    clients.s3.put_object_tagging(**tag_arguments)


def _publish(plan: JobPlan, arguments: ExtractArguments, clients: AwsClients, report: RunReport, progress: Callable[[str], None]) -> None:
    """Notifies, then keeps the report saying whether the notification went out, then publishes the run's metrics.

    The report is written even when publishing fails, and says so: the run notifier, which hears of
    every run that did not succeed, then notifies in the job's place.
    """
    report.finish()
    try:
        clients.sns.publish(TopicArn=arguments.notification_topic_arn, Subject=report.subject(), Message=report.message())
        report.notified = True
    finally:
        body = json.dumps(report.to_dict(), indent=2, default=str).encode("utf-8")
        report_key = run_report_key(plan.pipeline, report.extract_id, report.job_run_id)
        clients.s3.put_object(Bucket=arguments.lake_bucket, Key=report_key, Body=body)
    put_metrics(clients.cloudwatch, run_end_metrics(report, stack=arguments.stack))
    progress(json.dumps({"level": "INFO" if report.status == "succeeded" else "ERROR", "message": "run finished", **report.to_dict()}))


def _extract_time(extract_version: int) -> str:
    seconds = extract_version // 1_000_000
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
