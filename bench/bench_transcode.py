"""Single-pass transcode (one decode, one encode per rendition, tee -> HLS + MP4) against the naive way
(one ffmpeg per output), on the same generated clip, renditions and encoder settings.

    python bench/bench_transcode.py [--seconds 30] [--size 1920x1080] [--preset veryfast]

Prints wall-clock seconds, x realtime and the ratio. A figure, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.naive_transcode import naive_commands
from processor import pipeline, runner


def generate_clip(path: Path, seconds: float, size: str) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip


def timed(commands: list[list[str]], cwd: Path, renditions: list[pipeline.Rendition]) -> float:
    cwd.mkdir()
    for r in renditions:
        (cwd / r.name).mkdir()
    start = time.perf_counter()
    for command in commands:
        runner.run_ffmpeg(command, cwd=cwd, timeout=3600)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--segment-seconds", type=int, default=4)
    parser.add_argument("--include-1080p", action="store_true", help="add the optional 1080p rung")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lux-bench-") as tmp:
        folder = Path(tmp)
        clip = folder / "clip.mp4"
        print(f"generating {args.seconds:g} s {args.size} test clip (testsrc2 + sine)...", flush=True)
        generate_clip(clip, args.seconds, args.size)
        info = pipeline.probe(clip)
        renditions = pipeline.plan_renditions(info.height, info.width, include_1080p=args.include_1080p)
        names = ", ".join(f"{r.name} ({r.width}x{r.height})" for r in renditions)
        common = {"has_audio": info.has_audio, "preset": args.preset, "segment_seconds": args.segment_seconds}
        single = [pipeline.single_pass_command(clip, renditions, progress=False, **common)]  # type: ignore[arg-type]
        naive = naive_commands(clip, renditions, **common)  # type: ignore[arg-type]

        print(f"renditions: {names}; libx264 -preset {args.preset}; HLS fMP4 + MP4 per rendition")
        cpus = f"{os.cpu_count()} logical CPUs"
        print(f"machine: {platform.machine()}, {cpus}, {platform.system()} {platform.release()}")
        single_s = timed(single, folder / "single", renditions)
        print(
            f"single pass : {single_s:7.2f} s  {info.duration / single_s:5.2f}x realtime  (1 ffmpeg run)",
            flush=True,
        )
        naive_s = timed(naive, folder / "naive", renditions)
        runs = f"({len(naive)} ffmpeg runs)"
        print(f"naive       : {naive_s:7.2f} s  {info.duration / naive_s:5.2f}x realtime  {runs}")
        print(f"ratio       : single pass is {naive_s / single_s:.2f}x faster than naive (goal: >= 2x)")


if __name__ == "__main__":
    main()
