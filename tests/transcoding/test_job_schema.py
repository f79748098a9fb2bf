"""One job JSON for the app in both places: for the same 2 s 480x360 clip, the local processor's
``GET /api/videos/{jobId}`` (started by the raw upload's event and by ``POST /api/videos``) and the
cloud's ``GET /jobs/{jobId}`` (MediaConvert, through the job record) fit
``schemas/job_status.schema.json`` at every status, and agree on the contract's fields."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from starlette.testclient import TestClient

from lambda_src.sign_uploads import events, transcoding_handler
from processor.app import create_app
from processor.settings import ProcessorSettings
from tests.jobs.test_lifecycle import api
from tests.processor.processor_fakes import CDN, RecordingPublisher
from tests.signer.support import BUCKET
from tests.transcoding.conftest import SUBJECT, probe_reply, uploaded_source
from tests.transcoding.test_state_change import mediaconvert_event
from tests.transcoding.test_submit import MEDIACONVERT_JOB

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "job_status.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CONTRACT = ("jobId", "status", "playbackUrl", "renditions")


def valid(body: dict[str, Any]) -> dict[str, Any]:
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(body)]
    assert errors == [], errors
    return body


def test_the_schema_catches_what_would_break_the_app() -> None:
    ready = {"jobId": "j1", "status": "ready", "playbackUrl": "https://cdn/x/master.m3u8",
             "renditions": [{"name": "360p", "width": 480, "height": 360, "playlistUrl": "https://cdn/a.m3u8",
                             "mp4Url": "https://cdn/a.mp4"}]}  # fmt: skip
    valid(ready)
    for broken in (
        {**ready, "playbackUrl": None},
        {**ready, "renditions": []},
        {**ready, "status": "done"},
        {**ready, "renditions": [{"name": "360p"}]},
        {k: v for k, v in ready.items() if k != "renditions"},
        {**ready, "status": "failed"},  # no error
        {**ready, "status": "failed", "error": {"code": "Transcode Failed", "message": "x"}},
    ):
        assert list(VALIDATOR.iter_errors(broken)), broken


# --- the local processor ----------------------------------------------------------------------------


def raw_upload_event(job_id: str) -> dict[str, Any]:
    record = {"pk": job_id, "jobId": job_id, "prefix": f"videos/{job_id}/", "status": "complete",
              "files": {"source.mp4": {"s": 1, "a": 1}}, "completedAt": 0}  # fmt: skip
    entry = events.job_event(events.UPLOAD_JOB_COMPLETED, record, public_base_url=CDN, now=0)
    return {
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "detail": json.loads(entry["Detail"]),
    }


@pytest.fixture
def processor(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
) -> Iterator[tuple[TestClient, list[str]]]:
    fetched: list[str] = []

    def fetch(key: str, destination: Path) -> int:
        fetched.append(key)
        shutil.copyfile(clips["av"], destination)
        return destination.stat().st_size

    with TestClient(create_app(settings, publisher, CDN + "/", fetch_source=fetch)) as client:
        yield client, fetched


def settle(client: TestClient, job_id: str, wait: Callable[..., Any]) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        body = valid(client.get(f"/api/videos/{job_id}").json())
        return body if body["status"] in ("ready", "failed") else None

    return wait(finished)


def local_ready(processor: tuple[TestClient, list[str]], wait: Callable[..., Any]) -> dict[str, Any]:
    client, fetched = processor
    job_id = "clip-0001"
    on_event = client.app.state.on_job_event  # type: ignore[attr-defined]
    assert on_event(raw_upload_event(job_id)) == job_id
    assert fetched == [f"videos/{job_id}/source.mp4"]
    valid(client.get(f"/api/videos/{job_id}").json())  # queued or processing
    body = settle(client, job_id, wait)
    # Redelivered (or re-announced when the processor publishes into the job): nothing new starts.
    assert on_event(raw_upload_event(job_id)) == job_id and len(fetched) == 1
    return body


def test_the_processor_starts_from_the_raw_uploads_event_and_from_post(
    processor: tuple[TestClient, list[str]],
    wait: Callable[..., Any],
    clips: dict[str, Path],
) -> None:
    body = local_ready(processor, wait)
    assert body["status"] == "ready" and body["playbackUrl"] == f"{CDN}/videos/clip-0001/master.m3u8"
    client, _ = processor
    posted = client.post("/api/videos", files={"file": ("clip.mp4", clips["av"].read_bytes(), "video/mp4")})
    assert settle(client, posted.json()["jobId"], wait)["status"] == "ready"
    not_a_source = raw_upload_event("clip-0002")
    not_a_source["detail"].pop("source")
    assert client.app.state.on_job_event(not_a_source) is None  # type: ignore[attr-defined]


# --- the same clip in the cloud -----------------------------------------------------------------------


def cloud_ready(transcoder: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    source = uploaded_source(transcoder)
    detail = source["event"]["detail"]
    job_id, prefix = detail["jobId"], detail["prefix"]
    pk = prefix[len("videos/") : -1]
    seen = []

    def view() -> dict[str, Any]:
        status, body = api("GET /jobs/{jobId}", job_id, transcoder, SUBJECT)
        assert status == 200
        seen.append(valid(body))
        return body

    view()  # complete
    transcoder["stubber"].add_response("probe", probe_reply(duration=2, width=480, height=360))
    transcoder["stubber"].add_response("create_job", {"Job": MEDIACONVERT_JOB})
    transcoding_handler.handler(source["event"], None, services=transcoder["transcoding"])
    view()  # processing
    base = f"s3://{BUCKET}/{prefix}"
    output = {"durationInMs": 2000, "videoDetails": {"widthInPx": 480, "heightInPx": 360}}
    complete: dict[str, Any] = {"outputGroupDetails": [
        {"outputDetails": [{**output, "outputFilePaths": [base + "master_360p.m3u8"]}],
         "playlistFilePaths": [base + "master.m3u8"], "type": "HLS_GROUP"},
        {"outputDetails": [{**output, "outputFilePaths": [base + "video_360p.mp4"]}], "type": "FILE_GROUP"},
    ]}  # fmt: skip
    transcoding_handler.handler(mediaconvert_event("COMPLETE", pk, **complete), None,
                                services=transcoder["transcoding"])  # fmt: skip
    return view(), seen


def test_the_processor_and_the_cloud_give_the_same_job_json_for_the_same_clip(
    processor: tuple[TestClient, list[str]],
    wait: Callable[..., Any],
    transcoder: dict[str, Any],
) -> None:
    local = local_ready(processor, wait)
    cloud, statuses = cloud_ready(transcoder)
    assert [s["status"] for s in statuses] == ["complete", "processing", "ready"]
    assert local["status"] == cloud["status"] == "ready"
    assert local["progress"] == cloud["progress"] == 1
    assert local["error"] is None and "error" not in cloud
    for body in (local, cloud):
        assert body["playbackUrl"].endswith("/master.m3u8")
    shape = [
        [(r["name"], r["width"], r["height"], sorted(r)) for r in b["renditions"]] for b in (local, cloud)
    ]
    assert shape[0] == shape[1] == [("360p", 480, 360, ["height", "mp4Url", "name", "playlistUrl", "width"])]


def test_failed_jobs_fit_the_schema_in_both_places(transcoder: dict[str, Any], tmp_path: Path) -> None:
    from processor.jobs import JobStore

    store = JobStore(tmp_path / "jobs.sqlite3")
    store.create("f" * 32, tmp_path / "x.upload")
    store.mark_failed("f" * 32, "too_long", "The video lasts 700 s; the limit is 600 s.")
    job = store.get("f" * 32)
    assert job is not None
    local = valid(job.to_api())
    store.close()
    source = uploaded_source(transcoder)
    transcoder["stubber"].add_response("probe", probe_reply(duration=700))
    transcoding_handler.handler(source["event"], None, services=transcoder["transcoding"])
    _, cloud = api("GET /jobs/{jobId}", source["event"]["detail"]["jobId"], transcoder, SUBJECT)
    valid(cloud)
    assert local["error"]["code"] == cloud["error"]["code"] == "too_long"
