"""A job from signature to deletion: the signer records it, S3's events complete it, the API
reports and deletes it. moto serves DynamoDB and S3 on loopback; the S3 events are built as
EventBridge delivers them, from the objects actually stored."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import pytest

from lambda_src.sign_uploads import events, jobs, jobs_handler
from tests.signer.support import BUCKET, REGION, call, make_event

SUBJECT = {"sub": "user-1"}
OTHER = {"sub": "user-2"}


def s3_event(key: str, size: int) -> dict[str, Any]:
    """An ``Object Created`` event as EventBridge delivers it from S3."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-29T00:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": {"key": key, "size": size, "etag": "x", "sequencer": "00617F08299329D189"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "reason": "PutObject",
        },
    }


def sign(
    paths: dict[str, bytes], claims: dict[str, str] | None = None, job_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"files": [{"path": p, "size": len(b)} for p, b in paths.items()]}
    if job_id:
        body["jobId"] = job_id
    reply = call(make_event(body, claims=claims))
    assert reply.status == 200, reply.json
    return reply.json


def upload(
    signed: dict[str, Any], payloads: dict[str, bytes], cloud: dict[str, Any], only: set[str] | None = None
) -> None:
    """PUT each file with its URL and headers, then deliver the event S3 would send."""
    for item in signed["uploads"]:
        if only is not None and item["path"] not in only:
            continue
        reply = httpx.put(item["url"], content=payloads[item["path"]], headers=item["headers"])
        assert reply.status_code == 200, reply.text
        jobs_handler.handler(
            s3_event(item["key"], len(payloads[item["path"]])), None, services=cloud["services"]
        )


def api(
    route: str, job_id: str, cloud: dict[str, Any], claims: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    event = make_event(None, method=route.split()[0], claims=claims, route=route)
    event["pathParameters"] = {"jobId": job_id}
    reply = jobs_handler.handler(event, None, services=cloud["services"])
    assert reply is not None
    return reply["statusCode"], json.loads(reply["body"])


PAYLOADS = {
    "master.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n",
    "720p/index.m3u8": b"#EXTM3U\n#EXTINF:4,\nseg_000.ts\n#EXT-X-ENDLIST\n",
    "720p/seg_000.ts": bytes(range(256)) * 8,
}


def test_a_job_completes_from_s3_events_and_is_announced_once(cloud: dict[str, Any]) -> None:
    signed = sign(PAYLOADS, SUBJECT)
    status, view = api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, SUBJECT)
    assert (status, view["status"], view["bytes"]) == (200, "signed", 0)
    assert {f["status"] for f in view["files"]} == {"pending"}

    upload(signed, PAYLOADS, cloud, only={"master.m3u8"})
    _, view = api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, SUBJECT)
    assert view["status"] == "uploading" and view["bytes"] == len(PAYLOADS["master.m3u8"])
    assert cloud["services"].published == []

    upload(signed, PAYLOADS, cloud, only={"720p/index.m3u8", "720p/seg_000.ts"})
    _, view = api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, SUBJECT)
    assert view["status"] == "complete"
    assert view["bytes"] == sum(len(b) for b in PAYLOADS.values())
    assert view["playbackUrl"] == signed["playbackUrl"]
    assert view["completedAt"] is not None and view["expiresAt"] == signed["expiresAt"]
    assert [f["status"] for f in view["files"]] == ["arrived"] * 3

    (entry,) = cloud["services"].published
    assert (entry["Source"], entry["DetailType"]) == (events.SOURCE, events.UPLOAD_JOB_COMPLETED)
    detail = json.loads(entry["Detail"])
    assert detail["jobId"] == signed["jobId"] and detail["bytes"] == view["bytes"]
    assert sorted(detail["keys"]) == sorted(u["key"] for u in signed["uploads"])
    assert detail["subjectHash"] and detail["subjectHash"] in signed["prefix"]

    # S3's events are at-least-once: a repeated event changes nothing and announces nothing.
    item = signed["uploads"][0]
    jobs_handler.handler(s3_event(item["key"], len(PAYLOADS[item["path"]])), None, services=cloud["services"])
    assert len(cloud["services"].published) == 1


def test_another_subject_and_anonymous_callers_get_404(cloud: dict[str, Any]) -> None:
    signed = sign({"a.m3u8": b"#EXTM3U\n"}, SUBJECT)
    assert api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, OTHER)[0] == 404
    assert api(jobs_handler.DELETE_ROUTE, signed["jobId"], cloud, OTHER)[0] == 404
    assert api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, None)[0] == 404
    assert api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, SUBJECT)[0] == 200


def test_a_job_with_a_file_missing_expires_with_its_urls(
    cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    signed = sign(PAYLOADS, SUBJECT)
    upload(signed, PAYLOADS, cloud, only={"master.m3u8"})
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    _, view = api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, SUBJECT)
    assert view["status"] == "expired"
    jobs_handler.handler(
        {"detail-type": "Scheduled Event", "source": "aws.events"}, None, services=cloud["services"]
    )
    (entry,) = cloud["services"].published
    assert entry["DetailType"] == events.UPLOAD_JOB_EXPIRED
    assert json.loads(entry["Detail"])["keyCount"] == 1
    record = cloud["dynamodb"].get_item(
        TableName="lux-video-test-jobs",
        Key={"pk": {"S": f"sub.{json.loads(entry['Detail'])['subjectHash']}/{signed['jobId']}"}},
    )["Item"]
    assert record["status"] == {"S": "expired"} and "open" not in record


def test_delete_removes_every_object_and_invalidates_the_job_path_once(cloud: dict[str, Any]) -> None:
    signed = sign(PAYLOADS, SUBJECT)
    upload(signed, PAYLOADS, cloud)
    status, view = api(jobs_handler.DELETE_ROUTE, signed["jobId"], cloud, SUBJECT)
    assert status == 200 and view["status"] == "deleted" and view["objectsDeleted"] == 3
    listed = cloud["s3"].list_objects_v2(Bucket=BUCKET, Prefix=signed["prefix"])
    assert listed.get("KeyCount") == 0
    assert cloud["services"].invalidations == [f"/{signed['prefix']}*"]
    assert api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, SUBJECT)[1]["status"] == "deleted"
    assert cloud["services"].published[-1]["DetailType"] == events.UPLOAD_JOB_DELETED


def test_an_object_of_another_size_fails_the_job(cloud: dict[str, Any]) -> None:
    """S3 enforces the signed length on a PUT; an object stored another way (a multipart upload
    completed on S3 itself) is checked here."""
    signed = sign({"clip.mp4": b"x" * 100}, SUBJECT)
    key = signed["uploads"][0]["key"]
    cloud["s3"].put_object(Bucket=BUCKET, Key=key, Body=b"x" * 99, ContentType="video/mp4")
    jobs_handler.handler(s3_event(key, 99), None, services=cloud["services"])
    _, view = api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, SUBJECT)
    assert view["status"] == "failed" and view["files"] == [{"path": "clip.mp4", "status": "rejected"}]
    assert view["error"]["code"] == "size_mismatch"


def test_an_unknown_key_is_left_alone(cloud: dict[str, Any]) -> None:
    cloud["s3"].put_object(Bucket=BUCKET, Key="videos/nojob/x.ts", Body=b"1", ContentType="video/mp2t")
    jobs_handler.handler(s3_event("videos/nojob/x.ts", 1), None, services=cloud["services"])
    assert cloud["services"].published == []


def test_signing_again_extends_the_job(cloud: dict[str, Any]) -> None:
    first = sign({"master.m3u8": PAYLOADS["master.m3u8"]}, SUBJECT)
    upload(first, PAYLOADS, cloud)
    assert api(jobs_handler.STATUS_ROUTE, first["jobId"], cloud, SUBJECT)[1]["status"] == "complete"
    second = sign({"720p/seg_000.ts": PAYLOADS["720p/seg_000.ts"]}, SUBJECT, job_id=first["jobId"])
    _, view = api(jobs_handler.STATUS_ROUTE, first["jobId"], cloud, SUBJECT)
    assert view["status"] == "uploading" and len(view["files"]) == 2
    upload(second, PAYLOADS, cloud)
    assert api(jobs_handler.STATUS_ROUTE, first["jobId"], cloud, SUBJECT)[1]["status"] == "complete"
    assert [e["DetailType"] for e in cloud["services"].published] == [events.UPLOAD_JOB_COMPLETED] * 2


def test_a_record_that_cannot_be_written_hands_out_no_url(
    cloud: dict[str, Any], signer_env: pytest.MonkeyPatch
) -> None:
    signer_env.setenv("JOBS_TABLE", "no-such-table")
    reply = call(make_event({"files": [{"path": "a.m3u8", "size": 1}]}, claims=SUBJECT))
    assert reply.status == 503 and reply.error_code == "unavailable" and "uploads" not in reply.json


def test_deleting_a_job_mediaconvert_is_working_on_cancels_that_work(cloud: dict[str, Any]) -> None:
    """The bill: outputs of a deleted job would be transcoded (and paid) for nobody."""
    source = {"source.mp4": b"\0" * 64}
    signed = sign(source, SUBJECT)
    upload(signed, source, cloud)
    pk = f"{signed['prefix'][len('videos/') :].rstrip('/')}"
    table = jobs_table()
    assert jobs.set_status(
        table, pk, jobs.PROCESSING, now=time.time(), fields={"mediaConvertJobId": "1700-abc"}
    )
    status, view = api(jobs_handler.DELETE_ROUTE, signed["jobId"], cloud, SUBJECT)
    assert status == 200 and view["transcodeCanceled"] is True
    assert cloud["services"].canceled == ["1700-abc"]
    # A job that is not processing has nothing to cancel.
    other = sign({"a.m3u8": b"#EXTM3U\n"}, SUBJECT)
    assert "transcodeCanceled" not in api(jobs_handler.DELETE_ROUTE, other["jobId"], cloud, SUBJECT)[1]
    assert cloud["services"].canceled == ["1700-abc"]


def test_mediaconvert_cancel_tolerates_a_finished_job() -> None:
    from botocore.stub import Stubber

    from lambda_src.sign_uploads.config import load_config

    services = jobs_handler.AwsServices(load_config(os.environ))
    import boto3

    client = boto3.client("mediaconvert", region_name=REGION)
    services._clients["mediaconvert"] = client
    with Stubber(client) as stub:
        stub.add_response("cancel_job", {}, {"Id": "1"})
        stub.add_client_error(
            "cancel_job", "ConflictException", http_status_code=409, expected_params={"Id": "2"}
        )
        stub.add_client_error(
            "cancel_job", "AccessDeniedException", http_status_code=403, expected_params={"Id": "3"}
        )
        assert services.cancel_transcode("1") is True
        assert services.cancel_transcode("2") is False
        with pytest.raises(Exception, match="AccessDenied"):
            services.cancel_transcode("3")


def jobs_table() -> Any:
    from lambda_src.sign_uploads.config import load_config
    from lambda_src.sign_uploads.dynamodb import Table

    config = load_config(os.environ)
    assert config.jobs_table is not None
    return Table(config.jobs_table, region=config.region, credentials=config.credentials,
                 endpoint_url=config.dynamodb_endpoint_url)  # fmt: skip
