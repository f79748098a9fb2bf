"""Uppy Companion's S3 protocol and the part plan, end to end through the verifying local S3:
create, sign parts (one and batch), upload, list (every page), complete (with and without ETags),
abort; and every refusal (foreign key, foreign or mismatched uploadId, too large, wrong type, part
numbers 0 and 10,001, parts that do not add up to the declared size)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from lambda_src.sign_uploads import multipart_core, s3_api
from tests.multipart.conftest import BUCKET, MIB, PREFIX, Api, put

SIZE = 5 * MIB + 1000  # two parts: 5 MiB and 1,000 bytes


def data(size: int = SIZE, seed: int = 1) -> bytes:
    return (os.urandom(16) * (size // 16 + 1))[:size] if seed else b"x" * size


def create(api: Api, *, size: int = SIZE, path: str = "movie.mp4", job: str | None = None, sub: str | None = None,
           type_: str = "video/mp4") -> tuple[int, Any]:  # fmt: skip
    metadata: dict[str, Any] = {"path": path, "size": size, "name": "IMG_0001.MP4", "relativePath": None}
    if job is not None:
        metadata["jobId"] = job
    return api(
        "POST",
        "/s3/multipart",
        body={"filename": "IMG_0001.MP4", "type": type_, "metadata": metadata},
        sub=sub,
    )


def upload(api: Api, key: str, upload_id: str, number: int, chunk: bytes, sub: str | None = None) -> str:
    status, body = api("GET", f"/s3/multipart/{upload_id}/{number}", {"key": key}, sub=sub)
    assert status == 200, body
    code, headers, _ = put(body["url"], chunk)
    assert code == 200
    return headers["etag"]


def test_companion_flow_uploads_lists_and_completes(api: Api, s3: Any) -> None:
    payload = data()
    status, created = create(api, job="job-companion")
    assert status == 200, created
    key, upload_id = created["key"], created["uploadId"]
    assert key == f"{PREFIX}job-companion/movie.mp4" and created["bucket"] == BUCKET
    first = upload(api, key, upload_id, 1, payload[: 5 * MIB])
    status, listed = api("GET", f"/s3/multipart/{upload_id}", {"key": key})
    assert status == 200 and listed == [{"PartNumber": 1, "ETag": first, "Size": 5 * MIB}]
    status, batch = api("GET", f"/s3/multipart/{upload_id}/batch", {"key": key, "partNumbers": "2"})
    assert status == 200 and set(batch["presignedUrls"]) == {"2"}
    code, headers, _ = put(batch["presignedUrls"]["2"], payload[5 * MIB :])
    assert code == 200
    parts = [{"PartNumber": 1, "ETag": first}, {"PartNumber": 2, "ETag": headers["etag"]}]
    status, done = api("POST", f"/s3/multipart/{upload_id}/complete", {"key": key}, {"parts": parts})
    assert status == 200, done
    assert done["key"] == key and done["location"].endswith(key)
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == payload
    assert stored["ContentType"] == "video/mp4" and "immutable" in stored["CacheControl"]


def test_completion_without_etags_lists_the_parts_itself(api: Api, s3: Any) -> None:
    payload = data()
    _, created = create(api, job="job-no-etags")
    key, upload_id = created["key"], created["uploadId"]
    upload(api, key, upload_id, 1, payload[: 5 * MIB])
    upload(api, key, upload_id, 2, payload[5 * MIB :])
    status, done = api("POST", f"/s3/multipart/{upload_id}/complete", {"key": key})
    assert status == 200, done
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == SIZE


def test_parts_not_adding_up_to_the_declared_size_are_refused(api: Api, s3: Any) -> None:
    _, created = create(api, job="job-short", size=SIZE + 1)
    key, upload_id = created["key"], created["uploadId"]
    payload = data()
    upload(api, key, upload_id, 1, payload[: 5 * MIB])
    upload(api, key, upload_id, 2, payload[5 * MIB :])
    status, body = api("POST", f"/s3/multipart/{upload_id}/complete", {"key": key})
    assert status == 400 and body["code"] == "size_mismatch" and body["error"], body
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=key)  # nothing left behind


def test_with_a_job_record_the_size_is_checked_before_completing(table_api: Api, s3: Any) -> None:
    _, created = create(table_api, job="job-record-short", size=SIZE + 1)
    key, upload_id = created["key"], created["uploadId"]
    payload = data()
    upload(table_api, key, upload_id, 1, payload[: 5 * MIB])
    upload(table_api, key, upload_id, 2, payload[5 * MIB :])
    status, body = table_api("POST", f"/s3/multipart/{upload_id}/complete", {"key": key})
    assert status == 400 and body["code"] == "size_mismatch"
    # Not completed: the upload is still there to fix (its parts listed).
    status, listed = table_api("GET", f"/s3/multipart/{upload_id}", {"key": key})
    assert status == 200 and [p["PartNumber"] for p in listed] == [1, 2]
    record = table_api.dynamodb.get_item(
        TableName="lux-video-multipart-jobs", Key={"pk": {"S": "job-record-short"}}
    )["Item"]
    assert record["files"]["M"]["movie.mp4"]["M"]["s"]["N"] == str(SIZE + 1)


def test_abort_removes_the_upload(api: Api) -> None:
    _, created = create(api, job="job-abort")
    key, upload_id = created["key"], created["uploadId"]
    status, body = api("DELETE", f"/s3/multipart/{upload_id}", {"key": key})
    assert status == 200 and body == {}
    status, body = api("GET", f"/s3/multipart/{upload_id}", {"key": key})
    assert status == 404 and body["code"] == "no_such_upload"


def test_listing_follows_every_page(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_api, "PAGE_SIZE", 2)  # S3 pages at 1,000: the same loop, smaller pages
    _, created = create(api, job="job-pages", size=5 * 1024)
    key, upload_id = created["key"], created["uploadId"]
    for number in range(1, 6):
        upload(api, key, upload_id, number, b"p" * 1024)
    status, listed = api("GET", f"/s3/multipart/{upload_id}", {"key": key})
    assert status == 200 and [p["PartNumber"] for p in listed] == [1, 2, 3, 4, 5]


# --- refusals --------------------------------------------------------------------------------------


def test_a_foreign_key_is_refused_on_every_route(jwt_api: Api) -> None:
    _, created = create(jwt_api, job="job-alice", sub="alice")
    key, upload_id = created["key"], created["uploadId"]
    assert key.startswith(f"{PREFIX}sub.")
    for method, path, query in (
        ("GET", f"/s3/multipart/{upload_id}/1", {"key": key}),
        ("GET", f"/s3/multipart/{upload_id}/batch", {"key": key, "partNumbers": "1"}),
        ("GET", f"/s3/multipart/{upload_id}", {"key": key}),
        ("POST", f"/s3/multipart/{upload_id}/complete", {"key": key}),
        ("DELETE", f"/s3/multipart/{upload_id}", {"key": key}),
    ):
        status, body = jwt_api(method, path, query, sub="mallory")
        assert (status, body["code"]) == (403, "foreign_key"), (method, path, body)
    # Alice still owns it.
    assert jwt_api("GET", f"/s3/multipart/{upload_id}", {"key": key}, sub="alice")[0] == 200


@pytest.mark.parametrize(
    "key",
    ["other/job/movie.mp4", f"{PREFIX}movie.mp4", f"{PREFIX}healthcheck-x/movie.mp4", f"{PREFIX}job/../x.mp4",
     f"{PREFIX}job/movie.exe", f"{PREFIX}sub.0123/job/movie.mp4"],
)  # fmt: skip
def test_keys_outside_the_callers_namespace_are_refused(api: Api, key: str) -> None:
    status, body = api("GET", "/s3/multipart/some-upload/1", {"key": key})
    assert (status, body["code"]) == (403, "foreign_key")


def test_an_upload_id_of_another_key_is_refused(api: Api) -> None:
    _, mine = create(api, job="job-mine")
    _, other = create(api, job="job-other")
    for method, path in (
        ("GET", f"/s3/multipart/{other['uploadId']}/1"),
        ("GET", f"/s3/multipart/{other['uploadId']}/batch"),
        ("GET", f"/s3/multipart/{other['uploadId']}"),
        ("POST", f"/s3/multipart/{other['uploadId']}/complete"),
        ("DELETE", f"/s3/multipart/{other['uploadId']}"),
    ):
        query = {"key": mine["key"], "partNumbers": "1"}
        status, body = api(method, path, query)
        assert (status, body["code"]) == (404, "no_such_upload"), (method, path, body)
    # The other upload is untouched by the refused abort.
    assert api("GET", f"/s3/multipart/{other['uploadId']}", {"key": other["key"]})[0] == 200


def test_an_unknown_upload_id_is_refused(api: Api) -> None:
    _, mine = create(api, job="job-unknown-id")
    status, body = api("GET", "/s3/multipart/not-an-upload/1", {"key": mine["key"]})
    assert (status, body["code"]) == (404, "no_such_upload")


def test_too_large_and_wrong_type_are_refused(api: Api) -> None:
    status, body = create(api, size=64 * 1024**3 + 1)
    assert (status, body["code"]) == (413, "file_too_large") and body["error"]["details"][0][
        "field"
    ] == "metadata.size"
    status, body = create(api, path="movie.exe")
    assert (status, body["code"]) == (415, "unsupported_type")
    status, body = create(api, path="movie.mp4", type_="image/png")
    assert (status, body["code"]) == (415, "unsupported_type")
    status, body = create(api, path="Movie.MP4")
    assert status == 415
    # An unspecified type takes the canonical one.
    assert create(api, path="clip.mov", type_="application/octet-stream")[0] == 200


@pytest.mark.parametrize("number", ["0", "10001", "-1", "x"])
def test_part_numbers_outside_1_to_10000_are_refused(api: Api, number: str) -> None:
    _, created = create(api, job="job-numbers")
    status, body = api("GET", f"/s3/multipart/{created['uploadId']}/{number}", {"key": created["key"]})
    assert (status, body["code"]) == (400, "validation_failed")
    status, body = api(
        "GET",
        f"/s3/multipart/{created['uploadId']}/batch",
        {"key": created["key"], "partNumbers": f"1,{number}"},
    )
    assert status == 400


def test_completion_with_a_wrong_etag_is_refused(api: Api) -> None:
    _, created = create(api, job="job-etag")
    key, upload_id = created["key"], created["uploadId"]
    upload(api, key, upload_id, 1, data(5 * MIB))
    parts = [{"PartNumber": 1, "ETag": '"0000"'}]
    status, body = api("POST", f"/s3/multipart/{upload_id}/complete", {"key": key}, {"parts": parts})
    assert (status, body["code"]) == (400, "invalid_part")


def test_the_multipart_size_cap_is_configurable(emulator: Any) -> None:
    from tests.multipart.conftest import environment

    small = Api(environment(emulator, auth=False, table_endpoint=None, max_multipart_file_bytes=6 * MIB))
    assert create(small, size=6 * MIB)[0] == 200
    assert create(small, size=6 * MIB + 1)[0] == 413


def test_unauthenticated_calls_are_refused_under_jwt(jwt_api: Api) -> None:
    status, body = create(jwt_api)
    assert (status, body["code"]) == (401, "unauthorized")


def test_the_multipart_window_matches_the_bucket_lifecycle() -> None:
    from infra import policies

    assert multipart_core.MULTIPART_WINDOW_SECONDS == policies.ABORT_INCOMPLETE_MULTIPART_DAYS * 86_400


def test_a_completion_never_replaces_an_immutable_object(api: Api, s3: Any) -> None:
    """Every file but a playlist is create-only, as for a single PUT: the completion carries
    If-None-Match: * and S3 answers 412 when the key already holds an object."""
    first = data(seed=1)
    for attempt in (1, 2):
        _, created = create(api, job="job-immutable")
        key, upload_id = created["key"], created["uploadId"]
        upload(api, key, upload_id, 1, first[: 5 * MIB] if attempt == 1 else b"y" * 5 * MIB)
        upload(api, key, upload_id, 2, first[5 * MIB :])
        status, body = api("POST", f"/s3/multipart/{upload_id}/complete", {"key": key})
        if attempt == 1:
            assert status == 200, body
    assert (status, body["code"]) == (412, "already_exists")
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == first


def test_a_playlist_may_be_replaced(api: Api) -> None:
    for _ in (1, 2):
        _, created = create(
            api, job="job-playlist", path="master.m3u8", size=3, type_="application/vnd.apple.mpegurl"
        )
        upload(api, created["key"], created["uploadId"], 1, b"#EX")
        assert api("POST", f"/s3/multipart/{created['uploadId']}/complete", {"key": created["key"]})[0] == 200
