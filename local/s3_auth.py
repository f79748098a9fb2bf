"""SigV4 verification as S3 does it, written from the AWS specification (never the project's signer).

Both forms S3 accepts: query-string (pre-signed URL) and ``Authorization`` header. The canonical
request is rebuilt from what actually arrived (method, path, query, the headers named in
``SignedHeaders`` with the values the client sent) and signed with the local secret; a client that
sends another length, type, Cache-Control, key or method than was signed therefore gets S3's
``SignatureDoesNotMatch``, with S3's diagnostic fields (``StringToSign``, ``CanonicalRequest``).
Errors carry S3's status, code and message so a client sees locally what it would see on AWS.

Spec: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from local.s3_canonical import (  # noqa: F401 - re-exported: s3_auth is the public face
    IncomingRequest,
    canonical_query,
    canonical_request,
    canonical_uri,
    hmac_sha256,
    signing_key,
    trim,
)

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_PAYLOADS = frozenset(
    {
        STREAMING_UNSIGNED_TRAILER,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)
MAX_PRESIGNED_EXPIRES_SECONDS = 604_800  # a week
MAX_CLOCK_SKEW_SECONDS = 900  # header-signed requests: 15 minutes either way
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


class S3AuthError(Exception):
    """A refusal as S3 words it: HTTP status, error code, message and extra XML elements."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass(frozen=True)
class Verified:
    """A request whose signature matched: who signed it and how the payload is declared."""

    access_key: str
    presigned: bool
    payload_hash: str
    signed_headers: tuple[str, ...] = field(default=())


def _epoch(amz_date: str) -> int:
    return calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def is_signed(request: IncomingRequest) -> bool:
    """Whether the request attempts any authentication (else S3 treats it as anonymous)."""
    return request.header("authorization") is not None or any(
        k in _QUERY_AUTH_PARAMS or k in ("AWSAccessKeyId", "Signature") for k, _ in request.query
    )


def verify(
    request: IncomingRequest, credentials: Mapping[str, str], region: str, now: float | None = None
) -> Verified:
    """Check the request's SigV4 signature; raise :class:`S3AuthError` as S3 would refuse it.

    ``credentials`` maps access key ids to secret keys. An anonymous request is not handled here
    (see :func:`is_signed`): S3 answers it by the bucket's policy.
    """
    now = time.time() if now is None else now
    names = {k for k, _ in request.query}
    if "X-Amz-Security-Token" in names or request.header("x-amz-security-token") is not None:
        # The local credentials are long-term keys: a session token belongs to other credentials.
        raise S3AuthError(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    if "X-Amz-Algorithm" in names or "X-Amz-Signature" in names or "X-Amz-Credential" in names:
        if request.header("authorization") is not None:
            # An HTTP client that adds its own Authorization (an app's JWT interceptor) to the PUT.
            raise S3AuthError(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
                "query string parameter or the Authorization header should be specified",
                ArgumentName="Authorization",
            )
        return _verify_query(request, credentials, region, now)
    if "AWSAccessKeyId" in names or "Signature" in names:
        raise S3AuthError(
            400,
            "InvalidRequest",
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        )
    authorization = request.header("authorization")
    if authorization is None:
        raise S3AuthError(403, "AccessDenied", "Access Denied")
    return _verify_header(request, authorization, credentials, region, now)


def _credential_scope(
    credential: str, credentials: Mapping[str, str], region: str, error_code: str, what: str
) -> tuple[str, str, str]:
    """``<key>/<date>/<region>/s3/aws4_request`` -> (access key, secret, date)."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise S3AuthError(
            400,
            error_code,
            f'{what} the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        )
    access_key, date, scope_region, service, _ = parts
    if access_key not in credentials:
        raise S3AuthError(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key,
        )
    if scope_region != region:
        raise S3AuthError(
            400,
            error_code,
            f"{what} the region '{scope_region}' is wrong; expecting '{region}'",
            Region=region,
        )
    if service != "s3":
        raise S3AuthError(
            400, error_code, f"{what} incorrect service '{service}'. This endpoint belongs to 's3'."
        )
    return access_key, credentials[access_key], date


def _signed_header_names(raw: str, error_code: str, message: str) -> tuple[str, ...]:
    names = tuple(raw.split(";")) if raw else ()
    if not names or any(not n or n != n.lower() for n in names) or "host" not in names:
        raise S3AuthError(400, error_code, message)
    return names


def _unsigned_amz_headers(request: IncomingRequest, signed: Sequence[str]) -> None:
    """S3 refuses ``x-amz-*`` headers the signature does not cover (e.g. an added ``x-amz-acl``)."""
    unsigned = sorted({n for n, _ in request.headers if n.startswith("x-amz-") and n not in signed})
    if unsigned:
        raise S3AuthError(
            403,
            "AccessDenied",
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(unsigned),
        )


def _check_signature(
    request: IncomingRequest,
    signed: Sequence[str],
    payload_hash: str,
    amz_date: str,
    scope: str,
    key: bytes,
    provided: str,
    access_key: str,
) -> None:
    canonical = canonical_request(request, signed, payload_hash)
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    expected = hmac.digest(key, string_to_sign.encode("utf-8"), "sha256").hex()
    if not hmac.compare_digest(expected, provided.lower()):
        raise S3AuthError(
            403,
            "SignatureDoesNotMatch",
            SIGNATURE_MISMATCH,
            AWSAccessKeyId=access_key,
            StringToSign=string_to_sign,
            SignatureProvided=provided,
            StringToSignBytes=" ".join(f"{b:02x}" for b in string_to_sign.encode()),
            CanonicalRequest=canonical,
            CanonicalRequestBytes=" ".join(f"{b:02x}" for b in canonical.encode()),
        )


def _verify_query(
    request: IncomingRequest, credentials: Mapping[str, str], region: str, now: float
) -> Verified:
    params = {name: request.query_value(name) for name in _QUERY_AUTH_PARAMS}
    if any(value is None for value in params.values()):
        raise S3AuthError(
            400,
            "AuthorizationQueryParametersError",
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        )
    value = {k: v or "" for k, v in params.items()}
    if value["X-Amz-Algorithm"] != ALGORITHM:
        raise S3AuthError(
            400, "AuthorizationQueryParametersError", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'
        )
    access_key, secret, date = _credential_scope(
        value["X-Amz-Credential"],
        credentials,
        region,
        "AuthorizationQueryParametersError",
        "Error parsing the X-Amz-Credential parameter;",
    )
    amz_date = value["X-Amz-Date"]
    if not _AMZ_DATE.fullmatch(amz_date):
        raise S3AuthError(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        )
    if amz_date[:8] != date:
        raise S3AuthError(
            400,
            "AuthorizationQueryParametersError",
            "Invalid credential date. Date is not the same as X-Amz-Date.",
        )
    raw_expires = value["X-Amz-Expires"]
    if not raw_expires.lstrip("-").isdigit():
        raise S3AuthError(400, "AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
    expires = int(raw_expires)
    if expires < 0:
        raise S3AuthError(400, "AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGNED_EXPIRES_SECONDS:
        raise S3AuthError(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is, 604800 seconds",
        )
    signed_at = _epoch(amz_date)
    if signed_at - MAX_CLOCK_SKEW_SECONDS > now:
        raise S3AuthError(403, "AccessDenied", "Request is not valid yet")
    if now > signed_at + expires:
        raise S3AuthError(
            403,
            "AccessDenied",
            "Request has expired",
            **{"X-Amz-Expires": str(expires), "Expires": _iso(signed_at + expires), "ServerTime": _iso(now)},
        )
    signed = _signed_header_names(
        value["X-Amz-SignedHeaders"],
        "AuthorizationQueryParametersError",
        "X-Amz-SignedHeaders must be lower-case header names separated by ';', including host",
    )
    _unsigned_amz_headers(request, signed)
    scope = f"{date}/{region}/s3/aws4_request"
    _check_signature(
        request,
        signed,
        UNSIGNED_PAYLOAD,
        amz_date,
        scope,
        signing_key(secret, date, region),
        value["X-Amz-Signature"],
        access_key,
    )
    return Verified(access_key, presigned=True, payload_hash=UNSIGNED_PAYLOAD, signed_headers=signed)


_AUTH_FIELD = re.compile(r"\s*(Credential|SignedHeaders|Signature)=([^,\s]*)\s*")


def _verify_header(
    request: IncomingRequest, authorization: str, credentials: Mapping[str, str], region: str, now: float
) -> Verified:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise S3AuthError(
            400,
            "InvalidRequest" if algorithm == "AWS" else "InvalidArgument",
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        match = _AUTH_FIELD.fullmatch(part)
        if match is None:
            raise S3AuthError(
                400,
                "AuthorizationHeaderMalformed",
                f'The authorization header is malformed; the authorization component "{part.strip()}" is malformed.',
            )
        fields[match.group(1)] = match.group(2)
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise S3AuthError(
            400,
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed; it needs Credential, SignedHeaders and Signature.",
        )
    access_key, secret, date = _credential_scope(
        fields["Credential"],
        credentials,
        region,
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed;",
    )
    amz_date = request.header("x-amz-date")
    if amz_date is None or not _AMZ_DATE.fullmatch(amz_date):
        raise S3AuthError(
            403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    if amz_date[:8] != date:
        raise S3AuthError(
            400,
            "AuthorizationHeaderMalformed",
            f'The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date: "{date}".',
        )
    signed_at = _epoch(amz_date)
    if abs(signed_at - now) > MAX_CLOCK_SKEW_SECONDS:
        raise S3AuthError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            RequestTime=amz_date,
            ServerTime=_iso(now),
            MaxAllowedSkewMilliseconds=str(MAX_CLOCK_SKEW_SECONDS * 1000),
        )
    payload_hash = request.header("x-amz-content-sha256")
    if payload_hash is None:
        raise S3AuthError(
            400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    if not (
        payload_hash == UNSIGNED_PAYLOAD
        or payload_hash in STREAMING_PAYLOADS
        or _HEX_SHA256.fullmatch(payload_hash)
    ):
        raise S3AuthError(
            400,
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
        )
    signed = _signed_header_names(
        fields["SignedHeaders"],
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed; SignedHeaders must be lower-case names including host.",
    )
    _unsigned_amz_headers(request, signed)
    scope = f"{date}/{region}/s3/aws4_request"
    _check_signature(
        request,
        signed,
        payload_hash,
        amz_date,
        scope,
        signing_key(secret, date, region),
        fields["Signature"],
        access_key,
    )
    return Verified(access_key, presigned=False, payload_hash=payload_hash, signed_headers=signed)
