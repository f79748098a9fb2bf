"""The synthetic upload check: a Lambda run every 5 minutes by EventBridge Scheduler that signs a
probe, PUTs it, reads it back through the CDN and reports EMF metrics (alarmed in Monitoring).

Until the reshape these resources were children of the Monitoring component; each carries an alias
to its old URN, so deployed stacks update in place instead of replacing them (see
:func:`moved_from_monitoring`; the aliases can be removed once every stack has run ``pulumi up``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import packaging, policies
from infra.config import HealthCheckConfig
from infra.lambda_function import PythonFunctionArgs, python_function

SCHEDULE = "rate(5 minutes)"
SOURCE_DIR = packaging.LAMBDA_SRC / "health_check"
TIMEOUT_SECONDS = 30
MEMORY_MB = 256
# The component's name: the name its children had under Monitoring, so only their parent changes.
NAME = "monitoring-healthcheck"
# Where the children lived before (a component's URN: its type and name under the stack).
OLD_PARENT_TYPE, OLD_PARENT_NAME = "lux:monitoring:Monitoring", "monitoring"


def moved_from_monitoring(old_name: str | None = None) -> list[pulumi.Alias]:
    """The alias to a child's URN under Monitoring (same type; the same name unless given)."""
    old_parent = (
        f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{OLD_PARENT_TYPE}::{OLD_PARENT_NAME}"
    )
    if old_name is None:
        return [pulumi.Alias(parent=old_parent)]
    return [pulumi.Alias(name=old_name, parent=old_parent)]


@dataclass(frozen=True)
class HealthCheckArgs:
    config: HealthCheckConfig
    signer_endpoint: pulumi.Input[str]
    cdn_base_url: pulumi.Input[str]
    # The signer API: the check signs on its POST /healthcheck route with its role.
    api_execution_arn: pulumi.Input[str]


class HealthCheck(pulumi.ComponentResource):
    """Owns the check's function (role, log group, zip), its invoke config, the schedule and the
    schedule's role."""

    def __init__(self, name: str, args: HealthCheckArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:healthcheck:HealthCheck", name, None, opts)
        config = args.config
        account_id = aws.get_caller_identity_output().account_id
        environment: dict[str, pulumi.Input[str]] = {
            "SIGNER_URL": args.signer_endpoint,
            "CDN_BASE_URL": args.cdn_base_url,
            "STACK": config.stack,
            "METRIC_NAMESPACE": policies.HEALTH_CHECK_NAMESPACE,
            "JOB_PREFIX": policies.HEALTH_CHECK_JOB_PREFIX,
            "CHECK_ORIGIN": config.check_origin,
        }

        def permissions(log_group_arn: str) -> pulumi.Output[dict]:
            return pulumi.Output.from_input(args.api_execution_arn).apply(
                lambda api: policies.health_check_permissions(log_group_arn, api)
            )

        deployed = python_function(
            name,
            PythonFunctionArgs(
                function_name=config.function_name,
                description="Synthetic upload: sign, PUT, read back through the CDN; EMF metrics",
                role_description="Synthetic upload check: calls its own API routes (sign, job status, delete), writes its logs",
                policy_name="health-check",
                permissions=permissions,
                source_dir=SOURCE_DIR,
                memory_mb=MEMORY_MB,
                timeout_seconds=TIMEOUT_SECONDS,
                log_retention_days=config.log_retention_days,
                environment=environment,
                # Text: the EMF lines the handler prints must reach the log group unwrapped.
                log_format="Text",
                aliases=moved_from_monitoring(),
            ),
            parent=self,
        )
        self.function, self.role, self.log_group = deployed.function, deployed.role, deployed.log_group
        # A failed run is reported by its metrics; retrying it would only blur them.
        self.invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoke-config",
            function_name=self.function.name,
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=300,
            opts=pulumi.ResourceOptions(parent=self, aliases=moved_from_monitoring()),
        )
        self.scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role",
            name=f"{config.function_name}-scheduler",
            description="EventBridge Scheduler: invokes the synthetic upload check, nothing else",
            assume_role_policy=account_id.apply(
                lambda account: json.dumps(policies.scheduler_trust_policy(account))
            ),
            opts=pulumi.ResourceOptions(
                parent=self, aliases=moved_from_monitoring("monitoring-scheduler-role")
            ),
        )
        self.scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-permissions",
            name="invoke-health-check",
            role=self.scheduler_role.id,
            policy=self.function.arn.apply(lambda arn: json.dumps(policies.scheduler_permissions(arn))),
            opts=pulumi.ResourceOptions(
                parent=self,
                aliases=moved_from_monitoring("monitoring-scheduler-permissions"),
            ),
        )
        self.schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=config.function_name,
            description="Runs the synthetic upload check every 5 minutes",
            schedule_expression=SCHEDULE,
            flexible_time_window={"mode": "OFF"},
            state="ENABLED",
            target={
                "arn": self.function.arn,
                "role_arn": self.scheduler_role.arn,
                "retry_policy": {"maximum_retry_attempts": 0, "maximum_event_age_in_seconds": 300},
            },
            opts=pulumi.ResourceOptions(
                parent=self, aliases=moved_from_monitoring(), depends_on=[self.scheduler_policy]
            ),
        )
        self.register_outputs({"functionName": self.function.name})
