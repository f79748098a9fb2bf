"""The master playlist, written by hand: bandwidths measured from the segments, CODECS from the encode."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from processor import runner
from processor.errors import ProcessingError

if TYPE_CHECKING:
    from processor.pipeline import Rendition

AUDIO_CODECS = "mp4a.40.2"  # AAC-LC

# H.264 profile name (as ffprobe reports it) -> profile_idc and constraint flags for RFC 6381 CODECS.
_AVC_PROFILES: dict[str, tuple[int, int]] = {
    "Constrained Baseline": (0x42, 0xE0),
    "Baseline": (0x42, 0x00),
    "Main": (0x4D, 0x40),
    "High": (0x64, 0x00),
}


@dataclass(frozen=True)
class VariantStats:
    peak_bandwidth: int  # bit/s of the largest segment (what BANDWIDTH means in RFC 8216)
    average_bandwidth: int
    codecs: str


def avc_codecs_tag(profile: str, level: int) -> str:
    idc, constraints = _AVC_PROFILES.get(profile, _AVC_PROFILES["High"])
    return f"avc1.{idc:02x}{constraints:02x}{level:02x}"


def variant_stats(
    out_dir: Path, rendition: Rendition, *, has_audio: bool, ffprobe: str = "ffprobe"
) -> VariantStats:
    """Bandwidths from the media playlist's segments; CODECS from the encoded stream's profile/level."""
    playlist = out_dir / rendition.playlist
    segments: list[tuple[float, int]] = []
    pending: float | None = None
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            pending = float(line[len("#EXTINF:") :].split(",")[0])
        elif line and not line.startswith("#") and pending is not None:
            segments.append((pending, (playlist.parent / line).stat().st_size))
            pending = None
    if not segments:
        raise ProcessingError("transcode_failed", f"{rendition.playlist} lists no segments.")
    peak = max(size * 8 / max(seconds, 0.1) for seconds, size in segments)
    average = sum(size for _, size in segments) * 8 / max(sum(s for s, _ in segments), 0.1)
    done = runner.run_captured(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=profile,level",
         "-of", "json", str(out_dir / rendition.mp4)],
        timeout=60,
    )  # fmt: skip
    stream = ((json.loads(done.stdout or "{}").get("streams")) or [{}])[0]
    codecs = avc_codecs_tag(str(stream.get("profile", "High")), int(stream.get("level") or 31))
    if has_audio:
        codecs += f",{AUDIO_CODECS}"
    return VariantStats(math.ceil(peak), math.ceil(average), codecs)


def master_playlist(variants: Sequence[tuple[Rendition, VariantStats]]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rendition, stats in variants:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={stats.peak_bandwidth},AVERAGE-BANDWIDTH={stats.average_bandwidth},"
            f'RESOLUTION={rendition.width}x{rendition.height},CODECS="{stats.codecs}"'
        )
        lines.append(rendition.playlist)
    return "\n".join(lines) + "\n"
