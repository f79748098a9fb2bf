"""The media bucket: private, encrypted, TLS-only, readable by this distribution only.

Built alone, with its two wiring steps, from the stack's storage slice; what other components
provide (the distribution's ARN, the log bucket) is given as literals. That the policy names the
stack's real distribution is a whole-stack test (tests/infra/test_stack.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import parliament
import pulumi
import pytest

from infra import storage
from infra.config import StorageConfig, from_stack_file
from policy import rules
from tests.conftest import DEV_CONFIG, SECURED_CONFIG, component_plan
from tests.infra.helpers import (
    BUCKET,
    BUCKET_CORS,
    BUCKET_POLICY,
    DEV_ORIGINS,
    ENCRYPTION,
    LIFECYCLE,
    OWNERSHIP,
    PUBLIC_ACCESS_BLOCK,
    document,
    props,
    statement,
)
from tools.plan import Plan

# What the CDN and the log archive hand the bucket in the stack.
DISTRIBUTION_ARN = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"
LOG_BUCKET = "lux-video-dev-262a61d7-logs"


def media_bucket(config: StorageConfig) -> Callable[[], dict[str, pulumi.Output[str]]]:
    def build() -> dict[str, pulumi.Output[str]]:
        media = storage.MediaBucket("media", config)
        storage.grant_cdn_read(media, DISTRIBUTION_ARN)
        storage.log_access(media, LOG_BUCKET, depends_on=[])
        return {"bucketName": media.bucket.bucket}

    return build


BUILD_DEV = media_bucket(DEV_CONFIG.storage)
BUILD_SECURED = media_bucket(SECURED_CONFIG.storage)
BUILD_PROD = media_bucket(from_stack_file("prod").storage)


@pytest.fixture
def bucket_plan() -> Plan:
    """The dev stack's media bucket alone."""
    return component_plan(BUILD_DEV)


@pytest.fixture
def secured_bucket_plan() -> Plan:
    """The media bucket of the secured variant (tests/conftest.py SECURED_OVERRIDES) alone."""
    return component_plan(BUILD_SECURED)


def test_bucket_takes_its_name_from_config(bucket_plan: Plan) -> None:
    assert bucket_plan.one(BUCKET, "media").inputs["bucket"] == "lux-video-dev-262a61d7"
    assert bucket_plan.one(BUCKET, "media").inputs.get("forceDestroy") is False


def test_bucket_blocks_every_kind_of_public_access(bucket_plan: Plan) -> None:
    block = bucket_plan.one(PUBLIC_ACCESS_BLOCK, "media-public-access-block").inputs
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag
    assert block["bucket"] == "lux-video-dev-262a61d7"


def test_public_access_rule_catches_a_single_flag_turned_off(bucket_plan: Plan) -> None:
    broken = props(bucket_plan, PUBLIC_ACCESS_BLOCK, "media-public-access-block")
    broken["restrictPublicBuckets"] = False
    assert rules.bucket_blocks_public_access(PUBLIC_ACCESS_BLOCK, broken) == [
        "public access block: restrictPublicBuckets must be true"
    ]


def test_bucket_ownership_is_enforced_so_acls_are_disabled(bucket_plan: Plan) -> None:
    assert bucket_plan.one(OWNERSHIP, "media-ownership").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }


def test_bucket_encrypts_by_default(bucket_plan: Plan) -> None:
    (rule,) = bucket_plan.one(ENCRYPTION, "media-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")


def test_bucket_cors_allows_direct_uploads_and_cdn_read_preflights_and_exposes_etag(
    bucket_plan: Plan,
) -> None:
    uploads, reads = bucket_plan.one(BUCKET_CORS).inputs["corsRules"]
    # POST (create, complete) and DELETE (abort): Uppy's signRequest mode talks to S3 itself; listing
    # parts is a GET without custom headers (the reads rule).
    assert uploads["allowedMethods"] == ["PUT", "POST", "DELETE"]
    assert uploads["exposeHeaders"] == ["ETag"]  # Uppy reads each part's ETag
    # If-None-Match: immutable files are signed create-only, and a browser must be allowed to send it.
    # Content-Encoding: signed (identity) on every upload.
    assert sorted(uploads["allowedHeaders"]) == [
        "cache-control",
        "content-encoding",
        "content-length",
        "content-type",
        "if-none-match",
    ]
    # GET preflights arrive from players through CloudFront's origin request policy.
    assert sorted(reads["allowedMethods"]) == ["GET", "HEAD"]
    assert sorted(reads["allowedHeaders"]) == ["if-modified-since", "if-none-match", "range"]
    for rule in (uploads, reads):
        assert rule["allowedOrigins"] == list(DEV_ORIGINS)
        assert rule["exposeHeaders"] == ["ETag"]


def test_bucket_cors_follows_the_configured_origins(secured_bucket_plan: Plan) -> None:
    for rule in secured_bucket_plan.one(BUCKET_CORS).inputs["corsRules"]:
        assert rule["allowedOrigins"] == ["https://app.example.com", "http://localhost:8080"]


def test_uploads_expire_after_the_configured_days_and_multipart_uploads_are_aborted(
    bucket_plan: Plan, secured_bucket_plan: Plan
) -> None:
    # (the third rule expires the synthetic check's leftover probes: tests/monitoring)
    expire, abort, _ = bucket_plan.one(LIFECYCLE, "media-lifecycle").inputs["rules"]
    assert expire["status"] == "Enabled"
    assert expire["filter"] == {"prefix": "videos/"}
    assert expire["expiration"] == {"days": 30}
    assert abort["status"] == "Enabled"
    assert abort["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 1}

    expire, *_ = secured_bucket_plan.one(LIFECYCLE, "media-lifecycle").inputs["rules"]
    assert expire["filter"] == {"prefix": "media/uploads/"}
    assert expire["expiration"] == {"days": 7}


def test_only_this_distribution_may_read_and_only_under_the_prefix(bucket_plan: Plan) -> None:
    policy = document(bucket_plan.one(BUCKET_POLICY, "media-policy"), "policy")
    read = statement(policy, "AllowCloudFrontOacRead")
    assert read["Effect"] == "Allow"
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == "arn:aws:s3:::lux-video-dev-262a61d7/videos/*"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}}


def test_bucket_denies_requests_without_tls(bucket_plan: Plan) -> None:
    deny = statement(
        document(bucket_plan.one(BUCKET_POLICY, "media-policy"), "policy"), "DenyInsecureTransport"
    )
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "s3:*"
    assert deny["Resource"] == [
        "arn:aws:s3:::lux-video-dev-262a61d7",
        "arn:aws:s3:::lux-video-dev-262a61d7/*",
    ]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bucket_policy_rule_catches_a_missing_tls_deny_and_a_public_read(bucket_plan: Plan) -> None:
    good = props(bucket_plan, BUCKET_POLICY, "media-policy")
    assert rules.bucket_policy_is_private_and_tls_only(BUCKET_POLICY, good) == []

    no_tls = json.loads(good["policy"])
    no_tls["Statement"] = [s for s in no_tls["Statement"] if s["Sid"] != "DenyInsecureTransport"]
    assert any(
        "SecureTransport" in v
        for v in rules.bucket_policy_is_private_and_tls_only(BUCKET_POLICY, {"policy": json.dumps(no_tls)})
    )

    public = json.loads(good["policy"])
    public["Statement"][0]["Principal"] = "*"
    assert any(
        "public principal" in v
        for v in rules.bucket_policy_is_private_and_tls_only(BUCKET_POLICY, {"policy": json.dumps(public)})
    )

    any_distribution = json.loads(good["policy"])
    any_distribution["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"] = (
        "arn:aws:cloudfront::1:distribution/*"
    )
    assert any(
        "one distribution" in v
        for v in rules.bucket_policy_is_private_and_tls_only(
            BUCKET_POLICY, {"policy": json.dumps(any_distribution)}
        )
    )


def test_bucket_policy_waits_for_the_public_access_block(bucket_plan: Plan) -> None:
    # The policy is a child of the bucket component, declared after the distribution exists.
    policy = bucket_plan.one(BUCKET_POLICY, "media-policy")
    assert policy.parent is not None and policy.parent.endswith("lux:storage:MediaBucket::media")


def test_bucket_policy_passes_parliament_with_no_findings(bucket_plan: Plan) -> None:
    text = bucket_plan.one(BUCKET_POLICY, "media-policy").inputs["policy"]
    findings = parliament.analyze_policy_string(
        text, include_community_auditors=False, config=parliament.config
    ).findings
    assert findings == []


def test_parliament_would_flag_a_broken_bucket_policy(bucket_plan: Plan) -> None:
    broken = json.loads(bucket_plan.one(BUCKET_POLICY, "media-policy").inputs["policy"])
    broken["Statement"][0]["Action"] = "s3:GetObjekt"
    findings = parliament.analyze_policy_string(
        json.dumps(broken), include_community_auditors=False, config=parliament.config
    ).findings
    assert findings, "parliament must catch an unknown action"


def test_prod_keeps_overwritten_and_deleted_versions_for_at_most_30_days() -> None:
    prod = component_plan(BUILD_PROD, stack="prod", region=from_stack_file("prod").region)
    versioning = prod.one("aws:s3/bucketVersioning:BucketVersioning", "media-versioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    rules = {
        r["id"]: r
        for r in prod.one(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "media-lifecycle"
        ).inputs["rules"]
    }
    noncurrent = rules["expire-noncurrent-versions"]
    assert noncurrent["status"] == "Enabled" and noncurrent["filter"] == {"prefix": ""}
    assert 1 <= noncurrent["noncurrentVersionExpiration"]["noncurrentDays"] <= 30
    assert noncurrent["expiration"] == {"expiredObjectDeleteMarker": True}


def test_versioning_is_off_unless_configured(bucket_plan: Plan) -> None:
    assert bucket_plan.of_type("aws:s3/bucketVersioning:BucketVersioning") == []
    rules = bucket_plan.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "media-lifecycle"
    ).inputs["rules"]
    assert "expire-noncurrent-versions" not in {r["id"] for r in rules}


@pytest.mark.parametrize("days", ["0", "31", "x"])
def test_noncurrent_version_days_is_bounded(days: str) -> None:
    from infra.config import ConfigError, parse

    with pytest.raises(ConfigError, match="noncurrentVersionDays"):
        parse({"bucketName": "lux-video-x", "versioning": "true", "noncurrentVersionDays": days}, stack="s",
              region="us-west-2", default_tags={"tags": {"project": "lux-video", "stack": "s"}})  # fmt: skip


# In the canonical mock style (assertions inside apply, under @pulumi.runtime.test): tests/conftest.py pulumi_mocks.


def test_media_bucket_component_exposes_its_bucket(pulumi_mocks) -> None:
    pulumi_mocks()

    @pulumi.runtime.test
    def check() -> pulumi.Output:
        media = storage.MediaBucket("m", StorageConfig("lux-unit-bucket", "videos/", 30, ("*",)))

        def verify(values: list) -> None:
            name, arn, domain = values
            assert name == "lux-unit-bucket"
            assert arn == "arn:aws:s3:::lux-unit-bucket"
            assert domain == "lux-unit-bucket.s3.us-west-2.amazonaws.com"

        return pulumi.Output.all(
            media.bucket.bucket, media.bucket.arn, media.bucket.bucket_regional_domain_name
        ).apply(verify)

    check()
