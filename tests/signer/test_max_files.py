"""MAX_FILES is bounded by Lambda's 6 MB response limit: the largest job whose worst-case 200
response still fits, derived by running the handler on a synthesized worst-case request."""

from __future__ import annotations

import json
import os

import pytest

from lambda_src.sign_uploads import config, contract, handler, subject_key


def test_the_limit_is_the_derived_bound_and_keeps_the_default_valid() -> None:
    assert config.max_files_bound() == config.MAX_FILES_LIMIT
    assert config.DEFAULT_MAX_FILES <= config.MAX_FILES_LIMIT


def test_at_the_bound_the_worst_case_response_fits_and_one_more_file_would_not() -> None:
    budget = config.LAMBDA_RESPONSE_LIMIT_BYTES - config.RESPONSE_MARGIN_BYTES
    assert config.worst_case_response_bytes(config.MAX_FILES_LIMIT) <= budget
    assert config.worst_case_response_bytes(config.MAX_FILES_LIMIT + 1) > budget


def test_the_deployed_handler_answers_the_worst_case_request_at_the_bound_under_6_mb(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    event, environ = config.worst_case_event(config.MAX_FILES_LIMIT)
    environ["MAX_FILES"] = str(config.MAX_FILES_LIMIT)
    cache = {(config.WORST_REGION, "", environ["SUBJECT_KEY_SECRET_ID"]): b"k" * 64}
    monkeypatch.setattr(subject_key, "_CACHE", cache)
    response = handler.handler(event, None, environ)
    assert response["statusCode"] == 200, response["body"][:300]
    assert len(json.dumps(response)) < config.LAMBDA_RESPONSE_LIMIT_BYTES
    assert len(json.loads(response["body"])["uploads"]) == config.MAX_FILES_LIMIT


@pytest.mark.parametrize("files", [1, 100, config.DEFAULT_MAX_FILES, config.MAX_FILES_LIMIT])
def test_the_worst_case_request_is_worst_in_every_dimension(files: int) -> None:
    event, environ = config.worst_case_event(files)
    body = json.loads(str(event["body"]))
    paths = [f["path"] for f in body["files"]]
    assert len(set(paths)) == files and all(contract.path_problem_of(p) is None for p in paths)
    path_chars = len(paths[-1])
    # Paths as long as the body allows: one character more on each would overflow 256 KiB.
    assert path_chars == 256 or len(str(event["body"])) + files > contract.MAX_BODY_BYTES
    assert len(str(event["body"])) <= contract.MAX_BODY_BYTES
    assert len(body["jobId"]) == 64 and all(
        f["size"] == config.S3_SINGLE_PUT_LIMIT_BYTES for f in body["files"]
    )
    assert len(environ["PREFIX"]) == config.PREFIX_MAX_CHARS and config.valid_prefix(environ["PREFIX"])
    assert len(environ["PUBLIC_BASE_URL"]) == config.PUBLIC_BASE_URL_MAX_CHARS
    assert len(environ["BUCKET"]) == 63 and environ["URL_TTL_SECONDS"] == str(config.MAX_URL_TTL_SECONDS)
    assert len(environ["AWS_SESSION_TOKEN"]) >= 1500


def test_one_file_over_the_limit_is_a_misconfiguration_in_the_function_and_the_stack(
    signer_env: pytest.MonkeyPatch,
) -> None:
    from infra.config import ConfigError, parse

    with pytest.raises(config.ConfigError, match="MAX_FILES"):
        config.load_config({**os.environ, "MAX_FILES": str(config.MAX_FILES_LIMIT + 1)})
    with pytest.raises(ConfigError, match="maxFiles"):
        parse({"bucketName": "lux-video-x", "maxFiles": config.MAX_FILES_LIMIT + 1}, stack="s",
              region="us-west-2", default_tags={"tags": {"project": "lux-video", "stack": "s"}})  # fmt: skip
