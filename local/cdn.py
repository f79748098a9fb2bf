"""A local CDN: what CloudFront does for ``GET``/``HEAD`` of ``/<prefix>...``, served from the emulator.

Headers come from the same definitions the distribution is declared with: the response headers
policy's CORS and security headers (``infra.policies.cdn_cors`` / ``cdn_security_headers``) and the
object's own ``Cache-Control`` (stored by the signed PUT). Like CloudFront it answers ``Range``
with 206 (``HEAD`` too, as S3's HeadObject does; a ``Range`` S3 cannot parse is ignored), ``If-None-Match``
with 304, a preflight as S3 would by the bucket's CORS rules (``infra.policies.bucket_cors_rules``,
which CloudFront's origin request policy lets S3 see), and 403 for a key it may not read (OAC
without ``s3:ListBucket`` turns a missing object into AccessDenied). Any other origin failure is a
visible 5xx: the origin's own 5xx, or 502 when the origin cannot be reached, as CloudFront does.

It reads the bucket through the local S3 endpoint with the local credentials, signed like any
other client (CloudFront's OAC signs its requests too).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from infra import policies
from local import s3_cors

# Object headers CloudFront passes through from S3.
# What CloudFront passes on from S3: the object's headers, less what the response headers policy
# removes (unsigned representation headers an uploader could have added: policies.CDN_REMOVED_HEADERS).
_FROM_ORIGIN = (
    "Content-Type", "Cache-Control", "ETag", "Last-Modified", "Content-Length", "Content-Range",
    "Content-Encoding", "Content-Disposition", "Content-Language", "Expires",
)  # fmt: skip
PASSED_THROUGH = tuple(h for h in _FROM_ORIGIN if h not in policies.CDN_REMOVED_HEADERS)
CHUNK_BYTES = 256 * 1024
# One byte range, as S3 accepts it; anything else (several ranges, garbage) S3 ignores: 200, whole object.
_SINGLE_RANGE = re.compile(r"bytes=(\d+)-(\d*)|bytes=-(\d+)")
# What OAC without s3:ListBucket shows a viewer: a missing or unreadable key is 403 AccessDenied.
_DENIED_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "AccessDenied", "403", "404"})


def security_headers() -> dict[str, str]:
    """The response headers policy's security headers, as HTTP headers."""
    config = policies.cdn_security_headers()
    headers = {}
    if config.get("contentTypeOptions"):
        headers["X-Content-Type-Options"] = "nosniff"
    hsts = config.get("strictTransportSecurity")
    if hsts:
        value = f"max-age={hsts['accessControlMaxAgeSec']}"
        headers["Strict-Transport-Security"] = value + (
            "; includeSubDomains" if hsts.get("includeSubdomains") else ""
        )
    referrer = config.get("referrerPolicy")
    if referrer:
        headers["Referrer-Policy"] = referrer["referrerPolicy"]
    return headers


def cors_response_headers(
    origin: str | None, origins: tuple[str, ...], preflight: bool = False
) -> dict[str, str]:
    """The CORS headers CloudFront's response headers policy adds for a request from ``origin``."""
    if origin is None:
        return {}
    cors = policies.cdn_cors(origins)
    allowed = cors["accessControlAllowOrigins"]["items"]
    if "*" in allowed:
        headers = {"Access-Control-Allow-Origin": "*"}
    elif origin in allowed:
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    else:
        return {}
    if preflight:
        headers["Access-Control-Allow-Methods"] = ",".join(cors["accessControlAllowMethods"]["items"])
        headers["Access-Control-Allow-Headers"] = ",".join(cors["accessControlAllowHeaders"]["items"])
        headers["Access-Control-Max-Age"] = str(cors["accessControlMaxAgeSec"])
    else:
        headers["Access-Control-Expose-Headers"] = ",".join(cors["accessControlExposeHeaders"]["items"])
    if cors["accessControlAllowCredentials"]:
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


def s3_preflight_allows(
    rules: list[dict[str, Any]], origin: str, method: str, requested_headers: list[str]
) -> bool:
    """S3's CORS evaluation of a preflight (``local.s3_cors``): a rule admits the origin, the
    method and every requested header."""
    return s3_cors.matching_rule(rules, origin, method, requested_headers) is not None


def s3_range(value: str | None) -> str | None:
    """The Range to pass to S3, or None when S3 would ignore it (not a single valid byte range)."""
    if value is None:
        return None
    match = _SINGLE_RANGE.fullmatch(value.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first is not None and last and int(last) < int(first):
        return None  # "bytes=5-2" is syntactically invalid: ignored, like garbage
    return value.strip()


def _etag_matches(if_none_match: str, etag: str) -> bool:
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def cdn_endpoint(s3: Any, bucket: str, prefix: str, origins: tuple[str, ...]) -> Callable[[Request], Any]:
    bucket_rules = policies.bucket_cors_rules(origins)

    async def endpoint(request: Request) -> Response:
        key = request.url.path.lstrip("/")
        origin = request.headers.get("origin")
        base = security_headers()
        if request.method == "OPTIONS":
            # CloudFront forwards the preflight (with the CORS headers of its origin request
            # policy) to S3, which answers by the bucket's CORS rules; the response headers
            # policy then sets the Access-Control-* headers.
            requested = request.headers.get("access-control-request-method", "")
            if origin is None or not requested:
                return Response(status_code=400, headers=base)
            wanted = s3_cors.requested_headers(request.headers.get("access-control-request-headers"))
            if not s3_preflight_allows(bucket_rules, origin, requested.upper(), wanted):
                return Response(status_code=403, headers=base)
            return Response(
                status_code=200, headers={**base, **cors_response_headers(origin, origins, preflight=True)}
            )
        headers = {**base, **cors_response_headers(origin, origins)}
        if not key.startswith(prefix) or key == prefix:
            return _denied(headers)

        params: dict[str, str] = {"Bucket": bucket, "Key": key}
        wanted_range = s3_range(request.headers.get("range"))
        if wanted_range is not None:
            params["Range"] = wanted_range
        try:
            read = s3.head_object if request.method == "HEAD" else s3.get_object
            obj = await run_in_threadpool(read, **params)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code"))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in ("InvalidRange", "416") or status == 416:
                return Response(status_code=416, headers=headers)
            if code in _DENIED_CODES or status in (403, 404):
                return _denied(headers)
            return _origin_failed(status if status >= 500 else 502, code, headers)
        except BotoCoreError as error:  # the origin cannot be reached at all
            return _origin_failed(502, type(error).__name__, headers)

        meta = obj["ResponseMetadata"]["HTTPHeaders"]
        for name in PASSED_THROUGH:
            if name.lower() in meta:
                headers[name] = meta[name.lower()]
        headers["Accept-Ranges"] = "bytes"
        etag = headers.get("ETag", "")
        if_none_match = request.headers.get("if-none-match")
        if if_none_match and etag and _etag_matches(if_none_match, etag):
            if "Body" in obj:
                obj["Body"].close()
            for name in ("Content-Length", "Content-Range", "Content-Type"):
                headers.pop(name, None)
            return Response(status_code=304, headers=headers)
        status = 206 if "Content-Range" in headers else 200
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)

        async def body() -> AsyncIterator[bytes]:
            stream = obj["Body"]
            try:
                async for chunk in iterate_in_threadpool(stream.iter_chunks(CHUNK_BYTES)):
                    yield chunk
            finally:
                stream.close()

        return StreamingResponse(body(), status_code=status, headers=headers)

    return endpoint


def _origin_failed(status: int, code: str, headers: dict[str, str]) -> Response:
    """CloudFront passes an origin's 5xx on and answers 502 when the origin fails otherwise:
    never a 403 that would send a developer hunting for a permissions problem."""
    body = f"The origin (local S3 endpoint) failed: {code}\n".encode()
    return Response(body, status_code=status, media_type="text/plain", headers=headers)


def _denied(headers: dict[str, str]) -> Response:
    body = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
    return Response(body, status_code=403, media_type="application/xml", headers=headers)
