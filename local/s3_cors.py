"""S3's CORS evaluation, from the bucket's rules (``infra.policies.bucket_cors_rules``).

S3 walks the rules in order and uses the FIRST one whose ``AllowedOrigins`` match the ``Origin``
(one ``*`` wildcard allowed), whose ``AllowedMethods`` contain the (requested) method and, for a
preflight, whose ``AllowedHeaders`` match every requested header (case-insensitive, ``*``
wildcards). A preflight no rule admits gets 403; an actual request no rule admits gets no CORS
headers (the browser then hides the response). moto merges the rules instead (the last one's
methods and headers win, nothing is checked), which is why the local stack evaluates them here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

Rule = dict[str, Any]

# The bucket's CORS configuration sends these; S3 answers preflights with them.
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
PREFLIGHT_DENIED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
    "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
    "whitelisted by the resource's CORS spec."
)


@lru_cache(maxsize=256)
def _pattern(wildcard: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` matches any run of characters; everything else is literal (no ``?`` or ``[..]``)."""
    regex = ".*".join(re.escape(part) for part in wildcard.split("*"))
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _pattern(pattern, ignore_case).fullmatch(value) is not None


def requested_headers(value: str | None) -> list[str]:
    """``Access-Control-Request-Headers`` as a list of lower-case names."""
    return [h.strip().lower() for h in (value or "").split(",") if h.strip()]


def matching_rule(
    rules: Sequence[Rule], origin: str, method: str, headers: Iterable[str] | None = None
) -> Rule | None:
    """The first rule admitting ``origin``, ``method`` and (if given: a preflight) every header."""
    wanted = list(headers or ())
    for rule in rules:
        if not any(wildcard_match(allowed, origin) for allowed in rule["allowedOrigins"]):
            continue
        if method not in rule["allowedMethods"]:
            continue
        allowed_headers = rule.get("allowedHeaders", [])
        if all(any(wildcard_match(a, h, ignore_case=True) for a in allowed_headers) for h in wanted):
            return rule
    return None


def _allow_origin(rule: Rule, origin: str) -> dict[str, str]:
    # A rule whose only matching origin is '*' is answered with '*' and without credentials.
    if any(allowed == origin for allowed in rule["allowedOrigins"]) or not any(
        allowed == "*" for allowed in rule["allowedOrigins"]
    ):
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}
    return {"Access-Control-Allow-Origin": "*"}


def preflight_headers(rule: Rule, origin: str, headers: Sequence[str]) -> dict[str, str]:
    """S3's answer to an admitted preflight."""
    result = {
        **_allow_origin(rule, origin),
        "Access-Control-Allow-Methods": ", ".join(rule["allowedMethods"]),
        "Vary": VARY,
    }
    if headers:
        result["Access-Control-Allow-Headers"] = ", ".join(headers)
    if rule.get("exposeHeaders"):
        result["Access-Control-Expose-Headers"] = ", ".join(rule["exposeHeaders"])
    if rule.get("maxAgeSeconds") is not None:
        result["Access-Control-Max-Age"] = str(rule["maxAgeSeconds"])
    return result


def response_headers(rules: Sequence[Rule], origin: str | None, method: str) -> dict[str, str]:
    """The CORS headers S3 adds to an actual request (errors included) from ``origin``."""
    if origin is None:
        return {}
    rule = matching_rule(rules, origin, method)
    if rule is None:
        return {}
    result = {
        **_allow_origin(rule, origin),
        "Access-Control-Allow-Methods": ", ".join(rule["allowedMethods"]),
        "Vary": VARY,
    }
    if rule.get("exposeHeaders"):
        result["Access-Control-Expose-Headers"] = ", ".join(rule["exposeHeaders"])
    if rule.get("maxAgeSeconds") is not None:
        result["Access-Control-Max-Age"] = str(rule["maxAgeSeconds"])
    return result
