"""The edges of cloud transcoding: the signer signs raw videos like any immutable file, the
function refuses a bad environment naming the variable and ignores events it does not own, and
the new IAM policies pass parliament's offline lint."""

from __future__ import annotations

from typing import Any

import parliament
import pytest

from lambda_src.sign_uploads import media, transcoding, transcoding_handler
from tests.conftest import plan_for, stack_config
from tests.signer.support import call, make_event
from tests.transcoding.conftest import SETTINGS


@pytest.mark.parametrize(
    ("path", "content_type"), [("source.mp4", "video/mp4"), ("source.mov", "video/quicktime")]
)
def test_the_signer_signs_a_raw_video_create_only_and_immutable(
    signer_env: pytest.MonkeyPatch, path: str, content_type: str
) -> None:
    reply = call(make_event({"files": [{"path": path, "size": 1000}]}, claims={"sub": "u"}))
    assert reply.status == 200, reply.json
    [upload] = reply.json["uploads"]
    assert upload["headers"]["Content-Type"] == content_type
    assert upload["headers"]["Cache-Control"] == media.IMMUTABLE_CACHE_CONTROL
    assert upload["headers"]["If-None-Match"] == "*"
    assert media.is_source(path)


def test_only_top_level_source_files_of_the_allowed_types_are_raw_videos() -> None:
    assert [p for p in ("source.mp4", "source.mov", "source.mkv", "a/source.mp4", "Source.mp4", "sources.mp4")
            if media.is_source(p)] == ["source.mp4", "source.mov"]  # fmt: skip
    assert media.source_path(["master.m3u8", "source.mov", "source.mp4"]) == "source.mov"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MEDIACONVERT_QUEUE_ARN", "my-queue"), ("MEDIACONVERT_ROLE_ARN", ""), ("MAX_SOURCE_SECONDS", "ten"),
     ("SD_RATE_PER_MINUTE", "-1"), ("HD_RATE_PER_MINUTE", "nan")],
)  # fmt: skip
def test_a_bad_environment_is_refused_naming_the_variable(variable: str, value: str) -> None:
    env = {**SETTINGS.environment(), variable: value}
    with pytest.raises(transcoding.SettingsError, match=variable):
        transcoding.Settings.from_environ(env)


def test_settings_round_trip_through_the_environment() -> None:
    assert transcoding.Settings.from_environ(SETTINGS.environment()) == SETTINGS
    assert set(SETTINGS.environment()) == set(transcoding.ENVIRONMENT_KEYS)


def test_events_the_function_does_not_own_are_ignored(transcoder: dict[str, Any]) -> None:
    for event in ({"source": "aws.s3", "detail-type": "Object Created", "detail": {}},
                  {"source": "lux-video.jobs", "detail-type": "Upload Job Expired", "detail": {}}):  # fmt: skip
        transcoding_handler.handler(event, None, services=transcoder["transcoding"])
    # Nothing published and nothing asked of MediaConvert (the stubber would raise on any call).
    assert transcoder["transcoding"].published == []


@pytest.mark.parametrize("name", ["transcoding-permissions", "transcoding-mediaconvert-permissions"])
def test_the_transcoding_policies_pass_parliament(name: str) -> None:
    plan = plan_for("dev", stack_config("dev", transcoding="true"))
    text = plan.one("aws:iam/rolePolicy:RolePolicy", name).inputs["policy"]
    findings = parliament.analyze_policy_string(
        text, include_community_auditors=False, config=parliament.config
    )
    # parliament 1.6.4's IAM database predates the Probe API (2025): that one action is unknown to it.
    unexpected = [
        f for f in findings.findings if not (f.issue == "UNKNOWN_ACTION" and "mediaconvert:Probe" in str(f))
    ]
    assert unexpected == [], unexpected


def test_create_job_is_authorized_on_the_queue_alone() -> None:
    """IAM's definition of CreateJob (parliament's copy): resource types JobTemplate, Preset and
    Queue; this stack uses neither templates nor presets, so the queue ARN is the whole grant."""
    [service] = [s for s in parliament.iam_definition if s["prefix"] == "mediaconvert"]
    [create] = [p for p in service["privileges"] if p["privilege"] == "CreateJob"]
    assert {r["resource_type"] for r in create["resource_types"]} == {"JobTemplate", "Preset", "Queue", ""}
