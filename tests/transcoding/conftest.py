"""Fixtures for cloud transcoding: the jobs fixtures (moto's DynamoDB and S3 on loopback, the
signer's environment) plus the transcoding function's settings, a stubbed MediaConvert client
(botocore's Stubber: the exact requests) and a recorded event bus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambda_src.sign_uploads import transcoding, transcoding_handler
from lambda_src.sign_uploads.config import load_config
from tests.jobs.conftest import cloud, moto_endpoint  # noqa: F401 - fixtures
from tests.jobs.test_lifecycle import sign, upload
from tests.processor.conftest import clips, publisher, settings, wait  # noqa: F401 - fixtures
from tests.signer.conftest import signer_env  # noqa: F401 - fixture
from tests.signer.support import ACCOUNT_ID, REGION

QUEUE_ARN = f"arn:aws:mediaconvert:{REGION}:{ACCOUNT_ID}:queues/lux-video-test"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/lux-video-test-mediaconvert"
SETTINGS = transcoding.Settings(queue_arn=QUEUE_ARN, role_arn=ROLE_ARN, max_duration_seconds=600,
                                max_source_bytes=10_000)  # fmt: skip
SUBJECT = {"sub": "user-1"}


class TranscodingServices(transcoding_handler.AwsServices):
    """S3 for real (moto), MediaConvert stubbed, events recorded."""

    def __init__(self, config: Any, mediaconvert: Any) -> None:
        super().__init__(config, clients={"mediaconvert": mediaconvert})
        self.published: list[dict[str, Any]] = []

    def publish(self, entries: list[dict[str, Any]]) -> None:
        self.published.extend(entries)


@pytest.fixture
def transcoder(cloud: dict[str, Any], signer_env: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:  # noqa: F811
    for name, value in SETTINGS.environment().items():
        signer_env.setenv(name, value)
    import os

    client = boto3.client("mediaconvert", region_name=REGION,
                          endpoint_url=f"https://mediaconvert.{REGION}.amazonaws.com")  # fmt: skip
    stubber = Stubber(client)
    services = TranscodingServices(load_config(os.environ), client)
    with stubber:
        yield {**cloud, "stubber": stubber, "transcoding": services}
        stubber.assert_no_pending_responses()


def envelope(entry: dict[str, Any]) -> dict[str, Any]:
    """A PutEvents entry as EventBridge delivers it to a rule's target."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT_ID,
        "time": "2026-11-29T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def uploaded_source(
    env: dict[str, Any], payload: bytes = b"\0" * 2048, path: str = "source.mp4"
) -> dict[str, Any]:
    """Sign and upload a raw video; the ``Upload Job Completed`` event the jobs function put."""
    signed = sign({path: payload}, SUBJECT)
    upload(signed, {path: payload}, env)
    completed = [e for e in env["services"].published if e["DetailType"] == "Upload Job Completed"]
    assert len(completed) == 1
    return {"signed": signed, "event": envelope(completed[0])}


def probe_reply(duration: float = 30.0, width: int = 1920, height: int = 1080, rotation: int = 0,
                audio: bool = True) -> dict[str, Any]:  # fmt: skip
    """``Probe``'s answer, shaped as botocore's model has it."""
    tracks: list[dict[str, Any]] = [
        {"Codec": "H264", "Duration": duration, "Index": 1, "TrackType": "video",
         "VideoProperties": {"Width": width, "Height": height, "Rotation": rotation, "BitDepth": 8,
                             "FrameRate": {"Numerator": 30, "Denominator": 1}}},
    ]  # fmt: skip
    if audio:
        tracks.append({"Codec": "AAC", "Duration": duration, "Index": 2, "TrackType": "audio",
                       "AudioProperties": {"Channels": 2, "SampleRate": 48000}})  # fmt: skip
    return {"ProbeResults": [{"Container": {"Duration": duration, "Format": "mp4", "Tracks": tracks}}]}
