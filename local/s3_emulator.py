"""The local S3 endpoint: moto's S3 (in-process, on no port) behind a front that enforces what S3 does.

The bucket's CORS rules and lifecycle come from ``infra/policies/``, the same functions the
Pulumi program declares them with; only the key spelling differs (the engine's camelCase vs the
S3 API's PascalCase), which :func:`to_s3_api` translates. The front (``local.s3_front``) verifies
every request's signature and answers CORS by those rules; the bucket is configured through it,
with the local credentials, like any other client.
"""

from __future__ import annotations

import contextlib
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from infra import policies
from local.s3_front import S3Front, moto_s3_app
from local.servers import LOOPBACK, BackgroundServer, server

LOCAL_REGION = "us-west-2"
# The only credentials the local S3 endpoint accepts; obviously fake, they never leave the machine.
LOCAL_CREDENTIALS = {
    "aws_access_key_id": "LOCALDEVACCESSKEY",
    "aws_secret_access_key": "local-dev-secret-key",
}


def to_s3_api(value: Any) -> Any:
    """camelCase engine keys -> the S3 API's PascalCase (``id`` -> ``ID``)."""
    if isinstance(value, dict):
        return {
            ("ID" if key == "id" else key[:1].upper() + key[1:]): to_s3_api(v) for key, v in value.items()
        }
    if isinstance(value, list):
        return [to_s3_api(v) for v in value]
    return value


def s3_client(endpoint_url: str, **credentials: str) -> Any:
    """A boto3 client for the local endpoint, signing with the local credentials (or those given).

    Checksums only where S3 requires them: the front does not verify signed aws-chunked bodies.
    """
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        config=BotoConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 2},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
        **(credentials or LOCAL_CREDENTIALS),
    )


class S3Emulator:
    """The verifying S3 endpoint on ``host:port``, with the media bucket created and configured."""

    def __init__(
        self, host: str, port: int, bucket: str, prefix: str, expiration_days: int, origins: tuple[str, ...]
    ):
        self.host, self.port, self.bucket = host, port, bucket
        self._prefix, self._expiration_days, self._origins = prefix, expiration_days, origins
        self.front = S3Front(
            moto_s3_app(),
            {LOCAL_CREDENTIALS["aws_access_key_id"]: LOCAL_CREDENTIALS["aws_secret_access_key"]},
            LOCAL_REGION,
            policies.bucket_cors_rules(origins),
        )
        self._server: BackgroundServer | None = None

    @property
    def endpoint_url(self) -> str:
        """How processes on this machine reach the endpoint."""
        host = LOOPBACK if self.host in ("0.0.0.0", "") else self.host  # noqa: S104 - compared, not bound
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._server = BackgroundServer(server(self.front, self.host, self.port, lifespan="off"), "local-s3")
        self._server.start()
        try:
            self.configure_bucket()
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def configure_bucket(self) -> None:
        s3 = s3_client(self.endpoint_url)
        # moto's state is per process: a second stack in one process (tests) finds the bucket.
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(
                Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": LOCAL_REGION}
            )
        s3.put_public_access_block(
            Bucket=self.bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_cors(
            Bucket=self.bucket,
            CORSConfiguration={"CORSRules": to_s3_api(policies.bucket_cors_rules(self._origins))},
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=self.bucket,
            LifecycleConfiguration={
                "Rules": to_s3_api(policies.bucket_lifecycle_rules(self._prefix, self._expiration_days))
            },
        )
