"""The media bucket: private, encrypted, TLS-only, readable by this distribution only."""

from __future__ import annotations

import json

import parliament
import pytest

from policy import rules
from tests.conftest import plan_for
from tests.infra.helpers import (
    BUCKET,
    BUCKET_CORS,
    BUCKET_POLICY,
    DEV_ORIGINS,
    DISTRIBUTION,
    ENCRYPTION,
    LIFECYCLE,
    OWNERSHIP,
    PUBLIC_ACCESS_BLOCK,
    document,
    props,
    statement,
)
from tools.plan import Plan


def test_bucket_takes_its_name_from_config(dev_plan: Plan) -> None:
    assert dev_plan.one(BUCKET, "media").inputs["bucket"] == "lux-video-dev-262a61d7"
    assert dev_plan.one(BUCKET, "media").inputs.get("forceDestroy") is False


def test_bucket_blocks_every_kind_of_public_access(dev_plan: Plan) -> None:
    block = dev_plan.one(PUBLIC_ACCESS_BLOCK, "media-public-access-block").inputs
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag
    assert block["bucket"] == "lux-video-dev-262a61d7"


def test_public_access_rule_catches_a_single_flag_turned_off(dev_plan: Plan) -> None:
    broken = props(dev_plan, PUBLIC_ACCESS_BLOCK, "media-public-access-block")
    broken["restrictPublicBuckets"] = False
    assert rules.bucket_blocks_public_access(PUBLIC_ACCESS_BLOCK, broken) == [
        "public access block: restrictPublicBuckets must be true"
    ]


def test_bucket_ownership_is_enforced_so_acls_are_disabled(dev_plan: Plan) -> None:
    assert dev_plan.one(OWNERSHIP, "media-ownership").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }


def test_bucket_encrypts_by_default(dev_plan: Plan) -> None:
    (rule,) = dev_plan.one(ENCRYPTION, "media-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")


def test_bucket_cors_allows_direct_uploads_and_cdn_read_preflights_and_exposes_etag(dev_plan: Plan) -> None:
    uploads, reads = dev_plan.one(BUCKET_CORS).inputs["corsRules"]
    assert uploads["allowedMethods"] == ["PUT"]
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


def test_bucket_cors_follows_the_configured_origins(secured_plan: Plan) -> None:
    for rule in secured_plan.one(BUCKET_CORS).inputs["corsRules"]:
        assert rule["allowedOrigins"] == ["https://app.example.com", "http://localhost:8080"]


def test_uploads_expire_after_the_configured_days_and_multipart_uploads_are_aborted(
    dev_plan: Plan, secured_plan: Plan
) -> None:
    # (the third rule expires the synthetic check's leftover probes: tests/monitoring)
    expire, abort, _ = dev_plan.one(LIFECYCLE, "media-lifecycle").inputs["rules"]
    assert expire["status"] == "Enabled"
    assert expire["filter"] == {"prefix": "videos/"}
    assert expire["expiration"] == {"days": 30}
    assert abort["status"] == "Enabled"
    assert abort["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 1}

    expire, *_ = secured_plan.one(LIFECYCLE, "media-lifecycle").inputs["rules"]
    assert expire["filter"] == {"prefix": "media/uploads/"}
    assert expire["expiration"] == {"days": 7}


def test_only_this_distribution_may_read_and_only_under_the_prefix(dev_plan: Plan) -> None:
    policy = document(dev_plan.one(BUCKET_POLICY, "media-policy"), "policy")
    read = statement(policy, "AllowCloudFrontOacRead")
    distribution_id = dev_plan.outputs["distributionId"]
    assert read["Effect"] == "Allow"
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == "arn:aws:s3:::lux-video-dev-262a61d7/videos/*"
    assert read["Condition"] == {
        "StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::123456789012:distribution/{distribution_id}"}
    }
    assert dev_plan.one(DISTRIBUTION).name == "cdn"


def test_bucket_denies_requests_without_tls(dev_plan: Plan) -> None:
    deny = statement(document(dev_plan.one(BUCKET_POLICY, "media-policy"), "policy"), "DenyInsecureTransport")
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "s3:*"
    assert deny["Resource"] == [
        "arn:aws:s3:::lux-video-dev-262a61d7",
        "arn:aws:s3:::lux-video-dev-262a61d7/*",
    ]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bucket_policy_rule_catches_a_missing_tls_deny_and_a_public_read(dev_plan: Plan) -> None:
    good = props(dev_plan, BUCKET_POLICY, "media-policy")
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


def test_bucket_policy_waits_for_the_public_access_block(dev_plan: Plan) -> None:
    # The policy is a child of the bucket component, declared after the distribution exists.
    policy = dev_plan.one(BUCKET_POLICY, "media-policy")
    assert policy.parent is not None and policy.parent.endswith("lux:storage:MediaBucket::media")


def test_bucket_policy_passes_parliament_with_no_findings(dev_plan: Plan) -> None:
    text = dev_plan.one(BUCKET_POLICY, "media-policy").inputs["policy"]
    findings = parliament.analyze_policy_string(
        text, include_community_auditors=False, config=parliament.config
    ).findings
    assert findings == []


def test_parliament_would_flag_a_broken_bucket_policy(dev_plan: Plan) -> None:
    broken = json.loads(dev_plan.one(BUCKET_POLICY, "media-policy").inputs["policy"])
    broken["Statement"][0]["Action"] = "s3:GetObjekt"
    findings = parliament.analyze_policy_string(
        json.dumps(broken), include_community_auditors=False, config=parliament.config
    ).findings
    assert findings, "parliament must catch an unknown action"


def test_prod_keeps_overwritten_and_deleted_versions_for_at_most_30_days() -> None:
    prod = plan_for("prod")
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


def test_versioning_is_off_unless_configured(dev_plan: Plan) -> None:
    assert dev_plan.of_type("aws:s3/bucketVersioning:BucketVersioning") == []
    rules = dev_plan.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "media-lifecycle"
    ).inputs["rules"]
    assert "expire-noncurrent-versions" not in {r["id"] for r in rules}


@pytest.mark.parametrize("days", ["0", "31", "x"])
def test_noncurrent_version_days_is_bounded(days: str) -> None:
    from infra.config import ConfigError, parse

    with pytest.raises(ConfigError, match="noncurrentVersionDays"):
        parse({"bucketName": "lux-video-x", "versioning": "true", "noncurrentVersionDays": days}, stack="s",
              region="us-west-2", default_tags={"tags": {"project": "lux-video", "stack": "s"}})  # fmt: skip
