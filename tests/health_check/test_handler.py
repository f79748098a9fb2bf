"""The synthetic check against moto (S3 on loopback) and a fake signer, job API and CDN: success,
each failing step and exceptions nobody foresaw, asserting the EMF line it prints. The fake API
checks every request's SigV4 signature (service execute-api) the way API Gateway's AWS_IAM
authorizer does."""

from __future__ import annotations

import datetime
import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from moto.server import ThreadedMotoServer

from lambda_src.health_check import handler as check

BUCKET = "lux-health-bucket"
REGION = "us-west-2"
# The health check's role as the authorizer knows it (tests/conftest.py's dummy credentials).
FUNCTION_CREDENTIALS = Credentials(
    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_SESSION_TOKEN"]
)


def iam_signature_valid(url: str, headers: dict[str, str], body: bytes, method: str = "POST") -> bool:
    """Re-sign the received request with the test's credentials at its own X-Amz-Date (what the
    AWS_IAM authorizer does) and compare: a different URL, body, service, region, key or a missing
    session token fails."""
    amz_date = headers.get("X-Amz-Date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return False
    signed = {"Content-Type": "application/json"} if method == "POST" else {}
    expected = AWSRequest(method=method, url=url, data=body, headers=signed)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(FUNCTION_CREDENTIALS, "execute-api", REGION).add_auth(expected)
    return (
        headers.get("Authorization") == expected.headers["Authorization"]
        and headers.get("X-Amz-Security-Token") == FUNCTION_CREDENTIALS.token
    )


class FakeStack:
    """The signer's health-check routes (POST /sign/healthcheck, GET|DELETE
    /sign/healthcheck/jobs/<jobId>, IAM-verified) and the CDN (GET /cdn/<key>) in front of moto's
    S3, with switches to break each step the way production breaks."""

    def __init__(self, moto_url: str) -> None:
        self.moto_url = moto_url
        self.s3 = boto3.client(
            "s3", endpoint_url=moto_url, region_name=REGION, config=Config(signature_version="s3v4")
        )
        self.reset()
        stack = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(raw)
                headers = dict(self.headers.items())
                verified = iam_signature_valid(f"{stack.url}{self.path}", headers, raw)
                stack.sign_requests.append(
                    {"body": request, "path": self.path, "headers": headers, "verified": verified}
                )
                if self.path != "/sign/healthcheck":
                    return self._send(404, b'{"message":"Not Found"}')
                if not verified:
                    return self._send(403, b'{"message":"Forbidden"}')
                if stack.sign_status != 200:
                    error = {"error": {"code": "internal", "message": "boom", "details": []}}
                    return self._send(stack.sign_status, json.dumps(error).encode())
                (file,) = request["files"]
                key = f"videos/{request['jobId']}/{file['path']}"
                url = stack.s3.generate_presigned_url(
                    "put_object",
                    Params={"Bucket": BUCKET, "Key": key, "ContentType": "application/vnd.apple.mpegurl"},
                    ExpiresIn=60,
                )
                if stack.break_put:
                    url = f"{stack.url}/forbidden"
                upload = {
                    "path": file["path"],
                    "key": key,
                    "method": "PUT",
                    "url": url,
                    "headers": {
                        "Content-Type": "application/vnd.apple.mpegurl",
                        "Content-Length": str(file["size"]),
                        "Cache-Control": "public, max-age=5",
                    },
                    "publicUrl": f"{stack.url}/cdn/{key}",
                }
                if stack.edit_upload is not None:
                    stack.edit_upload(upload)
                body = {
                    "jobId": request["jobId"],
                    "prefix": f"videos/{request['jobId']}/",
                    "uploads": [upload],
                }
                self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

            def _job(self, method: str) -> None:
                headers = dict(self.headers.items())
                verified = iam_signature_valid(f"{stack.url}{self.path}", headers, b"", method)
                stack.job_requests.append({"method": method, "path": self.path, "verified": verified})
                job_id = self.path.removeprefix("/sign/healthcheck/jobs/")
                if not self.path.startswith("/sign/healthcheck/jobs/") or not verified:
                    return self._send(403, b'{"message":"Forbidden"}')
                key = f"videos/{job_id}/probe.m3u8"
                if method == "DELETE":
                    if stack.delete_status != 200:
                        return self._send(stack.delete_status, b'{"error":{"code":"internal_error"}}')
                    stack.s3.delete_object(Bucket=BUCKET, Key=key)
                    return self._send(200, json.dumps({"jobId": job_id, "status": "deleted"}).encode())
                arrived = object_exists(stack, key)
                status = stack.job_status or ("complete" if arrived else "signed")
                body = {
                    "jobId": job_id,
                    "status": status,
                    "files": [{"path": "probe.m3u8", "status": "arrived" if arrived else "pending"}],
                    "bytes": len(check.PROBE_BODY) if arrived else 0,
                }
                self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

            def do_DELETE(self) -> None:
                self._job("DELETE")

            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._send(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>")

            def do_GET(self) -> None:
                if self.path.startswith("/sign/"):
                    return self._job("GET")
                key = self.path.removeprefix("/cdn/")
                stack.cdn_reads.append({"key": key, "origin": self.headers.get("Origin")})
                if stack.cdn_status != 200:
                    return self._send(stack.cdn_status, b"<Error>AccessDenied</Error>")
                obj = stack.s3.get_object(Bucket=BUCKET, Key=key)
                headers = {"Content-Type": obj["ContentType"], "Cache-Control": stack.cache_control}
                if not stack.drop_etag:
                    headers["ETag"] = obj["ETag"]
                if not stack.drop_cors:
                    headers["Access-Control-Allow-Origin"] = "*"
                    headers["Access-Control-Expose-Headers"] = (
                        "ETag,Content-Length,Content-Range,Accept-Ranges"
                    )
                body, wanted = obj["Body"].read(), self.headers.get("Range")
                if wanted and not stack.ignore_range:
                    first, last = (int(n) for n in wanted.removeprefix("bytes=").split("-"))
                    headers["Content-Range"] = f"bytes {first}-{last}/{len(body)}"
                    return self._send(206, body[first : last + 1], headers)
                self._send(200, body, headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        self.sign_status = 200
        self.break_put = False
        self.cdn_status = 200
        self.drop_etag = False
        self.drop_cors = False
        self.ignore_range = False
        self.cache_control = "public, max-age=5"  # what the fake signer signs
        self.job_status: str | None = None  # None: complete once the probe is stored
        self.delete_status = 200
        self.job_requests: list[dict[str, Any]] = []
        self.edit_upload: Callable[[dict[str, Any]], Any] | None = None  # breaks the signer's reply
        self.sign_requests: list[dict[str, Any]] = []
        self.cdn_reads: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url, region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    yield url
    server.stop()


@pytest.fixture(scope="module")
def fake_stack(moto_url: str) -> Iterator[FakeStack]:
    stack = FakeStack(moto_url)
    yield stack
    stack.server.shutdown()


@pytest.fixture
def stack(fake_stack: FakeStack, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> FakeStack:
    fake_stack.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)  # the handler's boto3 (cleanup) -> moto
    for name, value in {
        "AWS_REGION": REGION,
        "SIGNER_URL": f"{fake_stack.url}/sign/",
        "CDN_BASE_URL": f"{fake_stack.url}/cdn",
        "BUCKET": BUCKET,
        "STACK": "test",
        "METRIC_NAMESPACE": "LuxVideo/HealthCheck",
        "JOB_PREFIX": "healthcheck-",
        "CHECK_ORIGIN": "https://app.example.com",
        "COMPLETE_TIMEOUT_SECONDS": "0.3",
    }.items():
        monkeypatch.setenv(name, value)
    return fake_stack


def emf_line(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The one EMF record the run printed, checked for the shape CloudWatch requires."""
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(records) == 1, records
    record = records[0]
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "LuxVideo/HealthCheck"
    assert directive["Dimensions"] == [["Stack"]]
    assert record["Stack"] == "test"
    assert isinstance(record["_aws"]["Timestamp"], int)
    for metric in directive["Metrics"]:
        assert isinstance(record[metric["Name"]], int | float), metric  # every declared metric has a value
        assert metric["Unit"] in ("Count", "Milliseconds")
    record["_metric_names"] = {m["Name"] for m in directive["Metrics"]}
    return record


def object_exists(stack: FakeStack, key: str) -> bool:
    return stack.s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) > 0


def test_a_healthy_stack_reports_success_latencies_and_leaves_no_probe(stack: FakeStack, capsys) -> None:
    result = check.handler({}, None)
    record = emf_line(capsys)
    assert result == {"success": True, "failedStep": None, "jobId": record["jobId"]}
    assert record["Success"] == 1 and record["CleanupSuccess"] == 1
    assert record["_metric_names"] == {
        "Success",
        "LatencyMs",
        "SignLatencyMs",
        "PutLatencyMs",
        "CompleteLatencyMs",
        "CdnLatencyMs",
        "DeleteLatencyMs",
        "CleanupSuccess",
    }
    assert record["LatencyMs"] >= record["SignLatencyMs"] + record["PutLatencyMs"] > 0
    assert "failedStep" not in record
    (request,) = stack.sign_requests
    assert request["body"]["jobId"].startswith("healthcheck-")
    assert request["body"]["files"] == [{"path": "probe.m3u8", "size": len(check.PROBE_BODY)}]
    assert request["path"] == "/sign/healthcheck" and request["verified"]
    assert stack.cdn_reads[0]["origin"] == "https://app.example.com"
    # The job was read and deleted through the IAM-signed job routes: the probe is gone.
    job_id = request["body"]["jobId"]
    assert [(r["method"], r["path"]) for r in stack.job_requests][-1] == (
        "DELETE",
        f"/sign/healthcheck/jobs/{job_id}",
    )
    assert all(r["verified"] for r in stack.job_requests)
    assert ("GET", f"/sign/healthcheck/jobs/{job_id}") in [
        (r["method"], r["path"]) for r in stack.job_requests
    ]
    assert not object_exists(stack, f"videos/{job_id}/probe.m3u8")


UP_TO_CDN = {"SignLatencyMs", "PutLatencyMs", "CompleteLatencyMs", "CdnLatencyMs"}


@pytest.mark.parametrize(
    ("break_it", "step", "reached", "cleanup"),
    [
        (lambda s: setattr(s, "sign_status", 500), "sign", {"SignLatencyMs"}, False),
        (lambda s: setattr(s, "break_put", True), "upload", {"SignLatencyMs", "PutLatencyMs"}, True),
        (
            lambda s: setattr(s, "job_status", "uploading"),
            "complete",
            {"SignLatencyMs", "PutLatencyMs", "CompleteLatencyMs"},
            True,
        ),
        (lambda s: setattr(s, "cdn_status", 403), "cdn_read", UP_TO_CDN, True),
        (lambda s: setattr(s, "drop_cors", True), "cors", UP_TO_CDN, True),
        (lambda s: setattr(s, "drop_etag", True), "etag", UP_TO_CDN, True),
        (lambda s: setattr(s, "cache_control", "no-store"), "cache_control", UP_TO_CDN, True),
        (lambda s: setattr(s, "ignore_range", True), "range", UP_TO_CDN, True),
        (lambda s: setattr(s, "delete_status", 500), "delete", {*UP_TO_CDN, "DeleteLatencyMs"}, False),
    ],
    ids=[
        "signer-5xx",
        "put-403",
        "never-complete",
        "cdn-403",
        "no-cors",
        "no-etag",
        "cache-control",
        "no-range",
        "delete-5xx",
    ],
)
def test_each_failing_step_reports_failure_naming_the_step(
    stack: FakeStack, capsys, break_it, step: str, reached: set[str], cleanup: bool
) -> None:
    break_it(stack)
    result = check.handler({}, None)
    record = emf_line(capsys)
    assert result["success"] is False and result["failedStep"] == step
    assert record["Success"] == 0
    assert record["failedStep"] == step and record["error"]
    signed = step != "sign"
    expected = {"Success", "LatencyMs", *reached} | ({"CleanupSuccess"} if signed else set())
    assert record["_metric_names"] == expected
    if signed:
        assert record["CleanupSuccess"] == (1 if cleanup else 0)
        assert object_exists(stack, f"videos/{record['jobId']}/probe.m3u8") is (step == "delete")


def test_the_sign_request_is_iam_signed_for_execute_api_with_the_function_credentials(
    stack: FakeStack, capsys
) -> None:
    assert check.handler({}, None)["success"] is True
    emf_line(capsys)
    (request,) = stack.sign_requests
    authorization = request["headers"]["Authorization"]
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={os.environ['AWS_ACCESS_KEY_ID']}/")
    assert f"/{REGION}/execute-api/aws4_request" in authorization
    assert "Bearer" not in json.dumps(request["headers"])
    assert request["verified"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url, headers, body: (url.replace("/healthcheck", "/other"), headers, body),
        lambda url, headers, body: (url, headers, body + b" "),
        lambda url, headers, body: (
            url,
            {k: v for k, v in headers.items() if k != "X-Amz-Security-Token"},
            body,
        ),
    ],
    ids=["other-url", "other-body", "no-session-token"],
)
def test_the_fake_authorizer_catches_a_request_that_is_not_the_signed_one(
    stack: FakeStack, tamper: Callable[..., tuple[str, dict[str, str], bytes]]
) -> None:
    """The check above cannot pass vacuously: what was signed must be what arrives."""
    config = check.settings()
    url = check.health_check_url(config.signer_url)
    body = b'{"jobId": "healthcheck-x"}'
    headers = check.iam_signed_headers(config, "POST", url, body)
    assert iam_signature_valid(url, headers, body)
    assert not iam_signature_valid(*tamper(url, headers, body))


def test_the_route_is_the_signer_url_plus_healthcheck() -> None:
    assert check.health_check_url("https://a.execute-api.us-west-2.amazonaws.com/") == (
        "https://a.execute-api.us-west-2.amazonaws.com/healthcheck"
    )
    assert check.health_check_url("http://127.0.0.1:8700") == "http://127.0.0.1:8700/healthcheck"


def test_without_credentials_the_sign_step_fails_before_any_request(
    stack: FakeStack, capsys, monkeypatch
) -> None:
    import botocore.session

    monkeypatch.setattr(botocore.session.Session, "get_credentials", lambda self: None)
    result = check.handler({}, None)
    record = emf_line(capsys)
    assert result["failedStep"] == "sign" and record["Success"] == 0
    assert "credentials" in record["error"]
    assert stack.sign_requests == []


def test_a_signer_refusing_the_caller_fails_the_sign_step(stack: FakeStack, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another-secret")  # the authorizer's check fails: 403
    result = check.handler({}, None)
    record = emf_line(capsys)
    assert result["failedStep"] == "sign" and "403" in record["error"]


def test_the_job_routes_are_iam_signed_too(stack: FakeStack, capsys) -> None:
    assert check.handler({}, None)["success"] is True
    emf_line(capsys)
    assert {r["method"] for r in stack.job_requests} == {"GET", "DELETE"}
    assert all(r["verified"] for r in stack.job_requests)


def test_the_job_routes_refuse_an_unsigned_request(stack: FakeStack) -> None:
    """The fake API's IAM check on the job routes can fail: the assertion above is not vacuous."""
    reply = check.steps.http("GET", f"{stack.url}/sign/healthcheck/jobs/healthcheck-x", {})
    assert reply.status == 403


def error_lines(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("level") == "ERROR"]


def test_a_signer_reply_without_a_key_fails_the_sign_step(stack: FakeStack, capsys) -> None:
    stack.edit_upload = lambda upload: upload.pop("key")  # was a KeyError: no EMF line
    result = check.handler({}, None)
    record = emf_line(capsys)
    assert result["success"] is False and result["failedStep"] == "sign"
    assert record["Success"] == 0 and record["failedStep"] == "sign"
    assert "key" in record["error"]
    assert record["_metric_names"] == {"Success", "LatencyMs", "SignLatencyMs"}  # no PUT, nothing to clean


def test_an_unexpected_exception_in_a_step_fails_that_step_and_the_probe_is_still_removed(
    stack: FakeStack, capsys
) -> None:
    # urllib raises ValueError (not OSError) on a malformed host, after the PUT succeeded.
    stack.edit_upload = lambda upload: upload.update(publicUrl="http://[cdn.example.com/probe.m3u8")
    result = check.handler({}, None)
    output = capsys.readouterr().out
    (record,) = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    assert result["success"] is False and result["failedStep"] == "cdn_read"
    assert record["Success"] == 0 and record["failedStep"] == "cdn_read"
    assert record["error"].startswith("unexpected ValueError(") and len(record["error"]) <= 500
    assert record["CleanupSuccess"] == 1 and not object_exists(stack, f"videos/{record['jobId']}/probe.m3u8")
    assert record.keys() >= UP_TO_CDN
    (logged,) = error_lines(output)
    assert logged["message"] == "unexpected failure in step cdn_read" and "ValueError" in logged["trace"]


def test_a_malformed_signer_url_fails_the_sign_step(stack: FakeStack, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SIGNER_URL", "signer.example.com/")  # no scheme
    result = check.handler({}, None)
    record = emf_line(capsys)
    assert result["failedStep"] == "sign" and record["Success"] == 0
    assert "SIGNER_URL" in record["error"] and "signer.example.com" in record["error"]
    assert "CleanupSuccess" not in record


def test_an_exception_outside_any_step_is_an_internal_failure(stack: FakeStack, capsys, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("key")

    monkeypatch.setattr(check.steps, "run", broken)
    result = check.handler({}, None)
    output = capsys.readouterr().out
    (record,) = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    assert result["success"] is False and result["failedStep"] == "internal"
    assert record["Success"] == 0 and record["error"] == "unexpected KeyError('key')"
    assert "CleanupSuccess" not in record
    (logged,) = error_lines(output)
    assert logged["message"] == "unexpected failure in step internal"


def test_a_misdeployed_check_still_prints_one_emf_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SIGNER_URL", raising=False)
    monkeypatch.setenv("STACK", "test")
    result = check.handler({}, None)
    record = emf_line(capsys)
    assert result == {"success": False, "failedStep": "config", "jobId": None}
    assert record["Success"] == 0 and "SIGNER_URL" in record["error"]
