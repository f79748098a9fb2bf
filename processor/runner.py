"""Running ffmpeg and ffprobe so that no child outlives the processor or fools its limits.

Every child starts in its own session (process group), so it is killed as a group (``killpg``):
a wrapper script's own children go too, and a Ctrl-C in the terminal reaches the server, which
then stops its children, rather than reaching them behind its back. On Linux each child also
asks the kernel for ``PR_SET_PDEATHSIG(SIGKILL)``: when the server dies, even by SIGKILL, its
children die with it. The kernel ties that signal to the *thread* that forked the child, so
children must be started from long-lived threads (the worker pool's; a test's main thread), never
from a short-lived helper thread. Elsewhere (macOS) a crash can still orphan ffmpeg until its
timeout; a clean shutdown kills it everywhere.

``run_ffmpeg`` also watches ``-progress``: the output time ffmpeg reports is what was really
demuxed or decoded, whatever the container's header claimed, so the duration limit is enforced on it.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from processor.errors import ProcessingError

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
# ffmpeg's output may run this far past the limit before the job fails: timestamps of the last
# audio/video frame round up (AAC priming, frame durations). The decode cap (``-t``) sits beyond it.
DURATION_TOLERANCE_SECONDS = 0.5
DECODE_CAP_MARGIN_SECONDS = 1.0

# stderr fragments -> the job's error code and message. Checked in order, on ffmpeg's last lines.
_FAILURES: tuple[tuple[str, str, str], ...] = (
    ("No space left on device", "disk_full", "The processor's disk is full: ffmpeg could not write."),
    (
        "exceeds specified max pixel count",
        "too_many_pixels",
        "A decoded frame exceeds the processor's pixel-count (resolution) limit.",
    ),
)


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # resolved once, here: the hook below runs between fork and exec


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child die when this process dies (Linux), else None.

    It only calls the already-resolved ``prctl`` and ``getppid``: nothing that takes a lock
    another thread might have held at fork time.
    """
    if _PRCTL is None:
        return None
    prctl, parent = _PRCTL, os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def popen(command: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
    """``subprocess.Popen`` in a new session, dying with this process, stdin closed, text output."""
    return subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent_hook(),  # fork-safe: see _die_with_parent_hook
        text=True,
        errors="replace",
        **kwargs,
    )


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the child's whole process group (it leads its own session, so pgid == pid)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_captured(command: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Like ``subprocess.run(capture_output=True, text=True)``; the group is killed on timeout."""
    with popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except BaseException:
            kill_group(proc)
            proc.communicate()
            raise
        return subprocess.CompletedProcess(list(command), proc.returncode, stdout, stderr)


def parse_progress_seconds(line: str) -> float | None:
    """Seconds of output written, from one ``-progress`` line (``out_time_us=`` / ``out_time=``)."""
    key, _, value = line.strip().partition("=")
    if key in ("out_time_us", "out_time_ms"):  # both are microseconds in ffmpeg 5.x
        try:
            return max(0.0, int(value) / 1_000_000)
        except ValueError:
            return None
    return None


def decode_cap(max_seconds: float) -> float:
    """What to pass to ffmpeg's input ``-t``: enough to see the limit broken, never much more."""
    return max_seconds + DECODE_CAP_MARGIN_SECONDS


class ProgressWatcher:
    """Follows ffmpeg's ``-progress`` lines: seconds written so far, and whether they broke the limit.

    ``on_progress`` gets the fraction of ``duration`` done; an error in it (a status write that
    fails) is logged and never stops the reading, or ffmpeg would block on a full pipe.
    """

    def __init__(
        self,
        *,
        max_seconds: float | None = None,
        duration: float | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> None:
        self.max_seconds = max_seconds
        self.duration = duration
        self.on_progress = on_progress
        self.seconds = 0.0
        self.exceeded = False

    def feed(self, line: str) -> None:
        seconds = parse_progress_seconds(line)
        if seconds is None:
            return
        self.seconds = max(self.seconds, seconds)
        if self.max_seconds is not None and self.seconds > self.max_seconds + DURATION_TOLERANCE_SECONDS:
            self.exceeded = True
        if self.on_progress and self.duration:
            try:
                self.on_progress(min(1.0, seconds / self.duration))
            except Exception:
                log.exception("progress callback failed; ffmpeg keeps running")

    def too_long(self) -> ProcessingError:
        assert self.max_seconds is not None
        return ProcessingError(
            "too_long",
            f"The video's decoded duration passes the limit of {self.max_seconds:g} s, whatever its "
            "container claims; processing was stopped.",
        )


def run_ffmpeg(
    command: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    duration: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    max_seconds: float | None = None,
) -> float:
    """Run ffmpeg to completion and return the seconds of output it reported (``-progress``).

    Its process group is killed, and ProcessingError raised, on timeout, on ``cancel``, as soon as
    the reported output time passes ``max_seconds`` (code ``too_long``), or when it fails (codes
    ``disk_full``, ``too_many_pixels`` or ``transcode_failed``). ``on_progress`` gets the fraction
    (0..1) of ``duration`` written so far.
    """
    watcher = ProgressWatcher(max_seconds=max_seconds, duration=duration, on_progress=on_progress)
    stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
    with popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:

        def read_stdout() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                watcher.feed(line)

        def read_stderr() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.strip():
                    stderr_tail.append(line.strip())

        readers = [threading.Thread(target=f, daemon=True) for f in (read_stdout, read_stderr)]
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + timeout
        reason: ProcessingError | None = None
        try:
            while proc.poll() is None:
                if watcher.exceeded:
                    reason = watcher.too_long()
                elif cancel is not None and cancel.is_set():
                    reason = ProcessingError(
                        "cancelled", "ffmpeg was stopped because the processor shut down."
                    )
                elif time.monotonic() > deadline:
                    reason = ProcessingError(
                        "timeout", f"ffmpeg did not finish within {timeout:g} s and was killed."
                    )
                if reason is not None:
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.1)
        finally:
            kill_group(proc)  # whatever happened, nothing of this run survives it
            proc.wait()
            for reader in readers:
                reader.join(timeout=5)
    if reason is not None:
        raise reason
    if watcher.exceeded:  # finished before the loop looked: the last report still counts
        raise watcher.too_long()
    if proc.returncode != 0:
        raise _failure(proc.returncode, list(stderr_tail))
    return watcher.seconds


def _failure(returncode: int, stderr: list[str]) -> ProcessingError:
    text = "\n".join(stderr)
    for fragment, code, message in _FAILURES:
        if fragment in text:
            return ProcessingError(code, message)
    detail = " | ".join(stderr[-3:]) or "no error output"
    return ProcessingError("transcode_failed", f"ffmpeg exited with status {returncode}: {detail}")
