"""Entry point of the lookup-table loader Glue job (one run at a time; on schedule, per new export, or by hand).

Glue runs this file with the job's arguments; the work itself lives in `ingest.lookup`, which Glue
receives through --extra-py-files; `ingest.glue_entry` reads the arguments and makes the Spark
session, on Glue or locally. The run id is Glue's job run id when there is one, so the report of a
run sits under the id its state-change event names.
"""

from __future__ import annotations

import sys

import boto3

from ingest.glue_entry import glue_run_id, job_arguments, spark_session
from ingest.lookup.driver import LOOKUP_JOB_CONTRACT, run
from ingest.lookup.settings import LookupClients
from ingest.report import RunFailure
from ingest.run_metrics import lookup_load_metrics, put_metrics


def main(argv: list[str]) -> int:
    arguments = job_arguments(argv, LOOKUP_JOB_CONTRACT)
    spark = spark_session("lookup-load-job")
    clients = LookupClients(s3=boto3.client("s3"), dynamodb=boto3.client("dynamodb"), sns=boto3.client("sns"))
    try:
        report = run(spark, arguments, clients, run_id=glue_run_id(argv))
    except RunFailure as failure:
        print(f"lookup load failed: {failure}", file=sys.stderr)
        return 1
    # The stack's dashboard shows the counts of each load; a failed load shows as its rule's match instead.
    put_metrics(boto3.client("cloudwatch"), lookup_load_metrics(report.to_dict(), stack=arguments["stack"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
