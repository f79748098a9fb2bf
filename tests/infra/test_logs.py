"""LogArchive: the log bucket, its policy, the Glue table, the Athena workgroup and queries."""

from __future__ import annotations

import json
import re

import parliament
import pytest

from infra import logs, packaging
from policy import rules
from tests.conftest import plan_for, stack_config
from tests.infra.helpers import (
    BUCKET,
    BUCKET_LOGGING,
    DELIVERY,
    DELIVERY_DESTINATION,
    DELIVERY_SOURCE,
    DISTRIBUTION,
    GLUE_TABLE,
    LIFECYCLE,
    MONITORING_SUBSCRIPTION,
    NAMED_QUERY,
    OWNERSHIP,
    PROVIDER,
    WORKGROUP,
    document,
    props,
)
from tools.plan import Plan

# --- logs ------------------------------------------------------------------------------------------


def test_log_bucket_is_private_encrypted_acls_disabled_and_expires(dev: Plan, secured: Plan) -> None:
    assert (
        dev.one(BUCKET, "logs").inputs["bucket"]
        == "lux-video-dev-262a61d7-logs"
        == dev.outputs["logBucketName"]
    )
    block = dev.one(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "logs-public-access-block"
    ).inputs
    assert all(
        block[f] is True
        for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    ownership = dev.one(OWNERSHIP, "logs-ownership").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    # No ACL anywhere: no ACL resource, no grant (legacy CloudFront logging needed awslogsdelivery's).
    assert [r for r in dev.resources if r.type.startswith("aws:s3/bucketAcl")] == []
    assert "acl" not in dev.one(BUCKET, "logs").inputs
    encryption = dev.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "logs-encryption",
    ).inputs
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    expire, _ = dev.one(LIFECYCLE, "logs-lifecycle").inputs["rules"]
    assert expire["expiration"] == {"days": 30} and expire["filter"] == {"prefix": ""}
    assert secured.one(LIFECYCLE, "logs-lifecycle").inputs["rules"][0]["expiration"] == {"days": 90}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_bucket_of_the_stack_enables_acls(stack: str) -> None:
    plan = plan_for(stack)
    ownerships = plan.of_type(OWNERSHIP)
    assert {r.name for r in ownerships} >= {"media-ownership", "logs-ownership"}
    for resource in ownerships:
        assert rules.bucket_acls_disabled(OWNERSHIP, resource.inputs) == [], resource.name
    assert not [v for v in rules.check_resources((r.type, r.inputs) for r in plan.resources) if "acl" in v]


@pytest.mark.parametrize("ownership", ["ObjectWriter", "BucketOwnerPreferred", None])
def test_ownership_rule_forbids_acls_on_the_log_bucket_too(dev: Plan, ownership: str | None) -> None:
    broken = props(dev, OWNERSHIP, "logs-ownership")
    broken["rule"]["objectOwnership"] = ownership
    assert rules.bucket_acls_disabled(OWNERSHIP, broken)
    assert any(v.startswith("bucket-acls-disabled:") for v in rules.check_resources([(OWNERSHIP, broken)]))


def test_log_bucket_policy_admits_the_media_access_logs_and_this_cdn_log_delivery_over_tls(
    dev: Plan,
) -> None:
    policy = dev.one("aws:s3/bucketPolicy:BucketPolicy", "logs-policy")
    doc = document(policy, "policy")
    access_logs, cdn_logs, deny = doc["Statement"]
    assert access_logs == {
        "Sid": "AllowS3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::lux-video-dev-262a61d7-logs/s3-access/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": "arn:aws:s3:::lux-video-dev-262a61d7"},
            "StringEquals": {"aws:SourceAccount": "123456789012"},
        },
    }
    source = dev.one(DELIVERY_SOURCE)
    assert cdn_logs == {
        "Sid": "AllowCloudFrontLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::lux-video-dev-262a61d7-logs/cloudfront-v2/*",
        "Condition": {
            "StringEquals": {
                "aws:SourceAccount": "123456789012",
                "s3:x-amz-acl": "bucket-owner-full-control",
            },
            # This one delivery source, named before the distribution exists.
            "ArnLike": {
                "aws:SourceArn": "arn:aws:logs:us-east-1:123456789012:delivery-source:"
                + source.inputs["name"]
            },
        },
    }
    assert "*" not in cdn_logs["Condition"]["ArnLike"]["aws:SourceArn"]
    assert deny["Sid"] == "DenyInsecureTransport" and deny["Effect"] == "Deny"
    assert deny["Resource"] == [
        "arn:aws:s3:::lux-video-dev-262a61d7-logs",
        "arn:aws:s3:::lux-video-dev-262a61d7-logs/*",
    ]
    allowed = [s["Principal"] for s in doc["Statement"] if s["Effect"] == "Allow"]
    assert allowed == [{"Service": "logging.s3.amazonaws.com"}, {"Service": "delivery.logs.amazonaws.com"}]
    assert (
        rules.bucket_policy_is_private_and_tls_only("aws:s3/bucketPolicy:BucketPolicy", policy.inputs) == []
    )
    findings = parliament.analyze_policy_string(
        policy.inputs["policy"], include_community_auditors=False, config=parliament.config
    ).findings
    assert findings == []


@pytest.mark.parametrize("drop", ["aws:SourceAccount", "aws:SourceArn"])
def test_policy_rule_catches_a_log_delivery_grant_without_its_source(dev: Plan, drop: str) -> None:
    broken = props(dev, "aws:s3/bucketPolicy:BucketPolicy", "logs-policy")
    doc = json.loads(broken["policy"])
    condition = doc["Statement"][1]["Condition"]
    (condition["StringEquals"] if drop == "aws:SourceAccount" else condition["ArnLike"]).pop(drop)
    broken["policy"] = json.dumps(doc)
    violations = rules.bucket_policy_is_private_and_tls_only("aws:s3/bucketPolicy:BucketPolicy", broken)
    assert violations == [
        "log delivery statement AllowCloudFrontLogDelivery must be bound to the account "
        "(aws:SourceAccount) and the source (aws:SourceArn)"
    ]


def test_media_bucket_access_logs_go_to_the_log_bucket_and_the_cdn_has_no_legacy_logging(
    dev: Plan, secured: Plan
) -> None:
    logging = dev.one(BUCKET_LOGGING, "media-access-logging").inputs
    assert logging == {
        "bucket": "lux-video-dev-262a61d7",
        "targetBucket": "lux-video-dev-262a61d7-logs",
        "targetPrefix": "s3-access/",
    }
    for plan in (dev, secured, plan_for("prod")):
        assert plan.one(DISTRIBUTION).inputs.get("loggingConfig") is None


def test_cloudfront_logs_are_delivered_by_standard_logging_v2_in_us_east_1(dev: Plan) -> None:
    provider = dev.one(PROVIDER, "logs-us-east-1")
    assert provider.inputs["region"] == "us-east-1"
    assert json.loads(provider.inputs["defaultTags"]) == {
        "tags": {"project": "lux-video", "stack": "dev", "managed-by": "pulumi"}
    }
    assert provider.parent == dev.one("lux:logs:LogArchive").urn
    east = sorted(r.name for r in dev.resources if r.provider and r.provider.startswith(provider.urn + "::"))
    assert east == ["logs-cdn-delivery", "logs-cdn-destination", "logs-cdn-source"]

    source = dev.one(DELIVERY_SOURCE, "logs-cdn-source").inputs
    distribution_id = dev.outputs["distributionId"]
    assert source == {
        "name": "lux-video-dev-cdn-access-logs",
        "logType": "ACCESS_LOGS",
        "resourceArn": f"arn:aws:cloudfront::123456789012:distribution/{distribution_id}",
    }
    destination = dev.one(DELIVERY_DESTINATION, "logs-cdn-destination").inputs
    assert destination == {
        "name": "lux-video-dev-cdn-access-logs-s3",
        "outputFormat": "w3c",
        "deliveryDestinationConfiguration": {
            "destinationResourceArn": "arn:aws:s3:::lux-video-dev-262a61d7-logs/cloudfront-v2"
        },
    }
    delivery = dev.one(DELIVERY, "logs-cdn-delivery").inputs
    assert delivery["deliverySourceName"] == source["name"]
    assert delivery["deliveryDestinationArn"] == (
        "arn:aws:logs:us-east-1:123456789012:delivery-destination:lux-video-dev-cdn-access-logs-s3"
    )
    assert delivery["fieldDelimiter"] == "\t"
    assert delivery["s3DeliveryConfigurations"] == [
        {"suffixPath": "{DistributionId}/{yyyy}/{MM}/{dd}/{HH}", "enableHiveCompatiblePath": False}
    ]


def test_delivered_fields_are_the_tables_columns_in_order_without_cookies(dev: Plan) -> None:
    fields = dev.one(DELIVERY, "logs-cdn-delivery").inputs["recordFields"]
    assert "cs(Cookie)" not in fields and not logs.EXCLUDED_LOG_FIELDS & set(fields)
    columns = [c["name"] for c in dev.one(GLUE_TABLE).inputs["storageDescriptor"]["columns"]]
    # cs(Host) -> cs_host, x-edge-location -> x_edge_location: one column per field, same order.
    assert [re.sub(r"[^a-z0-9]+", "_", f.lower()).strip("_") for f in fields] == columns
    assert fields[:4] == ["date", "time", "x-edge-location", "sc-bytes"]
    assert fields[-4:] == ["sc-content-type", "sc-content-len", "sc-range-start", "sc-range-end"]
    assert len(set(fields)) == len(fields) == 32


def test_in_us_east_1_the_log_delivery_uses_the_default_provider() -> None:
    plan = plan_for("dev", {**stack_config("dev"), "aws:region": "us-east-1"})
    assert plan.of_type(PROVIDER) == []
    for type_ in (DELIVERY_SOURCE, DELIVERY_DESTINATION, DELIVERY):
        assert plan.one(type_).provider is None


def test_cdn_additional_metrics_only_where_config_asks(dev: Plan, secured: Plan) -> None:
    assert dev.of_type(MONITORING_SUBSCRIPTION) == []
    subscription = secured.one(MONITORING_SUBSCRIPTION).inputs
    assert subscription["distributionId"] == secured.outputs["distributionId"]
    assert subscription["monitoringSubscription"] == {
        "realtimeMetricsSubscriptionConfig": {"realtimeMetricsSubscriptionStatus": "Enabled"}
    }


def test_glue_table_reads_cloudfront_standard_logs(dev: Plan) -> None:
    table = dev.one(GLUE_TABLE).inputs
    assert table["databaseName"] == "lux_video_dev_logs" and table["name"] == "cloudfront_logs"
    assert table["parameters"]["skip.header.line.count"] == "2"
    storage = table["storageDescriptor"]
    # The v2 prefix only: legacy files (33 fields, cs_cookie included) under cloudfront/ never mix in.
    assert storage["location"] == "s3://lux-video-dev-262a61d7-logs/cloudfront-v2/"
    assert (
        storage["serDeInfo"]["serializationLibrary"] == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    )
    assert storage["serDeInfo"]["parameters"]["field.delim"] == "\t"
    columns = [c["name"] for c in storage["columns"]]
    assert len(columns) == 32 and columns[:3] == ["date", "time", "x_edge_location"]
    assert "cs_cookie" not in columns
    assert {"date", "time", "x_edge_result_type", "cs_uri_stem", "sc_status"} <= set(columns)
    assert columns[-4:] == ["sc_content_type", "sc_content_len", "sc_range_start", "sc_range_end"]


def test_athena_workgroup_enforces_encrypted_results_in_the_log_bucket(dev: Plan) -> None:
    configuration = dev.one(WORKGROUP).inputs["configuration"]
    assert configuration["enforceWorkgroupConfiguration"] is True
    assert configuration["resultConfiguration"] == {
        "outputLocation": "s3://lux-video-dev-262a61d7-logs/athena-results/",
        "encryptionConfiguration": {"encryptionOption": "SSE_S3"},
    }
    assert configuration["bytesScannedCutoffPerQuery"] == logs.BYTES_SCANNED_CUTOFF


@pytest.mark.parametrize("query_name", sorted(logs.NAMED_QUERIES))
def test_named_queries_use_only_declared_columns_of_the_table(dev: Plan, query_name: str) -> None:
    query = dev.one(NAMED_QUERY, f"logs-{query_name}").inputs
    assert query["workgroup"] == "lux-video-dev-logs" and query["database"] == "lux_video_dev_logs"
    sql = query["query"]
    assert 'FROM "lux_video_dev_logs"."cloudfront_logs"' in sql
    assert sql.count("(") == sql.count(")")
    declared = {name for name, _ in logs.CLOUDFRONT_LOG_COLUMNS}
    body = re.sub(r"'[^']*'", "''", sql.split("\n", 1)[1])  # drop the comment line and string literals
    identifiers = set(
        re.findall(r"\b([a-z][a-z0-9_]*)\b", body.replace('"lux_video_dev_logs"."cloudfront_logs"', ""))
    )
    sql_words = {
        "select", "from", "where", "and", "as", "in", "group", "by", "order", "desc", "limit", "having",
        "count", "count_if", "round", "current_date", "interval", "day", "hour", "date_trunc", "cast",
        "varchar", "concat", "from_iso8601_timestamp", "regexp_like", "t", "z",
    }  # fmt: skip
    aliases = set(re.findall(r"\bAS\s+([a-z_]+)\b", body, re.IGNORECASE)) - {"varchar"}
    assert aliases, "the queries name their result columns"
    unknown = identifiers - sql_words - aliases - declared
    assert not unknown, unknown
    assert {"x_edge_result_type", "cs_uri_stem", "sc_status", "date"} & identifiers
    operations = (packaging.REPO_ROOT / "docs" / "operations.md").read_text()
    assert logs.named_query(logs.NAMED_QUERIES[query_name], "lux_video_dev_logs") in operations
