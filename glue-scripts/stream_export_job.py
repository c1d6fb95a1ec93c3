"""Entry point of the warehouse export Glue job (scheduled every 15 minutes, one run at a time).

Glue runs this file with the job's arguments; the work itself lives in `ingest.stream_export`,
which Glue receives through --extra-py-files. `awsglue` is used only here, and only when present,
so the same package runs on local Spark (where s3:// goes to the endpoint in AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import os
import sys

import boto3

from ingest.arguments import EXPORT_JOB_CONTRACT, load_contract, resolve_arguments
from ingest.report import RunFailure
from ingest.spark_settings import apply_job_settings, local_session
from ingest.stream_export import run


def job_arguments(argv: list[str]) -> dict[str, str]:
    contract = load_contract(EXPORT_JOB_CONTRACT)
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        return resolve_arguments(argv, contract.all)
    return getResolvedOptions(argv, list(contract.all))


def spark_session():
    try:
        from awsglue.context import GlueContext
        from pyspark.context import SparkContext
    except ImportError:
        return local_session(app_name="stream-export-job", s3_endpoint=os.environ.get("AWS_ENDPOINT_URL"))
    spark = GlueContext(SparkContext.getOrCreate()).spark_session
    apply_job_settings(spark)
    return spark


def main(argv: list[str]) -> int:
    arguments = job_arguments(argv)
    spark = spark_session()
    try:
        run(spark, arguments, boto3.client("s3"))
    except RunFailure as failure:
        print(f"stream export failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
