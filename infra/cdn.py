"""The CDN: CloudFront in front of the private bucket, reading it through Origin Access Control."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import CdnConfig

ORIGIN_ID = "media-bucket"
READ_METHODS = ["GET", "HEAD", "OPTIONS"]
# Preflight answers are not cached: S3's answer depends on the Origin, which is not in the cache key.
CACHED_METHODS = ["GET", "HEAD"]


@dataclass(frozen=True)
class CdnArgs:
    config: CdnConfig
    bucket_regional_domain_name: pulumi.Input[str]
    # The locked-down edge (infra/edge.py): a WAF web ACL, a custom domain and its certificate.
    web_acl_arn: pulumi.Input[str] | None = None
    domain: str | None = None
    viewer_certificate: Mapping[str, Any] = field(
        default_factory=lambda: {"cloudfrontDefaultCertificate": True}
    )


class Cdn(pulumi.ComponentResource):
    """Owns the OAC, the two cache policies (manifests / segments), the response headers policy
    and the distribution. The bucket grants this distribution read access (MediaBucket)."""

    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:cdn:Cdn", name, None, opts)
        config = args.config

        def adopting(key: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, import_=config.adopt.get(key))

        self.origin_access_control = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=f"{config.name_prefix}-media",
            description="CloudFront reads the private media bucket with SigV4",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=adopting("originAccessControl"),
        )
        ttls = policies.cache_policy_ttls()

        def cache_policy(kind: str, comment: str, adopt_key: str) -> aws.cloudfront.CachePolicy:
            return aws.cloudfront.CachePolicy(
                f"{name}-{kind}",
                name=f"{config.name_prefix}-{kind}",
                comment=comment,
                parameters_in_cache_key_and_forwarded_to_origin=policies.cache_key_parameters(),
                min_ttl=ttls[kind]["minTtl"],
                default_ttl=ttls[kind]["defaultTtl"],
                max_ttl=ttls[kind]["maxTtl"],
                opts=adopting(adopt_key),
            )

        self.manifest_cache_policy = cache_policy(
            "manifests",
            "HLS playlists: seconds-level TTL so re-uploads are never stale",
            "manifestCachePolicy",
        )
        self.segment_cache_policy = cache_policy(
            "segments",
            "Segments, renditions, thumbnails: immutable per job, cached for a year",
            "segmentCachePolicy",
        )
        self.response_headers_policy = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-headers",
            name=f"{config.name_prefix}-media-headers",
            comment="CORS for players, ETag exposed, security headers, unsigned representation headers removed",
            cors_config=policies.cdn_cors(config.cors_allowed_origins),
            security_headers_config=policies.cdn_security_headers(),
            remove_headers_config=policies.cdn_remove_headers(),
            opts=adopting("responseHeadersPolicy"),
        )

        forwarded = policies.cdn_origin_request_parameters()
        self.origin_request_policy = aws.cloudfront.OriginRequestPolicy(
            f"{name}-cors-to-origin",
            name=f"{config.name_prefix}-cors-to-origin",
            comment="Forward the viewer's CORS headers to S3 so it can answer preflights",
            cookies_config=forwarded["cookiesConfig"],
            headers_config=forwarded["headersConfig"],
            query_strings_config=forwarded["queryStringsConfig"],
            opts=pulumi.ResourceOptions(parent=self),
        )

        def behavior(cache_policy: aws.cloudfront.CachePolicy, path_pattern: str | None = None) -> dict:
            spec = {
                "targetOriginId": ORIGIN_ID,
                "viewerProtocolPolicy": "redirect-to-https",
                "allowedMethods": READ_METHODS,
                "cachedMethods": CACHED_METHODS,
                "compress": True,
                "cachePolicyId": cache_policy.id,
                "originRequestPolicyId": self.origin_request_policy.id,
                "responseHeadersPolicyId": self.response_headers_policy.id,
            }
            if path_pattern is not None:
                spec["pathPattern"] = path_pattern
            return spec

        ordered = [behavior(self.manifest_cache_policy, p) for p in policies.manifest_path_patterns()]
        ordered += [behavior(self.segment_cache_policy, p) for p in policies.segment_path_patterns()]

        self.distribution = aws.cloudfront.Distribution(
            name,
            enabled=True,
            comment=f"{config.name_prefix} media",
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=config.price_class,
            origins=[
                {
                    "originId": ORIGIN_ID,
                    "domainName": args.bucket_regional_domain_name,
                    # OAC only: no s3OriginConfig, so no legacy origin access identity.
                    "originAccessControlId": self.origin_access_control.id,
                }
            ],
            default_cache_behavior=behavior(self.segment_cache_policy),
            ordered_cache_behaviors=ordered,
            restrictions={"geoRestriction": {"restrictionType": "none"}},
            viewer_certificate=dict(args.viewer_certificate),
            aliases=[args.domain] if args.domain else None,
            web_acl_id=args.web_acl_arn,
            # No legacy logging_config: access logs go through standard logging v2, configured
            # outside the distribution (LogArchive.deliver_cloudfront_logs), with no bucket ACLs.
            # protect: a new distribution means a new domain, and the app ships with the domain.
            opts=pulumi.ResourceOptions(parent=self, protect=True, import_=config.adopt.get("distribution")),
        )
        self.monitoring_subscription: aws.cloudfront.MonitoringSubscription | None = None
        if config.additional_metrics:
            self.monitoring_subscription = aws.cloudfront.MonitoringSubscription(
                f"{name}-additional-metrics",
                distribution_id=self.distribution.id,
                monitoring_subscription={
                    "realtimeMetricsSubscriptionConfig": {"realtimeMetricsSubscriptionStatus": "Enabled"}
                },
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.domain_name = self.distribution.domain_name
        # What the app plays from: the custom domain when there is one.
        self.base_url = (
            pulumi.Output.from_input(f"https://{args.domain}")
            if args.domain
            else self.distribution.domain_name.apply(lambda domain: f"https://{domain}")
        )
        self.register_outputs(
            {
                "distributionId": self.distribution.id,
                "distributionArn": self.distribution.arn,
                "domainName": self.domain_name,
                "baseUrl": self.base_url,
            }
        )
