"""Fixtures of the infra tests: the dev stack's plan and the second (secured) configuration's."""

from __future__ import annotations

import pytest

from tests.conftest import SECURED_OVERRIDES, plan_for, stack_config
from tools.plan import Plan


@pytest.fixture(scope="module")
def dev() -> Plan:
    return plan_for("dev")


@pytest.fixture(scope="module")
def secured() -> Plan:
    return plan_for("dev", stack_config("dev", **SECURED_OVERRIDES))
