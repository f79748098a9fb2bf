"""A processor that cannot be left dirty: children gone with the server, a bounded queue, free-space
checks, and cleanup that survives a failing status write."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from processor import app as app_module
from processor import runner, worker
from processor.app import create_app
from processor.jobs import JobStatus, JobStore
from processor.settings import ProcessorSettings
from processor.worker import WorkerPool
from tests.processor.processor_fakes import CDN, RecordingPublisher, RefusingConnection
from tests.processor.test_processor_app import settle, upload

REPO = Path(__file__).resolve().parents[2]
GONE_WITHIN_SECONDS = 10.0  # a correctness bound ("within seconds"), not a speed assertion


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie nobody has reaped yet (dead all the same)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pid: int, timeout: float = GONE_WITHIN_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command name) of every process whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append((int(entry.name), name))
    return found


def script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


# --- children die with the server ---------------------------------------------------------------

_SPAWN = """
import subprocess, sys, time
{spawn}
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize(
    ("spawn", "survives"),
    [
        ("from processor import runner\nchild = runner.popen(['sleep', '60'])", False),
        # The control: the same child without the hook outlives a SIGKILLed parent.
        ("child = subprocess.Popen(['sleep', '60'], start_new_session=True)", True),
    ],
)
def test_a_child_started_by_the_runner_dies_when_its_parent_is_sigkilled(spawn: str, survives: bool) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _SPAWN.format(spawn=spawn)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert alive(child)
        parent.kill()
        parent.wait()
        assert wait_gone(child, timeout=2.0 if survives else GONE_WITHIN_SECONDS) is not survives
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_killing_a_run_kills_its_whole_process_group(tmp_path: Path) -> None:
    background = tmp_path / "background.pid"
    wrapper = script(tmp_path, "ffmpeg", f"sleep 60 &\necho $! > {background}\nexec sleep 60\n")
    with pytest.raises(runner.ProcessingError) as caught:
        runner.run_ffmpeg([str(wrapper)], cwd=tmp_path, timeout=1.0)
    assert caught.value.code == "timeout"
    assert wait_gone(int(background.read_text()))  # a grandchild, gone with the group


def test_sigkill_of_the_server_takes_its_ffmpeg_with_it(tmp_path: Path, clips: dict[str, Path]) -> None:
    """The review's crash: the processor's server process is SIGKILLed mid-transcode."""
    # Real ffmpeg, slowed to real time (-re) for the transcode so that it is still running.
    ffmpeg = script(
        tmp_path, "ffmpeg", 'case "$*" in *tee*) exec ffmpeg -re "$@";; *) exec ffmpeg "$@";; esac\n'
    )
    clip = tmp_path / "long.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "60",
         "-c:v", "libx264", "-preset", "ultrafast", str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    port = runner_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.processor.processor_server",
            str(tmp_path / "data"),
            str(port),
            str(ffmpeg),
        ],
        cwd=REPO,
    )
    ffmpegs: list[int] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{base}/docs"))
        response = httpx.post(f"{base}/api/videos", files={"file": ("a.mp4", clip.read_bytes())}, timeout=10)
        assert response.status_code == 202
        ffmpegs += wait_until(lambda: [pid for pid, _ in children(server.pid) if _transcoding(pid)])
        assert httpx.get(response.json()["statusUrl"]).json()["status"] == "processing"
        assert all(alive(pid) for pid in ffmpegs)
        server.send_signal(signal.SIGKILL)
        server.wait()
        assert all(wait_gone(pid) for pid in ffmpegs)
    finally:
        server.kill()
        server.wait()
        for pid in ffmpegs:  # only if the test failed: leave no orphan behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def _transcoding(pid: int) -> bool:
    """Whether ``pid`` is the real ffmpeg running the transcode (not the quick packet check)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return argv[0] == b"ffmpeg" and b"tee" in argv


def runner_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout} s")


def test_shutdown_kills_the_running_ffmpeg_group(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    folder = settings.data_dir.parent
    pids = folder / "pids"
    slow = script(folder, "slow-ffmpeg", f"sleep 60 &\necho $! >> {pids}\necho $$ >> {pids}\nexec sleep 60\n")
    hung = ProcessorSettings(**{**settings.__dict__, "ffmpeg_path": str(slow)})
    with TestClient(create_app(hung, publisher, CDN)) as client:
        job_id = upload(client, clips["silent"].read_bytes())["jobId"]
        wait(lambda: pids.is_file() and len(pids.read_text().split()) == 2)
    assert all(wait_gone(int(pid)) for pid in pids.read_text().split())
    job = JobStore(settings.db_path).get(job_id)
    assert job is not None and job.status is JobStatus.QUEUED


# --- the queue is bounded ------------------------------------------------------------------------


def test_uploads_beyond_the_queue_limit_get_503_queue_full_and_are_not_stored(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    slow = script(settings.data_dir.parent, "slow-ffmpeg", "exec sleep 60\n")
    small = ProcessorSettings(**{**settings.__dict__, "ffmpeg_path": str(slow), "max_queued_jobs": 1})
    content = clips["silent"].read_bytes()
    with TestClient(create_app(small, publisher, CDN)) as client:
        running = upload(client, content)["jobId"]
        wait(lambda: client.get(f"/api/videos/{running}").json()["status"] == "processing")
        waiting = upload(client, content)["jobId"]  # the one place in the queue

        refused = client.post("/api/videos", files={"file": ("c.mp4", content, "video/mp4")})

        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "queue_full"
        assert refused.headers["retry-after"] == "30"
        stored = sorted(p.name for p in small.uploads_dir.iterdir())
        assert stored == sorted([f"{running}.upload", f"{waiting}.upload"])
        assert client.get(f"/api/videos/{waiting}").json()["status"] == "queued"


# --- free space ----------------------------------------------------------------------------------


def test_an_upload_that_would_leave_too_little_free_space_gets_507_and_frees_its_place(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    wait: Callable[..., Any],
) -> None:
    careful = ProcessorSettings(**{**settings.__dict__, "min_free_bytes": 10**18, "max_queued_jobs": 1})
    with TestClient(create_app(careful, publisher, CDN)) as client:
        for _ in range(2):  # a refused upload gives its queue place back
            response = client.post("/api/videos", files={"file": ("a.mp4", clips["silent"].read_bytes())})
            assert response.status_code == 507
            error = response.json()["error"]
            assert error["code"] == "insufficient_storage" and "bytes free" in error["message"]
        assert not any(careful.uploads_dir.iterdir())
        monkeypatch.setattr(app_module, "free_bytes", lambda folder: 10**19)
        monkeypatch.setattr(worker, "free_bytes", lambda folder: 10**19)
        job_id = upload(client, clips["silent"].read_bytes())["jobId"]
        assert settle(client, job_id, wait)["status"] == "ready"


def test_disk_filling_during_the_upload_gets_507_and_removes_the_partial_file(
    client_factory: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch, settings: ProcessorSettings
) -> None:
    def full(self: Any, data: bytes, start: int, end: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(app_module._UploadReceiver, "_part_data", full)
    with client_factory(settings) as client:
        response = client.post("/api/videos", files={"file": ("a.mp4", b"x" * 1000)})
    assert response.status_code == 507 and response.json()["error"]["code"] == "insufficient_storage"
    assert not any(settings.uploads_dir.iterdir())


def test_too_little_space_for_the_outputs_fails_the_job_before_transcoding(
    client_factory: Callable[..., TestClient],
    monkeypatch: pytest.MonkeyPatch,
    settings: ProcessorSettings,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    monkeypatch.setattr(worker, "free_bytes", lambda folder: 1000)
    with client_factory(settings) as client:
        status = settle(client, upload(client, clips["silent"].read_bytes())["jobId"], wait)
    assert status["status"] == "failed" and status["error"]["code"] == "insufficient_storage"
    assert not any(settings.uploads_dir.iterdir()) and not any(settings.work_dir.iterdir())


class FlakyStore(JobStore):
    """A store whose final status writes fail: always for ``broken`` jobs, the first time for the rest
    (as SQLite does on a full disk, until the job's files are removed)."""

    def __init__(self, path: Path, broken: set[str] | None = None) -> None:
        super().__init__(path)
        self.broken = broken or set()
        self.failures: list[str] = []

    def _fail_once(self, job_id: str) -> None:
        if job_id in self.broken or job_id not in self.failures:
            self.failures.append(job_id)
            raise sqlite3.OperationalError("database or disk is full")

    def mark_failed(self, job_id: str, code: str, message: str) -> None:
        self._fail_once(job_id)
        super().mark_failed(job_id, code, message)

    def mark_ready(self, job_id: str, renditions: list[dict[str, Any]], playback_url: str | None) -> None:
        self._fail_once(job_id)
        super().mark_ready(job_id, renditions, playback_url)


def test_a_full_disk_mid_transcode_ends_the_job_failed_disk_full_not_processing(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    wait: Callable[..., Any],
) -> None:
    # ffmpeg as it fails on a full disk: the packet check passes, the transcode cannot write.
    full = script(
        settings.data_dir.parent,
        "ffmpeg",
        'case "$*" in *tee*) echo "360p/seg_0001.m4s: No space left on device" >&2; exit 1;; '
        '*) exec ffmpeg "$@";; esac\n',
    )
    store = FlakyStore(settings.db_path)
    pool = WorkerPool(
        ProcessorSettings(**{**settings.__dict__, "ffmpeg_path": str(full)}), store, publisher, lambda j, p: p
    )
    job_id = "d" * 32
    upload_path = settings.uploads_dir / f"{job_id}.upload"
    upload_path.parent.mkdir(parents=True)
    upload_path.write_bytes(clips["silent"].read_bytes())
    store.create(job_id, upload_path)

    pool.process(job_id)

    job = store.get(job_id)
    assert store.failures == [job_id]  # the first status write failed, the retry after cleanup did not
    assert job is not None and job.status is JobStatus.FAILED and job.error_code == "disk_full"
    assert not upload_path.exists() and not (settings.work_dir / job_id).exists()


def test_cleanup_survives_a_status_write_that_always_fails_and_the_worker_keeps_serving(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    wait: Callable[..., Any],
) -> None:
    monkeypatch.setattr(worker, "STATUS_RETRY_DELAYS", (0.01,))
    broken, fine = "b" * 32, "f" * 32
    store = FlakyStore(settings.db_path, broken={broken})
    pool = WorkerPool(settings, store, publisher, lambda j, p: p)
    settings.uploads_dir.mkdir(parents=True)
    for job_id in (broken, fine):
        path = settings.uploads_dir / f"{job_id}.upload"
        path.write_bytes(clips["silent"].read_bytes())
        store.create(job_id, path)
    pool.start()
    try:
        pool.submit(broken)
        pool.submit(fine)
        wait(lambda: store.get(fine).status is JobStatus.READY)  # type: ignore[union-attr]
    finally:
        pool.stop()
    assert store.failures.count(broken) == 2  # tried, retried, given up: a restart marks it failed
    assert broken in publisher.published  # it was processed; only its status write failed
    assert not any(settings.uploads_dir.iterdir()) and not any(settings.work_dir.iterdir())


@pytest.fixture
def client_factory(publisher: RecordingPublisher) -> Callable[..., Any]:
    def make(settings: ProcessorSettings) -> Iterator[TestClient]:
        return TestClient(create_app(settings, publisher, CDN))

    return make


def test_free_space_is_checked_again_while_an_upload_streams_in(
    client_factory: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch, settings: ProcessorSettings
) -> None:
    answers = iter([10**12])  # plenty when the request arrives, then the disk fills up

    monkeypatch.setattr(app_module, "SPACE_CHECK_INTERVAL_BYTES", 64 * 1024)
    monkeypatch.setattr(app_module, "free_bytes", lambda folder: next(answers, 0))
    with client_factory(ProcessorSettings(**{**settings.__dict__, "min_free_bytes": 1000})) as client:
        response = client.post("/api/videos", files={"file": ("a.mp4", b"x" * (1024 * 1024))})
    assert response.status_code == 507 and response.json()["error"]["code"] == "insufficient_storage"
    assert "0 bytes free" in response.json()["error"]["message"]
    assert not any(settings.uploads_dir.iterdir())


def test_a_job_whose_final_write_sqlite_keeps_refusing_is_never_shown_processing(
    settings: ProcessorSettings,
    publisher: RecordingPublisher,
    clips: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    wait: Callable[..., Any],
) -> None:
    monkeypatch.setattr(worker, "STATUS_RETRY_DELAYS", (0.01,))
    broken, later = "b" * 32, "c" * 32
    full = {"on": True}
    store = JobStore(settings.db_path)

    def refuse(sql: str, params: tuple[Any, ...]) -> bool:  # the final write of one job, as on a full disk
        return full["on"] and "error_code" in sql and params[-1] == broken

    store._db = RefusingConnection(store._db, refuse)  # type: ignore[assignment]
    settings.uploads_dir.mkdir(parents=True)
    for job_id in (broken, later):
        path = settings.uploads_dir / f"{job_id}.upload"
        path.write_bytes(clips["silent"].read_bytes())
        store.create(job_id, path)
    pool = WorkerPool(settings, store, publisher, lambda j, p: p)
    pool.start()
    try:
        pool.submit(broken)
        wait(lambda: broken in publisher.published and not (settings.work_dir / broken).exists())
        wait(lambda: store.get(broken).status is JobStatus.READY)  # type: ignore[union-attr]
        assert JobStore(settings.db_path).get(broken).status is JobStatus.PROCESSING  # type: ignore[union-attr]
        full["on"] = False  # space again: the next job's start writes the kept state
        pool.submit(later)
        wait(lambda: store.get(later).status is JobStatus.READY)  # type: ignore[union-attr]
    finally:
        pool.stop()
    assert JobStore(settings.db_path).get(broken).status is JobStatus.READY  # type: ignore[union-attr]
    assert not any(settings.uploads_dir.iterdir()) and not any(settings.work_dir.iterdir())
