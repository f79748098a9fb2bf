"""Rules for cloud transcoding (docs/transcoding.md): pure functions, registered in ``policy/rules.py``.

- Every ``iam:PassRole`` grant names its roles (no wildcard) and the one service they may be
  passed to (``iam:PassedToService``): a function that may pass any role to any service can
  escalate to that role's permissions.
- ``mediaconvert:CreateJob`` is granted on named queues only (a job on another queue escapes the
  stack's concurrency bound and its state-change rule).
- The MediaConvert queue is ACTIVE, on demand (a reserved plan is a 12-month commitment) and has
  its concurrency bounded.
- A role MediaConvert assumes reads only raw videos (``.../source.*``) and writes only objects:
  nothing else (stack rule: it needs the trust policy and the role's inline policies together).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

Props = Mapping[str, Any]
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
QUEUE = "aws:mediaconvert/queue:Queue"
MEDIACONVERT = "mediaconvert.amazonaws.com"
MAX_CONCURRENT_JOBS = 100


def _statements(value: Any) -> list[dict[str, Any]]:
    document = json.loads(value) if isinstance(value, str) else dict(value or {})
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _list(value: Any) -> list[Any]:
    return [] if value is None else list(value) if isinstance(value, list | tuple) else [value]


def _allows(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement grants ``action`` (exactly, or through a service or full wildcard)."""
    if statement.get("Effect") != "Allow":
        return False
    service = action.split(":")[0]
    return any(a in (action, f"{service}:*", "*") for a in _list(statement.get("Action")))


def pass_role_is_scoped(resource_type: str, props: Props) -> list[str]:
    if resource_type != ROLE_POLICY:
        return []
    violations = []
    for statement in _statements(props.get("policy")):
        if not _allows(statement, "iam:PassRole"):
            continue
        resources = _list(statement.get("Resource"))
        if not resources or any("*" in str(r) for r in resources):
            violations.append(f"iam:PassRole on {resources}: name the roles, no wildcards")
        condition = (statement.get("Condition") or {}).get("StringEquals") or {}
        services = _list(condition.get("iam:PassedToService"))
        if len(services) != 1:
            violations.append("iam:PassRole without one iam:PassedToService (StringEquals) condition")
    return violations


def create_job_only_on_named_queues(resource_type: str, props: Props) -> list[str]:
    if resource_type != ROLE_POLICY:
        return []
    violations = []
    for statement in _statements(props.get("policy")):
        if not _allows(statement, "mediaconvert:CreateJob"):
            continue
        resources = _list(statement.get("Resource"))
        if not resources or any(":queues/" not in str(r) or "*" in str(r) for r in resources):
            violations.append(f"mediaconvert:CreateJob on {resources}: only on the stack's queue ARN")
    return violations


def queue_is_active_on_demand_and_bounded(resource_type: str, props: Props) -> list[str]:
    if resource_type != QUEUE:
        return []
    violations = []
    if props.get("status") != "ACTIVE":
        violations.append(f"queue {props.get('name')} status {props.get('status')!r}: set ACTIVE explicitly")
    if props.get("pricingPlan") != "ON_DEMAND":
        violations.append(f"queue {props.get('name')} pricing plan {props.get('pricingPlan')!r}: ON_DEMAND "
                          "(RESERVED commits to 12 months of payment)")  # fmt: skip
    jobs = props.get("concurrentJobs")
    # The engine hands numbers over as floats.
    if (
        isinstance(jobs, bool)
        or not isinstance(jobs, int | float)
        or not float(jobs).is_integer()
        or not 1 <= jobs <= MAX_CONCURRENT_JOBS
    ):
        violations.append(
            f"queue {props.get('name')} concurrentJobs {jobs!r}: bound it (1-{MAX_CONCURRENT_JOBS})"
        )
    return violations


def mediaconvert_roles_read_sources_write_objects(resources: Iterable[Any]) -> list[str]:
    """Stack rule over ``StackResource``s: a role trusted by MediaConvert gets only s3:GetObject on
    ``.../source.*`` and s3:PutObject on objects, from its own inline policies, and no managed ones."""
    resources = list(resources)
    roles = {}
    for r in resources:
        if r.type != "aws:iam/role:Role":
            continue
        trusted = {s for st in _statements(r.props.get("assumeRolePolicy"))
                   for s in _list((st.get("Principal") or {}).get("Service"))}  # fmt: skip
        if MEDIACONVERT in trusted:
            roles[str(r.props.get("name"))] = r
    violations = []
    for name, role in roles.items():
        if role.props.get("managedPolicyArns"):
            violations.append(f"MediaConvert role {name} has managed policies")
    for r in resources:
        if r.type != ROLE_POLICY or str(r.props.get("role")) not in roles:
            continue
        for statement in _statements(r.props.get("policy")):
            if statement.get("Effect") != "Allow":
                continue
            actions, targets = (
                _list(statement.get("Action")),
                [str(t) for t in _list(statement.get("Resource"))],
            )
            if actions == ["s3:GetObject"] and targets and all(t.startswith("arn:aws:s3:::") and t.endswith("/source.*")
                                                               for t in targets):  # fmt: skip
                continue
            if actions == ["s3:PutObject"] and targets and all(t.startswith("arn:aws:s3:::") and "/" in t
                                                               and t.endswith("/*") for t in targets):  # fmt: skip
                continue
            violations.append(f"MediaConvert role {r.props.get('role')} allows {actions} on {targets}")
    return violations


RESOURCE_RULES = {
    "pass-role-scoped": (
        "iam:PassRole names its roles and the one service they may be passed to.",
        pass_role_is_scoped,
    ),
    "mediaconvert-create-job-on-own-queue": (
        "mediaconvert:CreateJob is granted on named queues only.",
        create_job_only_on_named_queues,
    ),
    "mediaconvert-queue-on-demand-bounded": (
        "The MediaConvert queue is ACTIVE, ON_DEMAND, with bounded concurrent jobs.",
        queue_is_active_on_demand_and_bounded,
    ),
}
STACK_RULES = {
    "mediaconvert-role-least-privilege": (
        "A role MediaConvert assumes reads only raw videos (source.*) and writes only objects.",
        mediaconvert_roles_read_sources_write_objects,
    ),
}
