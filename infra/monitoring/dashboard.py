"""The stack's one dashboard: alarms, signer, API, CDN (us-east-1), the synthetic check and the jobs."""

from __future__ import annotations

from typing import Any

from infra.monitoring.alarms import CDN_METRICS_REGION, PERIOD_SECONDS
from infra.policies import (
    FAILED_SIGNINGS_METRIC,
    HEALTH_CHECK_NAMESPACE,
    SIGNER_METRIC_NAMESPACE,
    TRANSCODING_METRIC_NAMESPACE,
)
from lambda_src.sign_uploads.jobs_handler import METRICS_NAMESPACE as JOBS_NAMESPACE


def dashboard_body(
    *,
    region: str,
    stack: str,
    function_name: str,
    api_id: str,
    distribution_id: str,
    health_check_function: str | None,
    alarm_arns: list[str],
    waf_web_acl: str | None = None,
    jobs_function: str | None = None,
    jobs_queues: list[str] | None = None,
    transcoding_function: str | None = None,
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
                "period": PERIOD_SECONDS,
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
    if waf_web_acl is not None:
        acl = ["WebACL", waf_web_acl, "Rule", "ALL"]
        widgets.append(
            metric_widget(
                "CDN WAF: allowed / blocked requests",
                [
                    ["AWS/WAFV2", "AllowedRequests", *acl, {"stat": "Sum"}],
                    ["AWS/WAFV2", "BlockedRequests", *acl, {"stat": "Sum"}],
                ],
                0,
                27,
                widget_region=CDN_METRICS_REGION,
            )
        )
    if jobs_function is not None:
        jobs_fn = ["FunctionName", jobs_function]
        widgets += [
            metric_widget(
                "Upload jobs: completed / expired",
                [
                    [JOBS_NAMESPACE, "JobsCompleted", *jobs_fn, {"stat": "Sum"}],
                    [JOBS_NAMESPACE, "JobsExpired", *jobs_fn, {"stat": "Sum"}],
                ],
                0,
                33,
            ),
            metric_widget(
                "Upload jobs: function errors, dead letters",
                [
                    ["AWS/Lambda", "Errors", *jobs_fn, {"stat": "Sum"}],
                    *[
                        [
                            "AWS/SQS",
                            "ApproximateNumberOfMessagesVisible",
                            "QueueName",
                            queue,
                            {"stat": "Maximum"},
                        ]
                        for queue in jobs_queues or []
                    ],
                ],
                12,
                33,
            ),
        ]
    if transcoding_function is not None:
        widgets += transcoding_widgets(metric_widget, transcoding_function)
    return {"widgets": widgets}


def transcoding_widgets(metric_widget: Any, function_name: str) -> list[dict[str, Any]]:
    """Cloud transcoding (docs/transcoding.md): jobs, output minutes (what MediaConvert bills), failures."""
    fn = ["FunctionName", function_name]
    ns = TRANSCODING_METRIC_NAMESPACE
    return [
        metric_widget(
            "Transcoding: jobs submitted / ready / failed / refused (over a limit)",
            [
                [ns, name, *fn, {"stat": "Sum"}]
                for name in ("JobsSubmitted", "JobsReady", "JobsFailed", "SourcesRefused")
            ],
            0,
            33,
        ),
        metric_widget(
            "Transcoding: output minutes (billed per minute: see docs/transcoding.md)",
            [[ns, "OutputMinutes", *fn, {"stat": "Sum"}]],
            12,
            33,
        ),
        metric_widget(
            "Transcoding: failed jobs and function errors",
            [[ns, "JobsFailed", *fn, {"stat": "Sum"}], ["AWS/Lambda", "Errors", *fn, {"stat": "Sum"}]],
            0,
            39,
        ),
    ]
