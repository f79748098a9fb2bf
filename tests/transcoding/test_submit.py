"""Submitting: a completed raw upload becomes exactly one MediaConvert job (botocore's Stubber holds
the exact Probe and CreateJob requests), or a failed job with a clear code when over a limit."""

from __future__ import annotations

import copy
import json
from typing import Any

from lambda_src.sign_uploads import jobs, transcoding, transcoding_handler
from tests.jobs.test_lifecycle import api
from tests.signer.support import BUCKET
from tests.transcoding.conftest import QUEUE_ARN, ROLE_ARN, SUBJECT, probe_reply, uploaded_source

MEDIACONVERT_JOB = {"Id": "1671476818694-phptj0", "Role": ROLE_ARN, "Settings": {}}


def expected_create_job(prefix: str, pk: str, job_id: str, completed_at: int) -> dict[str, Any]:
    """The request for a 1920x1080 source with audio, 1080p off: the template with 360p and 720p,
    this job's paths, the stack's queue and role, the job's pk and an idempotency token."""
    request = copy.deepcopy(transcoding.load_template())
    base = f"s3://{BUCKET}/{prefix}"
    request["Settings"]["Inputs"][0]["FileInput"] = base + "source.mp4"
    hls, mp4, thumbnail = request["Settings"]["OutputGroups"]
    hls["OutputGroupSettings"]["HlsGroupSettings"]["Destination"] = base + "master"
    mp4["OutputGroupSettings"]["FileGroupSettings"]["Destination"] = base + "video"
    thumbnail["OutputGroupSettings"]["FileGroupSettings"]["Destination"] = base + "thumbnail"
    for group in (hls, mp4):
        group["Outputs"] = [o for o in group["Outputs"] if o["NameModifier"] != "_1080p"]
    request.update(
        Role=ROLE_ARN,
        Queue=QUEUE_ARN,
        UserMetadata={"pk": pk, "jobId": job_id},
        ClientRequestToken=transcoding.request_token(pk, completed_at),
    )
    return request


def record_of(cloud: dict[str, Any], job_id: str) -> dict[str, Any]:
    status, view = api("GET /jobs/{jobId}", job_id, cloud, SUBJECT)
    assert status == 200
    return view


def test_a_completed_raw_upload_is_probed_and_submitted_once(transcoder: dict[str, Any]) -> None:
    source = uploaded_source(transcoder)
    detail = source["event"]["detail"]
    assert detail["source"] == {"path": "source.mp4", "key": detail["prefix"] + "source.mp4", "bytes": 2048}
    job_id, prefix = detail["jobId"], detail["prefix"]
    pk = prefix[len("videos/") : -1]
    stored = transcoder["dynamodb"].get_item(TableName="lux-video-test-jobs", Key={"pk": {"S": pk}})["Item"]
    stubber = transcoder["stubber"]
    stubber.add_response(
        "probe", probe_reply(), {"InputFiles": [{"FileUrl": f"s3://{BUCKET}/{prefix}source.mp4"}]}
    )
    stubber.add_response(
        "create_job", {"Job": MEDIACONVERT_JOB},
        expected_create_job(prefix, pk, job_id, int(stored["completedAt"]["N"])),
    )  # fmt: skip
    transcoding_handler.handler(source["event"], None, services=transcoder["transcoding"])
    view = record_of(transcoder, job_id)
    assert view["status"] == jobs.PROCESSING
    assert view["progress"] == 0 and view["renditions"] == []
    assert view["source"] == {"path": "source.mp4", "bytes": 2048, "durationSeconds": 30,
                              "width": 1920, "height": 1080}  # fmt: skip
    # A retried event finds the job processing: nothing is submitted again (the stubber has no
    # more responses: a second call would raise).
    transcoding_handler.handler(source["event"], None, services=transcoder["transcoding"])
    assert record_of(transcoder, job_id)["status"] == jobs.PROCESSING


def refused(transcoder: dict[str, Any], payload: bytes, probe: dict[str, Any] | None) -> dict[str, Any]:
    source = uploaded_source(transcoder, payload=payload)
    if probe is not None:
        transcoder["stubber"].add_response("probe", probe)
    transcoding_handler.handler(source["event"], None, services=transcoder["transcoding"])
    view = record_of(transcoder, source["event"]["detail"]["jobId"])
    assert view["status"] == jobs.FAILED
    failed = [e for e in transcoder["transcoding"].published if e["DetailType"] == "Job Failed"]
    assert len(failed) == 1 and json.loads(failed[0]["Detail"])["error"] == view["error"]
    return view


def test_a_source_over_the_size_limit_fails_before_anything_is_called(transcoder: dict[str, Any]) -> None:
    view = refused(transcoder, b"\0" * 10_001, None)  # SETTINGS.max_source_bytes is 10,000
    assert view["error"]["code"] == "source_too_large"


def test_a_source_over_the_duration_limit_fails_and_is_never_submitted(transcoder: dict[str, Any]) -> None:
    view = refused(transcoder, b"\0" * 100, probe_reply(duration=600.5))
    assert view["error"] == {"code": "too_long", "message": "The video lasts 600.5 s; the limit is 600 s."}


def test_a_source_without_video_fails_as_not_a_video(transcoder: dict[str, Any]) -> None:
    reply = probe_reply()
    reply["ProbeResults"][0]["Container"]["Tracks"] = [t for t in reply["ProbeResults"][0]["Container"]["Tracks"]
                                                       if t["TrackType"] == "audio"]  # fmt: skip
    assert refused(transcoder, b"\0" * 100, reply)["error"]["code"] == "not_a_video"


def test_a_file_mediaconvert_cannot_read_fails_as_not_a_video(transcoder: dict[str, Any]) -> None:
    source = uploaded_source(transcoder)
    transcoder["stubber"].add_client_error("probe", "BadRequestException", "Unsupported file", 400)
    transcoding_handler.handler(source["event"], None, services=transcoder["transcoding"])
    assert record_of(transcoder, source["event"]["detail"]["jobId"])["error"]["code"] == "not_a_video"


def test_an_event_for_a_key_outside_the_job_is_ignored(transcoder: dict[str, Any]) -> None:
    source = uploaded_source(transcoder)
    event = copy.deepcopy(source["event"])
    event["detail"]["source"]["key"] = "elsewhere/source.mp4"
    transcoding_handler.handler(event, None, services=transcoder["transcoding"])
    assert record_of(transcoder, event["detail"]["jobId"])["status"] == jobs.COMPLETE


def test_a_job_without_a_raw_video_announces_no_source() -> None:
    from lambda_src.sign_uploads import events

    record = {"pk": "j", "jobId": "j", "prefix": "videos/j/", "status": "complete",
              "files": {"master.m3u8": {"s": 1, "a": 1}, "source.mkv": {"s": 1, "a": 1}}}  # fmt: skip
    detail = json.loads(
        events.job_event("Upload Job Completed", record, public_base_url="https://c", now=0)["Detail"]
    )
    assert "source" not in detail
