"""Entry point of a pipeline's lake maintenance Glue job (scheduled daily).

Glue runs this file with the job's arguments; the work lives in `ingest.maintenance`, which Glue
receives through --extra-py-files.
"""

from __future__ import annotations

import sys

import boto3

from ingest.arguments import MAINTENANCE_JOB_CONTRACT
from ingest.glue_entry import job_arguments, spark_session
from ingest.job_plan import load_job_plan
from ingest.lake_ledger import LakeLedger
from ingest.maintenance import publish_report, run_maintenance
from ingest.report import RunFailure


def main(argv: list[str]) -> int:
    arguments = job_arguments(argv, MAINTENANCE_JOB_CONTRACT)
    spark = spark_session("lake-maintenance-job")
    s3, sns = boto3.client("s3"), boto3.client("sns")
    # A plan the job cannot use raises JobPlanError here, naming the plan and every problem, and fails the run.
    plan = load_job_plan(s3, arguments["plan_uri"])
    try:
        run_maintenance(
            spark,
            plan,
            arguments,
            ledger=LakeLedger(boto3.client("dynamodb"), arguments["run_ledger_table"]),
            publish=lambda report: publish_report(s3, sns, arguments, report),
        )
    except RunFailure as failure:
        print(f"lake maintenance of {plan.pipeline} failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
