"""The processor API end to end on tiny generated clips: upload -> ready (outputs checked with ffprobe)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from processor.app import create_app
from processor.jobs import JobStatus, JobStore
from processor.publisher import SignerPublisher
from processor.settings import ProcessorSettings
from tests.processor.processor_fakes import CDN, FakeSignerAndBucket, RecordingPublisher


@pytest.fixture
def client(settings: ProcessorSettings, publisher: RecordingPublisher) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher, CDN + "/")) as test_client:
        yield test_client


def upload(client: TestClient, content: bytes, name: str = "clip.mp4") -> dict[str, Any]:
    response = client.post("/api/videos", files={"file": (name, content, "video/mp4")})
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == body["statusUrl"]
    assert body["statusUrl"].endswith(f"/api/videos/{body['jobId']}")
    return body


def settle(client: TestClient, job_id: str, wait: Callable[..., Any]) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        status = client.get(f"/api/videos/{job_id}").json()
        return status if status["status"] in ("ready", "failed") else None

    return wait(finished)


def test_video_upload_ends_ready_with_valid_hls_and_mp4_published(
    client: TestClient,
    publisher: RecordingPublisher,
    settings: ProcessorSettings,
    clips: dict[str, Path],
    wait: Callable[..., Any],
    probe_json: Callable[..., dict[str, Any]],
) -> None:
    job_id = upload(client, clips["av"].read_bytes())["jobId"]
    status = settle(client, job_id, wait)

    assert status["status"] == "ready", status
    assert status["progress"] == 1.0 and status["error"] is None
    assert status["playbackUrl"] == f"{CDN}/videos/{job_id}/master.m3u8"
    # 480x360 source: the 360p rung only (720p would be an upscale).
    assert [(r["name"], r["width"], r["height"]) for r in status["renditions"]] == [("360p", 480, 360)]
    assert status["renditions"][0]["mp4Url"] == f"{CDN}/videos/{job_id}/360p.mp4"

    files = publisher.published[job_id]
    assert {"master.m3u8", "360p/index.m3u8", "360p/init.mp4", "360p.mp4"} <= set(files)
    assert all(Path(f).suffix in {".m3u8", ".m4s", ".mp4"} for f in files)
    out = publisher.destination / job_id
    master = probe_json(out / "master.m3u8", "-show_programs")
    assert len(master["programs"]) == 1  # one variant per rendition
    media = probe_json(out / "360p/index.m3u8", "-show_streams", "-count_frames")
    video = next(s for s in media["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"], int(video["nb_read_frames"])) == (480, 360, 48)
    assert any(s["codec_type"] == "audio" for s in media["streams"])
    mp4 = probe_json(out / "360p.mp4", "-show_streams")
    assert [(s["codec_name"], s.get("height")) for s in mp4["streams"]] == [("h264", 360), ("aac", None)]

    # Local derived files and the stored upload are gone once published.
    assert not any(settings.work_dir.iterdir()) and not any(settings.uploads_dir.iterdir())
    assert "CODECS=" in (out / "master.m3u8").read_text()


def test_silent_matroska_upload_is_processed_without_audio(
    client: TestClient, publisher: RecordingPublisher, clips: dict[str, Path], wait: Callable[..., Any]
) -> None:
    job_id = upload(client, clips["silent"].read_bytes(), "clip.mkv")["jobId"]
    status = settle(client, job_id, wait)
    assert status["status"] == "ready", status
    assert [(r["name"], r["width"], r["height"]) for r in status["renditions"]] == [("240p", 320, 240)]
    assert "mp4a" not in (publisher.destination / job_id / "master.m3u8").read_text()


def test_text_named_mp4_fails_with_a_clear_error(
    client: TestClient, publisher: RecordingPublisher, wait: Callable[..., Any]
) -> None:
    job_id = upload(client, b"this is not a video, just some text\n" * 10)["jobId"]
    status = settle(client, job_id, wait)
    assert status["status"] == "failed"
    assert status["error"]["code"] == "not_a_video"
    assert "not a video" in status["error"]["message"] and "Invalid data" in status["error"]["message"]
    assert job_id not in publisher.published


def test_too_long_video_fails_naming_the_limit(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    strict = ProcessorSettings(**{**settings.__dict__, "max_duration_seconds": 1.0})
    with TestClient(create_app(strict, publisher, CDN)) as client:
        status = settle(client, upload(client, clips["av"].read_bytes())["jobId"], wait)
    assert status["error"] == {"code": "too_long", "message": "The video is 2.0 s long; the limit is 1 s."}


def test_publish_failure_ends_the_job_failed_with_the_reason(
    client: TestClient, publisher: RecordingPublisher, clips: dict[str, Path], wait: Callable[..., Any]
) -> None:
    publisher.error = RuntimeError("signer said no")
    status = settle(client, upload(client, clips["silent"].read_bytes())["jobId"], wait)
    assert status["status"] == "failed"
    assert status["error"] == {"code": "publish_failed", "message": "Publishing failed: signer said no"}


def test_upload_over_the_limit_is_refused_413_by_content_length(
    settings: ProcessorSettings, client: TestClient
) -> None:
    response = client.post(
        "/api/videos", files={"file": ("big.mp4", b"\0" * (settings.max_upload_bytes + 70_000))}
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "upload_too_large"
    assert error["details"] == [
        {"field": "file", "problem": f"larger than {settings.max_upload_bytes} bytes"}
    ]


def test_upload_over_the_limit_is_refused_413_while_streaming_without_content_length(
    settings: ProcessorSettings, client: TestClient
) -> None:
    boundary = "XyZ"

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
        ).encode()
        for _ in range(settings.max_upload_bytes // 65536 + 2):
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/api/videos", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "upload_too_large"
    assert not any(settings.uploads_dir.iterdir())  # the partial upload is removed


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"files": {"video": ("a.mp4", b"x")}}, "missing_file"),
        ({"data": {"file": "not a file"}, "files": {"other": ("a", b"x")}}, "missing_file"),
        ({"files": {"file": ("a.mp4", b"")}}, "empty_file"),
        ({"content": b"raw", "headers": {"Content-Type": "video/mp4"}}, "invalid_request"),
    ],
)
def test_requests_without_a_usable_file_field_get_400_naming_it(
    client: TestClient, kwargs: dict[str, Any], code: str
) -> None:
    response = client.post("/api/videos", **kwargs)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["details"][0]["field"] == "file"


def test_unknown_job_is_a_json_404(client: TestClient) -> None:
    for job_id in ("0" * 32, "not-a-job"):
        response = client.get(f"/api/videos/{job_id}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "job_not_found"
    assert client.get("/nope").json()["error"]["code"] == "not_found"


def test_media_path_redirects_to_the_same_file_on_the_cdn(client: TestClient) -> None:
    job_id = "ab" * 16
    for method in ("GET", "HEAD"):
        response = client.request(method, f"/media/{job_id}/720p/index.m3u8", follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == f"{CDN}/videos/{job_id}/720p/index.m3u8"
    assert client.get(f"/media/{job_id}/a/%2e%2e/%2e%2e/x", follow_redirects=False).status_code == 404
    assert client.get("/media/other/master.m3u8", follow_redirects=False).status_code == 404


def test_restart_mid_job_leaves_no_job_processing(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    settings.uploads_dir.mkdir(parents=True)
    store = JobStore(settings.db_path)
    interrupted, waiting = "1" * 32, "2" * 32
    store.create(interrupted, settings.uploads_dir / f"{interrupted}.upload")
    store.mark_processing(interrupted)  # the process died here, leaving its files behind
    (settings.uploads_dir / f"{interrupted}.upload").write_bytes(b"partial")
    (settings.work_dir / interrupted / "360p").mkdir(parents=True)
    waiting_upload = settings.uploads_dir / f"{waiting}.upload"
    waiting_upload.write_bytes(clips["silent"].read_bytes())
    store.create(waiting, waiting_upload)
    store.close()

    with TestClient(create_app(settings, publisher, CDN)) as client:
        first = client.get(f"/api/videos/{interrupted}").json()
        assert first["status"] == "failed"
        assert first["error"] == {"code": "interrupted", "message": "interrupted by restart"}
        assert settle(client, waiting, wait)["status"] == "ready"  # the queued job was re-queued
    assert not any(settings.work_dir.iterdir()) and not any(settings.uploads_dir.iterdir())


def test_ffmpeg_timeout_fails_the_job_with_the_reason(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    hung = ProcessorSettings(
        **{
            **settings.__dict__,
            "ffmpeg_path": str(_slow_ffmpeg(settings.data_dir.parent)),
            "ffmpeg_timeout_seconds": 0.5,
        }
    )
    with TestClient(create_app(hung, publisher, CDN)) as client:
        status = settle(client, upload(client, clips["silent"].read_bytes())["jobId"], wait)
    assert status["status"] == "failed"
    assert status["error"] == {
        "code": "timeout",
        "message": "ffmpeg did not finish within 0.5 s and was killed.",
    }


def test_container_outside_the_allowed_list_fails_naming_it(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    webm_only = ProcessorSettings(**{**settings.__dict__, "allowed_containers": frozenset({"webm"})})
    with TestClient(create_app(webm_only, publisher, CDN)) as client:
        status = settle(client, upload(client, clips["av"].read_bytes())["jobId"], wait)
    assert status["error"]["code"] == "unsupported_container"
    assert "'mov,mp4,m4a,3gp,3g2,mj2' is not accepted (allowed: webm)" in status["error"]["message"]


def test_shutdown_mid_transcode_puts_the_job_back_in_the_queue(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    slow = ProcessorSettings(
        **{**settings.__dict__, "ffmpeg_path": str(_slow_ffmpeg(settings.data_dir.parent))}
    )
    with TestClient(create_app(slow, publisher, CDN)) as client:
        job_id = upload(client, clips["silent"].read_bytes())["jobId"]
        wait(lambda: client.get(f"/api/videos/{job_id}").json()["status"] == "processing")
    store = JobStore(settings.db_path)
    job = store.get(job_id)
    assert job is not None and job.status is JobStatus.QUEUED and job.upload_path.is_file()


def _slow_ffmpeg(folder: Path) -> Path:
    """An "ffmpeg" that hangs, standing in for a long transcode."""
    script = folder / "slow-ffmpeg"
    script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(0o755)
    return script


def test_real_signer_publisher_through_the_app(
    settings: ProcessorSettings, clips: dict[str, Path], wait: Callable[..., Any]
) -> None:
    fake = FakeSignerAndBucket()
    signer = SignerPublisher("http://signer.test/", httpx.Client(transport=httpx.MockTransport(fake.handle)))
    with TestClient(create_app(settings, signer, CDN)) as client:
        job_id = upload(client, clips["silent"].read_bytes())["jobId"]
        status = settle(client, job_id, wait)
    assert status["status"] == "ready", status
    assert status["playbackUrl"] == f"http://cdn.test/videos/{job_id}/master.m3u8"
    assert {f"videos/{job_id}/master.m3u8", f"videos/{job_id}/240p.mp4"} <= set(fake.objects)
