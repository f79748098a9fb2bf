"""Upload jobs on the local stack, as ``make dev`` runs them: the very signer and jobs function,
fed by the verifying S3 endpoint's events, announced on the local bus (``events.jsonl`` and a
webhook), answered and deleted on the local gateway, with local JWTs for subject isolation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from lambda_src.sign_uploads import events
from local.s3_emulator import s3_client
from local.stack import LocalSettings, LocalStack, free_port
from tests.infra.helpers import DEV_PAGE_ORIGIN
from tests.local.conftest import quick_processor

PAYLOADS = {
    "master.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n360p/index.m3u8\n",
    "360p/index.m3u8": b"#EXTM3U\n#EXTINF:1,\nseg_000.ts\n#EXT-X-ENDLIST\n",
    "360p/seg_000.ts": bytes(range(256)) * 8,
}
ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


class Receiver:
    """A webhook receiver on loopback: records every POST (headers and JSON body)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers.items()), "body": json.loads(body)})
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[LocalStack]:
    data = tmp_path_factory.mktemp("jobs")
    settings = LocalSettings(
        port=free_port(), s3_port=free_port(), data_dir=data, webhook_url=receiver.url, sweep_seconds=3600
    )
    with LocalStack(settings, quick_processor(data)) as running:
        yield running


def sign(stack: LocalStack, paths: list[str], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"files": [{"path": p, "size": len(PAYLOADS[p])} for p in paths]}
    reply = httpx.post(stack.signer_url, json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def put(stack: LocalStack, signed: dict[str, Any], only: set[str] | None = None) -> None:
    for item in signed["uploads"]:
        if only is None or item["path"] in only:
            reply = httpx.put(item["url"], content=PAYLOADS[item["path"]], headers=item["headers"])
            assert reply.status_code == 200, reply.text
    stack.jobs.settle()  # S3's events are delivered asynchronously, as EventBridge does


def job(stack: LocalStack, job_id: str, token: str | None = None, method: str = "GET") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, stack.jobs_url + job_id, headers=headers)


def recorded_invocations(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The events the jobs function is invoked with from now on (it still runs)."""
    seen: list[dict[str, Any]] = []
    original = stack.jobs.invoke

    def invoke(event: dict[str, Any], context: Any = None) -> dict[str, Any] | None:
        seen.append(event)
        return original(event, context)

    monkeypatch.setattr(stack.jobs, "invoke", invoke)
    return seen


def bus_events(stack: LocalStack, job_id: str) -> list[dict[str, Any]]:
    path = stack.settings.data_dir / "events.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [event for event in lines if event["detail"].get("jobId") == job_id]


def test_a_job_completes_when_every_file_arrives_and_the_event_is_delivered(
    stack: LocalStack, receiver: Receiver
) -> None:
    signed = sign(stack, list(PAYLOADS))
    assert job(stack, signed["jobId"]).json()["status"] == "signed"
    put(stack, signed)
    status = job(stack, signed["jobId"]).json()
    assert status["status"] == "complete"
    assert status["files"] == [{"path": p, "status": "arrived"} for p in sorted(PAYLOADS)]
    assert status["bytes"] == sum(len(b) for b in PAYLOADS.values())
    assert status["playbackUrl"] == f"{stack.base_url}/{signed['prefix']}master.m3u8"
    assert status["completedAt"] and status["createdAt"] and status["expiresAt"]

    (completed,) = bus_events(stack, signed["jobId"])
    assert set(completed) == ENVELOPE_KEYS
    assert completed["source"] == events.SOURCE and completed["detail-type"] == events.UPLOAD_JOB_COMPLETED
    assert completed["detail"]["keys"] == sorted(signed["prefix"] + p for p in PAYLOADS)
    assert completed["detail"]["bytes"] == status["bytes"]
    stack.bus.settle()
    (posted,) = [r for r in receiver.received if r["body"]["id"] == completed["id"]]
    assert posted["body"] == completed
    assert posted["headers"]["X-Lux-Webhook-Token"] == stack.webhook_token
    assert posted["headers"]["Content-Type"] == "application/json"


def test_a_job_missing_a_file_stays_uploading_and_reads_expired_once_its_urls_expire(
    stack: LocalStack,
) -> None:
    signed = sign(stack, ["master.m3u8", "360p/index.m3u8"])
    put(stack, signed, only={"master.m3u8"})
    status = job(stack, signed["jobId"]).json()
    assert status["status"] == "uploading"
    assert {f["path"]: f["status"] for f in status["files"]} == {
        "master.m3u8": "arrived",
        "360p/index.m3u8": "pending",
    }
    stack.jobs.clock_offset = signed["expiresIn"] + 1  # the jobs function's clock, past the URLs' expiry
    try:
        assert job(stack, signed["jobId"]).json()["status"] == "expired"
        stack.jobs.sweep()  # the schedule's run: persists and announces it
    finally:
        stack.jobs.clock_offset = 0
    assert job(stack, signed["jobId"]).json()["status"] == "expired"  # persisted, whatever the clock
    assert [e["detail-type"] for e in bus_events(stack, signed["jobId"])] == [events.UPLOAD_JOB_EXPIRED]


def test_a_subject_sees_only_its_own_jobs_and_a_bad_token_is_refused_before_the_function(
    stack: LocalStack,
) -> None:
    alice, bob = stack.tokens.issue("alice"), stack.tokens.issue("bob")
    signed = sign(stack, ["master.m3u8"], token=alice)
    assert "/sub." in signed["prefix"]
    put(stack, signed)
    assert job(stack, signed["jobId"], alice).json()["status"] == "complete"
    for other in (bob, None):
        reply = job(stack, signed["jobId"], other)
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"
        assert job(stack, signed["jobId"], other, "DELETE").status_code == 404
    expired = stack.tokens.issue("alice", ttl_seconds=-3600)
    forged = alice[:-4] + ("AAAA" if not alice.endswith("AAAA") else "BBBB")
    for bad in (expired, forged, "not-a-jwt"):
        reply = job(stack, signed["jobId"], bad)
        assert reply.status_code == 401 and reply.json() == {"message": "Unauthorized"}
        assert (
            httpx.post(stack.signer_url, json={}, headers={"Authorization": f"Bearer {bad}"}).status_code
            == 401
        )
    assert job(stack, signed["jobId"], alice).json()["status"] == "complete"  # untouched


def test_delete_removes_every_object_and_the_cdn_stops_serving_them(stack: LocalStack) -> None:
    signed = sign(stack, list(PAYLOADS))
    put(stack, signed)
    first = signed["uploads"][0]["publicUrl"]
    assert httpx.get(first).status_code == 200
    reply = job(stack, signed["jobId"], method="DELETE")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "deleted" and reply.json()["objectsDeleted"] == len(PAYLOADS)
    s3 = s3_client(stack.emulator.endpoint_url)
    assert s3.list_objects_v2(Bucket=stack.config.bucket_name, Prefix=signed["prefix"])["KeyCount"] == 0
    for item in signed["uploads"]:
        assert httpx.get(item["publicUrl"]).status_code in (403, 404)  # CloudFront + OAC: 403
    assert f"/{signed['prefix']}*" in stack.jobs.services.invalidations
    assert job(stack, signed["jobId"]).json()["status"] == "deleted"
    assert events.UPLOAD_JOB_DELETED in [e["detail-type"] for e in bus_events(stack, signed["jobId"])]


def test_s3_reports_put_and_copy_as_eventbridge_delivers_object_created(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recorded_invocations(stack, monkeypatch)
    signed = sign(stack, ["master.m3u8"])
    put(stack, signed)
    key = signed["uploads"][0]["key"]
    s3 = s3_client(stack.emulator.endpoint_url)
    bucket = stack.config.bucket_name
    s3.copy_object(Bucket=bucket, Key=key + ".copy.m3u8", CopySource={"Bucket": bucket, "Key": key})
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key + ".mp.ts")
    part = s3.upload_part(
        Bucket=bucket, Key=key + ".mp.ts", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 10
    )
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key + ".mp.ts", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key="outside-the-prefix/x.ts", Body=b"x")  # the rule filters it out
    stack.jobs.settle()
    put_event, copy_event, multipart_event = seen
    assert set(put_event) == ENVELOPE_KEYS
    assert put_event["source"] == "aws.s3" and put_event["detail-type"] == "Object Created"
    assert put_event["resources"] == [f"arn:aws:s3:::{bucket}"]
    detail = put_event["detail"]
    assert set(detail) >= {"version", "bucket", "object", "request-id", "requester", "reason"}
    assert detail["bucket"] == {"name": bucket} and detail["reason"] == "PutObject"
    assert detail["object"]["key"] == key and detail["object"]["size"] == len(PAYLOADS["master.m3u8"])
    assert set(detail["object"]) == {"key", "size", "etag", "sequencer"}
    assert copy_event["detail"]["reason"] == "CopyObject"
    assert copy_event["detail"]["object"]["size"] == len(PAYLOADS["master.m3u8"])
    assert multipart_event["detail"]["reason"] == "CompleteMultipartUpload"
    assert multipart_event["detail"]["object"] | {"etag": "", "sequencer": ""} == {
        "key": key + ".mp.ts", "size": 10, "etag": "", "sequencer": "",
    }  # fmt: skip


@pytest.mark.parametrize("method", ["DELETE", "GET"])
def test_the_job_route_answers_the_browsers_preflight_as_the_api_cors_configures(
    stack: LocalStack, method: str
) -> None:
    from infra import policies

    reply = httpx.options(
        stack.jobs_url + "abc",
        headers={
            "Origin": DEV_PAGE_ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert reply.status_code == 204
    allowed = method in policies.api_cors([DEV_PAGE_ORIGIN])["allowMethods"]
    # Until the API's CORS lists the job methods (infra), the local gateway refuses them as AWS would.
    assert ("access-control-allow-origin" in reply.headers) is allowed
    if allowed:
        assert method in reply.headers["access-control-allow-methods"].split(",")
        assert "authorization" in reply.headers["access-control-allow-headers"].split(",")


def test_a_preflight_for_delete_is_allowed_exactly_when_the_api_cors_lists_delete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Browser-free, without a stack: the gateway's answer follows ``policies.api_cors``."""
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from infra.policies import api as api_policies
    from local.gateway import api_route

    def app() -> TestClient:
        endpoint = api_route(
            lambda e, c: {"statusCode": 200}, (DEV_PAGE_ORIGIN,), ("GET", "DELETE"), template="/jobs/{jobId}"
        )
        return TestClient(
            Starlette(routes=[Route("/jobs/{jobId}", endpoint, methods=["GET", "DELETE", "OPTIONS"])])
        )

    preflight = {"Origin": DEV_PAGE_ORIGIN, "Access-Control-Request-Method": "DELETE"}
    monkeypatch.setattr(api_policies, "API_CORS_METHODS", ("POST", "OPTIONS"))
    assert "access-control-allow-origin" not in app().options("/jobs/x", headers=preflight).headers
    monkeypatch.setattr(api_policies, "API_CORS_METHODS", ("GET", "POST", "DELETE", "OPTIONS"))
    allowed = app().options("/jobs/x", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == DEV_PAGE_ORIGIN
    assert "DELETE" in allowed.headers["access-control-allow-methods"].split(",")
    other = app().options("/jobs/x", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_the_job_routes_pass_the_route_template_and_path_parameters(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = recorded_invocations(stack, monkeypatch)
    assert job(stack, "no-such-job").status_code == 404
    assert httpx.post(stack.jobs_url + "x").json() == {"message": "Not Found"}  # no such route
    (event,) = seen
    assert event["routeKey"] == "GET /jobs/{jobId}" and event["pathParameters"] == {"jobId": "no-such-job"}
    assert event["rawPath"] == "/jobs/no-such-job"


def test_cdn_config_names_the_jobs_endpoint(stack: LocalStack) -> None:
    written = json.loads((stack.settings.data_dir / "cdn_config.json").read_text())
    assert written["jobsEndpoint"] == stack.base_url + "/jobs/" == written["signerEndpoint"] + "jobs/"


def test_a_webhook_receiver_that_is_down_is_retried_and_never_crashes_the_bus(tmp_path: Path) -> None:
    from local.bus import LocalBus

    dead = f"http://127.0.0.1:{free_port()}/hook"
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        bus = LocalBus(tmp_path / "events.jsonl", account="0", region="us-west-2", webhook_url=dead,
                       webhook_token="t", out=stream, retry_seconds=0.01)  # fmt: skip
        entry = {
            "Source": events.SOURCE,
            "DetailType": events.UPLOAD_JOB_COMPLETED,
            "Detail": '{"jobId":"j"}',
        }
        (event,) = bus.put([entry])
        bus.settle()
        bus.close()
    assert json.loads(out.read_text()) == event == json.loads((tmp_path / "events.jsonl").read_text())
    assert event["detail"] == {"jobId": "j"}


# --- make verify against the running local stack ------------------------------------------------


def test_make_verify_passes_against_the_local_stack_and_reports_each_step(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools import verify

    monkeypatch.setenv("TOKEN", stack.tokens.issue("verify-user"))  # as a JWT subject
    config = stack.settings.data_dir / "cdn_config.json"
    assert verify.main(["--config", str(config), "--origin", DEV_PAGE_ORIGIN, "--gone-timeout", "10"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]
    for step in (
        "make the HLS sample",
        "sign",
        "upload",
        "wait for complete",
        "read through the CDN",
        "delete",
    ):
        (reported,) = [line for line in lines if line.startswith(step + " ")]
        assert reported.split()[len(step.split())] == "ok" and reported.split()[-1] != "", reported
    assert lines[-1].startswith("verify passed in ")


def test_make_verify_fails_at_the_sign_step_when_the_signer_is_down(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools import verify

    config = json.loads((stack.settings.data_dir / "cdn_config.json").read_text())
    down = f"http://127.0.0.1:{free_port()}/"
    (tmp_path / "down.json").write_text(
        json.dumps({**config, "signerEndpoint": down, "jobsEndpoint": down + "jobs/"})
    )
    assert verify.main(["--config", str(tmp_path / "down.json"), "--origin", DEV_PAGE_ORIGIN]) == 1
    out = capsys.readouterr().out
    assert "sign                   FAILED" in out and "unreachable" in out
    assert out.rstrip().endswith("verify FAILED at step sign (nothing to delete)")
    assert "upload " not in out  # stopped at the first failure


def test_make_verify_names_a_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tools import verify

    assert verify.main(["--config", str(tmp_path / "none.json")]) == 2
    assert "no such file" in capsys.readouterr().err


# --- local tokens ---------------------------------------------------------------------------------


def test_a_local_token_is_refused_when_tampered_with_or_unsigned(tmp_path: Path) -> None:
    import base64

    from local.tokens import LocalTokens, TokenError

    tokens = LocalTokens(tmp_path)
    good = tokens.issue("alice")
    assert tokens.verify(good)["sub"] == "alice"
    assert LocalTokens(tmp_path).verify(good)["sub"] == "alice"  # the key persists in the data dir
    assert (tmp_path / "jwt_hs256.key").stat().st_mode & 0o077 == 0
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    as_bob = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "bob"}).encode()).rstrip(b"=").decode()
    none = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    for bad, why in (
        (f"{header}.{as_bob}.{signature}", "signature"),
        (f"{none}.{payload}.", "algorithm"),
        (LocalTokens(tmp_path / "other").issue("alice"), "signature"),
        (tokens.issue("alice", ttl_seconds=-600), "expired"),
    ):
        with pytest.raises(TokenError, match=why):
            tokens.verify(bad)


def test_the_sweep_runs_on_its_schedule_until_the_stack_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    from local.jobs import LocalJobs

    no_services: Any = None  # the sweep is replaced: nothing is called
    jobs = LocalJobs(
        {}, no_services, bucket="b", prefix="videos/", account="0", region="us-west-2", sweep_seconds=0.02
    )
    runs = threading.Semaphore(0)
    monkeypatch.setattr(jobs, "sweep", runs.release)
    jobs.start()
    threads = list(jobs._threads)
    try:
        assert runs.acquire(timeout=5) and runs.acquire(timeout=5)  # at least twice
    finally:
        jobs.stop()
    assert threads and not any(thread.is_alive() for thread in threads)


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"WEBHOOK_URL": "ftp://example.com/hook"}, "WEBHOOK_URL"),
        ({"LUX_LOCAL_SWEEP_SECONDS": "soon"}, "LUX_LOCAL_SWEEP_SECONDS"),
        ({"LUX_LOCAL_SWEEP_SECONDS": "0"}, "LUX_LOCAL_SWEEP_SECONDS"),
    ],
)
def test_make_dev_names_a_bad_jobs_setting(environ: dict[str, str], problem: str) -> None:
    from local.stack import LocalStackError

    with pytest.raises(LocalStackError, match=problem):
        LocalSettings.from_env(environ)


def test_make_dev_reads_the_webhook_and_sweep_settings() -> None:
    settings = LocalSettings.from_env(
        {"WEBHOOK_URL": "http://127.0.0.1:9/h", "WEBHOOK_SECRET": "s3cret", "LUX_LOCAL_SWEEP_SECONDS": "5"}
    )
    assert (settings.webhook_url, settings.webhook_secret, settings.sweep_seconds) == (
        "http://127.0.0.1:9/h",
        "s3cret",
        5.0,
    )


def test_a_raw_upload_starts_the_local_processor_under_its_job_id(stack: LocalStack, tmp_path: Path) -> None:
    """The local twin of the cloud's transcoding rule: the completed upload job's event (with
    ``detail.source``) reaches the processor through the bus; the app polls the same jobId."""
    import subprocess
    import time

    clip = tmp_path / "source.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc=duration=1:size=320x240:rate=15", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    body = {"files": [{"path": "source.mp4", "size": clip.stat().st_size}]}
    signed = httpx.post(stack.signer_url, json=body).json()
    upload = signed["uploads"][0]
    assert httpx.put(upload["url"], content=clip.read_bytes(), headers=upload["headers"]).status_code == 200
    deadline, status = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        reply = httpx.get(f"{stack.processor_url}/{signed['jobId']}")
        status = reply.json().get("status") if reply.status_code == 200 else None
        if status in ("ready", "failed"):
            break
        time.sleep(0.2)
    assert status == "ready", reply.text
    # One flow for the app: GET /jobs/{jobId} answers as the cloud's does once MediaConvert is done.
    processed = reply.json()
    job = httpx.get(f"{stack.base_url}/jobs/{signed['jobId']}").json()
    assert job["status"] == "ready" and job["renditions"] == processed["renditions"]
    assert job["playbackUrl"] == processed["playbackUrl"]
    assert "source.mp4" in [f["path"] for f in job["files"]]
    started = [
        json.loads(line) for line in (stack.settings.data_dir / "events.jsonl").read_text().splitlines()
    ]
    completed = [e for e in started if e["detail"]["jobId"] == signed["jobId"]]
    assert completed[0]["detail-type"] == events.UPLOAD_JOB_COMPLETED
    assert completed[0]["detail"]["source"]["key"] == upload["key"]
