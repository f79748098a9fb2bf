"""Publishing a finished job: ask the signer for upload URLs, then PUT each file exactly as told.

The processor uses the same signer contract as the mobile app, so the local stack exercises the
real upload path (signer -> pre-signed PUT -> bucket) rather than writing into the bucket directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx

from lambda_src.sign_uploads.contract import MAX_BODY_BYTES as SIGNER_MAX_BODY_BYTES

CHUNK_BYTES = 1024 * 1024
# Room left in the signer's request body for the JSON around the file entries.
_BODY_HEADROOM_BYTES = 1024


class PublishError(RuntimeError):
    """The signer refused the job or an upload failed; the message says which and why."""


class Publisher(Protocol):
    def publish(self, job_id: str, root: Path, files: list[str]) -> str | None:
        """Upload ``files`` (relative to ``root``) as ``<prefix><job_id>/<path>``; return the playback URL."""
        ...


def publish_order(files: list[str]) -> list[str]:
    """Media first, then media playlists, the master playlist last: a player that finds a playlist
    (or a batch that fails half-way) never points at a file that is not there yet."""

    def rank(path: str) -> tuple[int, str]:
        if "/" not in path and path.endswith(".m3u8"):
            return (2, path)
        return (1 if path.endswith(".m3u8") else 0, path)

    return sorted(files, key=rank)


def batches(root: Path, files: list[str], max_files: int) -> list[list[str]]:
    """``files`` in publish order, cut into signer requests of at most ``max_files`` entries whose
    JSON body also stays under the signer's body limit."""
    result: list[list[str]] = []
    current: list[str] = []
    size = _BODY_HEADROOM_BYTES
    for path in publish_order(files):
        entry = len(json.dumps({"path": path, "size": (root / path).stat().st_size})) + 2
        if current and (len(current) >= max_files or size + entry > SIGNER_MAX_BODY_BYTES):
            result.append(current)
            current, size = [], _BODY_HEADROOM_BYTES
        current.append(path)
        size += entry
    if current:
        result.append(current)
    return result


def publish_in_batches(
    publisher: Publisher, job_id: str, root: Path, files: list[str], max_files: int
) -> str | None:
    """Publish with one signer request per batch (the signer signs the same jobId again, and caps
    each request at its MAX_FILES); returns the playback URL of the last batch (the master's)."""
    playback = None
    for batch in batches(root, files, max_files):
        playback = publisher.publish(job_id, root, batch) or playback
    return playback


class SignerPublisher:
    def __init__(
        self, signer_endpoint: str, client: httpx.Client | None = None, timeout: float = 60.0
    ) -> None:
        self._endpoint = signer_endpoint
        self._client = client or httpx.Client(timeout=timeout)

    def publish(self, job_id: str, root: Path, files: list[str]) -> str | None:
        request = {"jobId": job_id, "files": [{"path": p, "size": (root / p).stat().st_size} for p in files]}
        try:
            response = self._client.post(self._endpoint, json=request)
        except httpx.HTTPError as exc:
            raise PublishError(f"signer at {self._endpoint} unreachable: {exc}") from exc
        body = _json(response)
        if response.status_code != 200:
            raise PublishError(f"signer rejected job {job_id} ({response.status_code}): {_error_text(body)}")
        uploads = {u["path"]: u for u in body.get("uploads") or [] if isinstance(u, dict) and "path" in u}
        missing = sorted(set(files) - uploads.keys())
        if missing:
            raise PublishError(f"signer returned no upload URL for: {', '.join(missing)}")
        for path in files:
            self._put(root / path, uploads[path])
        playback = body.get("playbackUrl")
        return str(playback) if playback else None

    def _put(self, file: Path, upload: dict[str, Any]) -> None:
        headers = {str(k): str(v) for k, v in (upload.get("headers") or {}).items()}
        if not any(k.lower() == "content-length" for k in headers):
            # S3 refuses chunked PUTs; say the length so the body streams from disk with it.
            headers["Content-Length"] = str(file.stat().st_size)
        method = str(upload.get("method") or "PUT")
        try:
            response = self._client.request(method, upload["url"], headers=headers, content=_chunks(file))
        except httpx.HTTPError as exc:
            raise PublishError(f"upload of {upload['path']} failed: {exc}") from exc
        if not response.is_success:
            detail = response.text[:300].strip() or "no body"
            raise PublishError(f"upload of {upload['path']} got {response.status_code}: {detail}")


def _chunks(file: Path) -> Iterator[bytes]:
    with file.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_text(body: dict[str, Any]) -> str:
    error = body.get("error")
    if not isinstance(error, dict):
        return "no error body"
    text = f"{error.get('code', 'error')}: {error.get('message', '')}".strip()
    problems = [
        f"{d.get('field')}: {d.get('problem')}" for d in error.get("details") or [] if isinstance(d, dict)
    ]
    return f"{text} ({'; '.join(problems)})" if problems else text
