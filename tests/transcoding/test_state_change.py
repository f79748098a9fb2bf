"""MediaConvert's state-change events (shaped as AWS documents them in "Using EventBridge with
MediaConvert") drive every status of a transcoded job, through the record the API reports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambda_src.sign_uploads import jobs, media, transcoding_handler
from tests.jobs.test_lifecycle import api
from tests.signer.support import ACCOUNT_ID, BUCKET, PUBLIC_BASE_URL, REGION
from tests.transcoding.conftest import QUEUE_ARN, SUBJECT, probe_reply, uploaded_source
from tests.transcoding.test_submit import MEDIACONVERT_JOB

MC_JOB_ID = MEDIACONVERT_JOB["Id"]


def mediaconvert_event(status: str, pk: str, *, queue: str = QUEUE_ARN, **detail: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "3b1f7d4a-1b4f-9e3c-3f1e-2c0c1b2a3d4e",
        "detail-type": "MediaConvert Job State Change",
        "source": "aws.mediaconvert",
        "account": ACCOUNT_ID,
        "time": "2026-11-29T00:00:10Z",
        "region": REGION,
        "resources": [f"arn:aws:mediaconvert:{REGION}:{ACCOUNT_ID}:jobs/{MC_JOB_ID}"],
        "detail": {
            "timestamp": 1796000010000,
            "accountId": ACCOUNT_ID,
            "queue": queue,
            "jobId": MC_JOB_ID,
            "status": status,
            "userMetadata": {"pk": pk, "jobId": pk.rsplit("/", 1)[-1]},
            **detail,
        },
    }


def complete_detail(prefix: str) -> dict[str, Any]:
    """COMPLETE's outputGroupDetails for a 30 s 1920x1080 source: HLS 360p/720p, MP4s, a frame."""
    base = f"s3://{BUCKET}/{prefix}"

    def video(path: str, width: int, height: int) -> dict[str, Any]:
        return {"outputFilePaths": [base + path], "durationInMs": 30000,
                "videoDetails": {"widthInPx": width, "heightInPx": height, "averageBitrate": 800000}}  # fmt: skip

    return {
        "warnings": [{"code": 230001, "count": 1}],
        "outputGroupDetails": [
            {"outputDetails": [video("master_360p.m3u8", 640, 360), video("master_720p.m3u8", 1280, 720)],
             "playlistFilePaths": [base + "master.m3u8"], "type": "HLS_GROUP"},
            {"outputDetails": [video("video_360p.mp4", 640, 360), video("video_720p.mp4", 1280, 720)],
             "type": "FILE_GROUP"},
            {"outputDetails": [{"outputFilePaths": [base + "thumbnail.0000000.jpg"],
                                "videoDetails": {"widthInPx": 1280, "heightInPx": 720}}], "type": "FILE_GROUP"},
        ],
    }  # fmt: skip


OUTPUTS = ["master.m3u8", "master_360p.m3u8", "master_360p_00001.ts", "master_720p.m3u8",
           "master_720p_00001.ts", "video_360p.mp4", "video_720p.mp4", "thumbnail.0000000.jpg"]  # fmt: skip


@pytest.fixture
def processing(transcoder: dict[str, Any]) -> dict[str, Any]:
    """A submitted job, with MediaConvert's outputs in the bucket as it writes them (no Cache-Control)."""
    source = uploaded_source(transcoder)
    detail = source["event"]["detail"]
    transcoder["stubber"].add_response("probe", probe_reply())
    transcoder["stubber"].add_response("create_job", {"Job": MEDIACONVERT_JOB})
    transcoding_handler.handler(source["event"], None, services=transcoder["transcoding"])
    for path in OUTPUTS:
        transcoder["s3"].put_object(Bucket=BUCKET, Key=detail["prefix"] + path, Body=b"x")
    return {**transcoder, "jobId": detail["jobId"], "prefix": detail["prefix"],
            "pk": detail["prefix"][len("videos/") : -1]}  # fmt: skip


def deliver(env: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    transcoding_handler.handler(event, None, services=env["transcoding"])
    status, view = api("GET /jobs/{jobId}", env["jobId"], env, SUBJECT)
    assert status == 200
    return view


def published(env: dict[str, Any], detail_type: str) -> list[dict[str, Any]]:
    return [json.loads(e["Detail"]) for e in env["transcoding"].published if e["DetailType"] == detail_type]


def test_progress_then_complete_makes_the_job_ready_with_renditions_cost_and_cache_control(
    processing: dict[str, Any],
) -> None:
    env, pk, prefix = processing, processing["pk"], processing["prefix"]
    view = deliver(env, mediaconvert_event("PROGRESSING", pk))
    assert (view["status"], view["progress"]) == ("processing", 0)
    update: dict[str, Any] = {"framesDecoded": 450, "jobProgress": {"phaseProgress": {}, "jobPercentComplete": 50,
                                                    "currentPhase": "TRANSCODING", "retryCount": 0}}  # fmt: skip
    view = deliver(env, mediaconvert_event("STATUS_UPDATE", pk, **update))
    assert (view["status"], view["progress"]) == ("processing", 0.45)

    view = deliver(env, mediaconvert_event("COMPLETE", pk, **complete_detail(prefix)))
    base = f"{PUBLIC_BASE_URL}/{prefix}"
    assert view["status"] == "ready" and view["progress"] == 1
    assert view["playbackUrl"] == base + "master.m3u8"
    assert view["renditions"] == [
        {"name": "360p", "width": 640, "height": 360, "playlistUrl": base + "master_360p.m3u8",
         "mp4Url": base + "video_360p.mp4"},
        {"name": "720p", "width": 1280, "height": 720, "playlistUrl": base + "master_720p.m3u8",
         "mp4Url": base + "video_720p.mp4"},
    ]  # fmt: skip
    assert view["thumbnailUrl"] == base + "thumbnail.0000000.jpg"
    # 2 SD outputs × 0.5 min × $0.0075 + 2 HD outputs × 0.5 min × $0.015
    assert view["estimatedCost"]["amount"] == pytest.approx(0.0225)
    assert view["estimatedCost"]["outputMinutes"] == {"sd": 1, "hd": 1}
    # Every output now carries the Content-Type and Cache-Control an uploaded file would.
    for path in OUTPUTS:
        head = env["s3"].head_object(Bucket=BUCKET, Key=prefix + path)
        assert (head["ContentType"], head["CacheControl"]) == (
            media.content_type_for(path),
            media.cache_control_for(path),
        ), path
    assert (
        env["s3"].head_object(Bucket=BUCKET, Key=prefix + "master.m3u8")["CacheControl"]
        == "public, max-age=5"
    )
    [ready] = published(env, "Job Ready")
    assert ready["renditions"] == view["renditions"] and ready["playbackUrl"] == view["playbackUrl"]
    # A late progress event changes nothing.
    assert deliver(env, mediaconvert_event("STATUS_UPDATE", pk, **update))["status"] == "ready"


def test_an_error_fails_the_job_with_mediaconverts_code_and_message(processing: dict[str, Any]) -> None:
    message = (
        "Demuxer: [ReadPacketData File read failed - end of file hit at length [13155]. Is file truncated?]"
    )
    view = deliver(
        processing, mediaconvert_event("ERROR", processing["pk"], errorCode=1040, errorMessage=message)
    )
    assert view["status"] == jobs.FAILED
    assert view["error"] == {"code": "transcode_failed", "message": message, "mediaConvertErrorCode": 1040,
                             "mediaConvertJobId": MC_JOB_ID}  # fmt: skip
    assert published(processing, "Job Failed")[0]["error"] == view["error"]
    # COMPLETE after a failure is stale: the job stays failed, nothing is announced ready.
    deliver(
        processing, mediaconvert_event("COMPLETE", processing["pk"], **complete_detail(processing["prefix"]))
    )
    assert published(processing, "Job Ready") == []


def test_a_canceled_job_fails_as_canceled(processing: dict[str, Any]) -> None:
    view = deliver(processing, mediaconvert_event("CANCELED", processing["pk"]))
    assert (view["status"], view["error"]["code"]) == ("failed", "canceled")


def test_events_of_another_queue_or_an_unknown_job_change_nothing(processing: dict[str, Any]) -> None:
    other = QUEUE_ARN.replace("lux-video-test", "Default")
    assert (
        deliver(processing, mediaconvert_event("ERROR", processing["pk"], queue=other))["status"]
        == "processing"
    )
    transcoding_handler.handler(mediaconvert_event("ERROR", "nope"), None, services=processing["transcoding"])
    assert published(processing, "Job Failed") == []


def test_input_information_is_ignored(processing: dict[str, Any]) -> None:
    info: dict[str, Any] = {"inputDetails": [{"id": 1, "uri": "s3://x/source.mp4", "video": [{"bitDepth": 8, "codec": "H_264",
            "colorFormat": "YUV_420", "fourCC": "avc1", "frameRate": 30, "height": 1080, "width": 1920}]}]}  # fmt: skip
    assert (
        deliver(processing, mediaconvert_event("INPUT_INFORMATION", processing["pk"], **info))["progress"]
        == 0
    )
