"""Settings from the environment, and the fail-fast tool check ``make dev`` relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.settings import DEFAULT_ALLOWED_CONTAINERS, ProcessorSettings, ToolMissingError


def test_unset_variables_keep_the_defaults() -> None:
    settings = ProcessorSettings.from_env({})
    assert settings == ProcessorSettings()
    assert settings.workers == 1 and settings.allowed_containers == DEFAULT_ALLOWED_CONTAINERS


def test_environment_overrides_each_setting() -> None:
    settings = ProcessorSettings.from_env(
        {
            "LUX_PROCESSOR_DATA_DIR": "/tmp/p",
            "LUX_PROCESSOR_MAX_UPLOAD_BYTES": "1000",
            "LUX_PROCESSOR_MAX_DURATION_SECONDS": "12.5",
            "LUX_PROCESSOR_ALLOWED_CONTAINERS": " MP4, webm ",
            "LUX_PROCESSOR_WORKERS": "2",
            "LUX_PROCESSOR_FFMPEG_TIMEOUT_SECONDS": "9",
            "LUX_PROCESSOR_INCLUDE_1080P": "true",
        }
    )
    assert settings.data_dir == Path("/tmp/p") and settings.db_path == Path("/tmp/p/jobs.sqlite3")
    assert (settings.max_upload_bytes, settings.max_duration_seconds, settings.workers) == (1000, 12.5, 2)
    assert settings.allowed_containers == frozenset({"mp4", "webm"})
    assert settings.ffmpeg_timeout_seconds == 9 and settings.include_1080p


def test_invalid_values_are_refused() -> None:
    with pytest.raises(ValueError, match="workers"):
        ProcessorSettings.from_env({"LUX_PROCESSOR_WORKERS": "0"})


def test_check_tools_names_the_missing_binary_and_the_fix() -> None:
    ProcessorSettings().check_tools()  # installed on this machine
    with pytest.raises(
        ToolMissingError, match=r"ffprobe not found \(looked for '/nowhere/ffprobe'\).*apt-get"
    ):
        ProcessorSettings(ffprobe_path="/nowhere/ffprobe").check_tools()


def test_hardening_limits_come_from_the_environment_and_are_validated() -> None:
    settings = ProcessorSettings.from_env(
        {
            "LUX_PROCESSOR_MAX_PIXELS": "2073600",
            "LUX_PROCESSOR_MAX_QUEUED_JOBS": "3",
            "LUX_PROCESSOR_MIN_FREE_BYTES": "0",
            "LUX_PROCESSOR_MAX_PUBLISH_FILES": "200",
            "LUX_PROCESSOR_MAX_PUBLISH_BATCHES": "5",
        }
    )
    assert (settings.max_pixels, settings.max_queued_jobs, settings.min_free_bytes) == (2073600, 3, 0)
    assert (settings.max_publish_files, settings.max_job_files) == (200, 1000)
    for name in ("MAX_PIXELS", "MAX_QUEUED_JOBS", "MAX_PUBLISH_FILES", "MAX_PUBLISH_BATCHES"):
        with pytest.raises(ValueError, match=name.lower()):
            ProcessorSettings.from_env({f"LUX_PROCESSOR_{name}": "0"})
    with pytest.raises(ValueError, match="min_free_bytes"):
        ProcessorSettings.from_env({"LUX_PROCESSOR_MIN_FREE_BYTES": "-1"})
