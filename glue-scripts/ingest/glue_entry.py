"""What a Glue entry script needs from Glue itself: its arguments, its run id and its Spark session.

`awsglue` is used only here, and only when present, so the same jobs run on local Spark (where
s3:// goes to the endpoint in AWS_ENDPOINT_URL) with arguments read the way Glue reads them.
"""

from __future__ import annotations

import os

from pyspark.sql import SparkSession

from ingest.arguments import given_optional, load_contract, resolve_arguments
from ingest.spark_settings import apply_job_settings, local_session


def job_arguments(argv: list[str], contract_name: str) -> dict[str, str]:
    """The arguments the named contract lists: every one required, except its optional run arguments, present when given."""
    contract = load_contract(contract_name)
    names = contract.all + given_optional(argv, contract.optional)
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        return resolve_arguments(argv, names)
    return getResolvedOptions(argv, list(names))


def glue_run_id(argv: list[str]) -> str | None:
    """The value of --JOB_RUN_ID, which Glue passes to every run (and a local run does not)."""
    for index, token in enumerate(argv):
        if token.startswith("--JOB_RUN_ID="):
            return token.split("=", 1)[1]
        if token == "--JOB_RUN_ID" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def spark_session(app_name: str) -> SparkSession:
    """Glue's session with the jobs' settings, or a local one when Glue is not there."""
    try:
        from awsglue.context import GlueContext
        from pyspark.context import SparkContext
    except ImportError:
        return local_session(app_name=app_name, s3_endpoint=os.environ.get("AWS_ENDPOINT_URL"))
    spark = GlueContext(SparkContext.getOrCreate()).spark_session
    apply_job_settings(spark)
    return spark
