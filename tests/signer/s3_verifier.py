"""An independent check of a pre-signed PUT, written from the AWS SigV4 query-auth spec.

It does what S3 does on receipt: rebuild the canonical request from the method, path and query of
the URL and from the headers the client actually sends (only those named in X-Amz-SignedHeaders,
plus Host), derive the key from the secret, and compare signatures. moto accepts any signature,
so this is what proves a URL would be accepted, and that a changed header would be refused.
:class:`FakeS3` adds what S3 does next: a conditional ``If-None-Match: *`` PUT of a key that
exists is refused with 412 PreconditionFailed.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from urllib.parse import parse_qsl, quote, unquote, urlsplit


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def s3_accepts(method: str, url: str, sent_headers: dict[str, str], secret_key: str, *, at: float) -> bool:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    params = dict(query)
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in params:
        return False
    signed_at = calendar.timegm(time.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    if not signed_at <= at <= signed_at + int(params["X-Amz-Expires"]):
        return False
    _access_key, date, region, service, terminator = params["X-Amz-Credential"].split("/")
    if service != "s3" or terminator != "aws4_request" or date != params["X-Amz-Date"][:8]:
        return False

    lowered = {name.lower(): value for name, value in sent_headers.items()}
    lowered["host"] = parts.netloc
    signed_names = params["X-Amz-SignedHeaders"].split(";")
    if any(name not in lowered for name in signed_names):
        return False
    canonical_headers = "".join(f"{n}:{' '.join(lowered[n].split())}\n" for n in signed_names)
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query) if k != "X-Amz-Signature"
    )
    canonical_request = "\n".join(
        [method, parts.path, canonical_query, canonical_headers, ";".join(signed_names), "UNSIGNED-PAYLOAD"]
    )
    scope = f"{date}/{region}/s3/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            params["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _sign(_sign(_sign(_sign(f"AWS4{secret_key}".encode(), date), region), "s3"), "aws4_request")
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, params["X-Amz-Signature"])


class FakeS3:
    """Signature check, then S3's conditional-write rule, on an in-memory set of keys."""

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key
        self.keys: set[str] = set()

    def put(self, url: str, headers: dict[str, str], *, at: float | None = None) -> int:
        params = dict(parse_qsl(urlsplit(url).query))
        when = (
            calendar.timegm(time.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")) + 1 if at is None else at
        )
        if not s3_accepts("PUT", url, headers, self.secret_key, at=when):
            return 403
        key = unquote(urlsplit(url).path)
        sent = {name.lower(): value for name, value in headers.items()}
        if sent.get("if-none-match") == "*" and key in self.keys:
            return 412
        self.keys.add(key)
        return 200
