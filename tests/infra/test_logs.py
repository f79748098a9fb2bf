"""LogArchive: the log bucket, its policy, the Glue table, the Athena workgroup and queries."""

from __future__ import annotations

import re
from typing import Any

import parliament
import pytest

from infra import logs, packaging
from policy import rules
from tests.conftest import SECURED_OVERRIDES, plan_for, stack_config
from tests.infra.helpers import (
    BUCKET,
    DISTRIBUTION,
    LIFECYCLE,
    document,
)
from tools.plan import Plan

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PROVIDER = "pulumi:providers:aws"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
SCHEDULE = "aws:scheduler/schedule:Schedule"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
GLUE_TABLE = "aws:glue/catalogTable:CatalogTable"
WORKGROUP = "aws:athena/workgroup:Workgroup"
NAMED_QUERY = "aws:athena/namedQuery:NamedQuery"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
MONITORING_SUBSCRIPTION = "aws:cloudfront/monitoringSubscription:MonitoringSubscription"
TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:lux-video-dev-alarms"
EAST_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:lux-video-dev-alarms-us-east-1"


@pytest.fixture(scope="module")
def dev() -> Plan:
    return plan_for("dev")


@pytest.fixture(scope="module")
def secured() -> Plan:
    return plan_for("dev", stack_config("dev", **SECURED_OVERRIDES))


def alarm(plan: Plan, what: str) -> dict[str, Any]:
    return plan.one(ALARM, f"monitoring-{what}").inputs


def api_id(plan: Plan) -> str:
    return plan.outputs["signerEndpoint"].removeprefix("https://").split(".")[0]


# --- logs ------------------------------------------------------------------------------------------


def test_log_bucket_is_private_encrypted_acl_limited_and_expires(dev: Plan, secured: Plan) -> None:
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
    ownership = dev.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "logs-ownership").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerPreferred"}
    encryption = dev.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "logs-encryption",
    ).inputs
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    expire, _ = dev.one(LIFECYCLE, "logs-lifecycle").inputs["rules"]
    assert expire["expiration"] == {"days": 30} and expire["filter"] == {"prefix": ""}
    assert secured.one(LIFECYCLE, "logs-lifecycle").inputs["rules"][0]["expiration"] == {"days": 90}


def test_ownership_rule_catches_object_writer(dev: Plan) -> None:
    props = {"rule": {"objectOwnership": "ObjectWriter"}}
    assert rules.bucket_acls_only_for_log_delivery(
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls", props
    )


def test_log_bucket_policy_admits_only_the_media_buckets_access_logs_over_tls(dev: Plan) -> None:
    policy = dev.one("aws:s3/bucketPolicy:BucketPolicy", "logs-policy")
    doc = document(policy, "policy")
    allow, deny = doc["Statement"]
    assert allow == {
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
    assert deny["Sid"] == "DenyInsecureTransport"
    assert (
        rules.bucket_policy_is_private_and_tls_only("aws:s3/bucketPolicy:BucketPolicy", policy.inputs) == []
    )
    findings = parliament.analyze_policy_string(
        policy.inputs["policy"], include_community_auditors=False, config=parliament.config
    ).findings
    assert findings == []


def test_media_bucket_access_logs_and_cloudfront_logs_go_to_the_log_bucket(dev: Plan) -> None:
    logging = dev.one(BUCKET_LOGGING, "media-access-logging").inputs
    assert logging == {
        "bucket": "lux-video-dev-262a61d7",
        "targetBucket": "lux-video-dev-262a61d7-logs",
        "targetPrefix": "s3-access/",
    }
    assert dev.one(DISTRIBUTION).inputs["loggingConfig"] == {
        "bucket": "lux-video-dev-262a61d7-logs.s3.amazonaws.com",
        "prefix": "cloudfront/",
        "includeCookies": False,
    }


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
    assert storage["location"] == "s3://lux-video-dev-262a61d7-logs/cloudfront/"
    assert (
        storage["serDeInfo"]["serializationLibrary"] == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    )
    assert storage["serDeInfo"]["parameters"]["field.delim"] == "\t"
    columns = [c["name"] for c in storage["columns"]]
    assert len(columns) == 33 and columns[:3] == ["date", "time", "x_edge_location"]
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
