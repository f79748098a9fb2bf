"""The events the stack announces on its custom EventBridge bus: one definition for cloud and local.

``source`` is :data:`SOURCE`; the ``detail-type`` says what happened. Consumers (a rule on the
bus, the webhook's API destination, ``.local/events.jsonl``) receive EventBridge's envelope around
the detail built here. docs/jobs.md lists the fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:
    from . import jobs, media
else:
    import jobs
    import media

SOURCE = "lux-video.jobs"
UPLOAD_JOB_COMPLETED = "Upload Job Completed"
UPLOAD_JOB_EXPIRED = "Upload Job Expired"
UPLOAD_JOB_DELETED = "Upload Job Deleted"
JOB_READY = "Job Ready"
JOB_FAILED = "Job Failed"
DETAIL_TYPES = (UPLOAD_JOB_COMPLETED, UPLOAD_JOB_EXPIRED, UPLOAD_JOB_DELETED, JOB_READY, JOB_FAILED)
# The webhook's credential header: EventBridge's API-destination connection sends the secret's
# value in it (infra/jobs.py), and the local stack signs its webhook POSTs the same way.
WEBHOOK_TOKEN_HEADER = "X-Lux-Webhook-Token"  # noqa: S105 -- a header name, not a secret
# EventBridge takes at most 256 KB per entry: past this the key list is left out (``prefix`` and
# ``keyCount`` still say where the files are).
MAX_KEYS_CHARS = 200_000


def job_event(
    detail_type: str, record: Mapping[str, Any], *, public_base_url: str, now: float
) -> dict[str, Any]:
    """A PutEvents entry (without ``EventBusName``) for ``record`` as it now stands."""
    if detail_type not in DETAIL_TYPES:
        raise ValueError(f"unknown detail-type {detail_type!r}")
    view = jobs.status_view(record, public_base_url=public_base_url, now=now)
    prefix = view["prefix"]
    arrived = [f["path"] for f in view["files"] if f["status"] == jobs.FILE_ARRIVED]
    keys = [prefix + path for path in arrived]
    detail: dict[str, Any] = {
        "jobId": view["jobId"],
        "subjectHash": record.get("subjectHash"),
        "status": view["status"],
        "prefix": prefix,
        "keyCount": len(keys),
        "bytes": view["bytes"],
        "playbackUrl": view["playbackUrl"],
        "createdAt": view["createdAt"],
        "completedAt": view["completedAt"],
    }
    if sum(len(key) + 3 for key in keys) <= MAX_KEYS_CHARS:
        detail["keys"] = keys
    else:
        detail["keysTruncated"] = True
    for extra in ("error", "renditions", "estimatedCost", "thumbnailUrl"):
        if extra in view:
            detail[extra] = view[extra]
    source = media.source_path(arrived)
    if source is not None:
        # A raw video arrived: the transcoding rule matches on this (detail.source.path).
        entry = record.get("files", {}).get(source, {})
        detail["source"] = {"path": source, "key": prefix + source, "bytes": int(entry.get("a", 0))}
    return {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail, separators=(",", ":"))}
