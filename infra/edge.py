"""An edge that can be locked down, opt-in per stack: a custom domain with its own certificate and
an AWS WAF web ACL in front of the distribution.

Both live in us-east-1 (CloudFront reads certificates and web ACLs only there), so the component
has its own explicit provider. The distribution takes :attr:`EdgeProtection.web_acl_arn` and
:attr:`EdgeProtection.viewer_certificate`; once the distribution exists, :func:`point_domain`
adds the DNS alias records when the hosted zone is managed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import EdgeConfig

EDGE_REGION = "us-east-1"
# The default certificate allows TLSv1; with our own certificate the floor is TLS 1.2.
MINIMUM_PROTOCOL_VERSION = "TLSv1.2_2021"


@dataclass(frozen=True)
class EdgeProtectionArgs:
    config: EdgeConfig
    tags: dict[str, str]


class EdgeProtection(pulumi.ComponentResource):
    """Owns the us-east-1 provider, the certificate (+ DNS validation records when the zone is
    given) and the web ACL."""

    def __init__(
        self, name: str, args: EdgeProtectionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lux:edge:EdgeProtection", name, None, opts)
        self.name = name
        config = args.config
        provider = aws.Provider(
            f"{name}-{EDGE_REGION}",
            region=EDGE_REGION,
            default_tags={"tags": args.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.east = pulumi.ResourceOptions(parent=self, provider=provider)

        self.web_acl: aws.wafv2.WebAcl | None = None
        self.web_acl_name = f"{config.name_prefix}-cdn" if config.waf_rate_limit is not None else None
        if self.web_acl_name is not None and config.waf_rate_limit is not None:
            self.web_acl = aws.wafv2.WebAcl(
                f"{name}-waf",
                name=self.web_acl_name,
                description="AWS managed common rules and a per-IP rate limit in front of the media CDN",
                scope="CLOUDFRONT",
                default_action={"allow": {}},
                rules=policies.waf_rules(config.name_prefix, config.waf_rate_limit),
                visibility_config=policies.waf_visibility(self.web_acl_name),
                opts=self.east,
            )

        self.certificate: aws.acm.Certificate | None = None
        self.certificate_arn: pulumi.Output[str] | None = None
        if config.domain is not None:
            self.certificate = aws.acm.Certificate(
                f"{name}-certificate",
                domain_name=config.domain,
                validation_method="DNS",
                opts=self.east,
            )
            fqdns: list[pulumi.Output[str]] | None = None
            if config.hosted_zone_id is not None:
                option = self.certificate.domain_validation_options[0]
                record = aws.route53.Record(
                    f"{name}-certificate-validation-record",
                    zone_id=config.hosted_zone_id,
                    name=option.resource_record_name,
                    type=option.resource_record_type,
                    records=[option.resource_record_value],
                    ttl=300,
                    allow_overwrite=True,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                fqdns = [record.fqdn]
            # Waits until the certificate is issued (the DNS record made here or by hand).
            validation = aws.acm.CertificateValidation(
                f"{name}-certificate-validation",
                certificate_arn=self.certificate.arn,
                validation_record_fqdns=fqdns,
                opts=self.east,
            )
            self.certificate_arn = validation.certificate_arn

        self.web_acl_arn = self.web_acl.arn if self.web_acl is not None else None
        self.register_outputs({"webAclArn": self.web_acl_arn, "certificateArn": self.certificate_arn})

    def viewer_certificate(self) -> dict[str, Any]:
        """The distribution's viewer certificate: ours (SNI, TLS 1.2+) or CloudFront's default."""
        if self.certificate_arn is None:
            return {"cloudfrontDefaultCertificate": True}
        return {
            "acmCertificateArn": self.certificate_arn,
            "sslSupportMethod": "sni-only",
            "minimumProtocolVersion": MINIMUM_PROTOCOL_VERSION,
        }


def point_domain(
    edge: EdgeProtection, config: EdgeConfig, distribution: aws.cloudfront.Distribution
) -> list[aws.route53.Record]:
    """A and AAAA alias records for the custom domain, when its hosted zone is managed here."""
    if config.domain is None or config.hosted_zone_id is None:
        return []
    return [
        aws.route53.Record(
            f"{edge.name}-domain-{kind.lower()}",
            zone_id=config.hosted_zone_id,
            name=config.domain,
            type=kind,
            aliases=[
                {
                    "name": distribution.domain_name,
                    "zone_id": distribution.hosted_zone_id,
                    "evaluate_target_health": False,
                }
            ],
            opts=pulumi.ResourceOptions(parent=edge),
        )
        for kind in ("A", "AAAA")
    ]
