"""Monitoring: what counts as a failed signing, and who may use the alarm topics and their keys."""

from __future__ import annotations

from typing import Any

from infra.policies.iam import HEALTH_CHECK_JOB_PREFIX, HEALTH_CHECK_LEFTOVER_DAYS
from infra.policies.statements import allow_service, deny_insecure_transport, document, same_account
from infra.policies.storage import expire_after

# The signer logs one JSON line per request with the HTTP status it answered; a failed signing is
# one it answered with a 5xx. CloudWatch Logs JSON filter syntax.
FAILED_SIGNING_FILTER_PATTERN = "{ $.status >= 500 }"


def failed_signing(log_line: dict[str, Any]) -> bool:
    """What FAILED_SIGNING_FILTER_PATTERN means, in Python (tests hold the two together)."""
    status = log_line.get("status")
    return isinstance(status, int | float) and not isinstance(status, bool) and status >= 500


def health_check_lifecycle_rule(prefix: str) -> dict[str, Any]:
    """Probe objects the check could not delete expire after a day. S3 lifecycle filters match a
    key prefix only, so this covers the anonymous key layout ``<prefix>healthcheck-*``; with JWT
    the signer inserts ``sub.<hash>/`` first and leftovers fall to the uploads' own expiration."""
    return expire_after(
        "expire-health-check-probes", f"{prefix}{HEALTH_CHECK_JOB_PREFIX}", HEALTH_CHECK_LEFTOVER_DAYS
    )


# --- Alarm topics ---------------------------------------------------------------------------------
# CloudWatch cannot use the AWS-managed key alias/aws/sns (its key policy cannot be changed to admit
# cloudwatch.amazonaws.com): an alarm topic encrypted with it silently drops every notification.
# Each alarm topic therefore has its own customer-managed key that admits CloudWatch.


def alarm_topic_key_policy(account_id: str, budgets: bool = False) -> dict[str, Any]:
    """The alarm topic's KMS key: the account administers it (through IAM); CloudWatch alarms of
    this account may use it to publish encrypted notifications (and AWS Budgets, with ``budgets``:
    the transcoding cost budget notifies this topic)."""
    statements = [
        {
            "Sid": "AccountAdministersTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        allow_service(
            "CloudWatchAlarmsPublish",
            "cloudwatch.amazonaws.com",
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            "*",
            same_account(account_id),
        ),
    ]
    if budgets:
        statements.append(
            allow_service(
                "BudgetsPublish",
                BUDGETS_SERVICE,
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                "*",
                same_account(account_id),
            )
        )
    return document(*statements)


BUDGETS_SERVICE = "budgets.amazonaws.com"


def alarm_topic_policy(topic_arn: str, account_id: str, budgets: bool = False) -> dict[str, Any]:
    """Who may use an alarm topic: this account's CloudWatch alarms publish (and AWS Budgets, with
    ``budgets``); the account manages subscriptions; nothing travels without TLS."""
    statements = [
        allow_service(
            "CloudWatchAlarmsPublish",
            "cloudwatch.amazonaws.com",
            "sns:Publish",
            topic_arn,
            same_account(account_id),
        ),
        {
            "Sid": "AccountManagesTheTopic",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": [
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:ListSubscriptionsByTopic",
                "sns:Publish",
            ],
            "Resource": topic_arn,
        },
        deny_insecure_transport(topic_arn, action="sns:Publish"),
    ]
    if budgets:
        statements.insert(
            1,
            allow_service(
                "BudgetsPublish", BUDGETS_SERVICE, "sns:Publish", topic_arn, same_account(account_id)
            ),
        )
    return document(*statements)


# --- Metric namespaces (the functions emit into them, the alarms and the dashboard read them) -------
SIGNER_METRIC_NAMESPACE = "LuxVideo/Signer"  # + "/<stack>": a log metric filter cannot add a Stack dimension
FAILED_SIGNINGS_METRIC = "FailedSignings"
HEALTH_CHECK_NAMESPACE = "LuxVideo/HealthCheck"
TRANSCODING_METRIC_NAMESPACE = "LuxVideo/Transcoding"  # lambda_src/sign_uploads/transcoding_handler.py
