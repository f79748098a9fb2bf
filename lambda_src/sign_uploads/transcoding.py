"""Cloud transcoding on AWS Elemental MediaConvert, as pure functions (docs/transcoding.md).

What the transcoding function (``transcoding_handler.py``) decides, without any AWS call: its
settings from the environment, the limits a source must meet (size from the job record, duration
and picture from MediaConvert's ``Probe``), the exact ``CreateJob`` request (built from the one
settings document shipped next to this module, ``transcoding_job.json``), and what each
``MediaConvert Job State Change`` event does to the job record (status, progress, renditions,
estimated cost). Standard library only: it ships in the signer's zip.

Output layout under the job's folder ``<prefix><jobId>/`` (one directory, MediaConvert's naming):
``master.m3u8`` (the master playlist the app plays), ``master_<rung>p.m3u8`` and
``master_<rung>p_<n>.ts`` (HLS), ``video_<rung>p.mp4`` (one MP4 per rendition) and
``thumbnail.0000000.jpg`` (one frame).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

TEMPLATE_PATH = Path(__file__).with_name("transcoding_job.json")

# (short side in pixels) of each rung, smallest first: the local processor's ladder.
LADDER: tuple[int, ...] = (360, 720)
LADDER_1080P = 1080
HLS_BASENAME, MP4_BASENAME, THUMBNAIL_BASENAME = "master", "video", "thumbnail"
MASTER_PLAYLIST = f"{HLS_BASENAME}.m3u8"
# Progress while MediaConvert works (the copy that sets Cache-Control is the rest), as locally.
TRANSCODE_SHARE = 0.9
# MediaConvert bills by output minute per resolution band: SD is below 720 lines, HD up to 1080.
HD_MIN_LINES = 720

DEFAULT_MAX_DURATION_SECONDS = 600
DEFAULT_MAX_SOURCE_BYTES = 2 * 1024**3
# USD per output minute, MediaConvert on-demand, Basic tier, us-east-1, as published when this was
# written: estimates only (docs/transcoding.md); set the stack's rates from the pricing page.
DEFAULT_SD_RATE_PER_MINUTE = 0.0075
DEFAULT_HD_RATE_PER_MINUTE = 0.015

# Failure codes, shared with the local processor's where the meaning is the same (docs/processor.md).
TOO_LONG, TOO_LARGE, NOT_A_VIDEO = "too_long", "source_too_large", "not_a_video"
TRANSCODE_FAILED, CANCELED = "transcode_failed", "canceled"


# The variables :meth:`Settings.environment` writes (the Pulumi program fills them from outputs).
ENVIRONMENT_KEYS = (
    "MEDIACONVERT_QUEUE_ARN", "MEDIACONVERT_ROLE_ARN", "MAX_SOURCE_SECONDS", "MAX_SOURCE_BYTES",
    "INCLUDE_1080P", "SD_RATE_PER_MINUTE", "HD_RATE_PER_MINUTE",
)  # fmt: skip


class SettingsError(Exception):
    """The function is deployed with a bad environment (names the variable)."""


@dataclass(frozen=True)
class Settings:
    queue_arn: str
    role_arn: str
    max_duration_seconds: int = DEFAULT_MAX_DURATION_SECONDS
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    include_1080p: bool = False
    sd_rate_per_minute: float = DEFAULT_SD_RATE_PER_MINUTE
    hd_rate_per_minute: float = DEFAULT_HD_RATE_PER_MINUTE

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Settings:
        queue, role = env.get("MEDIACONVERT_QUEUE_ARN", ""), env.get("MEDIACONVERT_ROLE_ARN", "")
        if not queue.startswith("arn:") or ":queues/" not in queue:
            raise SettingsError("MEDIACONVERT_QUEUE_ARN must be a MediaConvert queue ARN")
        if not role.startswith("arn:") or ":role/" not in role:
            raise SettingsError("MEDIACONVERT_ROLE_ARN must be an IAM role ARN")
        return cls(
            queue_arn=queue,
            role_arn=role,
            max_duration_seconds=int(_number(env, "MAX_SOURCE_SECONDS", DEFAULT_MAX_DURATION_SECONDS, 1)),
            max_source_bytes=int(_number(env, "MAX_SOURCE_BYTES", DEFAULT_MAX_SOURCE_BYTES, 1)),
            include_1080p=env.get("INCLUDE_1080P", "false").strip().lower() == "true",
            sd_rate_per_minute=_number(env, "SD_RATE_PER_MINUTE", DEFAULT_SD_RATE_PER_MINUTE, 0),
            hd_rate_per_minute=_number(env, "HD_RATE_PER_MINUTE", DEFAULT_HD_RATE_PER_MINUTE, 0),
        )

    def environment(self) -> dict[str, str]:
        """The inverse of :meth:`from_environ` (the Pulumi program deploys these)."""
        return {
            "MEDIACONVERT_QUEUE_ARN": self.queue_arn,
            "MEDIACONVERT_ROLE_ARN": self.role_arn,
            "MAX_SOURCE_SECONDS": str(self.max_duration_seconds),
            "MAX_SOURCE_BYTES": str(self.max_source_bytes),
            "INCLUDE_1080P": "true" if self.include_1080p else "false",
            "SD_RATE_PER_MINUTE": repr(self.sd_rate_per_minute),
            "HD_RATE_PER_MINUTE": repr(self.hd_rate_per_minute),
        }


def _number(env: Mapping[str, str], name: str, default: float, low: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number") from None
    if not math.isfinite(value) or value < low:
        raise SettingsError(f"{name} must be a finite number of at least {low}")
    return value


class Refusal(Exception):
    """The source cannot be transcoded: the job fails with ``code`` (never submitted, never billed)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SourceInfo(NamedTuple):
    """What ``Probe`` says of the source: duration in seconds, display size (rotation applied)."""

    duration: float
    width: int
    height: int
    has_audio: bool


def source_info(probe_reply: Mapping[str, Any]) -> SourceInfo:
    """Read ``Probe``'s answer for one file; :class:`Refusal` ``not_a_video`` when it has no picture
    or no duration."""
    results = probe_reply.get("ProbeResults") or []
    container = (results[0] if results else {}).get("Container") or {}
    tracks = container.get("Tracks") or []
    video = next((t.get("VideoProperties") or {} for t in tracks if t.get("TrackType") == "video"), None)
    has_audio = any(t.get("TrackType") == "audio" for t in tracks)
    duration = float(container.get("Duration") or 0)
    if video is None or not video.get("Width") or not video.get("Height"):
        raise Refusal(NOT_A_VIDEO, "The source has no video track MediaConvert can read.")
    if duration <= 0:
        raise Refusal(NOT_A_VIDEO, "The source's duration cannot be read.")
    width, height = int(video["Width"]), int(video["Height"])
    if int(video.get("Rotation") or 0) % 180 == 90:
        width, height = height, width
    return SourceInfo(duration, width, height, has_audio)


def check_limits(size: int, info: SourceInfo | None, settings: Settings) -> None:
    """Raise :class:`Refusal` when the source is over a limit (size is checked before probing)."""
    if size > settings.max_source_bytes:
        raise Refusal(
            TOO_LARGE, f"The source is {size} bytes; the limit is {settings.max_source_bytes} bytes."
        )
    if info is not None and info.duration > settings.max_duration_seconds:
        raise Refusal(
            TOO_LONG,
            f"The video lasts {info.duration:.1f} s; the limit is {settings.max_duration_seconds} s.",
        )


def rungs_for(info: SourceInfo, include_1080p: bool) -> list[int]:
    """The ladder rungs that fit the source's short side (never upscaling); at least the smallest,
    which FIT_NO_UPSCALE then keeps at the source's own size."""
    ladder = (*LADDER, LADDER_1080P) if include_1080p else LADDER
    short = min(info.width, info.height)
    return [rung for rung in ladder if rung <= short] or [ladder[0]]


def load_template() -> dict[str, Any]:
    document = json.loads(TEMPLATE_PATH.read_text())
    document.pop("_comment", None)
    return document


def _rung_of(output: Mapping[str, Any]) -> int | None:
    modifier = str(output.get("NameModifier", ""))
    return int(modifier[1:-1]) if modifier.startswith("_") and modifier.endswith("p") else None


def create_job_request(
    template: Mapping[str, Any],
    *,
    bucket: str,
    job_prefix: str,
    source_path: str,
    info: SourceInfo,
    settings: Settings,
    user_metadata: Mapping[str, str],
    token: str,
) -> dict[str, Any]:
    """The ``CreateJob`` parameters: the template with this job's input, outputs and identity."""
    request = copy.deepcopy(dict(template))
    base = f"s3://{bucket}/{job_prefix}"
    rungs = rungs_for(info, settings.include_1080p)
    portrait = info.height > info.width
    job_settings = request["Settings"]
    job_input = job_settings["Inputs"][0]
    job_input["FileInput"] = base + source_path
    if not info.has_audio:
        job_input.pop("AudioSelectors", None)
    destinations = {"hls": HLS_BASENAME, "mp4": MP4_BASENAME, "thumbnail": THUMBNAIL_BASENAME}
    for group in job_settings["OutputGroups"]:
        group_settings = group["OutputGroupSettings"]
        key = "HlsGroupSettings" if group_settings["Type"] == "HLS_GROUP_SETTINGS" else "FileGroupSettings"
        group_settings[key]["Destination"] = base + destinations[group["CustomName"]]
        kept = []
        for output in group["Outputs"]:
            rung = _rung_of(output)
            if rung is not None and rung not in rungs:
                continue
            if not info.has_audio:
                output.pop("AudioDescriptions", None)
            video = output["VideoDescription"]
            if portrait and "Height" in video:  # "720p" is the short side, as locally
                video["Width"] = video.pop("Height")
            kept.append(output)
        group["Outputs"] = kept
    request.update(
        Role=settings.role_arn,
        Queue=settings.queue_arn,
        UserMetadata=dict(user_metadata),
        ClientRequestToken=token,
    )
    return request


def request_token(pk: str, completed_at: Any) -> str:
    """One submission per completed upload: EventBridge's retries reuse it, so MediaConvert creates
    the job once."""
    return hashlib.sha256(f"{pk}\0{completed_at}".encode()).hexdigest()[:64]


# --- MediaConvert's state-change events -----------------------------------------------------------


def s3_path(url: str, bucket: str, job_prefix: str) -> str | None:
    """``s3://bucket/<job_prefix>x`` -> ``x`` (None for anything else)."""
    head = f"s3://{bucket}/{job_prefix}"
    return url[len(head) :] if url.startswith(head) else None


def outputs(detail: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(group type, output detail) of every output a COMPLETE event lists."""
    return [
        (str(group.get("type", "")), output)
        for group in detail.get("outputGroupDetails") or []
        for output in group.get("outputDetails") or []
    ]


def renditions(
    detail: Mapping[str, Any], *, bucket: str, job_prefix: str, base_url: str
) -> list[dict[str, Any]]:
    """The renditions in the local processor's shape (name, width, height, playlistUrl, mp4Url),
    smallest first."""
    found: dict[str, dict[str, Any]] = {}
    for group_type, output in outputs(detail):
        video = output.get("videoDetails") or {}
        for url in output.get("outputFilePaths") or []:
            path = s3_path(str(url), bucket, job_prefix)
            if path is None:
                continue
            stem, _, extension = path.rpartition(".")
            basename, _, name = stem.rpartition("_")
            if extension == "m3u8" and basename == HLS_BASENAME and group_type == "HLS_GROUP":
                field = "playlistUrl"
            elif extension == "mp4" and basename == MP4_BASENAME:
                field = "mp4Url"
            else:
                continue
            entry = found.setdefault(name, {"name": name, "width": None, "height": None})
            entry[field] = f"{base_url}/{job_prefix}{path}"
            if video.get("widthInPx"):
                entry["width"], entry["height"] = int(video["widthInPx"]), int(video["heightInPx"])
    return sorted(
        ({"playlistUrl": None, "mp4Url": None, **entry} for entry in found.values()),
        key=lambda e: (min(e["width"] or 0, e["height"] or 0), e["name"]),
    )


def estimated_cost(detail: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Output minutes × the configured per-minute rates, by resolution band: an estimate (the bill
    also rounds, and counts the frame capture and any features outside the Basic tier)."""
    sd = hd = 0.0
    for _, output in outputs(detail):
        video = output.get("videoDetails") or {}
        if not video or not output.get("durationInMs"):
            continue  # the frame capture (no duration) and audio-only outputs
        minutes = float(output["durationInMs"]) / 60_000
        if min(int(video.get("widthInPx", 0)), int(video.get("heightInPx", 0))) >= HD_MIN_LINES:
            hd += minutes
        else:
            sd += minutes
    amount = sd * settings.sd_rate_per_minute + hd * settings.hd_rate_per_minute
    return {
        "currency": "USD",
        "amount": round(amount, 4),
        "outputMinutes": {"sd": round(sd, 3), "hd": round(hd, 3)},
        "ratesPerMinute": {"sd": settings.sd_rate_per_minute, "hd": settings.hd_rate_per_minute},
        "estimate": True,
    }


def thumbnail_path(detail: Mapping[str, Any], bucket: str, job_prefix: str) -> str | None:
    for _, output in outputs(detail):
        for url in output.get("outputFilePaths") or []:
            path = s3_path(str(url), bucket, job_prefix)
            if path is not None and path.startswith(THUMBNAIL_BASENAME) and path.endswith(".jpg"):
                return path
    return None


def progress_of(detail: Mapping[str, Any]) -> float | None:
    percent = (detail.get("jobProgress") or {}).get("jobPercentComplete")
    if not isinstance(percent, int | float):
        return None
    return round(TRANSCODE_SHARE * max(0.0, min(100.0, float(percent))) / 100, 3)


def failure(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The record's ``error`` for an ERROR or CANCELED event: a stable code for the app, and
    MediaConvert's own code and message for whoever reads the job."""
    if detail.get("status") == "CANCELED":
        return {"code": CANCELED, "message": "The MediaConvert job was canceled.",
                "mediaConvertJobId": detail.get("jobId")}  # fmt: skip
    return {
        "code": TRANSCODE_FAILED,
        "message": str(detail.get("errorMessage") or "MediaConvert reported an error."),
        "mediaConvertErrorCode": detail.get("errorCode"),
        "mediaConvertJobId": detail.get("jobId"),
    }
