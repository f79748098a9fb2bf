"""The processor's HTTP API (the seed's Express server, in Python).

``POST /api/videos`` streams the multipart ``file`` field straight to disk (never into memory),
enforcing the size limit as bytes arrive; a worker pool does the rest. An upload is refused
before it is read when the queue is full (503 ``queue_full``) or the disk would keep less than
``min_free_bytes`` free (507 ``insufficient_storage``, checked again while it streams). Every
error, including an unexpected one, is the JSON error envelope shared with the signer: never a
stack trace.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException as StarletteHTTPException

from lambda_src.sign_uploads.contract import JOB_ID_PATTERN
from processor.jobs import JobStore
from processor.publisher import Publisher
from processor.settings import ProcessorSettings
from processor.subscriber import SourceFetcher, subscriber
from processor.worker import WorkerPool, free_bytes

log = logging.getLogger(__name__)

UPLOAD_FIELD = "file"
# Room for multipart boundaries and part headers when judging a request by its Content-Length.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
QUEUE_FULL_RETRY_AFTER_SECONDS = 30
# While an upload streams in, the free space is checked again after every this many bytes.
SPACE_CHECK_INTERVAL_BYTES = 16 * 1024 * 1024
# The processor's own ids (and the seed's /media alias) are 32 hex digits; a job started by a raw
# upload's event keeps the upload job's id, so the status route takes the signer's pattern.
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_ANY_JOB_ID = re.compile(JOB_ID_PATTERN)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []
        self.headers = headers or {}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def create_app(
    settings: ProcessorSettings,
    publisher: Publisher,
    cdn_base_url: str,
    upload_prefix: str = "videos/",
    fetch_source: SourceFetcher | None = None,
) -> FastAPI:
    """``upload_prefix`` is the signer's ``PREFIX`` (the stack's ``prefix``): where published jobs live.
    ``fetch_source`` (reads an object of the bucket) enables ``app.state.on_job_event``, the local
    bus's subscriber that starts a job from a raw upload's ``Upload Job Completed``."""
    cdn = cdn_base_url.rstrip("/")

    def media_url(job_id: str, path: str) -> str:
        return f"{cdn}/{upload_prefix}{job_id}/{path}"

    for folder in (settings.uploads_dir, settings.work_dir):
        folder.mkdir(parents=True, exist_ok=True)
    store = JobStore(settings.db_path)
    pool = WorkerPool(settings, store, publisher, media_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        recovery = store.recover()
        if recovery.failed:
            log.warning("marked %d interrupted job(s) failed: %s", len(recovery.failed), recovery.failed)
        for job_id in recovery.failed:  # what a crash left behind
            shutil.rmtree(settings.work_dir / job_id, ignore_errors=True)
            (settings.uploads_dir / f"{job_id}.upload").unlink(missing_ok=True)
        pool.start()
        for job_id in recovery.requeued:
            pool.submit(job_id)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(pool.stop)
            store.close()

    app = FastAPI(title="lux-video local processor", lifespan=lifespan)
    app.state.store = store
    app.state.pool = pool
    if fetch_source is not None:
        app.state.on_job_event = subscriber(
            store=store, pool=pool, uploads_dir=settings.uploads_dir, fetch=fetch_source
        )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        return error_response(400, "invalid_request", "The request is invalid.", details)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "The processor hit an unexpected error.")

    def ensure_space(incoming: int) -> None:
        """507 unless ``incoming`` more bytes still leave ``min_free_bytes`` free."""
        free = free_bytes(settings.uploads_dir)
        if free - incoming < settings.min_free_bytes:
            raise _insufficient_storage(free, settings.min_free_bytes)

    @app.post("/api/videos", status_code=202)
    async def upload_video(request: Request) -> JSONResponse:
        if not pool.reserve():  # refused before a byte of the upload is read
            raise ApiError(
                503,
                "queue_full",
                f"The processor already has {settings.max_queued_jobs} videos waiting; retry later.",
                headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER_SECONDS)},
            )
        job_id = uuid.uuid4().hex
        destination = settings.uploads_dir / f"{job_id}.upload"
        try:
            length = request.headers.get("content-length", "")
            ensure_space(int(length) if length.isdigit() else 0)
            original_name = await _receive_upload(
                request, destination, settings.max_upload_bytes, lambda: ensure_space(0)
            )
            store.create(job_id, destination, original_name)
        except BaseException:
            pool.release()
            destination.unlink(missing_ok=True)
            raise
        pool.submit(job_id, reserved=True)
        status_url = str(request.url_for("get_video", job_id=job_id))
        return JSONResponse(
            {"jobId": job_id, "statusUrl": status_url},
            status_code=202,
            headers={"Location": status_url, "Cache-Control": "no-store"},
        )

    @app.get("/api/videos/{job_id}", name="get_video")
    async def get_video(job_id: str) -> JSONResponse:
        job = store.get(job_id) if _ANY_JOB_ID.fullmatch(job_id) else None
        if job is None:
            raise ApiError(
                404, "job_not_found", f"No video job '{job_id}'.", [{"field": "jobId", "problem": "unknown"}]
            )
        return JSONResponse(job.to_api(), headers={"Cache-Control": "no-store"})

    @app.api_route("/media/{job_id}/{path:path}", methods=["GET", "HEAD"])
    async def media_alias(job_id: str, path: str) -> Response:
        """The seed served outputs here; they now live on the CDN, so redirect to the same file there."""
        parts = path.split("/")
        if not _JOB_ID.match(job_id) or not path or any(p in ("", ".", "..") or "\\" in p for p in parts):
            raise ApiError(404, "not_found", "No such media file.")
        return RedirectResponse(media_url(job_id, path), status_code=307)

    return app


@dataclass
class _UploadReceiver:
    """Callbacks for python-multipart's streaming parser: writes the ``file`` part to disk as it arrives."""

    destination: Path
    limit: int
    received: int = 0
    found: bool = False
    filename: str | None = None
    too_large: bool = False
    _header_name: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)
    _headers: dict[str, bytes] = field(default_factory=dict)
    _target: IO[bytes] | None = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._header_name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers.clear()

    def _header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        # Only a file part counts (a filename parameter, possibly empty); a text value named "file" does not.
        is_file = b"filename" in options
        if options.get(b"name") == UPLOAD_FIELD.encode() and is_file and not self.found:
            self.found = True
            self.filename = options[b"filename"].decode("utf-8", "replace") or None
            self._target = self.destination.open("wb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._target is None or self.too_large:
            return
        self.received += end - start
        if self.received > self.limit:
            self.too_large = True
            return
        self._target.write(data[start:end])

    def _part_end(self) -> None:
        self.close()

    def close(self) -> None:
        if self._target is not None:
            self._target.close()
            self._target = None


def _insufficient_storage(free: int, keep: int) -> ApiError:
    return ApiError(
        507,
        "insufficient_storage",
        f"The processor's disk has {free} bytes free and keeps at least {keep} free: "
        "it cannot store this upload now.",
    )


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "upload_too_large",
        f"The upload exceeds the limit of {limit} bytes.",
        [{"field": UPLOAD_FIELD, "problem": f"larger than {limit} bytes"}],
    )


async def _receive_upload(
    request: Request, destination: Path, limit: int, check_space: Callable[[], None]
) -> str | None:
    """Stream the multipart ``file`` field into ``destination``; return the client's file name.

    ``check_space`` raises when the disk runs low; it is called every few MiB received.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ApiError(
            400,
            "invalid_request",
            "Send the video as multipart/form-data in a field named 'file'.",
            [{"field": UPLOAD_FIELD, "problem": "expected a multipart/form-data body"}],
        )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD_BYTES:
        raise _too_large(limit)
    receiver = _UploadReceiver(destination, limit)
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    next_check = SPACE_CHECK_INTERVAL_BYTES
    try:
        async for chunk in request.stream():
            # Disk writes happen inside the parser's callbacks: keep them off the event loop.
            await anyio.to_thread.run_sync(parser.write, chunk)
            if receiver.too_large:
                raise _too_large(limit)
            if receiver.received >= next_check:
                next_check = receiver.received + SPACE_CHECK_INTERVAL_BYTES
                check_space()
        parser.finalize()
    except ApiError:
        raise
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise ApiError(
            507, "insufficient_storage", "The processor's disk filled up while receiving the upload."
        ) from exc
    except Exception as exc:  # a malformed multipart body
        raise ApiError(
            400,
            "invalid_request",
            f"The multipart body could not be read: {exc}",
            [{"field": UPLOAD_FIELD, "problem": "malformed"}],
        ) from exc
    finally:
        receiver.close()
    if not receiver.found:
        raise ApiError(
            400,
            "missing_file",
            "The request has no 'file' field.",
            [{"field": UPLOAD_FIELD, "problem": "required"}],
        )
    if receiver.received == 0:
        raise ApiError(
            400, "empty_file", "The uploaded file is empty.", [{"field": UPLOAD_FIELD, "problem": "empty"}]
        )
    return receiver.filename
