"""A Python Lambda with its own role and log group: what every function of the stack is made of.

Not a component (it adds no URN level): a function that declares, under the caller's component,
``<name>-logs`` (the log group, with the stack's retention), ``<name>-role`` (trusting only Lambda),
``<name>-permissions`` (the inline policy the caller writes, plus writing its own logs) and
``<name>`` (the function: runtime, architecture and the zip of its source folder, created only
after its permissions and log group exist).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import packaging, policies
from infra.config.slices import function_role_name

RUNTIME = "python3.13"
ARCHITECTURE = "arm64"


@dataclass(frozen=True)
class PythonFunctionArgs:
    function_name: str
    description: str
    role_description: str
    policy_name: str
    # log group ARN -> the role's whole inline policy document (see policies.with_own_logs).
    permissions: Callable[[str], pulumi.Input[Mapping[str, Any]]]
    source_dir: Path
    memory_mb: int
    timeout_seconds: int
    log_retention_days: int
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # "JSON" for structured application logs; "Text" where EMF lines must reach the group unwrapped.
    log_format: str = "JSON"
    # "<module>.<function>" at the zip's root (several functions share the signer's source folder).
    handler: str = "handler.handler"
    role_import_id: str | None = None
    function_import_id: str | None = None
    # Where the four resources were declared before (same names, another parent): see pulumi.Alias.
    aliases: Sequence[pulumi.Alias] = ()


@dataclass(frozen=True)
class PythonFunction:
    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy
    function: aws.lambda_.Function


def python_function(name: str, args: PythonFunctionArgs, parent: pulumi.Resource) -> PythonFunction:
    aliases = list(args.aliases)
    child = pulumi.ResourceOptions(parent=parent, aliases=aliases)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=f"/aws/lambda/{args.function_name}",
        retention_in_days=args.log_retention_days,
        opts=child,
    )
    role = aws.iam.Role(
        f"{name}-role",
        name=function_role_name(args.function_name),
        description=args.role_description,
        assume_role_policy=json.dumps(policies.lambda_trust_policy()),
        opts=pulumi.ResourceOptions(parent=parent, aliases=aliases, import_=args.role_import_id),
    )
    role_policy = aws.iam.RolePolicy(
        f"{name}-permissions",
        name=args.policy_name,
        role=role.id,
        policy=pulumi.Output.json_dumps(log_group.arn.apply(args.permissions)),
        opts=child,
    )
    function = aws.lambda_.Function(
        name,
        name=args.function_name,
        description=args.description,
        runtime=RUNTIME,
        architectures=[ARCHITECTURE],
        handler=args.handler,
        code=packaging.function_archive(args.source_dir),
        memory_size=args.memory_mb,
        timeout=args.timeout_seconds,
        role=role.arn,
        environment={"variables": dict(args.environment)},
        logging_config={"logFormat": args.log_format, "logGroup": log_group.name},
        # The role's permissions must exist before the first invocation does anything.
        opts=pulumi.ResourceOptions(
            parent=parent,
            aliases=aliases,
            depends_on=[role_policy, log_group],
            import_=args.function_import_id,
        ),
    )
    return PythonFunction(log_group=log_group, role=role, role_policy=role_policy, function=function)
