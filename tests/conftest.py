"""Shared fixtures. Pulumi runs under the same recording mocks ``make plan`` uses (tools/plan.py).

Why plans and not assertions scattered through ``apply`` callbacks: ``tools.plan.run`` runs the
program inside ``@pulumi.runtime.test`` with ``preview=False`` on a fresh event loop, waits for every
output, and fails if any recorded input is still unknown. The tests then assert on plain recorded
data, so no assertion can be skipped by an unresolved output or swallowed inside an ``apply``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest

from infra import config as infra_config
from tools import plan as planning

# Dummy credentials before any client exists (moto, botocore): no test may reach a real account.
for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-west-2",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)

_PLAN_CACHE: dict[str, planning.Plan] = {}


def stack_config(stack: str = "dev", **overrides: Any) -> dict[str, Any]:
    """The stack file's config with ``lux-video:`` keys overridden (``None`` removes a key)."""
    config = infra_config.stack_file_config(stack)
    for key, value in overrides.items():
        full_key = key if ":" in key else f"lux-video:{key}"
        if value is None:
            config.pop(full_key, None)
        else:
            config[full_key] = value
    return config


def plan_for(stack: str = "dev", config: dict[str, Any] | None = None) -> planning.Plan:
    """The recorded plan (cached: plans are plain data and runs are deterministic)."""
    key = json.dumps([stack, config], sort_keys=True, default=str)
    if key not in _PLAN_CACHE:
        _PLAN_CACHE[key] = planning.run(stack, config)
    return _PLAN_CACHE[key]


@pytest.fixture
def dev_plan() -> planning.Plan:
    return plan_for("dev")


# A second configuration: JWT on, explicit origins, other sizes - proves config reaches the output.
SECURED_OVERRIDES: dict[str, Any] = {
    "corsAllowedOrigins": ["https://app.example.com", "http://localhost:8080"],
    "jwtIssuer": "https://auth.example.com/",
    "jwtAudience": ["lux-mobile"],
    "priceClass": "PriceClass_All",
    "expirationDays": "7",
    "logRetentionDays": "90",
    "prefix": "media/uploads/",
    "urlTtlSeconds": "600",
    "throttleRatePerSecond": "10",
    "throttleBurst": "20",
    # With JWT on, subject folders are HMACs under the key in this secret.
    "subjectKeySecretName": "lux-video/dev/subject-key",
    "alarmEmail": "oncall@example.com",
    "cdnAdditionalMetrics": "true",
}


@pytest.fixture
def secured_plan() -> planning.Plan:
    return plan_for("dev", stack_config("dev", **SECURED_OVERRIDES))


@pytest.fixture
def pulumi_mocks() -> Iterator[Callable[..., planning.RecordingMonitor]]:
    """For tests that build one component directly inside ``@pulumi.runtime.test``: installs the
    recording mocks on a fresh event loop and resets the runtime afterwards (pulumi#6561, #8280)."""
    monitors: list[planning.RecordingMonitor] = []

    def install(stack: str = "unit", region: str = "us-west-2") -> planning.RecordingMonitor:
        mocks = planning.RecordingMocks(region)
        monitor = planning.RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project="lux-video", stack=stack, preview=False, monitor=monitor)
        monitors.append(monitor)
        return monitor

    with planning.isolated_runtime():
        yield install
