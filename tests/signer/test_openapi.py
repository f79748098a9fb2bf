"""docs/signer-openapi.yaml cannot drift: the handler's real responses validate against it, and its
limits and enums are the ones the code enforces."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml

from lambda_src.sign_uploads import config, contract, media

from .support import REPO_ROOT, call, files, make_event

SPEC = yaml.safe_load((REPO_ROOT / "docs" / "signer-openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
OPERATION = SPEC["paths"]["/"]["post"]


def validator_for(status: int) -> jsonschema.Draft202012Validator:
    ref = OPERATION["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"]
    return jsonschema.Draft202012Validator({"$ref": ref, "components": SPEC["components"]})


def test_spec_is_valid_openapi_3_1_with_valid_schemas() -> None:
    assert SPEC["openapi"].startswith("3.1")
    for schema in SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    ("body", "claims", "method", "status"),
    [
        (
            {"files": [{"path": "master.m3u8", "size": 10}, {"path": "720p/a.ts", "size": 5}]},
            None,
            "POST",
            200,
        ),
        (files("clip.mp4", "thumb.webp"), {"sub": "user-1"}, "POST", 200),
        ("{", None, "POST", 400),
        ({"jobId": "-", "files": [{"path": "../x.exe", "size": 0, "acl": 1}]}, None, "POST", 400),
        (files("a.ts"), None, "GET", 405),
        ({"files": [{"path": f"{i}.ts", "size": 1} for i in range(1001)]}, None, "POST", 413),
    ],
)
def test_real_responses_validate_against_the_spec(
    body: Any, claims: dict[str, str] | None, method: str, status: int
) -> None:
    reply = call(make_event(body, method=method, claims=claims))
    assert reply.status == status
    validator_for(status).validate(reply.json)


def test_a_wrong_response_is_caught_by_the_spec() -> None:
    reply = call(make_event(files("a.ts")))
    broken = {**reply.json, "uploads": [{**reply.json["uploads"][0], "method": "POST"}]}
    with pytest.raises(jsonschema.ValidationError):
        validator_for(200).validate(broken)


def test_request_schema_states_the_limits_the_code_enforces() -> None:
    file_props = SCHEMAS["FileRequest"]["properties"]
    assert file_props["path"]["maxLength"] == contract.MAX_PATH_CHARS
    assert file_props["size"]["maximum"] == config.DEFAULT_MAX_FILE_BYTES
    assert set(file_props["contentType"]["examples"]) == set(media.MEDIA_TYPES.values())
    response_types = SCHEMAS["Upload"]["properties"]["headers"]["properties"]["Content-Type"]["enum"]
    assert set(response_types) == set(media.MEDIA_TYPES.values())
    assert SCHEMAS["UploadRequest"]["properties"]["jobId"]["pattern"] == contract.JOB_ID_PATTERN
    assert SCHEMAS["UploadRequest"]["properties"]["files"]["maxItems"] == config.DEFAULT_MAX_FILES
    assert SCHEMAS["UploadResponse"]["properties"]["expiresIn"]["maximum"] == config.MAX_URL_TTL_SECONDS
    cache_controls = SCHEMAS["Upload"]["properties"]["headers"]["properties"]["Cache-Control"]["enum"]
    assert set(cache_controls) == {media.MANIFEST_CACHE_CONTROL, media.IMMUTABLE_CACHE_CONTROL}


def request_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/UploadRequest", **SPEC})


def test_request_schema_accepts_what_the_handler_accepts_and_refuses_traversal() -> None:
    validator = request_validator()
    validator.validate({"jobId": "a_b-1", "files": [{"path": "720p/seg_000.ts", "size": 1}]})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"files": [{"path": "../seg.ts", "size": 1}]})


def case_variants(text: str) -> list[str]:
    return [
        text,
        text.upper(),
        text.title(),
        text.swapcase(),
        "".join(c.upper() if i % 2 else c for i, c in enumerate(text)),
    ]


def test_content_type_pattern_accepts_exactly_what_the_handler_accepts_in_any_case() -> None:
    """The spec's contentType is case-insensitive like the handler's comparison: every letter case
    of an allowed type matches, near misses (parameters, spaces, other types, '.' as any
    character) do not; the handler's rule (lower-cased, one of media.MEDIA_TYPES) decides each."""
    schema = SCHEMAS["FileRequest"]["properties"]["contentType"]
    validator = jsonschema.Draft202012Validator(schema)
    allowed = set(media.MEDIA_TYPES.values())
    candidates = [variant for kind in sorted(allowed) for variant in case_variants(kind)]
    candidates += [
        *(f"{kind}; charset=utf-8" for kind in sorted(allowed)),
        *(f" {kind}" for kind in sorted(allowed)),
        *(kind + "x" for kind in sorted(allowed)),
        *(kind[:-1] for kind in sorted(allowed)),
        "video/isoxsegment",
        "application/vndxapple.mpegurl",
        "text/html",
        "video/*",
        "",
        "VIDEO/MP2T,video/mp2t",
    ]
    for candidate in candidates:
        assert validator.is_valid(candidate) == (candidate.lower() in allowed), candidate
    assert validator.is_valid(None)  # null: inferred from the extension


def test_a_mixed_case_content_type_is_valid_in_the_spec_and_signed_canonical() -> None:
    body = {"files": [{"path": "720p/seg_000.ts", "size": 5, "contentType": "Video/MP2T"}]}
    request_validator().validate(body)
    reply = call(make_event(body))
    assert reply.status == 200, reply.json
    validator_for(200).validate(reply.json)
    assert reply.json["uploads"][0]["headers"]["Content-Type"] == "video/mp2t"
    shouted = {
        **reply.json["uploads"][0],
        "headers": {**reply.json["uploads"][0]["headers"], "Content-Type": "VIDEO/MP2T"},
    }
    with pytest.raises(jsonschema.ValidationError):  # the response always carries the canonical type
        validator_for(200).validate({**reply.json, "uploads": [shouted]})
