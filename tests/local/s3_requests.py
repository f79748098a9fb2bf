"""Requests signed by botocore (never by the project's signer): the independent side of the
local S3 endpoint's tests."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.s3_emulator import LOCAL_CREDENTIALS, LOCAL_REGION, s3_client

ACCESS_KEY = LOCAL_CREDENTIALS["aws_access_key_id"]
SECRET_KEY = LOCAL_CREDENTIALS["aws_secret_access_key"]


@contextmanager
def clock_at(when: datetime.datetime) -> Iterator[None]:
    """botocore signs as if it were ``when``."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        yield


def presigned_put(
    endpoint: str,
    bucket: str,
    key: str,
    *,
    content_type: str,
    length: int,
    cache_control: str,
    expires: int = 300,
) -> str:
    """What S3 expects from the signer: type, length and Cache-Control signed."""
    return str(
        s3_client(endpoint).generate_presigned_url(
            "put_object",
            Params={
                "Bucket": bucket,
                "Key": key,
                "ContentType": content_type,
                "ContentLength": length,
                "CacheControl": cache_control,
            },
            ExpiresIn=expires,
        )
    )


def header_signed(
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
    payload_hash: str | None = None,
) -> dict[str, str]:
    """The headers of a header-signed (``Authorization``) request, as botocore computes them."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    declared = payload_hash or hashlib.sha256(body).hexdigest()
    _DeclaredPayload(Credentials(access_key, secret_key), "s3", LOCAL_REGION, declared).add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == declared
    return dict(request.headers.items())


class _DeclaredPayload(S3SigV4Auth):
    """botocore's S3 SigV4 signer, with the payload hash the test declares (botocore would
    otherwise hash the body itself, or choose UNSIGNED-PAYLOAD)."""

    def __init__(self, credentials: Credentials, service: str, region: str, declared: str) -> None:
        super().__init__(credentials, service, region)
        self._declared = declared

    def payload(self, request: AWSRequest) -> str:
        return self._declared
