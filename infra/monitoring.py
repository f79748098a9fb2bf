"""Monitoring that ships with the stack: who gets paged, for what, and the synthetic upload check.

Alarms notify an SNS topic on ALARM and OK. Each alarm's definition (metric, statistic,
threshold, periods, missing-data treatment, runbook text) is plain data built by
:func:`alarm_specs`, so the README's table, the tests and the component read the same thing.
CloudFront publishes its metrics only in us-east-1, and an alarm may notify only a topic in its own
region: the CloudFront alarms live in us-east-1 (explicit provider) and notify a twin topic there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import packaging, policies, signer

CDN_METRICS_REGION = "us-east-1"
SIGNER_METRIC_NAMESPACE = "LuxVideo/Signer"  # + "/<stack>": a log metric filter cannot add a Stack dimension
FAILED_SIGNINGS_METRIC = "FailedSignings"
HEALTH_CHECK_NAMESPACE = "LuxVideo/HealthCheck"
HEALTH_CHECK_SCHEDULE = "rate(5 minutes)"
HEALTH_CHECK_SOURCE_DIR = packaging.LAMBDA_SRC / "health_check"
HEALTH_CHECK_TIMEOUT_SECONDS = 30
HEALTH_CHECK_MEMORY_MB = 256
# Probe Origin header when CORS allows any origin (any value works; this one can never be real).
ANY_ORIGIN_PROBE = "https://healthcheck.invalid"

RUNBOOK = "README.md#monitoring"


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm as data. Either ``metric`` (namespace, name, dimensions, statistic) or
    ``expression`` over ``metrics`` (id -> (namespace, name, dimensions, stat)) is set."""

    what: str
    description: str
    comparison: str
    threshold: float
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    statistic: str | None = None
    extended_statistic: str | None = None
    expression: str | None = None
    expression_label: str | None = None
    metrics: dict[str, tuple[str, str, dict[str, pulumi.Input[str]], str]] = field(default_factory=dict)
    region: str | None = None  # None: the stack's region

    def alarm_name(self, name_prefix: str) -> str:
        return f"{name_prefix}-{self.what}"


def signer_alarm_specs(stack: str, function_name: str) -> list[AlarmSpec]:
    fn: dict[str, pulumi.Input[str]] = {"FunctionName": function_name}
    p99_limit_ms = 0.8 * signer.TIMEOUT_SECONDS * 1000
    return [
        AlarmSpec(
            what="signer-failed-signings",
            description=(
                "The signer answered a signing request with a 5xx (app users cannot upload). "
                f"Check the signer's log group /aws/lambda/{function_name} for lines with status >= 500 "
                f"(outcome, detail, trace) and recent deploys/config. Runbook: {RUNBOOK}"
            ),
            namespace=f"{SIGNER_METRIC_NAMESPACE}/{stack}",
            metric_name=FAILED_SIGNINGS_METRIC,
            statistic="Sum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=1,
            period=300,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data="notBreaching",
        ),
        AlarmSpec(
            what="signer-errors",
            description=(
                "The signer Lambda crashed, timed out or ran out of memory (unhandled errors; the API "
                f"returns 5xx). Check /aws/lambda/{function_name} for 'Task timed out' or tracebacks. "
                f"Runbook: {RUNBOOK}"
            ),
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions=fn,
            statistic="Sum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=1,
            period=300,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data="notBreaching",
        ),
        AlarmSpec(
            what="signer-throttles",
            description=(
                "Signer invocations are throttled (account or function concurrency exhausted): "
                "uploads fail with 5xx/429. Check the account's Lambda ConcurrentExecutions and what "
                f"else runs in it; raise the concurrency quota if real traffic. Runbook: {RUNBOOK}"
            ),
            namespace="AWS/Lambda",
            metric_name="Throttles",
            dimensions=fn,
            statistic="Sum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=1,
            period=300,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data="notBreaching",
        ),
        AlarmSpec(
            what="signer-duration-p99",
            description=(
                f"p99 signer duration is above {p99_limit_ms:.0f} ms, 80% of its "
                f"{signer.TIMEOUT_SECONDS} s timeout, for 15 minutes: timeouts (5xx) are next. "
                "Look for cold starts, large jobs (files per request in the logs) or slow Secrets/STS. "
                f"Runbook: {RUNBOOK}"
            ),
            namespace="AWS/Lambda",
            metric_name="Duration",
            dimensions=fn,
            extended_statistic="p99",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=p99_limit_ms,
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            treat_missing_data="notBreaching",
        ),
    ]


def _api_ratio(
    api_id: pulumi.Input[str], errors: str
) -> dict[str, tuple[str, str, dict[str, pulumi.Input[str]], str]]:
    dims: dict[str, pulumi.Input[str]] = {"ApiId": api_id, "Stage": "$default"}
    return {
        "errors": ("AWS/ApiGateway", errors, dims, "Sum"),
        "requests": ("AWS/ApiGateway", "Count", dims, "Sum"),
    }


def api_alarm_specs(api_id: pulumi.Input[str]) -> list[AlarmSpec]:
    return [
        AlarmSpec(
            what="api-5xx-rate",
            description=(
                "More than 5% of signer API requests got a 5xx over 5 minutes (at least 10 requests): "
                "the integration or the Lambda is failing. Check the signer alarms, then the API access "
                "log group (integrationError, integrationStatus). Runbook: " + RUNBOOK
            ),
            expression="IF(requests >= 10, 100 * errors / requests, 0)",
            expression_label="5xx % of requests",
            metrics=_api_ratio(api_id, "5xx"),
            comparison="GreaterThanThreshold",
            threshold=5,
            period=300,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data="notBreaching",
        ),
        AlarmSpec(
            what="api-4xx-rate",
            description=(
                "More than 25% of signer API requests were rejected (4xx) for 15 minutes with at least "
                "20 requests per 5 minutes: a client release sending bad jobs, expired/invalid JWTs "
                "(401) or throttling (429). Not a single typo. Check the access log's status and "
                "authorizerError, and the signer log's error codes. Runbook: " + RUNBOOK
            ),
            expression="IF(requests >= 20, 100 * errors / requests, 0)",
            expression_label="4xx % of requests",
            metrics=_api_ratio(api_id, "4xx"),
            comparison="GreaterThanThreshold",
            threshold=25,
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            treat_missing_data="notBreaching",
        ),
        AlarmSpec(
            what="api-latency-p99",
            description=(
                "p99 latency of the signer API is above 3 s for 15 minutes: uploads start slowly. "
                "Compare IntegrationLatency (Lambda) with Latency (API) and the signer's duration. "
                "Runbook: " + RUNBOOK
            ),
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions={"ApiId": api_id, "Stage": "$default"},
            extended_statistic="p99",
            comparison="GreaterThanThreshold",
            threshold=3000,
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            treat_missing_data="notBreaching",
        ),
    ]


def cdn_alarm_specs(distribution_id: pulumi.Input[str]) -> list[AlarmSpec]:
    dims: dict[str, pulumi.Input[str]] = {"DistributionId": distribution_id, "Region": "Global"}
    return [
        AlarmSpec(
            what="cdn-5xx-rate",
            description=(
                "More than 2% of CDN responses were 5xx for 10 minutes: segments and playlists stop "
                "loading. Check the origin (media bucket policy/OAC, S3 health) and the CloudFront "
                "logs (Athena: segment error rate by path). Runbook: " + RUNBOOK
            ),
            namespace="AWS/CloudFront",
            metric_name="5xxErrorRate",
            dimensions=dims,
            statistic="Average",
            comparison="GreaterThanThreshold",
            threshold=2,
            period=300,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            treat_missing_data="notBreaching",
            region=CDN_METRICS_REGION,
        ),
        AlarmSpec(
            what="cdn-4xx-rate",
            description=(
                "More than 15% of CDN responses were 4xx for 15 minutes. Missing objects answer 403 "
                "through OAC: players request segments that were never uploaded or already expired, "
                "or a CORS/referrer problem. Athena: segment error rate by path. Runbook: " + RUNBOOK
            ),
            namespace="AWS/CloudFront",
            metric_name="4xxErrorRate",
            dimensions=dims,
            statistic="Average",
            comparison="GreaterThanThreshold",
            threshold=15,
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            treat_missing_data="notBreaching",
            region=CDN_METRICS_REGION,
        ),
    ]


def health_check_alarm_spec(stack: str, function_name: str) -> AlarmSpec:
    return AlarmSpec(
        what="healthcheck-failing",
        description=(
            "The synthetic upload (sign -> PUT -> read through the CDN, CORS, ETag) failed for two "
            "runs in a row, or stopped reporting. The failing step is in the 'failedStep' field of "
            f"the check's log lines (/aws/lambda/{function_name}). Runbook: {RUNBOOK}"
        ),
        namespace=HEALTH_CHECK_NAMESPACE,
        metric_name="Success",
        dimensions={"Stack": stack},
        statistic="Minimum",
        comparison="LessThanThreshold",
        threshold=1,
        period=300,
        evaluation_periods=2,
        datapoints_to_alarm=2,
        # A check that stops running (or reporting) is a failure too.
        treat_missing_data="breaching",
    )


def alarm_inputs(spec: AlarmSpec, name_prefix: str, topic_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The MetricAlarm arguments for a spec (snake_case, as the Pulumi SDK takes them)."""
    args: dict[str, Any] = {
        "name": spec.alarm_name(name_prefix),
        "alarm_description": spec.description,
        "comparison_operator": spec.comparison,
        "threshold": spec.threshold,
        "evaluation_periods": spec.evaluation_periods,
        "datapoints_to_alarm": spec.datapoints_to_alarm,
        "treat_missing_data": spec.treat_missing_data,
        "alarm_actions": [topic_arn],
        "ok_actions": [topic_arn],
    }
    if spec.expression is None:
        args.update(
            namespace=spec.namespace,
            metric_name=spec.metric_name,
            period=spec.period,
            dimensions=spec.dimensions or None,
        )
        if spec.extended_statistic:
            args["extended_statistic"] = spec.extended_statistic
        else:
            args["statistic"] = spec.statistic
        return args
    queries: list[dict[str, Any]] = [
        {
            "id": query_id,
            "return_data": False,
            "metric": {
                "namespace": namespace,
                "metric_name": metric_name,
                "dimensions": dimensions,
                "period": spec.period,
                "stat": stat,
            },
        }
        for query_id, (namespace, metric_name, dimensions, stat) in spec.metrics.items()
    ]
    queries.append(
        {"id": "ratio", "expression": spec.expression, "label": spec.expression_label, "return_data": True}
    )
    args["metric_queries"] = queries
    return args


def dashboard_body(
    *,
    region: str,
    stack: str,
    function_name: str,
    api_id: str,
    distribution_id: str,
    health_check_function: str | None,
    alarm_arns: list[str],
) -> dict[str, Any]:
    """One dashboard: alarms, signer, API, CDN (us-east-1) and the synthetic check."""
    fn = ["FunctionName", function_name]
    api = ["ApiId", api_id, "Stage", "$default"]
    cdn = ["DistributionId", distribution_id, "Region", "Global"]

    def metric_widget(
        title: str, metrics: list[list[Any]], x: int, y: int, widget_region: str = region, **props: Any
    ) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": widget_region,
                "view": "timeSeries",
                "period": 300,
                "metrics": metrics,
                **props,
            },
        }

    widgets: list[dict[str, Any]] = [
        {
            "type": "alarm",
            "x": 0,
            "y": 0,
            "width": 24,
            "height": 3,
            "properties": {"title": "Alarms", "alarms": alarm_arns},
        },
        metric_widget(
            "Signer: invocations, errors, throttles, failed signings",
            [
                ["AWS/Lambda", "Invocations", *fn, {"stat": "Sum"}],
                ["AWS/Lambda", "Errors", *fn, {"stat": "Sum"}],
                ["AWS/Lambda", "Throttles", *fn, {"stat": "Sum"}],
                [f"{SIGNER_METRIC_NAMESPACE}/{stack}", FAILED_SIGNINGS_METRIC, {"stat": "Sum"}],
            ],
            0,
            3,
        ),
        metric_widget(
            "Signer: duration p50 / p99 (ms)",
            [
                ["AWS/Lambda", "Duration", *fn, {"stat": "p50"}],
                ["AWS/Lambda", "Duration", *fn, {"stat": "p99"}],
            ],
            12,
            3,
        ),
        metric_widget(
            "API: requests, 4xx, 5xx",
            [
                ["AWS/ApiGateway", "Count", *api, {"stat": "Sum"}],
                ["AWS/ApiGateway", "4xx", *api, {"stat": "Sum"}],
                ["AWS/ApiGateway", "5xx", *api, {"stat": "Sum"}],
            ],
            0,
            9,
        ),
        metric_widget(
            "API: latency p99 vs integration p99 (ms)",
            [
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p99"}],
                ["AWS/ApiGateway", "IntegrationLatency", *api, {"stat": "p99"}],
            ],
            12,
            9,
        ),
        metric_widget(
            "CDN: requests",
            [["AWS/CloudFront", "Requests", *cdn, {"stat": "Sum"}]],
            0,
            15,
            widget_region=CDN_METRICS_REGION,
        ),
        metric_widget(
            "CDN: 4xx / 5xx error rate (%)",
            [
                ["AWS/CloudFront", "4xxErrorRate", *cdn, {"stat": "Average"}],
                ["AWS/CloudFront", "5xxErrorRate", *cdn, {"stat": "Average"}],
            ],
            12,
            15,
            widget_region=CDN_METRICS_REGION,
        ),
    ]
    if health_check_function is not None:
        check = ["Stack", stack]
        widgets += [
            metric_widget(
                "Synthetic upload check: success, probe cleanup (1 = ok)",
                [
                    [HEALTH_CHECK_NAMESPACE, "Success", *check, {"stat": "Minimum"}],
                    [HEALTH_CHECK_NAMESPACE, "CleanupSuccess", *check, {"stat": "Minimum"}],
                ],
                0,
                21,
                yAxis={"left": {"min": 0, "max": 1}},
            ),
            metric_widget(
                "Synthetic upload check: latency by step (ms)",
                [
                    [HEALTH_CHECK_NAMESPACE, name, *check, {"stat": "Maximum"}]
                    for name in ("LatencyMs", "SignLatencyMs", "PutLatencyMs", "CdnLatencyMs")
                ],
                12,
                21,
            ),
        ]
    return {"widgets": widgets}


@dataclass(frozen=True)
class MonitoringArgs:
    name_prefix: str
    stack: str
    region: str
    tags: dict[str, str]
    alarm_email: str | None
    signer_function_name: str
    signer_log_group_name: pulumi.Input[str]
    api_id: pulumi.Input[str]
    signer_endpoint: pulumi.Input[str]
    distribution_id: pulumi.Input[str]
    cdn_base_url: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    prefix: str
    log_retention_days: int
    cors_allowed_origins: tuple[str, ...]
    health_check_enabled: bool = True
    token_secret_name: str | None = None
    health_check_source_dir: Path = HEALTH_CHECK_SOURCE_DIR


class Monitoring(pulumi.ComponentResource):
    """Owns the alarm topics (stack region and us-east-1), the email subscriptions, the signer's
    failed-signing metric filter, every alarm, the synthetic health check (role, log group,
    function, schedule and its role) and the dashboard."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix

        self.topic = self._topic(f"{name}-alarms", f"{prefix}-alarms", args.alarm_email, child)
        if args.region == CDN_METRICS_REGION:
            self.us_east_1 = None
            cdn_opts = child
            cdn_topic = self.topic
        else:
            # Explicit providers do not read the stack's aws: config: give it the stack's tags.
            self.us_east_1 = aws.Provider(
                f"{name}-{CDN_METRICS_REGION}",
                region=CDN_METRICS_REGION,
                default_tags={"tags": args.tags},
                opts=child,
            )
            cdn_opts = pulumi.ResourceOptions(parent=self, provider=self.us_east_1)
            # An alarm can only notify a topic in its own region.
            cdn_topic = self._topic(
                f"{name}-alarms-{CDN_METRICS_REGION}",
                f"{prefix}-alarms-{CDN_METRICS_REGION}",
                args.alarm_email,
                cdn_opts,
            )
        self.cdn_topic = cdn_topic

        self.failed_signings = aws.cloudwatch.LogMetricFilter(
            f"{name}-failed-signings",
            name=f"{prefix}-failed-signings",
            log_group_name=args.signer_log_group_name,
            pattern=policies.FAILED_SIGNING_FILTER_PATTERN,
            metric_transformation={
                "name": FAILED_SIGNINGS_METRIC,
                "namespace": f"{SIGNER_METRIC_NAMESPACE}/{args.stack}",
                "value": "1",
                "default_value": "0",
                "unit": "Count",
            },
            opts=child,
        )

        self.health_check: aws.lambda_.Function | None = None
        self.health_check_name = f"{prefix}-healthcheck"
        if args.health_check_enabled:
            self._health_check(name, args, child)

        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        specs = [
            *(
                (spec, self.topic, child)
                for spec in signer_alarm_specs(args.stack, args.signer_function_name)
            ),
            *((spec, self.topic, child) for spec in api_alarm_specs(args.api_id)),
            *((spec, cdn_topic, cdn_opts) for spec in cdn_alarm_specs(args.distribution_id)),
        ]
        if self.health_check is not None:
            specs.append((health_check_alarm_spec(args.stack, self.health_check_name), self.topic, child))
        for spec, topic, options in specs:
            self.alarms[spec.what] = aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.what}", **alarm_inputs(spec, prefix, topic.arn), opts=options
            )

        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=prefix,
            dashboard_body=pulumi.Output.all(
                function_name=args.signer_function_name,
                api_id=args.api_id,
                distribution_id=args.distribution_id,
                health_check_function=self.health_check.name if self.health_check else None,
                alarm_arns=pulumi.Output.all(*[alarm.arn for alarm in self.alarms.values()]),
            ).apply(
                lambda v: json.dumps(
                    dashboard_body(region=args.region, stack=args.stack, **v), sort_keys=True
                )
            ),
            opts=child,
        )

        self.topic_arn = self.topic.arn
        self.dashboard_name = self.dashboard.dashboard_name
        self.register_outputs(
            {"alarmTopicArn": self.topic.arn, "dashboardName": self.dashboard.dashboard_name}
        )

    def _topic(
        self, resource_name: str, topic_name: str, email: str | None, opts: pulumi.ResourceOptions
    ) -> aws.sns.Topic:
        """An alarm topic encrypted with its own key (see policies.alarm_topic_key_policy)."""
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        key = aws.kms.Key(
            f"{resource_name}-key",
            description=f"Encrypts the {topic_name} SNS topic; CloudWatch alarms may publish",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=account_id.apply(lambda account: json.dumps(policies.alarm_topic_key_policy(account))),
            opts=opts,
        )
        aws.kms.Alias(
            f"{resource_name}-key-alias", name=f"alias/{topic_name}", target_key_id=key.key_id, opts=opts
        )
        topic = aws.sns.Topic(
            resource_name,
            name=topic_name,
            display_name=topic_name[:100],
            kms_master_key_id=key.arn,
            opts=opts,
        )
        aws.sns.TopicPolicy(
            f"{resource_name}-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account_id).apply(
                lambda values: json.dumps(policies.alarm_topic_policy(values[0], values[1]))
            ),
            opts=opts,
        )
        if email is not None:
            aws.sns.TopicSubscription(
                f"{resource_name}-email",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=opts,
            )
        return topic

    def _health_check(self, name: str, args: MonitoringArgs, child: pulumi.ResourceOptions) -> None:
        function_name = self.health_check_name
        account_id = aws.get_caller_identity_output().account_id
        self.health_check_log_group = aws.cloudwatch.LogGroup(
            f"{name}-healthcheck-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.health_check_role = aws.iam.Role(
            f"{name}-healthcheck-role",
            name=f"{function_name}-role",
            description="Synthetic upload check: deletes its own probe objects, writes its logs",
            assume_role_policy=json.dumps(policies.lambda_trust_policy()),
            opts=child,
        )
        token_secret = args.token_secret_name
        self.health_check_policy = aws.iam.RolePolicy(
            f"{name}-healthcheck-permissions",
            name="health-check",
            role=self.health_check_role.id,
            policy=pulumi.Output.all(args.bucket_arn, self.health_check_log_group.arn, account_id).apply(
                lambda v: json.dumps(
                    policies.health_check_permissions(
                        v[0],
                        args.prefix,
                        v[1],
                        None
                        if token_secret is None
                        else policies.secret_arn_pattern(args.region, v[2], token_secret),
                    )
                )
            ),
            opts=child,
        )
        origin = args.cors_allowed_origins[0]
        environment: dict[str, pulumi.Input[str]] = {
            "SIGNER_URL": args.signer_endpoint,
            "CDN_BASE_URL": args.cdn_base_url,
            "BUCKET": args.bucket_name,
            "STACK": args.stack,
            "METRIC_NAMESPACE": HEALTH_CHECK_NAMESPACE,
            "JOB_PREFIX": policies.HEALTH_CHECK_JOB_PREFIX,
            "CHECK_ORIGIN": ANY_ORIGIN_PROBE if origin == "*" else origin,
        }
        if token_secret is not None:
            environment["TOKEN_SECRET_NAME"] = token_secret
        self.health_check = aws.lambda_.Function(
            f"{name}-healthcheck",
            name=function_name,
            description="Synthetic upload: sign, PUT, read back through the CDN; EMF metrics",
            runtime=signer.RUNTIME,
            architectures=[signer.ARCHITECTURE],
            handler="handler.handler",
            code=packaging.function_archive(args.health_check_source_dir),
            memory_size=HEALTH_CHECK_MEMORY_MB,
            timeout=HEALTH_CHECK_TIMEOUT_SECONDS,
            role=self.health_check_role.arn,
            environment={"variables": environment},
            # Text: the EMF lines the handler prints must reach the log group unwrapped.
            logging_config={"logFormat": "Text", "logGroup": self.health_check_log_group.name},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.health_check_policy, self.health_check_log_group]
            ),
        )
        # A failed run is reported by its metrics; retrying it would only blur them.
        self.health_check_invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-healthcheck-invoke-config",
            function_name=self.health_check.name,
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=300,
            opts=child,
        )
        self.scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role",
            name=f"{function_name}-scheduler",
            description="EventBridge Scheduler: invokes the synthetic upload check, nothing else",
            assume_role_policy=account_id.apply(
                lambda account: json.dumps(policies.scheduler_trust_policy(account))
            ),
            opts=child,
        )
        self.scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-permissions",
            name="invoke-health-check",
            role=self.scheduler_role.id,
            policy=self.health_check.arn.apply(lambda arn: json.dumps(policies.scheduler_permissions(arn))),
            opts=child,
        )
        self.schedule = aws.scheduler.Schedule(
            f"{name}-healthcheck-schedule",
            name=function_name,
            description="Runs the synthetic upload check every 5 minutes",
            schedule_expression=HEALTH_CHECK_SCHEDULE,
            flexible_time_window={"mode": "OFF"},
            state="ENABLED",
            target={
                "arn": self.health_check.arn,
                "role_arn": self.scheduler_role.arn,
                "retry_policy": {"maximum_retry_attempts": 0, "maximum_event_age_in_seconds": 300},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.scheduler_policy]),
        )
