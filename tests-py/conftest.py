"""Shared fixtures: a moto server on 127.0.0.1, started once per session and always stopped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import boto3
import pytest

from local.moto_server import moto_server

REGION = "us-east-1"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def aws_environment(moto_endpoint: str) -> Iterator[str]:
    """Points every boto3 client at moto with fake credentials, for code that builds its own clients."""
    saved = {key: os.environ.get(key) for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
    )
    try:
        yield moto_endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def aws_client(moto_endpoint: str):
    """Builds boto3 clients bound to the moto server."""

    def build(service: str):
        return boto3.client(
            service,
            endpoint_url=moto_endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return build


@pytest.fixture(scope="session")
def spark(aws_environment: str):
    """One local Spark session for the whole run, configured like the job's, with s3:// served by moto.

    It starts after the credentials are in the environment: Python workers inherit the
    environment of the JVM, and the DynamoDB writer on the executors builds its clients from it.
    """
    from ingest.spark_settings import local_session

    session = local_session(app_name="ingest-tests", shuffle_partitions=4, s3_endpoint=aws_environment)
    yield session
    session.stop()


CUSTOMERS_MAPPING = "tests-py/fixtures/mappings/customers.yaml"


@pytest.fixture(scope="session")
def plan_of():
    """The job plan the TypeScript program builds from a mapping (a name under config/mappings, or a path), once per mapping."""
    plans: dict[str, dict] = {}

    def build(mapping: str) -> dict:
        if mapping not in plans:
            plans[mapping] = _print_plan(mapping)
        return json.loads(json.dumps(plans[mapping]))

    return build


@pytest.fixture(scope="session")
def customers_plan(plan_of) -> dict:
    """The job plan the TypeScript program builds from the tests' customers mapping (tests-py/fixtures/mappings/customers.yaml)."""
    return plan_of(CUSTOMERS_MAPPING)


def _print_plan(mapping: str) -> dict:
    npx = shutil.which("npx")
    if npx is None:
        # Failing, not skipping: a skipped contract test looks like a passing one in CI summaries.
        pytest.fail("npx is not on PATH; install Node 20 and run `npm ci` to run scripts/print-plan.ts", pytrace=False)
    result = subprocess.run(
        [npx, "tsx", "scripts/print-plan.ts", mapping],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/print-plan.ts exited with {result.returncode}:\n{result.stderr}", pytrace=False)
    return json.loads(result.stdout)
