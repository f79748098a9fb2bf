"""The signer's configuration: every environment variable, its default and its limits, in one place.

Read on every invocation (a dict lookup per variable): tests and the local stack change the
environment freely, and a bad value is reported as a misconfiguration instead of crashing the
import. A :class:`ConfigError` message may name a variable but never echoes a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

DEFAULT_PREFIX = "videos/"
DEFAULT_URL_TTL_SECONDS = 900
MAX_URL_TTL_SECONDS = 3600
DEFAULT_MAX_FILES = 1000
S3_SINGLE_PUT_LIMIT_BYTES = 5 * 1024**3  # S3 refuses a single PUT above 5 GiB.
DEFAULT_MAX_FILE_BYTES = S3_SINGLE_PUT_LIMIT_BYTES

# DNS-compatible bucket names without dots: dots break TLS on virtual-hosted URLs.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
# Empty, or '/'-terminated segments of the same alphabet as upload paths (never '.' or '..').
_PREFIX = re.compile(r"(?:(?!\.\.?/)[A-Za-z0-9._-]+/){0,8}")
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
    return raw.rstrip("/")


def load_config(env: Mapping[str, str]) -> Config:
    """Validate the environment; raises :class:`ConfigError` naming the variable at fault."""
    bucket = env.get("BUCKET", "")
    if not _BUCKET.fullmatch(bucket):
        raise ConfigError("BUCKET is missing or not a DNS-compatible bucket name without dots")
    region = env.get("AWS_REGION", "")
    if not _REGION.fullmatch(region):
        raise ConfigError("AWS_REGION is missing or malformed")
    prefix = env.get("PREFIX", DEFAULT_PREFIX)
    if len(prefix) > 128 or not _PREFIX.fullmatch(prefix):
        raise ConfigError("PREFIX must be empty or '/'-terminated segments of [A-Za-z0-9._-]")
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
    return Config(
        bucket=bucket,
        region=region,
        prefix=prefix,
        public_base_url=public_base_url,
        url_ttl_seconds=_int(env, "URL_TTL_SECONDS", DEFAULT_URL_TTL_SECONDS, 1, MAX_URL_TTL_SECONDS),
        max_files=_int(env, "MAX_FILES", DEFAULT_MAX_FILES, 1, 10_000),
        max_file_bytes=_int(env, "MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES, 1, S3_SINGLE_PUT_LIMIT_BYTES),
        auth_required=auth_required == "true",
        endpoint_url=endpoint_url,
        credentials=Credentials(access_key, secret_key, env.get("AWS_SESSION_TOKEN") or None),
    )
