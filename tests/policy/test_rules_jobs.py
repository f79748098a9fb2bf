"""The jobs rules pass on the stacks as declared (with and without the webhook), and each catches a
deliberately broken copy of the resource it guards."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from policy import rules, rules_jobs
from tests.conftest import plan_for, stack_config
from tools.plan import Plan

WEBHOOK = {"webhookUrl": "https://hooks.example.com/lux", "webhookSecretName": "lux-video/dev/webhook"}


def webhook_plan() -> Plan:
    return plan_for("dev", stack_config("dev", **WEBHOOK))


def props(plan: Plan, type_: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(dict(plan.one(type_, name).inputs))


@pytest.mark.parametrize("plan", [lambda: plan_for("dev"), lambda: plan_for("prod"), webhook_plan])
def test_every_stack_passes_every_jobs_rule(plan: Any) -> None:
    resources = [(r.type, r.inputs) for r in plan().resources if r.custom]
    violations = rules.check_resources(resources)
    assert [v for v in violations if v.split(":")[0] in rules_jobs.RESOURCE_RULES] == []
    # The rules really look at the jobs' resources.
    types = {type_ for type_, _ in resources}
    assert {rules_jobs.TABLE, rules_jobs.QUEUE, rules_jobs.EVENT_TARGET, rules_jobs.ROLE_POLICY} <= types


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("pointInTimeRecovery", {"enabled": False}, "point-in-time recovery"),
        ("pointInTimeRecovery", None, "point-in-time recovery"),
        ("serverSideEncryption", {"enabled": False}, "not encrypted"),
        ("serverSideEncryption", None, "not encrypted"),
    ],
)
def test_a_table_without_pitr_or_encryption_is_caught(field: str, value: Any, fragment: str) -> None:
    table = props(plan_for("dev"), rules_jobs.TABLE, "jobs-table")
    assert rules_jobs.tables_have_pitr_and_encryption(rules_jobs.TABLE, table) == []
    table[field] = value
    violations = rules_jobs.tables_have_pitr_and_encryption(rules_jobs.TABLE, table)
    assert any(fragment in v for v in violations), violations
    assert any(
        v.startswith("tables-pitr-and-encrypted:") for v in rules.check_resources([(rules_jobs.TABLE, table)])
    )


@pytest.mark.parametrize("name", ["jobs-dlq", "jobs-webhook-dlq"])
def test_an_unencrypted_queue_is_caught(name: str) -> None:
    queue = props(webhook_plan(), rules_jobs.QUEUE, name)
    assert rules_jobs.queues_are_encrypted(rules_jobs.QUEUE, queue) == []
    queue["sqsManagedSseEnabled"] = False
    assert rules_jobs.queues_are_encrypted(rules_jobs.QUEUE, queue) == [
        f"queue lux-video-dev-{name} is not encrypted (sqsManagedSseEnabled or kmsMasterKeyId)"
    ]
    queue["kmsMasterKeyId"] = "alias/jobs"  # a customer key is fine too
    assert rules_jobs.queues_are_encrypted(rules_jobs.QUEUE, queue) == []


@pytest.mark.parametrize("name", ["jobs-object-created-target", "jobs-sweep-target", "jobs-webhook-target"])
@pytest.mark.parametrize("broken", [None, {}, {"arn": "arn:aws:sns:us-west-2:123456789012:not-a-queue"}])
def test_a_target_invoking_lambda_or_a_webhook_without_a_dead_letter_queue_is_caught(
    name: str, broken: Any
) -> None:
    target = props(webhook_plan(), rules_jobs.EVENT_TARGET, name)
    assert rules_jobs.event_targets_have_a_dead_letter_queue(rules_jobs.EVENT_TARGET, target) == []
    target["deadLetterConfig"] = broken
    violations = rules_jobs.event_targets_have_a_dead_letter_queue(rules_jobs.EVENT_TARGET, target)
    assert len(violations) == 1 and "no SQS dead-letter queue" in violations[0]


def test_a_target_of_another_kind_needs_no_dead_letter_queue() -> None:
    target = {"rule": "r", "arn": "arn:aws:sqs:us-west-2:123456789012:q"}
    assert rules_jobs.event_targets_have_a_dead_letter_queue(rules_jobs.EVENT_TARGET, target) == []


def _with_statement(policy: dict[str, Any], statement: dict[str, Any]) -> dict[str, Any]:
    document = json.loads(policy["policy"])
    document["Statement"].append(statement)
    return {**policy, "policy": json.dumps(document)}


@pytest.mark.parametrize(
    ("role_policy", "statement"),
    [
        ("jobs-permissions", {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}),
        ("jobs-permissions", {"Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": ["*"]}),
        ("jobs-permissions", {"Effect": "Allow", "Action": "cloudfront:CreateInvalidation", "Resource": "*"}),
        ("jobs-permissions", {"Effect": "Allow", "Action": "events:*", "Resource": "*"}),
        ("jobs-permissions", {"Effect": "Allow", "Action": "*", "Resource": "*"}),
        ("signer-permissions", {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}),
        (
            "jobs-webhook-permissions",
            {"Effect": "Allow", "Action": "events:InvokeApiDestination", "Resource": "*"},
        ),
        (
            "jobs-permissions",
            {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"},
        ),
    ],
)
def test_a_data_action_on_any_resource_is_caught(role_policy: str, statement: dict[str, Any]) -> None:
    policy = props(webhook_plan(), rules_jobs.ROLE_POLICY, role_policy)
    assert rules_jobs.data_actions_name_their_resources(rules_jobs.ROLE_POLICY, policy) == []
    broken = _with_statement(policy, {"Sid": "Broken", **statement})
    violations = rules_jobs.data_actions_name_their_resources(rules_jobs.ROLE_POLICY, broken)
    assert violations and all("Broken" in v for v in violations), violations


def test_other_services_on_any_resource_are_left_to_their_own_rules() -> None:
    policy = props(plan_for("dev"), rules_jobs.ROLE_POLICY, "jobs-permissions")
    xray = _with_statement(policy, {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"})
    assert rules_jobs.data_actions_name_their_resources(rules_jobs.ROLE_POLICY, xray) == []


def test_a_role_trusting_another_service_is_still_caught() -> None:
    role = props(webhook_plan(), "aws:iam/role:Role", "jobs-webhook-role")
    assert rules.lambda_trust_is_lambda_only("aws:iam/role:Role", role) == []
    document = json.loads(role["assumeRolePolicy"])
    document["Statement"][0]["Principal"] = {"Service": "sns.amazonaws.com"}
    role["assumeRolePolicy"] = json.dumps(document)
    assert rules.lambda_trust_is_lambda_only("aws:iam/role:Role", role) == [
        "role trust policy admits sns.amazonaws.com"
    ]


def test_the_stack_rule_holds_the_signer_to_the_stacks_own_job_table() -> None:
    plan = plan_for("dev")
    resources = [
        rules.StackResource(r.urn, r.type, copy.deepcopy(r.inputs)) for r in plan.resources if r.custom
    ]
    assert rules.signer_role_is_least_privilege(resources) == []
    (signer_policy,) = [
        r for r in resources if r.type == rules_jobs.ROLE_POLICY and r.urn.endswith("::signer-permissions")
    ]
    document = json.loads(signer_policy.props["policy"])
    (record,) = [s for s in document["Statement"] if s.get("Sid") == "RecordJobs"]
    record["Resource"] = record["Resource"].replace("lux-video-dev-jobs", "lux-video-prod-jobs")
    signer_policy.props["policy"] = json.dumps(document)  # type: ignore[index]
    assert any("beyond the one job table" in v for v in rules.signer_role_is_least_privilege(resources))
