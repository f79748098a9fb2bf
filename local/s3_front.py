"""The local S3 endpoint: enforces what S3 enforces, then hands the request to moto's S3 in-process.

moto accepts any signature, merges CORS rules and serves its admin API and every other service
on its port. This ASGI app is what listens on ``S3_PORT`` instead:

- SigV4 (pre-signed and header-signed) is verified from the spec (``local.s3_auth``); a refused
  request gets S3's status and XML error, with S3's diagnostic fields.
- An unsigned request is refused (the bucket blocks public access and has no public policy).
- Preflights are answered by S3's CORS algorithm over ``infra.policies.bucket_cors_rules``
  (``local.s3_cors``); actual requests, errors included, carry the matching rule's headers.
- ``x-amz-content-sha256`` is checked against the body; ``aws-chunked`` bodies with an unsigned
  trailer (newer SDKs' default) are decoded; a syntactically invalid ``Range`` is ignored.
- Every stored object (PutObject, CompleteMultipartUpload, CopyObject answered 200) is reported to
  ``on_object_created`` (the local EventBridge: ``local.jobs``), which must not block.
- Conditional writes (``If-None-Match: *``), multipart uploads and everything else S3-shaped are
  passed to moto's S3 application, which runs in this process and listens on no port at all: its
  admin API (``/moto-api/``) and its other services are reachable from nowhere.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from lambda_src.sign_uploads.config import S3_SINGLE_PUT_LIMIT_BYTES
from local import s3_auth, s3_cors, s3_framing, s3_multipart

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# (bucket, key, size or None when the request does not say, etag, reason, request id)
ObjectCreated = Callable[..., None]

MAX_SINGLE_PUT_BYTES = S3_SINGLE_PUT_LIMIT_BYTES  # S3's PutObject / UploadPart limit
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer"})
_RANGE = re.compile(r"bytes=(\d+-\d*|-\d+)")


def error_body(code: str, message: str, request_id: str, **extra: str) -> bytes:
    """S3's error document: ``<Error><Code/><Message/>...<RequestId/><HostId/></Error>``."""
    fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in extra.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{fields}"
        f"<RequestId>{request_id}</RequestId><HostId>local</HostId></Error>"
    ).encode()


def moto_s3_app() -> WsgiApp:
    """moto's S3 service as a WSGI application (S3 only: no admin API routes by host, no STS...)."""
    from moto.moto_server.werkzeug_app import create_backend_app

    return create_backend_app("s3")  # type: ignore[no-any-return]


class S3Front:
    """The ASGI app served on ``S3_PORT``."""

    def __init__(
        self,
        backend: WsgiApp,
        credentials: Mapping[str, str],
        region: str,
        cors_rules: Sequence[s3_cors.Rule],
        clock: Callable[[], float] | None = None,
        on_object_created: ObjectCreated | None = None,
    ) -> None:
        self._backend = backend
        self.on_object_created = on_object_created
        self._credentials = dict(credentials)
        self._region = region
        self._rules = list(cors_rules)
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        request_id = uuid.uuid4().hex[:16].upper()
        incoming = _Body(receive)
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        method = scope["method"]
        origin = next((v for k, v in headers if k == "origin"), None)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        raw_path_text = raw_path.decode("latin-1")
        query_string = scope.get("query_string", b"").decode("latin-1")
        request = s3_auth.IncomingRequest(
            method=method,
            raw_path=raw_path_text,
            query=parse_qsl(query_string, keep_blank_values=True),
            headers=headers,
        )

        if method == "OPTIONS":
            await self._preflight(request, origin, request_id, incoming, send)
            return
        cors = s3_cors.response_headers(self._rules, origin, method)

        async def refuse(status: int, code: str, message: str, **extra: str) -> None:
            # In the make dev terminal too: a mobile client often shows no response body.
            log.warning("%s %s -> %d %s: %s", method, raw_path_text, status, code, message)
            if "CanonicalRequest" in extra:
                log.warning("canonical request computed from what arrived:\n%s", extra["CanonicalRequest"])
            await incoming.drain()  # the client sees the error instead of a reset connection
            await _respond(
                send,
                status,
                {**cors, "Content-Type": "application/xml", "x-amz-request-id": request_id},
                b"" if method == "HEAD" else error_body(code, message, request_id, **extra),
            )

        if scope["path"].startswith("/moto-api") or raw_path_text.startswith("/moto-api"):
            await refuse(404, "NoSuchBucket", "The specified bucket does not exist", BucketName="moto-api")
            return
        framing = s3_framing.framing_problem(request)
        if framing is not None:
            await refuse(framing.status, framing.code, framing.message, **framing.extra)
            return
        if not s3_auth.is_signed(request):
            # No public ACL or policy can take effect on the bucket (policies.PUBLIC_ACCESS_BLOCK).
            await refuse(403, "AccessDenied", "Access Denied")
            return
        try:
            verified = s3_auth.verify(
                request, self._credentials, self._region, None if self._clock is None else self._clock()
            )
        except s3_auth.S3AuthError as error:
            await refuse(error.status, error.code, error.message, **error.extra)
            return

        upload_id = s3_multipart.upload_id_of(request.query)
        if upload_id is not None and s3_multipart.mismatch(raw_path_text, upload_id):
            # S3 ties an uploadId to its key; moto does not check (local.s3_multipart).
            await refuse(404, "NoSuchUpload", s3_multipart.NO_SUCH_UPLOAD, UploadId=upload_id)
            return
        try:
            body, forwarded = await self._read_body(request, verified, incoming)
        except s3_auth.S3AuthError as error:
            await refuse(error.status, error.code, error.message, **error.extra)
            return
        try:
            environ = self._environ(scope, request, forwarded, body, query_string)
            status, response_headers, chunks = await run_in_threadpool(_call_wsgi, self._backend, environ)
            if status == 416 and method == "HEAD" and "HTTP_RANGE" in environ:
                # S3's HeadObject answers an unsatisfiable Range with 200 and the whole length.
                del environ["HTTP_RANGE"]
                status, response_headers, chunks = await run_in_threadpool(_call_wsgi, self._backend, environ)
        except Exception:
            log.exception("the S3 emulator failed on %s %s", method, raw_path_text)
            body.close()
            await _respond(
                send,
                500,
                {**cors, "Content-Type": "application/xml", "x-amz-request-id": request_id},
                error_body(
                    "InternalError", "We encountered an internal error. Please try again.", request_id
                ),
            )
            return
        body.close()
        if upload_id is not None and method == "GET" and status == 200:
            chunks, response_headers = s3_multipart.as_list_parts_result(chunks, response_headers)
        if status == 200 and self.on_object_created is not None:
            self._report_created(
                request, scope["path"], int(environ["CONTENT_LENGTH"]), response_headers, request_id
            )
        out = [(k, v) for k, v in response_headers if not k.lower().startswith("access-control-")]
        out = [(k, v) for k, v in out if k.lower() not in _HOP_BY_HOP and k.lower() != "vary"]
        out += list(cors.items())
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out],
            }
        )
        try:
            async for chunk in iterate_in_threadpool(iter(chunks)):
                if chunk and method != "HEAD":
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _report_created(
        self,
        request: s3_auth.IncomingRequest,
        path: str,
        length: int,
        response_headers: list[tuple[str, str]],
        request_id: str,
    ) -> None:
        """S3's ``Object Created`` for a request that stored an object (``s3_framing.stored_object``)."""
        stored = s3_framing.stored_object(request, path, length)
        if stored is None or self.on_object_created is None:
            return
        bucket, key, reason, size = stored
        etag = next((v for k, v in response_headers if k.lower() == "etag"), "")
        try:
            self.on_object_created(bucket, key, size=size, etag=etag, reason=reason, request_id=request_id)
        except Exception:  # the upload succeeded: a failing event consumer must not turn it into a 500
            log.exception("reporting %s of %s failed", reason, key)

    async def _preflight(
        self,
        request: s3_auth.IncomingRequest,
        origin: str | None,
        request_id: str,
        receive: _Body,
        send: Send,
    ) -> None:
        await receive.drain()
        wanted_method = request.header("access-control-request-method")
        xml = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
        if origin is None:
            body = error_body(
                "BadRequest", "Insufficient information. Origin request header needed.", request_id
            )
            await _respond(send, 400, xml, body)
            return
        if not wanted_method:
            body = error_body(
                "BadRequest",
                "Invalid Access-Control-Request-Method: null",
                request_id,
            )
            await _respond(send, 400, xml, body)
            return
        wanted_headers = s3_cors.requested_headers(request.header("access-control-request-headers"))
        rule = s3_cors.matching_rule(self._rules, origin, wanted_method, wanted_headers)
        if rule is None:
            body = error_body(
                "AccessForbidden",
                s3_cors.PREFLIGHT_DENIED,
                request_id,
                Method=wanted_method,
                ResourceType="OBJECT" if request.raw_path.strip("/").count("/") else "BUCKET",
            )
            await _respond(send, 403, xml, body)
            return
        headers = s3_cors.preflight_headers(rule, origin, wanted_headers)
        await _respond(send, 200, {**headers, "x-amz-request-id": request_id, "Content-Length": "0"}, b"")

    async def _read_body(
        self, request: s3_auth.IncomingRequest, verified: s3_auth.Verified, receive: _Body
    ) -> tuple[IO[bytes], dict[str, str]]:
        """The body, checked against its declared hash and decoded from aws-chunked; plus the
        headers to change on the way to moto."""
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=s3_framing.SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
        digest = hashlib.sha256()
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise s3_auth.S3AuthError(
                        400, "IncompleteBody", "The request body terminated unexpectedly"
                    )
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_SINGLE_PUT_BYTES + 64 * 1024:
                    raise s3_auth.S3AuthError(
                        400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
                    )
                digest.update(chunk)
                spool.write(chunk)
                if not message.get("more_body", False):
                    break
            spool.seek(0)
            forwarded: dict[str, str] = {}
            declared = verified.payload_hash
            if len(declared) == 64 and declared != digest.hexdigest():
                raise s3_auth.S3AuthError(
                    400,
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    ClientComputedContentSHA256=declared,
                    S3ComputedContentSHA256=digest.hexdigest(),
                )
            if declared in s3_auth.STREAMING_PAYLOADS:
                if declared != s3_auth.STREAMING_UNSIGNED_TRAILER:
                    raise s3_auth.S3AuthError(
                        501,
                        "NotImplemented",
                        f"The local stack does not verify signed chunks ({declared}); configure the "
                        "SDK with request_checksum_calculation='when_required' or UNSIGNED-PAYLOAD.",
                    )
                spool, forwarded = s3_framing.decode_aws_chunked(spool, request)
            return spool, forwarded
        except BaseException:
            spool.close()
            raise

    def _environ(
        self,
        scope: Scope,
        request: s3_auth.IncomingRequest,
        forwarded: Mapping[str, str],
        body: IO[bytes],
        query_string: str,
    ) -> dict[str, Any]:
        body.seek(0, io.SEEK_END)
        length = body.tell()
        body.seek(0)
        path = request.raw_path
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
            "QUERY_STRING": query_string,
            "RAW_URI": path + (f"?{query_string}" if query_string else ""),
            "REQUEST_URI": path + (f"?{query_string}" if query_string else ""),
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": str(length),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        drop = {"content-length", "host", *_HOP_BY_HOP, *(k.lower() for k in forwarded)}
        values: dict[str, list[str]] = {}
        for name, value in request.headers:
            if name in drop:
                continue
            if name == "range" and request.method in ("GET", "HEAD") and not _RANGE.fullmatch(value.strip()):
                continue  # S3 ignores a Range it cannot parse (moto fails on it)
            values.setdefault(name, []).append(value)
        for name, value in forwarded.items():
            if value:
                values[name.lower()] = [value]
        for name, found in values.items():
            key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
            environ[key] = ",".join(found)
        # moto reads the bucket from the path only when the host is an address (path-style).
        environ["HTTP_HOST"] = "127.0.0.1"
        return environ


def _call_wsgi(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], Iterable[bytes]]:
    captured: dict[str, Any] = {}

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = int(status.split(" ", 1)[0]), headers
        return lambda data: None

    result = app(environ, start_response)
    if "status" not in captured:  # a lazy application starts the response on first iteration
        iterator = iter(result)
        first = next(iterator, b"")
        return captured["status"], captured["headers"], [first, *iterator]
    return captured["status"], captured["headers"], result


class _Body:
    """The ASGI ``receive`` that knows whether the request body has been read to its end."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.complete = False

    async def __call__(self) -> dict[str, Any]:
        message: dict[str, Any] = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.complete = True
        return message

    async def drain(self) -> None:
        """Read and discard the rest of the body (never after its end: that would wait forever)."""
        while not self.complete:
            await self()


async def _respond(send: Send, status: int, headers: Mapping[str, str], body: bytes) -> None:
    merged = {**headers}
    merged.setdefault("Content-Length", str(len(body)))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in merged.items()],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
