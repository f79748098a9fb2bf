"""EdgeProtection: the opt-in locked-down edge (custom domain + ACM certificate, AWS WAF)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, parse
from tests.conftest import plan_for
from tools import cdn_config
from tools.plan import Plan

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
TAGS = {"tags": {"project": "lux-video", "stack": "s"}}


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan_for("prod")


def east_provider(plan: Plan) -> str:
    provider = plan.one("pulumi:providers:aws", "edge-us-east-1")
    assert provider.inputs["region"] == "us-east-1"
    return provider.urn


def test_prod_serves_its_own_domain_with_tls_1_2_and_sni(prod: Plan) -> None:
    distribution = prod.one(DISTRIBUTION).inputs
    certificate = prod.one(CERTIFICATE)
    validation = prod.one(VALIDATION)
    assert distribution["aliases"] == ["media.lux.video"]
    assert distribution["viewerCertificate"] == {
        "acmCertificateArn": validation.inputs["certificateArn"],
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    assert certificate.inputs == {"domainName": "media.lux.video", "validationMethod": "DNS"}
    # CloudFront takes certificates only from us-east-1.
    for resource in (certificate, validation):
        assert resource.provider and resource.provider.startswith(east_provider(prod) + "::")
    (record,) = [r for r in prod.of_type(RECORD) if r.name == "edge-certificate-validation-record"]
    assert record.inputs["type"] == "CNAME" and record.inputs["zoneId"] == "Z0123456789PLACEHOLDER"
    assert validation.inputs["validationRecordFqdns"] == [record.inputs["name"].rstrip(".")]


def test_prod_points_its_domain_at_the_distribution(prod: Plan) -> None:
    aliases = {r.inputs["type"]: r.inputs for r in prod.of_type(RECORD) if r.name.startswith("edge-domain-")}
    assert set(aliases) == {"A", "AAAA"}
    for record in aliases.values():
        assert record["name"] == "media.lux.video"
        assert record["aliases"] == [
            {"name": prod.outputs["cdnDomainName"], "zoneId": "Z2FDTNDATAQYW2", "evaluateTargetHealth": False}
        ]


def test_the_app_config_plays_from_the_custom_domain(prod: Plan) -> None:
    assert prod.outputs["cdnBaseUrl"] == "https://media.lux.video"
    assert cdn_config.build(prod.outputs, "prod")["cdnBaseUrl"] == "https://media.lux.video"


def test_prod_has_a_waf_with_the_managed_common_rules_and_a_rate_limit(prod: Plan) -> None:
    acl = prod.one(WEB_ACL)
    assert acl.provider and acl.provider.startswith(east_provider(prod) + "::")
    inputs: dict[str, Any] = acl.inputs
    assert inputs["scope"] == "CLOUDFRONT" and inputs["defaultAction"] == {"allow": {}}
    common, rate = sorted(inputs["rules"], key=lambda rule: rule["priority"])
    assert common["statement"] == {
        "managedRuleGroupStatement": {"vendorName": "AWS", "name": "AWSManagedRulesCommonRuleSet"}
    }
    assert common["overrideAction"] == {"none": {}}  # the group's own block actions apply
    assert rate["action"] == {"block": {}}
    assert rate["statement"] == {"rateBasedStatement": {"limit": 2000, "aggregateKeyType": "IP"}}
    assert all(rule["visibilityConfig"]["cloudwatchMetricsEnabled"] for rule in inputs["rules"])
    assert (
        prod.one(DISTRIBUTION).inputs["webAclId"]
        == f"arn:aws:wafv2:us-east-1:123456789012:global/webacl/lux-video-prod-cdn/{acl.id}"
    )


def test_dev_keeps_the_default_edge(dev_plan: Plan) -> None:
    distribution = dev_plan.one(DISTRIBUTION).inputs
    assert distribution["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert "aliases" not in distribution and "webAclId" not in distribution
    for type_ in (WEB_ACL, CERTIFICATE, RECORD, "lux:edge:EdgeProtection"):
        assert dev_plan.of_type(type_) == []


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"cdnDomain": "Media.Example.com"}, "lux-video:cdnDomain"),
        ({"cdnDomain": "https://media.example.com"}, "lux-video:cdnDomain"),
        ({"cdnHostedZoneId": "Z0123456789ABC"}, "lux-video:cdnHostedZoneId"),
        ({"cdnDomain": "media.example.com", "cdnHostedZoneId": "zone-1"}, "lux-video:cdnHostedZoneId"),
        ({"waf": "true", "wafRateLimit": "5"}, "lux-video:wafRateLimit"),
    ],
)
def test_bad_edge_settings_fail_naming_the_key(raw: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"bucketName": "lux-video-x", **raw}, stack="s", region="us-west-2", default_tags=TAGS)
    assert caught.value.key == key
