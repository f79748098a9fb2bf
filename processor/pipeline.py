"""ffprobe/ffmpeg for the processor: pure builders of argument lists, plus the few functions that run them.

The builders take plain values and return ``list[str]`` so tests can check the shape of a command
(one decode, one encode per rendition, tee outputs) without running ffmpeg. Output paths are
relative: commands run with the job's work directory as their ``cwd``, which keeps absolute paths
(and their ``:`` or ``|``) out of the tee muxer's option syntax.
"""

from __future__ import annotations

import json
import math
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from processor import hls, runner
from processor.errors import ProcessingError as ProcessingError  # re-exported for callers

MASTER_PLAYLIST = "master.m3u8"
MEDIA_PLAYLIST = "index.m3u8"
INIT_SEGMENT = "init.mp4"  # the signer accepts .mp4, not a bare or .m4s init segment
AUDIO_BITRATE_K = 128

# (short side in pixels, video bitrate in kbit/s). "720p" means a short side of 720, so a portrait
# 1080x1920 phone video gets a 720x1280 "720p" rendition.
LADDER: tuple[tuple[int, int], ...] = ((360, 800), (720, 2800))
LADDER_1080P: tuple[int, int] = (1080, 5000)
SMALL_SOURCE_BITRATE_K = 500


@dataclass(frozen=True)
class ProbeResult:
    container: str  # ffprobe format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    duration: float  # seconds
    width: int  # display size (rotation applied), which is what ffmpeg's autorotate produces
    height: int
    has_audio: bool

    def container_allowed(self, allowed: frozenset[str]) -> bool:
        return any(part in allowed for part in self.container.split(","))


@dataclass(frozen=True)
class Rendition:
    name: str  # "360p": also the folder of its HLS playlist and the stem of its MP4
    width: int
    height: int
    video_bitrate_k: int

    @property
    def playlist(self) -> str:
        return f"{self.name}/{MEDIA_PLAYLIST}"

    @property
    def mp4(self) -> str:
        return f"{self.name}.mp4"


# --- probing ---------------------------------------------------------------------------------------


def probe_command(source: Path, ffprobe: str = "ffprobe") -> list[str]:
    return [
        ffprobe,
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        str(source),
    ]


def parse_probe(output: str) -> ProbeResult:
    """ffprobe's JSON -> ProbeResult; raises ProcessingError when the input is not a usable video."""
    try:
        data = json.loads(output or "{}")
    except json.JSONDecodeError as exc:
        raise ProcessingError("not_a_video", "ffprobe returned unreadable output for the upload.") from exc
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    if video is None:
        raise ProcessingError("not_a_video", "The upload has no video stream.")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise ProcessingError("not_a_video", "The upload's video stream has no frame size.")
    if _rotation(video) % 180 == 90:
        width, height = height, width
    duration = _float(fmt.get("duration")) or _float(video.get("duration"))
    if duration is None or duration <= 0:
        raise ProcessingError("not_a_video", "The upload has no measurable duration.")
    return ProbeResult(
        container=str(fmt.get("format_name") or ""),
        duration=duration,
        width=width,
        height=height,
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
    )


def probe(source: Path, ffprobe: str = "ffprobe", timeout: float = 60.0) -> ProbeResult:
    try:
        done = runner.run_captured(probe_command(source, ffprobe), timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ProcessingError("probe_failed", f"ffprobe did not finish within {timeout:g} s.") from exc
    if done.returncode != 0:
        reason = (
            _last_line(done.stderr).replace(f"{source}: ", "")
            or f"ffprobe exited with status {done.returncode}"
        )
        raise ProcessingError("not_a_video", f"The upload is not a video ffprobe can read: {reason}")
    return parse_probe(done.stdout)


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(float(side["rotation"])) % 360
    rotate = (stream.get("tags") or {}).get("rotate")
    return int(float(rotate)) % 360 if rotate else 0


def _float(value: object) -> float | None:
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- planning --------------------------------------------------------------------------------------


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def plan_renditions(height: int, width: int, *, include_1080p: bool = False) -> list[Rendition]:
    """The ladder rungs that fit the source (never upscaling), smallest first.

    A source whose short side is below the lowest rung gets one rendition at its own size, rounded
    down to even dimensions (libx264 with yuv420p needs them).
    """
    if height <= 0 or width <= 0:
        raise ValueError("source dimensions must be positive")
    ladder = (*LADDER, LADDER_1080P) if include_1080p else LADDER
    short, long_ = min(height, width), max(height, width)
    renditions = []
    for rung, bitrate in ladder:
        if rung > short:
            break
        other = _even(long_ * rung / short)
        w, h = (other, rung) if width >= height else (rung, other)
        renditions.append(Rendition(f"{rung}p", w, h, bitrate))
    if not renditions:
        w, h = _even(width), _even(height)
        renditions.append(Rendition(f"{min(w, h)}p", w, h, SMALL_SOURCE_BITRATE_K))
    return renditions


def planned_file_count(renditions: Sequence[Rendition], duration: float, segment_seconds: int) -> int:
    """How many files a job will publish, at most: per rendition its segments (key frames are forced
    every ``segment_seconds``), init segment, media playlist and MP4; plus the master playlist."""
    segments = max(1, math.ceil(duration / segment_seconds))
    return len(renditions) * (segments + 3) + 1


def estimated_output_bytes(renditions: Sequence[Rendition], duration: float, has_audio: bool) -> int:
    """A generous size of the outputs: every rendition at its max rate, written twice (HLS and MP4)."""
    audio_k = AUDIO_BITRATE_K if has_audio else 0
    kbits = sum(r.video_bitrate_k * 3 // 2 + audio_k for r in renditions)
    return math.ceil(kbits * 1000 / 8 * max(duration, 1.0) * 2)


# --- ffmpeg commands -------------------------------------------------------------------------------


def _video_encoder_args(index: int, rendition: Rendition, preset: str) -> list[str]:
    spec = f":v:{index}"
    return [
        f"-c{spec}",
        "libx264",
        f"-preset{spec}",
        preset,
        f"-profile{spec}",
        "high",
        f"-b{spec}",
        f"{rendition.video_bitrate_k}k",
        f"-maxrate{spec}",
        f"{rendition.video_bitrate_k * 3 // 2}k",
        f"-bufsize{spec}",
        f"{rendition.video_bitrate_k * 2}k",
    ]


def _common_encode_args(segment_seconds: int, has_audio: bool) -> list[str]:
    # Key frames on segment boundaries, whatever the source frame rate, so every rendition's
    # segments line up and each starts with an IDR frame.
    args = ["-force_key_frames", f"expr:gte(t,n_forced*{segment_seconds})", "-sc_threshold", "0"]
    if has_audio:
        args += ["-c:a", "aac", "-b:a", f"{AUDIO_BITRATE_K}k", "-ac", "2"]
    return args


def _hls_options(rendition: Rendition, segment_seconds: int) -> dict[str, str]:
    return {
        "f": "hls",
        "hls_time": str(segment_seconds),
        "hls_playlist_type": "vod",
        "hls_segment_type": "fmp4",
        "hls_fmp4_init_filename": INIT_SEGMENT,  # written next to the media playlist
        "hls_segment_filename": f"{rendition.name}/seg_%04d.m4s",
    }


def _scale_filter(rendition: Rendition) -> str:
    return f"scale={rendition.width}:{rendition.height},setsar=1,format=yuv420p"


def _base_args(ffmpeg: str) -> list[str]:
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats"]


def single_pass_command(
    source: Path,
    renditions: Sequence[Rendition],
    *,
    has_audio: bool,
    ffmpeg: str = "ffmpeg",
    preset: str = "veryfast",
    segment_seconds: int = 4,
    progress: bool = True,
    max_seconds: float | None = None,
    max_pixels: int | None = None,
) -> list[str]:
    """One ffmpeg run: decode once, split/scale per rendition, encode each rendition once (audio once),
    and let the tee muxer write each encode both as HLS (fMP4 segments) and as MP4.

    Run with the job's work directory as cwd; every rendition folder must exist beforehand.
    ``max_seconds`` caps what is read from the input (``-t``, just past the limit, so the progress
    watcher sees the limit broken); ``max_pixels`` makes the decoder refuse any larger frame, even
    one that appears mid-stream after a small first frame fooled the probe.
    """
    if not renditions:
        raise ValueError("at least one rendition is required")
    n = len(renditions)
    labels = [f"[v{i}]" for i in range(n)]
    graph = f"[0:v:0]split={n}{''.join(labels)}" + "".join(
        f";{label}{_scale_filter(r)}[o{i}]"
        for i, (label, r) in enumerate(zip(labels, renditions, strict=True))
    )
    args = [*_base_args(ffmpeg), *_input_limits(max_seconds, max_pixels), "-i", str(source)]
    args += ["-filter_complex", graph]
    for i in range(n):
        args += ["-map", f"[o{i}]"]
    if has_audio:
        args += ["-map", "0:a:0"]
    for i, rendition in enumerate(renditions):
        args += _video_encoder_args(i, rendition, preset)
    args += _common_encode_args(segment_seconds, has_audio)
    # The encoders cannot see which muxers the tee feeds, so ask for global headers (MP4 needs them).
    args += ["-flags", "+global_header"]
    slaves = []
    for i, rendition in enumerate(renditions):
        # The tee muxer unescapes option values twice, hence the backslash-escaped quotes.
        select = "\\'" + (f"v:{i},a" if has_audio else f"v:{i}") + "\\'"
        hls = {"select": select, "onfail": "abort", **_hls_options(rendition, segment_seconds)}
        mp4 = {"select": select, "onfail": "abort", "f": "mp4", "movflags": "+faststart"}
        slaves.append(_tee_slave(hls, rendition.playlist))
        slaves.append(_tee_slave(mp4, rendition.mp4))
    if progress:
        args += ["-progress", "pipe:1"]
    args += ["-f", "tee", "|".join(slaves)]
    return args


def _input_limits(max_seconds: float | None, max_pixels: int | None) -> list[str]:
    args = []
    if max_seconds is not None:
        args += ["-t", f"{runner.decode_cap(max_seconds):g}"]
    if max_pixels is not None:
        args += ["-max_pixels", str(max_pixels)]
    return args


def measure_command(
    source: Path, *, has_audio: bool, ffmpeg: str = "ffmpeg", max_seconds: float | None = None
) -> list[str]:
    """Read every packet of the streams the transcode uses, decoding nothing (``-c copy`` into the
    null muxer): ``-progress`` then reports how long the input really is, whatever its header says.
    Demuxing is cheap (600 s of video in well under a second), so a lying file fails in seconds.
    """
    args = [*_base_args(ffmpeg), *_input_limits(max_seconds, None), "-i", str(source), "-map", "0:v:0"]
    if has_audio:
        args += ["-map", "0:a:0"]
    return [*args, "-c", "copy", "-progress", "pipe:1", "-f", "null", "-"]


def _tee_slave(options: dict[str, str], target: str) -> str:
    return "[" + ":".join(f"{k}={v}" for k, v in options.items()) + "]" + target


def transcode(
    source: Path,
    out_dir: Path,
    info: ProbeResult,
    renditions: Sequence[Rendition],
    *,
    ffmpeg: str = "ffmpeg",
    ffprobe: str = "ffprobe",
    preset: str = "veryfast",
    segment_seconds: int = 4,
    timeout: float = 1800.0,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    max_seconds: float | None = None,
    max_pixels: int | None = None,
) -> list[str]:
    """The single-pass transcode plus master playlist; returns every output file relative to out_dir.

    With ``max_seconds`` the decoded output is watched and ffmpeg killed (``too_long``) as soon as
    it passes the limit; with ``max_pixels`` a larger decoded frame fails the job (``too_many_pixels``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for rendition in renditions:
        (out_dir / rendition.name).mkdir(exist_ok=True)
    command = single_pass_command(
        source,
        renditions,
        has_audio=info.has_audio,
        ffmpeg=ffmpeg,
        preset=preset,
        segment_seconds=segment_seconds,
        max_seconds=max_seconds,
        max_pixels=max_pixels,
    )
    runner.run_ffmpeg(
        command,
        cwd=out_dir,
        timeout=timeout,
        duration=info.duration,
        on_progress=on_progress,
        cancel=cancel,
        max_seconds=max_seconds,
    )
    variants = [
        (r, hls.variant_stats(out_dir, r, has_audio=info.has_audio, ffprobe=ffprobe)) for r in renditions
    ]
    (out_dir / MASTER_PLAYLIST).write_text(hls.master_playlist(variants))
    return sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())


def measure_duration(
    source: Path,
    info: ProbeResult,
    *,
    cwd: Path,
    max_seconds: float,
    ffmpeg: str = "ffmpeg",
    timeout: float = 1800.0,
    cancel: threading.Event | None = None,
) -> float:
    """The input's real length in seconds (from its packets, see ``measure_command``); raises
    ProcessingError ``too_long`` as soon as the packets pass ``max_seconds``."""
    command = measure_command(source, has_audio=info.has_audio, ffmpeg=ffmpeg, max_seconds=max_seconds)
    return runner.run_ffmpeg(
        command, cwd=cwd, timeout=timeout, duration=info.duration, cancel=cancel, max_seconds=max_seconds
    )
