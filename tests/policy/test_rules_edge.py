"""The edge rules pass on the stacks as declared, and each catches a deliberately broken copy."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policy import rules, rules_edge
from tests.conftest import plan_for


def props(stack: str, type_: str, name: str | None = None) -> dict[str, Any]:
    return copy.deepcopy(dict(plan_for(stack).one(type_, name).inputs))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stacks_pass_every_edge_rule(stack: str) -> None:
    resources = [(r.type, r.inputs) for r in plan_for(stack).resources if r.custom]
    assert [v for v in rules.check_resources(resources) if v.split(":")[0] in rules_edge.RESOURCE_RULES] == []


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("minimumProtocolVersion", "TLSv1", "TLS 1.2"),
        ("sslSupportMethod", "vip", "sni-only"),
        ("acmCertificateArn", None, "ACM certificate"),
    ],
)
def test_a_custom_domain_on_weak_tls_is_caught(field: str, value: Any, fragment: str) -> None:
    distribution = props("prod", rules_edge.DISTRIBUTION)
    distribution["viewerCertificate"][field] = value
    violations = rules_edge.custom_domains_use_tls_1_2_and_sni(rules_edge.DISTRIBUTION, distribution)
    assert any(fragment in v for v in violations), violations


def test_a_web_acl_without_the_rate_limit_or_managed_rules_is_caught() -> None:
    acl = props("prod", "aws:wafv2/webAcl:WebAcl")
    type_ = "aws:wafv2/webAcl:WebAcl"
    assert rules_edge.web_acls_block_common_attacks_and_floods(type_, acl) == []
    no_rate = {**acl, "rules": [r for r in acl["rules"] if "rateBasedStatement" not in r["statement"]]}
    assert "no blocking rate-based rule" in " ".join(
        rules_edge.web_acls_block_common_attacks_and_floods(type_, no_rate)
    )
    counted = copy.deepcopy(acl)
    counted["rules"][0]["overrideAction"] = {"count": {}}  # managed rules only counting, never blocking
    assert "AWSManagedRulesCommonRuleSet" in " ".join(
        rules_edge.web_acls_block_common_attacks_and_floods(type_, counted)
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_serving_an_unsigned_content_disposition_is_caught(stack: str) -> None:
    type_ = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
    policy = props(stack, type_)
    assert rules_edge.viewers_never_get_unsigned_representation_headers(type_, policy) == []
    policy["removeHeadersConfig"]["items"] = [
        i for i in policy["removeHeadersConfig"]["items"] if i["header"] != "Content-Disposition"
    ]
    assert "content-disposition" in " ".join(
        rules_edge.viewers_never_get_unsigned_representation_headers(type_, policy)
    )


def test_cors_that_blocks_create_only_uploads_is_caught() -> None:
    type_ = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration"
    cors = props("dev", type_, "media-cors")
    assert rules_edge.upload_cors_admits_create_only_puts(type_, cors) == []
    for rule in cors["corsRules"]:
        rule["allowedHeaders"] = [h for h in rule["allowedHeaders"] if h != "if-none-match"]
    assert rules_edge.upload_cors_admits_create_only_puts(type_, cors) == [
        "CORS rule uploads admits PUT without the If-None-Match header"
    ]
