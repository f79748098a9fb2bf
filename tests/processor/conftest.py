"""Fixtures for the processor tests: tiny generated clips, test settings and a recording publisher."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local.processor.settings import ProcessorSettings

CDN = "http://cdn.test"


def _generate(path: Path, *, size: str, seconds: float, audio: bool) -> Path:
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=24"]
    if audio:
        command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
    command += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        command += ["-c:a", "aac"]
    subprocess.run([*command, str(path)], check=True, timeout=60)
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2 s 480x360 clip with audio (one 360p rendition, never upscaled) and a 1 s silent 320x240 one."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    folder = tmp_path_factory.mktemp("clips")
    return {
        "av": _generate(folder / "av.mp4", size="480x360", seconds=2, audio=True),
        "silent": _generate(folder / "silent.mkv", size="320x240", seconds=1, audio=False),
    }


@pytest.fixture
def settings(tmp_path: Path) -> ProcessorSettings:
    return ProcessorSettings(
        data_dir=tmp_path / "data",
        max_upload_bytes=5 * 1024 * 1024,
        max_duration_seconds=30,
        x264_preset="ultrafast",
        segment_seconds=1,
        ffmpeg_timeout_seconds=60,
    )


class RecordingPublisher:
    """Copies what it is asked to publish (the processor deletes its own copy afterwards)."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self.published: dict[str, list[str]] = {}
        self.error: Exception | None = None

    def publish(self, job_id: str, root: Path, files: list[str]) -> str | None:
        if self.error is not None:
            raise self.error
        for name in files:
            target = self.destination / job_id / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, target)
        self.published[job_id] = list(files)
        return None


@pytest.fixture
def publisher(tmp_path: Path) -> RecordingPublisher:
    return RecordingPublisher(tmp_path / "bucket")


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


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_for


@pytest.fixture
def probe_json() -> Callable[..., dict[str, Any]]:
    return ffprobe_json
