"""The upload jobs: what each role may do with the job table, the bus and the bucket, the event
patterns of the jobs rules, and the dead-letter queues' policy. Pure data (no pulumi)."""

from __future__ import annotations

from typing import Any

from infra.policies.statements import document, same_account, service_trust, write_own_logs
from lambda_src.sign_uploads import events as job_events
from lambda_src.sign_uploads import jobs_handler
from lambda_src.sign_uploads.jobs import OPEN_INDEX

# The expiry sweep's schedule (the handler treats its "Scheduled Event"s).
SWEEP_SCHEDULE = "rate(15 minutes)"
# Retries of a failed delivery to the jobs function or the webhook, then the dead-letter queue.
TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE_SECONDS = 3600
# The webhook's invocation rate at most (EventBridge's default is 300/s: a receiver is no CDN).
WEBHOOK_RATE_PER_SECOND = 10
# A dead letter is kept 14 days (SQS's maximum): time for the on-call to read and redrive it.
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# The signer records jobs: a fresh put, or a read and a conditional put when a job is re-signed.
SIGNER_JOB_ACTIONS = ("dynamodb:PutItem", "dynamodb:GetItem")
JOBS_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")


def object_created_pattern(bucket: str, prefix: str) -> dict[str, Any]:
    """S3's ``Object Created`` events (default bus) of the media bucket, under the upload prefix."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }


def job_events_pattern() -> dict[str, Any]:
    """Every job event the jobs function puts on the custom bus (the webhook's rule)."""
    return {"source": [job_events.SOURCE]}


def route_source_arn(api_execution_arn: str, route_key: str) -> str:
    """The execute-api ARN of one route, any stage: ``GET /jobs/{jobId}`` -> ``.../*/GET/jobs/*``."""
    method, path = route_key.split(" ", 1)
    resource = "/".join("*" if part.startswith("{") else part for part in path.split("/"))
    return f"{api_execution_arn}/*/{method}{resource}"


def health_check_job_route_arns(api_execution_arn: str) -> list[str]:
    """The health check's IAM-authorized ``GET``/``DELETE /healthcheck/jobs/{jobId}``."""
    return [route_source_arn(api_execution_arn, key) for key in jobs_handler.HEALTH_CHECK_ROUTES]


def record_jobs(table_arn: str) -> dict[str, Any]:
    """The signer writes each job's record before any URL leaves (and reads it to re-sign)."""
    return {"Sid": "RecordJobs", "Effect": "Allow", "Action": list(SIGNER_JOB_ACTIONS), "Resource": table_arn}


def jobs_permissions(
    *,
    table_arn: str,
    bucket_arn: str,
    prefix: str,
    distribution_arn: str,
    bus_arn: str,
    log_group_arn: str,
    dead_letter_queue_arn: str,
    subject_key_secret_arn: str | None = None,
    transcode_jobs_arn: str | None = None,
) -> dict[str, Any]:
    """The jobs function reads and updates job records (and queries the open-jobs index, never
    the table), reads and deletes objects only under the prefix, lists only the prefix, invalidates
    only this distribution, puts events only on its own bus and sends an event it failed on to its
    dead-letter queue (Lambda's on-failure destination); with JWT it reads the subject key; with
    transcoding it cancels the MediaConvert job of a job deleted while processing (MediaConvert jobs
    have no queue condition: ``transcode_jobs_arn`` is this account's and region's jobs)."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadAndUpdateJobs", "Effect": "Allow", "Action": list(JOBS_TABLE_ACTIONS), "Resource": table_arn},
        {
            "Sid": "QueryOpenJobs",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": f"{table_arn}/index/{OPEN_INDEX}",
        },
        {
            "Sid": "CheckAndDeleteUploads",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:DeleteObject"],
            "Resource": f"{bucket_arn}/{prefix}*",
        },
        {
            "Sid": "ListUploads",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
        {
            "Sid": "InvalidateDeletedJobs",
            "Effect": "Allow",
            "Action": "cloudfront:CreateInvalidation",
            "Resource": distribution_arn,
        },
        {"Sid": "AnnounceJobs", "Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn},
        {"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dead_letter_queue_arn},
        write_own_logs(log_group_arn),
    ]  # fmt: skip
    if subject_key_secret_arn is not None:
        statements.append(
            {
                "Sid": "ReadSubjectKey",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": subject_key_secret_arn,
            }
        )
    if transcode_jobs_arn is not None:
        statements.append(
            {
                "Sid": "CancelTranscodesOfDeletedJobs",
                "Effect": "Allow",
                "Action": "mediaconvert:CancelJob",
                "Resource": transcode_jobs_arn,
            }
        )
    return document(*statements)


def events_trust_policy(account_id: str) -> dict[str, Any]:
    """Only EventBridge, acting for this account's rules, may assume the webhook's role."""
    return document(service_trust("EventsAssumeRole", "events.amazonaws.com", same_account(account_id)))


def webhook_permissions(api_destination_arn: str) -> dict[str, Any]:
    """The webhook rule's role may invoke its one API destination and nothing else."""
    return document(
        {
            "Sid": "InvokeWebhook",
            "Effect": "Allow",
            "Action": "events:InvokeApiDestination",
            "Resource": api_destination_arn,
        }
    )


def dead_letter_queue_policy(queue_arn: str, rule_arns: list[str]) -> dict[str, Any]:
    """Only EventBridge, for these rules, may send the events it failed to deliver."""
    return document(
        {
            "Sid": "RuleDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns[0] if len(rule_arns) == 1 else rule_arns}},
        }
    )
