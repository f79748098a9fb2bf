"""Shared fixtures. Pulumi runs under the same recording mocks ``make plan`` uses (tools/plan.py).

Why plans and not assertions scattered through ``apply`` callbacks: ``tools.plan.run`` runs the
program inside ``@pulumi.runtime.test`` with ``preview=False`` on a fresh event loop, waits for every
output, and fails if any recorded input is still unknown. The tests then assert on plain recorded
data, so no assertion can be skipped by an unresolved output or swallowed inside an ``apply``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Hashable, Iterator, Mapping
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
_COMPONENT_PLAN_CACHE: dict[tuple[Hashable, str, str], planning.Plan] = {}


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


def component_plan(
    build: Callable[[], object], stack: str = "dev", region: str = "us-west-2"
) -> planning.Plan:
    """The recorded plan of what ``build`` declares, alone: one component and its own wiring steps,
    with what other components would provide given as literal values.

    The same :class:`~tools.plan.Plan` as a whole-stack plan (same recorder, mocks, unknown
    rendering; top-level components have no parent), made by the same runner (``tools.plan.record``):
    ``preview=False`` on a fresh event loop, every registration awaited, and every output ``build``
    returns awaited and kept in ``plan.outputs``: a mapping by its names, a list or tuple by index
    (``"0"``, ...), anything else but ``None`` or a resource as ``"value"``. An exception in
    ``build`` or an ``apply`` is raised, and a value still unknown is a ``PlanError``: nothing is
    skipped. Cached per ``(build, stack, region)``: pass the same module-level function to share
    one plan between tests.
    """
    key = (build, stack, region)
    if key not in _COMPONENT_PLAN_CACHE:

        def outputs() -> Mapping[str, Any] | None:
            built = build()
            if built is None or isinstance(built, pulumi.Resource):
                return None
            if isinstance(built, Mapping):
                return built
            if isinstance(built, list | tuple):
                return {str(index): value for index, value in enumerate(built)}
            return {"value": built}

        _COMPONENT_PLAN_CACHE[key] = planning.record(stack, {"aws:region": region}, outputs)
    return _COMPONENT_PLAN_CACHE[key]


def stack_slices(stack: str = "dev", **overrides: Any) -> infra_config.StackConfig:
    """The validated config the program would get for the stack file with ``overrides`` (as in
    :func:`stack_config`): its ``.storage``, ``.cdn``, ``.signer``, ``.api`` ... are what
    :func:`component_plan` builds feed a component."""
    if not overrides:
        return infra_config.from_stack_file(stack)
    raw = infra_config.engine_config(stack_config(stack, **overrides))
    namespace = f"{infra_config.PROJECT}:"
    return infra_config.parse(
        {key[len(namespace) :]: value for key, value in raw.items() if key.startswith(namespace)},
        stack=stack,
        region=raw.get("aws:region"),
        default_tags=json.loads(raw.get("aws:defaultTags", "null")),
    )


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


# The dev stack's config and the secured variant's, validated: component tests build from their slices.
DEV_CONFIG = stack_slices("dev")
SECURED_CONFIG = stack_slices("dev", **SECURED_OVERRIDES)


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
