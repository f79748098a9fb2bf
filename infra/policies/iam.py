"""IAM: who may assume each role, and what each function's role may do (least privilege)."""

from __future__ import annotations

from typing import Any

from infra.policies.statements import document, same_account, service_trust, write_own_logs
from lambda_src.sign_uploads.keys import SUBJECT_NAMESPACE_PREFIX

# The synthetic check signs jobs whose ids start with this reserved prefix; its role may delete only
# those objects, and a lifecycle rule expires any it failed to delete.
HEALTH_CHECK_JOB_PREFIX = "healthcheck-"
# The one file each run uploads (lambda_src/health_check/handler.py PROBE_PATH; a test holds them equal).
HEALTH_CHECK_PROBE_PATH = "probe.m3u8"
HEALTH_CHECK_LEFTOVER_DAYS = 1


def lambda_trust_policy() -> dict[str, Any]:
    """Only the Lambda service may assume a function's role."""
    return document(service_trust("LambdaAssumeRole", "lambda.amazonaws.com"))


def signer_permissions(bucket_arn: str, prefix: str, log_group_arn: str) -> dict[str, Any]:
    """The signer's credentials sign the URLs, so they bound what a URL can do: PutObject under
    the prefix, nothing else on S3; plus writing to its own log group."""
    return document(
        {
            "Sid": "PutUploadsUnderPrefix",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{prefix}*",
        },
        write_own_logs(log_group_arn),
    )


def probe_object_arns(bucket_arn: str, prefix: str) -> list[str]:
    """The probe object in both key layouts: ``<prefix>healthcheck-<run>/probe.m3u8`` (no JWT) and
    ``<prefix>sub.<hash>/healthcheck-<run>/probe.m3u8`` (JWT). IAM's ``*`` crosses '/', so the JWT
    pattern would also match a user's own ``.../healthcheck-*/probe.m3u8`` inside a job folder; the
    handler only ever deletes the key the signer returned for its own job, and DeleteObject cannot
    create or read anything."""
    return [
        f"{bucket_arn}/{prefix}{HEALTH_CHECK_JOB_PREFIX}*/{HEALTH_CHECK_PROBE_PATH}",
        f"{bucket_arn}/{prefix}{SUBJECT_NAMESPACE_PREFIX}*/{HEALTH_CHECK_JOB_PREFIX}*/{HEALTH_CHECK_PROBE_PATH}",
    ]


def secret_arn_pattern(region: str, account_id: str, secret_name: str) -> str:
    """Secrets Manager appends '-' and six random characters to a secret's name in its ARN."""
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:{secret_name}-??????"


def health_check_permissions(
    bucket_arn: str, prefix: str, log_group_arn: str, token_secret_arn: str | None
) -> dict[str, Any]:
    """The synthetic check uploads through the signer's URLs (no S3 write of its own); it may
    delete only probe objects, write its own logs (its metrics travel in them as EMF, so no
    cloudwatch:PutMetricData), and read its token secret when the signer requires a JWT."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DeleteOwnProbes",
            "Effect": "Allow",
            "Action": "s3:DeleteObject",
            "Resource": probe_object_arns(bucket_arn, prefix),
        },
        write_own_logs(log_group_arn),
    ]
    if token_secret_arn is not None:
        statements.append(
            {
                "Sid": "ReadOwnToken",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": token_secret_arn,
            }
        )
    return document(*statements)


def scheduler_trust_policy(account_id: str) -> dict[str, Any]:
    """Only EventBridge Scheduler, acting for this account's schedules, may assume the role."""
    return document(service_trust("SchedulerAssumeRole", "scheduler.amazonaws.com", same_account(account_id)))


def scheduler_permissions(function_arn: str) -> dict[str, Any]:
    """The schedule may invoke the health check function and nothing else."""
    return document(
        {
            "Sid": "InvokeHealthCheck",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": [function_arn, f"{function_arn}:*"],
        }
    )
