"""Rules for buckets' ACLs and for monitoring that is heard: pure functions of
``(resource_type, props)``, registered in ``policy/rules.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Props = Mapping[str, Any]


def bucket_acls_disabled(resource_type: str, props: Props) -> list[str]:
    """ACLs stay off on every bucket (BucketOwnerEnforced): every writer, log delivery included
    (CloudFront standard logging v2, S3 server access logs), is admitted by a bucket policy. Not
    BucketOwnerPreferred (ACLs on, as CloudFront's legacy logging needed), never ObjectWriter,
    under which another account's objects stay theirs."""
    if resource_type != "aws:s3/bucketOwnershipControls:BucketOwnershipControls":
        return []
    ownership = (props.get("rule") or {}).get("objectOwnership")
    if ownership != "BucketOwnerEnforced":
        return [f"bucket ownership {ownership!r} enables ACLs: use BucketOwnerEnforced"]
    return []


def alarms_notify_on_alarm_and_ok(resource_type: str, props: Props) -> list[str]:
    """An alarm nobody hears is not monitoring: every alarm notifies on ALARM and on OK, and
    says what missing data means."""
    if resource_type != "aws:cloudwatch/metricAlarm:MetricAlarm":
        return []
    violations = []
    for field in ("alarmActions", "okActions"):
        if not props.get(field):
            violations.append(f"alarm {props.get('name')} has no {field}")
    if props.get("treatMissingData") not in ("notBreaching", "breaching", "ignore", "missing"):
        violations.append(f"alarm {props.get('name')} does not choose treatMissingData")
    if not props.get("alarmDescription"):
        violations.append(f"alarm {props.get('name')} has no description (the on-call's first read)")
    return violations


def topics_use_a_key_cloudwatch_can_use(resource_type: str, props: Props) -> list[str]:
    """The AWS-managed key alias/aws/sns cannot admit CloudWatch: alarms published to a topic
    encrypted with it are dropped without an error. Alarm topics use their own key."""
    if resource_type != "aws:sns/topic:Topic":
        return []
    key = str(props.get("kmsMasterKeyId") or "")
    if key == "alias/aws/sns" or key.endswith(":alias/aws/sns"):
        return [f"topic {props.get('name')} uses alias/aws/sns: CloudWatch alarms cannot publish to it"]
    return []


RESOURCE_RULES = {
    "topics-cloudwatch-can-publish": (
        "No SNS topic is encrypted with alias/aws/sns, which CloudWatch alarms cannot publish to.",
        topics_use_a_key_cloudwatch_can_use,
    ),
    "bucket-acls-disabled": (
        "Bucket ACLs are disabled on every bucket (BucketOwnerEnforced); log delivery is admitted by policy.",
        bucket_acls_disabled,
    ),
    "alarms-notify": (
        "Every alarm notifies on ALARM and OK, treats missing data explicitly and has a runbook description.",
        alarms_notify_on_alarm_and_ok,
    ),
}
