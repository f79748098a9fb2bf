"""A real local stack on free loopback ports, shared by the module's tests and stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local.stack import LocalSettings, LocalStack, free_port
from processor.settings import ProcessorSettings


def quick_processor(data: Path) -> ProcessorSettings:
    """Processor settings for tests: small limits, the fastest x264 preset, 1 s segments."""
    return ProcessorSettings(
        data_dir=data / "processor",
        max_upload_bytes=2 * 1024 * 1024,
        max_duration_seconds=30,
        x264_preset="ultrafast",
        segment_seconds=1,
        ffmpeg_timeout_seconds=60,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    data = tmp_path_factory.mktemp("local")
    settings = LocalSettings(port=free_port(), s3_port=free_port(), data_dir=data)
    with LocalStack(settings, quick_processor(data)) as running:
        yield running


@pytest.fixture(scope="module")
def hls_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real HLS package (master + media playlist + TS segments) made by ffmpeg."""
    import subprocess

    folder = tmp_path_factory.mktemp("hls")
    (folder / "360p").mkdir()
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "2",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
            "-hls_segment_filename", str(folder / "360p" / "seg_%03d.ts"),
            str(folder / "360p" / "index.m3u8"),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    (folder / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x120\n360p/index.m3u8\n"
    )
    return folder
