"""Rules for what reaches viewers and uploaders at the edge: the locked-down edge when a stack turns
it on (custom domain on TLS 1.2+ with SNI, a WAF with the managed rules and a rate limit), the
representation headers viewers must never receive unsigned, and the CORS that create-only uploads
need. Pure functions of ``(resource_type, props)``, registered in ``policy/rules.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Props = Mapping[str, Any]

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
# CloudFront security policies at or above TLS 1.2 (the only ones allowed with our own certificate).
TLS_1_2_OR_NEWER = frozenset({"TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"})
REQUIRED_REMOVED_HEADERS = frozenset({"content-disposition", "content-language", "expires"})


def custom_domains_use_tls_1_2_and_sni(resource_type: str, props: Props) -> list[str]:
    """A distribution on a custom domain serves it with an ACM certificate, SNI, TLS 1.2 or newer."""
    if resource_type != DISTRIBUTION or not props.get("aliases"):
        return []
    certificate = props.get("viewerCertificate") or {}
    violations = []
    if not certificate.get("acmCertificateArn"):
        violations.append(f"distribution serves {props['aliases']} without an ACM certificate")
    if certificate.get("sslSupportMethod") != "sni-only":
        violations.append(
            "custom-domain distribution must use sslSupportMethod sni-only (a dedicated IP is billed)"
        )
    if certificate.get("minimumProtocolVersion") not in TLS_1_2_OR_NEWER:
        violations.append(
            f"custom-domain distribution allows {certificate.get('minimumProtocolVersion')!r}; require TLS 1.2+"
        )
    return violations


def web_acls_block_common_attacks_and_floods(resource_type: str, props: Props) -> list[str]:
    """A CloudFront web ACL carries AWS's managed common rule set and a rate-based rule that blocks."""
    if resource_type != "aws:wafv2/webAcl:WebAcl" or props.get("scope") != "CLOUDFRONT":
        return []
    rules = props.get("rules") or []
    managed = {
        (r.get("statement") or {}).get("managedRuleGroupStatement", {}).get("name")
        for r in rules
        if (r.get("overrideAction") or {}) == {"none": {}}
    }
    rate_limited = any(
        "rateBasedStatement" in (r.get("statement") or {})
        and (r.get("action") or {}).get("block") is not None
        for r in rules
    )
    violations = []
    if "AWSManagedRulesCommonRuleSet" not in managed:
        violations.append(f"web ACL {props.get('name')} lacks the enforced AWSManagedRulesCommonRuleSet")
    if not rate_limited:
        violations.append(f"web ACL {props.get('name')} has no blocking rate-based rule")
    return violations


def viewers_never_get_unsigned_representation_headers(resource_type: str, props: Props) -> list[str]:
    """A response headers policy removes the representation headers an uploader could add unsigned."""
    if resource_type != "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy":
        return []
    removed = {
        str(item.get("header", "")).lower()
        for item in (props.get("removeHeadersConfig") or {}).get("items", [])
    }
    missing = sorted(REQUIRED_REMOVED_HEADERS - removed)
    return [f"response headers policy {props.get('name')} does not remove {missing}"] if missing else []


def upload_cors_admits_create_only_puts(resource_type: str, props: Props) -> list[str]:
    """Immutable files are signed with If-None-Match: * (create-only): a browser must be allowed to
    send it, or every upload of a segment fails at the preflight."""
    if resource_type != "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration":
        return []
    violations = []
    for rule in props.get("corsRules") or []:
        if "PUT" in (rule.get("allowedMethods") or []):
            headers = {str(h).lower() for h in rule.get("allowedHeaders") or []}
            if "*" not in headers and "if-none-match" not in headers:
                violations.append(f"CORS rule {rule.get('id')} admits PUT without the If-None-Match header")
    return violations


RESOURCE_RULES = {
    "cdn-custom-domain-tls": (
        "A distribution on a custom domain uses an ACM certificate, SNI and TLS 1.2 or newer.",
        custom_domains_use_tls_1_2_and_sni,
    ),
    "waf-managed-rules-and-rate-limit": (
        "A CloudFront web ACL enforces AWS's common rule set and a blocking rate-based rule.",
        web_acls_block_common_attacks_and_floods,
    ),
    "cdn-removes-unsigned-representation-headers": (
        "Viewers never receive Content-Disposition, Content-Language or Expires an uploader added unsigned.",
        viewers_never_get_unsigned_representation_headers,
    ),
    "upload-cors-create-only": (
        "Bucket CORS lets browsers send If-None-Match on PUT (create-only uploads of immutable files).",
        upload_cors_admits_create_only_puts,
    ),
}
