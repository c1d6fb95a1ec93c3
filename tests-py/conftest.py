"""Shared fixtures: a moto server on 127.0.0.1, started once per session and always stopped."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest

REGION = "us-east-1"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on {endpoint}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


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
def spark(moto_endpoint: str):
    """One local Spark session for the whole run, configured like the job's, with s3:// served by moto."""
    from ingest.spark_settings import local_session

    session = local_session(app_name="ingest-tests", shuffle_partitions=4, s3_endpoint=moto_endpoint)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def customers_plan() -> dict:
    """The job plan the TypeScript program builds from config/mappings/customers.yaml (not a copy of it)."""
    npx = shutil.which("npx")
    if npx is None:
        # Failing, not skipping: a skipped contract test looks like a passing one in CI summaries.
        pytest.fail("npx is not on PATH; install Node 20 and run `npm ci` to run scripts/print-plan.ts", pytrace=False)
    result = subprocess.run(
        [npx, "tsx", "scripts/print-plan.ts", "customers"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/print-plan.ts exited with {result.returncode}:\n{result.stderr}", pytrace=False)
    return json.loads(result.stdout)
