"""Monitoring that ships with the stack: who gets paged, for what.

Alarms notify an SNS topic on ALARM and OK. What each alarm watches is data in
:mod:`infra.monitoring.alarms`; the dashboard body is :mod:`infra.monitoring.dashboard`; this
module wires topics, the failed-signing metric filter, the alarms and the dashboard.
CloudFront publishes its metrics only in us-east-1, and an alarm may notify only a topic in its own
region: the CloudFront alarms live in us-east-1 (explicit provider) and notify a twin topic there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import MonitoringConfig
from infra.monitoring.alarms import (
    CDN_METRICS_REGION,
    AlarmTargets,
    JobsAlarmTargets,
    alarm_inputs,
    alarm_specs,
    alarm_topic_names,
)
from infra.monitoring.dashboard import dashboard_body


@dataclass(frozen=True)
class MonitoringArgs:
    config: MonitoringConfig
    targets: AlarmTargets
    signer_log_group_name: pulumi.Input[str]


class Monitoring(pulumi.ComponentResource):
    """Owns the alarm topics (stack region and us-east-1) with their keys and email subscriptions,
    the signer's failed-signing metric filter, every alarm and the dashboard."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:monitoring:Monitoring", name, None, opts)
        config, targets = args.config, args.targets
        child = pulumi.ResourceOptions(parent=self)
        # The transcoding cost budget notifies the stack-region topic (only when transcoding is on).
        self._budgets = targets.transcoding_function_name is not None
        prefix = config.name_prefix

        topic_names = alarm_topic_names(prefix, config.region)
        self.topic = self._topic(
            f"{name}-alarms", topic_names[config.region], config.alarm_email, child, budgets=self._budgets
        )
        if config.region == CDN_METRICS_REGION:
            cdn_opts, self.cdn_topic = child, self.topic
        else:
            # Explicit providers do not read the stack's aws: config: give it the stack's tags.
            us_east_1 = aws.Provider(
                f"{name}-{CDN_METRICS_REGION}",
                region=CDN_METRICS_REGION,
                default_tags={"tags": dict(config.tags)},
                opts=child,
            )
            cdn_opts = pulumi.ResourceOptions(parent=self, provider=us_east_1)
            # An alarm can only notify a topic in its own region.
            self.cdn_topic = self._topic(
                f"{name}-alarms-{CDN_METRICS_REGION}",
                topic_names[CDN_METRICS_REGION],
                config.alarm_email,
                cdn_opts,
            )

        self.failed_signings = aws.cloudwatch.LogMetricFilter(
            f"{name}-failed-signings",
            name=f"{prefix}-failed-signings",
            log_group_name=args.signer_log_group_name,
            pattern=policies.FAILED_SIGNING_FILTER_PATTERN,
            metric_transformation={
                "name": policies.FAILED_SIGNINGS_METRIC,
                "namespace": f"{policies.SIGNER_METRIC_NAMESPACE}/{config.stack}",
                "value": "1",
                "default_value": "0",
                "unit": "Count",
            },
            opts=child,
        )

        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for spec in alarm_specs(targets):
            in_cdn_region = spec.region == CDN_METRICS_REGION
            topic = self.cdn_topic if in_cdn_region else self.topic
            self.alarms[spec.what] = aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.what}",
                **alarm_inputs(spec, prefix, topic.arn),
                opts=cdn_opts if in_cdn_region else child,
            )

        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=prefix,
            dashboard_body=pulumi.Output.all(
                function_name=targets.signer_function_name,
                api_id=targets.api_id,
                distribution_id=targets.distribution_id,
                health_check_function=targets.health_check_function_name,
                waf_web_acl=targets.waf_web_acl_name,
                jobs_function=None if targets.jobs is None else targets.jobs.function_name,
                jobs_queues=[] if targets.jobs is None else _jobs_queues(targets.jobs),
                transcoding_function=targets.transcoding_function_name,
                alarm_arns=pulumi.Output.all(*[alarm.arn for alarm in self.alarms.values()]),
            ).apply(
                lambda v: json.dumps(
                    dashboard_body(region=config.region, stack=config.stack, **v), sort_keys=True
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
        self,
        resource_name: str,
        topic_name: str,
        email: str | None,
        opts: pulumi.ResourceOptions,
        budgets: bool = False,
    ) -> aws.sns.Topic:
        """An alarm topic encrypted with its own key (see policies.alarm_topic_key_policy);
        ``budgets``: AWS Budgets may publish too (the stack-region topic, with transcoding)."""
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        key = aws.kms.Key(
            f"{resource_name}-key",
            description=f"Encrypts the {topic_name} SNS topic; CloudWatch alarms may publish",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=account_id.apply(
                lambda account: json.dumps(policies.alarm_topic_key_policy(account, budgets))
            ),
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
                lambda values: json.dumps(policies.alarm_topic_policy(values[0], values[1], budgets))
            ),
            opts=opts,
        )
        if email is not None:
            aws.sns.TopicSubscription(
                f"{resource_name}-email", topic=topic.arn, protocol="email", endpoint=email, opts=opts
            )
        return topic


def _jobs_queues(jobs: JobsAlarmTargets) -> list[str]:
    return [q for q in (jobs.dead_letter_queue_name, jobs.webhook_dead_letter_queue_name) if q is not None]
