"""Entry point of the warehouse export Glue job (scheduled every 15 minutes, one run at a time).

Glue runs this file with the job's arguments; the work itself lives in `ingest.stream_export`,
which Glue receives through --extra-py-files; `ingest.glue_entry` reads the arguments and makes
the Spark session, on Glue or locally.
"""

from __future__ import annotations

import sys

import boto3

from ingest.arguments import EXPORT_JOB_CONTRACT
from ingest.glue_entry import glue_run_id, job_arguments, spark_session
from ingest.report import RunFailure
from ingest.stream_export import run


def main(argv: list[str]) -> int:
    arguments = job_arguments(argv, EXPORT_JOB_CONTRACT)
    spark = spark_session("stream-export-job")
    try:
        run(spark, arguments, boto3.client("s3"), run_id=glue_run_id(argv))
    except RunFailure as failure:
        print(f"stream export failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
