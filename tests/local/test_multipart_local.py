"""The multipart routes on the local stack (``make dev``): through the local API gateway and the
verifying local S3, which answers as S3 does where moto does not (ListPartsResult, NoSuchUpload for
an uploadId under another key, CORS on create, complete and abort)."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError

from local.multipart_gateway import compiled_routes, match
from local.s3_emulator import s3_client
from local.stack import LocalStack
from tests.infra.helpers import DEV_PAGE_ORIGIN

ORIGIN = DEV_PAGE_ORIGIN
MIB = 1024**2


def api(stack: LocalStack, method: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.request(method, f"{stack.base_url}{path}", timeout=30, **kwargs)  # type: ignore[arg-type]


def test_companion_routes_through_the_gateway_and_the_verifying_s3(stack: LocalStack) -> None:
    created = api(stack, "POST", "/s3/multipart", json={"filename": "a.mp4", "type": "video/mp4",
                                                       "metadata": {"jobId": "local-mp", "path": "a.mp4", "size": 5 * MIB + 3}})  # fmt: skip
    assert created.status_code == 200, created.text
    key, upload_id = created.json()["key"], created.json()["uploadId"]
    payload = b"a" * (5 * MIB) + b"xyz"
    for number, chunk in ((1, payload[: 5 * MIB]), (2, payload[5 * MIB :])):
        part = api(stack, "GET", f"/s3/multipart/{upload_id}/{number}", params={"key": key})
        assert part.status_code == 200, part.text
        assert httpx.put(part.json()["url"], content=chunk).status_code == 200
    listed = api(stack, "GET", f"/s3/multipart/{upload_id}", params={"key": key})
    assert [p["PartNumber"] for p in listed.json()] == [1, 2]
    done = api(stack, "POST", f"/s3/multipart/{upload_id}/complete", params={"key": key})
    assert done.status_code == 200, done.text
    s3 = s3_client(stack.emulator.endpoint_url)
    assert s3.get_object(Bucket=stack.config.bucket_name, Key=key)["Body"].read() == payload


def test_the_local_s3_answers_list_parts_as_s3_does_and_checks_the_key(stack: LocalStack) -> None:
    s3 = s3_client(stack.emulator.endpoint_url)
    bucket = stack.config.bucket_name
    upload = s3.create_multipart_upload(Bucket=bucket, Key="videos/local-x/a.mp4")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="videos/local-x/a.mp4", UploadId=upload, PartNumber=1, Body=b"p")
    url = s3.generate_presigned_url(
        "list_parts", Params={"Bucket": bucket, "Key": "videos/local-x/a.mp4", "UploadId": upload}
    )
    document = httpx.get(url).text
    assert (
        "<ListPartsResult" in document
        and "</ListPartsResult>" in document
        and "ListPartsResponse" not in document
    )
    for call in (
        lambda: s3.upload_part(Bucket=bucket, Key="videos/local-y/b.mp4", UploadId=upload, PartNumber=1, Body=b"p"),
        lambda: s3.list_parts(Bucket=bucket, Key="videos/local-y/b.mp4", UploadId=upload),
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="videos/local-y/b.mp4", UploadId=upload),
        lambda: s3.complete_multipart_upload(Bucket=bucket, Key="videos/local-y/b.mp4", UploadId=upload,
                                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"x"'}]}),
    ):  # fmt: skip
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "NoSuchUpload"
    assert len(s3.list_parts(Bucket=bucket, Key="videos/local-x/a.mp4", UploadId=upload)["Parts"]) == 1


def test_sign_request_mode_s3_answers_carry_cors(stack: LocalStack) -> None:
    """A page in signRequest mode creates, completes and aborts on S3 itself: it can read each
    answer only if it carries Access-Control-Allow-Origin (moto adds none)."""
    signed = api(
        stack,
        "POST",
        "/s3/sign",
        json={"method": "POST", "key": "k", "jobId": "local-cors", "path": "c.mp4", "size": 10},
    )
    assert signed.status_code == 200, signed.text
    preflight = httpx.options(signed.json()["url"], headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                                             "Access-Control-Request-Headers": "content-type,cache-control,content-encoding"})  # fmt: skip
    assert preflight.status_code == 200, preflight.text
    created = httpx.post(signed.json()["url"], headers={**signed.json()["headers"], "Origin": ORIGIN})
    assert created.status_code == 200 and created.headers["access-control-allow-origin"] in (ORIGIN, "*")
    assert "etag" in created.headers.get("access-control-expose-headers", "").lower()
    upload_id = created.text.split("<UploadId>")[1].split("</UploadId>")[0]
    aborted_url = api(stack, "POST", "/s3/sign", json={"method": "DELETE", "key": signed.json()["key"], "uploadId": upload_id,
                                                       "jobId": "local-cors", "path": "c.mp4", "size": 10}).json()["url"]  # fmt: skip
    aborted = httpx.delete(aborted_url, headers={"Origin": ORIGIN})
    assert aborted.status_code == 204 and aborted.headers["access-control-allow-origin"] in (ORIGIN, "*")


def test_the_api_answers_preflights_for_the_multipart_methods(stack: LocalStack) -> None:
    for method in ("GET", "POST", "DELETE"):
        response = httpx.options(
            f"{stack.base_url}/s3/multipart/u/1",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": method},
        )
        assert response.status_code == 204 and method in response.headers["access-control-allow-methods"]


def test_unknown_methods_and_paths_under_s3_are_api_gateways_404(stack: LocalStack) -> None:
    assert api(stack, "PUT", "/s3/multipart").json() == {"message": "Not Found"}
    assert api(stack, "GET", "/s3/elsewhere").status_code == 404


def test_literal_segments_win_over_path_variables() -> None:
    routes = compiled_routes()
    assert match(routes, "GET", "/s3/multipart/u1/batch") == (
        "GET /s3/multipart/{uploadId}/batch",
        {"uploadId": "u1"},
    )
    assert match(routes, "GET", "/s3/multipart/u1/7")[0] == "GET /s3/multipart/{uploadId}/{partNumber}"  # type: ignore[index]
    assert match(routes, "POST", "/s3/multipart/plan")[0] == "POST /s3/multipart/plan"  # type: ignore[index]
    assert match(routes, "POST", "/s3/multipart/u1") is None
