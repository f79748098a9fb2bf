"""What may be uploaded, and how long each kind of file may be cached.

The single definition of the upload media contract. The signer enforces it, the CDN cache
policies (``infra/policies/``) derive their TTLs from it and the local CDN serves by it, so a
manifest is never cached longer at the edge than the app expects. Pure data: this module must
import nothing outside the standard library (it ships inside the Lambda zip).
"""

from __future__ import annotations

from collections.abc import Iterable

# Extension (lower case, with the dot) -> the only Content-Type accepted for it.
MEDIA_TYPES: dict[str, str] = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}

# HLS playlists are rewritten when a job is re-uploaded: seconds-level caching only.
MANIFEST_EXTENSIONS: frozenset[str] = frozenset({".m3u8"})
MANIFEST_MAX_AGE_SECONDS = 5
MANIFEST_CACHE_CONTROL = f"public, max-age={MANIFEST_MAX_AGE_SECONDS}"

# Everything else is cached as immutable and signed create-only (``If-None-Match: *``: S3 answers
# 412 PreconditionFailed to an overwrite), so a re-upload under the same jobId must give every file
# but the playlists a new name (the playlists refresh within seconds and point at the new names).
IMMUTABLE_MAX_AGE_SECONDS = 31_536_000
IMMUTABLE_CACHE_CONTROL = f"public, max-age={IMMUTABLE_MAX_AGE_SECONDS}, immutable"

# CloudFront path patterns that get the long-lived segment cache policy (the default behaviour
# uses it too); manifests get their own behaviour.
SEGMENT_PATH_EXTENSIONS: tuple[str, ...] = (".ts", ".m4s", ".mp4", ".aac", ".vtt")


CREATE_ONLY_HEADER = ("If-None-Match", "*")

# Every upload is signed with this Content-Encoding, so a client cannot store another one (a
# "gzip" on a plain playlist breaks every player). CloudFront can remove Content-Disposition,
# Content-Language and Expires from responses (it does: infra/policies/cdn.py) but not
# Content-Encoding. "identity" means no encoding; browsers and players pass the body through.
CONTENT_ENCODING = "identity"


def raw_extension_of(path: str) -> str:
    """The extension of the last path segment as written, with its dot ('' when none)."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def extension_of(path: str) -> str:
    """The lower-cased extension of the last path segment, with its dot ('' when none). The signer
    accepts only lower-case extensions (CloudFront path patterns are case-sensitive)."""
    return raw_extension_of(path).lower()


def cache_control_for(path: str) -> str:
    """The Cache-Control the object is stored with (signed into its upload URL)."""
    return MANIFEST_CACHE_CONTROL if extension_of(path) in MANIFEST_EXTENSIONS else IMMUTABLE_CACHE_CONTROL


def content_type_for(path: str) -> str | None:
    """The only Content-Type an upload at ``path`` may carry (None: the file type is not allowed)."""
    return MEDIA_TYPES.get(extension_of(path))


def is_manifest(path: str) -> bool:
    """Whether ``path`` is an HLS playlist (short-cached, rewritten on re-upload)."""
    return extension_of(path) in MANIFEST_EXTENSIONS


def is_create_only(path: str) -> bool:
    """Whether an upload at ``path`` may only create its object, never overwrite it: every file but
    the playlists, because the CDN and players cache those as immutable for a year."""
    return not is_manifest(path)


# A raw video for cloud transcoding (docs/transcoding.md): one job file named ``source.<ext>`` at the
# top of the job's folder. Signed like any other non-playlist file (create-only, immutable cache):
# a source never changes under its name, and a new video is a new job.
SOURCE_STEM = "source"
SOURCE_EXTENSIONS: tuple[str, ...] = (".mp4", ".mov")


def is_source(path: str) -> bool:
    """Whether ``path`` (relative to the job's folder) is the job's raw video to transcode."""
    return "/" not in path and path in {SOURCE_STEM + extension for extension in SOURCE_EXTENSIONS}


def source_path(paths: Iterable[str]) -> str | None:
    """The job's raw video among its file paths (the first by name), or None."""
    found = sorted(path for path in paths if is_source(path))
    return found[0] if found else None
