"""SigV4 with the standard library only: query-string signing of S3 ``PutObject`` URLs, and
header signing of one AWS JSON API call (:func:`signed_headers`, for Secrets Manager).

Why not botocore: importing boto3 and building a client costs ~200 ms of cold start, and
``generate_presigned_url`` spends ~170 µs per URL rebuilding what is the same for every file of a
job. Here everything shared (scope, signing key, query string) is computed once per job and each
URL costs one SHA-256 and one HMAC. The output is byte-identical to botocore's
``generate_presigned_url("put_object", ...)`` with ``signature_version="s3v4"`` for the same
credentials and clock (``tests/signer/test_signature.py`` proves it over thousands of cases).

Signed headers are ``cache-control;content-length;content-type;host`` (what botocore signs for
``put_object`` with ``CacheControl``, ``ContentLength`` and ``ContentType``), plus
``if-none-match`` (``IfNoneMatch="*"``) for a create-only upload: S3 rejects an upload whose
length, type or caching header differs from the one signed, and answers 412 to a create-only
upload whose key already exists.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from .config import Config

ALGORITHM = "AWS4-HMAC-SHA256"
SIGNED_HEADERS = "cache-control;content-encoding;content-length;content-type;host"
CREATE_ONLY_SIGNED_HEADERS = f"{SIGNED_HEADERS};if-none-match"
_SAFE = "-_.~"  # RFC 3986 unreserved: what SigV4 leaves unescaped in query values.


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode(), "sha256")


@lru_cache(maxsize=16)
def signing_key(secret_key: str, date: str, region: str, service: str = "s3") -> bytes:
    """The day's derived key; cached because it is the same for every URL of every job that day."""
    key = _hmac(f"AWS4{secret_key}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def regional_host(bucket: str, region: str) -> str:
    """The regional virtual-hosted endpoint (never the global one: it redirects and breaks CORS)."""
    return f"{bucket}.s3.{region}.{dns_suffix(region)}"


def _trim(value: str) -> str:
    return " ".join(value.split())


class PutPresigner:
    """Signs PUT URLs for one bucket, one set of credentials and one instant.

    ``endpoint_url`` (local development against an S3 emulator) switches to path-style URLs,
    ``<endpoint>/<bucket>/<key>``, signed for the endpoint's host.
    """

    __slots__ = ("_host", "_key", "_origin", "_path_prefix", "_queries", "_sts_prefix")

    def __init__(
        self,
        *,
        access_key: str,
        secret_key: str,
        session_token: str | None,
        region: str,
        bucket: str,
        expires: int,
        now: float,
        endpoint_url: str | None = None,
    ) -> None:
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
        self._origin, self._host, self._path_prefix = s3_location(bucket, region, endpoint_url)
        self._key = signing_key(secret_key, amz_date[:8], region)
        self._sts_prefix = f"{ALGORITHM}\n{amz_date}\n{scope}\n"

        # (URL query, canonical query) for a plain and for a create-only upload: built once per job.
        self._queries: dict[bool, tuple[str, str]] = {}
        for create_only, signed_headers in ((False, SIGNED_HEADERS), (True, CREATE_ONLY_SIGNED_HEADERS)):
            params = {
                "X-Amz-Algorithm": ALGORITHM,
                "X-Amz-Credential": f"{access_key}/{scope}",
                "X-Amz-Date": amz_date,
                "X-Amz-Expires": str(expires),
                "X-Amz-SignedHeaders": signed_headers,
            }
            if session_token is not None:
                params["X-Amz-Security-Token"] = session_token
            encoded = [(name, quote(value, safe=_SAFE)) for name, value in params.items()]
            # The URL keeps botocore's parameter order; the signature covers them sorted.
            self._queries[create_only] = (
                "&".join(f"{name}={value}" for name, value in encoded),
                "&".join(f"{name}={value}" for name, value in sorted(encoded)),
            )

    def presign(
        self,
        key: str,
        *,
        content_type: str,
        content_length: int,
        cache_control: str,
        content_encoding: str,
        create_only: bool,
    ) -> str:
        """The URL for one object; the client must send exactly these headers (and
        ``If-None-Match: *`` when ``create_only``: S3 then refuses to overwrite with 412)."""
        path = f"{self._path_prefix}/{quote(key, safe='/~')}"
        query, canonical_query = self._queries[create_only]
        canonical_request = (
            f"PUT\n{path}\n{canonical_query}\n"
            f"cache-control:{_trim(cache_control)}\ncontent-encoding:{_trim(content_encoding)}\n"
            f"content-length:{content_length}\n"
            f"content-type:{_trim(content_type)}\nhost:{self._host}\n"
            + ("if-none-match:*\n\n" + CREATE_ONLY_SIGNED_HEADERS if create_only else "\n" + SIGNED_HEADERS)
            + "\nUNSIGNED-PAYLOAD"
        )
        string_to_sign = self._sts_prefix + hashlib.sha256(canonical_request.encode()).hexdigest()
        signature = hmac.digest(self._key, string_to_sign.encode(), "sha256").hex()
        return f"{self._origin}{path}?{query}&X-Amz-Signature={signature}"


def signed_headers(
    *,
    url: str,
    headers: dict[str, str],
    body: bytes,
    service: str,
    region: str,
    access_key: str,
    secret_key: str,
    session_token: str | None,
    now: float,
    method: str = "POST",
) -> dict[str, str]:
    """The headers of a SigV4 header-signed request of ``body`` to ``url``: ``headers`` plus
    ``X-Amz-Date``, ``X-Amz-Security-Token`` and ``Authorization``, exactly as botocore's
    ``SigV4Auth.add_auth`` computes them (``tests/signer/test_sigv4_headers.py``, and for S3 calls
    with a query string and other methods ``tests/signer/test_multipart_signing.py``). Every given
    header and ``host`` is signed; the payload is hashed. ``url``'s query, if any, must already be
    encoded as :func:`encode_query` does (the canonical query sorts it as it stands), its path as S3
    keys are (``quote(key, safe="/~")``): S3 signs the path as sent, without escaping it again."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    parts = urlsplit(url)
    default_port = ":443" if parts.scheme == "https" else ":80"
    result = {**headers, "X-Amz-Date": amz_date}
    if session_token is not None:
        result["X-Amz-Security-Token"] = session_token
    canonical = {name.lower(): _trim(value) for name, value in result.items()}
    canonical["host"] = parts.netloc.removesuffix(default_port)
    names = sorted(canonical)
    signed = ";".join(names)
    pairs = [pair.partition("=") for pair in parts.query.split("&")] if parts.query else []
    canonical_request = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/~%"),  # already escaped: signed as it stands (S3's rule)
            "&".join(f"{name}={value}" for name, _, value in sorted(pairs)),
            "".join(f"{name}:{canonical[name]}\n" for name in names),
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    string_to_sign = (
        f"{ALGORITHM}\n{amz_date}\n{scope}\n" + hashlib.sha256(canonical_request.encode()).hexdigest()
    )
    key = signing_key(secret_key, amz_date[:8], region, service)
    signature = hmac.digest(key, string_to_sign.encode(), "sha256").hex()
    result["Authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return result


def encode_query(params: list[tuple[str, str]]) -> str:
    """A query string as SigV4 canonicalises it: names and values RFC 3986-escaped, in the given
    order (``uploads`` with an empty value is written ``uploads=``, which S3 reads alike)."""
    return "&".join(f"{quote(name, safe=_SAFE)}={quote(value, safe=_SAFE)}" for name, value in params)


class S3Presigner:
    """Query-signed URLs for any S3 request on one bucket (multipart: create, upload part, list
    parts, complete, abort), for one set of credentials and one instant. The upload-part URL signs
    only ``host`` and is byte-identical to botocore's ``generate_presigned_url("upload_part", ...)``
    (``tests/signer/test_multipart_signing.py``); other requests may sign more headers."""

    __slots__ = (
        "_access_key",
        "_amz_date",
        "_expires",
        "_host",
        "_key",
        "_origin",
        "_path_prefix",
        "_scope",
        "_session_token",
    )  # fmt: skip

    def __init__(
        self,
        *,
        access_key: str,
        secret_key: str,
        session_token: str | None,
        region: str,
        bucket: str,
        expires: int,
        now: float,
        endpoint_url: str | None = None,
    ) -> None:
        self._amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        self._scope = f"{self._amz_date[:8]}/{region}/s3/aws4_request"
        self._origin, self._host, self._path_prefix = s3_location(bucket, region, endpoint_url)
        self._key = signing_key(secret_key, self._amz_date[:8], region)
        self._access_key = access_key
        self._session_token = session_token
        self._expires = expires

    def presign(
        self,
        method: str,
        key: str,
        params: list[tuple[str, str]] = (),  # type: ignore[assignment]
        headers: dict[str, str] | None = None,
    ) -> str:
        """``params``: the request's own query parameters, in botocore's order (``uploadId``
        before ``partNumber``); ``headers``: signed besides ``host`` (the client must send them)."""
        signed = {
            "host": self._host,
            **{name.lower(): _trim(value) for name, value in (headers or {}).items()},
        }
        names = sorted(signed)
        auth = [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", f"{self._access_key}/{self._scope}"),
            ("X-Amz-Date", self._amz_date),
            ("X-Amz-Expires", str(self._expires)),
            ("X-Amz-SignedHeaders", ";".join(names)),
        ]
        if self._session_token is not None:
            auth.append(("X-Amz-Security-Token", self._session_token))
        encoded = [(quote(n, safe=_SAFE), quote(v, safe=_SAFE)) for n, v in [*params, *auth]]
        path = f"{self._path_prefix}/{quote(key, safe='/~')}"
        canonical_request = "\n".join(
            [
                method,
                path,
                "&".join(f"{n}={v}" for n, v in sorted(encoded)),
                "".join(f"{name}:{signed[name]}\n" for name in names),
                ";".join(names),
                "UNSIGNED-PAYLOAD",
            ]
        )
        string_to_sign = (
            f"{ALGORITHM}\n{self._amz_date}\n{self._scope}\n"
            + hashlib.sha256(canonical_request.encode()).hexdigest()
        )
        signature = hmac.digest(self._key, string_to_sign.encode(), "sha256").hex()
        query = "&".join(f"{n}={v}" for n, v in encoded)
        return f"{self._origin}{path}?{query}&X-Amz-Signature={signature}"


def presigner_args(config: Config, now: float) -> dict[str, Any]:
    """The keyword arguments of :class:`PutPresigner` and :class:`S3Presigner` for a function's
    config: its credentials, region, bucket, URL lifetime and S3 endpoint."""
    credentials = config.credentials
    return {
        "access_key": credentials.access_key,
        "secret_key": credentials.secret_key,
        "session_token": credentials.session_token,
        "region": config.region,
        "bucket": config.bucket,
        "expires": config.url_ttl_seconds,
        "now": now,
        "endpoint_url": config.endpoint_url,
    }


def s3_location(bucket: str, region: str, endpoint_url: str | None) -> tuple[str, str, str]:
    """(origin, host, path prefix) of a bucket: the regional virtual-hosted endpoint, or with
    ``endpoint_url`` (an emulator) path-style ``<endpoint>/<bucket>``."""
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        default_port = ":443" if parts.scheme == "https" else ":80"
        return (
            f"{parts.scheme}://{parts.netloc}",
            parts.netloc.removesuffix(default_port),
            f"/{quote(bucket, safe='')}",
        )
    host = regional_host(bucket, region)
    return f"https://{host}", host, ""
