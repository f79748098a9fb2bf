"""The naive transcode, for the bench only: one ffmpeg per output (each decodes and encodes again).

Built from the processor's own argument helpers, so the two ways differ only in how many times the
source is decoded and encoded, never in encoder settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from processor.pipeline import (
    Rendition,
    _base_args,
    _common_encode_args,
    _hls_options,
    _scale_filter,
    _video_encoder_args,
)


def naive_commands(
    source: Path,
    renditions: Sequence[Rendition],
    *,
    has_audio: bool,
    ffmpeg: str = "ffmpeg",
    preset: str = "veryfast",
    segment_seconds: int = 4,
) -> list[list[str]]:
    """The naive way, for the bench only: one ffmpeg per output (each decodes and encodes again)."""
    commands = []
    for rendition in renditions:
        encode = [
            "-vf",
            _scale_filter(rendition),
            *_video_encoder_args(0, rendition, preset),
            *_common_encode_args(segment_seconds, has_audio),
        ]
        audio_map = ["-map", "0:a:0"] if has_audio else []
        inputs = [*_base_args(ffmpeg), "-i", str(source), "-map", "0:v:0", *audio_map, *encode]
        hls = _hls_options(rendition, segment_seconds)
        hls_args = [x for k, v in hls.items() for x in (f"-{k}", v)]
        commands.append([*inputs, *hls_args, rendition.playlist])
        commands.append([*inputs, "-f", "mp4", "-movflags", "+faststart", rendition.mp4])
    return commands
