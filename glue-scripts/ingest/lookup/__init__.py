"""The lookup-table loader: one export (a folder of parts) in S3 loaded into a DynamoDB lookup table, by a Glue Spark job.

It replaces AWS Data Pipeline's "Import DynamoDB backup data from S3". Where things are:

    plan        <lookup_uri>                                    the LookupPlan JSON the Pulumi program uploads
    export      s3://<export_bucket><export_prefix><folder>/    parts and a completion marker (lookup_export.py)
    checkpoint  <checkpoint_uri><lookup>/<URL-encoded folder>/<digest>.json               while the export is loaded
    rejected    <checkpoint_uri><lookup>/<URL-encoded folder>/<digest>/rejected/<range>.jsonl   one object per range
    report      s3://<report_bucket>/<report_prefix><lookup>/<run id>/report.json
    rejected    s3://<report_bucket>/<report_prefix><lookup>/<run id>/rejected.jsonl  {part, line, code, reason, text}

A run, on the driver:
1. Resolves the export: the folder of the newest completion marker (`latest`), or the folder asked
   for, and its parts (every object, or what its manifest lists; a folder without a marker is never
   loaded). The digest of the parts' keys, ETags and sizes names the export. It reads the checkpoint
   of that exact export. Without one, it splits each part into byte ranges of about `chunk_bytes`,
   each starting at a line start (found by reading a little past each boundary) — a gzip part, and
   an escaped redshift-text part, are one range each — and writes a checkpoint holding the ranges,
   each CSV part's header, the load time (for TTLs) and the load generation, so a resumed run uses
   the same ranges and writes the same items.
2. Key pass: one Spark task per range reads its range (a ranged GetObject with If-Match on the part's
   ETag, or the whole gzip part decompressed as it streams), validates every line and emits the
   keys; Spark reduces them and the driver collects only the keys that occur on more than one good
   line (with the position of the last such line) and, for a full refresh, the keys named only by
   rejected lines. Last line wins across the whole export this way (parts in order, then lines),
   although ranges are written in parallel and in no particular order.
3. Load pass: the ranges not completed yet, one Spark job each, `ranges_in_flight` at a time. A task
   validates its lines again, skips lines a later line supersedes, and writes the rest with
   BatchWriteItem from a bounded pool of threads (25 puts a request, never one key twice in a request),
   backing off with full jitter on throttling and on UnprocessedItems until a deadline; it writes its
   rejected lines to an object and returns only counts. When a range is fully written the driver
   records it in the checkpoint. A range that could not be fully written is not recorded: the run
   fails after the other ranges, and the next run of the same export loads only what is missing.
   A part whose line count differs from its manifest's item count (DynamoDB export) fails the run.
4. Full refresh: every item carries `load_generation` (derived from the folder and digest, so it is
   the same in a resumed run). Only after every range of every part is written, parallel scan
   segments (Spark tasks) delete the items of other generations, except keys whose lines were
   rejected (their last good value stays). So a key any part holds is never deleted: it is
   overwritten in place and never missing; a failed range or part means no deletion.
5. Assembles rejected.jsonl (line numbers are range-local until every earlier range of the part has
   its line count), writes the report, deletes the checkpoint. Report counts cover the whole export,
   also when some ranges were loaded by an earlier run; requests and retries are this run's.

Only the export whose load started last can be resumed: a run discards every other checkpoint of its
lookup before it writes, because its writes (and a full refresh's deletions) make them describe a table
that no longer is. That relies on one run at a time per lookup (the Glue job's maxConcurrentRuns is 1).

Nothing but counts, the rejected lines' objects and completed range ids crosses the executor
boundary, apart from the duplicated and rejected keys of the key pass (a small share of an export).
A rerun of a completed export puts the same items again (PutRequest), so the table ends the same.
CSV exports must keep each record on one physical line (no line breaks inside quoted cells).

The modules, in the order of a run: driver (the run, on the driver), checkpoint (the export's
ranges, planned once and recorded as they are written), ranges (byte ranges and the lines of one),
settings (tuning, what a task is sent, clients), tasks (the key and load passes, on the executors),
batch_writer (BatchWriteItem with backoff, ingest/retry.py), refresh (a full refresh's deletions),
report (counts, rejected.jsonl, the report and its notification). The export itself is resolved by
ingest/lookup_export.py, each line parsed by ingest/lookup_lines.py, the plan read by
ingest/lookup_plan.py.
"""
