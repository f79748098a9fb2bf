"""The bounded worker pool: ``settings.workers`` threads take job ids from a queue and process them.

ffmpeg runs in a subprocess, so a worker thread spends its time waiting; the event loop serving
the API is never blocked by a transcode.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from processor import pipeline
from processor.jobs import JobStore
from processor.pipeline import ProcessingError
from processor.publisher import Publisher
from processor.settings import ProcessorSettings

log = logging.getLogger(__name__)

TRANSCODE_SHARE = 0.9  # progress 0..0.9 while encoding, the rest while publishing


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

    def start(self) -> None:
        for n in range(self._settings.workers):
            thread = threading.Thread(target=self._run, name=f"processor-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, job_id: str) -> None:
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
            try:
                self.process(job_id)
            except Exception:  # a bug must not kill the worker; the job is already marked failed
                log.exception("job %s: unexpected error", job_id)

    def process(self, job_id: str) -> None:
        job = self._store.get(job_id)
        if job is None:
            return
        out_dir = self._settings.work_dir / job_id
        self._store.mark_processing(job_id)
        try:
            renditions = self._transcode_and_publish(job_id, job.upload_path, out_dir)
        except ProcessingError as exc:
            if exc.code == "cancelled":
                self._store.requeue(job_id)  # upload kept: the next start picks it up again
                _remove(out_dir)
                return
            self._store.mark_failed(job_id, exc.code, exc.message)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            self._store.mark_failed(job_id, "internal_error", f"{type(exc).__name__}: {exc}")
        else:
            self._store.mark_ready(job_id, *renditions)
        _remove(out_dir)
        job.upload_path.unlink(missing_ok=True)

    def _transcode_and_publish(
        self, job_id: str, upload: Path, out_dir: Path
    ) -> tuple[list[dict[str, Any]], str | None]:
        s = self._settings
        if not upload.is_file():
            raise ProcessingError("upload_missing", "The uploaded file is no longer on disk.")
        info = pipeline.probe(upload, s.ffprobe_path)
        if not info.container_allowed(s.allowed_containers):
            allowed = ", ".join(sorted(s.allowed_containers))
            raise ProcessingError(
                "unsupported_container", f"Container '{info.container}' is not accepted (allowed: {allowed})."
            )
        if info.duration > s.max_duration_seconds:
            raise ProcessingError(
                "too_long",
                f"The video is {info.duration:.1f} s long; the limit is {s.max_duration_seconds:g} s.",
            )
        renditions = pipeline.plan_renditions(info.height, info.width, include_1080p=s.include_1080p)
        _remove(out_dir)
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
        )
        self._store.set_progress(job_id, TRANSCODE_SHARE)
        try:
            playback = self._publisher.publish(job_id, out_dir, files)
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


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
