"""SigV4's canonical form of an S3 request, from the spec (docs.aws.amazon.com, "Signature
Version 4 signing process"): what arrived, how it is canonicalised, and the signing key."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote


@dataclass(frozen=True)
class IncomingRequest:
    """What arrived: ``raw_path`` still percent-encoded, query pairs decoded in order, header
    names lower-case (a name may repeat)."""

    method: str
    raw_path: str
    query: Sequence[tuple[str, str]]
    headers: Sequence[tuple[str, str]]

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n == name]
        return ",".join(values) if values else None

    def query_value(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None


def hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode("utf-8"), "sha256")


@lru_cache(maxsize=32)
def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    key = hmac_sha256(f"AWS4{secret}".encode(), date)
    key = hmac_sha256(key, region)
    key = hmac_sha256(key, service)
    return hmac_sha256(key, "aws4_request")


def _encode(value: str) -> str:
    """RFC 3986 percent-encoding of everything but the unreserved characters (the spec's UriEncode)."""
    return quote(value, safe="-_.~")


def canonical_uri(raw_path: str) -> str:
    """S3 signs the path URI-encoded once, '/' kept (no normalisation, no double encoding)."""
    return quote(unquote(raw_path), safe="/-_.~") or "/"


def canonical_query(query: Sequence[tuple[str, str]]) -> str:
    pairs = sorted((_encode(k), _encode(v)) for k, v in query if k != "X-Amz-Signature")
    return "&".join(f"{k}={v}" for k, v in pairs)


def trim(value: str) -> str:
    return " ".join(value.split())


def canonical_request(request: IncomingRequest, signed_headers: Sequence[str], payload_hash: str) -> str:
    header_lines = "".join(f"{name}:{trim(request.header(name) or '')}\n" for name in signed_headers)
    return "\n".join(
        [
            request.method,
            canonical_uri(request.raw_path),
            canonical_query(request.query),
            header_lines,
            ";".join(signed_headers),
            payload_hash,
        ]
    )
