"""The local wiring: a bus subscriber hands raw-upload events to the processor, which fetches the
raw video from the (moto) bucket and transcodes it under the upload job's id."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from starlette.testclient import TestClient

from lambda_src.sign_uploads import events
from local.transcoding import s3_fetcher, subscribe_processor
from processor.app import create_app
from processor.settings import ProcessorSettings
from tests.processor.processor_fakes import CDN, RecordingPublisher
from tests.signer.support import REGION


class FakeBus:
    def __init__(self) -> None:
        self.subscribers: list[Callable[[dict[str, Any]], None]] = []

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.subscribers.append(callback)

    def put(self, entry: dict[str, Any]) -> None:
        envelope = {
            "source": entry["Source"],
            "detail-type": entry["DetailType"],
            "detail": json.loads(entry["Detail"]),
        }
        for callback in self.subscribers:
            callback(envelope)


def test_a_raw_upload_on_the_local_bus_starts_the_processor(
    moto_endpoint: str,
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint,
                      aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
    s3.create_bucket(Bucket="lux-local-wiring", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="lux-local-wiring", Key="videos/wired-1/source.mp4", Body=clips["av"].read_bytes())
    bus = FakeBus()
    app = create_app(settings, publisher, CDN + "/", fetch_source=s3_fetcher(s3, "lux-local-wiring"))
    with TestClient(app) as client:
        subscribe_processor(bus, app.state.on_job_event)
        record = {"pk": "wired-1", "jobId": "wired-1", "prefix": "videos/wired-1/", "status": "complete",
                  "files": {"source.mp4": {"s": 1, "a": 1}}}  # fmt: skip
        bus.put(events.job_event(events.UPLOAD_JOB_COMPLETED, record, public_base_url=CDN, now=0))
        bus.put(
            events.job_event(
                events.UPLOAD_JOB_EXPIRED, {**record, "status": "expired"}, public_base_url=CDN, now=0
            )
        )

        def ready() -> dict[str, Any] | None:
            body = client.get("/api/videos/wired-1").json()
            return body if body["status"] in ("ready", "failed") else None

        assert wait(ready)["status"] == "ready"
        # A second delivery is absorbed; an event for a source that is not there is logged, not raised.
        bus.put(events.job_event(events.UPLOAD_JOB_COMPLETED, record, public_base_url=CDN, now=0))
        missing = {**record, "jobId": "wired-2", "pk": "wired-2", "prefix": "videos/wired-2/"}
        bus.put(events.job_event(events.UPLOAD_JOB_COMPLETED, missing, public_base_url=CDN, now=0))
        assert client.get("/api/videos/wired-2").status_code == 404
