"""Rules for the upload jobs' resources (job table, dead-letter queues, EventBridge targets, the
roles that touch them): pure functions of ``(resource_type, props)``, registered in
``policy/rules.py``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Props = Mapping[str, Any]

TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# Services whose actions must always name their resources (data, deletions, invalidations, events).
SCOPED_SERVICES = ("dynamodb", "s3", "cloudfront", "events")


def _enabled(props: Props, field: str) -> bool:
    return (props.get(field) or {}).get("enabled") is True


def tables_have_pitr_and_encryption(resource_type: str, props: Props) -> list[str]:
    """A job table can be restored to any second of the last 35 days and is encrypted at rest."""
    if resource_type != TABLE:
        return []
    violations = []
    if not _enabled(props, "pointInTimeRecovery"):
        violations.append(f"table {props.get('name')} has no point-in-time recovery")
    if not _enabled(props, "serverSideEncryption"):
        violations.append(
            f"table {props.get('name')} is not encrypted with a KMS key (serverSideEncryption.enabled)"
        )
    return violations


def queues_are_encrypted(resource_type: str, props: Props) -> list[str]:
    """Dead letters hold whole events (job ids, subject hashes, keys): encrypted at rest."""
    if resource_type != QUEUE:
        return []
    if props.get("sqsManagedSseEnabled") is True or props.get("kmsMasterKeyId"):
        return []
    return [f"queue {props.get('name')} is not encrypted (sqsManagedSseEnabled or kmsMasterKeyId)"]


def _invokes_code_or_webhook(arn: str) -> bool:
    return arn.startswith("arn:aws:lambda:") or ":api-destination/" in arn


def event_targets_have_a_dead_letter_queue(resource_type: str, props: Props) -> list[str]:
    """An event EventBridge fails to hand to a Lambda or an API destination is kept, not dropped."""
    if resource_type != EVENT_TARGET:
        return []
    arn = str(props.get("arn") or "")
    if not _invokes_code_or_webhook(arn):
        return []
    dead_letters = str((props.get("deadLetterConfig") or {}).get("arn") or "")
    if not dead_letters.startswith("arn:aws:sqs:"):
        return [f"event target of rule {props.get('rule')} ({arn}) has no SQS dead-letter queue"]
    return []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _statements(policy: Any) -> list[dict[str, Any]]:
    document = json.loads(policy) if isinstance(policy, str) else dict(policy or {})
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def data_actions_name_their_resources(resource_type: str, props: Props) -> list[str]:
    """No role may use DynamoDB, S3, CloudFront or EventBridge on Resource ``*`` (nor NotResource,
    nor a wildcard action over them): each grant names its table, prefix, distribution or bus."""
    if resource_type != ROLE_POLICY:
        return []
    violations = []
    for statement in _statements(props.get("policy")):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        scoped = [a for a in actions if a == "*" or a.split(":", 1)[0] in SCOPED_SERVICES]
        if not scoped and "NotAction" not in statement:
            continue
        sid = statement.get("Sid", "?")
        if "NotAction" in statement or "NotResource" in statement:
            violations.append(f"role policy {props.get('name')} statement {sid} uses NotAction/NotResource")
        if any(str(r) == "*" for r in _as_list(statement.get("Resource"))):
            violations.append(f"role policy {props.get('name')} statement {sid} grants {scoped} on '*'")
    return violations


RESOURCE_RULES = {
    "tables-pitr-and-encrypted": (
        "Every DynamoDB table has point-in-time recovery and KMS encryption at rest.",
        tables_have_pitr_and_encryption,
    ),
    "queues-encrypted": ("Every SQS queue is encrypted at rest.", queues_are_encrypted),
    "event-targets-have-dlq": (
        "Every EventBridge target invoking a Lambda or an API destination has an SQS dead-letter queue.",
        event_targets_have_a_dead_letter_queue,
    ),
    "data-actions-scoped": (
        "No role allows DynamoDB, S3, CloudFront or EventBridge actions on Resource '*'.",
        data_actions_name_their_resources,
    ),
}
