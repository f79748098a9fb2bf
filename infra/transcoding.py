"""Cloud transcoding on AWS Elemental MediaConvert (docs/transcoding.md), declared only when the
stack's ``transcoding`` switch is on.

A MediaConvert queue (on-demand, bounded concurrency), the MediaConvert service role (reads raw
videos, writes under the upload prefix), the transcoding function (the signer's source folder,
handler ``transcoding_handler.handler``) with its role, two EventBridge rules (``Upload Job
Completed`` with a raw video on the jobs bus; MediaConvert's state changes of this queue on the
default bus) and, once the alarm topic exists, a monthly AWS Budgets cost budget on the stack's tag.
pulumi-aws has no MediaConvert job template or preset resource: the job settings are one document
shipped with the function (``lambda_src/sign_uploads/transcoding_job.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies, signer
from infra.config import TranscodingConfig
from infra.lambda_function import PythonFunctionArgs, python_function
from infra.policies import transcoding as transcoding_policies
from lambda_src.sign_uploads import config as function_config
from lambda_src.sign_uploads import events
from lambda_src.sign_uploads.transcoding import ENVIRONMENT_KEYS, Settings, load_template

# On demand: billed per output minute, nothing when idle. A reserved queue is a 12-month commitment
# per transcoding slot, worth it only for steady volume this stack does not have (docs/transcoding.md).
PRICING_PLAN = "ON_DEMAND"
MEMORY_MB = 256
# The COMPLETE event copies every output in place (a 10-minute video at 4 s segments and three
# rungs is ~460 objects): minutes, not seconds.
TIMEOUT_SECONDS = 300
# How long EventBridge keeps retrying a failed delivery to the function.
RETRY_SECONDS = 86_400


@dataclass(frozen=True)
class TranscodingArgs:
    config: TranscodingConfig
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    public_base_url: pulumi.Input[str]
    # The jobs component's table and custom bus (infra/jobs.py).
    jobs_table_name: pulumi.Input[str]
    jobs_table_arn: pulumi.Input[str]
    event_bus_name: pulumi.Input[str]
    event_bus_arn: pulumi.Input[str]


def _variable(environment: pulumi.Output[dict[str, str]], key: str) -> pulumi.Output[str]:
    return environment.apply(lambda env: env[key])


class Transcoding(pulumi.ComponentResource):
    """Owns the queue, both roles, the function and its rules; :meth:`budget` adds the cost budget."""

    def __init__(self, name: str, args: TranscodingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # The job settings document (shipped in the function's zip, read from that same file) is the
        # component's input, so the offline plan and `pulumi preview` show every output setting.
        super().__init__("lux:transcoding:Transcoding", name, {"jobSettings": load_template()}, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        self._name, self._config = name, config
        self.function_name = config.function_name
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        self.queue = aws.mediaconvert.Queue(
            f"{name}-queue",
            name=config.queue_name,
            description="lux-video transcoding: one job per raw upload (docs/transcoding.md)",
            # The SDK's docstring lists other values; the API takes ACTIVE or PAUSED.
            status="ACTIVE",
            pricing_plan=PRICING_PLAN,
            concurrent_jobs=config.concurrent_jobs,
            opts=child,
        )
        self.mediaconvert_role = aws.iam.Role(
            f"{name}-mediaconvert-role",
            name=config.mediaconvert_role_name,
            description="MediaConvert: reads raw videos (<prefix>*/source.*), writes under the upload prefix",
            assume_role_policy=account_id.apply(
                lambda account: json.dumps(transcoding_policies.mediaconvert_trust_policy(account))
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-mediaconvert-permissions",
            name="transcode-job-files",
            role=self.mediaconvert_role.id,
            policy=pulumi.Output.from_input(args.bucket_arn).apply(
                lambda arn: json.dumps(transcoding_policies.mediaconvert_permissions(arn, config.prefix))
            ),
            opts=child,
        )

        settings = pulumi.Output.all(self.queue.arn, self.mediaconvert_role.arn).apply(
            lambda v: Settings(
                queue_arn=v[0],
                role_arn=v[1],
                max_duration_seconds=config.max_duration_seconds,
                max_source_bytes=config.max_source_bytes,
                include_1080p=config.include_1080p,
                sd_rate_per_minute=config.sd_rate_per_minute,
                hd_rate_per_minute=config.hd_rate_per_minute,
            ).environment()
        )
        environment: dict[str, pulumi.Input[str]] = {
            **function_config.environment(
                bucket=args.bucket_name,
                prefix=config.prefix,
                public_base_url=args.public_base_url,
                url_ttl_seconds=function_config.DEFAULT_URL_TTL_SECONDS,
                max_files=function_config.DEFAULT_MAX_FILES,
                max_file_bytes=function_config.DEFAULT_MAX_FILE_BYTES,
                auth_required=False,  # no HTTP route: the function answers events only
                jobs_table=args.jobs_table_name,
                event_bus_name=args.event_bus_name,
            ),
            **{key: _variable(settings, key) for key in ENVIRONMENT_KEYS},
        }
        deployed = python_function(
            name,
            PythonFunctionArgs(
                function_name=config.function_name,
                description="Submits raw uploads to MediaConvert and follows each job to ready or failed",
                role_description="Transcoding: CreateJob on the stack's queue, passes only the MediaConvert role",
                policy_name="transcoding",
                permissions=lambda log_group_arn: pulumi.Output.all(
                    args.bucket_arn,
                    args.jobs_table_arn,
                    args.event_bus_arn,
                    self.queue.arn,
                    self.mediaconvert_role.arn,
                ).apply(
                    lambda v: transcoding_policies.transcoding_function_permissions(
                        log_group_arn,
                        bucket_arn=v[0],
                        prefix=config.prefix,
                        table_arn=v[1],
                        bus_arn=v[2],
                        queue_arn=v[3],
                        mediaconvert_role_arn=v[4],
                    )
                ),
                source_dir=signer.SOURCE_DIR,
                memory_mb=MEMORY_MB,
                timeout_seconds=TIMEOUT_SECONDS,
                log_retention_days=config.log_retention_days,
                environment=environment,
                log_format="Text",  # EMF metric lines must reach the log group unwrapped
                handler="transcoding_handler.handler",
            ),
            parent=self,
        )
        self.function, self.role, self.log_group = deployed.function, deployed.role, deployed.log_group

        # Events the function never took (after EventBridge's retries) wait here; alarmed.
        self.dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            name=config.dead_letter_queue_name,
            sqs_managed_sse_enabled=True,
            message_retention_seconds=policies.DLQ_RETENTION_SECONDS,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.submit_rule = self._rule(
            "submit",
            "Upload jobs completed with a raw video (source.<ext>): submit it to MediaConvert",
            pulumi.Output.from_input(
                transcoding_policies.submit_rule_pattern(events.SOURCE, events.UPLOAD_JOB_COMPLETED)
            ),
            args.event_bus_name,
        )
        self.state_rule = self._rule(
            "state-change",
            "MediaConvert job state changes on the stack's queue: progress, ready, failed",
            self.queue.arn.apply(transcoding_policies.state_change_rule_pattern),
            None,  # MediaConvert's events arrive on the default bus
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=self.dead_letters.url,
            policy=pulumi.Output.all(self.dead_letters.arn, self.submit_rule.arn, self.state_rule.arn).apply(
                lambda v: json.dumps(policies.dead_letter_queue_policy(v[0], [v[1], v[2]]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {
                "queueArn": self.queue.arn,
                "functionName": self.function.name,
                "mediaConvertRoleArn": self.mediaconvert_role.arn,
            }
        )

    def _rule(
        self, what: str, description: str, pattern: pulumi.Output[dict], bus: pulumi.Input[str] | None
    ) -> aws.cloudwatch.EventRule:
        name, child = self._name, pulumi.ResourceOptions(parent=self)
        rule = aws.cloudwatch.EventRule(
            f"{name}-{what}",
            name=f"{self._config.name_prefix}-transcoding-{what}",
            description=description,
            event_bus_name=bus,
            event_pattern=pattern.apply(lambda p: json.dumps(p, sort_keys=True)),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-{what}-target",
            rule=rule.name,
            event_bus_name=bus,
            arn=self.function.arn,
            retry_policy={"maximum_event_age_in_seconds": RETRY_SECONDS, "maximum_retry_attempts": 185},
            dead_letter_config={"arn": self.dead_letters.arn},
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-{what}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
        return rule

    def budget(self, topic_arn: pulumi.Input[str]) -> aws.budgets.Budget:
        """A monthly cost budget on the stack's tag, notifying the alarm topic at 80% of actual spend
        and 100% of forecast (the topic and its key admit budgets.amazonaws.com)."""
        config = self._config

        def notification(kind: str, percent: int) -> dict[str, object]:
            return {
                "comparison_operator": "GREATER_THAN",
                "threshold": percent,
                "threshold_type": "PERCENTAGE",
                "notification_type": kind,
                "subscriber_sns_topic_arns": [topic_arn],
            }

        self.cost_budget = aws.budgets.Budget(
            f"{self._name}-budget",
            name=f"{config.name_prefix}-monthly-cost",
            budget_type="COST",
            limit_amount=f"{config.monthly_budget_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=[transcoding_policies.budget_cost_filter(dict(config.tags))],
            notifications=[notification("ACTUAL", 80), notification("FORECASTED", 100)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return self.cost_budget


def declare(
    config: TranscodingConfig | None,
    *,
    bucket_name: pulumi.Input[str],
    bucket_arn: pulumi.Input[str],
    public_base_url: pulumi.Input[str],
    jobs_table_name: pulumi.Input[str],
    jobs_table_arn: pulumi.Input[str],
    event_bus_name: pulumi.Input[str],
    event_bus_arn: pulumi.Input[str],
) -> Transcoding | None:
    """The stack's hook: nothing at all when the switch is off. The job table and custom bus are
    the jobs component's (``infra/jobs.py``)."""
    if config is None:
        return None
    return Transcoding(
        "transcoding",
        TranscodingArgs(
            config,
            bucket_name=bucket_name,
            bucket_arn=bucket_arn,
            public_base_url=public_base_url,
            jobs_table_name=jobs_table_name,
            jobs_table_arn=jobs_table_arn,
            event_bus_name=event_bus_name,
            event_bus_arn=event_bus_arn,
        ),
    )
