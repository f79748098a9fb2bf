"""The reshape moved resources between components: every URN a deployed stack has must still be
there, or be carried by an alias, or `pulumi up` would replace the resource (a new bucket, a new
distribution domain). The baseline is what main planned before the reshape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import plan_for, stack_config

BASELINE = json.loads((Path(__file__).parents[1] / "fixtures" / "urns-before-reshape.json").read_text())


def plan_of(label: str):  # type: ignore[no-untyped-def]
    if label == "dev-jwt":
        return plan_for("dev", stack_config("dev", **BASELINE["jwtOverrides"]))
    return plan_for(label)


@pytest.mark.parametrize("label", ["dev", "prod", "dev-jwt"])
def test_every_deployed_urn_is_unchanged_or_aliased(label: str) -> None:
    plan = plan_of(label)
    current = {r.urn for r in plan.resources}
    aliased = {alias for r in plan.resources for alias in r.aliases}
    lost = sorted(set(BASELINE["urns"][label]) - current - aliased)
    assert not lost, f"would be replaced on `pulumi up` (add aliases): {lost}"


@pytest.mark.parametrize("label", ["dev", "prod", "dev-jwt"])
def test_aliases_point_only_at_urns_that_existed_and_are_gone(label: str) -> None:
    plan = plan_of(label)
    current = {r.urn for r in plan.resources}
    for resource in plan.resources:
        # pulumi-aws itself aliases renamed resource types (aws:s3/bucketV2 -> aws:s3/bucket): not ours.
        ours = [
            alias
            for alias in resource.aliases
            if f"${resource.type}::" in alias or f"::{resource.type}::" in alias
        ]
        for alias in ours:
            assert alias in BASELINE["urns"][label], f"{resource.name}: alias to an unknown URN {alias}"
            assert alias not in current, f"{resource.name}: alias to a URN still in use {alias}"


def test_the_check_catches_a_move_without_alias() -> None:
    """Break it: drop every alias from the plan and the moved health check is reported lost."""
    plan = plan_of("dev")
    current = {r.urn for r in plan.resources}
    lost = set(BASELINE["urns"]["dev"]) - current
    assert any("monitoring-healthcheck-role" in urn for urn in lost)
