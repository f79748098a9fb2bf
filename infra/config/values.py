"""How one raw config value becomes a typed one: the parsers and shapes ``infra/config/`` uses.

Every parser takes the raw mapping (strings, as the engine passes them), the key and the default,
and raises a :class:`ConfigError` naming the key. Nothing here knows which keys the stack has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

PROJECT = "lux-video"

# Values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")

# No dots: a dotted name breaks TLS on the virtual-hosted URLs the signer issues.
BUCKET_NAME = re.compile(r"^(?!xn--)(?!sthree-)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
ORIGIN = re.compile(r"^https?://(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$")
REGION = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,56}$")  # leaves room for the "-role" suffix (64 max)
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
CLOUDFRONT_ID = re.compile(r"^E[A-Z0-9]+$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
API_ID = re.compile(r"^[a-z0-9]{10}$")
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# An https endpoint (an EventBridge API destination): a host, optional port, path and query; no
# credentials, fragment or whitespace; at most 2048 characters (EventBridge's limit).
HTTPS_URL = re.compile(
    r"^(?=.{1,2048}$)https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?(?:[/?][^\s#]*)?$"
)
_TRUE, _FALSE = frozenset({"true", "yes", "1"}), frozenset({"false", "no", "0"})


class ConfigError(ValueError):
    """A stack config value is missing or invalid; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = f"{PROJECT}:{key}" if ":" not in key else key
        self.problem = problem
        super().__init__(f"config {self.key}: {problem}")


def integer(raw: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key)
    if value is None:
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(key, f"must be an integer, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(key, f"must be between {low} and {high}, got {number}")
    return number


def number(raw: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    value = raw.get(key)
    if value is None:
        return default
    try:
        parsed = float(str(value).strip())
    except ValueError:
        raise ConfigError(key, f"must be a number, got {value!r}") from None
    if not low <= parsed <= high:
        raise ConfigError(key, f"must be between {low} and {high}, got {parsed}")
    return parsed


def boolean(raw: Mapping[str, str], key: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    text = str(value).strip().lower()
    if text not in _TRUE | _FALSE:
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return text in _TRUE


def string_list(raw: Mapping[str, str], key: str, default: list[str] | None) -> list[str] | None:
    value = raw.get(key)
    if value is None:
        return None if default is None else list(default)
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        raise ConfigError(key, f"must be a list of strings (JSON or YAML list), got {value!r}") from None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ConfigError(key, f"must be a list of strings, got {value!r}")
    return items


def matching(
    raw: Mapping[str, str], key: str, default: str | None, pattern: re.Pattern[str], shape: str
) -> str | None:
    """An optional string of a given shape (empty counts as unset)."""
    value = raw.get(key) or default
    if value is not None and not pattern.match(value):
        raise ConfigError(key, f"{value!r} {shape}")
    return value


def origins(raw: Mapping[str, str], key: str, default: list[str]) -> tuple[str, ...]:
    listed = string_list(raw, key, default) or []
    if not listed:
        raise ConfigError(key, 'must list at least one origin (use ["*"] to allow any)')
    if "*" in listed and len(listed) > 1:
        raise ConfigError(key, "'*' allows every origin and cannot be combined with others")
    for origin in listed:
        if origin != "*" and not ORIGIN.match(origin):
            raise ConfigError(
                key,
                f"{origin!r} is not an origin: expected scheme://host[:port] with no path or trailing slash",
            )
    if len(set(listed)) != len(listed):
        raise ConfigError(key, "lists an origin twice")
    return tuple(listed)


def mapping(raw: Mapping[str, str], key: str) -> Mapping[str, Any]:
    """An optional YAML object (arriving as a JSON string); absent or null: empty."""
    value = raw.get(key)
    if value is None:
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        raise ConfigError(key, f"must be a mapping of resource -> existing ID, got {value!r}") from None
    if parsed is None:
        return {}
    if not isinstance(parsed, Mapping):
        raise ConfigError(key, f"must be a mapping of resource -> existing ID, got {value!r}")
    return parsed


def default_tags(value: Any, stack: str) -> tuple[tuple[str, str], ...]:
    key = "aws:defaultTags"
    tags = (value or {}).get("tags") if isinstance(value, Mapping) else None
    if not isinstance(tags, Mapping) or not all(isinstance(v, str) for v in tags.values()):
        raise ConfigError(
            key, "must be {tags: {project: lux-video, stack: <stack>, ...}} so every resource is tagged"
        )
    if tags.get("project") != PROJECT:
        raise ConfigError(key, f"tags.project must be {PROJECT!r}, got {tags.get('project')!r}")
    if tags.get("stack") != stack:
        raise ConfigError(key, f"tags.stack must be the stack name {stack!r}, got {tags.get('stack')!r}")
    return tuple(sorted((str(k), str(v)) for k, v in tags.items()))
