"""End to end on the real local stack: sign, PUT with the returned headers, read back through the CDN."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra import policies
from lambda_src.sign_uploads import media
from local.s3_emulator import s3_client
from local.stack import LocalSettings, LocalStack, LocalStackError, free_port
from tests.infra.helpers import DEV_ALLOW_ORIGIN, DEV_ORIGINS, DEV_PAGE_ORIGIN
from tools import cdn_config as cdn_config_tool

ORIGIN = DEV_PAGE_ORIGIN


def upload_package(stack: LocalStack, folder: Path, job_id: str) -> dict[str, Any]:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    request = {"jobId": job_id, "files": [{"path": f, "size": (folder / f).stat().st_size} for f in files]}
    signed = httpx.post(stack.signer_url, json=request, headers={"Origin": ORIGIN})
    assert signed.status_code == 200, signed.text
    assert signed.headers["access-control-allow-origin"] == DEV_ALLOW_ORIGIN
    body = signed.json()
    for upload in body["uploads"]:
        assert upload["url"].startswith(stack.s3_endpoint_url + "/")
        put = httpx.put(
            upload["url"], content=(folder / upload["path"]).read_bytes(), headers=upload["headers"]
        )
        assert put.status_code == 200, put.text
    return body


@pytest.fixture(scope="module")
def uploaded(stack: LocalStack, hls_package: Path) -> dict[str, Any]:
    return upload_package(stack, hls_package, "e2e-job")


def test_signer_answers_with_urls_for_the_emulator_and_the_cdn(
    stack: LocalStack, uploaded: dict[str, Any]
) -> None:
    assert uploaded["prefix"] == "videos/e2e-job/"
    assert uploaded["playbackUrl"] == f"{stack.base_url}/videos/e2e-job/master.m3u8"
    assert {u["path"] for u in uploaded["uploads"]} >= {"master.m3u8", "360p/index.m3u8", "360p/seg_000.ts"}


def test_cdn_serves_the_bytes_with_type_cache_control_and_etag(
    stack: LocalStack, uploaded: dict[str, Any], hls_package: Path
) -> None:
    for upload in uploaded["uploads"]:
        response = httpx.get(upload["publicUrl"])
        assert response.status_code == 200
        assert response.content == (hls_package / upload["path"]).read_bytes()
        assert response.headers["content-type"] == upload["headers"]["Content-Type"]
        assert response.headers["cache-control"] == media.cache_control_for(upload["path"])
        assert response.headers["etag"].startswith('"') and len(response.headers["etag"]) == 34
        assert response.headers["accept-ranges"] == "bytes"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_manifests_are_short_lived_and_segments_immutable(uploaded: dict[str, Any]) -> None:
    by_path = {u["path"]: u for u in uploaded["uploads"]}
    manifest = httpx.get(by_path["master.m3u8"]["publicUrl"]).headers["cache-control"]
    segment = httpx.get(by_path["360p/seg_000.ts"]["publicUrl"]).headers["cache-control"]
    assert manifest == f"public, max-age={media.MANIFEST_MAX_AGE_SECONDS}"
    assert segment == "public, max-age=31536000, immutable"


def test_cdn_adds_the_response_headers_policy_cors(uploaded: dict[str, Any]) -> None:
    response = httpx.get(uploaded["playbackUrl"], headers={"Origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == DEV_ALLOW_ORIGIN
    exposed = response.headers["access-control-expose-headers"].split(",")
    assert "ETag" in exposed
    # One definition: the local CDN exposes exactly what the distribution's policy declares.
    assert exposed == list(policies.cdn_cors(DEV_ORIGINS)["accessControlExposeHeaders"]["items"])
    assert (
        "access-control-allow-origin" not in httpx.get(uploaded["playbackUrl"]).headers
    )  # no Origin, no CORS


def test_cors_preflight_is_answered_by_the_cdn(uploaded: dict[str, Any]) -> None:
    response = httpx.options(
        uploaded["playbackUrl"],
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )
    assert response.status_code == 200
    assert sorted(response.headers["access-control-allow-methods"].split(",")) == ["GET", "HEAD", "OPTIONS"]
    assert "Range" in response.headers["access-control-allow-headers"].split(",")
    # A PUT through the CDN: S3 would allow it (direct uploads), but the response headers policy
    # advertises only the read methods, so the browser refuses.
    put = httpx.options(
        uploaded["playbackUrl"], headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    )
    assert "PUT" not in put.headers.get("access-control-allow-methods", "")
    # A header the bucket's CORS rules do not admit: S3 refuses the preflight, as it would behind CloudFront.
    odd = httpx.options(
        uploaded["playbackUrl"],
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-evil",
        },
    )
    assert odd.status_code == 403
    assert (
        httpx.options(uploaded["playbackUrl"], headers={"Access-Control-Request-Method": "GET"}).status_code
        == 400
    )


def test_matching_etag_gets_304_and_a_changed_one_gets_the_object(uploaded: dict[str, Any]) -> None:
    url = uploaded["playbackUrl"]
    etag = httpx.get(url).headers["etag"]
    not_modified = httpx.get(url, headers={"If-None-Match": etag, "Origin": ORIGIN})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["access-control-allow-origin"] == DEV_ALLOW_ORIGIN
    assert httpx.get(url, headers={"If-None-Match": '"0000"'}).status_code == 200


def test_range_requests_get_206_with_content_range(uploaded: dict[str, Any], hls_package: Path) -> None:
    by_path = {u["path"]: u for u in uploaded["uploads"]}
    segment = hls_package / "360p" / "seg_000.ts"
    response = httpx.get(by_path["360p/seg_000.ts"]["publicUrl"], headers={"Range": "bytes=10-109"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 10-109/{segment.stat().st_size}"
    assert response.content == segment.read_bytes()[10:110]


def test_head_returns_headers_without_a_body(uploaded: dict[str, Any]) -> None:
    response = httpx.head(uploaded["playbackUrl"])
    assert response.status_code == 200 and response.content == b""
    assert response.headers["etag"] and response.headers["cache-control"]


def test_missing_objects_and_keys_outside_the_prefix_are_denied_like_oac(stack: LocalStack) -> None:
    assert httpx.get(f"{stack.base_url}/videos/e2e-job/missing.ts").status_code == 403
    assert httpx.get(f"{stack.base_url}/other/thing.ts").status_code in (403, 404)


def test_signer_errors_keep_the_contract_through_the_gateway(stack: LocalStack) -> None:
    response = httpx.post(
        stack.signer_url, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"]["code"]
    assert httpx.get(stack.signer_url).status_code == 404  # API Gateway has only POST /


def test_signer_preflight_follows_the_api_cors(stack: LocalStack) -> None:
    response = httpx.options(
        stack.signer_url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    # The API's methods (POST /, GET and DELETE /jobs/{jobId} and the multipart routes), as
    # infra/policies/api.py declares them.
    assert response.headers["access-control-allow-methods"] == ",".join(policies.API_CORS_METHODS)
    assert response.headers["access-control-allow-headers"] == "content-type,authorization"


def test_cdn_config_json_is_written_with_every_url(stack: LocalStack) -> None:
    written = json.loads((stack.settings.data_dir / "cdn_config.json").read_text())
    assert written == stack.cdn_config()
    assert written["signerEndpoint"] == stack.signer_url
    assert written["cdnBaseUrl"] == stack.base_url
    assert written["processorEndpoint"] == f"{stack.base_url}/api/videos"
    assert written["environment"] == "local"
    cdn_config_tool.validate(written)  # the same schema as `make cdn-config` output


def test_lan_urls_fit_the_cdn_config_schema(tmp_path: Path) -> None:
    settings = LocalSettings(
        host="0.0.0.0",  # noqa: S104 - never started, only the URLs are read
        public_host="192.168.1.20",
        port=9100,
        s3_port=9101,
        data_dir=tmp_path,
    )
    config = LocalStack(settings).cdn_config()
    assert config["signerEndpoint"] == "http://192.168.1.20:9100/"
    cdn_config_tool.validate(config)


def test_a_port_in_use_fails_naming_it(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = LocalStack(LocalSettings(port=port, s3_port=free_port(), data_dir=tmp_path))
        with pytest.raises(LocalStackError, match=rf"port {port} .*\(PORT\)"):
            stack.start()


def test_bad_port_variables_fail_naming_them() -> None:
    with pytest.raises(LocalStackError, match="S3_PORT"):
        LocalSettings.from_env({"S3_PORT": "eighty"})
    assert LocalSettings.from_env({"PORT": "9100", "S3_PORT": "9101"}).port == 9100


def test_missing_ffmpeg_fails_fast_naming_it(tmp_path: Path) -> None:
    from processor.settings import ProcessorSettings, ToolMissingError

    broken = ProcessorSettings(data_dir=tmp_path, ffmpeg_path="/nonexistent/ffmpeg")
    with pytest.raises(ToolMissingError, match="ffmpeg"):
        LocalStack(LocalSettings(port=free_port(), s3_port=free_port(), data_dir=tmp_path), broken)


def test_the_local_signer_never_rewrites_the_process_environment(stack: LocalStack) -> None:
    """The handler gets the stack's environment as an argument: tests and tools in the same
    process keep their own AWS settings."""
    assert httpx.post(stack.signer_url, json={"files": [{"path": "a.ts", "size": 1}]}).status_code == 200
    assert os.environ.get("BUCKET") != stack.config.bucket_name
    assert os.environ.get("AWS_ACCESS_KEY_ID") != stack.signer_environment()["AWS_ACCESS_KEY_ID"]


def test_make_dev_reports_a_busy_port_in_one_line_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from local.__main__ import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("PORT", str(free_port()))
        monkeypatch.setenv("S3_PORT", str(port))
        monkeypatch.setenv("LUX_LOCAL_DATA_DIR", str(tmp_path))
        assert main([]) == 1
    captured = capsys.readouterr()
    assert f"port {port} on 127.0.0.1 is already in use (S3_PORT)" in captured.err
    assert "Traceback" not in captured.err and "signer API" not in captured.out


def test_preflights_follow_the_bucket_cors_rules_s3_would_apply() -> None:
    from infra import policies
    from local.cdn import s3_preflight_allows

    explicit = policies.bucket_cors_rules(("https://app.example.com",))
    assert s3_preflight_allows(explicit, "https://app.example.com", "GET", ["range"])
    assert s3_preflight_allows(explicit, "https://app.example.com", "PUT", ["content-type", "cache-control"])
    assert not s3_preflight_allows(explicit, "https://evil.example.com", "GET", ["range"])
    assert s3_preflight_allows(explicit, "https://app.example.com", "DELETE", [])  # abort (signRequest mode)
    assert not s3_preflight_allows(explicit, "https://app.example.com", "PATCH", [])
    assert not s3_preflight_allows(explicit, "https://app.example.com", "GET", ["authorization"])


def test_viewers_get_only_the_representation_headers_that_were_signed(stack: LocalStack) -> None:
    """An uploader may add unsigned headers to a pre-signed PUT and S3 stores them; the CDN removes
    Content-Disposition, Content-Language and Expires (as the response headers policy does), and
    Content-Encoding is signed, so another value is refused at the upload."""
    body = b"#EXTM3U\n#EXT-X-VERSION:3\n"
    request = {"jobId": "representation", "files": [{"path": "master.m3u8", "size": len(body)}]}
    (upload,) = httpx.post(stack.signer_url, json=request).json()["uploads"]
    gzip = httpx.put(upload["url"], content=body, headers={**upload["headers"], "Content-Encoding": "gzip"})
    assert gzip.status_code == 403 and "SignatureDoesNotMatch" in gzip.text
    extras = {"Content-Disposition": "attachment; filename=x.exe", "Content-Language": "xx", "Expires": "0"}
    stored = httpx.put(upload["url"], content=body, headers={**upload["headers"], **extras})
    assert stored.status_code == 200, stored.text
    served = httpx.get(f"{stack.base_url}/{upload['key']}")
    assert served.status_code == 200 and served.content == body
    assert served.headers["content-encoding"] == media.CONTENT_ENCODING
    for name in policies.CDN_REMOVED_HEADERS:
        assert name.lower() not in served.headers, name
    # Break it: straight from the bucket, the unsigned headers are there (S3 stored them).
    raw = s3_client(stack.emulator.endpoint_url).head_object(
        Bucket=stack.config.bucket_name, Key=upload["key"]
    )
    assert raw["ContentDisposition"] == extras["Content-Disposition"]
