"""Entry point of the batch extract Glue job.

Glue runs this file with the job's arguments; the work itself lives in the `ingest` package,
which Glue receives through --extra-py-files; `ingest.glue_entry` reads the arguments and makes
the Spark session, on Glue or locally.
"""

from __future__ import annotations

import sys
import tempfile

import boto3

from ingest.arguments import EXTRACT_JOB_CONTRACT
from ingest.aws_clients import AwsClients
from ingest.glue_entry import job_arguments, spark_session
from ingest.job import run
from ingest.report import RunFailure


def main(argv: list[str]) -> int:
    arguments = job_arguments(argv, EXTRACT_JOB_CONTRACT)
    spark = spark_session("extract-job")
    clients = AwsClients(
        s3=boto3.client("s3"),
        glue=boto3.client("glue"),
        dynamodb=boto3.client("dynamodb"),
        sns=boto3.client("sns"),
        cloudwatch=boto3.client("cloudwatch"),
    )
    with tempfile.TemporaryDirectory(prefix="extract-") as work_dir:
        try:
            # `run` reads the arguments and the plan they name into their typed shapes (ExtractArguments, JobPlan) first.
            run(spark, arguments, clients, work_dir=work_dir)
        except RunFailure as failure:
            print(f"extract {arguments['extract_id']} failed: {failure}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
