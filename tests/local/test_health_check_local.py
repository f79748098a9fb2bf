"""The synthetic check run against the real local stack: the same signer, jobs function (its IAM
routes), CDN headers and bucket."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from lambda_src.health_check import handler as check
from local.s3_emulator import LOCAL_CREDENTIALS, s3_client
from local.stack import LocalStack
from tests.infra.helpers import DEV_PAGE_ORIGIN


@pytest.fixture
def check_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    for name, value in {
        "SIGNER_URL": stack.signer_url,
        "CDN_BASE_URL": stack.base_url,
        "STACK": "local",
        "CHECK_ORIGIN": DEV_PAGE_ORIGIN,
        "AWS_REGION": "us-west-2",
        # The local gateway's IAM routes know the local credentials as the health check's role.
        "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    # boto3's default session caches the credentials it resolved first (another test's dummies).
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.delenv("TOKEN_SECRET_NAME", raising=False)
    return stack


def emf_record(output: str) -> dict[str, Any]:
    """The health check's EMF line (the jobs function prints its own, in this process too)."""
    (record,) = [json.loads(line) for line in output.splitlines() if '"LuxVideo/HealthCheck"' in line]
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "LuxVideo/HealthCheck" and directive["Dimensions"] == [["Stack"]]
    return record


def test_health_check_passes_against_the_local_stack_and_removes_its_probe(
    check_env: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    result = check.handler({}, None)
    record = emf_record(capsys.readouterr().out)
    assert result["success"] is True, record
    assert record["Success"] == 1 and record["CleanupSuccess"] == 1
    assert record["CompleteLatencyMs"] > 0 and record["DeleteLatencyMs"] > 0
    s3 = s3_client(check_env.emulator.endpoint_url)
    listed = s3.list_objects_v2(Bucket=check_env.config.bucket_name, Prefix=f"videos/{result['jobId']}/")
    assert listed.get("KeyCount", 0) == 0
    # Deleted through the jobs function, which skips the CDN invalidation for health-check jobs.
    assert not any(result["jobId"] in path for path in check_env.jobs.services.invalidations)


def test_health_check_reports_the_failed_step_when_the_signer_route_is_wrong(
    check_env: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGNER_URL", check_env.base_url + "/not-the-signer")
    result = check.handler({}, None)
    record = emf_record(capsys.readouterr().out)
    assert result["success"] is False and result["failedStep"] == "sign"
    assert record["Success"] == 0 and record["failedStep"] == "sign"


def _signed_post(url: str, body: bytes, access_key: str, secret: str) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(access_key, secret), "execute-api", "us-west-2").add_auth(request)
    return dict(request.headers.items())


def test_the_health_check_route_admits_only_its_signed_role_and_healthcheck_jobs(stack: LocalStack) -> None:
    """AWS_IAM as API Gateway does it: unsigned or mis-signed requests never reach the signer, and
    the reserved jobIds are refused on the public route."""
    import httpx

    url = stack.signer_url + "healthcheck"
    body = json.dumps(
        {"jobId": "healthcheck-local-1", "files": [{"path": "probe.m3u8", "size": 10}]}
    ).encode()
    key, secret = LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"]
    signed = httpx.post(url, content=body, headers=_signed_post(url, body, key, secret))
    assert signed.status_code == 200, signed.text
    assert signed.json()["uploads"][0]["key"] == "videos/healthcheck-local-1/probe.m3u8"
    unsigned = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 403 and unsigned.json() == {"message": "Forbidden"}
    forged = httpx.post(url, content=body, headers=_signed_post(url, body, key, "not-the-secret"))
    assert forged.status_code == 403
    tampered = httpx.post(
        url, content=body.replace(b"local-1", b"local-2"), headers=_signed_post(url, body, key, secret)
    )
    assert tampered.status_code == 403
    public = httpx.post(stack.signer_url, content=body, headers={"Content-Type": "application/json"})
    assert public.status_code == 403 and public.json()["error"]["code"] == "reserved_job_id"


def _signed(method: str, url: str, access_key: str, secret: str) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=b"")
    SigV4Auth(Credentials(access_key, secret), "execute-api", "us-west-2").add_auth(request)
    return dict(request.headers.items())


def test_the_health_check_job_routes_admit_only_the_signed_role_and_its_jobs(stack: LocalStack) -> None:
    import httpx

    key, secret = LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"]
    url = stack.signer_url + "healthcheck/jobs/healthcheck-never-signed"
    assert httpx.get(url).status_code == 403  # unsigned: API Gateway refuses before the function
    assert httpx.get(url, headers=_signed("GET", url, key, "not-the-secret")).status_code == 403
    signed = httpx.get(url, headers=_signed("GET", url, key, secret))
    assert signed.status_code == 404 and signed.json()["error"]["code"] == "not_found"
    other = stack.signer_url + "healthcheck/jobs/not-a-healthcheck-job"
    assert httpx.get(other, headers=_signed("GET", other, key, secret)).status_code == 404
