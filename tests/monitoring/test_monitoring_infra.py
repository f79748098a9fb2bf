"""The Monitoring and LogArchive components under the recording mocks: every alarm bound to the
right resource and topic, the us-east-1 provider, the log bucket, Glue/Athena, the scheduler and
the health check's least privilege."""

from __future__ import annotations

import json
import re
from typing import Any

import parliament
import pytest

from infra import config as infra_config
from infra import health_check, logs, packaging, policies
from infra.config import ConfigError, parse
from policy import rules
from tests.conftest import SECURED_OVERRIDES, plan_for, stack_config
from tests.infra.helpers import (
    BUCKET,
    DISTRIBUTION,
    FUNCTION,
    LIFECYCLE,
    LOG_GROUP,
    ROLE,
    ROLE_POLICY,
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


# --- alarms -------------------------------------------------------------------------------------

EXPECTED_ALARMS = {
    # what: (namespace, metric, statistic, comparison, threshold, periods, missing data)
    "signer-failed-signings": ("LuxVideo/Signer/dev", "FailedSignings", "Sum", ">=", 1, 1, "notBreaching"),
    "signer-errors": ("AWS/Lambda", "Errors", "Sum", ">=", 1, 1, "notBreaching"),
    "signer-throttles": ("AWS/Lambda", "Throttles", "Sum", ">=", 1, 1, "notBreaching"),
    "signer-duration-p99": ("AWS/Lambda", "Duration", "p99", ">=", 8000, 3, "notBreaching"),
    "api-latency-p99": ("AWS/ApiGateway", "Latency", "p99", ">", 3000, 3, "notBreaching"),
    "cdn-5xx-rate": ("AWS/CloudFront", "5xxErrorRate", "Average", ">", 2, 2, "notBreaching"),
    "cdn-4xx-rate": ("AWS/CloudFront", "4xxErrorRate", "Average", ">", 15, 3, "notBreaching"),
    "healthcheck-failing": ("LuxVideo/HealthCheck", "Success", "Minimum", "<", 1, 2, "breaching"),
}
COMPARISONS = {
    ">=": "GreaterThanOrEqualToThreshold",
    ">": "GreaterThanThreshold",
    "<": "LessThanThreshold",
}


def test_the_stack_declares_exactly_the_documented_alarms(dev: Plan) -> None:
    names = sorted(r.inputs["name"] for r in dev.of_type(ALARM))
    assert names == sorted(
        f"lux-video-dev-{what}" for what in [*EXPECTED_ALARMS, "api-5xx-rate", "api-4xx-rate"]
    )


@pytest.mark.parametrize("what", sorted(EXPECTED_ALARMS))
def test_single_metric_alarms(dev: Plan, what: str) -> None:
    namespace, metric, stat, comparison, threshold, periods, missing = EXPECTED_ALARMS[what]
    inputs = alarm(dev, what)
    assert inputs["name"] == f"lux-video-dev-{what}"
    assert (inputs["namespace"], inputs["metricName"]) == (namespace, metric)
    assert inputs.get("extendedStatistic", inputs.get("statistic")) == stat
    assert inputs["comparisonOperator"] == COMPARISONS[comparison]
    assert inputs["threshold"] == threshold
    assert inputs["evaluationPeriods"] == inputs["datapointsToAlarm"] == periods
    assert inputs["period"] == 300
    assert inputs["treatMissingData"] == missing
    topic = EAST_TOPIC_ARN if what.startswith("cdn-") else TOPIC_ARN
    assert inputs["alarmActions"] == inputs["okActions"] == [topic]
    assert "README.md#monitoring" in inputs["alarmDescription"]


def test_alarm_dimensions_are_bound_to_the_stack_resources(dev: Plan) -> None:
    function = {"FunctionName": "lux-sign-uploads"}
    for what in ("signer-errors", "signer-throttles", "signer-duration-p99"):
        assert alarm(dev, what)["dimensions"] == function
    assert "dimensions" not in alarm(dev, "signer-failed-signings")  # a metric filter's metric has none
    assert alarm(dev, "api-latency-p99")["dimensions"] == {"ApiId": api_id(dev), "Stage": "$default"}
    cdn = {"DistributionId": dev.outputs["distributionId"], "Region": "Global"}
    assert alarm(dev, "cdn-5xx-rate")["dimensions"] == alarm(dev, "cdn-4xx-rate")["dimensions"] == cdn
    assert alarm(dev, "healthcheck-failing")["dimensions"] == {"Stack": "dev"}


@pytest.mark.parametrize(
    ("what", "metric", "threshold", "periods", "minimum"),
    [
        ("api-5xx-rate", "5xx", 5, 1, 10),
        ("api-4xx-rate", "4xx", 25, 3, 20),
    ],
)
def test_api_error_alarms_are_ratios_of_requests(
    dev: Plan, what: str, metric: str, threshold: int, periods: int, minimum: int
) -> None:
    inputs = alarm(dev, what)
    assert "metricName" not in inputs and "namespace" not in inputs
    errors, requests, ratio = inputs["metricQueries"]
    dims = {"ApiId": api_id(dev), "Stage": "$default"}
    assert errors == {
        "id": "errors",
        "returnData": False,
        "metric": {
            "namespace": "AWS/ApiGateway",
            "metricName": metric,
            "dimensions": dims,
            "period": 300,
            "stat": "Sum",
        },
    }
    assert requests["metric"]["metricName"] == "Count" and requests["metric"]["dimensions"] == dims
    assert ratio["returnData"] is True
    assert ratio["expression"] == f"IF(requests >= {minimum}, 100 * errors / requests, 0)"
    assert inputs["threshold"] == threshold and inputs["evaluationPeriods"] == periods
    assert inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert inputs["alarmActions"] == inputs["okActions"] == [TOPIC_ARN]
    assert inputs["treatMissingData"] == "notBreaching"


def test_cloudfront_alarms_use_an_explicit_us_east_1_provider_with_the_stack_tags(dev: Plan) -> None:
    provider = dev.one(PROVIDER, "monitoring-us-east-1")
    assert provider.inputs["region"] == "us-east-1"
    assert json.loads(provider.inputs["defaultTags"]) == {
        "tags": {"project": "lux-video", "stack": "dev", "managed-by": "pulumi"}
    }
    assert provider.parent == dev.one("lux:monitoring:Monitoring").urn
    east = [r for r in dev.resources if r.provider and r.provider.startswith(provider.urn + "::")]
    assert sorted(r.name for r in east) == [
        "monitoring-alarms-us-east-1",
        "monitoring-alarms-us-east-1-key",
        "monitoring-alarms-us-east-1-key-alias",
        "monitoring-alarms-us-east-1-policy",
        "monitoring-cdn-4xx-rate",
        "monitoring-cdn-5xx-rate",
    ]
    for resource in dev.of_type(ALARM):
        if not resource.name.startswith("monitoring-cdn-"):
            assert resource.provider is None or "us-east-1" not in resource.provider, resource.name


def test_in_us_east_1_one_topic_and_the_default_provider_suffice() -> None:
    plan = plan_for("dev", {**stack_config("dev"), "aws:region": "us-east-1"})
    assert plan.of_type(PROVIDER) == []
    assert [t.inputs["name"] for t in plan.of_type(TOPIC)] == ["lux-video-dev-alarms"]
    assert alarm(plan, "cdn-5xx-rate")["alarmActions"] == [plan.outputs["alarmTopicArn"]]


def test_each_alarm_topic_is_encrypted_with_its_own_key_that_cloudwatch_may_use(dev: Plan) -> None:
    keys = {k.name: k for k in dev.of_type("aws:kms/key:Key")}
    for topic in dev.of_type(TOPIC):
        key = keys[f"{topic.name}-key"]
        assert (
            topic.inputs["kmsMasterKeyId"]
            == f"arn:aws:mock:{'us-east-1' if 'us-east-1' in topic.name else 'us-west-2'}:123456789012:{key.name}"
        )
        assert key.inputs["enableKeyRotation"] is True
        assert key.provider == topic.provider
        statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
        publish = statements["CloudWatchAlarmsPublish"]
        assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert sorted(publish["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
        assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
        policy = next(
            p for p in dev.of_type("aws:sns/topicPolicy:TopicPolicy") if p.name == f"{topic.name}-policy"
        )
        document = json.loads(policy.inputs["policy"])
        (cloudwatch,) = [s for s in document["Statement"] if s["Sid"] == "CloudWatchAlarmsPublish"]
        assert cloudwatch["Resource"] == policy.inputs["arn"]
        assert rules.topics_use_a_key_cloudwatch_can_use(TOPIC, topic.inputs) == []


def test_topic_rule_catches_the_aws_managed_key(dev: Plan) -> None:
    broken = {**dev.of_type(TOPIC)[0].inputs, "kmsMasterKeyId": "alias/aws/sns"}
    assert rules.topics_use_a_key_cloudwatch_can_use(TOPIC, broken)


def test_topic_policies_pass_parliament(dev: Plan) -> None:
    """Key policies are checked structurally above: in a key policy ``Resource: "*"`` means the key
    itself, which parliament (made for identity policies) reports as RESOURCE_STAR."""
    for resource in dev.of_type("aws:sns/topicPolicy:TopicPolicy"):
        findings = parliament.analyze_policy_string(
            resource.inputs["policy"], include_community_auditors=False, config=parliament.config
        ).findings
        assert findings == [], (resource.name, findings)


def test_the_alarm_topic_subscribes_the_email_only_when_configured(dev: Plan, secured: Plan) -> None:
    assert dev.of_type(SUBSCRIPTION) == []
    subscriptions = {r.name: r.inputs for r in secured.of_type(SUBSCRIPTION)}
    assert subscriptions == {
        "monitoring-alarms-email": {
            "topic": TOPIC_ARN,
            "protocol": "email",
            "endpoint": "oncall@example.com",
        },
        "monitoring-alarms-us-east-1-email": {
            "topic": EAST_TOPIC_ARN,
            "protocol": "email",
            "endpoint": "oncall@example.com",
        },
    }
    assert dev.outputs["alarmTopicArn"] == TOPIC_ARN


def test_every_alarm_passes_the_alarm_rule_and_the_rule_catches_a_silent_one(dev: Plan) -> None:
    for resource in dev.of_type(ALARM):
        assert rules.alarms_notify_on_alarm_and_ok(ALARM, resource.inputs) == []
    broken = dict(alarm(dev, "signer-errors"), okActions=[])
    assert rules.alarms_notify_on_alarm_and_ok(ALARM, broken) == [
        "alarm lux-video-dev-signer-errors has no okActions"
    ]
    broken = {
        k: v
        for k, v in alarm(dev, "signer-errors").items()
        if k not in ("treatMissingData", "alarmDescription")
    }
    assert len(rules.alarms_notify_on_alarm_and_ok(ALARM, broken)) == 2


# --- signer metric filter ---------------------------------------------------------------------------

SAMPLE_LINES = [
    (
        {"level": "INFO", "message": "sign", "jobId": "a", "files": 3, "outcome": "signed", "status": 200},
        False,
    ),
    ({"level": "INFO", "message": "sign", "outcome": "invalid_request", "status": 400}, False),
    ({"level": "WARNING", "message": "sign", "outcome": "unauthorized", "status": 401}, False),
    ({"level": "ERROR", "message": "sign", "outcome": "misconfigured", "status": 500}, True),
    ({"level": "ERROR", "message": "sign", "outcome": "bug", "status": 503}, True),
    ({"level": "INFO", "message": "START RequestId"}, False),
    ({"level": "INFO", "message": "sign", "status": "500"}, False),  # a string never matches a numeric filter
]


@pytest.mark.parametrize(("line", "counted"), SAMPLE_LINES)
def test_failed_signing_pattern_counts_only_5xx_lines(line: dict[str, Any], counted: bool) -> None:
    assert policies.failed_signing(line) is counted


def test_the_pattern_is_the_numeric_json_filter_the_intent_describes() -> None:
    match = re.fullmatch(r"\{ \$\.(\w+) (>=) (\d+) \}", policies.FAILED_SIGNING_FILTER_PATTERN)
    assert match is not None and match.groups() == ("status", ">=", "500")


def test_metric_filter_reads_the_signer_log_group_into_the_stack_namespace(dev: Plan) -> None:
    inputs = dev.one(METRIC_FILTER).inputs
    assert inputs["logGroupName"] == dev.one(LOG_GROUP, "signer-logs").inputs["name"]
    assert inputs["pattern"] == policies.FAILED_SIGNING_FILTER_PATTERN
    assert inputs["metricTransformation"] == {
        "name": "FailedSignings",
        "namespace": "LuxVideo/Signer/dev",
        "value": "1",
        "defaultValue": "0",
        "unit": "Count",
    }


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
    readme = (packaging.REPO_ROOT / "README.md").read_text()
    assert logs.named_query(logs.NAMED_QUERIES[query_name], "lux_video_dev_logs") in readme


# --- synthetic check -------------------------------------------------------------------------------


def test_health_check_function_is_packaged_like_the_signer(dev: Plan) -> None:
    function = dev.one(FUNCTION, "monitoring-healthcheck")
    inputs = function.inputs
    assert inputs["name"] == "lux-video-dev-healthcheck"
    assert (inputs["runtime"], inputs["architectures"], inputs["handler"]) == (
        "python3.13",
        ["arm64"],
        "handler.handler",
    )
    assert inputs["loggingConfig"] == {
        "logFormat": "Text",
        "logGroup": "/aws/lambda/lux-video-dev-healthcheck",
    }
    assert dev.one(LOG_GROUP, "monitoring-healthcheck-logs").inputs["retentionInDays"] == 30
    assert inputs["environment"]["variables"] == {
        "SIGNER_URL": dev.outputs["signerEndpoint"],
        "CDN_BASE_URL": dev.outputs["cdnBaseUrl"],
        "BUCKET": "lux-video-dev-262a61d7",
        "STACK": "dev",
        "METRIC_NAMESPACE": "LuxVideo/HealthCheck",
        "JOB_PREFIX": "healthcheck-",
        "CHECK_ORIGIN": infra_config.ANY_ORIGIN_PROBE,
    }
    archive = next(
        r for r in dev.as_json()["resources"] if r["type"] == FUNCTION and r["name"] == function.name
    )
    assert sorted(archive["inputs"]["code"]["archive"]) == sorted(
        packaging.function_files(health_check.SOURCE_DIR)
    )


def test_health_check_source_never_imports_pulumi_or_infra() -> None:
    for path in packaging.function_files(health_check.SOURCE_DIR).values():
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(pulumi|infra)\b", text, re.MULTILINE), path


def health_check_policy(plan: Plan) -> dict[str, Any]:
    return document(plan.one(ROLE_POLICY, "monitoring-healthcheck-permissions"), "policy")


def test_health_check_role_may_only_delete_probes_and_write_its_logs(dev: Plan) -> None:
    role = dev.one(ROLE, "monitoring-healthcheck-role")
    assert document(role, "assumeRolePolicy")["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    assert rules.lambda_trust_is_lambda_only(ROLE, role.inputs) == []
    assert health_check_policy(dev)["Statement"] == [
        {
            "Sid": "DeleteOwnProbes",
            "Effect": "Allow",
            "Action": "s3:DeleteObject",
            "Resource": [
                "arn:aws:s3:::lux-video-dev-262a61d7/videos/healthcheck-*/probe.m3u8",
                "arn:aws:s3:::lux-video-dev-262a61d7/videos/sub.*/healthcheck-*/probe.m3u8",
            ],
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:us-west-2:123456789012:log-group:/aws/lambda/lux-video-dev-healthcheck:*",
        },
    ]


def test_with_jwt_the_health_check_may_read_only_its_token_secret(secured: Plan) -> None:
    statements = health_check_policy(secured)["Statement"]
    assert (
        statements[0]["Resource"][1]
        == "arn:aws:s3:::lux-video-dev-262a61d7/media/uploads/sub.*/healthcheck-*/probe.m3u8"
    )
    assert statements[-1] == {
        "Sid": "ReadOwnToken",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "arn:aws:secretsmanager:us-west-2:123456789012:secret:lux-video/dev/healthcheck-token-??????",
    }
    env = secured.one(FUNCTION, "monitoring-healthcheck").inputs["environment"]["variables"]
    assert env["TOKEN_SECRET_NAME"] == "lux-video/dev/healthcheck-token"
    assert env["CHECK_ORIGIN"] == "https://app.example.com"
    assert not any(
        "secretsmanager" in json.dumps(s) for s in health_check_policy(plan_for("dev"))["Statement"]
    )


@pytest.mark.parametrize(
    "name", ["monitoring-healthcheck-permissions", "monitoring-healthcheck-scheduler-permissions"]
)
def test_monitoring_role_policies_pass_parliament(dev: Plan, secured: Plan, name: str) -> None:
    for plan in (dev, secured):
        text = plan.one(ROLE_POLICY, name).inputs["policy"]
        findings = parliament.analyze_policy_string(
            text, include_community_auditors=False, config=parliament.config
        ).findings
        assert findings == [], (name, findings)


def test_parliament_flags_a_widened_health_check_policy(dev: Plan) -> None:
    policy = health_check_policy(dev)
    policy["Statement"][0]["Action"] = ["s3:DeleteObject", "s3:PutObjectAcl"]
    policy["Statement"][0]["Resource"] = "*"
    findings = parliament.analyze_policy_string(
        json.dumps(policy), include_community_auditors=False, config=parliament.config
    ).findings
    assert findings


def test_leftover_probes_expire_after_a_day(dev: Plan, secured: Plan) -> None:
    rule = dev.one(LIFECYCLE, "media-lifecycle").inputs["rules"][-1]
    assert rule == {
        "id": "expire-health-check-probes",
        "status": "Enabled",
        "filter": {"prefix": "videos/healthcheck-"},
        "expiration": {"days": 1},
    }
    assert secured.one(LIFECYCLE, "media-lifecycle").inputs["rules"][-1]["filter"] == {
        "prefix": "media/uploads/healthcheck-"
    }


def test_scheduler_runs_the_check_every_5_minutes_with_its_own_role(dev: Plan) -> None:
    schedule = dev.one(SCHEDULE).inputs
    assert schedule["scheduleExpression"] == "rate(5 minutes)"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule["state"] == "ENABLED"
    function_arn = "arn:aws:lambda:us-west-2:123456789012:function:lux-video-dev-healthcheck"
    assert schedule["target"]["arn"] == function_arn
    assert (
        schedule["target"]["roleArn"] == "arn:aws:iam::123456789012:role/lux-video-dev-healthcheck-scheduler"
    )
    assert schedule["target"]["retryPolicy"]["maximumRetryAttempts"] == 0
    role = dev.one(ROLE, "monitoring-healthcheck-scheduler-role")
    (trust,) = document(role, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert rules.lambda_trust_is_lambda_only(ROLE, role.inputs) == []
    (invoke,) = document(dev.one(ROLE_POLICY, "monitoring-healthcheck-scheduler-permissions"), "policy")[
        "Statement"
    ]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == [function_arn, f"{function_arn}:*"]


def test_disabling_the_health_check_removes_it_and_its_alarm() -> None:
    plan = plan_for("dev", stack_config("dev", healthCheckEnabled="false"))
    names = {r.name for r in plan.resources}
    assert not {n for n in names if "healthcheck" in n or "scheduler" in n}
    assert len(plan.of_type(FUNCTION)) == 1
    assert all(
        rule["id"] != "expire-health-check-probes"
        for rule in plan.one(LIFECYCLE, "media-lifecycle").inputs["rules"]
    )
    body = json.loads(plan.one(DASHBOARD).inputs["dashboardBody"])
    assert "LuxVideo/HealthCheck" not in json.dumps(body)


# --- dashboard -------------------------------------------------------------------------------------


def test_dashboard_shows_the_signer_api_cdn_and_check(dev: Plan) -> None:
    dashboard = dev.one(DASHBOARD).inputs
    assert dashboard["dashboardName"] == "lux-video-dev" == dev.outputs["dashboardName"]
    body = json.loads(dashboard["dashboardBody"])
    metrics = [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]

    def dims(namespace: str) -> list[list[Any]]:
        return [m[2:-1] for m in metrics if m[0] == namespace]

    assert all(d == ["FunctionName", "lux-sign-uploads"] for d in dims("AWS/Lambda"))
    assert all(d == ["ApiId", api_id(dev), "Stage", "$default"] for d in dims("AWS/ApiGateway"))
    assert all(
        d == ["DistributionId", dev.outputs["distributionId"], "Region", "Global"]
        for d in dims("AWS/CloudFront")
    )
    assert all(d == ["Stack", "dev"] for d in dims("LuxVideo/HealthCheck"))
    assert (
        dims("AWS/Lambda")
        and dims("AWS/ApiGateway")
        and dims("AWS/CloudFront")
        and dims("LuxVideo/HealthCheck")
    )
    cdn_widgets = [w for w in body["widgets"] if w["type"] == "metric" and "CDN" in w["properties"]["title"]]
    assert cdn_widgets and all(w["properties"]["region"] == "us-east-1" for w in cdn_widgets)
    (alarms,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert sorted(alarms["properties"]["alarms"]) == sorted(
        f"arn:aws:cloudwatch:{'us-east-1' if r.name.startswith('monitoring-cdn-') else 'us-west-2'}:123456789012:alarm:{r.inputs['name']}"
        for r in dev.of_type(ALARM)
    )


# --- config ----------------------------------------------------------------------------------------

TAGS = {"tags": {"project": "lux-video", "stack": "dev"}}
JWT = {"jwtIssuer": "https://auth.example.com/", "jwtAudience": '["lux-mobile"]'}


def parse_dev(**raw: Any):
    return parse(
        {"bucketName": "lux-video-dev-262a61d7", **raw}, stack="dev", region="us-west-2", default_tags=TAGS
    )


def test_monitoring_defaults() -> None:
    config = parse_dev()
    assert config.monitoring.alarm_email is None and config.cdn.additional_metrics is False
    assert config.health_check is not None and config.health_check.token_secret_name is None
    assert config.logs.log_bucket_name == "lux-video-dev-262a61d7-logs"


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"alarmEmail": "not-an-email"}, "alarmEmail", "not an email"),
        ({"cdnAdditionalMetrics": "sometimes"}, "cdnAdditionalMetrics", "true or false"),
        ({"healthCheckEnabled": "2"}, "healthCheckEnabled", "true or false"),
        (JWT, "healthCheckTokenSecretName", "is required when jwtIssuer"),
        ({**JWT, "healthCheckTokenSecretName": "bad name!"}, "healthCheckTokenSecretName", "not a Secrets"),
        ({"logBucketName": "Bad_Bucket"}, "logBucketName", "not a valid S3 bucket name"),
        ({"logBucketName": "lux-video-dev-262a61d7"}, "logBucketName", "distinct"),
        ({"bucketName": "a" * 60}, "logBucketName", "set logBucketName"),
    ],
)
def test_bad_monitoring_values_fail_naming_the_key(raw: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dev(**raw)
    assert caught.value.key == f"lux-video:{key}" and fragment in str(caught.value)


def test_jwt_without_a_token_secret_is_fine_when_the_check_is_off() -> None:
    config = parse_dev(**JWT, healthCheckEnabled="false")
    assert config.auth_required and config.health_check is None


def test_every_monitoring_resource_passes_every_rule(dev: Plan, secured: Plan) -> None:
    for plan in (dev, secured):
        assert rules.check_resources((r.type, r.inputs) for r in plan.resources if r.custom) == []


def test_the_delete_grant_names_the_file_the_check_uploads() -> None:
    from infra import policies
    from lambda_src.health_check import handler as check

    assert policies.HEALTH_CHECK_PROBE_PATH == check.PROBE_PATH
