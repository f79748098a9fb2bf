"""The local S3 endpoint refuses what S3 refuses, and accepts what S3 accepts, over real HTTP.

Every refusal is paired with the same request unchanged succeeding: a test that only saw 403s
would pass against an endpoint that refuses everything.
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError

from lambda_src.sign_uploads import media
from local.s3_emulator import s3_client
from local.stack import LocalStack
from tests.infra.helpers import DEV_ALLOW_ORIGIN, DEV_PAGE_ORIGIN
from tests.local.s3_requests import clock_at, header_signed, presigned_put

DATA = b"#EXTM3U\n#EXT-X-VERSION:3\n" + bytes(range(256)) * 4
TYPE = "application/vnd.apple.mpegurl"
CACHE = "public, max-age=2"
HEADERS = {"Content-Type": TYPE, "Cache-Control": CACHE}


def error_code(response: httpx.Response) -> str:
    match = re.search(r"<Code>([^<]*)</Code>", response.text)
    assert match, response.text
    return match.group(1)


def message(response: httpx.Response) -> str:
    match = re.search(r"<Message>([^<]*)</Message>", response.text)
    assert match, response.text
    return match.group(1)


@pytest.fixture
def signed(stack: LocalStack, request: pytest.FixtureRequest) -> tuple[str, str]:
    """A fresh key and the signer's URL for it (the URL the app gets)."""
    job = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:60]
    answer = httpx.post(
        stack.signer_url, json={"jobId": job, "files": [{"path": "a.m3u8", "size": len(DATA)}]}
    )
    assert answer.status_code == 200, answer.text
    (upload,) = answer.json()["uploads"]
    assert upload["headers"]["Content-Type"] == TYPE
    assert upload["headers"]["Content-Length"] == str(len(DATA))
    return upload["url"], upload["headers"]["Cache-Control"]


def put(url: str, cache: str, body: bytes = DATA, **changes: str | None) -> httpx.Response:
    headers: dict[str, str] = {
        "Content-Type": TYPE,
        "Cache-Control": cache,
        "Content-Encoding": media.CONTENT_ENCODING,
    }
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return httpx.put(url, content=body, headers=headers)


def flip_last(signature_url: str) -> str:
    last = signature_url[-1]
    return signature_url[:-1] + ("0" if last != "0" else "1")


CHANGES: dict[str, Callable[[str, str], httpx.Response]] = {
    "tampered signature": lambda url, cache: put(flip_last(url), cache),
    "body one byte shorter": lambda url, cache: put(url, cache, body=DATA[:-1]),
    "content-type with charset": lambda url, cache: put(url, cache, Content_Type=f"{TYPE}; charset=utf-8"),
    "missing cache-control": lambda url, cache: put(url, cache, Cache_Control=None),
    "other cache-control": lambda url, cache: put(url, cache, Cache_Control="no-cache"),
    "other key": lambda url, cache: put(url.replace("/a.m3u8?", "/b.m3u8?"), cache),
    "other method": lambda url, cache: httpx.post(
        url, content=DATA, headers={"Content-Type": TYPE, "Cache-Control": cache}
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_changed_signed_put_is_refused_as_s3_refuses_it_and_the_unchanged_one_passes(
    signed: tuple[str, str], change: str
) -> None:
    url, cache = signed
    refused = CHANGES[change](url, cache)
    assert refused.status_code == 403, refused.text
    assert error_code(refused) == "SignatureDoesNotMatch"
    assert "<CanonicalRequest>" in refused.text and "<StringToSign>" in refused.text  # S3's debugging aids
    accepted = put(url, cache)
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["etag"] == f'"{hashlib.md5(DATA).hexdigest()}"'  # noqa: S324 - S3's ETag


def test_an_expired_url_gets_access_denied_request_has_expired(stack: LocalStack) -> None:
    bucket, key = stack.config.bucket_name, "videos/expiry/a.m3u8"
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=120)
    with clock_at(past):
        expired = presigned_put(
            stack.s3_endpoint_url,
            bucket,
            key,
            content_type=TYPE,
            length=len(DATA),
            cache_control=CACHE,
            expires=60,
        )
        still_valid = presigned_put(
            stack.s3_endpoint_url,
            bucket,
            key,
            content_type=TYPE,
            length=len(DATA),
            cache_control=CACHE,
            expires=600,
        )
    refused = httpx.put(expired, content=DATA, headers=HEADERS)
    assert refused.status_code == 403
    assert error_code(refused) == "AccessDenied" and message(refused) == "Request has expired"
    assert "<X-Amz-Expires>60</X-Amz-Expires>" in refused.text
    # Signed at the same instant with a longer lifetime: the signature itself was fine.
    assert httpx.put(still_valid, content=DATA, headers=HEADERS).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/{bucket}/videos/unsigned/a.ts"),
        ("DELETE", "/{bucket}/videos/unsigned/a.ts"),
        ("GET", "/{bucket}?list-type=2"),
        ("GET", "/{bucket}/videos/unsigned/a.ts"),
        ("GET", "/"),
    ],
)
def test_unsigned_requests_are_refused_and_the_same_request_signed_passes(
    stack: LocalStack, method: str, path: str
) -> None:
    url = stack.s3_endpoint_url + path.format(bucket=stack.config.bucket_name)
    body = b"x" if method == "PUT" else b""
    unsigned = httpx.request(method, url, content=body)
    assert unsigned.status_code == 403
    assert error_code(unsigned) == "AccessDenied"
    if method == "GET" and path.endswith("a.ts"):  # the object must exist for a signed GET to pass
        s3_client(stack.emulator.endpoint_url).put_object(
            Bucket=stack.config.bucket_name, Key="videos/unsigned/a.ts", Body=b"x"
        )
    signed = httpx.request(method, url, content=body, headers=header_signed(method, url, body))
    assert signed.status_code in (200, 204), signed.text


def test_header_signed_requests_with_wrong_credentials_are_refused(stack: LocalStack) -> None:
    url = f"{stack.s3_endpoint_url}/{stack.config.bucket_name}?list-type=2"
    wrong_secret = httpx.get(url, headers=header_signed("GET", url, secret_key="not-the-secret"))
    assert wrong_secret.status_code == 403 and error_code(wrong_secret) == "SignatureDoesNotMatch"
    unknown_key = httpx.get(url, headers=header_signed("GET", url, access_key="AKIAOTHER"))
    assert unknown_key.status_code == 403 and error_code(unknown_key) == "InvalidAccessKeyId"
    assert httpx.get(url, headers=header_signed("GET", url)).status_code == 200


def test_the_payload_hash_is_checked_against_the_body(stack: LocalStack) -> None:
    url = f"{stack.s3_endpoint_url}/{stack.config.bucket_name}/videos/hash/a.ts"
    headers = header_signed("PUT", url, b"signed body")
    wrong = httpx.put(url, content=b"other body!", headers=headers)
    assert wrong.status_code == 400 and error_code(wrong) == "XAmzContentSHA256Mismatch"
    assert httpx.put(url, content=b"signed body", headers=headers).status_code == 200


def test_an_authorization_header_added_to_a_presigned_put_is_refused(signed: tuple[str, str]) -> None:
    """An app whose HTTP client adds its JWT to every request, the S3 PUT included."""
    url, cache = signed
    refused = put(url, cache, Authorization="Bearer eyJhbGciOiJIUzI1NiJ9.e30.x")
    assert refused.status_code == 400 and error_code(refused) == "InvalidArgument"
    assert "Only one auth mechanism allowed" in message(refused)
    assert put(url, cache).status_code == 200


def test_a_streamed_upload_without_a_length_is_refused_as_s3_refuses_it(signed: tuple[str, str]) -> None:
    """A client streaming the file (Transfer-Encoding: chunked) instead of sending its length."""
    url, cache = signed

    def stream() -> Iterator[bytes]:
        yield DATA[:100]
        yield DATA[100:]

    refused = httpx.put(url, content=stream(), headers={"Content-Type": TYPE, "Cache-Control": cache})
    assert refused.status_code == 501 and error_code(refused) == "NotImplemented"
    assert "<Header>Transfer-Encoding</Header>" in refused.text
    # No body and no Content-Length at all (what `curl -X PUT` without data sends).
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc)
    connection.putrequest("PUT", f"{parts.path}?{parts.query}")
    connection.putheader("Content-Type", TYPE)
    connection.endheaders()
    no_length = connection.getresponse()
    assert no_length.status == 411 and b"<Code>MissingContentLength</Code>" in no_length.read()
    connection.close()
    assert put(url, cache).status_code == 200


def test_an_unsigned_amz_header_is_refused(signed: tuple[str, str]) -> None:
    url, cache = signed
    refused = put(url, cache, x_amz_acl="public-read")
    assert refused.status_code == 403 and error_code(refused) == "AccessDenied"
    assert "<HeadersNotSigned>x-amz-acl</HeadersNotSigned>" in refused.text
    assert put(url, cache).status_code == 200


def test_sdk_requests_signed_with_the_local_credentials_work(stack: LocalStack) -> None:
    """What the CDN, the health check and a developer's boto3 session do, default checksums included."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=stack.s3_endpoint_url,
        region_name="us-west-2",
        aws_access_key_id="LOCALDEVACCESSKEY",
        aws_secret_access_key="local-dev-secret-key",
    )
    bucket, key = stack.config.bucket_name, "videos/sdk/clip.ts"
    s3.put_object(Bucket=bucket, Key=key, Body=b"segment", ContentType="video/mp2t")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"segment"
    assert key in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="videos/sdk/")["Contents"]]
    s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(ClientError, match="404"):
        s3.head_object(Bucket=bucket, Key=key)


def test_conditional_writes_and_multipart_uploads_pass_through(stack: LocalStack) -> None:
    s3 = s3_client(stack.s3_endpoint_url)
    bucket, key = stack.config.bucket_name, "videos/multipart/big.mp4"
    part_size = 5 * 1024 * 1024
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="video/mp4")
    parts = []
    for number, fill in ((1, b"a"), (2, b"b")):
        body = fill * (part_size if number == 1 else 1000)
        etag = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=body
        )["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == part_size + 1000

    fresh = "videos/conditional/once.m3u8"
    s3.put_object(Bucket=bucket, Key=fresh, Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key=fresh, Body=b"second", IfNoneMatch="*")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key=fresh)["Body"].read() == b"first"


def test_the_emulator_admin_api_is_unreachable_even_signed(stack: LocalStack) -> None:
    for method, path in (("GET", "/moto-api/data.json"), ("POST", "/moto-api/reset"), ("GET", "/moto-api/")):
        url = stack.s3_endpoint_url + path
        assert httpx.request(method, url).status_code in (403, 404)
        assert httpx.request(method, url, headers=header_signed(method, url)).status_code == 404
    # The reset did not happen: the bucket is still there.
    assert s3_client(stack.s3_endpoint_url).head_bucket(Bucket=stack.config.bucket_name)


def test_other_services_are_not_served(stack: LocalStack) -> None:
    """moto's server answered STS, Lambda... on its port; the local S3 endpoint is S3 only."""
    import boto3

    sts = boto3.client(
        "sts",
        endpoint_url=stack.s3_endpoint_url,
        region_name="us-west-2",
        aws_access_key_id="LOCALDEVACCESSKEY",
        aws_secret_access_key="local-dev-secret-key",
    )
    with pytest.raises(ClientError) as refused:
        sts.get_caller_identity()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)


def preflight(
    url: str, method: str, headers: str | None = None, origin: str = DEV_PAGE_ORIGIN
) -> httpx.Response:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    return httpx.options(url, headers=sent)


def test_preflight_to_a_signed_url_admits_the_upload_with_the_upload_rule(signed: tuple[str, str]) -> None:
    """The bug a browser hit: moto answered a PUT preflight with the read rule's GET, HEAD."""
    url, _ = signed
    upload = preflight(url, "PUT", "content-type,cache-control")
    assert upload.status_code == 200, upload.text
    assert upload.headers["access-control-allow-methods"] == "PUT, POST, DELETE"  # + multipart (signRequest)
    assert upload.headers["access-control-allow-origin"] == DEV_ALLOW_ORIGIN
    assert upload.headers["access-control-allow-headers"] == "content-type, cache-control"
    read = preflight(url, "GET", "range")
    assert read.status_code == 200 and read.headers["access-control-allow-methods"] == "GET, HEAD"
    # DELETE is admitted (aborting a multipart upload in signRequest mode); only a signature can delete.
    for method, headers in (("PUT", "content-type,x-evil"), ("PATCH", None), ("PUT", "authorization")):
        refused = preflight(url, method, headers)
        assert refused.status_code == 403, (method, headers)
        assert error_code(refused) == "AccessForbidden"
        assert "access-control-allow-origin" not in refused.headers
    no_origin = httpx.options(url, headers={"Access-Control-Request-Method": "PUT"})
    assert no_origin.status_code == 400


def test_actual_responses_carry_the_matching_rule_cors_headers_errors_included(
    signed: tuple[str, str],
) -> None:
    url, cache = signed
    ok = put(url, cache, Origin=DEV_PAGE_ORIGIN)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == DEV_ALLOW_ORIGIN
    assert ok.headers["access-control-expose-headers"] == "ETag"
    # A browser can read S3's refusal, as on AWS: the 403 carries the CORS headers too.
    refused = put(url, cache, Origin=DEV_PAGE_ORIGIN, Cache_Control="no-cache")
    assert refused.status_code == 403 and refused.headers["access-control-allow-origin"] == DEV_ALLOW_ORIGIN


def test_an_invalid_range_is_ignored_and_head_honours_range(stack: LocalStack) -> None:
    bucket, key = stack.config.bucket_name, "videos/range/a.ts"
    s3_client(stack.s3_endpoint_url).put_object(Bucket=bucket, Key=key, Body=b"0123456789")
    url = f"{stack.s3_endpoint_url}/{bucket}/{key}"

    def get(method: str, range_: str) -> httpx.Response:
        headers = {"Range": range_}
        return httpx.request(method, url, headers={**headers, **header_signed(method, url, headers=headers)})

    garbage = get("GET", "garbage")
    assert garbage.status_code == 200 and garbage.content == b"0123456789"
    partial = get("GET", "bytes=2-4")
    assert partial.status_code == 206 and partial.content == b"234"
    head = get("HEAD", "bytes=2-4")
    assert head.status_code == 206 and head.headers["content-length"] == "3"
    assert get("GET", "bytes=50-60").status_code == 416
    unsatisfiable_head = get("HEAD", "bytes=50-60")
    assert unsatisfiable_head.status_code == 200 and unsatisfiable_head.headers["content-length"] == "10"


def test_signed_url_host_is_the_verifying_endpoint(signed: tuple[str, str], stack: LocalStack) -> None:
    url, _ = signed
    assert urlsplit(url).netloc == urlsplit(stack.s3_endpoint_url).netloc
    assert urlsplit(stack.s3_endpoint_url).port == stack.settings.s3_port


def test_a_refusal_is_logged_with_the_canonical_request_for_the_make_dev_terminal(
    signed: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    url, cache = signed
    with caplog.at_level("WARNING", logger="local.s3_front"):
        assert put(url, cache, Content_Type=f"{TYPE}; charset=utf-8").status_code == 403
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "403 SignatureDoesNotMatch" in text
    assert f"content-type:{TYPE}; charset=utf-8" in text  # what the client actually sent


def test_an_aws_chunked_body_with_an_unsigned_trailer_is_decoded(stack: LocalStack) -> None:
    """Newer SDKs send this over https by default (botocore does not over http, so it is built here)."""
    import base64
    import zlib

    url = f"{stack.s3_endpoint_url}/{stack.config.bucket_name}/videos/chunked/a.ts"
    checksum = base64.b64encode(zlib.crc32(b"hello world").to_bytes(4, "big")).decode()
    body = f"6\r\nhello \r\n5\r\nworld\r\n0\r\nx-amz-checksum-crc32:{checksum}\r\n\r\n".encode()
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": "11",
        "X-Amz-Trailer": "x-amz-checksum-crc32",
    }
    signed = header_signed("PUT", url, body, headers, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert httpx.put(url, content=body, headers=signed).status_code == 200
    stored = s3_client(stack.s3_endpoint_url).get_object(
        Bucket=stack.config.bucket_name, Key="videos/chunked/a.ts"
    )
    assert stored["Body"].read() == b"hello world"
    assert "aws-chunked" not in stored.get("ContentEncoding", "")
    # Framing that does not add up is refused, not stored.
    broken = body.replace(b"5\r\nworld", b"9\r\nworld")
    signed = header_signed("PUT", url, broken, headers, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert httpx.put(url, content=broken, headers=signed).status_code == 400


def test_signed_chunks_are_refused_with_a_hint_rather_than_stored_undecoded(stack: LocalStack) -> None:
    url = f"{stack.s3_endpoint_url}/{stack.config.bucket_name}/videos/chunked/signed.ts"
    body = b"5;chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n"
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "5"}
    signed = header_signed("PUT", url, body, headers, payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    refused = httpx.put(url, content=body, headers=signed)
    assert refused.status_code == 501 and "request_checksum_calculation" in message(refused)
