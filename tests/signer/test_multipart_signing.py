"""The multipart signing is botocore's, byte for byte.

- Part URLs (``sigv4.S3Presigner``, only ``host`` signed) equal botocore's
  ``generate_presigned_url("upload_part", ...)`` over generated cases (regions incl. China,
  endpoints, session tokens, keys with every character class, uploadIds as S3 and moto write them,
  part numbers 1..10,000, clocks 1970..2100).
- The header-signed S3 calls of ``s3_api`` (``sigv4.signed_headers`` with a method and a query
  string) equal botocore's ``S3SigV4Auth`` (no path normalisation) for create (``?uploads``), list parts (paged), complete
  (POST with a body) and abort (DELETE).
"""

from __future__ import annotations

import datetime
import hashlib
import random
from functools import cache
from typing import Any
from unittest import mock

import botocore.session
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from lambda_src.sign_uploads import sigv4

from .test_signature import ENDPOINTS, KEY_ALPHABET, REGIONS

CASES = 1500
UPLOAD_IDS = (
    "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA",
    "2~fZrmWhQ8fTEhfMOQvTKlM_Yq.v8Nxy-3",
    "a+b/c=d",
)


@cache
def _client(region: str, access: str, secret: str, token: str | None, endpoint: str | None) -> Any:
    return botocore.session.get_session().create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            signature_version="s3v4",
            s3={
                "addressing_style": "path" if endpoint else "virtual",
                "us_east_1_regional_endpoint": "regional",
            },
        ),
    )


def _frozen(now: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).replace(tzinfo=None)


def cases(count: int = CASES, seed: int = 20261129) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        access, secret, token = rng.choice(
            [
                ("AKIATESTSIGNER000001", "test-secret-key/with+symbols==", None),
                ("ASIATEMPORARY0000002", "tmp/secret+key", "IQoJb3JpZ2luX2VjE+/=session~token-_.%"),
            ]
        )
        key = "/".join("".join(rng.choices(KEY_ALPHABET, k=rng.randint(1, 12))) for _ in range(3)) + ".mp4"
        result.append(
            {
                "region": rng.choice(REGIONS),
                "endpoint": rng.choice(ENDPOINTS) if rng.random() < 0.3 else None,
                "access": access,
                "secret": secret,
                "token": token,
                "bucket": rng.choice(["lux-video-dev-262a61d7", "a1b", "x" * 63]),
                "key": rng.choice(["videos/", "videos/sub.abc/"]) + key,
                "upload_id": rng.choice(UPLOAD_IDS),
                "part": rng.choice([1, 2, 9999, 10_000, rng.randint(1, 10_000)]),
                "ttl": rng.choice([60, 900, 3600]),
                "now": rng.randint(0, 4_102_444_800),
            }
        )
    return result


def ours(case: dict[str, Any]) -> str:
    presigner = sigv4.S3Presigner(
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
        "PUT", case["key"], [("uploadId", case["upload_id"]), ("partNumber", str(case["part"]))]
    )


def botocores(case: dict[str, Any]) -> str:
    client = _client(case["region"], case["access"], case["secret"], case["token"], case["endpoint"])
    params = {
        "Bucket": case["bucket"],
        "Key": case["key"],
        "UploadId": case["upload_id"],
        "PartNumber": case["part"],
    }
    with mock.patch("botocore.auth.get_current_datetime", return_value=_frozen(case["now"])):
        return str(client.generate_presigned_url("upload_part", Params=params, ExpiresIn=case["ttl"]))


def test_part_urls_are_byte_identical_to_botocore() -> None:
    mismatches = [(c, ours(c), botocores(c)) for c in cases()]
    mismatches = [m for m in mismatches if m[1] != m[2]]
    assert not mismatches, mismatches[:2]


def test_part_url_cases_cover_tokens_endpoints_and_quoting() -> None:
    generated = cases()
    assert {c["token"] is None for c in generated} == {True, False}
    assert {c["endpoint"] is None for c in generated} == {True, False}
    assert {c["part"] for c in generated} >= {1, 10_000}
    assert all(ch in "".join(c["key"] for c in generated) for ch in " %ä~")


@pytest.mark.parametrize("change", [{"part": 3}, {"upload_id": "other"}, {"key": "videos/x.mp4"}, {"now": 7}])
def test_every_signed_input_moves_the_part_signature(change: dict[str, Any]) -> None:
    case = cases(1)[0]
    assert ours(case).rsplit("=", 1)[1] != ours({**case, **change}).rsplit("=", 1)[1]
    assert ours({**case, **change}) == botocores({**case, **change})


# --- header-signed S3 calls -------------------------------------------------------------------

CALLS: tuple[tuple[str, list[tuple[str, str]], bytes, dict[str, str]], ...] = (
    ("POST", [("uploads", "")], b"", {"Content-Type": "video/mp4", "Cache-Control": "public, max-age=1"}),
    ("GET", [("uploadId", UPLOAD_IDS[1]), ("part-number-marker", "1000"), ("max-parts", "1000")], b"", {}),
    (
        "POST",
        [("uploadId", UPLOAD_IDS[2])],
        b"<CompleteMultipartUpload/>",
        {"Content-Type": "application/xml"},
    ),
    ("DELETE", [("uploadId", UPLOAD_IDS[0])], b"", {}),
    ("HEAD", [], b"", {}),
)


@pytest.mark.parametrize("call", CALLS, ids=[f"{c[0]} {c[1][:1]}" for c in CALLS])
@pytest.mark.parametrize("case", cases(40, seed=7), ids=lambda c: c["region"])
def test_header_signed_s3_calls_are_byte_identical_to_botocore(
    call: tuple[str, list[tuple[str, str]], bytes, dict[str, str]], case: dict[str, Any]
) -> None:
    method, params, body, headers = call
    origin, _, path_prefix = sigv4.s3_location(case["bucket"], case["region"], case["endpoint"])
    from urllib.parse import quote

    url = f"{origin}{path_prefix}/{quote(case['key'], safe='/~')}"
    if params:
        url += "?" + sigv4.encode_query(params)
    headers = {**headers, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    mine = sigv4.signed_headers(
        url=url,
        headers=headers,
        body=body,
        service="s3",
        region=case["region"],
        access_key=case["access"],
        secret_key=case["secret"],
        session_token=case["token"],
        now=case["now"],
        method=method,
    )
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    request.context["payload_signing_enabled"] = True  # botocore's S3 signer hashes the body too
    with mock.patch("botocore.auth.get_current_datetime", return_value=_frozen(case["now"])):
        credentials = Credentials(case["access"], case["secret"], case["token"])
        S3SigV4Auth(credentials, "s3", case["region"]).add_auth(request)
    assert mine == dict(request.headers.items())
