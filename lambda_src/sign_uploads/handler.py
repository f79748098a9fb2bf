"""Upload signer Lambda: ``POST /`` with a list of files in, constrained pre-signed PUT URLs out.

API Gateway HTTP API, payload format 2.0; also ``POST /healthcheck`` (AWS_IAM, the synthetic check
only). The contract (fields, limits, error codes) is in ``docs/signer.md`` and
``docs/signer-openapi.yaml``; the rules themselves live in ``contract.py`` (request), ``config.py``
(environment), ``keys.py`` (key layout), ``media.py`` (types and caching) and ``subject_key.py``
(the subject folders' key). Nothing here imports boto3: cold start is part of every first upload.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

# A namespace package from the repository root (tests, bench, and mypy's view); top-level modules
# at the zip root, where the Lambda runtime imports ``handler``.
if TYPE_CHECKING or __package__:
    from . import job_record, media
    from .config import Config, ConfigError, load_config
    from .contract import RequestError, UploadRequest, parse_event
    from .dynamodb import DynamoDBError, jobs_table
    from .keys import job_prefix, subject_hash
    from .responses import error as _error
    from .responses import respond as _respond
    from .sigv4 import PutPresigner, presigner_args
    from .subject_key import subject_key
else:
    import job_record
    import media
    from config import Config, ConfigError, load_config
    from contract import RequestError, UploadRequest, parse_event
    from dynamodb import DynamoDBError, jobs_table
    from keys import job_prefix, subject_hash
    from responses import error as _error
    from responses import respond as _respond
    from sigv4 import PutPresigner, presigner_args
    from subject_key import subject_key

if TYPE_CHECKING:
    from awslambdaric.lambda_context import LambdaContext
else:
    LambdaContext = Any


def handler(
    event: dict[str, Any], context: LambdaContext | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The Lambda entry point. ``environ`` replaces ``os.environ`` for an in-process host (the
    local stack), so running the handler there never rewrites the process's environment."""
    if is_multipart_route(event):
        return _multipart().handle(event, context, environ)
    started = time.perf_counter()
    log: dict[str, Any] = {"requestId": getattr(context, "aws_request_id", None), "jobId": None, "files": 0}
    try:
        config = load_config(os.environ if environ is None else environ)
        request = parse_event(event, config)
        body = sign(request, config, now=time.time())
        response = _respond(200, body)
        log.update(jobId=body["jobId"], files=len(body["uploads"]), outcome="signed")
    except RequestError as error:
        response = _error(error.status, error.code, error.message, error.details)
        if error.status == 405:
            response["headers"]["Allow"] = "POST"
        elif error.status == 401:
            response["headers"]["WWW-Authenticate"] = "Bearer"
        log.update(outcome=error.code)
    except ConfigError as error:
        response = _error(500, "internal_error", "The upload service is misconfigured.")
        log.update(outcome="misconfigured", detail=str(error))
    except DynamoDBError as error:  # nothing was handed out: the client retries the same request
        response = _error(503, "unavailable", "The job could not be recorded; retry.")
        response["headers"]["Retry-After"] = "1"
        log.update(outcome="record_failed", detail=str(error))
    except Exception as error:  # a bug must still answer in the contract's shape
        import traceback  # only on this path: it costs ~3 ms of cold import

        response = _error(500, "internal_error", "The upload service failed.")
        log.update(outcome="bug", detail=repr(error)[:500], trace=traceback.format_exc(limit=5))
    log.update(status=response["statusCode"], durationMs=round((time.perf_counter() - started) * 1000, 3))
    sys.stdout.write(json.dumps(log, separators=(",", ":")) + "\n")
    return response


def is_multipart_route(event: dict[str, Any]) -> bool:
    """The ``/s3/...`` routes (``multipart.py``): imported only when called, so ``POST /``'s cold
    start stays as it was."""
    if not isinstance(event, dict):
        return False
    path = event.get("rawPath") or str(event.get("routeKey", "")).partition(" ")[2]
    return isinstance(path, str) and (path.startswith("/s3/") or path == "/s3")


def _multipart() -> Any:
    import importlib

    return importlib.import_module(f"{__package__}.multipart" if __package__ else "multipart")


def sign(request: UploadRequest, config: Config, *, now: float) -> dict[str, Any]:
    """The 200 body: one constrained PUT URL per file, all under the job's prefix."""
    job_id = request.job_id or os.urandom(16).hex()  # 128 random bits: unguessable
    hmac_key = None if request.subject is None else subject_key(config, now=now)  # once per container
    prefix = job_prefix(config.prefix, request.subject, job_id, hmac_key)
    presigner = PutPresigner(**presigner_args(config, now))
    uploads = []
    for file in request.files:
        key = prefix + file.path  # paths are validated to the URL-safe alphabet: no quoting needed
        cache_control = media.cache_control_for(file.path)
        create_only = media.is_create_only(file.path)
        url = presigner.presign(
            key,
            content_type=file.content_type,
            content_length=file.size,
            cache_control=cache_control,
            content_encoding=media.CONTENT_ENCODING,
            create_only=create_only,
        )
        headers = {
            "Content-Type": file.content_type,
            "Content-Length": str(file.size),
            "Cache-Control": cache_control,
            "Content-Encoding": media.CONTENT_ENCODING,
        }
        if create_only:
            name, value = media.CREATE_ONLY_HEADER
            headers[name] = value
        uploads.append(
            {
                "path": file.path,
                "key": key,
                "method": "PUT",
                "url": url,
                "headers": headers,
                "publicUrl": f"{config.public_base_url}/{key}",
            }
        )
    urls_expire_at = int(now) + config.url_ttl_seconds
    if config.jobs_table is not None:
        owner = (
            None if request.subject is None or hmac_key is None else subject_hash(hmac_key, request.subject)
        )
        record(config, job_id=job_id, subject_hash=owner, prefix=prefix, request=request,
               urls_expire_at=urls_expire_at, now=now)  # fmt: skip
    playback = job_record.playback_path(file.path for file in request.files)
    return {
        "jobId": job_id,
        "prefix": prefix,
        "expiresIn": config.url_ttl_seconds,
        "expiresAt": job_record.iso(urls_expire_at),
        "playbackUrl": None if playback is None else f"{config.public_base_url}/{prefix}{playback}",
        "uploads": uploads,
    }


def record(
    config: Config,
    *,
    job_id: str,
    subject_hash: str | None,
    prefix: str,
    request: UploadRequest,
    urls_expire_at: int,
    now: float,
) -> None:
    """Write the job record before any URL leaves: every upload then finds its job (``job_record.py``)."""
    table = jobs_table(config, "signer")
    try:
        job_record.record_signed(
            table,
            job_id=job_id,
            subject_hash=subject_hash,
            prefix=prefix,
            files=[(file.path, file.size) for file in request.files],
            urls_expire_at=urls_expire_at,
            retain_seconds=config.job_retention_days * 86_400,
            max_files=config.max_files,
            now=now,
        )
    except job_record.JobError as error:
        raise RequestError(error.status, error.code, error.message) from None
