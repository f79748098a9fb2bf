"""The CDN: OAC to the private bucket, HTTPS only, manifests fresh, segments immutable.

Built alone from the stack's CDN slice, in front of a literal bucket origin and without access
logs (the log archive's part). That its origin is the stack's own bucket is a whole-stack test
(tests/infra/test_stack.py).
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pytest

from infra import policies
from infra.cdn import Cdn, CdnArgs
from infra.config import CdnConfig
from lambda_src.sign_uploads import media
from policy import rules
from tests.conftest import DEV_CONFIG, SECURED_CONFIG, component_plan
from tests.infra.helpers import CACHE_POLICY, DEV_ORIGINS, DISTRIBUTION, HEADERS_POLICY, OAC, props
from tools.plan import Plan

# What the media bucket hands the CDN in the stack.
BUCKET_REGIONAL_DOMAIN_NAME = "lux-video-dev-262a61d7.s3.us-west-2.amazonaws.com"


def cdn(config: CdnConfig) -> Callable[[], dict[str, pulumi.Output[str]]]:
    def build() -> dict[str, pulumi.Output[str]]:
        component = Cdn("cdn", CdnArgs(config, bucket_regional_domain_name=BUCKET_REGIONAL_DOMAIN_NAME))
        return {"baseUrl": component.base_url, "domainName": component.domain_name}

    return build


BUILD_DEV = cdn(DEV_CONFIG.cdn)
BUILD_SECURED = cdn(SECURED_CONFIG.cdn)


@pytest.fixture
def cdn_plan() -> Plan:
    """The dev stack's CDN alone."""
    return component_plan(BUILD_DEV)


@pytest.fixture
def secured_cdn_plan() -> Plan:
    """The CDN of the secured variant (tests/conftest.py SECURED_OVERRIDES) alone."""
    return component_plan(BUILD_SECURED)


def behaviors(plan: Plan) -> dict[str, dict]:
    distribution = plan.one(DISTRIBUTION).inputs
    found = {"default": distribution["defaultCacheBehavior"]}
    found.update({b["pathPattern"]: b for b in distribution["orderedCacheBehaviors"]})
    return found


def cache_policy_ids(plan: Plan) -> dict[str, str]:
    """Cache policy name -> its ID (what the behaviours reference)."""
    return {p.inputs["name"]: p.id for p in plan.of_type(CACHE_POLICY)}


def test_origin_reads_the_bucket_through_origin_access_control(cdn_plan: Plan) -> None:
    (origin,) = cdn_plan.one(DISTRIBUTION).inputs["origins"]
    assert origin["domainName"] == "lux-video-dev-262a61d7.s3.us-west-2.amazonaws.com"
    assert origin["originAccessControlId"]
    assert "s3OriginConfig" not in origin and "customOriginConfig" not in origin
    oac = cdn_plan.one(OAC).inputs
    assert oac["originAccessControlOriginType"] == "s3"
    assert oac["signingBehavior"] == "always"
    assert oac["signingProtocol"] == "sigv4"


def test_oac_rule_catches_a_legacy_identity_or_a_missing_oac(cdn_plan: Plan) -> None:
    good = props(cdn_plan, DISTRIBUTION)
    assert rules.cdn_uses_oac_for_s3(DISTRIBUTION, good) == []
    legacy = props(cdn_plan, DISTRIBUTION)
    legacy["origins"][0]["s3OriginConfig"] = {"originAccessIdentity": "origin-access-identity/cloudfront/E1"}
    del legacy["origins"][0]["originAccessControlId"]
    assert len(rules.cdn_uses_oac_for_s3(DISTRIBUTION, legacy)) == 2


def test_viewers_are_redirected_to_https_on_every_behavior(cdn_plan: Plan) -> None:
    for pattern, behavior in behaviors(cdn_plan).items():
        assert behavior["viewerProtocolPolicy"] == "redirect-to-https", pattern
    broken = props(cdn_plan, DISTRIBUTION)
    broken["orderedCacheBehaviors"][0]["viewerProtocolPolicy"] = "allow-all"
    assert rules.cdn_redirects_viewers_to_https(DISTRIBUTION, broken) == [
        "cache behavior *.m3u8 lets viewers use plain HTTP"
    ]


def test_distribution_serves_http2_and_3_compressed_at_the_configured_price_class(
    cdn_plan: Plan, secured_cdn_plan: Plan
) -> None:
    distribution = cdn_plan.one(DISTRIBUTION).inputs
    assert distribution["httpVersion"] == "http2and3"
    assert distribution["enabled"] is True
    assert distribution["priceClass"] == "PriceClass_100"
    assert all(b["compress"] is True for b in behaviors(cdn_plan).values())
    assert secured_cdn_plan.one(DISTRIBUTION).inputs["priceClass"] == "PriceClass_All"


def test_media_is_read_only_at_the_edge(cdn_plan: Plan) -> None:
    for behavior in behaviors(cdn_plan).values():
        assert sorted(behavior["allowedMethods"]) == ["GET", "HEAD", "OPTIONS"]


def test_manifests_and_segments_use_separate_cache_policies(cdn_plan: Plan) -> None:
    ids = cache_policy_ids(cdn_plan)
    manifests, segments = ids["lux-video-dev-manifests"], ids["lux-video-dev-segments"]
    assert manifests != segments
    found = behaviors(cdn_plan)
    assert found["*.m3u8"]["cachePolicyId"] == manifests
    for pattern in ("*.ts", "*.m4s", "*.mp4", "*.aac", "*.vtt", "default"):
        assert found[pattern]["cachePolicyId"] == segments, pattern
    # The manifest behaviour must come first: CloudFront takes the first matching pattern.
    ordered = cdn_plan.one(DISTRIBUTION).inputs["orderedCacheBehaviors"]
    assert ordered[0]["pathPattern"] == "*.m3u8"


def test_manifest_ttl_is_seconds_and_segments_are_cached_for_a_year(cdn_plan: Plan) -> None:
    by_name = {p.inputs["name"]: p.inputs for p in cdn_plan.of_type(CACHE_POLICY)}
    manifests = by_name["lux-video-dev-manifests"]
    assert manifests["minTtl"] == 0
    assert 1 <= manifests["defaultTtl"] <= manifests["maxTtl"] <= 60
    segments = by_name["lux-video-dev-segments"]
    assert segments["defaultTtl"] == segments["maxTtl"] == 31_536_000
    assert segments["minTtl"] >= 3600


def test_cdn_ttls_agree_with_the_cache_control_the_signer_stores() -> None:
    ttls = policies.cache_policy_ttls()
    assert f"max-age={ttls['manifests']['defaultTtl']}" in media.cache_control_for("master.m3u8")
    assert f"max-age={ttls['segments']['maxTtl']}" in media.cache_control_for("720p/seg_001.ts")
    assert "immutable" in media.cache_control_for("720p.mp4")
    # Every segment extension routed to the segment policy is one the signer accepts.
    assert set(media.SEGMENT_PATH_EXTENSIONS) <= set(media.MEDIA_TYPES)


def test_no_cookies_or_query_strings_in_any_cache_key(cdn_plan: Plan) -> None:
    for policy in cdn_plan.of_type(CACHE_POLICY):
        parameters = policy.inputs["parametersInCacheKeyAndForwardedToOrigin"]
        assert parameters["cookiesConfig"] == {"cookieBehavior": "none"}
        assert parameters["queryStringsConfig"] == {"queryStringBehavior": "none"}
        assert parameters["headersConfig"] == {"headerBehavior": "none"}
        assert rules.cache_keys_have_no_cookies_or_query_strings(CACHE_POLICY, policy.inputs) == []
    broken = props(cdn_plan, CACHE_POLICY, "cdn-segments")
    broken["parametersInCacheKeyAndForwardedToOrigin"]["queryStringsConfig"] = {"queryStringBehavior": "all"}
    assert rules.cache_keys_have_no_cookies_or_query_strings(CACHE_POLICY, broken)


def test_response_headers_policy_injects_cors_and_exposes_etag_over_the_origin(cdn_plan: Plan) -> None:
    cors = cdn_plan.one(HEADERS_POLICY).inputs["corsConfig"]
    assert cors["originOverride"] is True
    assert sorted(cors["accessControlAllowMethods"]["items"]) == ["GET", "HEAD", "OPTIONS"]
    assert cors["accessControlAllowOrigins"]["items"] == list(DEV_ORIGINS)
    assert "ETag" in cors["accessControlExposeHeaders"]["items"]
    assert cors["accessControlAllowCredentials"] is False
    for behavior in behaviors(cdn_plan).values():
        assert behavior["responseHeadersPolicyId"]


def test_response_headers_policy_follows_the_configured_origins(secured_cdn_plan: Plan) -> None:
    cors = secured_cdn_plan.one(HEADERS_POLICY).inputs["corsConfig"]
    assert cors["accessControlAllowOrigins"]["items"] == ["https://app.example.com", "http://localhost:8080"]


def test_account_unique_names_carry_the_stack(cdn_plan: Plan) -> None:
    names = [p.inputs["name"] for p in cdn_plan.of_type(CACHE_POLICY)] + [cdn_plan.one(OAC).inputs["name"]]
    assert all(name.startswith("lux-video-dev-") for name in names)


def test_preflights_reach_s3_with_their_cors_headers_and_are_never_cached(cdn_plan: Plan) -> None:
    policy = cdn_plan.one("aws:cloudfront/originRequestPolicy:OriginRequestPolicy")
    assert policy.inputs["headersConfig"] == {
        "headerBehavior": "whitelist",
        "headers": {"items": ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]},
    }
    assert policy.inputs["cookiesConfig"] == {"cookieBehavior": "none"}
    assert policy.inputs["queryStringsConfig"] == {"queryStringBehavior": "none"}
    for pattern, behavior in behaviors(cdn_plan).items():
        assert behavior["originRequestPolicyId"] == policy.id, pattern
        # S3's preflight answer depends on the Origin, which is not in the cache key.
        assert "OPTIONS" not in behavior["cachedMethods"], pattern
        assert "OPTIONS" in behavior["allowedMethods"], pattern


def test_the_app_plays_from_the_distributions_own_https_domain(cdn_plan: Plan) -> None:
    assert cdn_plan.outputs["domainName"].endswith(".cloudfront.net")
    assert cdn_plan.outputs["baseUrl"] == f"https://{cdn_plan.outputs['domainName']}"
