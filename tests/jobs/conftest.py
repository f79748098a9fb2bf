"""Fixtures for the job lifecycle: moto's DynamoDB and S3 on loopback, the signer and the jobs
function sharing one environment, and recording stand-ins for CloudFront and EventBridge."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from lambda_src.sign_uploads import jobs, jobs_handler
from tests.signer.conftest import signer_env  # noqa: F401 - the deployed-like environment
from tests.signer.support import BUCKET, REGION

TABLE = "lux-video-test-jobs"
BUS = "lux-video-test-jobs"
DISTRIBUTION = "E2TESTDIST"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[union-attr]
    try:
        yield endpoint
    finally:
        # Every moto server in a process shares one state: leave none behind for the next module
        # (tests/signer/test_e2e_moto.py creates the same bucket name).
        urllib.request.urlopen(
            urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10
        )
        server.stop()


class RecordingServices(jobs_handler.AwsServices):
    """S3 for real (moto); the invalidations and events are recorded instead of sent."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.invalidations: list[str] = []
        self.published: list[dict[str, Any]] = []
        self.canceled: list[str] = []

    def invalidate(self, path: str, reference: str) -> str | None:
        self.invalidations.append(path)
        return f"I{len(self.invalidations)}"

    def publish(self, entries: list[dict[str, Any]]) -> None:
        self.published.extend(entries)

    def cancel_transcode(self, transcode_job_id: str) -> bool:
        self.canceled.append(transcode_job_id)
        return True


@pytest.fixture
def cloud(moto_endpoint: str, signer_env: pytest.MonkeyPatch) -> dict[str, Any]:  # noqa: F811
    """A fresh table and bucket; the environment of both functions pointed at them."""
    for name, value in {
        "S3_ENDPOINT_URL": moto_endpoint,
        "DYNAMODB_ENDPOINT_URL": moto_endpoint,
        "JOBS_TABLE": TABLE,
        "EVENT_BUS_NAME": BUS,
        "DISTRIBUTION_ID": DISTRIBUTION,
    }.items():
        signer_env.setenv(name, value)
    session = {
        "region_name": REGION,
        "endpoint_url": moto_endpoint,
        "aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"],
    }
    dynamodb = boto3.client("dynamodb", **session)
    if TABLE in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=TABLE)
    dynamodb.create_table(**jobs.table_definition(TABLE))
    s3 = boto3.client("s3", **session)
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    from lambda_src.sign_uploads.config import load_config

    services = RecordingServices(load_config(os.environ))
    return {"s3": s3, "dynamodb": dynamodb, "services": services}
