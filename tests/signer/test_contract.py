"""Every rule of the upload contract, each with a request that breaks it."""

from __future__ import annotations

import calendar
import json
import subprocess
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lambda_src.sign_uploads import media
from lambda_src.sign_uploads.contract import MAX_BODY_BYTES

from .support import BUCKET, PUBLIC_BASE_URL, REPO_ROOT, SECRET_KEY, call, files, make_event


def ok(body: Any, **event: Any) -> dict[str, Any]:
    reply = call(make_event(body, **event))
    assert reply.status == 200, reply.json
    return reply.json


def refused(body: Any, status: int = 400, **event: Any) -> Any:
    reply = call(make_event(body, **event))
    assert reply.status == status, reply.json
    return reply


# --- the happy path ----------------------------------------------------------------------------


def test_returns_one_constrained_put_per_file_under_the_job_prefix() -> None:
    body = ok(
        {
            "jobId": "job-1",
            "files": [{"path": "master.m3u8", "size": 1832}, {"path": "720p/s0.ts", "size": 9}],
        }
    )
    assert body["jobId"] == "job-1"
    assert body["prefix"] == "videos/job-1/"
    assert [u["key"] for u in body["uploads"]] == ["videos/job-1/master.m3u8", "videos/job-1/720p/s0.ts"]
    for upload in body["uploads"]:
        assert upload["method"] == "PUT"
        assert upload["url"].startswith(f"https://{BUCKET}.s3.us-west-2.amazonaws.com/{upload['key']}?")
        assert upload["publicUrl"] == f"{PUBLIC_BASE_URL}/{upload['key']}"
    manifest, segment = (upload["headers"] for upload in body["uploads"])
    # Content-Encoding is signed (fixed: identity), so no client can store another one for viewers.
    assert set(manifest) == {"Content-Type", "Content-Length", "Cache-Control", "Content-Encoding"}
    assert set(segment) == {
        "Content-Type",
        "Content-Length",
        "Cache-Control",
        "Content-Encoding",
        "If-None-Match",
    }
    assert manifest["Content-Encoding"] == segment["Content-Encoding"] == "identity"
    assert segment["If-None-Match"] == "*"


def test_urls_use_sigv4_query_auth_on_the_regional_endpoint_never_sigv2() -> None:
    url = ok(files("a.ts"))["uploads"][0]["url"]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == [
        "cache-control;content-encoding;content-length;content-type;host;if-none-match"
    ]
    assert "Signature" not in query and "AWSAccessKeyId" not in query
    assert urlsplit(url).hostname == f"{BUCKET}.s3.us-west-2.amazonaws.com"
    assert SECRET_KEY not in url


def test_us_east_1_uses_the_regional_endpoint_not_the_global_one(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("AWS_REGION", "us-east-1")
    url = ok(files("a.ts"))["uploads"][0]["url"]
    assert urlsplit(url).hostname == f"{BUCKET}.s3.us-east-1.amazonaws.com"


def test_generated_job_id_is_unguessable_and_unique() -> None:
    first, second = ok(files("a.ts"))["jobId"], ok(files("a.ts"))["jobId"]
    assert first != second
    assert len(first) == 32 and int(first, 16) >= 0


def test_content_type_is_inferred_from_the_extension() -> None:
    uploads = ok(files("master.m3u8", "SEG.ts", "poster.jpeg"))["uploads"]
    assert [u["headers"]["Content-Type"] for u in uploads] == [
        "application/vnd.apple.mpegurl",
        "video/mp2t",
        "image/jpeg",
    ]


@pytest.mark.parametrize("path", ["master.M3U8", "seg.TS", "a/b.Mp4", "thumb.JPEG", "x.jpG"])
def test_an_extension_that_is_not_lower_case_is_refused(path: str) -> None:
    """CloudFront path patterns are case-sensitive: '*.m3u8' would not match 'master.M3U8', so
    such a file would get the default cache behaviour instead of its own."""
    reply = refused({"files": [{"path": "ok.ts", "size": 1}, {"path": path, "size": 1}]})
    assert reply.error_code == "validation_failed"
    assert reply.json["error"]["details"] == [
        {"field": "files[1].path", "problem": "extension must be lower case"}
    ]


def test_matching_content_type_is_accepted_in_any_case() -> None:
    upload = ok({"files": [{"path": "a.mp4", "size": 5, "contentType": "Video/MP4"}]})["uploads"][0]
    assert upload["headers"]["Content-Type"] == "video/mp4"


def test_manifests_get_short_cache_control_and_everything_else_immutable() -> None:
    uploads = ok(files("master.m3u8", "720p/index.m3u8", "720p/s0.ts", "thumb.jpg"))["uploads"]
    assert [u["headers"]["Cache-Control"] for u in uploads] == [
        media.MANIFEST_CACHE_CONTROL,
        media.MANIFEST_CACHE_CONTROL,
        "public, max-age=31536000, immutable",
        "public, max-age=31536000, immutable",
    ]


def test_size_is_signed_as_content_length() -> None:
    upload = ok({"files": [{"path": "a.ts", "size": 1832}]})["uploads"][0]
    assert upload["headers"]["Content-Length"] == "1832"
    assert "content-length" in parse_qs(urlsplit(upload["url"]).query)["X-Amz-SignedHeaders"][0]


def test_expiry_is_stated_and_matches_the_signed_ttl(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("URL_TTL_SECONDS", "120")
    body = ok(files("a.ts"))
    query = parse_qs(urlsplit(body["uploads"][0]["url"]).query)
    assert body["expiresIn"] == 120 and query["X-Amz-Expires"] == ["120"]
    signed_at = calendar.timegm(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
    assert body["expiresAt"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(signed_at + 120))


@pytest.mark.parametrize(
    ("paths", "playback"),
    [
        (("720p/index.m3u8", "master.m3u8"), "master.m3u8"),
        (("720p/index.m3u8", "index.m3u8"), "index.m3u8"),
        (("720p/index.m3u8", "720p/s0.ts"), None),
        (("movie.mp4",), None),
    ],
)
def test_playback_url_is_the_top_level_playlist(paths: tuple[str, ...], playback: str | None) -> None:
    body = ok({"jobId": "j", "files": [{"path": p, "size": 1} for p in paths]})
    assert body["playbackUrl"] == (f"{PUBLIC_BASE_URL}/videos/j/{playback}" if playback else None)


def test_base64_encoded_body_is_accepted() -> None:
    assert ok(files("a.ts"), base64_encoded=True)["uploads"][0]["path"] == "a.ts"


def test_local_endpoint_gives_path_style_urls(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:4566")
    url = ok({"jobId": "j", "files": [{"path": "a.ts", "size": 1}]})["uploads"][0]["url"]
    assert url.startswith(f"http://127.0.0.1:4566/{BUCKET}/videos/j/a.ts?X-Amz-Algorithm=")


def test_prefix_is_configurable(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("PREFIX", "uploads/v2/")
    assert (
        ok({"jobId": "j", "files": [{"path": "a.ts", "size": 1}]})["uploads"][0]["key"] == "uploads/v2/j/a.ts"
    )


# --- job ids and paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "job_id", ["", "-a", "_a", "a/b", "a.b", "a" * 65, "ä", "a b", "../x", 5, True, ["a"]]
)
def test_malformed_job_id_is_rejected(job_id: Any) -> None:
    assert refused({"jobId": job_id, **files("a.ts")}).fields == ["jobId"]


@pytest.mark.parametrize(
    "path",
    [
        "/abs.ts",
        "../up.ts",
        "a/../../up.ts",
        "./here.ts",
        "a/./b.ts",
        "..",
        "a//b.ts",
        "dir/",
        "a\\b.ts",
        "..\\up.ts",
        "a b.ts",
        "ä.ts",
        "x\n.ts",
        "x\x00.ts",
        "%2e%2e/up.ts",
        "a" * 254 + ".ts",
        "",
        5,
        None,
        ["a.ts"],
    ],
)
def test_unsafe_path_is_rejected(path: Any) -> None:
    assert refused({"files": [{"path": path, "size": 1}]}).fields == ["files[0].path"]


def test_path_of_256_characters_is_accepted() -> None:
    path = "a" * 253 + ".ts"
    assert ok({"files": [{"path": path, "size": 1}]})["uploads"][0]["path"] == path


def test_missing_path_is_rejected() -> None:
    assert refused({"files": [{"size": 1}]}).fields == ["files[0].path"]


def test_duplicate_paths_are_rejected() -> None:
    assert refused(files("a.ts", "b.ts", "a.ts")).fields == ["files[2].path"]


@pytest.mark.parametrize("path", ["virus.exe", "index.html", "noext", ".m3u8", "a.ts.php", "a.svg"])
def test_extension_outside_the_allow_list_is_rejected(path: str) -> None:
    assert refused(files(path)).fields == ["files[0].path"]


@pytest.mark.parametrize("content_type", ["text/html", "video/mp4; charset=utf-8", "video/mp2t", "", 5])
def test_content_type_not_matching_the_extension_is_rejected(content_type: Any) -> None:
    body = {"files": [{"path": "a.mp4", "size": 1, "contentType": content_type}]}
    assert refused(body).fields == ["files[0].contentType"]


# --- sizes -------------------------------------------------------------------------------------


class Number(str):
    """A JSON number exactly as written (json.dumps would re-format a float)."""


def with_size(size: Any) -> Any:
    body = {"files": [{"path": "a.ts", "size": 0}]}
    if isinstance(size, Number):
        return json.dumps(body).replace('"size": 0', f'"size": {size}')
    return {"files": [{"path": "a.ts", "size": size}]}


@pytest.mark.parametrize(
    "size",
    [0, -1, 5 * 1024**3 + 1, 1.5, "10", True, None, [1], 10**30, Number("1.0000000000000001"),
     Number("1e-999999999"), Number("-0.0"), Number("5.36870912e9001"), Number("0.5")],
)  # fmt: skip
def test_size_outside_one_to_max_file_bytes_or_not_an_integer_is_rejected(size: Any) -> None:
    assert refused(with_size(size)).fields == ["files[0].size"]


@pytest.mark.parametrize(
    ("written", "signed"),
    [("10.0", "10"), ("1e3", "1000"), ("1.5e1", "15"), ("5368709120.000", "5368709120")],
)
def test_a_number_without_a_fraction_is_an_integer_size_as_in_json_schema(written: str, signed: str) -> None:
    """JSON Schema's "integer" (OpenAPI 3.1) is any number whose fractional part is zero: the
    document says integer, so the handler accepts exactly those numbers."""
    upload = ok(with_size(Number(written)))["uploads"][0]
    assert upload["headers"]["Content-Length"] == signed


def test_missing_size_is_rejected() -> None:
    assert refused({"files": [{"path": "a.ts"}]}).fields == ["files[0].size"]


def test_max_file_bytes_is_configurable(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("MAX_FILE_BYTES", "1000")
    ok({"files": [{"path": "a.ts", "size": 1000}]})
    assert refused({"files": [{"path": "a.ts", "size": 1001}]}).fields == ["files[0].size"]


# --- the document as a whole -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [None, "", "not json", "[]", '"files"', "null", "{", '{"files": NaN}', '{"a": 1, "a": 2}', "[" * 100_000],
)
def test_body_that_is_not_a_json_object_is_rejected(body: Any) -> None:
    assert refused(body).error_code == "invalid_json"


def test_invalid_base64_or_utf8_is_rejected() -> None:
    event = make_event(files("a.ts"))
    event.update(body="%%%not-base64", isBase64Encoded=True)
    assert call(event).error_code == "invalid_json"
    event.update(body="/w==")  # b"\xff"
    assert call(event).error_code == "invalid_json"


def test_duplicate_json_keys_are_rejected() -> None:
    body = '{"files": [{"path": "a.ts", "size": 1, "size": 99999999999}]}'
    assert refused(body).error_code == "invalid_json"


def test_unknown_fields_are_rejected() -> None:
    body = {"files": [{"path": "a.ts", "size": 1, "acl": "public-read"}], "bucket": "other"}
    assert sorted(refused(body).fields) == ["bucket", "files[0].acl"]


@pytest.mark.parametrize("value", [None, [], {}, "a.ts"])
def test_files_must_be_a_non_empty_array(value: Any) -> None:
    assert refused({"files": value}).fields == ["files"]


def test_non_object_file_entry_is_rejected() -> None:
    assert refused({"files": ["a.ts"]}).fields == ["files[0]"]


def test_all_problems_are_reported_at_once() -> None:
    body = {"jobId": "-", "files": [{"path": "../a.ts", "size": 0}, {"path": "b.exe", "size": 1}]}
    assert refused(body).fields == ["jobId", "files[0].path", "files[0].size", "files[1].path"]


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_body_over_256_kib_is_refused_with_413(base64_encoded: bool) -> None:
    body = json.dumps(files("a.ts")) + " " * MAX_BODY_BYTES
    reply = refused(body, 413, base64_encoded=base64_encoded)
    assert reply.error_code == "payload_too_large"


def test_body_of_exactly_256_kib_is_accepted() -> None:
    text = json.dumps(files("a.ts"))
    ok(text + " " * (MAX_BODY_BYTES - len(text)))


def test_too_many_files_are_refused_with_413(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("MAX_FILES", "3")
    ok(files("a.ts", "b.ts", "c.ts"))
    assert refused(files("a.ts", "b.ts", "c.ts", "d.ts"), 413).error_code == "too_many_files"


def test_default_max_files_is_1000() -> None:
    ok(files(*[f"s{i}.ts" for i in range(1000)], size=1))
    assert refused(files(*[f"s{i}.ts" for i in range(1001)], size=1), 413).error_code == "too_many_files"


# --- method and authentication -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS", "post", ""])
def test_methods_other_than_post_are_refused_with_405(method: str) -> None:
    reply = refused(files("a.ts"), 405, method=method)
    assert reply.error_code == "method_not_allowed" and reply.headers["Allow"] == "POST"


def test_auth_required_without_claims_is_refused_with_401(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("AUTH_REQUIRED", "true")
    for claims in (None, {}, {"sub": ""}, {"sub": 5}, {"email": "a@b.c"}):
        reply = refused(files("a.ts"), 401, claims=claims)
        assert reply.error_code == "unauthorized" and reply.headers["WWW-Authenticate"] == "Bearer"
    ok(files("a.ts"), claims={"sub": "user-1"})


def test_keys_of_different_subjects_never_overlap() -> None:
    body = {"jobId": "same", "files": [{"path": "master.m3u8", "size": 1}]}
    alice = ok(body, claims={"sub": "alice"})
    bob = ok(body, claims={"sub": "bob"})
    anonymous = ok(body)
    prefixes = [alice["prefix"], bob["prefix"], anonymous["prefix"]]
    for a in prefixes:
        for b in prefixes:
            assert a == b or not (a.startswith(b) or b.startswith(a))
    assert alice["uploads"][0]["key"].startswith(alice["prefix"])


def test_subject_namespace_is_a_hash_not_the_subject() -> None:
    sub = "user@example.com"
    body = ok(files("a.ts"), claims={"sub": sub})
    assert sub not in json.dumps(body)
    assert body["prefix"].startswith("videos/sub.") and len(body["prefix"].split("/")[1]) == 4 + 32


def test_anonymous_job_id_cannot_reach_a_subject_namespace() -> None:
    namespace = ok(files("a.ts"), claims={"sub": "alice"})["prefix"].split("/")[1]
    assert refused({"jobId": namespace, **files("a.ts")}).fields == ["jobId"]


# --- misconfiguration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BUCKET", None),
        ("BUCKET", "Bad_Bucket"),
        ("BUCKET", "with.dots.bucket"),
        ("URL_TTL_SECONDS", "3601"),
        ("URL_TTL_SECONDS", "0"),
        ("URL_TTL_SECONDS", "15m"),
        ("MAX_FILES", "many"),
        ("MAX_FILE_BYTES", str(5 * 1024**3 + 1)),
        ("PUBLIC_BASE_URL", None),
        ("PUBLIC_BASE_URL", "ftp://cdn.example.com"),
        ("PUBLIC_BASE_URL", "http://cdn.example.com"),
        ("PUBLIC_BASE_URL", "https://cdn.example.com/?a=b"),
        ("PUBLIC_BASE_URL", "cdn.example.com"),
        ("PREFIX", "/abs/"),
        ("PREFIX", "../"),
        ("PREFIX", "videos"),
        ("AWS_REGION", None),
        ("AWS_ACCESS_KEY_ID", None),
        ("AWS_SECRET_ACCESS_KEY", None),
        ("AUTH_REQUIRED", "yes"),
        ("S3_ENDPOINT_URL", "http://s3.example.com:4566"),
        ("S3_ENDPOINT_URL", "http://127.0.0.1:4566/base"),
        ("SUBJECT_KEY_SECRET_ID", "not a secret id!"),
        ("SECRETS_ENDPOINT_URL", "http://secrets.example.com"),
        ("PUBLIC_BASE_URL", "https://cdn.example.com/" + "a" * 256),
        ("S3_ENDPOINT_URL", "http://8.8.8.8:4566"),
        ("PUBLIC_BASE_URL", "http://172.32.0.1:8700"),
        ("PUBLIC_BASE_URL", "http://192.168.1.20.nip.io:8700"),
    ],
)
def test_misconfiguration_is_a_generic_500_with_the_detail_only_in_the_log(
    signer_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str | None
) -> None:
    if value is None:
        signer_env.delenv(name)
    else:
        signer_env.setenv(name, value)
    reply = refused(files("a.ts"), 500)
    assert reply.json["error"] == {
        "code": "internal_error",
        "message": "The upload service is misconfigured.",
        "details": [],
    }
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["outcome"] == "misconfigured" and name.split("_")[0] in log["detail"]


def test_plain_http_is_accepted_for_a_private_lan_address(signer_env: pytest.MonkeyPatch) -> None:
    """The local stack serving a phone on the LAN: no public network is crossed."""
    signer_env.setenv("S3_ENDPOINT_URL", "http://192.168.1.20:8701")
    signer_env.setenv("PUBLIC_BASE_URL", "http://192.168.1.20:8700")
    upload = ok(files("a.ts"))["uploads"][0]
    assert upload["url"].startswith("http://192.168.1.20:8701/")
    assert upload["publicUrl"].startswith("http://192.168.1.20:8700/videos/")


# --- response and log hygiene ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "method"), [(files("a.ts"), "POST"), ("x", "POST"), (files("a.exe"), "POST"), (None, "GET")]
)
def test_every_response_is_json_and_never_cached(body: Any, method: str) -> None:
    reply = call(make_event(body, method=method))
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["Cache-Control"] == "no-store"


def test_one_structured_log_line_per_request_without_urls_or_credentials(
    signer_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    signer_env.setenv("AWS_SESSION_TOKEN", "session-token-value")
    ok({"jobId": "logged", **files("a.ts", "b.ts")})
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    log = json.loads(lines[0])
    assert log["jobId"] == "logged" and log["files"] == 2 and log["outcome"] == "signed"
    assert log["status"] == 200 and isinstance(log["durationMs"], float)
    for secret in ("X-Amz-Signature", "amazonaws.com", SECRET_KEY, "session-token-value", "AKIA"):
        assert secret not in lines[0]


def test_unexpected_failure_still_answers_in_the_contract_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    from lambda_src.sign_uploads import handler

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler, "sign", broken)
    reply = refused(files("a.ts"), 500)
    assert reply.json["error"]["code"] == "internal_error" and "boom" not in json.dumps(reply.json)


# --- packaging ---------------------------------------------------------------------------------


def test_handler_runs_from_the_zip_root_without_boto3() -> None:
    script = (
        "import json, os, sys\n"
        "os.environ.update(BUCKET='b-1', AWS_REGION='eu-west-1', PUBLIC_BASE_URL='https://c.example',"
        " AWS_ACCESS_KEY_ID='A', AWS_SECRET_ACCESS_KEY='S')\n"
        "import handler\n"
        "event = {'requestContext': {'http': {'method': 'POST'}},"
        " 'body': json.dumps({'files': [{'path': 'a.ts', 'size': 1}]})}\n"
        "assert handler.handler(event, None)['statusCode'] == 200\n"
        "assert not any(m.split('.')[0] in ('boto3', 'botocore') for m in sys.modules)\n"
    )
    folder = REPO_ROOT / "lambda_src" / "sign_uploads"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_environment_builder_and_loader_round_trip() -> None:
    """The Pulumi program, the local stack and the bench build the variables with
    ``config.environment``; the function reads them with ``load_config``: one is the other's inverse."""
    from lambda_src.sign_uploads import config

    credentials = config.Credentials("AKIAROUNDTRIP0000001", "secret/with+symbols==", "token")
    environ = {
        **config.environment(
            bucket="lux-video-round-trip",
            prefix="media/uploads/",
            public_base_url="https://cdn.example.com",
            url_ttl_seconds=600,
            max_files=25,
            max_file_bytes=1234,
            auth_required=True,
            health_check_role_name="lux-video-x-healthcheck-role",
            subject_key_secret_id="lux-video/x/subject-key",
            jobs_table="lux-video-x-jobs",
            job_retention_days=8,
            event_bus_name="lux-video-x-jobs",
            distribution_id="E2EXAMPLE",
            max_multipart_file_bytes=7 * 1024**3,
        ),
        **config.runtime_environment(
            region="eu-central-1",
            credentials=credentials,
            endpoint_url="http://127.0.0.1:9000",
            secrets_endpoint_url="http://127.0.0.1:9001",
            dynamodb_endpoint_url="http://127.0.0.1:9002",
        ),
    }
    assert set(environ) == set(config.VARIABLES)
    assert config.load_config(environ) == config.Config(
        bucket="lux-video-round-trip",
        region="eu-central-1",
        prefix="media/uploads/",
        public_base_url="https://cdn.example.com",
        url_ttl_seconds=600,
        max_files=25,
        max_file_bytes=1234,
        auth_required=True,
        endpoint_url="http://127.0.0.1:9000",
        credentials=credentials,
        health_check_role_name="lux-video-x-healthcheck-role",
        subject_key_secret_id="lux-video/x/subject-key",
        secrets_endpoint_url="http://127.0.0.1:9001",
        jobs_table="lux-video-x-jobs",
        job_retention_days=8,
        event_bus_name="lux-video-x-jobs",
        distribution_id="E2EXAMPLE",
        dynamodb_endpoint_url="http://127.0.0.1:9002",
        max_multipart_file_bytes=7 * 1024**3,
    )


@pytest.mark.parametrize("prefix", ["videos/", "a/b_c/d-e/", "x/" * 8])
def test_the_stack_config_and_the_function_accept_the_same_prefixes(prefix: str) -> None:
    from infra.config import ConfigError, parse
    from lambda_src.sign_uploads import config

    assert config.valid_prefix(prefix)
    parse({"bucketName": "lux-video-x", "prefix": prefix}, stack="s", region="us-west-2",
          default_tags={"tags": {"project": "lux-video", "stack": "s"}})  # fmt: skip
    for bad in ("", "media/v1.2/", "x/" * 9, "../", "videos"):
        assert not config.valid_prefix(bad)
        with pytest.raises(ConfigError, match="prefix"):
            parse({"bucketName": "lux-video-x", "prefix": bad}, stack="s", region="us-west-2",
                  default_tags={"tags": {"project": "lux-video", "stack": "s"}})  # fmt: skip
