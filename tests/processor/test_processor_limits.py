"""Limits the processor enforces on what it really reads, not on what a header claims: duration,
pixel count, and the number of files a job publishes (the signer's per-request limit)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from processor import pipeline, runner
from processor.app import create_app
from processor.publisher import SignerPublisher, batches
from processor.settings import ProcessorSettings
from tests.processor.processor_fakes import CDN, FakeSignerAndBucket, RecordingPublisher
from tests.processor.test_processor_app import settle, upload

# Failing a hostile job is bounded by this (the issue's "within 30 s"); it is not a speed assertion.
FAIL_WITHIN_SECONDS = 30.0


def issue_settings(settings: ProcessorSettings) -> ProcessorSettings:
    """The test settings with the limit the issue names, read the way the processor reads it."""
    limits = ProcessorSettings.from_env({"LUX_PROCESSOR_MAX_DURATION_SECONDS": "600"})
    assert limits.max_duration_seconds == 600
    return ProcessorSettings(**{**settings.__dict__, "max_duration_seconds": limits.max_duration_seconds})


@pytest.fixture
def transcodes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records every transcode the worker starts (and still runs it)."""
    started: list[Path] = []
    real = pipeline.transcode

    def spy(source: Path, *args: Any, **kwargs: Any) -> list[str]:
        started.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(pipeline, "transcode", spy)
    return started


def run_job(
    settings: ProcessorSettings, publisher: Any, clip: Path, wait: Callable[..., Any], name: str = "clip.mkv"
) -> dict[str, Any]:
    with TestClient(create_app(settings, publisher, CDN)) as client:
        job_id = upload(client, clip.read_bytes(), name)["jobId"]
        return settle(client, job_id, lambda check: wait(check, timeout=FAIL_WITHIN_SECONDS))


# --- duration: what the packets and the decoder hold, not the header -----------------------------


def test_a_header_claiming_1s_on_700s_of_video_fails_too_long_at_a_600s_limit(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    hostile: dict[str, Path],
    transcodes: list[Path],
    wait: Callable[..., Any],
    probe_json: Callable[..., dict[str, Any]],
) -> None:
    clip = hostile["long_claims_1s"]
    assert float(probe_json(clip, "-show_format")["format"]["duration"]) == 1.0  # the lie ffprobe believes

    status = run_job(issue_settings(settings), publisher, clip, wait)

    assert status["status"] == "failed"
    assert status["error"]["code"] == "too_long" and "duration" in status["error"]["message"]
    assert "600 s" in status["error"]["message"]
    assert transcodes == []  # refused from its packets: nothing was decoded or encoded
    assert publisher.published == {}
    assert not any(settings.work_dir.iterdir()) and not any(settings.uploads_dir.iterdir())


def test_the_same_lie_on_a_video_within_the_limit_is_still_processed(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    hostile: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    status = run_job(issue_settings(settings), publisher, hostile["short_claims_1s"], wait)
    assert status["status"] == "ready", status


def test_the_transcode_itself_stops_when_decoded_output_passes_the_limit(
    tmp_path: Path, hostile: dict[str, Path]
) -> None:
    """The second guard, on the encode: if the packet check were fooled, ``-t`` and the progress
    watcher still stop ffmpeg just past the limit (a 2 s limit here, to stay fast)."""
    renditions = pipeline.plan_renditions(32, 32)
    (tmp_path / renditions[0].name).mkdir()
    command = pipeline.single_pass_command(
        hostile["long_claims_1s"], renditions, has_audio=False, preset="ultrafast", max_seconds=2
    )
    with pytest.raises(pipeline.ProcessingError) as caught:
        runner.run_ffmpeg(command, cwd=tmp_path, timeout=FAIL_WITHIN_SECONDS, duration=1.0, max_seconds=2)
    assert caught.value.code == "too_long" and "duration" in caught.value.message


def test_at_600s_the_decode_is_capped_just_past_the_limit_and_watched() -> None:
    source = Path("/in.mkv")
    transcode = pipeline.single_pass_command(
        source, pipeline.plan_renditions(360, 640), has_audio=True, max_seconds=600, max_pixels=100
    )
    measure = pipeline.measure_command(source, has_audio=True, max_seconds=600)
    for command in (transcode, measure):
        # -t before -i limits what is read from the input, whatever the header says.
        assert command[command.index("-t") + 1] == "601" and command.index("-t") < command.index("-i")
        assert command[command.index("-progress") + 1] == "pipe:1"
    assert measure[-7:] == ["-c", "copy", "-progress", "pipe:1", "-f", "null", "-"]  # nothing decoded

    watcher = runner.ProgressWatcher(max_seconds=600, duration=1.0)
    for line in ("out_time_us=1000000", "out_time_us=600000000", "out_time_us=600400000"):
        watcher.feed(line)
    assert not watcher.exceeded  # 600.4 s: within the rounding tolerance
    watcher.feed("out_time_us=601000000")
    assert watcher.exceeded and watcher.too_long().code == "too_long"


def test_a_failing_progress_callback_does_not_stop_the_watcher() -> None:
    def broken(fraction: float) -> None:
        raise RuntimeError("database is locked")

    watcher = runner.ProgressWatcher(max_seconds=10, duration=5.0, on_progress=broken)
    watcher.feed("out_time_us=2000000")
    watcher.feed("out_time_us=11000000")
    assert watcher.seconds == 11.0 and watcher.exceeded


# --- pixel count --------------------------------------------------------------------------------


def test_a_tiny_file_claiming_16000x16000_fails_on_its_pixel_count_before_any_decoding(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    hostile: dict[str, Path],
    transcodes: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    wait: Callable[..., Any],
) -> None:
    clip = hostile["claims_16000"]
    assert clip.stat().st_size < 2048
    measured: list[Path] = []
    monkeypatch.setattr(pipeline, "measure_duration", lambda source, *a, **k: measured.append(source) or 1.0)

    status = run_job(issue_settings(settings), publisher, clip, wait, "clip.mov")

    assert status["status"] == "failed"
    assert status["error"]["code"] == "too_many_pixels"
    assert "resolution 16000x16000" in status["error"]["message"]
    assert str(settings.max_pixels) in status["error"]["message"]
    assert transcodes == [] and measured == []  # ffmpeg never started
    assert not any(settings.uploads_dir.iterdir())


def test_a_frame_larger_than_the_limit_is_refused_by_the_decoder_too(
    tmp_path: Path, clips: dict[str, Path]
) -> None:
    """A stream can change size after the frame ffprobe looked at: the decoder enforces the limit."""
    renditions = pipeline.plan_renditions(240, 320)
    (tmp_path / renditions[0].name).mkdir()
    command = pipeline.single_pass_command(
        clips["silent"], renditions, has_audio=False, preset="ultrafast", max_pixels=320 * 240 - 1
    )
    with pytest.raises(pipeline.ProcessingError) as caught:
        runner.run_ffmpeg(command, cwd=tmp_path, timeout=FAIL_WITHIN_SECONDS)
    assert caught.value.code == "too_many_pixels" and "resolution" in caught.value.message


def test_default_pixel_limit_takes_every_4k_mode_and_refuses_8k() -> None:
    limit = ProcessorSettings().max_pixels
    assert 4096 * 2304 <= limit < 7680 * 4320
    assert ProcessorSettings.from_env({"LUX_PROCESSOR_MAX_PIXELS": "1000"}).max_pixels == 1000


# --- files per job and per signer request --------------------------------------------------------


def test_publishing_goes_in_batches_within_the_signers_file_limit(
    settings: ProcessorSettings, clips: dict[str, Path], wait: Callable[..., Any]
) -> None:
    fake = FakeSignerAndBucket()
    fake.max_files = 3  # the signer's MAX_FILES
    signer = SignerPublisher("http://signer.test/", httpx.Client(transport=httpx.MockTransport(fake.handle)))
    batched = ProcessorSettings(**{**settings.__dict__, "max_publish_files": 3})

    status = run_job(batched, signer, clips["av"], wait, "clip.mp4")

    assert status["status"] == "ready", status
    sizes = [len(r["files"]) for r in fake.signer_requests]
    paths = [f["path"] for r in fake.signer_requests for f in r["files"]]
    assert len(paths) > 3 and max(sizes) <= 3 and len(sizes) == -(-len(paths) // 3)
    job_id = status["jobId"]
    assert len(paths) == len(set(paths)) and {f"videos/{job_id}/{p}" for p in paths} == set(fake.objects)
    assert paths[-1] == "master.m3u8"  # the master goes last, after everything it points at
    assert {r["jobId"] for r in fake.signer_requests} == {job_id}


def test_without_batching_that_signer_would_refuse_the_job(
    settings: ProcessorSettings, clips: dict[str, Path], wait: Callable[..., Any]
) -> None:
    """The control for the test above: the fake signer really enforces its limit."""
    fake = FakeSignerAndBucket()
    fake.max_files = 3
    signer = SignerPublisher("http://signer.test/", httpx.Client(transport=httpx.MockTransport(fake.handle)))
    status = run_job(settings, signer, clips["av"], wait, "clip.mp4")
    assert status["status"] == "failed" and "too_many_files" in status["error"]["message"]


def test_a_job_that_would_publish_too_many_files_fails_before_transcoding(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    transcodes: list[Path],
    wait: Callable[..., Any],
) -> None:
    # 2 s at 1 s segments: 1 rendition x (3 segments + init + playlist + mp4) + master = 7 files.
    strict = ProcessorSettings(**{**settings.__dict__, "max_publish_files": 3, "max_publish_batches": 2})
    status = run_job(strict, publisher, clips["av"], wait, "clip.mp4")
    assert status["status"] == "failed"
    assert status["error"]["code"] == "too_many_files"
    assert "7 files; the limit is 6 (2 signer requests of at most 3 files)" in status["error"]["message"]
    assert transcodes == [] and publisher.published == {}


def test_the_file_count_is_checked_again_on_the_real_outputs_before_publishing(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    transcodes: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    wait: Callable[..., Any],
) -> None:
    monkeypatch.setattr(pipeline, "planned_file_count", lambda *args: 1)  # an estimate that is wrong
    strict = ProcessorSettings(**{**settings.__dict__, "max_publish_files": 3, "max_publish_batches": 1})
    status = run_job(strict, publisher, clips["av"], wait, "clip.mp4")
    assert status["status"] == "failed" and status["error"]["code"] == "too_many_files"
    assert len(transcodes) == 1 and publisher.published == {}
    assert not any(settings.work_dir.iterdir())


def test_batches_respect_the_count_and_put_playlists_after_media(tmp_path: Path) -> None:
    files = ["master.m3u8", "360p/index.m3u8", "360p/init.mp4", "360p/seg_0000.m4s", "360p.mp4"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert batches(tmp_path, files, 2) == [
        ["360p.mp4", "360p/init.mp4"],
        ["360p/seg_0000.m4s", "360p/index.m3u8"],
        ["master.m3u8"],
    ]
    assert batches(tmp_path, files, 1000) == [[f for b in batches(tmp_path, files, 2) for f in b]]


def test_the_default_per_request_limit_is_the_signers_own() -> None:
    from lambda_src.sign_uploads.config import DEFAULT_MAX_FILES

    assert ProcessorSettings().max_publish_files == DEFAULT_MAX_FILES
    env = {"LUX_PROCESSOR_MAX_PUBLISH_FILES": "50", "LUX_PROCESSOR_MAX_PUBLISH_BATCHES": "2"}
    assert ProcessorSettings.from_env(env).max_job_files == 100


def test_the_default_limits_never_refuse_a_valid_video_for_its_file_count() -> None:
    """The worst valid case: the longest video, 1 s segments, every rung."""
    settings = ProcessorSettings(segment_seconds=1, include_1080p=True)
    rungs = pipeline.plan_renditions(2160, 3840, include_1080p=True)
    worst = pipeline.planned_file_count(rungs, settings.max_duration_seconds, settings.segment_seconds)
    assert len(rungs) == 3 and settings.max_publish_files < worst <= settings.max_job_files
