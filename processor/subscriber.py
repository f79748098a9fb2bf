"""Starting a processor job from the raw upload's event, as the cloud pipeline starts (issue 14).

The local bus delivers ``Upload Job Completed`` (EventBridge's envelope, detail from
``lambda_src/sign_uploads/events.py``); when its detail names a raw video (``detail.source``,
``source.mp4``/``source.mov``), the processor fetches it and queues a job under the upload job's
own ``jobId``, so ``GET /api/videos/{jobId}`` answers for the id the app already holds, in the
same shape as the cloud's ``GET /jobs/{jobId}`` (``schemas/job_status.schema.json``).

Idempotent: an event for a job the processor already knows (a redelivery, or the completion the
processor's own publishing causes when it signs its outputs into the same job) starts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from lambda_src.sign_uploads import events, media
from lambda_src.sign_uploads.contract import JOB_ID_PATTERN

_JOB_ID = re.compile(JOB_ID_PATTERN)


class SourceFetcher(Protocol):
    def __call__(self, key: str, destination: Path) -> int:
        """Copy the object ``key`` of the media bucket to ``destination``; its size in bytes."""


class QueueFull(Exception):
    """No place in the processor's queue: the bus should deliver the event again later."""


def raw_upload(envelope: Mapping[str, Any]) -> tuple[str, str] | None:
    """(jobId, object key) of a completed upload job holding a raw video, else None."""
    if envelope.get("source") != events.SOURCE or envelope.get("detail-type") != events.UPLOAD_JOB_COMPLETED:
        return None
    detail = envelope.get("detail") or {}
    source = detail.get("source") or {}
    job_id, key, prefix = detail.get("jobId"), source.get("key"), detail.get("prefix")
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        return None
    if not isinstance(key, str) or not isinstance(prefix, str) or not key.startswith(prefix):
        return None
    if not prefix.rstrip("/").endswith("/" + job_id) or not media.is_source(key[len(prefix) :]):
        return None
    return job_id, key


def subscriber(
    *,
    store: Any,
    pool: Any,
    uploads_dir: Path,
    fetch: SourceFetcher,
) -> Callable[[Mapping[str, Any]], str | None]:
    """The bus callback: the job id it queued (or already had), None for events it does not take."""

    def on_event(envelope: Mapping[str, Any]) -> str | None:
        found = raw_upload(envelope)
        if found is None:
            return None
        job_id, key = found
        if store.get(job_id) is not None:
            return job_id
        if not pool.reserve():
            raise QueueFull(f"the processor's queue is full; job {job_id} waits for redelivery")
        destination = uploads_dir / f"{job_id}.upload"
        try:
            fetch(key, destination)
            store.create(job_id, destination, key.rsplit("/", 1)[-1])
        except BaseException:
            pool.release()
            destination.unlink(missing_ok=True)
            raise
        pool.submit(job_id, reserved=True)
        return job_id

    return on_event
