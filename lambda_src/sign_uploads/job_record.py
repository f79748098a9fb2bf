"""The job record as the signer writes it: one DynamoDB item per job, recorded before any URL
leaves (``record_signed``). The statuses and the item's attributes are documented in ``jobs.py``,
which holds the rest of the record's life (arrivals, expiry, deletion, the status view) for the
jobs function; this module is the part on the signer's cold path, kept small. Standard library only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:
    from . import media
    from .dynamodb import DynamoDBError, Table
    from .keys import SUBJECT_NAMESPACE_PREFIX
else:
    import media
    from dynamodb import DynamoDBError, Table
    from keys import SUBJECT_NAMESPACE_PREFIX

# Statuses. signed -> uploading -> complete; signed|uploading -> expired when the URLs expire with
# files missing; complete -> processing -> ready|failed (cloud transcoding); any -> deleted.
SIGNED, UPLOADING, COMPLETE, EXPIRED = "signed", "uploading", "complete", "expired"
PROCESSING, READY, FAILED, DELETED = "processing", "ready", "failed", "deleted"
STATUSES = (SIGNED, UPLOADING, COMPLETE, EXPIRED, PROCESSING, READY, FAILED, DELETED)
AWAITING = (SIGNED, UPLOADING)  # files may still arrive on live URLs
# File statuses in the status view.
FILE_PENDING, FILE_ARRIVED, FILE_REJECTED = "pending", "arrived", "rejected"

OPEN_INDEX = "open-by-expiry"  # partition "open" (one value), sort "urlsExpireAt"
OPEN = "1"
TTL_ATTRIBUTE = "ttl"
RESIGN_ATTEMPTS = 4


class JobError(Exception):
    """A job cannot take what was asked: ``code`` is the API's error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def job_pk(job_id: str, subject_hash: str | None) -> str:
    return job_id if subject_hash is None else f"{SUBJECT_NAMESPACE_PREFIX}{subject_hash}/{job_id}"


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


# --- signing ---------------------------------------------------------------------------------------


def record_signed(
    table: Table,
    *,
    job_id: str,
    subject_hash: str | None,
    prefix: str,
    files: Iterable[tuple[str, int]],
    urls_expire_at: int,
    retain_seconds: int,
    max_files: int,
    now: float,
) -> None:
    """Record (or extend) the job before its URLs are handed out, so every arrival finds it.

    A new job is one conditional PutItem. Signing an existing job again merges the files (a path
    signed again is awaited again, unless it arrived and is create-only: it cannot be replaced) and
    rewrites the item under an optimistic lock on ``version``. A deleted job starts afresh."""
    signed = {path: size for path, size in files}
    pk = job_pk(job_id, subject_hash)
    moment = int(now)
    fresh: dict[str, Any] = {
        "pk": pk,
        "jobId": job_id,
        "prefix": prefix,
        "status": SIGNED,
        "files": {path: {"s": size} for path, size in signed.items()},
        "createdAt": moment,
        "updatedAt": moment,
        "urlsExpireAt": urls_expire_at,
        "version": 1,
        "open": OPEN,
        TTL_ATTRIBUTE: moment + retain_seconds,
    }
    if subject_hash is not None:
        fresh["subjectHash"] = subject_hash
    try:
        table.put(fresh, now=now, condition="attribute_not_exists(pk)")
        return
    except DynamoDBError as error:
        if not error.condition_failed:
            raise
    for _ in range(RESIGN_ATTEMPTS):
        current = table.get({"pk": pk}, now=now)
        if current is None or current.get("status") == DELETED:
            merged, condition, values = (
                fresh,
                "attribute_not_exists(pk) OR #status = :deleted",
                {":deleted": DELETED},
            )
            if current is not None:
                merged = {**fresh, "version": int(current.get("version", 0)) + 1}
        else:
            merged = _merge(current, signed, urls_expire_at, moment, retain_seconds)
            condition, values = "version = :version", {":version": current.get("version", 0)}
        if len(merged["files"]) > max_files:
            raise JobError(413, "too_many_files", f"A job holds at most {max_files} files.")
        try:
            table.put(merged, now=now, condition=condition, names=_names(condition), values=values)
            return
        except DynamoDBError as error:
            if not error.condition_failed:
                raise
    raise JobError(409, "job_busy", "The job changed while it was being signed again; retry.")


def _names(expression: str) -> dict[str, str] | None:
    return {"#status": "status"} if "#status" in expression else None


def _merge(
    current: dict[str, Any], signed: Mapping[str, int], urls_expire_at: int, moment: int, retain: int
) -> dict[str, Any]:
    files = dict(current.get("files", {}))
    for path, size in signed.items():
        old = files.get(path)
        if old is not None and "a" in old and media.is_create_only(path):
            continue  # arrived and immutable: the new URL will be refused (412), the file stays
        files[path] = {"s": size}
    merged = {**current, "files": files, "updatedAt": moment, "version": int(current.get("version", 0)) + 1}
    merged["urlsExpireAt"] = max(int(current.get("urlsExpireAt", 0)), urls_expire_at)
    merged[TTL_ATTRIBUTE] = moment + retain
    if all("a" in f for f in files.values()):
        return merged  # nothing new to wait for: the status stands
    merged["status"] = UPLOADING if any("a" in f for f in files.values()) else SIGNED
    merged["open"] = OPEN
    merged.pop("completedAt", None)
    return merged


def playback_path(paths: Iterable[str]) -> str | None:
    """``master.m3u8`` when signed, else the first top-level playlist (sorted), else None: the
    same choice as the signer's ``playbackUrl``."""
    top_level = sorted(p for p in paths if "/" not in p and media.is_manifest(p))
    if "master.m3u8" in top_level:
        return "master.m3u8"
    return top_level[0] if top_level else None
