"""Monitoring: every alarm, the topics and their keys, the failed-signing metric filter, the dashboard."""

from __future__ import annotations

import json
import re
from typing import Any

import parliament
import pytest

from infra import policies
from infra.config import ConfigError, parse
from policy import rules
from tests.conftest import plan_for, stack_config
from tests.infra.helpers import (
    ALARM,
    DASHBOARD,
    EAST_TOPIC_ARN,
    LOG_GROUP,
    METRIC_FILTER,
    PROVIDER,
    SUBSCRIPTION,
    TOPIC,
    TOPIC_ARN,
    alarm,
    api_id,
)
from tools.plan import Plan

# --- alarms -------------------------------------------------------------------------------------

EXPECTED_ALARMS = {
    # what: (namespace, metric, statistic, comparison, threshold, periods, missing data)
    "signer-failed-signings": ("LuxVideo/Signer/dev", "FailedSignings", "Sum", ">=", 1, 1, "notBreaching"),
    "signer-errors": ("AWS/Lambda", "Errors", "Sum", ">=", 1, 1, "notBreaching"),
    "signer-throttles": ("AWS/Lambda", "Throttles", "Sum", ">=", 1, 1, "notBreaching"),
    "signer-duration-p99": ("AWS/Lambda", "Duration", "p99", ">=", 8000, 3, "notBreaching"),
    "api-latency-p99": ("AWS/ApiGateway", "Latency", "p99", ">", 3000, 3, "notBreaching"),
    "cdn-5xx-rate": ("AWS/CloudFront", "5xxErrorRate", "Average", ">", 2, 2, "notBreaching"),
    "healthcheck-failing": ("LuxVideo/HealthCheck", "Success", "Minimum", "<", 1, 2, "breaching"),
    "alarm-delivery-failed": ("AWS/SNS", "NumberOfNotificationsFailed", "Sum", ">=", 1, 1, "notBreaching"),
    "alarm-delivery-failed-us-east-1": (
        "AWS/SNS", "NumberOfNotificationsFailed", "Sum", ">=", 1, 1, "notBreaching",
    ),
    "jobs-errors": ("AWS/Lambda", "Errors", "Sum", ">=", 1, 1, "notBreaching"),
    "jobs-dead-letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", ">=", 1, 1, "notBreaching"),
    "jobs-object-created-failed": ("AWS/Events", "FailedInvocations", "Sum", ">=", 1, 1, "notBreaching"),
}  # fmt: skip
IN_US_EAST_1 = ("monitoring-cdn-", "monitoring-alarm-delivery-failed-us-east-1")
COMPARISONS = {
    ">=": "GreaterThanOrEqualToThreshold",
    ">": "GreaterThanThreshold",
    "<": "LessThanThreshold",
}


def test_the_stack_declares_exactly_the_documented_alarms(dev: Plan) -> None:
    names = sorted(r.inputs["name"] for r in dev.of_type(ALARM))
    assert names == sorted(
        f"lux-video-dev-{what}" for what in [*EXPECTED_ALARMS, "api-5xx-rate", "api-4xx-rate", "cdn-4xx-rate"]
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
    topic = EAST_TOPIC_ARN if f"monitoring-{what}".startswith(IN_US_EAST_1) else TOPIC_ARN
    assert inputs["alarmActions"] == inputs["okActions"] == [topic]
    assert "README.md#monitoring" in inputs["alarmDescription"]


def test_alarm_dimensions_are_bound_to_the_stack_resources(dev: Plan) -> None:
    function = {"FunctionName": "lux-sign-uploads"}
    for what in ("signer-errors", "signer-throttles", "signer-duration-p99"):
        assert alarm(dev, what)["dimensions"] == function
    assert "dimensions" not in alarm(dev, "signer-failed-signings")  # a metric filter's metric has none
    assert alarm(dev, "api-latency-p99")["dimensions"] == {"ApiId": api_id(dev), "Stage": "$default"}
    cdn = {"DistributionId": dev.outputs["distributionId"], "Region": "Global"}
    assert alarm(dev, "cdn-5xx-rate")["dimensions"] == cdn
    assert all(q["metric"]["dimensions"] == cdn for q in alarm(dev, "cdn-4xx-rate")["metricQueries"][:2])
    assert alarm(dev, "alarm-delivery-failed")["dimensions"] == {"TopicName": "lux-video-dev-alarms"}
    assert alarm(dev, "alarm-delivery-failed-us-east-1")["dimensions"] == {
        "TopicName": "lux-video-dev-alarms-us-east-1"
    }
    assert alarm(dev, "healthcheck-failing")["dimensions"] == {"Stack": "dev"}
    assert alarm(dev, "jobs-errors")["dimensions"] == {"FunctionName": "lux-video-dev-jobs"}
    # The dead-letter queue's alarm: AWS/SQS by QueueName, the queue the stack declares.
    queue = dev.one("aws:sqs/queue:Queue", "jobs-dlq").inputs["name"]
    assert alarm(dev, "jobs-dead-letters")["dimensions"] == {"QueueName": queue}
    rule = dev.one("aws:cloudwatch/eventRule:EventRule", "jobs-object-created").inputs["name"]
    assert alarm(dev, "jobs-object-created-failed")["dimensions"] == {"RuleName": rule}


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
    assert sorted(r.name for r in east) == sorted(
        [
            "monitoring-alarms-us-east-1",
            "monitoring-alarms-us-east-1-key",
            "monitoring-alarms-us-east-1-key-alias",
            "monitoring-alarm-delivery-failed-us-east-1",
            "monitoring-alarms-us-east-1-policy",
            "monitoring-cdn-4xx-rate",
            "monitoring-cdn-5xx-rate",
        ]
    )
    for resource in dev.of_type(ALARM):
        if not resource.name.startswith(IN_US_EAST_1):
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


# --- dashboard -------------------------------------------------------------------------------------


def test_dashboard_shows_the_signer_api_cdn_and_check(dev: Plan) -> None:
    dashboard = dev.one(DASHBOARD).inputs
    assert dashboard["dashboardName"] == "lux-video-dev" == dev.outputs["dashboardName"]
    body = json.loads(dashboard["dashboardBody"])
    metrics = [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]

    def dims(namespace: str) -> list[list[Any]]:
        return [m[2:-1] for m in metrics if m[0] == namespace]

    assert {tuple(d) for d in dims("AWS/Lambda")} == {
        ("FunctionName", "lux-sign-uploads"),
        ("FunctionName", "lux-video-dev-jobs"),
    }
    # The jobs function's EMF metrics (lambda_src/sign_uploads/jobs_handler.py _metric).
    jobs = [m for m in metrics if m[0] == "LuxVideo/Jobs"]
    assert sorted(m[1] for m in jobs) == ["JobsCompleted", "JobsExpired"]
    assert all(m[2:-1] == ["FunctionName", "lux-video-dev-jobs"] for m in jobs)
    assert dims("AWS/SQS") == [["QueueName", "lux-video-dev-jobs-dlq"]]
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
        f"arn:aws:cloudwatch:{'us-east-1' if r.name.startswith(IN_US_EAST_1) else 'us-west-2'}:123456789012:alarm:{r.inputs['name']}"
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
    assert (
        config.health_check is not None
        and config.signer.health_check_role_name == "lux-video-dev-healthcheck-role"
    )
    assert config.logs.log_bucket_name == "lux-video-dev-262a61d7-logs"


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"alarmEmail": "not-an-email"}, "alarmEmail", "not an email"),
        ({"cdnAdditionalMetrics": "sometimes"}, "cdnAdditionalMetrics", "true or false"),
        ({"healthCheckEnabled": "2"}, "healthCheckEnabled", "true or false"),
        (JWT, "subjectKeySecretName", "is required when jwtIssuer"),
        ({**JWT, "subjectKeySecretName": "bad name!"}, "subjectKeySecretName", "not a Secrets"),
        (
            {"healthCheckTokenSecretName": "lux-video/dev/token"},
            "healthCheckTokenSecretName",
            "no longer used",
        ),
        ({"logBucketName": "Bad_Bucket"}, "logBucketName", "not a valid S3 bucket name"),
        ({"logBucketName": "lux-video-dev-262a61d7"}, "logBucketName", "distinct"),
        ({"bucketName": "a" * 60}, "logBucketName", "set logBucketName"),
    ],
)
def test_bad_monitoring_values_fail_naming_the_key(raw: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dev(**raw)
    assert caught.value.key == f"lux-video:{key}" and fragment in str(caught.value)


def test_without_the_check_no_health_check_route_or_role_is_accepted() -> None:
    config = parse_dev(**JWT, subjectKeySecretName="lux-video/dev/subject-key", healthCheckEnabled="false")
    assert config.auth_required and config.health_check is None
    assert config.signer.health_check_role_name is None and config.api.health_check_route is False


def test_every_monitoring_resource_passes_every_rule(dev: Plan, secured: Plan) -> None:
    for plan in (dev, secured):
        assert rules.check_resources((r.type, r.inputs) for r in plan.resources if r.custom) == []


def _evaluate(expression: str, values: dict[str, float]) -> float:
    """CloudWatch's IF(a >= N, b, c) as the alarm uses it (the only form it uses)."""
    match = re.fullmatch(r"IF\((\w+) >= (\d+), (\w+), 0\)", expression)
    assert match, expression
    guard, minimum, value = match.groups()
    return values[value] if values[guard] >= int(minimum) else 0


def test_cdn_4xx_rate_pages_only_with_real_traffic(dev: Plan) -> None:
    """A handful of scanner 404s at night must not page: the ratio counts only with enough requests."""
    inputs = alarm(dev, "cdn-4xx-rate")
    requests, rate, ratio = inputs["metricQueries"]
    assert (requests["id"], requests["metric"]["metricName"], requests["metric"]["stat"]) == (
        "requests",
        "Requests",
        "Sum",
    )
    assert (rate["id"], rate["metric"]["metricName"], rate["metric"]["stat"]) == (
        "rate",
        "4xxErrorRate",
        "Average",
    )
    assert inputs["comparisonOperator"] == "GreaterThanThreshold" and inputs["threshold"] == 15
    expression = ratio["expression"]
    scanners = _evaluate(expression, {"requests": 12, "rate": 100.0})  # 12 probes, all 404
    outage = _evaluate(expression, {"requests": 5000, "rate": 40.0})
    assert scanners <= inputs["threshold"] < outage
    # Break it: without the guard the scanners would page.
    assert (
        _evaluate(expression.replace(">= 500", ">= 0"), {"requests": 12, "rate": 100.0}) > inputs["threshold"]
    )


def test_waf_metrics_are_on_the_dashboard_only_with_a_waf() -> None:
    def waf_metrics(plan: Plan) -> list[Any]:
        body = json.loads(plan.one(DASHBOARD).inputs["dashboardBody"])
        return [
            m
            for w in body["widgets"]
            if w["type"] == "metric"
            for m in w["properties"]["metrics"]
            if m[0] == "AWS/WAFV2"
        ]

    assert waf_metrics(plan_for("dev")) == []
    prod = waf_metrics(plan_for("prod"))
    assert {m[1] for m in prod} == {"AllowedRequests", "BlockedRequests"}
    assert all(m[2:6] == ["WebACL", "lux-video-prod-cdn", "Rule", "ALL"] for m in prod)
