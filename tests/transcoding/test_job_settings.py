"""The MediaConvert settings document (``transcoding_job.json``) and the requests built from it,
held to botocore's MediaConvert model: types, required members, ranges and enum values."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

from lambda_src.sign_uploads import transcoding
from tests.transcoding.conftest import SETTINGS

MODEL = botocore.session.get_session().get_service_model("mediaconvert")
CREATE_JOB = MODEL.operation_model("CreateJob").input_shape


def enum_problems(value: Any, shape: Shape, where: str = "") -> list[str]:
    """What botocore's validator leaves out: enum values, and members the model does not know."""
    problems = []
    if shape.type_name == "structure":
        for name, member in value.items():
            if name not in shape.members:
                problems.append(f"{where}.{name}: not a member of {shape.name}")
            else:
                problems += enum_problems(member, shape.members[name], f"{where}.{name}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            problems += enum_problems(item, shape.member, f"{where}[{i}]")  # type: ignore[attr-defined]
    elif shape.type_name == "map":
        for key, item in value.items():
            problems += enum_problems(item, shape.value, f"{where}.{key}")  # type: ignore[attr-defined]
    elif getattr(shape, "enum", None) and value not in shape.enum:  # type: ignore[attr-defined]
        problems.append(f"{where}: {value!r} is not one of {shape.enum}")
    return problems


def model_problems(request: dict[str, Any]) -> list[str]:
    report = ParamValidator().validate(request, CREATE_JOB)
    return ([report.generate_report()] if report.has_errors() else []) + enum_problems(request, CREATE_JOB)


def built(info: transcoding.SourceInfo, settings: transcoding.Settings = SETTINGS) -> dict[str, Any]:
    return transcoding.create_job_request(
        transcoding.load_template(), bucket="lux-video-test", job_prefix="videos/j1/", source_path="source.mov",
        info=info, settings=settings, user_metadata={"pk": "j1", "jobId": "j1"}, token="t" * 64,
    )  # fmt: skip


LANDSCAPE = transcoding.SourceInfo(30.0, 1920, 1080, True)


def test_the_settings_document_is_a_valid_create_job_request() -> None:
    template = transcoding.load_template()
    assert model_problems({**template, "Role": SETTINGS.role_arn}) == []


@pytest.mark.parametrize(
    "info",
    [LANDSCAPE, transcoding.SourceInfo(10, 1080, 1920, False), transcoding.SourceInfo(5, 320, 240, True)],
)
def test_every_built_request_is_valid_against_the_model(info: transcoding.SourceInfo) -> None:
    assert model_problems(built(info)) == []
    assert (
        model_problems(built(info, transcoding.Settings(**{**SETTINGS.__dict__, "include_1080p": True})))
        == []
    )


def test_the_model_check_catches_a_wrong_enum_and_an_unknown_member() -> None:
    request = built(LANDSCAPE)
    request["Settings"]["OutputGroups"][0]["Outputs"][0]["VideoDescription"]["ScalingBehavior"] = "NO_UPSCALE"
    request["Settings"]["Inputs"][0]["Bogus"] = 1
    problems = model_problems(request)
    assert any("ScalingBehavior" in p for p in problems) and any("Bogus" in p for p in problems)


def outputs_of(request: dict[str, Any], custom_name: str) -> list[dict[str, Any]]:
    return next(g for g in request["Settings"]["OutputGroups"] if g["CustomName"] == custom_name)["Outputs"]


def test_the_ladder_never_goes_above_the_source_and_1080p_is_opt_in() -> None:
    hd = built(LANDSCAPE)
    assert [o["NameModifier"] for o in outputs_of(hd, "hls")] == ["_360p", "_720p"]
    assert [o["NameModifier"] for o in outputs_of(hd, "mp4")] == ["_360p", "_720p"]
    with_1080 = built(LANDSCAPE, transcoding.Settings(**{**SETTINGS.__dict__, "include_1080p": True}))
    assert [o["NameModifier"] for o in outputs_of(with_1080, "hls")] == ["_360p", "_720p", "_1080p"]
    small = built(transcoding.SourceInfo(5, 640, 480, True))
    assert [o["NameModifier"] for o in outputs_of(small, "hls")] == ["_360p"]
    for group in hd["Settings"]["OutputGroups"]:
        for output in group["Outputs"]:
            assert output["VideoDescription"]["ScalingBehavior"] == "FIT_NO_UPSCALE"


def test_a_portrait_source_gets_its_short_side_on_the_ladder_and_no_audio_when_it_has_none() -> None:
    request = built(transcoding.SourceInfo(10, 1080, 1920, False))
    videos = [o["VideoDescription"] for o in outputs_of(request, "hls")]
    assert [(v.get("Width"), v.get("Height")) for v in videos] == [(360, None), (720, None)]
    assert all("AudioDescriptions" not in o for o in outputs_of(request, "hls") + outputs_of(request, "mp4"))
    assert "AudioSelectors" not in request["Settings"]["Inputs"][0]


def test_outputs_go_under_the_jobs_folder_with_the_documented_names() -> None:
    request = built(LANDSCAPE)
    groups = {g["CustomName"]: g["OutputGroupSettings"] for g in request["Settings"]["OutputGroups"]}
    assert groups["hls"]["HlsGroupSettings"]["Destination"] == "s3://lux-video-test/videos/j1/master"
    assert groups["mp4"]["FileGroupSettings"]["Destination"] == "s3://lux-video-test/videos/j1/video"
    assert (
        groups["thumbnail"]["FileGroupSettings"]["Destination"] == "s3://lux-video-test/videos/j1/thumbnail"
    )
    assert request["Settings"]["Inputs"][0]["FileInput"] == "s3://lux-video-test/videos/j1/source.mov"
    assert (request["Queue"], request["Role"]) == (SETTINGS.queue_arn, SETTINGS.role_arn)
