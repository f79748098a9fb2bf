"""Uppy's own S3 plugin (``@uppy/core`` + ``@uppy/aws-s3`` 6.x from npm, pinned in package.json,
bundled with the pinned esbuild) uploads a generated 64 MiB video in 8 MiB parts through the local
stack in Chromium, once in Companion mode (nothing but Uppy's options) and once in signRequest mode
(a few lines calling ``POST /s3/sign``). Each time the page is closed mid-way and a new page resumes
with ``file.s3Multipart = {uploadId, key}`` (as Golden Retriever restores it), sending only the
parts the server does not list; the object has the declared size and bytes, and plays.

The job then completes (the local stack's jobs machinery: S3's event after CompleteMultipartUpload
to the jobs function); a stack without a jobs table skips that one test, saying so.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from local.s3_emulator import s3_client
from local.stack import REPO_ROOT, LocalSettings, LocalStack, free_port
from tests.local.conftest import quick_processor
from tests.local.test_browser import CHROMIUM, CHROMIUM_ARGS, _require, screenshot

BROWSER_DIR = Path(__file__).with_name("browser")
ENTRY = BROWSER_DIR / "uppy-entry.js"
PAGE = BROWSER_DIR / "uppy.html"
BUNDLE = REPO_ROOT / "build" / "browser" / "uppy.bundle.js"
ESBUILD = REPO_ROOT / "node_modules" / ".bin" / "esbuild"
MIB = 1024**2
SIZE = 64 * MIB + 123_457  # nine parts of 8 MiB, the last one short
PARTS = 9
STOP_AFTER = 3


def build_bundle() -> Path:
    """Bundle Uppy for the page with the pinned esbuild (when missing or older than its inputs)."""
    if not ESBUILD.is_file() or not (REPO_ROOT / "node_modules" / "@uppy" / "aws-s3").is_dir():
        reason = "the Uppy browser tests need @uppy/* and esbuild from npm: run make setup"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    lock = REPO_ROOT / "package-lock.json"
    if BUNDLE.is_file() and BUNDLE.stat().st_mtime > max(ENTRY.stat().st_mtime, lock.stat().st_mtime):
        return BUNDLE
    BUNDLE.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(ESBUILD), str(ENTRY), "--bundle", "--format=iife", "--target=es2022", "--log-level=warning",
         f"--outfile={BUNDLE}"],
        cwd=REPO_ROOT, check=True, timeout=120,
    )  # fmt: skip
    return BUNDLE


class _Files(http.server.SimpleHTTPRequestHandler):
    routes: ClassVar[dict[str, Path]] = {}

    def translate_path(self, path: str) -> str:
        return str(self.routes.get(path.split("?", 1)[0], "/nonexistent"))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def uppy_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    _require()
    bundle = build_bundle()
    clip = tmp_path_factory.mktemp("uppy-raw") / "raw.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=24",
         "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
         str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    routes = {"/": PAGE, "/uppy.bundle.js": bundle, "/raw.mp4": clip}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Files", (_Files,), {"routes": routes}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def uppy_stack(uppy_origin: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    data = tmp_path_factory.mktemp("uppy-stack")
    settings = LocalSettings(port=free_port(), s3_port=free_port(), data_dir=data,
                             cors_allowed_origins=(f"http://127.0.0.1:{uppy_origin}",))  # fmt: skip
    with LocalStack(settings, quick_processor(data)) as running:
        yield running


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _require()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("uppy-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield context
        context.close()


def open_page(chromium: Any, origin: int) -> tuple[Any, list[int]]:
    """A fresh page and the part numbers it PUTs to S3 (seen on the wire, not reported by Uppy)."""
    page = chromium.new_page()
    page.set_default_timeout(240_000)
    sent: list[int] = []

    def on_request(request: Any) -> None:
        query = parse_qs(urlsplit(request.url).query)
        if request.method == "PUT" and "partNumber" in query:
            sent.append(int(query["partNumber"][0]))

    page.on("request", on_request)
    page.goto(f"http://127.0.0.1:{origin}/")
    page.wait_for_function("window.luxUppy !== undefined")
    return page, sent


def settled_parts(s3: Any, bucket: str, resume: dict[str, str]) -> list[int]:
    """The parts S3 lists once the part that was in flight when the page closed has landed or not
    (the server may still be receiving it): the same listing twice, half a second apart."""
    previous: list[int] | None = None
    for _ in range(40):
        listed = s3.list_parts(Bucket=bucket, Key=resume["key"], UploadId=resume["uploadId"])
        current = sorted(p["PartNumber"] for p in listed.get("Parts", []))
        if current == previous:
            return current
        previous = current
        time.sleep(0.5)
    raise AssertionError(f"the listing never settled: {previous}")


def upload_and_resume(chromium: Any, stack: LocalStack, origin: int, mode: str) -> dict[str, Any]:
    job = f"uppy-{mode.lower()}"
    options = {"mode": mode, "api": stack.base_url, "jobId": job, "path": "video/movie.mp4", "size": SIZE}
    first, first_sent = open_page(chromium, origin)
    stopped = first.evaluate("(o) => luxUppy.upload(o)", {**options, "stopAfterParts": STOP_AFTER})
    first.close()  # mid-way: the part in flight is cut off
    assert stopped.get("stopped") and "error" not in stopped, stopped
    s3 = s3_client(stack.emulator.endpoint_url)
    resume = stopped["s3Multipart"]
    on_server = settled_parts(s3, stack.config.bucket_name, resume)
    second, second_sent = open_page(chromium, origin)
    done = second.evaluate("(o) => luxUppy.upload(o)", {**options, "resume": resume})
    playback = (
        second.evaluate("(url) => luxUppy.play(url)", f"{stack.base_url}/{resume['key']}")
        if "success" in done
        else None
    )
    screenshot(second, f"uppy-{mode}-resumed")
    second.close()
    return {"stopped": stopped, "done": done, "on_server": on_server, "first_sent": first_sent,
            "second_sent": second_sent, "playback": playback, "job": job}  # fmt: skip


@pytest.fixture(scope="module", params=["companion", "signRequest"])
def run(
    request: pytest.FixtureRequest, chromium: Any, uppy_stack: LocalStack, uppy_origin: int
) -> dict[str, Any]:
    return {**upload_and_resume(chromium, uppy_stack, uppy_origin, request.param), "mode": request.param}


def test_uppy_uploads_in_parts_and_resumes_sending_only_the_missing_parts(
    run: dict[str, Any], uppy_stack: LocalStack
) -> None:
    done = run["done"]
    assert "error" not in done and done.get("success"), done
    key = run["stopped"]["s3Multipart"]["key"]
    assert (
        key == f"{uppy_stack.config.prefix}{run['job']}/video/movie.mp4"
    )  # the job key, not the file's name
    assert len(run["on_server"]) >= STOP_AFTER and run["on_server"] == list(
        range(1, len(run["on_server"]) + 1)
    )
    # The new page sent exactly the parts the server did not list, each once.
    assert sorted(run["second_sent"]) == [n for n in range(1, PARTS + 1) if n not in run["on_server"]], run
    stored = s3_client(uppy_stack.emulator.endpoint_url).get_object(
        Bucket=uppy_stack.config.bucket_name, Key=key
    )
    body = stored["Body"].read()
    assert len(body) == SIZE and stored["ContentType"] == "video/mp4"
    assert hashlib.sha256(body).hexdigest() == run["stopped"]["sha256"] == done["sha256"]
    assert run["playback"] and run["playback"]["outcome"] == "playing", run["playback"]


def test_the_job_of_the_upload_completes(run: dict[str, Any], uppy_stack: LocalStack) -> None:
    if "JOBS_TABLE" not in uppy_stack.signer_environment():
        pytest.skip("the local stack runs no jobs machinery (jobs table, S3 events) on this branch")
    deadline = time.monotonic() + 15  # S3's event reaches the jobs function within seconds
    while True:
        status = httpx.get(f"{uppy_stack.base_url}/jobs/{run['job']}", timeout=10)
        finished = status.status_code == 200 and status.json()["status"] in (
            "complete",
            "processing",
            "ready",
        )
        if finished or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert finished, status.text
