"""Local S3 endpoint benchmark: what verifying like S3 costs, as figures, never a pass/fail.

    python bench/bench_local_s3.py            (from the repository root)

1. SigV4 verification of one pre-signed PUT (``local.s3_auth.verify``), per request.
2. A pre-signed 256 KiB PUT and a header-signed GET over loopback HTTP through the verifying
   endpoint, median round trip.
"""

from __future__ import annotations

import statistics
import sys
import time
import timeit
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from local import s3_auth  # noqa: E402
from local.s3_emulator import LOCAL_CREDENTIALS, S3Emulator, s3_client  # noqa: E402
from local.servers import free_port  # noqa: E402

BUCKET = "lux-video-bench"
BODY = b"x" * (256 * 1024)
HEADERS = {"Content-Type": "video/mp2t", "Cache-Control": "public, max-age=31536000, immutable"}


def presign(endpoint: str, key: str) -> str:
    return str(
        s3_client(endpoint).generate_presigned_url(
            "put_object",
            Params={
                "Bucket": BUCKET,
                "Key": key,
                "ContentType": HEADERS["Content-Type"],
                "ContentLength": len(BODY),
                "CacheControl": HEADERS["Cache-Control"],
            },
            ExpiresIn=300,
        )
    )


def main() -> None:
    credentials = {LOCAL_CREDENTIALS["aws_access_key_id"]: LOCAL_CREDENTIALS["aws_secret_access_key"]}
    url = presign("http://127.0.0.1:8701", "videos/job/seg_001.ts")
    parts = urlsplit(url)
    request = s3_auth.IncomingRequest(
        "PUT",
        parts.path,
        parse_qsl(parts.query),
        [("host", parts.netloc), ("content-type", HEADERS["Content-Type"]),
         ("content-length", str(len(BODY))), ("cache-control", HEADERS["Cache-Control"])],
    )  # fmt: skip
    runs = 20_000
    seconds = timeit.timeit(lambda: s3_auth.verify(request, credentials, "us-west-2"), number=runs)
    print(f"verify one pre-signed PUT: {seconds / runs * 1e6:.0f} µs")

    emulator = S3Emulator("127.0.0.1", free_port(), BUCKET, "videos/", 30, ("*",))
    emulator.start()
    try:
        client = s3_client(emulator.endpoint_url)
        puts, gets = [], []
        with httpx.Client() as http:
            for i in range(50):
                signed = presign(emulator.endpoint_url, f"videos/job/seg_{i:03d}.ts")
                start = time.perf_counter()
                assert http.put(signed, content=BODY, headers=HEADERS).status_code == 200
                puts.append(time.perf_counter() - start)
                start = time.perf_counter()
                client.get_object(Bucket=BUCKET, Key=f"videos/job/seg_{i:03d}.ts")["Body"].read()
                gets.append(time.perf_counter() - start)
        print(f"pre-signed 256 KiB PUT through the endpoint: {statistics.median(puts) * 1000:.1f} ms median")
        print(
            f"header-signed GET (boto3) through the endpoint: {statistics.median(gets) * 1000:.1f} ms median"
        )
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
