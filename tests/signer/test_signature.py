"""The URLs are correctly signed: byte-identical to botocore's, and accepted only as issued.

Differential test: botocore's S3 client, ``signature_version="s3v4"``, virtual addressing with the
regional endpoint (``us_east_1_regional_endpoint="regional"``: botocore would otherwise use the
global endpoint for us-east-1, which the contract forbids), or ``endpoint_url`` with path
addressing for the local stack. botocore's ``generate_presigned_url("put_object", ...)`` signs
exactly ``cache-control;content-length;content-type;host`` for these params, plus
``if-none-match`` with ``IfNoneMatch="*"`` (every file but the playlists), so no custom
AWSRequest is needed. Its clock is frozen by patching ``botocore.auth.get_current_datetime``.
"""

from __future__ import annotations

import datetime
import random
from functools import cache
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import botocore.session
import pytest
from botocore.config import Config

from lambda_src.sign_uploads import media
from lambda_src.sign_uploads.sigv4 import PutPresigner

from .s3_verifier import FakeS3, s3_accepts
from .support import ACCESS_KEY, SECRET_KEY, call, files, make_event

REGIONS = ("us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2", "sa-east-1", "cn-north-1")
ENDPOINTS = (None, "http://127.0.0.1:4566", "http://localhost:9000", "https://s3.local.test")
KEY_ALPHABET = "ABCXYZabcxyz0189._-~/ +%=&?#!*'()$,;:@ä€"
CASES = 3000


@cache
def _botocore_session() -> Any:
    return botocore.session.get_session()


@cache
def _botocore_client(region: str, access: str, secret: str, token: str | None, endpoint: str | None) -> Any:
    style = "path" if endpoint else "virtual"
    return _botocore_session().create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": style, "us_east_1_regional_endpoint": "regional"},
        ),
    )


def botocore_url(case: dict[str, Any]) -> str:
    client = _botocore_client(case["region"], case["access"], case["secret"], case["token"], case["endpoint"])
    frozen = datetime.datetime.fromtimestamp(case["now"], datetime.UTC).replace(tzinfo=None)
    params = {
        "Bucket": case["bucket"],
        "Key": case["key"],
        "ContentType": case["content_type"],
        "ContentLength": case["size"],
        "CacheControl": case["cache_control"],
        "ContentEncoding": media.CONTENT_ENCODING,
    }
    if case["create_only"]:
        params["IfNoneMatch"] = "*"
    with mock.patch("botocore.auth.get_current_datetime", return_value=frozen):
        return str(client.generate_presigned_url("put_object", Params=params, ExpiresIn=case["ttl"]))


def our_url(case: dict[str, Any]) -> str:
    presigner = PutPresigner(
        access_key=case["access"],
        secret_key=case["secret"],
        session_token=case["token"],
        region=case["region"],
        bucket=case["bucket"],
        expires=case["ttl"],
        now=case["now"],
        endpoint_url=case["endpoint"],
    )
    return presigner.presign(
        case["key"],
        content_type=case["content_type"],
        content_length=case["size"],
        cache_control=case["cache_control"],
        content_encoding=media.CONTENT_ENCODING,
        create_only=case["create_only"],
    )


def generated_cases(count: int, seed: int = 20260101) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    credentials = [
        (ACCESS_KEY, SECRET_KEY, None),
        ("ASIATEMPORARY0000002", "tmp/secret+key", "IQoJb3JpZ2luX2VjE+/=session~token-_.%"),
    ]
    cases = []
    for _ in range(count):
        access, secret, token = rng.choice(credentials)
        segments = [
            "".join(rng.choices(KEY_ALPHABET, k=rng.randint(1, 12))) for _ in range(rng.randint(1, 4))
        ]
        path = "/".join(segments) + rng.choice(sorted(media.MEDIA_TYPES))
        cases.append(
            {
                "region": rng.choice(REGIONS),
                "endpoint": rng.choice(ENDPOINTS) if rng.random() < 0.3 else None,
                "access": access,
                "secret": secret,
                "token": token,
                "bucket": rng.choice(["lux-video-dev-262a61d7", "a1b", "x" * 63]),
                "key": rng.choice(["videos/", "", "p/q/"]) + path,
                "content_type": media.content_type_for(path) or "application/octet-stream",
                "cache_control": media.cache_control_for(path),
                "create_only": media.is_create_only(path),
                "size": rng.choice([1, 1832, rng.randint(1, 5 * 1024**3), 5 * 1024**3]),
                "ttl": rng.choice([1, 60, 900, 3600, rng.randint(1, 3600)]),
                "now": rng.randint(0, 4_102_444_800),  # 1970 .. 2100
            }
        )
    return cases


def test_presigner_is_byte_identical_to_botocore_over_generated_cases() -> None:
    mismatches = [(case, our_url(case), botocore_url(case)) for case in generated_cases(CASES)]
    mismatches = [m for m in mismatches if m[1] != m[2]]
    assert not mismatches, mismatches[:3]


def test_differential_cases_cover_both_endpoint_modes_tokens_and_quoting() -> None:
    cases = generated_cases(CASES)
    assert {c["endpoint"] is None for c in cases} == {True, False}
    assert {c["token"] is None for c in cases} == {True, False}
    assert {c["region"] for c in cases} == set(REGIONS)
    assert {c["create_only"] for c in cases} == {True, False}
    keys = "".join(c["key"] for c in cases)
    assert all(ch in keys for ch in "~-_. %ä")


def test_handler_urls_match_botocore_at_the_same_instant() -> None:
    reply = call(make_event(files("master.m3u8", "720p/seg_000.ts", "thumb.jpg")))
    for upload in reply.json["uploads"]:
        query = parse_qs(urlsplit(upload["url"]).query)
        signed_at = datetime.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
        case = {
            "region": "us-west-2",
            "endpoint": None,
            "access": ACCESS_KEY,
            "secret": SECRET_KEY,
            "token": None,
            "bucket": "lux-video-test",
            "key": upload["key"],
            "content_type": upload["headers"]["Content-Type"],
            "cache_control": upload["headers"]["Cache-Control"],
            "create_only": upload["headers"].get("If-None-Match") == "*",
            "size": int(upload["headers"]["Content-Length"]),
            "ttl": reply.json["expiresIn"],
            "now": signed_at.replace(tzinfo=datetime.UTC).timestamp(),
        }
        assert upload["url"] == botocore_url(case)


@pytest.fixture
def issued() -> tuple[dict[str, Any], float]:
    reply = call(make_event({"files": [{"path": "720p/seg_000.ts", "size": 1832}]}))
    upload = reply.json["uploads"][0]
    issued_at = parse_qs(urlsplit(upload["url"]).query)["X-Amz-Date"][0]
    at = datetime.datetime.strptime(issued_at, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC).timestamp()
    return upload, at


def test_url_is_accepted_with_exactly_the_returned_headers(issued: tuple[dict[str, Any], float]) -> None:
    upload, at = issued
    assert s3_accepts("PUT", upload["url"], upload["headers"], SECRET_KEY, at=at + 1)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Content-Length", "1833"),
        ("Content-Length", "999999999"),
        ("Content-Type", "text/html"),
        ("Cache-Control", "no-cache"),
    ],
)
def test_changed_signed_header_is_refused(
    issued: tuple[dict[str, Any], float], header: str, value: str
) -> None:
    upload, at = issued
    assert s3_accepts("PUT", upload["url"], upload["headers"], SECRET_KEY, at=at + 1)
    assert not s3_accepts("PUT", upload["url"], {**upload["headers"], header: value}, SECRET_KEY, at=at + 1)


def test_size_is_signed_as_content_length(issued: tuple[dict[str, Any], float]) -> None:
    upload, at = issued
    query = parse_qs(urlsplit(upload["url"]).query)
    assert "content-length" in query["X-Amz-SignedHeaders"][0].split(";")
    without_length = {k: v for k, v in upload["headers"].items() if k != "Content-Length"}
    assert not s3_accepts("PUT", upload["url"], without_length, SECRET_KEY, at=at + 1)


def test_url_for_another_key_or_method_or_secret_is_refused(issued: tuple[dict[str, Any], float]) -> None:
    upload, at = issued
    other_key = upload["url"].replace("seg_000.ts", "seg_001.ts")
    assert not s3_accepts("PUT", other_key, upload["headers"], SECRET_KEY, at=at + 1)
    assert not s3_accepts("GET", upload["url"], upload["headers"], SECRET_KEY, at=at + 1)
    assert not s3_accepts("PUT", upload["url"], upload["headers"], "another-secret", at=at + 1)


def test_url_expires_after_the_ttl(issued: tuple[dict[str, Any], float]) -> None:
    upload, at = issued
    assert s3_accepts("PUT", upload["url"], upload["headers"], SECRET_KEY, at=at + 900)
    assert not s3_accepts("PUT", upload["url"], upload["headers"], SECRET_KEY, at=at + 901)


def test_session_token_is_signed_into_the_url(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjE/token+=")
    upload = call(make_event(files("a.ts"))).json["uploads"][0]
    assert parse_qs(urlsplit(upload["url"]).query)["X-Amz-Security-Token"] == ["IQoJb3JpZ2luX2VjE/token+="]


# --- create-only uploads: If-None-Match is signed for every file but the playlists -------------


def test_every_file_but_the_playlists_is_signed_create_only() -> None:
    reply = call(
        make_event(files("master.m3u8", "720p/index.m3u8", *(f"a{ext}" for ext in media.MEDIA_TYPES)))
    )
    for upload in reply.json["uploads"]:
        signed = parse_qs(urlsplit(upload["url"]).query)["X-Amz-SignedHeaders"][0].split(";")
        if upload["path"].endswith(".m3u8"):
            assert "If-None-Match" not in upload["headers"] and "if-none-match" not in signed
        else:
            assert upload["headers"]["If-None-Match"] == "*" and "if-none-match" in signed


def test_a_create_only_url_is_refused_without_its_if_none_match(issued: tuple[dict[str, Any], float]) -> None:
    """A client (or a proxy) dropping or changing the header cannot turn the URL into an overwrite."""
    upload, at = issued
    assert upload["headers"]["If-None-Match"] == "*"
    without = {k: v for k, v in upload["headers"].items() if k != "If-None-Match"}
    assert not s3_accepts("PUT", upload["url"], without, SECRET_KEY, at=at + 1)
    assert not s3_accepts(
        "PUT", upload["url"], {**upload["headers"], "If-None-Match": '"etag"'}, SECRET_KEY, at=at + 1
    )


def test_s3_refuses_to_overwrite_a_segment_but_a_playlist_is_rewritable() -> None:
    bucket = FakeS3(SECRET_KEY)
    first = call(make_event({"jobId": "j", **files("master.m3u8", "720p/seg_000.ts")})).json["uploads"]
    again = call(make_event({"jobId": "j", **files("master.m3u8", "720p/seg_000.ts")})).json["uploads"]
    assert [bucket.put(u["url"], u["headers"]) for u in first] == [200, 200]
    assert [bucket.put(u["url"], u["headers"]) for u in again] == [200, 412]


def test_the_create_only_check_catches_a_signer_that_stops_signing_if_none_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rule broken on purpose: with create-only signing switched off, a segment is overwritten."""
    monkeypatch.setattr(media, "is_create_only", lambda path: False)
    bucket = FakeS3(SECRET_KEY)
    uploads = [call(make_event({"jobId": "j", **files("seg.ts")})).json["uploads"][0] for _ in range(2)]
    assert [bucket.put(u["url"], u["headers"]) for u in uploads] == [200, 200]  # what the rule prevents
