"""The SQLite job store, and that a restart never leaves a job ``processing``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from processor.jobs import INTERRUPTED_MESSAGE, JobStatus, JobStore
from tests.processor.processor_fakes import RefusingConnection


def test_job_round_trips_through_the_store_as_the_status_json(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    store.create("a" * 32, tmp_path / "a.upload", "clip.mov")
    store.mark_processing("a" * 32)
    store.set_progress("a" * 32, 0.5)
    assert store.get("a" * 32).to_api() == {  # type: ignore[union-attr]
        "jobId": "a" * 32,
        "status": "processing",
        "progress": 0.5,
        "playbackUrl": None,
        "renditions": [],
        "error": None,
    }
    store.mark_ready("a" * 32, [{"name": "360p"}], "http://cdn/videos/a/master.m3u8")
    ready = store.get("a" * 32)
    assert ready is not None and ready.status is JobStatus.READY and ready.renditions == [{"name": "360p"}]


def test_recover_fails_interrupted_jobs_and_requeues_queued_ones_with_their_upload(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    upload = tmp_path / "kept.upload"
    upload.write_bytes(b"x")
    store = JobStore(db)
    store.create("p" * 32, upload)
    store.mark_processing("p" * 32)
    store.create("q" * 32, upload)
    store.create("m" * 32, tmp_path / "gone.upload")
    store.close()

    reopened = JobStore(db)  # as after a crash: a new process opens the same file
    recovery = reopened.recover()

    assert recovery.requeued == ["q" * 32]
    assert sorted(recovery.failed) == ["m" * 32, "p" * 32]
    interrupted = reopened.get("p" * 32)
    assert interrupted is not None and interrupted.status is JobStatus.FAILED
    assert interrupted.to_api()["error"] == {"code": "interrupted", "message": INTERRUPTED_MESSAGE}
    assert reopened.get("q" * 32).status is JobStatus.QUEUED  # type: ignore[union-attr]


def test_a_final_status_sqlite_refuses_is_still_served_and_saved_once_it_can_be(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    store = JobStore(db)
    store.create("a" * 32, tmp_path / "a.upload")
    store.mark_processing("a" * 32)
    full = {"on": True}
    store._db = RefusingConnection(store._db, lambda sql, params: full["on"] and sql.startswith("UPDATE"))  # type: ignore[assignment]

    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        store.mark_failed("a" * 32, "disk_full", "The processor's disk is full.")
    with pytest.raises(sqlite3.OperationalError):
        store.set_progress("a" * 32, 0.5)  # not a final state: not kept

    served = store.get("a" * 32)
    assert served is not None and served.status is JobStatus.FAILED and served.error_code == "disk_full"
    assert JobStore(db).get("a" * 32).status is JobStatus.PROCESSING  # type: ignore[union-attr]

    full["on"] = False
    store.save_unsaved()
    assert JobStore(db).get("a" * 32).to_api()["error"] == {  # type: ignore[union-attr]
        "code": "disk_full",
        "message": "The processor's disk is full.",
    }
