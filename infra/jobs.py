"""Upload jobs: the job table, the custom bus, the jobs function and the rules that feed it, and the
optional webhook.

The signer records each job in the table (``infra/signer.py`` gets its name and ARN from here); S3
sends the media bucket's events to EventBridge (``infra/storage.py`` ``send_events``); a rule on the
default bus passes each ``Object Created`` under the upload prefix to the jobs function, which marks
the file arrived and announces a completed job on the custom bus; a schedule lets it expire jobs
whose URLs ran out; the HTTP API (``infra/api.py``) routes ``GET``/``DELETE /jobs/{jobId}`` to it.
With ``webhookUrl``, a rule on the custom bus delivers every job event to it through an API
destination (retries, then a dead-letter queue). Code: ``lambda_src/sign_uploads/jobs_handler.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import JobsConfig, SignerConfig
from infra.lambda_function import PythonFunctionArgs, python_function
from infra.monitoring.alarms import JobsAlarmTargets
from infra.signer import SOURCE_DIR, function_environment, subject_key_secret_arn
from lambda_src.sign_uploads import events as job_events
from lambda_src.sign_uploads import jobs as job_records

HANDLER = "jobs_handler.handler"
MEMORY_MB = 256
# A sweep expires up to 1,000 jobs; a DELETE lists and deletes a job's objects (API Gateway gives
# up after 29 s, infra/api.py; the function finishes the deletion).
TIMEOUT_SECONDS = 60
# Lambda's own retries of an event the function failed on, before it goes to the dead-letter queue.
FUNCTION_RETRY_ATTEMPTS = 2


def dead_letter_queue_name(config: JobsConfig) -> str:
    return f"{config.name_prefix}-jobs-dlq"


def webhook_dead_letter_queue_name(config: JobsConfig) -> str:
    return f"{config.name_prefix}-jobs-webhook-dlq"


def object_created_rule_name(config: JobsConfig) -> str:
    return f"{config.name_prefix}-jobs-object-created"


def jobs_alarm_targets(config: JobsConfig) -> JobsAlarmTargets:
    """What Monitoring watches of the jobs (names only: they follow from the config)."""
    return JobsAlarmTargets(
        function_name=config.function_name,
        dead_letter_queue_name=dead_letter_queue_name(config),
        object_created_rule_name=object_created_rule_name(config),
        webhook_dead_letter_queue_name=webhook_dead_letter_queue_name(config) if config.webhook else None,
    )


def table_args(name: str) -> dict[str, Any]:
    """The table's key, attributes and index, taken from the definition the code and the local stack
    create it with (``lambda_src/sign_uploads/jobs.py`` ``table_definition``)."""
    definition = job_records.table_definition(name)

    def keys(schema: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{"attribute_name": k["AttributeName"], "key_type": k["KeyType"]} for k in schema]

    (hash_key,) = [k["AttributeName"] for k in definition["KeySchema"] if k["KeyType"] == "HASH"]
    return {
        "name": definition["TableName"],
        "billing_mode": definition["BillingMode"],
        "hash_key": hash_key,
        "attributes": [
            {"name": a["AttributeName"], "type": a["AttributeType"]}
            for a in definition["AttributeDefinitions"]
        ],
        "global_secondary_indexes": [
            {
                "name": index["IndexName"],
                "key_schemas": keys(index["KeySchema"]),
                "projection_type": index["Projection"]["ProjectionType"],
            }
            for index in definition["GlobalSecondaryIndexes"]
        ],
    }


@dataclass(frozen=True)
class JobTrackingArgs:
    config: JobsConfig
    # The jobs function runs the signer's code with the signer's limits, auth and subject key.
    signer: SignerConfig
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    public_base_url: pulumi.Input[str]
    distribution_id: pulumi.Input[str]
    distribution_arn: pulumi.Input[str]
    # Cloud transcoding is on: a job deleted while MediaConvert works on it cancels that work.
    cancels_transcodes: bool = False


class JobTracking(pulumi.ComponentResource):
    """Owns the job table, the custom bus, the jobs function (role, log group), the object-created
    and sweep rules with their targets, dead-letter queue and invoke permissions, and the webhook."""

    def __init__(self, name: str, args: JobTrackingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:jobs:JobTracking", name, None, opts)
        config = args.config
        self.name = name
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        self.table = aws.dynamodb.Table(
            f"{name}-table",
            **table_args(config.table_name),
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": True},
            ttl={"attribute_name": job_records.TTL_ATTRIBUTE, "enabled": True},
            opts=child,
        )
        self.bus = aws.cloudwatch.EventBus(f"{name}-bus", name=config.bus_name, opts=child)
        # Events the function could not take (after EventBridge's and Lambda's retries) wait here.
        self.dead_letters = self._queue(f"{name}-dlq", dead_letter_queue_name(config))

        def permissions(log_group_arn: str) -> pulumi.Output[dict[str, Any]]:
            return pulumi.Output.all(
                self.table.arn,
                args.bucket_arn,
                args.distribution_arn,
                self.bus.arn,
                account_id,
                self.dead_letters.arn,
            ).apply(
                lambda v: policies.jobs_permissions(
                    table_arn=v[0],
                    bucket_arn=v[1],
                    prefix=config.prefix,
                    distribution_arn=v[2],
                    bus_arn=v[3],
                    log_group_arn=log_group_arn,
                    subject_key_secret_arn=subject_key_secret_arn(args.signer, config.region, v[4]),
                    dead_letter_queue_arn=v[5],
                    transcode_jobs_arn=f"arn:aws:mediaconvert:{config.region}:{v[4]}:jobs/*"
                    if args.cancels_transcodes
                    else None,
                )
            )

        deployed = python_function(
            name,
            PythonFunctionArgs(
                function_name=config.function_name,
                description="Upload jobs: completes them from S3's events, expires, reports and deletes them",
                role_description="Jobs: its table, reads/deletes under the upload prefix, invalidates its CDN, its bus",
                policy_name="jobs",
                permissions=permissions,
                source_dir=SOURCE_DIR,
                handler=HANDLER,
                memory_mb=MEMORY_MB,
                timeout_seconds=TIMEOUT_SECONDS,
                log_retention_days=config.log_retention_days,
                environment=function_environment(
                    args.signer,
                    bucket_name=args.bucket_name,
                    public_base_url=args.public_base_url,
                    jobs_table=self.table.name,
                    job_retention_days=config.job_retention_days,
                    event_bus_name=self.bus.name,
                    distribution_id=args.distribution_id,
                ),
                # Text: the EMF lines the handler prints (JobsCompleted, JobsExpired) must reach the
                # group unwrapped.
                log_format="Text",
            ),
            parent=self,
        )
        self.function, self.role, self.log_group = deployed.function, deployed.role, deployed.log_group
        self.role_policy = deployed.role_policy
        # An event the function failed on (EventBridge invokes asynchronously): Lambda retries it,
        # then sends it to the dead-letter queue instead of dropping it.
        self.invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoke-config",
            function_name=self.function.name,
            maximum_retry_attempts=FUNCTION_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=policies.TARGET_MAX_EVENT_AGE_SECONDS,
            destination_config={"on_failure": {"destination": self.dead_letters.arn}},
            opts=child,
        )

        self.object_created_rule = aws.cloudwatch.EventRule(
            f"{name}-object-created",
            name=object_created_rule_name(config),
            description="S3 Object Created under the upload prefix of the media bucket -> the jobs function",
            event_pattern=pulumi.Output.from_input(args.bucket_name).apply(
                lambda bucket: json.dumps(policies.object_created_pattern(bucket, config.prefix))
            ),
            opts=child,
        )
        self.sweep_rule = aws.cloudwatch.EventRule(
            f"{name}-sweep",
            name=f"{config.name_prefix}-jobs-sweep",
            description="Expires jobs whose upload URLs ran out with files missing",
            schedule_expression=policies.SWEEP_SCHEDULE,
            opts=child,
        )
        self._invoke(f"{name}-object-created", self.object_created_rule)
        self._invoke(f"{name}-sweep", self.sweep_rule)
        self.dead_letters_policy = aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=self.dead_letters.url,
            policy=pulumi.Output.all(
                self.dead_letters.arn, self.object_created_rule.arn, self.sweep_rule.arn
            ).apply(lambda v: json.dumps(policies.dead_letter_queue_policy(v[0], [v[1], v[2]]))),
            opts=child,
        )

        self.webhook_target: aws.cloudwatch.EventTarget | None = None
        self.webhook_dead_letters: aws.sqs.Queue | None = None
        if config.webhook_url is not None and config.webhook_secret_name is not None:
            self._webhook(config, config.webhook_url, config.webhook_secret_name, account_id)

        self.register_outputs(
            {
                "tableName": self.table.name,
                "eventBusName": self.bus.name,
                "functionName": self.function.name,
                "deadLetterQueueUrl": self.dead_letters.url,
            }
        )

    def _queue(self, resource_name: str, queue_name: str) -> aws.sqs.Queue:
        return aws.sqs.Queue(
            resource_name,
            name=queue_name,
            sqs_managed_sse_enabled=True,
            message_retention_seconds=policies.DLQ_RETENTION_SECONDS,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _invoke(self, rule_name: str, rule: aws.cloudwatch.EventRule) -> None:
        """``rule`` invokes the jobs function (retries, then the dead-letter queue); only it may."""
        aws.cloudwatch.EventTarget(
            f"{rule_name}-target",
            rule=rule.name,
            arn=self.function.arn,
            retry_policy={
                "maximum_retry_attempts": policies.TARGET_RETRY_ATTEMPTS,
                "maximum_event_age_in_seconds": policies.TARGET_MAX_EVENT_AGE_SECONDS,
            },
            dead_letter_config={"arn": self.dead_letters.arn},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.lambda_.Permission(
            f"{rule_name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _webhook(
        self, config: JobsConfig, url: str, secret_name: str, account_id: pulumi.Output[str]
    ) -> None:
        """Every job event on the bus is POSTed to ``url`` by an API destination, with the secret's
        value in the token header; retries, then the webhook's dead-letter queue."""
        name, child = self.name, pulumi.ResourceOptions(parent=self)
        token = aws.secretsmanager.get_secret_version_output(
            secret_id=secret_name, opts=pulumi.InvokeOutputOptions(parent=self)
        ).secret_string
        connection = aws.cloudwatch.EventConnection(
            f"{name}-webhook-connection",
            name=f"{config.name_prefix}-jobs-webhook",
            description="The jobs webhook's credential: the token header from Secrets Manager",
            authorization_type="API_KEY",
            auth_parameters={
                "api_key": {"key": job_events.WEBHOOK_TOKEN_HEADER, "value": pulumi.Output.secret(token)}
            },
            opts=child,
        )
        destination = aws.cloudwatch.EventApiDestination(
            f"{name}-webhook",
            name=f"{config.name_prefix}-jobs-webhook",
            description="POSTs every upload job event to the configured webhook",
            connection_arn=connection.arn,
            invocation_endpoint=url,
            http_method="POST",
            invocation_rate_limit_per_second=policies.WEBHOOK_RATE_PER_SECOND,
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-webhook-rule",
            name=f"{config.name_prefix}-jobs-webhook",
            description="Every job event on the jobs bus -> the webhook",
            event_bus_name=self.bus.name,
            event_pattern=json.dumps(policies.job_events_pattern()),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-webhook-role",
            name=f"{config.name_prefix}-jobs-webhook",
            description="EventBridge: invokes the jobs webhook's API destination, nothing else",
            assume_role_policy=account_id.apply(lambda a: json.dumps(policies.events_trust_policy(a))),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-webhook-permissions",
            name="invoke-webhook",
            role=role.id,
            policy=destination.arn.apply(lambda arn: json.dumps(policies.webhook_permissions(arn))),
            opts=child,
        )
        self.webhook_dead_letters = self._queue(f"{name}-webhook-dlq", webhook_dead_letter_queue_name(config))
        aws.sqs.QueuePolicy(
            f"{name}-webhook-dlq-policy",
            queue_url=self.webhook_dead_letters.url,
            policy=pulumi.Output.all(self.webhook_dead_letters.arn, rule.arn).apply(
                lambda v: json.dumps(policies.dead_letter_queue_policy(v[0], [v[1]]))
            ),
            opts=child,
        )
        self.webhook_target = aws.cloudwatch.EventTarget(
            f"{name}-webhook-target",
            rule=rule.name,
            event_bus_name=self.bus.name,
            arn=destination.arn,
            role_arn=role.arn,
            retry_policy={
                "maximum_retry_attempts": policies.TARGET_RETRY_ATTEMPTS,
                "maximum_event_age_in_seconds": policies.TARGET_MAX_EVENT_AGE_SECONDS,
            },
            dead_letter_config={"arn": self.webhook_dead_letters.arn},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
