"""The upload job record: what was signed, what has arrived, and the job's status, in DynamoDB.

One item per job, keyed by the job's folder relative to the upload prefix (``<jobId>`` or
``sub.<hash>/<jobId>``, ``keys.job_prefix``), so an object key names its job and a JWT subject can
only ever address its own jobs. The signer writes it (:func:`record_signed`); the jobs function
marks files arrived from S3's events, expires, deletes and reports it (:func:`status_view`).

Item attributes: ``pk``, ``jobId``, ``subjectHash`` (absent when anonymous), ``prefix`` (the full
key prefix), ``status``, ``files`` (path -> ``{s: signed size, a: arrived size, t: arrived at,
x: why it was rejected}``), ``createdAt``, ``updatedAt``, ``urlsExpireAt``, ``completedAt``,
``version`` (optimistic lock for re-signing), ``open`` (present only while files are awaited: the
sparse index the expiry sweep reads) and ``ttl`` (DynamoDB deletes the item after the bucket's own
expiry of the objects). Standard library only: it ships in the signer's zip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING or __package__:
    from . import media
    from .dynamodb import DynamoDBError, Table
    from .job_record import (
        AWAITING,
        COMPLETE,
        DELETED,
        EXPIRED,
        FAILED,
        FILE_ARRIVED,
        FILE_PENDING,
        FILE_REJECTED,
        OPEN,
        OPEN_INDEX,
        PROCESSING,
        READY,
        SIGNED,
        STATUSES,
        TTL_ATTRIBUTE,
        UPLOADING,
        JobError,
        iso,
        job_pk,
        playback_path,
        record_signed,
    )
    from .keys import SUBJECT_NAMESPACE_PREFIX
else:
    import media
    from dynamodb import DynamoDBError, Table
    from job_record import (
        AWAITING,
        COMPLETE,
        DELETED,
        EXPIRED,
        FAILED,
        FILE_ARRIVED,
        FILE_PENDING,
        FILE_REJECTED,
        OPEN,
        OPEN_INDEX,
        PROCESSING,
        READY,
        SIGNED,
        STATUSES,
        TTL_ATTRIBUTE,
        UPLOADING,
        JobError,
        iso,
        job_pk,
        playback_path,
        record_signed,
    )
    from keys import SUBJECT_NAMESPACE_PREFIX

__all__ = [  # the record's whole API in one place: job_record.py's names are re-exported
    "AWAITING",
    "COMPLETE",
    "DELETED",
    "EXPIRED",
    "FAILED",
    "FILE_ARRIVED",
    "FILE_PENDING",
    "FILE_REJECTED",
    "OPEN",
    "OPEN_INDEX",
    "PROCESSING",
    "READY",
    "SIGNED",
    "STATUSES",
    "TTL_ATTRIBUTE",
    "UPLOADING",
    "Arrival",
    "JobError",
    "ObjectRef",
    "effective_status",
    "expired_candidates",
    "file_status",
    "iso",
    "job_pk",
    "mark_arrived",
    "mark_deleted",
    "mark_expired",
    "object_ref",
    "playback_path",
    "record_signed",
    "set_status",
    "status_view",
    "table_definition",
]

ANNOUNCE_RETRY_SECONDS = 60


def table_definition(name: str) -> dict[str, Any]:
    """The table as ``CreateTable`` takes it (the local stack and tests; ``infra/jobs.py`` declares
    the same key, index and projection)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "open", "AttributeType": "S"},
            {"AttributeName": "urlsExpireAt", "AttributeType": "N"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": OPEN_INDEX,
                "KeySchema": [
                    {"AttributeName": "open", "KeyType": "HASH"},
                    {"AttributeName": "urlsExpireAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    }


class ObjectRef(NamedTuple):
    """An object key under the upload prefix, split into its job and the signed relative path."""

    pk: str
    job_id: str
    subject_hash: str | None
    path: str


def object_ref(upload_prefix: str, key: str) -> ObjectRef | None:
    """The job and path of an object key (``keys.job_prefix`` read backwards), or None when the key
    is not a job file (outside the prefix, or too few segments)."""
    if not key.startswith(upload_prefix):
        return None
    segments = key[len(upload_prefix) :].split("/")
    subject_hash = None
    if segments[0].startswith(SUBJECT_NAMESPACE_PREFIX):
        subject_hash = segments.pop(0)[len(SUBJECT_NAMESPACE_PREFIX) :]
    if len(segments) < 2 or not segments[0] or not all(segments[1:]):
        return None
    job_id = segments[0]
    return ObjectRef(job_pk(job_id, subject_hash), job_id, subject_hash, "/".join(segments[1:]))


# --- arrivals, expiry, deletion --------------------------------------------------------------------


class Arrival(NamedTuple):
    """What one object-created event did: ``outcome`` is ``completed`` (this arrival completed the
    job), ``arrived``, ``rejected`` (size or type differ from what was signed) or ``unknown`` (no
    job, or a path it never signed: left alone and logged)."""

    outcome: str
    record: dict[str, Any] | None
    reason: str | None = None


def mark_arrived(table: Table, ref: ObjectRef, *, size: int, content_type: str | None, now: float) -> Arrival:
    moment = int(now)
    names = {"#p": ref.path, "#status": "status"}
    expected_type = media.content_type_for(ref.path)
    reason = None
    if content_type is not None and expected_type is not None and content_type.split(";")[0] != expected_type:
        reason = "type_mismatch"
    try:
        if reason is None:
            record = table.update(
                {"pk": ref.pk},
                "SET files.#p.a = :size, files.#p.t = :now, updatedAt = :now REMOVE files.#p.x",
                condition="attribute_exists(files.#p) AND files.#p.s = :size AND #status <> :deleted",
                names=names,
                values={":size": size, ":now": moment, ":deleted": DELETED},
                now=now,
            )
        else:
            record = None
    except DynamoDBError as error:
        if not error.condition_failed:
            raise
        record = table.get({"pk": ref.pk}, now=now)
        entry = (record or {}).get("files", {}).get(ref.path)
        if record is None or entry is None or record.get("status") == DELETED:
            return Arrival("unknown", record)
        reason = "size_mismatch"
    if reason is not None:
        try:
            record = table.update(
                {"pk": ref.pk},
                "SET files.#p.x = :reason, files.#p.t = :now, updatedAt = :now, #status = :failed, "
                "#error = :error REMOVE #open",
                condition="attribute_exists(files.#p)",
                names={**names, "#error": "error", "#open": "open"},
                values={
                    ":reason": reason,
                    ":now": moment,
                    ":failed": FAILED,
                    ":error": {"code": reason, "message": f"{ref.path}: {_REASONS[reason]}"},
                },
                now=now,
            )
        except DynamoDBError as error:
            if not error.condition_failed:
                raise
            return Arrival("unknown", None)
        return Arrival("rejected", record, reason)
    assert record is not None
    files = record.get("files", {})
    if all("a" in f and "x" not in f for f in files.values()):
        try:
            record = table.update(
                {"pk": ref.pk},
                "SET #status = :complete, completedAt = :now REMOVE #open",
                condition="#status IN (:signed, :uploading, :expired)",
                names={"#status": "status", "#open": "open"},
                values={":complete": COMPLETE, ":now": moment, ":signed": SIGNED, ":uploading": UPLOADING,
                        ":expired": EXPIRED},
                now=now,
            )  # fmt: skip
            return Arrival("completed", record)
        except DynamoDBError as error:
            if not error.condition_failed:
                raise
            # Completed by another arrival: announced by it, unless that was a while ago and the
            # announcement never happened (a failed put: this retry announces again).
            current = table.get({"pk": ref.pk}, now=now) or record
            stale = moment - int(current.get("completedAt", moment)) > ANNOUNCE_RETRY_SECONDS
            if current.get("status") == COMPLETE and "announcedAt" not in current and stale:
                return Arrival("completed", current)
            return Arrival("arrived", current)
    if record.get("status") == SIGNED:
        try:
            record = table.update(
                {"pk": ref.pk},
                "SET #status = :uploading",
                condition="#status = :signed",
                names={"#status": "status"},
                values={":uploading": UPLOADING, ":signed": SIGNED},
                now=now,
            )
        except DynamoDBError as error:
            if not error.condition_failed:
                raise
    return Arrival("arrived", record)


_REASONS = {
    "size_mismatch": "the stored object's size differs from the signed size",
    "type_mismatch": "the stored object's Content-Type differs from the signed type",
}


def mark_expired(table: Table, pk: str, *, now: float) -> dict[str, Any] | None:
    """Persist ``expired`` for a job whose URLs expired with files missing; None if it no longer
    qualifies (completed, deleted or re-signed meanwhile)."""
    try:
        return table.update(
            {"pk": pk},
            "SET #status = :expired, updatedAt = :now REMOVE #open",
            condition="#status IN (:signed, :uploading) AND urlsExpireAt <= :now",
            names={"#status": "status", "#open": "open"},
            values={":expired": EXPIRED, ":now": int(now), ":signed": SIGNED, ":uploading": UPLOADING},
            now=now,
        )
    except DynamoDBError as error:
        if error.condition_failed:
            return None
        raise


def expired_candidates(table: Table, *, now: float, limit: int = 100) -> list[str]:
    """The pks of jobs still awaiting files whose URLs have expired (one page, oldest first)."""
    items = table.query(
        index=OPEN_INDEX,
        key_condition="#open = :open AND urlsExpireAt <= :now",
        names={"#open": "open"},
        values={":open": OPEN, ":now": int(now)},
        now=now,
        limit=limit,
    )
    return [str(item["pk"]) for item in items]


def mark_deleted(table: Table, pk: str, *, now: float) -> dict[str, Any]:
    return table.update(
        {"pk": pk},
        "SET #status = :deleted, deletedAt = :now, updatedAt = :now REMOVE #open",
        condition="attribute_exists(pk)",
        names={"#status": "status", "#open": "open"},
        values={":deleted": DELETED, ":now": int(now)},
        now=now,
    )


def set_status(
    table: Table,
    pk: str,
    status: str,
    *,
    now: float,
    fields: Mapping[str, Any] | None = None,
    allowed_from: tuple[str, ...] = (COMPLETE, PROCESSING),
) -> dict[str, Any] | None:
    """Move a job to ``status`` (with extra top-level ``fields``) if it is in ``allowed_from``;
    None when it is not (a stale or repeated event). For the transcoding pipeline."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    names = {"#status": "status"}
    values: dict[str, Any] = {":status": status, ":now": int(now)}
    sets = ["#status = :status", "updatedAt = :now"]
    for i, (name, value) in enumerate((fields or {}).items()):
        names[f"#f{i}"] = name
        values[f":f{i}"] = value
        sets.append(f"#f{i} = :f{i}")
    allowed = []
    for i, state in enumerate(allowed_from):
        values[f":from{i}"] = state
        allowed.append(f":from{i}")
    try:
        return table.update(
            {"pk": pk},
            "SET " + ", ".join(sets),
            condition=f"#status IN ({', '.join(allowed)})",
            names=names,
            values=values,
            now=now,
        )
    except DynamoDBError as error:
        if error.condition_failed:
            return None
        raise


# --- the status view -------------------------------------------------------------------------------


def effective_status(record: Mapping[str, Any], now: float) -> str:
    """The stored status, except that a job still awaiting files reads ``expired`` as soon as its
    URLs have (the sweep persists it within minutes and announces it)."""
    status = str(record.get("status", SIGNED))
    if status in AWAITING and now >= int(record.get("urlsExpireAt", 0)):
        return EXPIRED
    return status


def file_status(entry: Mapping[str, Any]) -> str:
    if "x" in entry:
        return FILE_REJECTED
    return FILE_ARRIVED if "a" in entry else FILE_PENDING


def status_view(record: Mapping[str, Any], *, public_base_url: str, now: float) -> dict[str, Any]:
    """The ``GET /jobs/{jobId}`` body (docs/jobs.md): the contract's fields first, then extras.
    ``schemas/job_status.schema.json`` holds it (and the local processor's answer) to one shape."""
    files = record.get("files", {})
    prefix = str(record["prefix"])
    playback = record.get("playbackPath") or playback_path(files)
    view: dict[str, Any] = {
        "jobId": record["jobId"],
        "status": effective_status(record, now),
        "files": [{"path": path, "status": file_status(files[path])} for path in sorted(files)],
        "bytes": sum(int(f["a"]) for f in files.values() if "a" in f),
        "playbackUrl": None if playback is None else f"{public_base_url}/{prefix}{playback}",
        # Transcoded renditions (cloud transcoding); [] for a job the app transcoded itself.
        "renditions": list(record.get("renditions", [])),
        "createdAt": iso(record.get("createdAt")),
        "completedAt": iso(record.get("completedAt")),
        "expiresAt": iso(record.get("urlsExpireAt")),
        "prefix": prefix,
        "filesArrived": sum(1 for f in files.values() if "a" in f),
        "filesExpected": len(files),
        "retainedUntil": iso(record.get(TTL_ATTRIBUTE)),
    }
    for extra in ("error", "progress", "estimatedCost", "source", "thumbnailUrl"):
        if extra in record:
            view[extra] = record[extra]
    if "deletedAt" in record:
        view["deletedAt"] = iso(record["deletedAt"])
    return view
