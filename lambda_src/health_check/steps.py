"""The seed's Verify steps, one implementation: the health-check Lambda and ``make verify`` run them.

sign -> upload -> complete -> cdn_read -> delete, each timed; the first failure stops the run and
names its step (``cdn_read`` may fail as ``cors``, ``etag``, ``cache_control`` or ``range``, the
check that caught it). A job that was signed is deleted even after a failure (cleanup).

The callers differ only in :class:`Api` (where to sign and read jobs, and how each request is
authorized: SigV4 ``execute-api`` for the health check's IAM routes, an optional bearer token for
``make verify``) and :class:`Probe` (which files, which Origin, how long to wait). Standard library
only: it ships in the health check's zip and runs in ``tools.verify``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

STEPS = ("sign", "upload", "complete", "cdn_read", "delete")
HTTP_TIMEOUT_SECONDS = 8.0
# A job whose upload is done: transcoding may already have moved it on (docs/jobs.md).
UPLOADED = ("complete", "processing", "ready")
DEAD_ENDS = ("expired", "failed", "deleted")


class CheckFailed(Exception):
    """A step failed; ``step`` names it (or the check within it that caught the failure)."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


class UnexpectedError(CheckFailed):
    """An exception nobody foresaw, raised in ``step``: reported like any failure."""

    def __init__(self, step: str, error: Exception) -> None:
        super().__init__(step, f"unexpected {error!r}")
        self.error = error


class AuthError(Exception):
    """The caller cannot authorize a request (e.g. no credentials): fails the step it happens in."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> Response:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as reply:  # noqa: S310
            return Response(reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


# (method, url, body) -> the headers that authorize the request
Authorize = Callable[[str, str, bytes], dict[str, str]]


@dataclass(frozen=True)
class Api:
    sign_url: str  # POST here
    jobs_url: str  # GET / DELETE <jobs_url><jobId>
    authorize: Authorize


@dataclass(frozen=True)
class Probe:
    files: Mapping[str, bytes]  # signed relative path -> content
    origin: str  # an Origin the CDN must answer CORS for
    job_id: str | None = None  # None: the signer chooses
    complete_timeout: float = 20.0
    gone_timeout: float | None = None  # None: do not wait for the CDN to stop serving the files
    poll_seconds: float = 0.25


@dataclass
class Job:
    job_id: str
    uploads: list[dict[str, Any]]
    etags: dict[str, str] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)


def _call(api: Api, step: str, method: str, url: str, body: bytes = b"") -> Response:
    if not url.startswith(("https://", "http://")):
        raise CheckFailed(step, f"{url!r} is not an http(s) URL")
    try:
        headers = api.authorize(method, url, body)
    except AuthError as error:
        raise CheckFailed(step, str(error)) from None
    try:
        return http(method, url, headers, body if method in ("POST", "PUT") else None)
    except OSError as error:
        raise CheckFailed(step, f"{method} {url} unreachable: {error}") from None


def _problem(reply: Response) -> str:
    return f"{reply.status}: {reply.body[:300]!r}"


def sign(api: Api, probe: Probe) -> Job:
    payload: dict[str, Any] = {"files": [{"path": p, "size": len(b)} for p, b in probe.files.items()]}
    if probe.job_id is not None:
        payload["jobId"] = probe.job_id
    reply = _call(api, "sign", "POST", api.sign_url, json.dumps(payload).encode())
    if reply.status != 200:
        raise CheckFailed("sign", f"signer answered {_problem(reply)}")
    try:
        document = reply.json()
        job_id, uploads = str(document["jobId"]), [dict(u) for u in document["uploads"]]
    except (ValueError, KeyError, TypeError) as error:
        raise CheckFailed("sign", f"signer response breaks the contract: {error!r}") from None
    broken = set()
    for upload in uploads:
        broken |= {
            name
            for name in ("path", "key", "url")
            if not isinstance(upload.get(name), str) or not upload[name]
        }
        if not isinstance(upload.get("headers", {}), dict):
            broken.add("headers")
    if broken:
        raise CheckFailed(
            "sign", f"signer response breaks the contract: bad or missing {', '.join(sorted(broken))}"
        )
    if sorted(u["path"] for u in uploads) != sorted(probe.files):
        raise CheckFailed("sign", "signer response breaks the contract: the uploads are not the files signed")
    return Job(job_id, uploads)


def upload(job: Job, probe: Probe) -> None:
    for item in job.uploads:
        try:
            reply = http(
                item.get("method", "PUT"), item["url"], item.get("headers") or {}, probe.files[item["path"]]
            )
        except OSError as error:
            raise CheckFailed("upload", f"PUT {item['path']} unreachable: {error}") from None
        if reply.status != 200:
            raise CheckFailed("upload", f"PUT {item['path']} answered {_problem(reply)}")
        job.etags[item["path"]] = reply.headers.get("etag", "")


def _job_status(api: Api, job: Job, step: str) -> dict[str, Any]:
    reply = _call(api, step, "GET", api.jobs_url + job.job_id)
    if reply.status != 200:
        raise CheckFailed(step, f"GET job answered {_problem(reply)}")
    try:
        status = reply.json()
        str(status["status"])
    except (ValueError, KeyError, TypeError) as error:
        raise CheckFailed(step, f"job status breaks the contract: {error!r}") from None
    return dict(status)


def complete(
    api: Api, job: Job, probe: Probe, *, sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:  # fmt: skip
    """Poll the job until its upload is complete; every file arrived, ``bytes`` their sum."""
    deadline = clock() + probe.complete_timeout
    while True:
        job.status = _job_status(api, job, "complete")
        state = job.status["status"]
        if state in UPLOADED:
            break
        if state in DEAD_ENDS or clock() >= deadline:
            waited = "" if state in DEAD_ENDS else f" after {probe.complete_timeout:g} s"
            raise CheckFailed("complete", f"job {job.job_id} is {state}{waited} ({_arrivals(job.status)})")
        sleep(probe.poll_seconds)
    expected = sum(len(b) for b in probe.files.values())
    if (
        _arrivals(job.status) != f"{len(probe.files)}/{len(probe.files)} files arrived"
        or job.status.get("bytes") != expected
    ):
        raise CheckFailed(
            "complete",
            f"job is {state} but {_arrivals(job.status)}, bytes {job.status.get('bytes')} != {expected}",
        )


def _arrivals(status: Mapping[str, Any]) -> str:
    files = status.get("files") or []
    arrived = sum(1 for f in files if isinstance(f, dict) and f.get("status") == "arrived")
    return f"{arrived}/{len(files)} files arrived"


def cdn_read(job: Job, probe: Probe) -> None:
    """Every file through the CDN with the app's Origin: body, CORS, ETag, Cache-Control; then a
    byte range of the largest file."""
    for item in job.uploads:
        url, path = str(item.get("publicUrl") or ""), item["path"]
        reply = _cdn_get(url, {"Origin": probe.origin})
        if reply.status != 200 or reply.body != probe.files[path]:
            raise CheckFailed(
                "cdn_read", f"CDN answered {reply.status} with {len(reply.body)} bytes for {path}"
            )
        allowed = reply.headers.get("access-control-allow-origin")
        if allowed not in ("*", probe.origin):
            raise CheckFailed(
                "cors", f"Access-Control-Allow-Origin is {allowed!r} for {probe.origin} ({path})"
            )
        exposed = {
            h.strip().lower() for h in reply.headers.get("access-control-expose-headers", "").split(",")
        }
        if "etag" not in exposed:
            raise CheckFailed("cors", "ETag is not in Access-Control-Expose-Headers")
        etag, put_etag = reply.headers.get("etag", ""), job.etags.get(path, "")
        if not etag or (put_etag and etag.strip('"') != put_etag.strip('"')):
            raise CheckFailed("etag", f"CDN ETag {etag!r} of {path} does not match the uploaded {put_etag!r}")
        signed = (item.get("headers") or {}).get("Cache-Control")
        if signed is not None and reply.headers.get("cache-control") != signed:
            raise CheckFailed(
                "cache_control",
                f"{path}: Cache-Control {reply.headers.get('cache-control')!r}, signed {signed!r}",
            )
    largest = max(job.uploads, key=lambda u: len(probe.files[u["path"]]))
    content = probe.files[largest["path"]]
    if len(content) >= 2:
        last = min(len(content), 1024) - 1
        reply = _cdn_get(
            str(largest.get("publicUrl") or ""), {"Origin": probe.origin, "Range": f"bytes=1-{last}"}
        )
        expected = f"bytes 1-{last}/{len(content)}"
        if (
            reply.status != 206
            or reply.body != content[1 : last + 1]
            or reply.headers.get("content-range") != expected
        ):
            raise CheckFailed(
                "range",
                f"Range bytes=1-{last} of {largest['path']}: {reply.status}, Content-Range {reply.headers.get('content-range')!r}",
            )


def _cdn_get(url: str, headers: Mapping[str, str]) -> Response:
    if not url.startswith(("https://", "http://")):
        raise CheckFailed("cdn_read", f"publicUrl {url!r} is not an http(s) URL")
    try:
        return http("GET", url, headers)
    except OSError as error:
        raise CheckFailed("cdn_read", f"CDN unreachable: {error}") from None


def delete(
    api: Api, job: Job, probe: Probe, *, sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:  # fmt: skip
    """DELETE the job; with ``gone_timeout``, wait until the CDN serves none of its files."""
    reply = _call(api, "delete", "DELETE", api.jobs_url + job.job_id)
    if reply.status != 200:
        raise CheckFailed("delete", f"DELETE job answered {_problem(reply)}")
    if probe.gone_timeout is None:
        return
    deadline = clock() + probe.gone_timeout
    pending = [str(u.get("publicUrl") or "") for u in job.uploads]
    while pending:
        pending = [url for url in pending if _cdn_get(url, {"Origin": probe.origin}).status == 200]
        if pending and clock() >= deadline:
            raise CheckFailed(
                "delete", f"the CDN still serves {len(pending)} files {probe.gone_timeout:g} s after DELETE"
            )
        if pending:
            sleep(probe.poll_seconds)


@dataclass
class Outcome:
    job_id: str | None
    seconds: dict[str, float]  # step -> duration, for every step reached
    failure: CheckFailed | None
    cleanup: bool | None  # whether the job was deleted in the end (None: nothing was signed)


Report = Callable[[str, float, "CheckFailed | None", "Job | None"], None]


def run(
    api: Api, probe: Probe, *, report: Report | None = None, clock: Callable[[], float] = time.perf_counter
) -> Outcome:
    """The steps in order; ``report(step, seconds, failure, job)`` after each one."""
    seconds: dict[str, float] = {}
    job: Job | None = None
    actions: dict[str, Callable[[], Any]] = {
        "sign": lambda: sign(api, probe),
        "upload": lambda: upload(_must(job), probe),
        "complete": lambda: complete(api, _must(job), probe),
        "cdn_read": lambda: cdn_read(_must(job), probe),
        "delete": lambda: delete(api, _must(job), probe),
    }
    for step in STEPS:
        begin = clock()
        failure: CheckFailed | None = None
        try:
            result = actions[step]()
            if step == "sign":
                job = result
        except CheckFailed as error:
            failure = error
        except Exception as error:
            failure = UnexpectedError(step, error)
        seconds[step] = clock() - begin
        if report is not None:
            report(step, seconds[step], failure, job)
        if failure is not None:
            cleanup = None if job is None else False if step == "delete" else _cleanup(api, job)
            return Outcome(None if job is None else job.job_id, seconds, failure, cleanup)
    return Outcome(_must(job).job_id, seconds, None, True)


def _must(job: Job | None) -> Job:
    assert job is not None
    return job


def _cleanup(api: Api, job: Job) -> bool:
    try:
        return _call(api, "delete", "DELETE", api.jobs_url + job.job_id).status == 200
    except Exception:
        return False
