"""A run of the lookup loader on the driver: checks, plans or resumes the checkpoint, runs the passes, reports.

The steps are those of the package's docstring (ingest/lookup/__init__.py); the Glue entry script,
glue-scripts/lookup_load_job.py, calls `run`.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from ingest.locations import load_json, split_s3_uri
from ingest.lookup.checkpoint import (
    RANGE_COUNTS,
    Checkpoint,
    checkpoint_location,
    delete_checkpoints,
    lookup_prefix,
    new_checkpoint,
    plan_fingerprint,
    read_checkpoint,
    write_checkpoint,
)
from ingest.lookup.ranges import ByteRange
from ingest.lookup.refresh import delete_partition
from ingest.lookup.report import LookupReport, add_totals, iso_timestamp, publish, write_rejected
from ingest.lookup.settings import ClientFactory, LoaderTuning, LookupClients, TaskSettings, default_dynamodb_client
from ingest.lookup.tasks import key_partition, load_partition, merge_key_stats
from ingest.lookup_export import ExportFolder, resolve_export
from ingest.lookup_lines import short
from ingest.lookup_plan import GENERATION_ATTRIBUTE, LookupPlan, LookupPlanError, parse_lookup_plan
from ingest.report import RunFailure, reported_run

LOOKUP_JOB_CONTRACT = "lookup_job_arguments"

_DEFAULT_TUNING = LoaderTuning()  # frozen: one instance serves every run


def run(
    spark: SparkSession,
    arguments: Mapping[str, str],
    clients: LookupClients,
    *,
    tuning: LoaderTuning = _DEFAULT_TUNING,
    client_factory: ClientFactory = default_dynamodb_client,
    run_id: str | None = None,
    now: Callable[[], float] = time.time,
    on_range_recorded: Callable[[int, int], None] | None = None,
    progress: Callable[[str], None] = print,
) -> LookupReport:
    """Loads one export; writes and prints the report, then returns it or raises RunFailure.

    `client_factory` builds the DynamoDB client of each task (tests inject throttling through it);
    `on_range_recorded(range index, ranges recorded so far)` is called on the driver after each
    checkpoint write; `now` gives the load time of a new checkpoint (the TTL base).
    """
    started = time.monotonic()
    start_time = datetime.fromtimestamp(now(), UTC)
    report = LookupReport(run_id=run_id or start_time.strftime("%Y%m%dT%H%M%S%fZ"), started_at=iso_timestamp(start_time))

    def finish_and_publish() -> None:
        report.seconds = round(time.monotonic() - started, 3)
        report.finished_at = iso_timestamp(datetime.fromtimestamp(now(), UTC))
        publish(clients, arguments, report, progress)

    with reported_run(report, finish_and_publish):
        _load(spark, arguments, clients, report, tuning, client_factory, now, on_range_recorded, progress)
        report.status = "succeeded"
    return report


def _load(spark, arguments, clients: LookupClients, report: LookupReport, tuning, client_factory, now, on_range_recorded, progress) -> None:
    _check_arguments(arguments)
    s3 = clients.s3
    try:
        plan_document = load_json(s3, arguments["lookup_uri"])
        plan = parse_lookup_plan(plan_document)
    except (LookupPlanError, json.JSONDecodeError, ClientError, OSError) as error:
        raise RunFailure("invalid-lookup-plan", f"{arguments['lookup_uri']}: {error}") from error
    report.lookup, report.table = plan.lookup, arguments["table_name"]
    _check_table(clients.dynamodb, arguments["table_name"], plan)
    bucket = arguments["export_bucket"]
    export = resolve_export(s3, bucket, arguments["export_prefix"], arguments["export"], plan.markers, plan.format)
    report.export = export
    if export.unlisted:
        progress(
            json.dumps({"level": "WARN", "message": "objects the manifest does not list are not loaded", "objects": list(export.unlisted)})
        )

    checkpoint_bucket, checkpoint_key = checkpoint_location(arguments["checkpoint_uri"], plan.lookup, export.folder, export.digest)
    fingerprint = plan_fingerprint(plan_document, arguments["table_name"])
    checkpoint = read_checkpoint(s3, checkpoint_bucket, checkpoint_key, progress)
    if checkpoint is not None and checkpoint.fingerprint != fingerprint:
        progress(
            json.dumps(
                {"level": "WARN", "message": "checkpoint made under another plan or table; loading afresh", "checkpoint": checkpoint_key}
            )
        )
        checkpoint = None
    # This run writes to the table, so no other checkpoint of the lookup describes the table any more.
    delete_checkpoints(s3, checkpoint_bucket, lookup_prefix(checkpoint_key), keep=checkpoint_key)
    if checkpoint is None:
        checkpoint = new_checkpoint(s3, bucket, export, plan, fingerprint, tuning, int(now()))
        write_checkpoint(s3, checkpoint_bucket, checkpoint_key, checkpoint)
    report.load_generation = checkpoint.generation
    report.ranges_total = len(checkpoint.ranges)
    report.ranges_skipped = len(checkpoint.completed)
    settings = _task_settings(plan, arguments, clients, export, checkpoint, checkpoint_bucket, checkpoint_key, tuning)
    progress(
        json.dumps(
            {
                "level": "INFO",
                "message": "lookup load started",
                "lookup": plan.lookup,
                "export": f"s3://{bucket}/{export.folder}",
                "parts": len(export.parts),
                "bytes": sum(part.size for part in export.parts),
                "ranges": report.ranges_total,
                "alreadyLoaded": report.ranges_skipped,
            }
        )
    )

    sc = spark.sparkContext
    parallelism = max(1, sc.defaultParallelism)
    pending = [byte_range for byte_range in checkpoint.ranges if byte_range.index not in checkpoint.completed]
    winners: dict = {}
    kept: frozenset = frozenset()
    if pending or plan.full_refresh:
        winners, kept = _key_pass(sc, checkpoint.ranges, settings, parallelism)
        progress(json.dumps({"level": "INFO", "message": "keys counted", "duplicatedKeys": len(winners), "keysOnlyRejected": len(kept)}))
    if pending:
        recorder = _RangeRecorder(s3, checkpoint_bucket, checkpoint_key, checkpoint, report, on_range_recorded, progress)
        _load_pass(sc, pending, settings, winners, client_factory, tuning.ranges_in_flight or parallelism, recorder)
    add_totals(report, checkpoint)
    if report.range_failures:
        if plan.full_refresh:
            report.deletion = {"status": "skipped", "reason": "not every range was loaded"}
        listed = "; ".join(f"range {index}: {error}" for index, error in sorted(report.range_failures.items()))
        raise RunFailure(
            "ranges-failed",
            f"{len(report.range_failures)} of {report.ranges_total} range(s) were not fully loaded; "
            f"a run of the same export loads only the ranges not loaded yet: {listed}",
        )
    _check_part_counts(export, checkpoint)
    if report.rejected:
        report.rejected_location = write_rejected(s3, arguments, plan.lookup, report.run_id, checkpoint, settings)
    if plan.full_refresh:
        _delete_stale(sc, settings, kept, client_factory, tuning.scan_segments or parallelism, report)
    delete_checkpoints(s3, checkpoint_bucket, lookup_prefix(checkpoint_key))


def _check_arguments(arguments: Mapping[str, str]) -> None:
    problems = [
        f"--{name} must end in / (got {arguments[name]!r})"
        for name in ("export_prefix", "report_prefix")
        if not arguments[name].endswith("/")
    ]
    try:
        split_s3_uri(arguments["checkpoint_uri"])
        if not arguments["checkpoint_uri"].endswith("/"):
            problems.append(f"--checkpoint_uri must end in / (got {arguments['checkpoint_uri']!r})")
    except ValueError as error:
        problems.append(f"--checkpoint_uri: {error}")
    if not arguments["export"]:
        problems.append("--export must be latest, an export folder ending in /, or the key of its completion marker")
    if problems:
        raise RunFailure("invalid-arguments", "; ".join(problems))


def _check_table(dynamodb, table_name: str, plan: LookupPlan) -> None:
    """The table's key schema must be the plan's key: otherwise every write would be refused."""
    try:
        table = dynamodb.describe_table(TableName=table_name)["Table"]
    except ClientError as error:
        raise RunFailure("table-not-found", f"cannot describe table {table_name}: {error}") from error
    types = {definition["AttributeName"]: definition["AttributeType"] for definition in table["AttributeDefinitions"]}
    actual = [
        (entry["AttributeName"], types.get(entry["AttributeName"]))
        for entry in sorted(table["KeySchema"], key=lambda entry: entry["KeyType"])
    ]
    expected = [(key.name, key.descriptor) for key in plan.keys]
    if actual != expected:
        shown = ", ".join
        raise RunFailure(
            "table-key-mismatch",
            f"table {table_name} has the key {shown(f'{name} ({kind})' for name, kind in actual)}; "
            f"the plan has {shown(f'{name} ({kind})' for name, kind in expected)}",
        )


def _task_settings(
    plan, arguments, clients: LookupClients, export: ExportFolder, checkpoint: Checkpoint, checkpoint_bucket, checkpoint_key, tuning
) -> TaskSettings:
    stamp: dict[str, dict] = {}
    if plan.ttl_attribute is not None:
        stamp[plan.ttl_attribute] = {"N": str(checkpoint.loaded_at + plan.ttl_days * 86_400)}
    if plan.full_refresh:
        stamp[GENERATION_ATTRIBUTE] = {"S": checkpoint.generation}
    return TaskSettings(
        plan=plan,
        table_name=arguments["table_name"],
        export_bucket=arguments["export_bucket"],
        parts=export.parts,
        headers=checkpoint.headers,
        stamp=stamp,
        generation=checkpoint.generation,
        parts_bucket=checkpoint_bucket,
        parts_prefix=checkpoint_key.removesuffix(".json") + "/rejected/",
        s3_endpoint=clients.s3.meta.endpoint_url,
        dynamodb_endpoint=clients.dynamodb.meta.endpoint_url,
        region=clients.dynamodb.meta.region_name,
        tuning=tuning,
    )


def _key_pass(sc, ranges: Sequence[ByteRange], settings: TaskSettings, parallelism: int) -> tuple[dict, frozenset]:
    """(key -> position of its last good line, for keys on more than one good line; keys only rejected lines name)."""
    if not ranges:
        return {}, frozenset()
    keys = sc.parallelize(list(ranges), len(ranges)).mapPartitions(functools.partial(key_partition, settings=settings))
    try:
        stats = (
            keys.reduceByKey(merge_key_stats, numPartitions=parallelism)
            .filter(lambda pair: pair[1][0] > 1 or (pair[1][0] == 0 and pair[1][2]))
            .collect()
        )
    except Py4JJavaError as error:
        raise RunFailure("export-unreadable", f"the key pass failed: {_task_error(error)}") from error
    winners = {key: position for key, (good, position, _) in stats if good > 1}
    return winners, frozenset(key for key, (good, _, _) in stats if good == 0)


class _RangeRecorder:
    """Records completed ranges in the checkpoint (one writer, the driver) and failed ones in the report."""

    def __init__(self, s3, bucket: str, key: str, checkpoint: Checkpoint, report: LookupReport, hook, progress) -> None:
        self._s3, self._bucket, self._key = s3, bucket, key
        self._checkpoint = checkpoint
        self._report = report
        self._hook = hook
        self._progress = progress
        self._lock = threading.Lock()

    def failed(self, index: int, error: str) -> None:
        with self._lock:
            self._report.range_failures[index] = error
        self._progress(json.dumps({"level": "ERROR", "message": "range not loaded", "range": index, "error": error}))

    def completed(self, outcome: Mapping) -> None:
        index = outcome["range"]
        with self._lock:
            self._report.add_work(outcome)
        if outcome["error"] or outcome["failed"]:
            self.failed(index, outcome["error"] or f"{outcome['failed']} item(s) not written: {'; '.join(outcome['failures'])}")
            return
        if outcome["lines"] != outcome["loaded"] + outcome["rejected"] + outcome["duplicates"]:
            self.failed(
                index,
                f"count mismatch: {outcome['lines']} lines but {outcome['loaded']} loaded + "
                f"{outcome['rejected']} rejected + {outcome['duplicates']} duplicates",
            )
            return
        with self._lock:
            self._checkpoint.completed[index] = {name: outcome[name] for name in RANGE_COUNTS}
            write_checkpoint(self._s3, self._bucket, self._key, self._checkpoint)
            self._report.ranges_loaded += 1
            recorded = len(self._checkpoint.completed)
        self._progress(
            json.dumps({"level": "INFO", "message": "range loaded", **{name: outcome[name] for name in ("range", *RANGE_COUNTS)}})
        )
        if self._hook is not None:
            self._hook(index, recorded)


def _load_pass(sc, pending: Sequence[ByteRange], settings, winners, client_factory, in_flight: int, recorder: _RangeRecorder) -> None:
    """One Spark job per range, `in_flight` at a time, so each range is recorded as soon as it is written.

    An error on the driver (a checkpoint that cannot be written) stops the pass: nothing more is
    started or recorded, and the error is raised once the jobs running finish.
    """
    winners_broadcast = sc.broadcast(winners)
    loads = sc.parallelize(list(pending), len(pending)).mapPartitions(
        functools.partial(load_partition, settings=settings, winners=winners_broadcast, client_factory=client_factory)
    )
    stopped = threading.Event()

    def load(partition: int) -> None:
        if stopped.is_set():
            return
        try:
            [outcome] = sc.runJob(loads, lambda outcomes: outcomes, [partition])
        except Py4JJavaError as error:
            recorder.failed(pending[partition].index, _task_error(error))
            return
        if stopped.is_set():
            return  # written, not recorded: the next run writes the range again, to the same items
        try:
            recorder.completed(outcome)
        except BaseException:
            stopped.set()
            raise

    try:
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            for future in as_completed([pool.submit(load, partition) for partition in range(len(pending))]):
                future.result()
    finally:
        stopped.set()
        winners_broadcast.destroy()


def _task_error(error: Exception) -> str:
    """The Python exception a Spark task died of, from the Java error that carries its traceback."""
    text = str(error)
    python_errors = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)\b:? ?[^\n]*)$", text, re.MULTILINE)
    return short(python_errors[-1] if python_errors else text.strip().splitlines()[0], 500)


def _check_part_counts(export: ExportFolder, checkpoint: Checkpoint) -> None:
    """A DynamoDB export's manifest gives each part's item count: a part that read fewer or more lines is not the part exported."""
    lines = [0] * len(export.parts)
    for byte_range in checkpoint.ranges:
        lines[byte_range.part] += checkpoint.completed[byte_range.index]["lines"]
    wrong = [
        f"{part.key} has {count} line(s); the manifest lists {part.lines} item(s)"
        for part, count in zip(export.parts, lines, strict=True)
        if part.lines is not None and part.lines != count
    ]
    if wrong:
        raise RunFailure(
            "part-incomplete", f"{len(wrong)} part(s) do not hold what the manifest lists, so nothing is deleted: {'; '.join(wrong)}"
        )


def _delete_stale(sc, settings: TaskSettings, kept: frozenset, client_factory, segments: int, report: LookupReport) -> None:
    if report.loaded == 0:
        report.deletion = {"status": "skipped", "reason": "the export loaded no items; a full refresh would empty the table"}
        return
    kept_broadcast = sc.broadcast(kept)
    try:
        outcomes = (
            sc.parallelize(range(segments), segments)
            .mapPartitions(
                functools.partial(
                    delete_partition, settings=settings, total_segments=segments, kept=kept_broadcast, client_factory=client_factory
                )
            )
            .collect()
        )
    except Py4JJavaError as error:
        raise RunFailure("stale-deletion-failed", f"a scan segment failed: {_task_error(error)}") from error
    finally:
        kept_broadcast.destroy()
    for outcome in outcomes:
        report.add_work(outcome)
        report.deleted += outcome["deleted"]
    failed = sum(outcome["failed"] for outcome in outcomes)
    kept_count = sum(outcome["kept"] for outcome in outcomes)
    if failed:
        report.deletion = {"status": "incomplete", "segments": segments, "keptRejectedKeys": kept_count, "notDeleted": failed}
        failures = "; ".join(failure for outcome in outcomes for failure in outcome["failures"])
        raise RunFailure(
            "stale-deletion-failed", f"{failed} stale item(s) or scan page(s) not deleted; the next run deletes them: {failures}"
        )
    report.deletion = {"status": "done", "segments": segments, "keptRejectedKeys": kept_count}
