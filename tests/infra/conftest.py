"""The secured configuration, completed for monitoring (kept out of tests/conftest.py, which other
branches edit): with JWT on, the synthetic check needs the secret its bearer token comes from, or
config rejects the stack. Fold ``healthCheckTokenSecretName`` into SECURED_OVERRIDES and delete
this file when the branches meet."""

from __future__ import annotations

import pytest

from infra import plan as planning
from tests.conftest import SECURED_OVERRIDES, plan_for, stack_config

SECURED_MONITORING_OVERRIDES = {
    **SECURED_OVERRIDES,
    "healthCheckTokenSecretName": "lux-video/dev/healthcheck-token",
    "alarmEmail": "oncall@example.com",
    "cdnAdditionalMetrics": "true",
}


@pytest.fixture
def secured_plan() -> planning.Plan:
    return plan_for("dev", stack_config("dev", **SECURED_MONITORING_OVERRIDES))
