"""The processor inside the local stack: a raw upload becomes a playable HLS package on the local CDN."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from local.stack import LocalStack


def wait_until_settled(url: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(url).json()
        if status["status"] in ("ready", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"job at {url} did not settle in {timeout} s")


def test_raw_upload_is_transcoded_published_and_playable_through_the_cdn(
    stack: LocalStack, tmp_path: Path
) -> None:
    clip = tmp_path / "raw.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=24",
         "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
        timeout=60,
    )  # fmt: skip
    with clip.open("rb") as handle:
        accepted = httpx.post(stack.processor_url, files={"file": ("raw.mp4", handle, "video/mp4")})
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    status_url = (
        job["statusUrl"] if job["statusUrl"].startswith("http") else stack.base_url + job["statusUrl"]
    )

    status = wait_until_settled(status_url)
    assert status["status"] == "ready", status
    assert status["playbackUrl"] == f"{stack.base_url}/videos/{job['jobId']}/master.m3u8"

    # ffprobe plays the master playlist over HTTP from the local CDN: every segment is reachable.
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,height",
            "-of",
            "json",
            status["playbackUrl"],
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    heights = {s.get("height") for s in json.loads(probe.stdout)["streams"] if s["codec_type"] == "video"}
    assert heights and max(heights) <= 240  # never upscaled

    # The seed's /media/<jobId>/... path is an alias of the CDN path.
    alias = httpx.get(f"{stack.base_url}/media/{job['jobId']}/master.m3u8", follow_redirects=True)
    assert alias.status_code == 200 and alias.text.startswith("#EXTM3U")


def test_non_video_upload_ends_failed_with_a_clear_error(stack: LocalStack) -> None:
    accepted = httpx.post(
        stack.processor_url, files={"file": ("notes.mp4", b"this is not a video", "video/mp4")}
    )
    assert accepted.status_code == 202
    job = accepted.json()
    status_url = (
        job["statusUrl"] if job["statusUrl"].startswith("http") else stack.base_url + job["statusUrl"]
    )
    status = wait_until_settled(status_url)
    assert status["status"] == "failed"
    assert status["error"]["message"]
