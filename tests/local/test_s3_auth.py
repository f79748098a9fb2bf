"""The SigV4 verifier and the CORS evaluator, held against botocore and S3's documented rules."""

from __future__ import annotations

import calendar
import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from infra import policies
from local import s3_auth, s3_cors
from local.s3_front import S3Front
from tests.local.s3_requests import ACCESS_KEY, SECRET_KEY, clock_at, header_signed, presigned_put

ENDPOINT = "http://127.0.0.1:8701"
CREDENTIALS = {ACCESS_KEY: SECRET_KEY}
SIGNED_AT = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
NOW = calendar.timegm(SIGNED_AT.timetuple())


def incoming(method: str, url: str, headers: dict[str, str]) -> s3_auth.IncomingRequest:
    parts = urlsplit(url)
    return s3_auth.IncomingRequest(
        method=method,
        raw_path=parts.path,
        query=parse_qsl(parts.query, keep_blank_values=True),
        headers=[("host", parts.netloc), *((k.lower(), v) for k, v in headers.items())],
    )


@pytest.fixture
def presigned() -> str:
    with clock_at(SIGNED_AT):
        return presigned_put(
            ENDPOINT,
            "bucket",
            "videos/job/a b+c.ts",
            content_type="video/mp2t",
            length=5,
            cache_control="max-age=1",
        )


SENT = {"Content-Type": "video/mp2t", "Content-Length": "5", "Cache-Control": "max-age=1"}


def test_a_botocore_presigned_url_verifies_until_it_expires(presigned: str) -> None:
    verified = s3_auth.verify(incoming("PUT", presigned, SENT), CREDENTIALS, "us-west-2", NOW + 300)
    assert verified.presigned and verified.access_key == ACCESS_KEY
    with pytest.raises(s3_auth.S3AuthError) as expired:
        s3_auth.verify(incoming("PUT", presigned, SENT), CREDENTIALS, "us-west-2", NOW + 301)
    assert (expired.value.status, expired.value.code, expired.value.message) == (
        403,
        "AccessDenied",
        "Request has expired",
    )


@pytest.mark.parametrize(
    ("method", "changed"),
    [
        ("PUT", {"Content-Length": "4"}),
        ("PUT", {"Content-Type": "video/mp2t; charset=utf-8"}),
        ("PUT", {"Cache-Control": "no-cache"}),
        ("GET", {}),
    ],
)
def test_any_change_to_a_signed_part_is_signature_does_not_match(
    presigned: str, method: str, changed: dict[str, str]
) -> None:
    with pytest.raises(s3_auth.S3AuthError) as refused:
        s3_auth.verify(incoming(method, presigned, {**SENT, **changed}), CREDENTIALS, "us-west-2", NOW)
    assert refused.value.code == "SignatureDoesNotMatch" and refused.value.status == 403
    assert refused.value.extra["CanonicalRequest"].startswith(f"{method}\n/bucket/videos/job/a%20b%2Bc.ts\n")


def test_a_missing_signed_header_and_a_wrong_region_are_refused(presigned: str) -> None:
    without = {k: v for k, v in SENT.items() if k != "Cache-Control"}
    with pytest.raises(s3_auth.S3AuthError, match="SignatureDoesNotMatch"):
        s3_auth.verify(incoming("PUT", presigned, without), CREDENTIALS, "us-west-2", NOW)
    with pytest.raises(s3_auth.S3AuthError, match="region 'us-west-2' is wrong"):
        s3_auth.verify(incoming("PUT", presigned, SENT), CREDENTIALS, "eu-west-1", NOW)


def test_header_signed_requests_verify_and_their_clock_skew_is_bounded() -> None:
    url = f"{ENDPOINT}/bucket?list-type=2&prefix=videos%2F"
    with clock_at(SIGNED_AT):
        headers = header_signed("GET", url)
    assert not s3_auth.verify(incoming("GET", url, headers), CREDENTIALS, "us-west-2", NOW + 899).presigned
    with pytest.raises(s3_auth.S3AuthError, match="RequestTimeTooSkewed"):
        s3_auth.verify(incoming("GET", url, headers), CREDENTIALS, "us-west-2", NOW + 901)
    with pytest.raises(s3_auth.S3AuthError, match="SignatureDoesNotMatch"):
        s3_auth.verify(
            incoming("GET", url.replace("videos", "other"), headers), CREDENTIALS, "us-west-2", NOW
        )


def test_unsigned_and_sigv2_requests_are_refused() -> None:
    with pytest.raises(s3_auth.S3AuthError, match="403 AccessDenied"):
        s3_auth.verify(incoming("PUT", f"{ENDPOINT}/bucket/k", {}), CREDENTIALS, "us-west-2", NOW)
    v2 = f"{ENDPOINT}/bucket/k?AWSAccessKeyId={ACCESS_KEY}&Signature=abc&Expires=1"
    with pytest.raises(s3_auth.S3AuthError, match="AWS4-HMAC-SHA256"):
        s3_auth.verify(incoming("PUT", v2, {}), CREDENTIALS, "us-west-2", NOW)


RULES = [
    {
        "allowedOrigins": ["https://app.example.com"],
        "allowedMethods": ["PUT"],
        "allowedHeaders": ["content-type"],
    },
    {"allowedOrigins": ["https://*.example.com"], "allowedMethods": ["GET", "PUT"], "allowedHeaders": ["*"]},
]


def test_the_first_rule_admitting_origin_method_and_headers_wins() -> None:
    assert s3_cors.matching_rule(RULES, "https://app.example.com", "PUT", ["content-type"]) is RULES[0]
    # Rule 1 does not admit the header: rule 2 does (moto would have merged them).
    assert s3_cors.matching_rule(RULES, "https://app.example.com", "PUT", ["x-custom"]) is RULES[1]
    assert s3_cors.matching_rule(RULES, "https://cdn.example.com", "GET", ["Range"]) is RULES[1]
    assert s3_cors.matching_rule(RULES, "https://example.org", "GET", []) is None
    assert s3_cors.matching_rule(RULES, "https://app.example.com", "DELETE", []) is None
    # '*' matches within the origin only as a wildcard; '?' and '[' are literal.
    assert not s3_cors.wildcard_match("https://a?.com", "https://ab.com")


def test_the_bucket_rules_separate_uploads_from_reads() -> None:
    rules = policies.bucket_cors_rules(("https://app.example.com",))
    upload = s3_cors.matching_rule(rules, "https://app.example.com", "PUT", ["content-type", "cache-control"])
    assert upload is not None and upload["allowedMethods"] == ["PUT", "POST", "DELETE"]
    read = s3_cors.matching_rule(rules, "https://app.example.com", "GET", ["range"])
    assert read is not None and read["allowedMethods"] == ["GET", "HEAD"]
    assert s3_cors.matching_rule(rules, "https://app.example.com", "GET", ["content-type"]) is None
    assert s3_cors.matching_rule(rules, "https://evil.example.com", "PUT", []) is None


def test_the_endpoint_answers_preflights_only_for_the_listed_origins() -> None:
    """With an explicit origin list (prod-like), a preflight from elsewhere is 403 with no CORS headers."""

    def backend(environ: dict[str, object], start_response: object) -> list[bytes]:
        raise AssertionError("a preflight never reaches the emulator")

    front = S3Front(
        backend, CREDENTIALS, "us-west-2", policies.bucket_cors_rules(("https://app.example.com",))
    )
    client = TestClient(front)
    ask = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/bucket/videos/a.ts", headers={"Origin": "https://app.example.com", **ask})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "Origin" in allowed.headers["vary"]
    refused = client.options("/bucket/videos/a.ts", headers={"Origin": "https://evil.example.com", **ask})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    assert "<Code>AccessForbidden</Code>" in refused.text
