"""A multipart file is a job file like a single-PUT one: recorded with its declared whole size on
create, arrived when its upload completes (S3's Object Created event to the jobs function). Where
the browser completes on S3 itself (signRequest mode), a total that differs from the declared size
marks the job failed."""

from __future__ import annotations

import os
from typing import Any

from lambda_src.sign_uploads import jobs_handler
from local.s3_emulator import s3_client
from tests.multipart.conftest import BUCKET, MIB, TABLE, Api, put
from tests.multipart.test_plan_and_sign import send, sign


class LocalServices:
    """S3 through the verifying local endpoint; invalidations and events recorded."""

    def __init__(self, endpoint: str) -> None:
        self.s3 = s3_client(endpoint)
        self.published: list[dict[str, Any]] = []

    def head(self, key: str) -> tuple[int, str | None] | None:
        reply = self.s3.head_object(Bucket=BUCKET, Key=key)
        return int(reply["ContentLength"]), reply.get("ContentType")

    def delete_prefix(self, prefix: str) -> int:
        return 0

    def invalidate(self, path: str, reference: str) -> str | None:
        return None

    def publish(self, entries: list[dict[str, Any]]) -> None:
        self.published.extend(entries)


def arrived(api: Api, key: str) -> None:
    event = {
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {"bucket": {"name": BUCKET}, "object": {"key": key}, "reason": "CompleteMultipartUpload"},
    }
    jobs_handler.handler(event, None, api.environ, services=LocalServices(api.environ["S3_ENDPOINT_URL"]))


def record(api: Api, job: str) -> dict[str, Any]:
    item = api.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": job}})["Item"]
    return {"status": item["status"]["S"], "file": item["files"]["M"]["movie.mp4"]["M"]}


def sign_request_upload(api: Api, job: str, declared: int, payload: bytes) -> str:
    _, created = sign(api, {"method": "POST", "key": "k"}, jobId=job, size=declared)
    _, _, xml = send("POST", created["url"], headers=created["headers"])
    upload_id = xml.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    etags = []
    for number, chunk in ((1, payload[: 5 * MIB]), (2, payload[5 * MIB :])):
        _, part = sign(api, {"method": "PUT", "key": created["key"], "uploadId": upload_id, "partNumber": number},
                       jobId=job, size=declared)  # fmt: skip
        etags.append(send("PUT", part["url"], chunk)[1]["etag"])
    _, completion = sign(
        api, {"method": "POST", "key": created["key"], "uploadId": upload_id}, jobId=job, size=declared
    )
    parts = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1)
    )
    document = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
    code, _, _ = send("POST", completion["url"], document, completion["headers"])
    assert code == 200
    return str(created["key"])


def test_a_sign_request_upload_completes_its_job(table_api: Api) -> None:
    payload = os.urandom(5 * MIB + 77)
    key = sign_request_upload(table_api, "job-mp-ok", len(payload), payload)
    assert record(table_api, "job-mp-ok")["status"] == "signed"
    arrived(table_api, key)
    assert record(table_api, "job-mp-ok")["status"] == "complete"


def test_a_sign_request_upload_of_another_size_fails_its_job(table_api: Api) -> None:
    payload = os.urandom(5 * MIB + 77)
    key = sign_request_upload(table_api, "job-mp-short", len(payload) + 1, payload)
    arrived(table_api, key)
    job = record(table_api, "job-mp-short")
    assert job["status"] == "failed" and job["file"]["x"]["S"] == "size_mismatch"


def test_a_companion_upload_completes_its_job(table_api: Api) -> None:
    payload = os.urandom(5 * MIB + 5)
    _, created = table_api("POST", "/s3/multipart", body={"type": "video/mp4",
                                                          "metadata": {"jobId": "job-mp-companion", "path": "movie.mp4", "size": len(payload)}})  # fmt: skip
    key, upload_id = created["key"], created["uploadId"]
    for number, chunk in ((1, payload[: 5 * MIB]), (2, payload[5 * MIB :])):
        _, part = table_api("GET", f"/s3/multipart/{upload_id}/{number}", {"key": key})
        assert put(part["url"], chunk)[0] == 200
    assert table_api("POST", f"/s3/multipart/{upload_id}/complete", {"key": key})[0] == 200
    arrived(table_api, key)
    assert record(table_api, "job-mp-companion")["status"] == "complete"


def test_a_multipart_file_is_awaited_for_a_day_a_single_put_for_its_url(table_api: Api) -> None:
    import time

    sign(table_api, {"method": "POST", "key": "k"}, jobId="job-mp-window")
    sign(table_api, {"method": "PUT", "key": "k"}, jobId="job-put-window", size=10)
    expiry = {
        job: int(
            table_api.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": job}})["Item"]["urlsExpireAt"]["N"]
        )
        for job in ("job-mp-window", "job-put-window")
    }
    now = time.time()
    assert 86_400 - 60 <= expiry["job-mp-window"] - now <= 86_400
    assert 900 - 60 <= expiry["job-put-window"] - now <= 900
