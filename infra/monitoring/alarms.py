"""Every alarm of the stack, as data: what it watches, when it fires, and what the on-call does.

Adding an alarm is adding one :class:`AlarmSpec` to :func:`alarm_specs` (and its test); the
Monitoring component declares it, the dashboard shows it and ``docs/operations.md``'s alarm table
is generated from it (``make docs``: ``python -m tools.alarm_table``). Defaults, stated once: 5-minute periods, one
breaching period, missing data is not breaching, and ``>= 1`` (a count that must stay at zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import pulumi

from infra.policies import (
    FAILED_SIGNINGS_METRIC,
    HEALTH_CHECK_NAMESPACE,
    SIGNER_METRIC_NAMESPACE,
    TRANSCODING_METRIC_NAMESPACE,
)

CDN_METRICS_REGION = "us-east-1"
# The README's Monitoring section links the alarm table (docs/operations.md); kept as the target
# deployed alarms already name.
RUNBOOK = "README.md#monitoring"
PERIOD_SECONDS = 300
# Below this many CDN requests per period a 4xx ratio is noise (a scanner's handful of probes).
CDN_4XX_MIN_REQUESTS = 500

Dimensions = dict[str, pulumi.Input[str]]


class Metric(NamedTuple):
    namespace: str
    name: str
    dimensions: Dimensions
    # "Sum", "Average", "Minimum"... or a percentile such as "p99" (an extended statistic).
    stat: str


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm. Either ``metric`` is set, or ``expression`` over ``metrics`` (id -> Metric)."""

    what: str
    metric: Metric | None = None
    expression: str | None = None
    expression_label: str | None = None
    metrics: dict[str, Metric] = field(default_factory=dict)
    comparison: str = "GreaterThanOrEqualToThreshold"
    threshold: float = 1
    # Consecutive breaching periods before it fires (all of them must breach).
    periods: int = 1
    treat_missing_data: str = "notBreaching"
    region: str | None = None  # None: the stack's region
    description: str = ""

    def alarm_name(self, name_prefix: str) -> str:
        return f"{name_prefix}-{self.what}"


@dataclass(frozen=True)
class JobsAlarmTargets:
    """The upload jobs' parts the alarms watch (``infra/jobs.py`` names them)."""

    function_name: str
    dead_letter_queue_name: str
    object_created_rule_name: str
    # Only with the webhook configured.
    webhook_dead_letter_queue_name: str | None = None


@dataclass(frozen=True)
class AlarmTargets:
    """What the alarms watch: names and IDs wired in from the other components."""

    stack: str
    name_prefix: str
    region: str
    signer_function_name: str
    signer_timeout_seconds: int
    api_id: pulumi.Input[str]
    distribution_id: pulumi.Input[str]
    health_check_function_name: str | None = None
    # The CDN's WAF web ACL, when the stack has one (its metrics go on the dashboard).
    waf_web_acl_name: str | None = None
    jobs: JobsAlarmTargets | None = None
    # The transcoding function, when cloud transcoding is on (docs/transcoding.md).
    transcoding_function_name: str | None = None


def alarm_topic_names(name_prefix: str, region: str) -> dict[str, str]:
    """Region -> the alarm topic there: the stack's, and its us-east-1 twin for CloudFront alarms."""
    topics = {region: f"{name_prefix}-alarms"}
    if region != CDN_METRICS_REGION:
        topics[CDN_METRICS_REGION] = f"{name_prefix}-alarms-{CDN_METRICS_REGION}"
    return topics


def runbooks(t: AlarmTargets) -> dict[str, str]:
    """What each alarm means and what the on-call checks first (the alarm's description)."""
    logs = f"/aws/lambda/{t.signer_function_name}"
    p99_limit_ms = _p99_limit_ms(t)
    return {
        "signer-failed-signings": "The signer answered a signing request with a 5xx (app users cannot upload). "
        f"Check the signer's log group {logs} for lines with status >= 500 "
        "(outcome, detail, trace) and recent deploys/config.",
        "signer-errors": "The signer Lambda crashed, timed out or ran out of memory (unhandled errors; the API "
        f"returns 5xx). Check {logs} for 'Task timed out' or tracebacks.",
        "signer-throttles": "Signer invocations are throttled (account or function concurrency exhausted): "
        "uploads fail with 5xx/429. Check the account's Lambda ConcurrentExecutions and what "
        "else runs in it; raise the concurrency quota if real traffic.",
        "signer-duration-p99": f"p99 signer duration is above {p99_limit_ms:.0f} ms, 80% of its "
        f"{t.signer_timeout_seconds} s timeout, for 15 minutes: timeouts (5xx) are next. "
        "Look for cold starts, large jobs (files per request in the logs) or slow Secrets/STS.",
        "api-5xx-rate": "More than 5% of signer API requests got a 5xx over 5 minutes (at least 10 requests): "
        "the integration or the Lambda is failing. Check the signer alarms, then the API access "
        "log group (integrationError, integrationStatus).",
        "api-4xx-rate": "More than 25% of signer API requests were rejected (4xx) for 15 minutes with at least "
        "20 requests per 5 minutes: a client release sending bad jobs, expired/invalid JWTs "
        "(401) or throttling (429). Not a single typo. Check the access log's status and "
        "authorizerError, and the signer log's error codes.",
        "api-latency-p99": "p99 latency of the signer API is above 3 s for 15 minutes: uploads start slowly. "
        "Compare IntegrationLatency (Lambda) with Latency (API) and the signer's duration.",
        "cdn-5xx-rate": "More than 2% of CDN responses were 5xx for 10 minutes: segments and playlists stop "
        "loading. Check the origin (media bucket policy/OAC, S3 health) and the CloudFront "
        "logs (Athena: segment error rate by path).",
        "cdn-4xx-rate": "More than 15% of CDN responses were 4xx for 15 minutes, with at least "
        f"{CDN_4XX_MIN_REQUESTS} requests per 5 minutes (a few scanner requests at night never page). "
        "Missing objects answer 403 through OAC: players request segments that were never uploaded or "
        "already expired, or a CORS/referrer problem. Athena: segment error rate by path.",
        "alarm-delivery-failed": "SNS failed to deliver an alarm notification to a subscriber of the stack's "
        "alarm topic (an HTTPS endpoint down, a chat webhook revoked, KMS denied): pages may be "
        "going nowhere. Check the topic's subscriptions and their delivery status logging; other "
        "subscribers (the e-mail) still receive this one.",
        f"alarm-delivery-failed-{CDN_METRICS_REGION}": "SNS failed to deliver a CloudFront alarm "
        f"notification from the {CDN_METRICS_REGION} twin topic to a subscriber. Check that topic's "
        "subscriptions (each pager must be subscribed to both topics).",
        "healthcheck-failing": "The synthetic upload (sign -> PUT -> wait for complete -> read through the CDN, CORS, "
        "ETag -> delete) failed "
        "for two runs in a row, or stopped reporting. The failing step is in the 'failedStep' field of "
        f"the check's log lines (/aws/lambda/{t.health_check_function_name}).",
        **({} if t.jobs is None else _jobs_runbooks(t.jobs)),
        "transcoding-failed-jobs": "MediaConvert reported a transcode ERROR or a job was CANCELED: the user "
        "sees 'failed' (sources refused for size or duration are not counted). The job's error carries "
        "MediaConvert's code and message; look it up in MediaConvert's error code table and in "
        f"/aws/lambda/{t.transcoding_function_name} (mediaConvertJobId).",
        "transcoding-errors": "The transcoding function failed (unhandled error, timeout): a raw upload may not "
        "have been submitted, or a finished job not marked ready. EventBridge retries for 24 hours; "
        f"check /aws/lambda/{t.transcoding_function_name} for tracebacks (Probe/CreateJob/S3 access denied).",
        "transcoding-dead-letters": "Raw-upload or MediaConvert state-change events the transcoding function "
        "never took (after 24 hours of EventBridge retries) wait in the SQS queue "
        f"{t.transcoding_function_name}-dlq: a job may never have been submitted, or never marked ready. "
        f"Fix the cause (/aws/lambda/{t.transcoding_function_name}), invoke the function with each message "
        "body (replaying is harmless: submission is idempotent per job) and delete it.",
    }


def _jobs_runbooks(j: JobsAlarmTargets) -> dict[str, str]:
    logs = f"/aws/lambda/{j.function_name}"
    return {
        "jobs-errors": "The jobs function failed (an unhandled error or a timeout): uploads may not complete, "
        f"expire or delete, and the status API may answer 5xx. Check {logs} for tracebacks and "
        "'Task timed out', and the job table's and the bus's throttling.",
        "jobs-dead-letters": f"Events the jobs function never processed wait in the SQS queue {j.dead_letter_queue_name} "
        "(S3 Object Created or sweep events, after EventBridge's and Lambda's retries): those files are not "
        f"marked arrived. Read a message (its error attributes say why), fix the cause ({logs}), then "
        "invoke the function with each message body (aws lambda invoke; replaying is harmless) and delete it.",
        "jobs-object-created-failed": f"EventBridge could not invoke the jobs function for rule {j.object_created_rule_name} "
        "(permission removed, function deleted, throttled): uploads stop completing. Check the rule's target and "
        "the function's resource policy; undelivered events are in the jobs dead-letter queue.",
        "jobs-webhook-dead-letters": "(Only with webhookUrl.) Job events the webhook did not accept after EventBridge's retries wait in "
        f"the SQS queue {j.webhook_dead_letter_queue_name}: the receiver is down, rejects the token "
        "(4xx: check webhookSecretName's value) or is too slow. Fix the receiver, then put each message's "
        "detail back on the jobs bus (aws events put-events, source lux-video.jobs) and delete it.",
    }


def _p99_limit_ms(t: AlarmTargets) -> float:
    return 0.8 * t.signer_timeout_seconds * 1000


def alarm_specs(t: AlarmTargets) -> list[AlarmSpec]:
    """The stack's alarms, in dashboard order (descriptions from :func:`runbooks`)."""
    fn: Dimensions = {"FunctionName": t.signer_function_name}
    api: Dimensions = {"ApiId": t.api_id, "Stage": "$default"}
    cdn: Dimensions = {"DistributionId": t.distribution_id, "Region": "Global"}

    def api_ratio(errors: str) -> dict[str, Metric]:
        return {
            "errors": Metric("AWS/ApiGateway", errors, api, "Sum"),
            "requests": Metric("AWS/ApiGateway", "Count", api, "Sum"),
        }

    above, east = "GreaterThanThreshold", CDN_METRICS_REGION
    cdn_4xx = {
        "requests": Metric("AWS/CloudFront", "Requests", cdn, "Sum"),
        "rate": Metric("AWS/CloudFront", "4xxErrorRate", cdn, "Average"),
    }
    signer_failures = Metric(f"{SIGNER_METRIC_NAMESPACE}/{t.stack}", FAILED_SIGNINGS_METRIC, {}, "Sum")
    specs = [
        AlarmSpec("signer-failed-signings", metric=signer_failures),
        AlarmSpec("signer-errors", metric=Metric("AWS/Lambda", "Errors", fn, "Sum")),
        AlarmSpec("signer-throttles", metric=Metric("AWS/Lambda", "Throttles", fn, "Sum")),
        AlarmSpec("signer-duration-p99", metric=Metric("AWS/Lambda", "Duration", fn, "p99"), threshold=_p99_limit_ms(t), periods=3),
        AlarmSpec("api-5xx-rate", expression="IF(requests >= 10, 100 * errors / requests, 0)", expression_label="5xx % of requests", metrics=api_ratio("5xx"), comparison=above, threshold=5),
        AlarmSpec("api-4xx-rate", expression="IF(requests >= 20, 100 * errors / requests, 0)", expression_label="4xx % of requests", metrics=api_ratio("4xx"), comparison=above, threshold=25, periods=3),
        AlarmSpec("api-latency-p99", metric=Metric("AWS/ApiGateway", "Latency", api, "p99"), comparison=above, threshold=3000, periods=3),
        AlarmSpec("cdn-5xx-rate", metric=Metric("AWS/CloudFront", "5xxErrorRate", cdn, "Average"), comparison=above, threshold=2, periods=2, region=east),
        AlarmSpec("cdn-4xx-rate", expression=f"IF(requests >= {CDN_4XX_MIN_REQUESTS}, rate, 0)", expression_label="4xx % of responses (enough traffic)", metrics=cdn_4xx, comparison=above, threshold=15, periods=3, region=east),
    ]  # fmt: skip
    for region, topic in alarm_topic_names(t.name_prefix, t.region).items():
        what = "alarm-delivery-failed" if region == t.region else f"alarm-delivery-failed-{region}"
        failed = Metric("AWS/SNS", "NumberOfNotificationsFailed", {"TopicName": topic}, "Sum")
        specs.append(AlarmSpec(what, metric=failed, region=None if region == t.region else region))
    if t.health_check_function_name is not None:
        check = Metric(HEALTH_CHECK_NAMESPACE, "Success", {"Stack": t.stack}, "Minimum")
        # A check that stops running (or reporting) is a failure too: missing data breaches.
        specs.append(
            AlarmSpec("healthcheck-failing", metric=check, comparison="LessThanThreshold", periods=2, treat_missing_data="breaching")
        )  # fmt: skip
    if t.jobs is not None:
        specs += _jobs_alarms(t.jobs)
    if t.transcoding_function_name is not None:
        transcoder: Dimensions = {"FunctionName": t.transcoding_function_name}
        failed_jobs = Metric(TRANSCODING_METRIC_NAMESPACE, "JobsFailed", transcoder, "Sum")
        specs += [
            AlarmSpec("transcoding-failed-jobs", metric=failed_jobs),
            AlarmSpec("transcoding-errors", metric=Metric("AWS/Lambda", "Errors", transcoder, "Sum")),
            AlarmSpec(
                "transcoding-dead-letters",
                metric=Metric(
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    {"QueueName": f"{t.transcoding_function_name}-dlq"},  # TranscodingConfig's rule
                    "Maximum",
                ),
            ),
        ]
    texts = runbooks(t)
    return [replace(spec, description=f"{texts[spec.what]} Runbook: {RUNBOOK}") for spec in specs]


def _jobs_alarms(j: JobsAlarmTargets) -> list[AlarmSpec]:
    def dead_letters(queue: str) -> Metric:
        return Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue}, "Maximum")

    specs = [
        AlarmSpec("jobs-errors", metric=Metric("AWS/Lambda", "Errors", {"FunctionName": j.function_name}, "Sum")),
        AlarmSpec("jobs-dead-letters", metric=dead_letters(j.dead_letter_queue_name)),
        AlarmSpec("jobs-object-created-failed", metric=Metric("AWS/Events", "FailedInvocations", {"RuleName": j.object_created_rule_name}, "Sum")),
    ]  # fmt: skip
    if j.webhook_dead_letter_queue_name is not None:
        specs.append(
            AlarmSpec("jobs-webhook-dead-letters", metric=dead_letters(j.webhook_dead_letter_queue_name))
        )
    return specs


def alarm_inputs(spec: AlarmSpec, name_prefix: str, topic_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The MetricAlarm arguments for a spec (snake_case, as the Pulumi SDK takes them)."""
    args: dict[str, Any] = {
        "name": spec.alarm_name(name_prefix),
        "alarm_description": spec.description,
        "comparison_operator": spec.comparison,
        "threshold": spec.threshold,
        "evaluation_periods": spec.periods,
        "datapoints_to_alarm": spec.periods,
        "treat_missing_data": spec.treat_missing_data,
        "alarm_actions": [topic_arn],
        "ok_actions": [topic_arn],
    }
    if spec.metric is not None:
        metric = spec.metric
        args.update(
            namespace=metric.namespace,
            metric_name=metric.name,
            period=PERIOD_SECONDS,
            dimensions=metric.dimensions or None,
        )
        args["extended_statistic" if _is_percentile(metric.stat) else "statistic"] = metric.stat
        return args
    queries: list[dict[str, Any]] = [
        {
            "id": query_id,
            "return_data": False,
            "metric": {
                "namespace": m.namespace,
                "metric_name": m.name,
                "dimensions": m.dimensions,
                "period": PERIOD_SECONDS,
                "stat": m.stat,
            },
        }
        for query_id, m in spec.metrics.items()
    ]
    queries.append(
        {"id": "ratio", "expression": spec.expression, "label": spec.expression_label, "return_data": True}
    )
    args["metric_queries"] = queries
    return args


def _is_percentile(stat: str) -> bool:
    return stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit()
