"""End to end on loopback: sign through the handler, PUT real bytes over HTTP, read them back.

moto's server stands in for S3 (``S3_ENDPOINT_URL``, path-style, as in the local stack) and for
Secrets Manager (``SECRETS_ENDPOINT_URL``: the subject key is read from it, for real). It accepts
any signature, so this proves the URLs, headers and keys work as a client uses them;
``test_signature.py`` and ``test_sigv4_headers.py`` prove the signatures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from lambda_src.sign_uploads import keys

from .support import BUCKET, call, make_event

SUBJECT_KEY = "e2e-subject-key-" + "5" * 48


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[union-attr]
    finally:
        server.stop()


@pytest.fixture
def s3(moto_endpoint: str, signer_env: pytest.MonkeyPatch) -> Any:
    signer_env.setenv("S3_ENDPOINT_URL", moto_endpoint)
    signer_env.setenv("SECRETS_ENDPOINT_URL", moto_endpoint)
    signer_env.setenv("AWS_REGION", "us-east-1")
    signer_env.setenv("SUBJECT_KEY_SECRET_ID", "lux/e2e/subject-key")
    secrets = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_endpoint)
    secrets.create_secret(Name="lux/e2e/subject-key", SecretString=SUBJECT_KEY)
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=moto_endpoint,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )
    # moto's state is per process, shared by every server in it: tests/jobs may have made it already.
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return client


def test_uploads_land_at_the_returned_keys_with_the_signed_metadata(s3: Any) -> None:
    payloads = {
        "master.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n720p/index.m3u8\n",
        "720p/index.m3u8": b"#EXTM3U\n#EXTINF:4.0,\nseg_000.ts\n#EXT-X-ENDLIST\n",
        "720p/seg_000.ts": bytes(range(256)) * 64,
        "thumb.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 500,
    }
    body = {"files": [{"path": p, "size": len(b)} for p, b in payloads.items()]}
    reply = call(make_event(body, claims={"sub": "user-42"}))
    assert reply.status == 200, reply.json

    with httpx.Client(timeout=10) as http:
        for upload in reply.json["uploads"]:
            put = http.put(upload["url"], content=payloads[upload["path"]], headers=upload["headers"])
            assert put.status_code == 200, put.text

    for upload in reply.json["uploads"]:
        stored = s3.get_object(Bucket=BUCKET, Key=upload["key"])
        assert stored["Body"].read() == payloads[upload["path"]]
        assert stored["ContentType"] == upload["headers"]["Content-Type"]
        assert stored["CacheControl"] == upload["headers"]["Cache-Control"]
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=reply.json["prefix"])
    assert listed["KeyCount"] == len(payloads)
    folder = keys.subject_hash(SUBJECT_KEY.encode(), "user-42")
    assert reply.json["prefix"] == f"videos/sub.{folder}/{reply.json['jobId']}/"

    # The same job signed again: the playlists are rewritten, the segment is create-only (412).
    again = call(make_event({"jobId": reply.json["jobId"], **body}, claims={"sub": "user-42"}))
    with httpx.Client(timeout=10) as http:
        statuses = {
            u["path"]: http.put(u["url"], content=payloads[u["path"]], headers=u["headers"]).status_code
            for u in again.json["uploads"]
        }
    assert statuses == {"master.m3u8": 200, "720p/index.m3u8": 200, "720p/seg_000.ts": 412, "thumb.jpg": 412}
