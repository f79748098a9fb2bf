"""CloudFront: the response headers policy's CORS and security headers, what reaches the origin,
the cache policies' TTLs and keys, and which paths each cache behaviour serves."""

from __future__ import annotations

from typing import Any

from lambda_src.sign_uploads import media

CDN_CORS_METHODS = ("GET", "HEAD", "OPTIONS")
# Players send Range and conditional requests; nothing else is needed to read media.
CDN_CORS_ALLOWED_HEADERS = ("Range", "If-None-Match", "If-Modified-Since")
CDN_EXPOSED_HEADERS = ("ETag", "Content-Length", "Content-Range", "Accept-Ranges")
CDN_CORS_MAX_AGE_SECONDS = 86_400


def cdn_cors(origins: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The response headers policy's CORS block. Applied at the edge, overriding the origin, and
    served identically by the local CDN."""
    return {
        "accessControlAllowCredentials": False,
        "accessControlAllowHeaders": {"items": list(CDN_CORS_ALLOWED_HEADERS)},
        "accessControlAllowMethods": {"items": list(CDN_CORS_METHODS)},
        "accessControlAllowOrigins": {"items": list(origins)},
        "accessControlExposeHeaders": {"items": list(CDN_EXPOSED_HEADERS)},
        "accessControlMaxAgeSec": CDN_CORS_MAX_AGE_SECONDS,
        "originOverride": True,
    }


# CloudFront forwards no viewer header to S3 by default, so a preflight would reach S3 without the
# Origin and Access-Control-Request-* headers S3 needs to answer it. These (and only these) are
# forwarded; none is part of the cache key.
CDN_ORIGIN_REQUEST_HEADERS = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")


def cdn_origin_request_parameters() -> dict[str, Any]:
    """The origin request policy: CORS headers to S3, no cookies, no query strings."""
    return {
        "cookiesConfig": {"cookieBehavior": "none"},
        "headersConfig": {
            "headerBehavior": "whitelist",
            "headers": {"items": list(CDN_ORIGIN_REQUEST_HEADERS)},
        },
        "queryStringsConfig": {"queryStringBehavior": "none"},
    }


# Representation headers an uploader could add to a pre-signed PUT without signing them: S3 would
# store and serve them (a download prompt, a wrong language, a stale Expires). The edge removes them
# from every response. Content-Encoding cannot be removed by CloudFront (read-only for its response
# headers policies and functions): the signer signs it instead, so a client cannot choose it.
CDN_REMOVED_HEADERS = ("Content-Disposition", "Content-Language", "Expires")


def cdn_remove_headers() -> dict[str, Any]:
    return {"items": [{"header": header} for header in CDN_REMOVED_HEADERS]}


def cdn_security_headers() -> dict[str, Any]:
    """Security headers on every media response (media is never framed or sniffed)."""
    return {
        "contentTypeOptions": {"override": True},
        "strictTransportSecurity": {
            "accessControlMaxAgeSec": 63_072_000,
            "includeSubdomains": True,
            "override": True,
        },
        "referrerPolicy": {"referrerPolicy": "strict-origin-when-cross-origin", "override": True},
    }


def cache_policy_ttls() -> dict[str, dict[str, int]]:
    """TTL bounds per cache policy, derived from the Cache-Control the signer stores objects with.

    Manifests: the edge honours the object's few-seconds max-age and never holds one longer than
    twice that, so a re-uploaded job is visible within seconds. Segments and renditions are
    immutable per job: cached for a year, at least a day even if an object lacks Cache-Control.
    """
    return {
        "manifests": {
            "minTtl": 0,
            "defaultTtl": media.MANIFEST_MAX_AGE_SECONDS,
            "maxTtl": 2 * media.MANIFEST_MAX_AGE_SECONDS,
        },
        "segments": {
            "minTtl": 86_400,
            "defaultTtl": media.IMMUTABLE_MAX_AGE_SECONDS,
            "maxTtl": media.IMMUTABLE_MAX_AGE_SECONDS,
        },
    }


def cache_key_parameters() -> dict[str, Any]:
    """No cookies, query strings or headers in any cache key; compressed variants cached apart."""
    return {
        "cookiesConfig": {"cookieBehavior": "none"},
        "headersConfig": {"headerBehavior": "none"},
        "queryStringsConfig": {"queryStringBehavior": "none"},
        "enableAcceptEncodingGzip": True,
        "enableAcceptEncodingBrotli": True,
    }


def manifest_path_patterns() -> list[str]:
    return [f"*{ext}" for ext in sorted(media.MANIFEST_EXTENSIONS)]


def segment_path_patterns() -> list[str]:
    return [f"*{ext}" for ext in media.SEGMENT_PATH_EXTENSIONS]


# --- WAF (opt-in): AWS's managed common rules, then a per-IP rate limit --------------------------
WAF_MANAGED_RULE_GROUP = "AWSManagedRulesCommonRuleSet"


def waf_visibility(metric_name: str) -> dict[str, Any]:
    return {"cloudwatchMetricsEnabled": True, "metricName": metric_name, "sampledRequestsEnabled": True}


def waf_rules(name_prefix: str, rate_limit_per_5_minutes: int) -> list[dict[str, Any]]:
    """Web ACL rules: the common rule set (its own block actions kept: overrideAction none), then
    one IP may make at most ``rate_limit_per_5_minutes`` requests per 5 minutes."""
    return [
        {
            "name": "aws-common-rules",
            "priority": 0,
            "overrideAction": {"none": {}},
            "statement": {"managedRuleGroupStatement": {"vendorName": "AWS", "name": WAF_MANAGED_RULE_GROUP}},
            "visibilityConfig": waf_visibility(f"{name_prefix}-cdn-common"),
        },
        {
            "name": "rate-limit-per-ip",
            "priority": 1,
            "action": {"block": {}},
            "statement": {
                "rateBasedStatement": {"limit": rate_limit_per_5_minutes, "aggregateKeyType": "IP"}
            },
            "visibilityConfig": waf_visibility(f"{name_prefix}-cdn-rate-limit"),
        },
    ]
