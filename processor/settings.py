"""The processor's configuration: one frozen dataclass, read from the environment in one place."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lambda_src.sign_uploads.config import DEFAULT_MAX_FILES as SIGNER_DEFAULT_MAX_FILES

# Defaults, stated once. Environment variables override them (see ``from_env``).
DEFAULT_DATA_DIR = Path(".processor")
DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024**3  # 2 GiB: a few minutes of 4K phone video
DEFAULT_MAX_DURATION_SECONDS = 600.0
# ffprobe format names (one of the comma-separated parts of ``format_name`` must be listed).
DEFAULT_ALLOWED_CONTAINERS: frozenset[str] = frozenset(
    {"mov", "mp4", "m4a", "3gp", "matroska", "webm", "avi", "mpegts"}
)
DEFAULT_WORKERS = 1
DEFAULT_FFMPEG = "ffmpeg"
DEFAULT_FFPROBE = "ffprobe"
DEFAULT_FFMPEG_TIMEOUT_SECONDS = 1800.0
DEFAULT_X264_PRESET = "veryfast"
DEFAULT_SEGMENT_SECONDS = 4
# 4096x2304 (9.4 Mpx): every 4K mode phones record (3840x2160 UHD, 4096x2160 DCI, 16:9 4096x2304).
# An 8K upload (33 Mpx) is refused: its decoded frames alone need ~50 MB each.
DEFAULT_MAX_PIXELS = 4096 * 2304
DEFAULT_MAX_QUEUED_JOBS = 8  # jobs accepted but not started; more get 503 queue_full
DEFAULT_MIN_FREE_BYTES = 1024**3  # 1 GiB kept free on the data dir's disk
# The signer's per-request file limit (its MAX_FILES, the stack's maxFiles): batches never exceed it.
DEFAULT_MAX_PUBLISH_FILES = SIGNER_DEFAULT_MAX_FILES
DEFAULT_MAX_PUBLISH_BATCHES = 4  # signer requests per job: 4 x 1000 files covers 600 s at 1 s segments

ENV_PREFIX = "LUX_PROCESSOR_"


class ToolMissingError(RuntimeError):
    """ffmpeg or ffprobe cannot be found or run; the message names the binary and how to fix it."""


@dataclass(frozen=True)
class ProcessorSettings:
    data_dir: Path = DEFAULT_DATA_DIR
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_duration_seconds: float = DEFAULT_MAX_DURATION_SECONDS
    allowed_containers: frozenset[str] = field(default=DEFAULT_ALLOWED_CONTAINERS)
    workers: int = DEFAULT_WORKERS
    ffmpeg_path: str = DEFAULT_FFMPEG
    ffprobe_path: str = DEFAULT_FFPROBE
    ffmpeg_timeout_seconds: float = DEFAULT_FFMPEG_TIMEOUT_SECONDS
    x264_preset: str = DEFAULT_X264_PRESET
    segment_seconds: int = DEFAULT_SEGMENT_SECONDS
    include_1080p: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_queued_jobs: int = DEFAULT_MAX_QUEUED_JOBS
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
    max_publish_files: int = DEFAULT_MAX_PUBLISH_FILES
    max_publish_batches: int = DEFAULT_MAX_PUBLISH_BATCHES

    def __post_init__(self) -> None:
        if self.max_upload_bytes <= 0:
            raise ValueError("max_upload_bytes must be positive")
        if self.max_duration_seconds <= 0:
            raise ValueError("max_duration_seconds must be positive")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.ffmpeg_timeout_seconds <= 0:
            raise ValueError("ffmpeg_timeout_seconds must be positive")
        if self.segment_seconds < 1:
            raise ValueError("segment_seconds must be at least 1")
        for name in ("max_pixels", "max_queued_jobs", "max_publish_files", "max_publish_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.min_free_bytes < 0:
            raise ValueError("min_free_bytes must not be negative")

    @property
    def max_job_files(self) -> int:
        """The most files one job may publish: a full batch per allowed signer request."""
        return self.max_publish_files * self.max_publish_batches

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProcessorSettings:
        """Settings from ``LUX_PROCESSOR_*`` variables; anything unset keeps its default."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value.strip() if value and value.strip() else None

        containers = get("ALLOWED_CONTAINERS")
        return cls(
            data_dir=Path(get("DATA_DIR") or DEFAULT_DATA_DIR),
            max_upload_bytes=int(get("MAX_UPLOAD_BYTES") or DEFAULT_MAX_UPLOAD_BYTES),
            max_duration_seconds=float(get("MAX_DURATION_SECONDS") or DEFAULT_MAX_DURATION_SECONDS),
            allowed_containers=(
                frozenset(c.strip().lower() for c in containers.split(",") if c.strip())
                if containers
                else DEFAULT_ALLOWED_CONTAINERS
            ),
            workers=int(get("WORKERS") or DEFAULT_WORKERS),
            ffmpeg_path=get("FFMPEG") or DEFAULT_FFMPEG,
            ffprobe_path=get("FFPROBE") or DEFAULT_FFPROBE,
            ffmpeg_timeout_seconds=float(get("FFMPEG_TIMEOUT_SECONDS") or DEFAULT_FFMPEG_TIMEOUT_SECONDS),
            x264_preset=get("X264_PRESET") or DEFAULT_X264_PRESET,
            segment_seconds=int(get("SEGMENT_SECONDS") or DEFAULT_SEGMENT_SECONDS),
            include_1080p=(get("INCLUDE_1080P") or "0").lower() in {"1", "true", "yes"},
            max_pixels=int(get("MAX_PIXELS") or DEFAULT_MAX_PIXELS),
            max_queued_jobs=int(get("MAX_QUEUED_JOBS") or DEFAULT_MAX_QUEUED_JOBS),
            min_free_bytes=int(get("MIN_FREE_BYTES") or DEFAULT_MIN_FREE_BYTES),
            max_publish_files=int(get("MAX_PUBLISH_FILES") or DEFAULT_MAX_PUBLISH_FILES),
            max_publish_batches=int(get("MAX_PUBLISH_BATCHES") or DEFAULT_MAX_PUBLISH_BATCHES),
        )

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    def check_tools(self) -> None:
        """Fail fast, naming the missing binary, instead of failing every job later."""
        for label, configured, var in (
            ("ffmpeg", self.ffmpeg_path, "FFMPEG"),
            ("ffprobe", self.ffprobe_path, "FFPROBE"),
        ):
            if shutil.which(configured) is None:
                raise ToolMissingError(
                    f"{label} not found (looked for {configured!r}). Install the system package "
                    f"(Debian/Ubuntu: `sudo apt-get install ffmpeg`, macOS: `brew install ffmpeg`) "
                    f"or set {ENV_PREFIX}{var} to its path."
                )
