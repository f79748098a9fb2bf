"""``make verify``: the seed's Verify step against a running stack, from its ``cdn_config.json``.

python -m tools.verify [--config .local/cdn_config.json] [--origin URL]   (TOKEN=<JWT> to sign as a user)

Generates a small HLS sample with ffmpeg (a master playlist, one variant playlist, its segments),
then runs the health check's steps (``lambda_src/health_check/steps.py``, one implementation):
sign it (``POST signerEndpoint``), PUT every file with the returned headers, poll ``GET
<jobsEndpoint><jobId>`` until ``complete``, read every file back through the CDN (CORS for an
allowed Origin, ETag, Cache-Control as signed, a Range answered 206), ``DELETE`` the job and wait
until the CDN no longer serves it (CloudFront's invalidation takes a while: ``--gone-timeout``).
One line per step with its duration; exit 1 at the first failure, naming the step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lambda_src.health_check import steps
from tools import cdn_config as cdn_config_tool

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / ".local" / "cdn_config.json"
FALLBACK_ORIGIN = "https://verify.invalid"  # answered by a stack whose CORS allows "*"
LABELS = {
    "sample": "make the HLS sample",
    "sign": "sign",
    "upload": "upload",
    "complete": "wait for complete",
    "cdn_read": "read through the CDN",
    "delete": "delete",
}


class VerifyError(Exception):
    """Verify cannot start: the config or the sample is unusable (``step`` names where)."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


def load_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        hint = (
            " (start the local stack with make dev, or pass CONFIG=<path>)" if path == DEFAULT_CONFIG else ""
        )
        raise VerifyError("config", f"no such file {path}{hint}")
    try:
        config = json.loads(path.read_text())
        cdn_config_tool.validate(config)
    except (ValueError, cdn_config_tool.CdnConfigError) as error:
        raise VerifyError("config", f"{path}: {error}") from None
    if not config.get("jobsEndpoint"):
        raise VerifyError("config", f"{path}: jobsEndpoint is missing (a stack from before the job API?)")
    return dict(config)


def hls_sample(folder: Path, seconds: int = 2) -> dict[str, bytes]:
    """A real HLS package made by ffmpeg: ``master.m3u8``, ``360p/index.m3u8`` and its segments."""
    if shutil.which("ffmpeg") is None:
        raise VerifyError("sample", "ffmpeg is not on PATH (make setup installs it)")
    (folder / "360p").mkdir(parents=True, exist_ok=True)
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(folder / "360p" / "seg_%03d.ts"),
        str(folder / "360p" / "index.m3u8"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise VerifyError("sample", f"ffmpeg failed: {result.stderr.strip()[:300]}")
    (folder / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x120\n360p/index.m3u8\n"
    )
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def default_origin(config: dict[str, Any]) -> str:
    """An Origin the stack's CORS allows: the first of its stack file's ``corsAllowedOrigins``
    (the dev stack's for the local stack), or a placeholder where any origin is allowed."""
    stack = "dev" if config.get("environment") == "local" else str(config.get("environment"))
    try:
        from infra import config as stack_config

        origins = stack_config.from_stack_file(stack, region=str(config["region"])).cors_allowed_origins
    except Exception:  # no such stack file here: a deployed stack's operator passes --origin
        return FALLBACK_ORIGIN
    return FALLBACK_ORIGIN if not origins or "*" in origins else origins[0]


def api_for(config: dict[str, Any], token: str | None) -> steps.Api:
    def authorize(method: str, url: str, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json"} if method == "POST" else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    return steps.Api(
        sign_url=str(config["signerEndpoint"]), jobs_url=str(config["jobsEndpoint"]), authorize=authorize
    )


def line(step: str, seconds: float, failure: steps.CheckFailed | None, detail: str = "") -> str:
    state = "ok" if failure is None else "FAILED"
    text = f"{LABELS.get(step, step):<22} {state:<6} {seconds:7.2f} s"
    if failure is not None:
        check = "" if failure.step == step else f" [{failure.step}]"
        return f"{text}{check}  {failure}"
    return f"{text}  {detail}".rstrip()


def verify(
    config: dict[str, Any],
    *,
    origin: str,
    token: str | None,
    complete_timeout: float,
    gone_timeout: float,
    out: Any = None,
) -> int:
    """Run the steps against ``config``'s stack; 0 when every step passed."""
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="lux-verify-") as folder:
        begin = time.perf_counter()
        try:
            files = hls_sample(Path(folder))
        except VerifyError as error:
            print(
                line("sample", time.perf_counter() - begin, steps.CheckFailed(error.step, str(error))),
                file=out,
            )
            return 1
        size = sum(len(b) for b in files.values())
        print(
            line("sample", time.perf_counter() - begin, None, f"{len(files)} files, {size} bytes"), file=out
        )
    probe = steps.Probe(
        files=files, origin=origin, complete_timeout=complete_timeout, gone_timeout=gone_timeout
    )

    def report(step: str, seconds: float, failure: steps.CheckFailed | None, job: steps.Job | None) -> None:
        details = {
            "sign": f"jobId {job.job_id}" if job else "",
            "upload": f"{len(files)} PUTs",
            "complete": f"status {job.status.get('status')}" if job else "",
            "cdn_read": f"CORS for {origin}, ETag, Cache-Control, Range 206",
            "delete": "the CDN no longer serves it" if gone_timeout else "",
        }
        print(line(step, seconds, failure, details.get(step, "")), file=out, flush=True)

    outcome = steps.run(api_for(config, token), probe, report=report)
    if outcome.failure is not None:
        cleaned = {
            True: "the job was deleted",
            False: "the job could NOT be deleted",
            None: "nothing to delete",
        }
        print(f"verify FAILED at step {outcome.failure.step} ({cleaned[outcome.cleanup]})", file=out)
        return 1
    print(f"verify passed in {sum(outcome.seconds.values()):.2f} s (jobId {outcome.job_id})", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="cdn_config.json (default %(default)s)"
    )
    parser.add_argument("--origin", default=os.environ.get("ORIGIN"), help="Origin for the CORS check")
    parser.add_argument("--complete-timeout", type=float, default=60.0, help="seconds to wait for complete")
    parser.add_argument(
        "--gone-timeout", type=float, default=600.0, help="seconds to wait for the CDN to stop serving"
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except VerifyError as error:
        print(f"verify: {error}", file=sys.stderr)
        return 2
    origin = args.origin or default_origin(config)
    print(f"verify {config['environment']}: signer {config['signerEndpoint']}, CDN {config['cdnBaseUrl']}")
    return verify(
        config,
        origin=origin,
        token=os.environ.get("TOKEN") or None,
        complete_timeout=args.complete_timeout,
        gone_timeout=args.gone_timeout,
    )


if __name__ == "__main__":
    sys.exit(main())
