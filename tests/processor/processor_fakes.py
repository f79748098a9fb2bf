"""Fakes and helpers shared by the processor tests (a uniquely named module: importable from any test)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

CDN = "http://cdn.test"


class RecordingPublisher:
    """Copies what it is asked to publish (the processor deletes its own copy afterwards)."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self.published: dict[str, list[str]] = {}  # every file published, per job
        self.calls: list[tuple[str, list[str]]] = []  # (job_id, files) per publish call
        self.error: Exception | None = None

    def publish(self, job_id: str, root: Path, files: list[str]) -> str | None:
        if self.error is not None:
            raise self.error
        for name in files:
            target = self.destination / job_id / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, target)
        self.calls.append((job_id, list(files)))
        self.published.setdefault(job_id, []).extend(files)
        return None


class FakeSignerAndBucket:
    """Signs like the real signer (per-file headers) and stores PUTs only when those headers arrive intact."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.received_headers: dict[str, dict[str, str]] = {}
        self.signer_requests: list[dict] = []
        self.reject_signing: bool = False
        self.put_status = 200

    def headers_for(self, path: str) -> dict[str, str]:
        kind = "application/vnd.apple.mpegurl" if path.endswith(".m3u8") else "video/mp4"
        return {"Content-Type": kind, "Cache-Control": "public, max-age=5", "x-amz-meta-job": "fixed"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "signer.test":
            body = json.loads(request.content)
            self.signer_requests.append(body)
            if self.reject_signing:
                detail = {"field": "files[0].path", "problem": "extension .exe is not allowed"}
                error = {
                    "code": "invalid_request",
                    "message": "files[0].path has an unsupported extension",
                    "details": [detail],
                }
                return httpx.Response(400, json={"error": error})
            job = body["jobId"]
            uploads = [
                {"path": f["path"], "key": f"videos/{job}/{f['path']}", "method": "PUT",
                 "url": f"http://s3.test/bucket/videos/{job}/{f['path']}?X-Amz-Signature=abc",
                 "headers": self.headers_for(f["path"]), "publicUrl": f"http://cdn.test/videos/{job}/{f['path']}"}
                for f in body["files"]
            ]  # fmt: skip
            return httpx.Response(
                200,
                json={"jobId": job, "prefix": f"videos/{job}/", "playbackUrl": f"http://cdn.test/videos/{job}/master.m3u8",
                      "uploads": uploads},
            )  # fmt: skip
        key = request.url.path.removeprefix("/bucket/")
        path = key.split("/", 2)[2]
        expected = self.headers_for(path)
        for name, value in expected.items():
            if request.headers.get(name) != value:
                return httpx.Response(
                    403, text=f"<Error><Code>SignatureDoesNotMatch</Code><Header>{name}</Header></Error>"
                )
        body_bytes = request.read()
        if int(request.headers["content-length"]) != len(body_bytes):
            return httpx.Response(400, text="length mismatch")
        self.received_headers[key] = dict(request.headers)
        if self.put_status != 200:
            return httpx.Response(self.put_status, text="<Error><Code>AccessDenied</Code></Error>")
        self.objects[key] = body_bytes
        return httpx.Response(200)


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


def ffprobe_json(path: Path, *entries: str) -> dict[str, Any]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *entries, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(done.stdout)
