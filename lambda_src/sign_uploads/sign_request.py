"""``POST /s3/sign``: Uppy 6's ``signRequest`` mode, where the browser talks to S3 itself.

The body is the request Uppy wants pre-signed, ``{method, key, uploadId?, partNumber?,
contentType?}``, plus the app's ``jobId``, ``path`` and ``size`` (the whole file) on every call.
The answer is ``{url, key, headers}``: ``key`` is the job key (Uppy honours it on create and on a
single PUT), ``headers`` the signed ones the browser must send. Only these requests are signed,
and only for the caller's own job key:

- ``PUT`` without uploadId: a single PUT, as ``POST /`` signs it (type, length, caching, encoding,
  create-only), within ``MAX_FILE_BYTES``;
- ``POST`` without uploadId: create multipart upload (type, caching and encoding signed);
- ``PUT`` with uploadId and partNumber: upload part (only ``host`` signed);
- ``GET`` / ``POST`` / ``DELETE`` with uploadId: list parts / complete (``If-None-Match: *``
  signed for every file but the playlists, as for a single PUT) / abort.

Anything else (another key, ``DELETE`` of an object, an unknown method) is refused. Where the
browser completes on S3 itself, the jobs function checks the arrived size against the declared one
and marks a mismatch ``failed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:
    from . import media
    from . import multipart_core as core
    from .contract import RequestError
    from .sigv4 import PutPresigner, presigner_args
else:
    import media
    import multipart_core as core
    from contract import RequestError
    from sigv4 import PutPresigner, presigner_args

if TYPE_CHECKING:
    from .config import Config

_FIELDS = frozenset(
    {"method", "key", "uploadId", "partNumber", "contentType", "expiresIn", "jobId", "path", "size"}
)


def sign(body: dict[str, Any], caller: core.Caller, config: Config, now: float) -> dict[str, Any]:
    unknown = sorted(name for name in body if name not in _FIELDS)
    if unknown:
        raise core.invalid(unknown[0][:64], "unknown field")
    method = body.get("method")
    if method not in ("PUT", "POST", "GET", "DELETE"):
        raise core.invalid("method", "must be PUT, POST, GET or DELETE", 400, "unsupported_request")
    file = core.new_file(body, caller, config, type_field="contentType")
    upload_id = body.get("uploadId")
    if upload_id is None:
        return _without_upload_id(method, body, caller, file, config, now)
    upload_id = core.upload_id_of(upload_id)
    if body.get("key") != file.key:
        core.owned_key(body.get("key"), caller, config)  # someone else's key: 403 foreign_key
        raise core.invalid("key", "is not the key of this jobId and path", 403, "foreign_key")
    params = [("uploadId", upload_id)]
    if method == "PUT":
        params.append(("partNumber", str(core.part_number_of(body.get("partNumber")))))
    elif body.get("partNumber") is not None:
        raise core.invalid(
            "partNumber", f"is only for PUT (upload part), not {method}", 400, "unsupported_request"
        )
    core.check_bound(core.s3_of(config, now), file.key, upload_id)
    presigner = core.presigner_of(config, now)
    headers: dict[str, str] = {}
    if method == "POST" and media.is_create_only(file.path):  # completion: never over an existing object
        name, value = media.CREATE_ONLY_HEADER
        headers[name] = value
    return {"url": presigner.presign(method, file.key, params, headers), "key": file.key, "headers": headers}


def _without_upload_id(
    method: str, body: dict[str, Any], caller: core.Caller, file: core.NewFile, config: Config, now: float
) -> dict[str, Any]:
    if body.get("partNumber") is not None:
        raise core.invalid("uploadId", "is required with partNumber")
    if method == "PUT":
        if file.size > config.max_file_bytes:
            raise core.invalid("size", f"a single PUT takes at most {config.max_file_bytes} bytes; use multipart",
                               413, "file_too_large")  # fmt: skip
        core.record_job(config, caller, file, now, multipart=False)
        return {"url": _single_put(file, config, now), "key": file.key, "headers": _put_headers(file)}
    if method == "POST":
        core.record_job(config, caller, file, now)
        headers = core.object_headers(file)
        url = core.presigner_of(config, now).presign("POST", file.key, [("uploads", "")], headers)
        return {"url": url, "key": file.key, "headers": headers}
    raise RequestError(403, "unsupported_request", f"{method} is signed only for an upload (with uploadId).")


def _single_put(file: core.NewFile, config: Config, now: float) -> str:
    presigner = PutPresigner(**presigner_args(config, now))
    return presigner.presign(
        file.key,
        content_type=file.content_type,
        content_length=file.size,
        cache_control=media.cache_control_for(file.path),
        content_encoding=media.CONTENT_ENCODING,
        create_only=media.is_create_only(file.path),
    )


def _put_headers(file: core.NewFile) -> dict[str, str]:
    """The signed headers the browser sets (Content-Length is the browser's own: the file's size)."""
    headers = core.object_headers(file)
    if media.is_create_only(file.path):
        name, value = media.CREATE_ONLY_HEADER
        headers[name] = value
    return headers
