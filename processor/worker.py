"""The bounded worker pool: ``settings.workers`` threads take job ids from a queue and process them.

ffmpeg runs in a subprocess, so a worker thread spends its time waiting; the event loop serving
the API is never blocked by a transcode. At most ``settings.max_queued_jobs`` jobs wait for a
worker: the API reserves a place before it reads an upload and answers 503 when there is none.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from processor import pipeline
from processor.jobs import JobStore
from processor.pipeline import ProcessingError
from processor.publisher import Publisher, publish_in_batches
from processor.settings import ProcessorSettings

log = logging.getLogger(__name__)

TRANSCODE_SHARE = 0.9  # progress 0..0.9 while encoding, the rest while publishing
# Pauses before retrying a job's final status write (a locked or full database): cleanup has
# already freed the job's disk space by then, which is often what the write needed.
STATUS_RETRY_DELAYS = (0.2, 1.0, 3.0)


def free_bytes(folder: Path) -> int:
    """Free space on the disk holding ``folder`` (a function of its own so tests can replace it)."""
    return shutil.disk_usage(folder).free


class WorkerPool:
    def __init__(
        self,
        settings: ProcessorSettings,
        store: JobStore,
        publisher: Publisher,
        media_url: Callable[[str, str], str],
    ) -> None:
        """``media_url(job_id, relative_path)`` is the public URL of a published file."""
        self._settings = settings
        self._store = store
        self._publisher = publisher
        self._media_url = media_url
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._waiting = 0  # reserved places plus queued jobs no worker has taken yet
        self._lock = threading.Lock()

    def start(self) -> None:
        # Long-lived threads: ffmpeg's parent-death signal is tied to the thread that started it.
        for n in range(self._settings.workers):
            thread = threading.Thread(target=self._run, name=f"processor-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def reserve(self) -> bool:
        """Hold a place in the queue for an upload about to be received; False when it is full."""
        with self._lock:
            if self._waiting >= self._settings.max_queued_jobs:
                return False
            self._waiting += 1
            return True

    def release(self) -> None:
        """Give back a place reserved for an upload that was refused or failed."""
        with self._lock:
            self._waiting = max(0, self._waiting - 1)

    def submit(self, job_id: str, *, reserved: bool = False) -> None:
        """Queue a job; ``reserved`` when its place was taken with ``reserve`` (recovered jobs were
        accepted before the restart and are queued even beyond the limit)."""
        if not reserved:
            with self._lock:
                self._waiting += 1
        self._queue.put(job_id)

    def stop(self, timeout: float = 10.0) -> None:
        """Kill running ffmpeg processes and wait for the threads; interrupted jobs go back to queued."""
        self._stop.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None or self._stop.is_set():
                return
            self.release()
            try:
                self._store.save_unsaved()
            except Exception:
                log.warning("the job store still refuses earlier final states", exc_info=True)
            try:
                self.process(job_id)
            except Exception:  # a bug must not kill the worker
                log.exception("job %s: unexpected error", job_id)

    def process(self, job_id: str) -> None:
        """Process one job. Whatever happens, its work dir and upload are removed first (the upload
        is kept only for a job interrupted by shutdown) and its final status written after, retried:
        a failing status write never leaves files behind nor stops the worker."""
        job = self._store.get(job_id)
        if job is None:
            return
        out_dir = self._settings.work_dir / job_id
        keep_upload = False
        final: Callable[[], None]
        try:
            self._store.mark_processing(job_id)
            described, playback = self._transcode_and_publish(job_id, job.upload_path, out_dir)
            final = lambda: self._store.mark_ready(job_id, described, playback)  # noqa: E731
        except ProcessingError as exc:
            if exc.code == "cancelled":  # shutdown: the next start processes it again
                keep_upload = True
                final = lambda: self._store.requeue(job_id)  # noqa: E731
            else:
                final = _failed(self._store, job_id, exc.code, exc.message)
        except OSError as exc:
            log.exception("job %s failed", job_id)
            if exc.errno == errno.ENOSPC:
                final = _failed(self._store, job_id, "disk_full", "The processor's disk is full.")
            else:
                final = _failed(self._store, job_id, "internal_error", f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            log.exception("job %s failed", job_id)
            final = _failed(self._store, job_id, "internal_error", f"{type(exc).__name__}: {exc}")
        finally:
            _remove(out_dir)
            if not keep_upload:
                _unlink(job.upload_path)
        _write_status(job_id, final)

    def _transcode_and_publish(
        self, job_id: str, upload: Path, out_dir: Path
    ) -> tuple[list[dict[str, Any]], str | None]:
        s = self._settings
        if not upload.is_file():
            raise ProcessingError("upload_missing", "The uploaded file is no longer on disk.")
        info = pipeline.probe(upload, s.ffprobe_path)
        self._check_probe(info)
        renditions = pipeline.plan_renditions(info.height, info.width, include_1080p=s.include_1080p)
        _remove(out_dir)
        out_dir.mkdir(parents=True)
        # The container's duration passed; now the packets themselves must (fast: nothing decoded).
        measured = pipeline.measure_duration(
            upload,
            info,
            cwd=out_dir,
            max_seconds=s.max_duration_seconds,
            ffmpeg=s.ffmpeg_path,
            timeout=s.ffmpeg_timeout_seconds,
            cancel=self._stop,
        )
        info = dataclasses.replace(info, duration=max(info.duration, measured))  # progress and plans
        duration = info.duration
        self._check_file_count(pipeline.planned_file_count(renditions, duration, s.segment_seconds))
        self._check_free_space(pipeline.estimated_output_bytes(renditions, duration, info.has_audio))
        files = pipeline.transcode(
            upload,
            out_dir,
            info,
            renditions,
            ffmpeg=s.ffmpeg_path,
            ffprobe=s.ffprobe_path,
            preset=s.x264_preset,
            segment_seconds=s.segment_seconds,
            timeout=s.ffmpeg_timeout_seconds,
            on_progress=lambda f: self._store.set_progress(job_id, f * TRANSCODE_SHARE),
            cancel=self._stop,
            max_seconds=s.max_duration_seconds,
            max_pixels=s.max_pixels,
        )
        self._check_file_count(len(files))
        self._store.set_progress(job_id, TRANSCODE_SHARE)
        try:
            playback = publish_in_batches(self._publisher, job_id, out_dir, files, s.max_publish_files)
        except Exception as exc:
            raise ProcessingError("publish_failed", f"Publishing failed: {exc}") from exc
        described = [
            {
                "name": r.name,
                "width": r.width,
                "height": r.height,
                "playlistUrl": self._media_url(job_id, r.playlist),
                "mp4Url": self._media_url(job_id, r.mp4),
            }
            for r in renditions
        ]
        return described, playback or self._media_url(job_id, pipeline.MASTER_PLAYLIST)

    def _check_probe(self, info: pipeline.ProbeResult) -> None:
        """The cheap refusals, from what ffprobe read in the header: nothing has been decoded yet."""
        s = self._settings
        if not info.container_allowed(s.allowed_containers):
            allowed = ", ".join(sorted(s.allowed_containers))
            raise ProcessingError(
                "unsupported_container", f"Container '{info.container}' is not accepted (allowed: {allowed})."
            )
        pixels = info.width * info.height
        if pixels > s.max_pixels:
            raise ProcessingError(
                "too_many_pixels",
                f"The video's resolution {info.width}x{info.height} ({pixels} pixels per frame) exceeds "
                f"the limit of {s.max_pixels} pixels.",
            )
        if info.duration > s.max_duration_seconds:
            raise ProcessingError(
                "too_long",
                f"The video is {info.duration:.1f} s long; the limit is {s.max_duration_seconds:g} s.",
            )

    def _check_file_count(self, count: int) -> None:
        s = self._settings
        if count > s.max_job_files:
            raise ProcessingError(
                "too_many_files",
                f"The video would be published as {count} files; the limit is {s.max_job_files} "
                f"({s.max_publish_batches} signer requests of at most {s.max_publish_files} files).",
            )

    def _check_free_space(self, needed: int) -> None:
        s = self._settings
        free = free_bytes(s.work_dir)
        if free < needed + s.min_free_bytes:
            raise ProcessingError(
                "insufficient_storage",
                f"The processor's disk has {free} bytes free; this video needs about {needed} bytes "
                f"and {s.min_free_bytes} bytes are kept free.",
            )


def _failed(store: JobStore, job_id: str, code: str, message: str) -> Callable[[], None]:
    return lambda: store.mark_failed(job_id, code, message)


def _write_status(job_id: str, write: Callable[[], None]) -> None:
    for delay in (*STATUS_RETRY_DELAYS, None):
        try:
            write()
            return
        except Exception:
            if delay is None:
                log.exception(
                    "job %s: its final status is served from memory until the store takes it", job_id
                )
                return
            log.warning("job %s: status write failed, retrying in %g s", job_id, delay, exc_info=True)
            time.sleep(delay)


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.exception("could not remove %s", path)
