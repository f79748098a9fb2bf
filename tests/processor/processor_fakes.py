"""Fakes and helpers shared by the processor tests (a uniquely named module: importable from any test)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
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
        self.max_files: int | None = None  # the signer's MAX_FILES, enforced like the real one

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
            if self.max_files is not None and len(body["files"]) > self.max_files:
                error = {"code": "too_many_files", "message": f"At most {self.max_files} files per request."}
                return httpx.Response(413, json={"error": error})
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


def patch_matroska_duration(path: Path, claimed_seconds: float) -> None:
    """Overwrite the Segment Info Duration element (EBML ID 0x4489, an 8-byte float in the default
    1 ms timestamp scale): the header then lies about a stream that is left untouched."""
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89\x88")
    assert at >= 0, "no 8-byte Duration element"
    data[at + 3 : at + 11] = struct.pack(">d", claimed_seconds * 1000)
    path.write_bytes(data)


def claim_mov_dimensions(path: Path, width: int, height: int) -> None:
    """Make a tiny single-frame MJPEG MOV claim another frame size everywhere ffprobe or a decoder
    looks: the track header (16.16 fixed point), the sample entry and the JPEG's SOF0 marker."""
    data = bytearray(path.read_bytes())
    sof = data.find(b"\xff\xc0\x00\x11\x08")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    tkhd = data.find(b"tkhd")
    end = tkhd - 4 + struct.unpack(">I", data[tkhd - 4 : tkhd])[0]
    data[end - 8 : end] = struct.pack(">II", width << 16, height << 16)
    entry = data.find(b"jpeg", data.find(b"stsd"))
    at = entry + 4 + 6 + 2 + 2 + 2 + 4 + 4 + 4  # reserved, index, version, revision, vendor, quality
    data[at : at + 4] = struct.pack(">HH", width, height)
    path.write_bytes(data)


def generate(path: Path, *args: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args, str(path)], check=True, timeout=120
    )
    return path


class RefusingConnection:
    """Stands in for a JobStore's sqlite3 connection: while ``refuse`` holds for a statement and its
    parameters, the statement fails the way SQLite does on a full disk."""

    def __init__(self, real: sqlite3.Connection, refuse: Callable[[str, tuple[Any, ...]], bool]) -> None:
        self.real = real
        self.refuse = refuse

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        if self.refuse(sql, params):
            raise sqlite3.OperationalError("database or disk is full")
        return self.real.execute(sql, params)

    def close(self) -> None:
        self.real.close()
