"""Cloud transcoding's IAM (docs/transcoding.md): the MediaConvert service role and the function's.

MediaConvert reads only the raw videos (``<prefix>*/source.*``) and writes only under the upload
prefix. The transcoding function may create jobs only on the stack's queue, pass only the
MediaConvert role and only to MediaConvert, and touch only its job records, bus and prefix.
"""

from __future__ import annotations

from typing import Any

from infra.policies.statements import document, same_account, service_trust, write_own_logs

MEDIACONVERT_SERVICE = "mediaconvert.amazonaws.com"


def source_objects_arn(bucket_arn: str, prefix: str) -> str:
    """Every job's raw video (anonymous and subject folders alike: ``*`` spans ``/`` in IAM)."""
    return f"{bucket_arn}/{prefix}*/source.*"


def mediaconvert_trust_policy(account_id: str) -> dict[str, Any]:
    return document(service_trust("MediaConvertAssumes", MEDIACONVERT_SERVICE, same_account(account_id)))


def mediaconvert_permissions(bucket_arn: str, prefix: str) -> dict[str, Any]:
    return document(
        {"Sid": "ReadSources", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": source_objects_arn(bucket_arn, prefix)},
        {"Sid": "WriteOutputs", "Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{bucket_arn}/{prefix}*"},
    )  # fmt: skip


def transcoding_function_permissions(
    log_group_arn: str,
    *,
    bucket_arn: str,
    prefix: str,
    table_arn: str,
    bus_arn: str,
    queue_arn: str,
    mediaconvert_role_arn: str,
) -> dict[str, Any]:
    return document(
        write_own_logs(log_group_arn),
        {"Sid": "JobRecords", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
         "Resource": table_arn},
        {"Sid": "CreateJobsOnTheStacksQueue", "Effect": "Allow", "Action": "mediaconvert:CreateJob",
         "Resource": queue_arn},
        # Probe takes no resource (it reads the file named in the request with the caller's access).
        {"Sid": "ProbeSources", "Effect": "Allow", "Action": "mediaconvert:Probe", "Resource": "*"},
        {"Sid": "PassTheMediaConvertRole", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": mediaconvert_role_arn,
         "Condition": {"StringEquals": {"iam:PassedToService": MEDIACONVERT_SERVICE}}},
        # Probe reads the source; on COMPLETE each output is copied onto itself with Cache-Control.
        {"Sid": "ReadAndRewriteJobFiles", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": f"{bucket_arn}/{prefix}*"},
        {"Sid": "ListJobFolders", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
        {"Sid": "AnnounceJobs", "Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn},
    )  # fmt: skip


def submit_rule_pattern(bus_source: str, detail_type: str) -> dict[str, Any]:
    """Completed upload jobs that hold a raw video (``detail.source.path`` is ``source.<ext>``)."""
    return {
        "source": [bus_source],
        "detail-type": [detail_type],
        "detail": {"source": {"path": [{"prefix": "source."}]}},
    }


STATE_CHANGE_STATUSES = ("PROGRESSING", "STATUS_UPDATE", "COMPLETE", "ERROR", "CANCELED")


def state_change_rule_pattern(queue_arn: str) -> dict[str, Any]:
    """MediaConvert's state changes of jobs on the stack's queue only (default bus)."""
    return {
        "source": ["aws.mediaconvert"],
        "detail-type": ["MediaConvert Job State Change"],
        "detail": {"queue": [queue_arn], "status": list(STATE_CHANGE_STATUSES)},
    }


def budget_cost_filter(tags: dict[str, str]) -> dict[str, Any]:
    """AWS Budgets' filter on the stack's ``stack`` tag (a cost allocation tag: activate it once in
    Billing, docs/transcoding.md)."""
    return {"name": "TagKeyValue", "values": [f"user:stack${tags['stack']}"]}
