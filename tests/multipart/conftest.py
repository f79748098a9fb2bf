"""The multipart routes in-process, against the verifying local S3 (``local.s3_emulator``: every
S3 call and every signed URL is signature-checked; uploadId/key pairs are checked as S3 does) and,
for the job record, moto's DynamoDB on loopback.

The servers are module-scoped: other test modules of the same worker reset moto's process-wide
state when they finish (tests/jobs), so each module starts its own endpoint, bucket and table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from moto.server import ThreadedMotoServer

from lambda_src.sign_uploads import config as signer_config
from lambda_src.sign_uploads import handler, jobs, multipart_core, subject_key
from local.s3_emulator import LOCAL_CREDENTIALS, LOCAL_REGION, S3Emulator, s3_client
from local.servers import free_port
from tests.signer.support import SUBJECT_KEY_CACHE_ENTRY, SUBJECT_KEY_SECRET_ID

BUCKET = "lux-video-multipart-test"
PREFIX = "videos/"
TABLE = "lux-video-multipart-jobs"
MIB = 1024**2
ORIGIN = "http://localhost:5173"


@pytest.fixture(scope="module")
def emulator() -> Iterator[S3Emulator]:
    running = S3Emulator("127.0.0.1", free_port(), BUCKET, PREFIX, 30, (ORIGIN,))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def dynamodb_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[union-attr]
    finally:
        server.stop()


@pytest.fixture
def s3(emulator: S3Emulator) -> Any:
    return s3_client(emulator.endpoint_url)


def environment(
    emulator: S3Emulator, *, auth: bool, table_endpoint: str | None, **extra: Any
) -> dict[str, str]:
    env = {
        **signer_config.environment(
            bucket=BUCKET,
            prefix=PREFIX,
            public_base_url="http://127.0.0.1:8700",
            url_ttl_seconds=900,
            max_files=100,
            max_file_bytes=extra.pop("max_file_bytes", 5 * 1024**3),
            auth_required=auth,
            subject_key_secret_id=SUBJECT_KEY_SECRET_ID if auth else None,
            jobs_table=TABLE if table_endpoint else None,
            max_multipart_file_bytes=extra.pop("max_multipart_file_bytes", 64 * 1024**3),
        ),
        **signer_config.runtime_environment(
            region=LOCAL_REGION,
            credentials=signer_config.Credentials(
                LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"], None
            ),
            endpoint_url=emulator.endpoint_url,
            dynamodb_endpoint_url=table_endpoint,
        ),
    }
    return env


class Api:
    """Calls the signer handler as API Gateway would for ``method path?query`` with a JSON body."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.environ = environ
        self.dynamodb: Any = None  # a boto3 DynamoDB client, where the job record is used

    def __call__(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: Any = None,
        sub: str | None = None,
    ) -> tuple[int, Any]:
        context: dict[str, Any] = {"accountId": "123456789012", "http": {"method": method, "path": path}}
        if sub is not None:
            context["authorizer"] = {"jwt": {"claims": {"sub": sub}, "scopes": None}}
        event = {
            "version": "2.0",
            "routeKey": f"{method} {path}",
            "rawPath": path,
            "rawQueryString": urlencode(query or {}),
            "headers": {"content-type": "application/json"},
            "requestContext": context,
            "body": None if body is None else json.dumps(body),
            "isBase64Encoded": False,
        }
        reply = handler.handler(event, None, self.environ)
        return reply["statusCode"], json.loads(reply["body"])


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subject_key, "_CACHE", dict([SUBJECT_KEY_CACHE_ENTRY]))
    monkeypatch.setattr(multipart_core, "_VERIFIED", {})


@pytest.fixture
def api(emulator: S3Emulator) -> Api:
    """Anonymous (AUTH_REQUIRED=false), no jobs table: the local stack's configuration."""
    return Api(environment(emulator, auth=False, table_endpoint=None))


@pytest.fixture
def jwt_api(emulator: S3Emulator) -> Api:
    return Api(environment(emulator, auth=True, table_endpoint=None))


@pytest.fixture
def table_api(emulator: S3Emulator, dynamodb_endpoint: str) -> Api:
    """With the job record (moto's DynamoDB): the deployed configuration."""
    client = boto3.client(
        "dynamodb", region_name=LOCAL_REGION, endpoint_url=dynamodb_endpoint,
        aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
    )  # fmt: skip
    if TABLE not in client.list_tables()["TableNames"]:
        client.create_table(**jobs.table_definition(TABLE))
    api = Api(environment(emulator, auth=False, table_endpoint=dynamodb_endpoint))
    api.dynamodb = client
    return api


def put(url: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A PUT as a browser sends a Blob slice to a pre-signed URL: no Content-Type unless given."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        connection.request("PUT", f"{parts.path}?{parts.query}", body=data, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        connection.close()


Caller = Callable[..., tuple[int, Any]]
