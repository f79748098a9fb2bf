"""The transcoding rules pass on the stack with ``transcoding`` on, and each catches a deliberately
widened grant or a careless queue (through the CrossGuard validators, as ``pulumi preview`` runs them)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from policy import rules_transcoding as rt
from tests.conftest import plan_for, stack_config
from tests.policy.test_policy_pack import resource_violations, stack_of, stack_violations
from tools.plan import Plan

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def on() -> Plan:
    return plan_for("dev", stack_config("dev", transcoding="true"))


def test_the_stack_with_transcoding_on_passes_every_rule() -> None:
    plan = on()
    for resource in plan.resources:
        if resource.custom:
            assert resource_violations(resource) == [], f"{resource.type} {resource.name}"
    assert stack_violations(stack_of(plan)) == []


def edit_policy(name: str, change: Callable[[dict[str, Any]], None]) -> list[str]:
    resource = on().one(ROLE_POLICY, name)
    props = copy.deepcopy(resource.inputs)
    document = json.loads(props["policy"])
    change(document)
    props["policy"] = json.dumps(document)
    return resource_violations(resource, props)


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in document["Statement"] if s.get("Sid") == sid)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: statement(d, "PassTheMediaConvertRole").update(Resource="*"), "no wildcards"),
        (lambda d: statement(d, "PassTheMediaConvertRole").pop("Condition"), "iam:PassedToService"),
        (lambda d: d["Statement"].append({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}), "no wildcards"),
        (lambda d: statement(d, "CreateJobsOnTheStacksQueue").update(Resource="*"), "only on the stack's queue"),
        (lambda d: d["Statement"].append({"Effect": "Allow", "Action": "mediaconvert:*",
                                          "Resource": "arn:aws:mediaconvert:us-west-2:1:queues/*"}), "stack's queue"),
    ],
)  # fmt: skip
def test_a_widened_transcoding_function_grant_is_caught(
    change: Callable[[dict[str, Any]], None], fragment: str
) -> None:
    violations = edit_policy("transcoding-permissions", change)
    assert any(fragment in v for v in violations), violations


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [("status", None, "ACTIVE"), ("status", "PAUSED", "ACTIVE"), ("pricingPlan", "RESERVED", "ON_DEMAND"),
     ("concurrentJobs", None, "bound it"), ("concurrentJobs", 1000, "bound it")],
)  # fmt: skip
def test_a_careless_queue_is_caught(field: str, value: Any, fragment: str) -> None:
    queue = on().one(rt.QUEUE)
    props = copy.deepcopy(queue.inputs)
    props[field] = value
    violations = resource_violations(queue, props)
    assert any(fragment in v for v in violations), violations


def widen_mediaconvert_role(change: Callable[[dict[str, Any]], None]) -> list[str]:
    resources = stack_of(on())
    for _, type_, props in resources:
        if type_ == ROLE_POLICY and props.get("name") == "transcode-job-files":
            document = json.loads(props["policy"])
            change(document)
            props["policy"] = json.dumps(document)
    return stack_violations(resources)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["Statement"][0].update(
            Resource="arn:aws:s3:::lux-video-dev-262a61d7/*"
        ),  # read everything
        lambda d: d["Statement"][1].update(Action=["s3:PutObject", "s3:DeleteObject"]),
        lambda d: d["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    ],
)
def test_a_widened_mediaconvert_role_is_caught(change: Callable[[dict[str, Any]], None]) -> None:
    violations = widen_mediaconvert_role(change)
    assert violations and all(v.startswith("mediaconvert-role-least-privilege: ") for v in violations), (
        violations
    )
