"""Multipart benchmark: one 512 MiB file through the local stack as one PUT versus parallel parts,
and the cold start of the multipart routes against POST /. Figures, never a pass/fail.

    python bench/bench_multipart.py [--mib 512] [--part-mib 16] [--in-flight 5]

1. Single PUT: ``POST /`` signs the file, one PUT of all of it (the URL's signed length).
2. Parts: ``POST /s3/multipart/plan`` signs every part, the bench PUTs ``--in-flight`` parts at a
   time (Uppy 6 sends one part at a time per file; a mobile uploader runs several tasks), then
   ``POST /s3/multipart/{uploadId}/complete`` with no body (the server lists the parts).
   Both go through the local gateway and the verifying local S3 (moto behind it, in-process), so
   the ratio says what parallelism buys against the same endpoint, not what S3 would do.
3. Cold start: importing the signer in a fresh interpreter at the zip root, for ``POST /`` (what it
   imports) and for a multipart route (``handler`` + ``multipart`` and what its first S3 call
   imports: ``http.client``, ``xml.etree``); ``boto3`` for scale.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from local.stack import LocalSettings, LocalStack, free_port  # noqa: E402

SIGNER_DIR = REPO_ROOT / "lambda_src" / "sign_uploads"
MIB = 1024**2
COLD_RUNS = 15


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(block)
        out.write(block[: size % MIB])


def single_put(stack: LocalStack, path: Path, size: int) -> float:
    signed = httpx.post(
        stack.signer_url, json={"jobId": "bench-single", "files": [{"path": "single.mp4", "size": size}]}
    )
    signed.raise_for_status()
    (upload,) = signed.json()["uploads"]
    headers = {k: v for k, v in upload["headers"].items() if k != "Content-Length"}
    started = time.perf_counter()
    with path.open("rb") as body:
        reply = httpx.put(
            upload["url"], content=body, headers={**headers, "Content-Length": str(size)}, timeout=600
        )
    elapsed = time.perf_counter() - started
    reply.raise_for_status()
    return elapsed


def parallel_parts(
    stack: LocalStack, path: Path, size: int, part_mib: int, in_flight: int
) -> tuple[float, int, dict[str, float]]:
    started = time.perf_counter()
    planned = httpx.post(f"{stack.base_url}/s3/multipart/plan", timeout=60,
                         json={"jobId": "bench-parts", "path": "parts.mp4", "size": size, "partSize": part_mib * MIB})  # fmt: skip
    planned.raise_for_status()
    plan = planned.json()
    phases = {"plan": time.perf_counter() - started}
    assert plan["remaining"] == 0, "raise --part-mib: the plan signs at most 500 URLs per call"
    descriptor = os.open(path, os.O_RDONLY)
    client = httpx.Client(timeout=600, limits=httpx.Limits(max_connections=in_flight))

    def send(part: dict[str, int | str]) -> None:
        start, end = int(part["start"]), int(part["end"])
        reply = client.put(str(part["url"]), content=os.pread(descriptor, end - start, start))
        reply.raise_for_status()

    try:
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            list(pool.map(send, plan["parts"]))
    finally:
        os.close(descriptor)
        client.close()
    phases["parts"] = time.perf_counter() - started - phases["plan"]
    for _ in range(3):  # a 503 (S3 slower than the function's budget on a loaded machine): retry
        done = httpx.post(
            f"{stack.base_url}/s3/multipart/{plan['uploadId']}/complete",
            params={"key": plan["key"]},
            timeout=600,
        )
        if done.status_code != 503:
            break
    if done.status_code == 404:  # a timed-out try completed it after all: the uploadId is gone
        from local.s3_emulator import s3_client

        head = s3_client(stack.emulator.endpoint_url).head_object(
            Bucket=stack.config.bucket_name, Key=plan["key"]
        )
        assert head["ContentLength"] == size
    else:
        done.raise_for_status()
    total = time.perf_counter() - started
    phases["complete"] = total - phases["plan"] - phases["parts"]
    return total, plan["partCount"], phases


def cold_import(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=SIGNER_DIR, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(COLD_RUNS)
    ]
    return statistics.median(runs)


def run(args: argparse.Namespace) -> None:
    size = args.mib * MIB
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu; {args.mib} MiB file")
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "bench.bin"
        make_file(source, size)
        settings = LocalSettings(port=free_port(), s3_port=free_port(), data_dir=Path(scratch) / "stack")
        with LocalStack(settings) as stack:
            single = single_put(stack, source, size)
            parts, count, phases = parallel_parts(stack, source, size, args.part_mib, args.in_flight)
    mb = size / 1e6
    print(f"\nthrough the local stack (gateway + verifying S3 + moto), {args.mib} MiB:")
    print(f"  one PUT                                 {single:7.2f} s  {mb / single:8.1f} MB/s")
    print(f"  {count} parts of {args.part_mib} MiB, {args.in_flight} in flight  {parts:7.2f} s  {mb / parts:8.1f} MB/s"
          "  (plan + parts + server-side complete)")  # fmt: skip
    print(
        f"    of which: plan {phases['plan']:.2f} s, parts {phases['parts']:.2f} s ({mb / phases['parts']:.1f} MB/s), "
        f"complete {phases['complete']:.2f} s"
    )
    print(f"  ratio parts / single (throughput)       {single / parts:7.2f} x")

    post = cold_import("import handler")
    post_recorded = cold_import("import handler, http.client")
    route = cold_import("import handler, multipart, http.client, xml.etree.ElementTree")
    boto3 = cold_import("import boto3")
    print(f"\ncold import at the zip root, fresh interpreter (median of {COLD_RUNS}):")
    print(f"  POST /            import handler                          {post * 1e3:7.2f} ms")
    print(f"  POST / + its first job record (http.client)             {post_recorded * 1e3:7.2f} ms")
    print(f"  /s3/... routes    + multipart, http.client, xml.etree      {route * 1e3:7.2f} ms")
    print(f"  for scale         import boto3                            {boto3 * 1e3:7.2f} ms")


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    cli.add_argument("--mib", type=int, default=512)
    cli.add_argument("--part-mib", type=int, default=16)
    cli.add_argument("--in-flight", type=int, default=5)
    run(cli.parse_args())
