"""Fixtures for the processor tests: tiny generated clips, test settings and a recording publisher."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from processor.settings import ProcessorSettings
from tests.processor.processor_fakes import RecordingPublisher, ffprobe_json, wait_for


def _generate(path: Path, *, size: str, seconds: float, audio: bool) -> Path:
    command = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size={size}:rate=24",
    ]
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
        pytest.fail("ffmpeg is not installed: run `make setup` (Debian package ffmpeg)")
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
        min_free_bytes=0,  # tests that need the free-space check replace worker.free_bytes
    )


@pytest.fixture
def publisher(tmp_path: Path) -> RecordingPublisher:
    return RecordingPublisher(tmp_path / "bucket")


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_for


@pytest.fixture
def probe_json() -> Callable[..., dict[str, Any]]:
    return ffprobe_json
