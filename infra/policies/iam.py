"""IAM: who may assume each role, and what each function's role may do (least privilege)."""

from __future__ import annotations

from typing import Any

from infra.policies.jobs import health_check_job_route_arns, record_jobs
from infra.policies.statements import document, same_account, service_trust, write_own_logs

# The synthetic check signs jobs whose ids start with this prefix, reserved for it by the signer; it
# deletes them through its own job route, and a lifecycle rule expires any it failed to delete.
from lambda_src.sign_uploads.keys import HEALTH_CHECK_JOB_PREFIX as HEALTH_CHECK_JOB_PREFIX

HEALTH_CHECK_LEFTOVER_DAYS = 1
# What the signer may do to multipart uploads under the prefix besides PutObject.
SIGNER_MULTIPART_ACTIONS = ("s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")


def lambda_trust_policy() -> dict[str, Any]:
    """Only the Lambda service may assume a function's role."""
    return document(service_trust("LambdaAssumeRole", "lambda.amazonaws.com"))


def signer_permissions(
    bucket_arn: str,
    prefix: str,
    log_group_arn: str,
    subject_key_secret_arn: str | None = None,
    jobs_table_arn: str | None = None,
) -> dict[str, Any]:
    """The signer's credentials sign the URLs, so they bound what a URL can do: PutObject under
    the prefix (single PUTs and multipart create, parts and completion), and listing the parts of
    and aborting multipart uploads there, nothing else on S3; plus writing to its own log group,
    with JWT reading the one secret its subject folders are keyed with, and recording each job
    (PutItem, GetItem) in the job table."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PutUploadsUnderPrefix",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{prefix}*",
        },
        {
            # The multipart routes (lambda_src/sign_uploads/multipart.py): create, upload part and
            # complete are PutObject; listing a caller's parts and aborting need these two.
            "Sid": "ManageMultipartUploadsUnderPrefix",
            "Effect": "Allow",
            "Action": list(SIGNER_MULTIPART_ACTIONS),
            "Resource": f"{bucket_arn}/{prefix}*",
        },
        write_own_logs(log_group_arn),
    ]
    if subject_key_secret_arn is not None:
        statements.append(read_secret("ReadSubjectKey", subject_key_secret_arn))
    if jobs_table_arn is not None:
        statements.append(record_jobs(jobs_table_arn))
    return document(*statements)


def read_secret(sid: str, secret_arn: str) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}


def secret_arn_pattern(region: str, account_id: str, secret_name: str) -> str:
    """Secrets Manager appends '-' and six random characters to a secret's name in its ARN."""
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:{secret_name}-??????"


def health_check_route_arn(api_execution_arn: str) -> str:
    """The health check's own route on the signer API, any stage."""
    return f"{api_execution_arn}/*/POST/healthcheck"


def health_check_permissions(log_group_arn: str, api_execution_arn: str) -> dict[str, Any]:
    """The synthetic check signs on its IAM-authorized route and uploads through the signer's URLs,
    reads and deletes its job on its own job routes (the jobs function deletes the objects): no S3
    access of its own. It writes its own logs (its metrics travel in them as EMF, so no
    cloudwatch:PutMetricData)."""
    return document(
        {
            "Sid": "SignOnOwnRoute",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": health_check_route_arn(api_execution_arn),
        },
        {
            "Sid": "CheckOwnJobs",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": health_check_job_route_arns(api_execution_arn),
        },
        write_own_logs(log_group_arn),
    )


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
