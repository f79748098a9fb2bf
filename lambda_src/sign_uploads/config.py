"""The signer's configuration: every environment variable, its default and its limits, in one place.

:func:`environment` builds the variables from values (the Pulumi program, the local stack, the
tests and the bench all call it); :func:`load_config` is its inverse, run by the function. The
limits below are the only definition: ``infra/config/`` validates the stack config with them.

Read on every invocation (a dict lookup per variable): tests and the local stack change the
environment freely, and a bad value is reported as a misconfiguration instead of crashing the
import. A :class:`ConfigError` message may name a variable but never echoes a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple, TypeVar
from urllib.parse import urlsplit

# --- limits (the stack config is validated against these) ------------------------------------------
DEFAULT_PREFIX = "videos/"
# 1-8 '/'-terminated segments of [A-Za-z0-9_-]: no '.' or '..', never empty (the bucket policy and
# every grant are written as <prefix>*), at most PREFIX_MAX_CHARS.
PREFIX_PATTERN = r"(?:[A-Za-z0-9_-]+/){1,8}"
PREFIX_MAX_CHARS = 128
DEFAULT_URL_TTL_SECONDS = 900
MIN_URL_TTL_SECONDS = 60
MAX_URL_TTL_SECONDS = 3600
DEFAULT_MAX_FILES = 1000
# The most files whose 200 response still fits Lambda's 6 MB response limit in the worst case:
# max_files_bound() derives it by running the handler (a test holds the two equal).
MAX_FILES_LIMIT = 1_109
S3_SINGLE_PUT_LIMIT_BYTES = 5 * 1024**3  # S3 refuses a single PUT above 5 GiB.
DEFAULT_MAX_FILE_BYTES = S3_SINGLE_PUT_LIMIT_BYTES
# Multipart uploads (the /s3/... routes): S3's object limit is 5 TiB. The default keeps the single
# PUT's cap; a stack raises it with signer.maxMultipartFileBytes.
S3_OBJECT_LIMIT_BYTES = 5 * 1024**4
DEFAULT_MAX_MULTIPART_FILE_BYTES = S3_SINGLE_PUT_LIMIT_BYTES
# Longer is refused: the response-size bound on MAX_FILES assumes at most this (a domain name is at
# most 253 characters; CloudFront's own are ~30).
PUBLIC_BASE_URL_MAX_CHARS = 256
DEFAULT_JOB_RETENTION_DAYS = 31
MAX_JOB_RETENTION_DAYS = 3650
# An HMAC key shorter than this is refused (`openssl rand -hex 32` gives 64 characters).
SUBJECT_KEY_MIN_CHARS = 32

# DNS-compatible bucket names without dots: dots break TLS on virtual-hosted URLs.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
_PREFIX = re.compile(PREFIX_PATTERN)
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)  # IAM's rule for role names
_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")  # DynamoDB's rule for table names
_BUS = re.compile(r"[A-Za-z0-9/_.-]{1,256}")  # an EventBridge bus name
_DISTRIBUTION = re.compile(r"[A-Z0-9]{1,64}")
_SECRET_ID = re.compile(r"[A-Za-z0-9/_+=.@:-]{1,2048}")  # a Secrets Manager name or ARN
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Plain http is accepted only where no public network is crossed: loopback, and private IPv4
# literals (the local stack serving a phone on the LAN). A hostname never qualifies.
_PRIVATE_IPV4 = re.compile(
    r"(?:10|127)(?:\.\d{1,3}){3}|192\.168(?:\.\d{1,3}){2}|172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}"
)


class ConfigError(Exception):
    """The function is deployed with a bad environment: a 500 for the caller, the detail for the log."""


class Credentials(NamedTuple):
    access_key: str
    secret_key: str
    session_token: str | None


class Config(NamedTuple):
    bucket: str
    region: str
    prefix: str
    public_base_url: str
    url_ttl_seconds: int
    max_files: int
    max_file_bytes: int
    auth_required: bool
    endpoint_url: str | None
    credentials: Credentials
    # Only the assumed role of this name may call the health-check route (None: nobody may).
    health_check_role_name: str | None = None
    # The Secrets Manager secret holding the HMAC key of subject folders (required with JWT).
    subject_key_secret_id: str | None = None
    # Secrets Manager endpoint override: tests and local emulators only.
    secrets_endpoint_url: str | None = None
    # The job records' DynamoDB table (None: jobs are not recorded; only unit tests of signing).
    jobs_table: str | None = None
    # How long a job record outlives its last signing (DynamoDB TTL): the bucket's expiry + 1 day.
    job_retention_days: int = DEFAULT_JOB_RETENTION_DAYS
    # The jobs function only: the custom bus its events go to, the distribution it invalidates.
    event_bus_name: str | None = None
    distribution_id: str | None = None
    # DynamoDB endpoint override: tests and the local stack only.
    dynamodb_endpoint_url: str | None = None
    # The largest whole file the multipart routes accept (above the single PUT's 5 GiB if set).
    max_multipart_file_bytes: int = DEFAULT_MAX_MULTIPART_FILE_BYTES


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return value


def _base_url(env: Mapping[str, str], name: str) -> str | None:
    """An https URL (http only on loopback, for the local stack), no query, no trailing '/'."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        raise ConfigError(f"{name} is not a valid URL") from None
    local = host in _LOOPBACK_HOSTS or _PRIVATE_IPV4.fullmatch(host) is not None
    secure = parts.scheme == "https" or (parts.scheme == "http" and local)
    if not secure or not host or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{name} must be an https URL without query, fragment or credentials")
    if not raw.isascii() or any(c <= " " for c in raw):
        raise ConfigError(f"{name} must be plain ASCII without spaces")
    if len(raw) > PUBLIC_BASE_URL_MAX_CHARS:
        raise ConfigError(f"{name} must be at most {PUBLIC_BASE_URL_MAX_CHARS} characters")
    return raw.rstrip("/")


def _optional(env: Mapping[str, str], name: str, pattern: re.Pattern[str], rule: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not pattern.fullmatch(raw):
        raise ConfigError(f"{name} must be {rule}")
    return raw


def load_config(env: Mapping[str, str]) -> Config:
    """Validate the environment; raises :class:`ConfigError` naming the variable at fault."""
    bucket = env.get("BUCKET", "")
    if not _BUCKET.fullmatch(bucket):
        raise ConfigError("BUCKET is missing or not a DNS-compatible bucket name without dots")
    region = env.get("AWS_REGION", "")
    if not _REGION.fullmatch(region):
        raise ConfigError("AWS_REGION is missing or malformed")
    prefix = env.get("PREFIX", DEFAULT_PREFIX)
    if not valid_prefix(prefix):
        raise ConfigError("PREFIX must be 1-8 '/'-terminated segments of [A-Za-z0-9_-]")
    endpoint_url = _base_url(env, "S3_ENDPOINT_URL")
    if endpoint_url is not None and urlsplit(endpoint_url).path:
        raise ConfigError("S3_ENDPOINT_URL must be an origin without a path")
    public_base_url = _base_url(env, "PUBLIC_BASE_URL")
    if public_base_url is None:
        raise ConfigError("PUBLIC_BASE_URL is required")
    auth_required = env.get("AUTH_REQUIRED", "false").strip().lower()
    if auth_required not in ("true", "false"):
        raise ConfigError("AUTH_REQUIRED must be 'true' or 'false'")
    access_key = env.get("AWS_ACCESS_KEY_ID", "")
    secret_key = env.get("AWS_SECRET_ACCESS_KEY", "")
    if not access_key or not secret_key:
        raise ConfigError("AWS credentials are missing from the environment")
    subject_key_secret_id = _optional(
        env, "SUBJECT_KEY_SECRET_ID", _SECRET_ID, "a Secrets Manager secret name or ARN"
    )
    if auth_required == "true" and subject_key_secret_id is None:
        raise ConfigError("SUBJECT_KEY_SECRET_ID is required when AUTH_REQUIRED is true")
    secrets_endpoint_url = _base_url(env, "SECRETS_ENDPOINT_URL")
    return Config(
        bucket=bucket,
        region=region,
        prefix=prefix,
        public_base_url=public_base_url,
        url_ttl_seconds=_int(
            env, "URL_TTL_SECONDS", DEFAULT_URL_TTL_SECONDS, MIN_URL_TTL_SECONDS, MAX_URL_TTL_SECONDS
        ),
        max_files=_int(env, "MAX_FILES", DEFAULT_MAX_FILES, 1, MAX_FILES_LIMIT),
        max_file_bytes=_int(env, "MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES, 1, S3_SINGLE_PUT_LIMIT_BYTES),
        auth_required=auth_required == "true",
        endpoint_url=endpoint_url,
        credentials=Credentials(access_key, secret_key, env.get("AWS_SESSION_TOKEN") or None),
        health_check_role_name=_optional(env, "HEALTH_CHECK_ROLE_NAME", _ROLE_NAME, "an IAM role name"),
        subject_key_secret_id=subject_key_secret_id,
        secrets_endpoint_url=secrets_endpoint_url,
        jobs_table=_optional(env, "JOBS_TABLE", _TABLE, "a DynamoDB table name"),
        job_retention_days=_int(
            env, "JOB_RETENTION_DAYS", DEFAULT_JOB_RETENTION_DAYS, 1, MAX_JOB_RETENTION_DAYS
        ),
        event_bus_name=_optional(env, "EVENT_BUS_NAME", _BUS, "an EventBridge bus name"),
        distribution_id=_optional(env, "DISTRIBUTION_ID", _DISTRIBUTION, "a CloudFront distribution id"),
        dynamodb_endpoint_url=_base_url(env, "DYNAMODB_ENDPOINT_URL"),
        max_multipart_file_bytes=_int(
            env, "MAX_MULTIPART_FILE_BYTES", DEFAULT_MAX_MULTIPART_FILE_BYTES, 1, S3_OBJECT_LIMIT_BYTES
        ),
    )


def valid_prefix(prefix: str) -> bool:
    return len(prefix) <= PREFIX_MAX_CHARS and _PREFIX.fullmatch(prefix) is not None


# --- the inverse of load_config ---------------------------------------------------------------------

V = TypeVar("V")  # a plain str, or a deploy-time value (pulumi.Input[str]) the engine resolves


def environment(
    *,
    bucket: V | str,
    prefix: str,
    public_base_url: V | str,
    url_ttl_seconds: int,
    max_files: int,
    max_file_bytes: int,
    auth_required: bool,
    health_check_role_name: V | str | None = None,
    subject_key_secret_id: V | str | None = None,
    jobs_table: V | str | None = None,
    job_retention_days: int | None = None,
    event_bus_name: V | str | None = None,
    distribution_id: V | str | None = None,
    max_multipart_file_bytes: int | None = None,
) -> dict[str, V | str]:
    """The function's own variables, as the Pulumi program deploys them. Lambda's runtime adds
    the region and credentials (:func:`runtime_environment` stands in for it elsewhere).

    ``health_check_role_name``: the health check's role (None: the health-check route refuses
    every caller). ``subject_key_secret_id``: required when ``auth_required`` (the function's role
    then needs ``secretsmanager:GetSecretValue`` on it). ``jobs_table``: where jobs are recorded
    (the signer and the jobs function); ``event_bus_name`` and ``distribution_id``: the jobs
    function's bus and the distribution it invalidates."""
    env: dict[str, V | str] = {
        "BUCKET": bucket,
        "PREFIX": prefix,
        "PUBLIC_BASE_URL": public_base_url,
        "URL_TTL_SECONDS": str(url_ttl_seconds),
        "MAX_FILES": str(max_files),
        "MAX_FILE_BYTES": str(max_file_bytes),
        "AUTH_REQUIRED": "true" if auth_required else "false",
    }
    if health_check_role_name is not None:
        env["HEALTH_CHECK_ROLE_NAME"] = health_check_role_name
    if subject_key_secret_id is not None:
        env["SUBJECT_KEY_SECRET_ID"] = subject_key_secret_id
    optional = {
        "JOBS_TABLE": jobs_table,
        "JOB_RETENTION_DAYS": None if job_retention_days is None else str(job_retention_days),
        "EVENT_BUS_NAME": event_bus_name,
        "DISTRIBUTION_ID": distribution_id,
        "MAX_MULTIPART_FILE_BYTES": None
        if max_multipart_file_bytes is None
        else str(max_multipart_file_bytes),
    }
    env.update({name: value for name, value in optional.items() if value is not None})
    return env


def runtime_environment(
    *,
    region: str,
    credentials: Credentials,
    endpoint_url: str | None = None,
    secrets_endpoint_url: str | None = None,
    dynamodb_endpoint_url: str | None = None,
) -> dict[str, str]:
    """What the Lambda runtime provides (region, credentials), plus S3 and Secrets Manager
    endpoint overrides for the local stack and tests: for every host of the handler that is not
    Lambda."""
    env = {
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
    }
    if credentials.session_token:
        env["AWS_SESSION_TOKEN"] = credentials.session_token
    if endpoint_url is not None:
        env["S3_ENDPOINT_URL"] = endpoint_url
    if secrets_endpoint_url is not None:
        env["SECRETS_ENDPOINT_URL"] = secrets_endpoint_url
    if dynamodb_endpoint_url is not None:
        env["DYNAMODB_ENDPOINT_URL"] = dynamodb_endpoint_url
    return env


# Every variable load_config reads (tests clear them all before setting a deployed environment).
VARIABLES = (
    *environment(
        bucket="", prefix="", public_base_url="", url_ttl_seconds=0, max_files=0, max_file_bytes=0,
        auth_required=False, health_check_role_name="", subject_key_secret_id="", jobs_table="",
        job_retention_days=0, event_bus_name="", distribution_id="", max_multipart_file_bytes=0,
    ),
    *runtime_environment(
        region="", credentials=Credentials("", "", "x"), endpoint_url="", secrets_endpoint_url="",
        dynamodb_endpoint_url="",
    ),
)  # fmt: skip


# --- the response-size bound on MAX_FILES ----------------------------------------------------------

# A Lambda proxy response is capped at 6 MB (6,291,456 bytes, measured on the JSON the function
# returns: status, headers and the body as an escaped string); past it API Gateway answers 500
# after the function logged success. The margin covers what the runtime and API Gateway add.
LAMBDA_RESPONSE_LIMIT_BYTES = 6_291_456
RESPONSE_MARGIN_BYTES = 64 * 1024
# Worst-case assumptions (docs/signer.md, "How many files"): a 2,048-character session token with
# every fourth character URL-escaped (3,072 characters in each URL; Lambda's are ~1,100-1,400 of
# base64, ~3% escaped), the longest real region name with the China suffix, a 20-character key id.
WORST_SESSION_TOKEN = ("AbC/" * 512)[:2048]
WORST_REGION = "cn-northwest-1"


def worst_case_event(files: int) -> tuple[dict[str, object], dict[str, str]]:
    """The API Gateway event and environment whose 200 response is the largest for ``files``
    files: JWT subject, 64-character jobId, the longest prefix, bucket and public base URL, the
    largest sizes and TTL, the media type with the largest entry, and paths as long as the 256 KiB
    request body allows (so the body bound also limits n x path length)."""
    import json

    from . import media  # only for this computation (never on a request path)
    from .contract import MAX_BODY_BYTES

    def entry_size(extension: str) -> int:  # Content-Type + Cache-Control (+ If-None-Match, signed)
        name = "x" + extension
        create_only = len(media.CREATE_ONLY_HEADER[0]) + 30 if media.is_create_only(name) else 0
        return len(media.MEDIA_TYPES[extension]) + len(media.cache_control_for(name)) + create_only

    extension = max(sorted(media.MEDIA_TYPES), key=entry_size)
    width = len(str(files))

    def body(path_chars: int) -> str:
        names = [f"{i:0{width}d}".ljust(path_chars - len(extension), "a") + extension for i in range(files)]
        if files > 1:  # a top-level playlist of the same length: the response then has a playbackUrl
            names[0] = names[0][: path_chars - 5] + ".m3u8"
        entries = [{"path": name, "size": S3_SINGLE_PUT_LIMIT_BYTES} for name in names]
        return json.dumps({"jobId": "J" * 64, "files": entries}, separators=(",", ":"))

    shortest = width + len(extension) + 5
    fixed = len(body(shortest)) - files * shortest
    path_chars = min(256, (MAX_BODY_BYTES - fixed) // files)
    if path_chars < shortest:
        raise ValueError(f"{files} files cannot fit the request body")
    segment = "p" * 15 + "/"
    environ = {
        **environment(
            bucket="b" * 63,
            prefix=segment * 8,  # 128 characters, the longest valid prefix
            public_base_url="https://cdn.example.com/" + "u" * (PUBLIC_BASE_URL_MAX_CHARS - 24),
            url_ttl_seconds=MAX_URL_TTL_SECONDS,
            max_files=files,
            max_file_bytes=S3_SINGLE_PUT_LIMIT_BYTES,
            auth_required=True,
            subject_key_secret_id="worst-case/subject-key",  # noqa: S106 -- a name, not a secret
        ),
        **runtime_environment(
            region=WORST_REGION, credentials=Credentials("ASIA" + "K" * 16, "s" * 40, WORST_SESSION_TOKEN)
        ),
    }
    event = {
        "routeKey": "POST /",
        "requestContext": {"http": {"method": "POST"}, "authorizer": {"jwt": {"claims": {"sub": "s"}}}},
        "body": body(path_chars),
        "isBase64Encoded": False,
    }
    return event, environ


def worst_case_response_bytes(files: int) -> int:
    """Runs the handler's steps (parse, validate, sign, respond) on :func:`worst_case_event` and
    measures the JSON the function returns to Lambda. ``max_files`` is lifted to ``files``, so
    counts past the current MAX_FILES_LIMIT can be measured too."""
    import json

    from . import contract, handler, responses, subject_key

    event, environ = worst_case_event(files)
    config = load_config({**environ, "MAX_FILES": "1"})._replace(max_files=files)
    cache_key = (WORST_REGION, "", environ["SUBJECT_KEY_SECRET_ID"])
    subject_key._CACHE[cache_key] = b"k" * 64  # no Secrets Manager here: the key's value is irrelevant
    try:
        request = contract.parse_event(event, config)
        response = responses.respond(200, handler.sign(request, config, now=4_102_444_799))
    finally:
        subject_key._CACHE.pop(cache_key, None)
    return len(json.dumps(response))


def max_files_bound() -> int:
    """The largest n whose worst-case response fits LAMBDA_RESPONSE_LIMIT_BYTES less the margin
    (binary search; the response size grows with n even as the body bound shortens the paths)."""
    budget = LAMBDA_RESPONSE_LIMIT_BYTES - RESPONSE_MARGIN_BYTES
    low, high = 1, 4096
    while low < high:
        middle = (low + high + 1) // 2
        if worst_case_response_bytes(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return low
