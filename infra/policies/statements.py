"""The building blocks every policy document of the stack is made of, so each rule is written once."""

from __future__ import annotations

from typing import Any

IAM_VERSION = "2012-10-17"


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": IAM_VERSION, "Statement": list(statements)}


def service_trust(sid: str, service: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    """A trust statement: only ``service`` may assume the role (optionally under ``condition``)."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


def write_own_logs(log_group_arn: str) -> dict[str, Any]:
    """A function writes to its own log group and nowhere else."""
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{log_group_arn}:*",
    }


def deny_insecure_transport(resource: str | list[str], action: str = "s3:*") -> dict[str, Any]:
    """No request of anyone's may travel without TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def same_account(account_id: str) -> dict[str, Any]:
    return {"StringEquals": {"aws:SourceAccount": account_id}}


def allow_service(
    sid: str, service: str, action: str | list[str], resource: str, condition: dict[str, Any]
) -> dict[str, Any]:
    """An AWS service may do ``action`` on ``resource``, only under ``condition`` (the confused-deputy
    guard: which source resource or account it acts for)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": action,
        "Resource": resource,
        "Condition": condition,
    }


def bucket_and_objects(bucket_arn: str) -> list[str]:
    return [bucket_arn, f"{bucket_arn}/*"]
