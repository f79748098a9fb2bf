"""Resumable multipart uploads: Uppy Companion's S3 protocol, Uppy 6's ``signRequest`` route and a
part plan for chunked mobile clients, all under the signer API's authorizer (``docs/multipart.md``).

Routes (``handler.py`` hands every ``/s3/...`` path here):

- ``POST /s3/multipart`` ``{filename, type, metadata: {jobId?, path, size}}`` -> ``{key, uploadId, bucket}``
- ``GET /s3/multipart/{uploadId}/{partNumber}?key=`` -> ``{url, expires}``
- ``GET /s3/multipart/{uploadId}/batch?key=&partNumbers=1,2`` -> ``{presignedUrls: {"1": url}}``
- ``GET /s3/multipart/{uploadId}?key=`` -> ``[{PartNumber, ETag, Size}]`` (every page)
- ``POST /s3/multipart/{uploadId}/complete?key=`` ``{parts?}`` -> ``{location, key, bucket}``; without
  ``parts`` the server lists them itself (clients that cannot read ETags)
- ``DELETE /s3/multipart/{uploadId}?key=`` -> ``{}``
- ``POST /s3/multipart/plan`` ``{jobId?, path, size, partSize?, uploadId?, key?}`` -> the part plan
- ``POST /s3/sign`` (``sign_request.py``)

Refusals: a 4xx whose body is the API's error object plus the code at the top level,
``{"error": {"code", "message", "details"}, "code"}`` (``error`` is truthy, as Uppy checks).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

if TYPE_CHECKING or __package__:
    from . import jobs, media, sign_request
    from . import multipart_core as core
    from .config import Config, ConfigError, load_config
    from .contract import RequestError
    from .dynamodb import DynamoDBError
    from .responses import error as _error
    from .responses import respond
    from .s3_api import S3Error
else:
    import jobs
    import media
    import multipart_core as core
    import sign_request
    from config import Config, ConfigError, load_config
    from contract import RequestError
    from dynamodb import DynamoDBError
    from responses import error as _error
    from responses import respond
    from s3_api import S3Error

MAX_BODY_BYTES = 1024 * 1024  # a completion lists up to 10,000 parts
PLAN_URLS_PER_CALL = 500  # keeps the answer far below Lambda's 6 MB; ask again for the rest


def handle(event: dict[str, Any], context: Any, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    log: dict[str, Any] = {"requestId": getattr(context, "aws_request_id", None), "route": None}
    try:
        config = load_config(os.environ if environ is None else environ)
        now = time.time()
        method, segments, query = _route(event)
        log["route"] = route_label(method, segments)
        caller = core.caller_of(event, config, now)
        status, body = dispatch(method, segments, query, event, caller, config, now)
        response = respond(status, body)
        log.update(outcome="ok", key=body.get("key") if isinstance(body, dict) else None)
    except RequestError as error:
        response = refusal(error)
        log.update(outcome=error.code)
    except ConfigError as error:
        response = refusal(RequestError(500, "internal_error", "The upload service is misconfigured."))
        log.update(outcome="misconfigured", detail=str(error))
    except (DynamoDBError, S3Error) as error:
        response = refusal(RequestError(503, "unavailable", "A storage call failed; retry."))
        response["headers"]["Retry-After"] = "1"
        log.update(outcome="unavailable", detail=str(error)[:300])
    except Exception as error:  # a bug must still answer in the contract's shape
        import traceback

        response = refusal(RequestError(500, "internal_error", "The upload service failed."))
        log.update(outcome="bug", detail=repr(error)[:500], trace=traceback.format_exc(limit=5))
    log.update(status=response["statusCode"], durationMs=round((time.perf_counter() - started) * 1000, 3))
    sys.stdout.write(json.dumps(log, separators=(",", ":")) + "\n")
    return response


def refusal(error: RequestError) -> dict[str, Any]:
    response = _error(error.status, error.code, error.message, error.details)
    body = json.loads(response["body"])
    body["code"] = error.code
    response["body"] = json.dumps(body, separators=(",", ":"))
    if error.status == 401:
        response["headers"]["WWW-Authenticate"] = "Bearer"
    return response


def route_label(method: str, segments: list[str]) -> str:
    """The route as its key reads (``GET /s3/multipart/{uploadId}/{partNumber}``), so log lines
    group by route; the uploadId stays out of the label."""
    named = {2: "{uploadId}", 3: "{partNumber}"}
    shown = [
        s if i < 2 or s in ("plan", "batch", "complete") else named.get(i, "?")
        for i, s in enumerate(segments[:4])
    ]
    return f"{method} /{'/'.join(shown)}"


def _route(event: dict[str, Any]) -> tuple[str, list[str], dict[str, str]]:
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    method = str(http.get("method", "")) if isinstance(http, dict) else ""
    path = event.get("rawPath") or str(event.get("routeKey", "")).partition(" ")[2]
    segments = [unquote(s) for s in str(path).strip("/").split("/")]
    query = dict(parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True))
    return method, segments, query


def dispatch(
    method: str, segments: list[str], query: dict[str, str], event: dict[str, Any], caller: core.Caller,
    config: Config, now: float,
) -> tuple[int, Any]:  # fmt: skip
    count = len(segments)
    if segments == ["s3", "sign"] and method == "POST":
        return 200, sign_request.sign(body_of(event), caller, config, now)
    if count < 2 or segments[:2] != ["s3", "multipart"]:
        raise RequestError(404, "not_found", "No such route.")
    if count == 2 and method == "POST":
        return 200, create(body_of(event), caller, config, now)
    if count == 3 and segments[2] == "plan" and method == "POST":
        return 200, plan(body_of(event), caller, config, now)
    if count >= 3:
        upload_id = core.upload_id_of(segments[2])
        ref = core.owned_key(query.get("key"), caller, config)
        key = query["key"]
        if count == 3 and method == "GET":
            return 200, [
                {"PartNumber": p.number, "ETag": p.etag, "Size": p.size}
                for p in parts_of(config, now, key, upload_id)
            ]
        if count == 3 and method == "DELETE":
            return 200, abort(config, now, key, upload_id)
        if count == 4 and segments[3] == "complete" and method == "POST":
            return 200, complete(body_of(event, optional=True), ref, key, upload_id, config, now)
        if count == 4 and segments[3] == "batch" and method == "GET":
            numbers = [core.part_number_of(n, "partNumbers") for n in query.get("partNumbers", "").split(",")]
            urls = sign_parts(config, now, key, upload_id, numbers)
            return 200, {"presignedUrls": {str(n): url for n, url in urls.items()}}
        if count == 4 and method == "GET":
            number = core.part_number_of(segments[3])
            return 200, {"url": sign_parts(config, now, key, upload_id, [number])[number],
                         "expires": config.url_ttl_seconds}  # fmt: skip
    raise RequestError(404, "not_found", "No such route.")


def body_of(event: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
    body = event.get("body")
    if not body:
        if optional:
            return {}
        raise core.invalid("body", "must be a JSON object", code="invalid_json")
    raw = body.encode() if isinstance(body, str) else b""
    if event.get("isBase64Encoded") is True:
        import base64
        import binascii

        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
    if len(raw) > MAX_BODY_BYTES:
        raise RequestError(413, "payload_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    try:
        document = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise RequestError(400, "invalid_json", "The request body must be a JSON object.")
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(name)


# --- Companion protocol ----------------------------------------------------------------------------


def create(body: dict[str, Any], caller: core.Caller, config: Config, now: float) -> dict[str, Any]:
    """Uppy sends the file's meta as ``metadata``: the app puts ``jobId``, ``path`` and ``size``
    there. ``filename`` is ignored: the key is the job key, never a client's name."""
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        raise core.invalid("metadata", "must be an object with path and size (and jobId)")
    fields = {**metadata, "type": body.get("type")}
    file = core.new_file(fields, caller, config, where="metadata.", type_field="type")
    upload_id = start(file, caller, config, now)
    return {"key": file.key, "uploadId": upload_id, "bucket": config.bucket, "jobId": file.job_id}


def start(file: core.NewFile, caller: core.Caller, config: Config, now: float) -> str:
    """Record the job, then create the upload, storing the declared size with it."""
    core.record_job(config, caller, file, now)
    headers = {**core.object_headers(file), core.DECLARED_SIZE_HEADER: str(file.size)}
    try:
        return core.s3_of(config, now).create_multipart_upload(file.key, headers)
    except S3Error as error:
        raise core.s3_refusal(error) from None


def sign_parts(config: Config, now: float, key: str, upload_id: str, numbers: list[int]) -> dict[int, str]:
    core.check_bound(core.s3_of(config, now), key, upload_id)
    presigner = core.presigner_of(config, now)
    return {
        n: presigner.presign("PUT", key, [("uploadId", upload_id), ("partNumber", str(n))]) for n in numbers
    }


def parts_of(config: Config, now: float, key: str, upload_id: str) -> list[Any]:
    try:
        parts = core.s3_of(config, now).list_parts(key, upload_id)
    except S3Error as error:
        raise core.s3_refusal(error) from None
    return parts


def abort(config: Config, now: float, key: str, upload_id: str) -> dict[str, Any]:
    try:
        core.s3_of(config, now).abort_multipart_upload(key, upload_id)
    except S3Error as error:
        raise core.s3_refusal(error) from None
    core.forget(key, upload_id)
    return {}


def complete(
    body: dict[str, Any], ref: jobs.ObjectRef, key: str, upload_id: str, config: Config, now: float
) -> dict[str, Any]:
    """Complete from the client's ``parts``, or from S3's own list when none are given. The parts
    must add up to the declared size: checked before completing against the job record, or (no
    jobs table) after completing against the size stored with the upload, deleting a mismatch."""
    listed = {p.number: p for p in parts_of(config, now, key, upload_id)}
    given = body.get("parts")
    if given is None:
        chosen = sorted(listed.values())
    else:
        if not isinstance(given, list) or not given or len(given) > core.MAX_PARTS:
            raise core.invalid("parts", f"must be a non-empty array of at most {core.MAX_PARTS} parts")
        chosen = []
        for i, item in enumerate(given):
            item = item if isinstance(item, dict) else {}
            number = core.part_number_of(item.get("PartNumber"), f"parts[{i}].PartNumber")
            part = listed.get(number)
            if part is None or str(item.get("ETag", "")).strip('"') != part.etag.strip('"'):
                raise core.invalid(f"parts[{i}]", "no uploaded part has this PartNumber and ETag", 400,
                                   "invalid_part")  # fmt: skip
            chosen.append(part)
        if [p.number for p in chosen] != sorted({p.number for p in chosen}):
            raise core.invalid("parts", "must be in ascending PartNumber order without repeats")
    if not chosen:
        raise core.invalid("parts", "no part has been uploaded", 400, "incomplete_upload")
    total = sum(p.size for p in chosen)
    declared = core.declared_size(config, ref, now)
    if declared is not None and total != declared:
        raise core.invalid("parts", f"add up to {total} bytes; the file was declared as {declared}", 400,
                           "size_mismatch")  # fmt: skip
    s3 = core.s3_of(config, now)
    try:
        s3.complete_multipart_upload(key, upload_id, [(p.number, p.etag) for p in chosen],
                                     create_only=media.is_create_only(ref.path))  # fmt: skip
        core.forget(key, upload_id)
        if declared is None:
            head = s3.head(key) or {}
            stored = head.get(core.DECLARED_SIZE_HEADER)
            if stored is not None and head.get("content-length") != stored:
                s3.delete(key)
                raise core.invalid("parts", f"add up to {total} bytes; the file was declared as {stored}", 400,
                                   "size_mismatch")  # fmt: skip
    except S3Error as error:
        raise core.s3_refusal(error) from None
    return {"location": f"{config.public_base_url}/{key}", "key": key, "bucket": config.bucket}


# --- the part plan ---------------------------------------------------------------------------------


def plan(body: dict[str, Any], caller: core.Caller, config: Config, now: float) -> dict[str, Any]:
    """One call: the upload (created here, or resumed with ``uploadId`` + ``key``), its part size,
    count and each missing part's byte range and URL (at most PLAN_URLS_PER_CALL; ``remaining``
    says how many more a next call signs). Complete with ``POST .../complete`` and no body."""
    file = core.new_file(body, caller, config, type_field="contentType")
    part_size = core.plan_part_size(file.size, body.get("partSize"))
    count = -(-file.size // part_size)
    if body.get("uploadId") is None:
        upload_id, done = start(file, caller, config, now), set()
    else:
        upload_id = core.upload_id_of(body.get("uploadId"))
        if body.get("key") != file.key:
            core.owned_key(body.get("key"), caller, config)  # someone else's key: 403
            raise core.invalid("key", "is not the key of this jobId and path", 403, "foreign_key")
        listed = parts_of(config, now, file.key, upload_id)
        done = {p.number for p in listed if p.size == min(part_size, file.size - (p.number - 1) * part_size)}
    missing = [n for n in range(1, count + 1) if n not in done]
    urls = sign_parts(config, now, file.key, upload_id, missing[:PLAN_URLS_PER_CALL]) if missing else {}
    return {
        "jobId": file.job_id,
        "uploadId": upload_id,
        "key": file.key,
        "size": file.size,
        "partSize": part_size,
        "partCount": count,
        "expiresAt": jobs.iso(int(now) + config.url_ttl_seconds),
        "parts": [
            {"partNumber": n, "start": (n - 1) * part_size, "end": min(n * part_size, file.size), "url": url}
            for n, url in urls.items()
        ],
        "uploaded": sorted(done),
        "remaining": max(0, len(missing) - PLAN_URLS_PER_CALL),
        "complete": {
            "method": "POST",
            "path": f"/s3/multipart/{upload_id}/complete",
            "query": {"key": file.key},
        },
        "publicUrl": f"{config.public_base_url}/{file.key}",
    }
