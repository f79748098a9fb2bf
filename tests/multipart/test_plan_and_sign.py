"""The mobile part plan (one call: part size, count, ranges and URLs; re-signing only the missing
parts; completion without ETags) and ``POST /s3/sign`` (Uppy 6's signRequest mode: the browser
talks to S3 with URLs this route signs, only for the caller's own job key)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from lambda_src.sign_uploads import multipart
from tests.multipart.conftest import BUCKET, MIB, PREFIX, Api, put

SIZE = 11 * MIB + 7


def test_plan_upload_resume_and_complete_without_etags(api: Api, s3: Any) -> None:
    payload = os.urandom(SIZE)
    status, plan = api("POST", "/s3/multipart/plan", body={"jobId": "job-plan", "path": "v/clip.mov", "size": SIZE,
                                                           "partSize": 5 * MIB})  # fmt: skip
    assert status == 200, plan
    assert (plan["partSize"], plan["partCount"], plan["key"]) == (5 * MIB, 3, f"{PREFIX}job-plan/v/clip.mov")
    ranges = [(p["partNumber"], p["start"], p["end"]) for p in plan["parts"]]
    assert ranges == [(1, 0, 5 * MIB), (2, 5 * MIB, 10 * MIB), (3, 10 * MIB, SIZE)]
    first = plan["parts"][0]
    assert put(first["url"], payload[first["start"] : first["end"]])[0] == 200
    # The app was killed: a new plan for the same upload signs only the missing parts.
    status, again = api("POST", "/s3/multipart/plan", body={"jobId": "job-plan", "path": "v/clip.mov", "size": SIZE,
                                                            "partSize": 5 * MIB, "uploadId": plan["uploadId"],
                                                            "key": plan["key"]})  # fmt: skip
    assert status == 200, again
    assert again["uploaded"] == [1] and [p["partNumber"] for p in again["parts"]] == [2, 3]
    for part in again["parts"]:
        assert put(part["url"], payload[part["start"] : part["end"]])[0] == 200
    status, done = api("POST", f"/s3/multipart/{plan['uploadId']}/complete", {"key": plan["key"]})
    assert status == 200, done
    assert s3.get_object(Bucket=BUCKET, Key=plan["key"])["Body"].read() == payload


def test_plan_default_part_size_fits_10000_parts(api: Api) -> None:
    status, plan = api("POST", "/s3/multipart/plan", body={"path": "big.mp4", "size": 60 * 1024**3})
    assert status == 200, plan
    assert plan["partSize"] % MIB == 0 and plan["partCount"] <= 10_000
    assert len(plan["parts"]) == multipart.PLAN_URLS_PER_CALL and plan["remaining"] == plan["partCount"] - 500


@pytest.mark.parametrize("part_size", [5 * MIB - 1, 5 * 1024**3 + 1, 1.5, "x"])
def test_plan_refuses_part_sizes_outside_s3s_limits(api: Api, part_size: Any) -> None:
    status, body = api(
        "POST", "/s3/multipart/plan", body={"path": "a.mp4", "size": SIZE, "partSize": part_size}
    )
    assert status == 400 and body["error"]["details"][0]["field"] == "partSize"


def test_plan_refuses_more_than_10000_parts(api: Api) -> None:
    status, body = api(
        "POST", "/s3/multipart/plan", body={"path": "a.mp4", "size": 10_001 * 5 * MIB, "partSize": 5 * MIB}
    )
    assert status == 400 and "10000" in body["error"]["details"][0]["problem"]


def test_plan_resume_refuses_another_jobs_key(api: Api) -> None:
    _, plan = api("POST", "/s3/multipart/plan", body={"jobId": "job-a", "path": "a.mp4", "size": SIZE})
    body = {"jobId": "job-b", "path": "a.mp4", "size": SIZE, "uploadId": plan["uploadId"], "key": plan["key"]}
    status, reply = api("POST", "/s3/multipart/plan", body=body)
    assert (status, reply["code"]) == (403, "foreign_key")


# --- POST /s3/sign -----------------------------------------------------------------------------


def sign(api: Api, request: dict[str, Any], sub: str | None = None, **job: Any) -> tuple[int, Any]:
    fields = {"jobId": "job-sign", "path": "movie.mp4", "size": 5 * MIB + 10, **job}
    return api("POST", "/s3/sign", body={**request, **fields}, sub=sub)


def send(
    method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        connection.request(method, f"{parts.path}?{parts.query}", body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        connection.close()


def test_sign_request_multipart_flow_as_uppy_sends_it(api: Api, s3: Any) -> None:
    payload = os.urandom(5 * MIB + 10)
    status, signed = sign(api, {"method": "POST", "key": "0b7e-movie.mp4"})
    assert status == 200, signed
    key = signed["key"]
    assert key == f"{PREFIX}job-sign/movie.mp4"
    code, _, xml = send("POST", signed["url"], headers={**signed["headers"]})
    assert code == 200, xml
    upload_id = xml.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    etags = []
    for number, chunk in ((1, payload[: 5 * MIB]), (2, payload[5 * MIB :])):
        status, part = sign(api, {"method": "PUT", "key": key, "uploadId": upload_id, "partNumber": number})
        assert status == 200 and part["headers"] == {}, part
        code, headers, _ = send("PUT", part["url"], chunk)
        assert code == 200
        etags.append(headers["etag"])
    status, listing = sign(api, {"method": "GET", "key": key, "uploadId": upload_id})
    code, _, xml = send("GET", listing["url"])
    assert code == 200 and xml.count(b"<Part>") == 2 and b"<ListPartsResult" in xml
    status, completion = sign(api, {"method": "POST", "key": key, "uploadId": upload_id})
    document = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1)
    )
    code, _, xml = send("POST", completion["url"], f"<CompleteMultipartUpload>{document}</CompleteMultipartUpload>".encode(),
                        {"Content-Type": "application/xml", **completion["headers"]})  # fmt: skip
    assert completion["headers"] == {"If-None-Match": "*"}  # create-only, as a single PUT
    assert code == 200, xml
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == payload and stored["ContentType"] == "video/mp4"


def test_sign_request_single_put_carries_our_constraints(api: Api, s3: Any) -> None:
    status, signed = sign(
        api, {"method": "PUT", "key": "x.mp4", "contentType": "video/mp4"}, size=1000, jobId="job-put"
    )
    assert status == 200, signed
    assert signed["headers"]["If-None-Match"] == "*" and "immutable" in signed["headers"]["Cache-Control"]
    assert send("PUT", signed["url"], b"v" * 999, signed["headers"])[0] == 403  # length is signed
    assert send("PUT", signed["url"], b"v" * 1000, signed["headers"])[0] == 200
    assert s3.head_object(Bucket=BUCKET, Key=signed["key"])["ContentLength"] == 1000


def test_sign_request_abort(api: Api) -> None:
    _, signed = sign(api, {"method": "POST", "key": "k"}, jobId="job-sign-abort")
    _, _, xml = send("POST", signed["url"], headers=signed["headers"])
    upload_id = xml.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    status, abort = sign(
        api, {"method": "DELETE", "key": signed["key"], "uploadId": upload_id}, jobId="job-sign-abort"
    )
    assert status == 200 and send("DELETE", abort["url"])[0] == 204


@pytest.mark.parametrize(
    ("request_", "job", "expected"),
    [
        ({"method": "DELETE", "key": "k"}, {}, (403, "unsupported_request")),  # deleting an object
        ({"method": "PATCH", "key": "k"}, {}, (400, "unsupported_request")),
        ({"method": "PUT", "key": "k"}, {"size": 5 * 1024**3 + 1}, (413, "file_too_large")),
        ({"method": "POST", "key": "k"}, {"size": 64 * 1024**3 + 1}, (413, "file_too_large")),
        ({"method": "PUT", "key": "k", "contentType": "image/png"}, {}, (415, "unsupported_type")),
        ({"method": "POST", "key": "k"}, {"path": "x.html"}, (415, "unsupported_type")),
        ({"method": "PUT", "key": "videos/job-other/movie.mp4", "uploadId": "u", "partNumber": 1}, {}, (403, "foreign_key")),
        ({"method": "PUT", "key": "videos/job-sign/movie.mp4", "uploadId": "u", "partNumber": 0}, {}, (400, "validation_failed")),
        ({"method": "PUT", "key": "videos/job-sign/movie.mp4", "uploadId": "u", "partNumber": 10_001}, {}, (400, "validation_failed")),
        ({"method": "GET", "key": "videos/job-sign/movie.mp4", "uploadId": "nope"}, {}, (404, "no_such_upload")),
        ({"method": "POST", "key": "k", "bucket": "other"}, {}, (400, "validation_failed")),
    ],
)  # fmt: skip
def test_sign_request_refusals(
    api: Api, request_: dict[str, Any], job: dict[str, Any], expected: tuple[int, str]
) -> None:
    status, body = sign(api, request_, **job)
    assert (status, body["code"]) == expected and body["error"], body


def test_sign_request_refuses_an_upload_id_of_another_key(api: Api) -> None:
    _, other = sign(api, {"method": "POST", "key": "k"}, jobId="job-sign-other")
    _, _, xml = send("POST", other["url"], headers=other["headers"])
    upload_id = xml.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    status, body = sign(
        api, {"method": "PUT", "key": f"{PREFIX}job-sign/movie.mp4", "uploadId": upload_id, "partNumber": 1}
    )
    assert (status, body["code"]) == (404, "no_such_upload")


def test_sign_request_under_jwt_keys_are_per_subject(jwt_api: Api) -> None:
    status, alice = sign(jwt_api, {"method": "POST", "key": "k"}, sub="alice")
    assert status == 200 and alice["key"].startswith(f"{PREFIX}sub.")
    status, body = sign(
        jwt_api, {"method": "PUT", "key": alice["key"], "uploadId": "u", "partNumber": 1}, sub="mallory"
    )
    assert (status, body["code"]) == (403, "foreign_key")
