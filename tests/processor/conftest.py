"""Fixtures for the processor tests: tiny generated clips, test settings and a recording publisher."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from processor.settings import ProcessorSettings
from tests.processor.processor_fakes import (
    RecordingPublisher,
    claim_mov_dimensions,
    ffprobe_json,
    generate,
    patch_matroska_duration,
    wait_for,
)


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


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Uploads that lie in their headers.

    ``long_claims_1s``: 700 s of 32x32 video whose Matroska header says 1 s (over a 600 s limit).
    ``short_claims_1s``: the same lie on 3 s of video: within any limit, so it must still pass.
    ``claims_16000``: a 1 KB single-frame MJPEG MOV claiming 16000x16000 (256 Mpx).
    """
    folder = tmp_path_factory.mktemp("hostile")
    clips = {}
    for name, seconds in (("long_claims_1s", 700), ("short_claims_1s", 3)):
        path = generate(
            folder / f"{name}.mkv",
            *("-f", "lavfi", "-i", "color=c=gray:size=32x32:rate=2", "-t", str(seconds)),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        )
        patch_matroska_duration(path, 1.0)
        clips[name] = path
    small = generate(
        folder / "claims_16000.mov",
        *("-f", "lavfi", "-i", "color=c=black:size=16x16:rate=1", "-frames:v", "1", "-c:v", "mjpeg"),
    )
    claim_mov_dimensions(small, 16000, 16000)
    clips["claims_16000"] = small
    return clips


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
