"""The job store: SQLite under the data folder, so a job's status survives a crash or a restart.

One connection shared behind a lock (the worker threads and the event loop each hold it for
a single short statement); WAL lets a reader in another process (``sqlite3`` CLI) look in.

A job's final status (ready, failed, back to queued) that SQLite refuses to write (locked, disk
full) is still the truth: it is kept in memory, served by ``get`` and written by
``save_unsaved`` once the database takes writes again, so the API never shows such a job as
``processing``. Only a crash before then loses it (and ``recover`` marks the job failed).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

INTERRUPTED_MESSAGE = "interrupted by restart"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    upload_path TEXT NOT NULL,
    original_name TEXT,
    renditions TEXT NOT NULL DEFAULT '[]',
    playback_url TEXT,
    error_code TEXT,
    error_message TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
)
"""


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    id: str
    status: JobStatus
    progress: float
    upload_path: Path
    original_name: str | None = None
    renditions: list[dict[str, Any]] = field(default_factory=list)
    playback_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_api(self) -> dict[str, Any]:
        """The body of ``GET /api/videos/{jobId}``."""
        error = {"code": self.error_code, "message": self.error_message} if self.error_message else None
        return {
            "jobId": self.id,
            "status": self.status.value,
            "progress": round(self.progress, 3),
            "playbackUrl": self.playback_url,
            "renditions": self.renditions,
            "error": error,
        }


@dataclass(frozen=True)
class Recovery:
    """What ``JobStore.recover`` did: jobs to put back on the queue, jobs it marked failed."""

    requeued: list[str]
    failed: list[str]


class JobStore:
    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._unsaved: dict[str, dict[str, Any]] = {}  # final states SQLite refused, by job id
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, job_id: str, upload_path: Path, original_name: str | None = None) -> Job:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, status, upload_path, original_name, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, JobStatus.QUEUED.value, str(upload_path), original_name, now, now),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            unsaved = self._unsaved.get(job_id)
        if row is None:
            return None
        return _job({**dict(zip(row.keys(), row, strict=True)), **unsaved}) if unsaved else _job(row)

    def save_unsaved(self) -> None:
        """Write the final states SQLite refused earlier; raises while it still refuses them."""
        with self._lock:
            pending = list(self._unsaved.items())
        for job_id, values in pending:
            self._update(job_id, final=True, **values)

    def mark_processing(self, job_id: str) -> None:
        self._update(job_id, status=JobStatus.PROCESSING.value, progress=0.0)

    def set_progress(self, job_id: str, progress: float) -> None:
        self._update(job_id, progress=max(0.0, min(1.0, progress)))

    def mark_ready(self, job_id: str, renditions: list[dict[str, Any]], playback_url: str | None) -> None:
        self._update(
            job_id,
            final=True,
            status=JobStatus.READY.value,
            progress=1.0,
            renditions=json.dumps(renditions),
            playback_url=playback_url,
            error_code=None,
            error_message=None,
        )

    def mark_failed(self, job_id: str, code: str, message: str) -> None:
        self._update(
            job_id, final=True, status=JobStatus.FAILED.value, error_code=code, error_message=message
        )

    def requeue(self, job_id: str) -> None:
        self._update(job_id, final=True, status=JobStatus.QUEUED.value, progress=0.0)

    def recover(self) -> Recovery:
        """Make sure no job stays ``processing`` after a crash or restart.

        A job left ``processing`` was interrupted mid-transcode (its partial outputs cannot be
        trusted, and a file that crashed ffmpeg would crash it again): it is marked failed with
        "interrupted by restart". A ``queued`` job never started, so it is re-queued when its upload
        is still on disk and marked failed otherwise. The caller enqueues ``Recovery.requeued``.
        """
        requeued, failed = [], []
        with self._lock:
            rows = self._db.execute(
                "SELECT id, status, upload_path FROM jobs WHERE status IN (?, ?) ORDER BY created_at",
                (JobStatus.PROCESSING.value, JobStatus.QUEUED.value),
            ).fetchall()
        for row in rows:
            if row["status"] == JobStatus.QUEUED.value and Path(row["upload_path"]).is_file():
                requeued.append(row["id"])
            else:
                self.mark_failed(row["id"], "interrupted", INTERRUPTED_MESSAGE)
                failed.append(row["id"])
        return Recovery(requeued=requeued, failed=failed)

    def _update(self, job_id: str, *, final: bool = False, **values: Any) -> None:
        """``final``: a status the job keeps; if SQLite refuses it, it is kept in memory (and raised)."""
        values["updated_at"] = time.time()
        columns = ", ".join(f"{name} = ?" for name in values)  # names come from this module only
        with self._lock:
            try:
                self._db.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*values.values(), job_id))  # noqa: S608
            except sqlite3.Error:
                if final:
                    self._unsaved[job_id] = values
                raise
            if final:
                self._unsaved.pop(job_id, None)


def _job(row: sqlite3.Row | dict[str, Any]) -> Job:
    return Job(
        id=row["id"],
        status=JobStatus(row["status"]),
        progress=float(row["progress"]),
        upload_path=Path(row["upload_path"]),
        original_name=row["original_name"],
        renditions=json.loads(row["renditions"] or "[]"),
        playback_url=row["playback_url"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
    )
