"""The secret key of subject folders (keys.subject_hash), read from Secrets Manager once per container.

Lazily, on the first request that has a JWT subject: anonymous requests and the health check never
pay for it, and a cold start stays stdlib-only (no boto3: one SigV4 header-signed POST of
``GetSecretValue`` with the function's own credentials, ``sigv4.signed_headers``). The key is then
cached at module level for the life of the container; a failed read is not cached, so the next
request retries. The secret's value is the key (at least ``SUBJECT_KEY_MIN_CHARS`` characters; its
UTF-8 bytes are the HMAC key) and is never logged.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:
    from .config import SUBJECT_KEY_MIN_CHARS, Config, ConfigError
    from .sigv4 import dns_suffix, signed_headers
else:
    from config import SUBJECT_KEY_MIN_CHARS, Config, ConfigError
    from sigv4 import dns_suffix, signed_headers

FETCH_TIMEOUT_SECONDS = 3.0  # the function's timeout is 10 s
TARGET = "secretsmanager.GetSecretValue"
CONTENT_TYPE = "application/x-amz-json-1.1"

# (region, endpoint override, secret id) -> key. The only mutable module state: a cache.
_CACHE: dict[tuple[str, str, str], bytes] = {}


class SubjectKeyError(ConfigError):
    """The key cannot be read or is unusable: a 500 for the caller, the reason (never the value)
    for the log."""


def subject_key(config: Config, *, now: float) -> bytes:
    secret_id = config.subject_key_secret_id
    if secret_id is None:
        raise ConfigError("a JWT subject arrived but SUBJECT_KEY_SECRET_ID is not set")
    cache_key = (config.region, config.secrets_endpoint_url or "", secret_id)
    key = _CACHE.get(cache_key)
    if key is None:
        key = _CACHE[cache_key] = fetch(config, secret_id, now=now)
    return key


def endpoint(config: Config) -> str:
    if config.secrets_endpoint_url:
        return config.secrets_endpoint_url + "/"
    return f"https://secretsmanager.{config.region}.{dns_suffix(config.region)}/"


def fetch(config: Config, secret_id: str, *, now: float) -> bytes:
    """``GetSecretValue`` over HTTPS; the SecretString's UTF-8 bytes."""
    import urllib.error  # only here: ~10 ms of import that anonymous requests never pay
    import urllib.request

    url = endpoint(config)
    body = json.dumps({"SecretId": secret_id}).encode()
    credentials = config.credentials
    headers = signed_headers(
        url=url,
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET},
        body=body,
        service="secretsmanager",
        region=config.region,
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        session_token=credentials.session_token,
        now=now,
    )
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    where = f"SUBJECT_KEY_SECRET_ID {secret_id}"
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as reply:  # noqa: S310
            document = json.loads(reply.read())
    except urllib.error.HTTPError as error:
        raise SubjectKeyError(
            f"GetSecretValue of {where} answered {error.code} {_aws_error(error)}"
        ) from None
    except (OSError, ValueError) as error:
        raise SubjectKeyError(f"GetSecretValue of {where} failed: {type(error).__name__}") from None
    value = document.get("SecretString") if isinstance(document, dict) else None
    if not isinstance(value, str) or len(value) < SUBJECT_KEY_MIN_CHARS:
        raise SubjectKeyError(
            f"{where} must hold a SecretString of at least {SUBJECT_KEY_MIN_CHARS} characters"
        )
    return value.encode()


def _aws_error(error: Exception) -> str:
    """The ``__type`` of an AWS JSON error body (e.g. ResourceNotFoundException), never its message."""
    try:
        document = json.loads(error.read())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        return ""
    kind = document.get("__type", "") if isinstance(document, dict) else ""
    return str(kind).rsplit("#", 1)[-1][:100]
