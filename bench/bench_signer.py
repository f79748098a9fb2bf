"""Upload signer benchmark: figures and ratios, never a pass/fail.

    python bench/bench_signer.py            (from the repository root)

1. Warm: one 200-file job signed through the handler (parse, validate, sign, respond) versus a
   naive boto3 loop of ``generate_presigned_url`` over the same files (client already built).
2. Cold import: ``import handler`` in a fresh interpreter (from the zip root, as Lambda does)
   versus ``import boto3``; the median of several runs, measured inside the subprocess so the
   interpreter's own start-up is excluded.
3. Recording: the same job signed with its record written to DynamoDB (moto's server on loopback
   stands in for it, so moto's own handling time is included: DynamoDB in-region adds a few ms of
   network instead), warm and cold (import plus the first request of a fresh interpreter, which
   opens the connection), versus the same record written with boto3.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SIGNER_DIR = REPO_ROOT / "lambda_src" / "sign_uploads"
sys.path.insert(0, str(REPO_ROOT))

from lambda_src.sign_uploads import config as signer_config  # noqa: E402

ENV = {
    **signer_config.environment(
        bucket="lux-video-bench",
        prefix=signer_config.DEFAULT_PREFIX,
        public_base_url="https://cdn.example.com",
        url_ttl_seconds=signer_config.DEFAULT_URL_TTL_SECONDS,
        max_files=signer_config.DEFAULT_MAX_FILES,
        max_file_bytes=signer_config.DEFAULT_MAX_FILE_BYTES,
        auth_required=False,
    ),
    **signer_config.runtime_environment(
        region="us-west-2",
        credentials=signer_config.Credentials(
            "AKIABENCHMARK0000001", "bench-secret-key", "IQoJb3JpZ2luX2VjEbenchtoken"
        ),
    ),
}
FILES = 200
ROUNDS = 30
COLD_RUNS = 7


def job_files() -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = [{"path": "master.m3u8", "size": 400}]
    for rendition in ("1080p", "720p", "480p"):
        files.append({"path": f"{rendition}/index.m3u8", "size": 6000})
    files += [{"path": f"720p/seg_{i:05d}.ts", "size": 1_048_576 + i} for i in range(FILES - len(files) - 1)]
    files.append({"path": "thumb.jpg", "size": 48_000})
    return files


def best_of(fn: Any, rounds: int = ROUNDS) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return min(timings)


def warm() -> tuple[float, float]:
    os.environ.update(ENV)
    from lambda_src.sign_uploads import handler, media

    files = job_files()
    event = {
        "requestContext": {"http": {"method": "POST"}},
        "body": json.dumps({"jobId": "bench", "files": files}),
        "isBase64Encoded": False,
    }

    def via_handler() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            assert handler.handler(event, None)["statusCode"] == 200

    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        region_name=ENV["AWS_REGION"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )

    def via_boto3() -> None:  # the same URLs: create-only (IfNoneMatch) for every file but playlists
        for f in files:
            params = {
                "Bucket": ENV["BUCKET"],
                "Key": f"videos/bench/{f['path']}",
                "ContentType": media.content_type_for(f["path"]),
                "ContentLength": f["size"],
                "CacheControl": media.cache_control_for(f["path"]),
            }
            if media.is_create_only(f["path"]):
                params["IfNoneMatch"] = "*"
            client.generate_presigned_url("put_object", Params=params, ExpiresIn=900)

    via_handler()
    via_boto3()
    return best_of(via_handler), best_of(via_boto3, rounds=5)


def cold_import(statement: str, cwd: Path, *flags: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = []
    for _ in range(COLD_RUNS):
        out = subprocess.run(
            [sys.executable, *flags, "-c", code],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            # The ".pyc" runs must be able to write and then read bytecode (Lambda's zip has none).
            env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        )
        runs.append(float(out.stdout.strip()))
    return statistics.median(runs)


def recording(endpoint: str) -> tuple[float, float]:
    """Warm: the handler with recording (a new job each round: one conditional PutItem) versus
    the handler without it."""
    from lambda_src.sign_uploads import handler

    body = {"files": job_files()}
    rounds = iter(range(10_000))

    def event() -> dict[str, Any]:
        job = {"jobId": f"bench-{os.getpid()}-{next(rounds)}", **body}
        return {
            "requestContext": {"http": {"method": "POST"}},
            "body": json.dumps(job),
            "isBase64Encoded": False,
        }

    def via_handler(environ: dict[str, str]) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            assert handler.handler(event(), None, environ)["statusCode"] == 200

    recording_env = {**ENV, "JOBS_TABLE": "lux-video-bench-jobs", "DYNAMODB_ENDPOINT_URL": endpoint}
    via_handler(recording_env)
    return best_of(lambda: via_handler(recording_env)), best_of(lambda: via_handler(ENV))


COLD_RECORD = """
import json, time, contextlib, io, os
t = time.perf_counter()
import handler
event = {"requestContext": {"http": {"method": "POST"}}, "isBase64Encoded": False,
         "body": json.dumps({"jobId": "cold-" + os.urandom(8).hex(), "files": [{"path": "a.m3u8", "size": 1}]})}
with contextlib.redirect_stdout(io.StringIO()):
    assert handler.handler(event, None)["statusCode"] == 200
print(time.perf_counter() - t)
"""

COLD_BOTO3_RECORD = """
import time, os
t = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name=os.environ["AWS_REGION"],
             endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"]).put_item(
    TableName=os.environ["JOBS_TABLE"], Item={"pk": {"S": "boto3-" + os.urandom(8).hex()}})
print(time.perf_counter() - t)
"""


def cold_script(script: str, cwd: Path, environ: dict[str, str]) -> float:
    runs = []
    for _ in range(COLD_RUNS):
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=True,
            env={**os.environ, **environ},
        )  # fmt: skip
        runs.append(float(out.stdout.strip()))
    return statistics.median(runs)


def with_dynamodb() -> None:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from lambda_src.sign_uploads import jobs

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[union-attr]
        boto3.client(
            "dynamodb", region_name=ENV["AWS_REGION"], endpoint_url=endpoint,
            aws_access_key_id="x", aws_secret_access_key="x",
        ).create_table(**jobs.table_definition("lux-video-bench-jobs"))  # fmt: skip
        recorded_s, plain_s = recording(endpoint)
        print(f"\nwarm, one {FILES}-file job with its record (moto's DynamoDB on loopback):")
        print(f"  handler, recording                    {recorded_s * 1e3:8.2f} ms")
        print(f"  handler, not recording                {plain_s * 1e3:8.2f} ms")
        print(f"  recording adds                        {(recorded_s - plain_s) * 1e3:8.2f} ms")
        environ = {**ENV, "JOBS_TABLE": "lux-video-bench-jobs", "DYNAMODB_ENDPOINT_URL": endpoint}
        cold_record = cold_script(COLD_RECORD, SIGNER_DIR, environ)
        cold_boto3 = cold_script(COLD_BOTO3_RECORD, REPO_ROOT, environ)
        print(f"\ncold, import + first recorded request, fresh interpreter (median of {COLD_RUNS}):")
        print(f"  handler (1 file, stdlib DynamoDB)     {cold_record * 1e3:8.2f} ms")
        print(f"  boto3 import + client + PutItem       {cold_boto3 * 1e3:8.2f} ms")
        print(f"  ratio boto3 / handler                 {cold_boto3 / cold_record:8.1f} x")
    finally:
        server.stop()


def main() -> None:
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, {platform.processor() or 'unknown cpu'}")
    print(f"python {platform.python_version()}, {platform.system()} {platform.release()}")
    handler_s, boto3_s = warm()
    print(f"\nwarm, one {FILES}-file job (best of several runs):")
    for label, seconds in (
        ("handler (parse+validate+sign+respond)", handler_s),
        ("boto3 presign loop", boto3_s),
    ):
        print(f"  {label:<38}{seconds * 1e3:8.2f} ms  ({seconds / FILES * 1e6:6.1f} us/file)")
    print(f"  ratio boto3 / handler                 {boto3_s / handler_s:8.1f} x   (goal >= 10x)")

    handler_cold = cold_import("import handler", SIGNER_DIR)
    with tempfile.TemporaryDirectory() as scratch:  # a zip without .pyc: compiled on every cold start
        zip_root = Path(scratch) / "sign_uploads"
        shutil.copytree(SIGNER_DIR, zip_root, ignore=shutil.ignore_patterns("__pycache__"))
        handler_no_pyc = cold_import("import handler", zip_root, "-B")
    boto3_cold = cold_import("import boto3", REPO_ROOT)
    print(f"\ncold import, fresh interpreter (median of {COLD_RUNS}):")
    print(f"  import handler (zip root, .pyc)       {handler_cold * 1e3:8.2f} ms   (goal < 60 ms)")
    print(f"  import handler (zip root, no .pyc)    {handler_no_pyc * 1e3:8.2f} ms")
    print(f"  import boto3                          {boto3_cold * 1e3:8.2f} ms")
    print(f"  ratio boto3 / handler                 {boto3_cold / handler_cold:8.1f} x")
    with_dynamodb()


if __name__ == "__main__":
    main()
