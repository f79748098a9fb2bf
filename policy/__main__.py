"""The lux-video guardrails, run in code review: ``pulumi preview --policy-pack policy``.

Only wiring: the rules are pure functions in ``policy/rules.py`` and their CrossGuard adapters in
``policy/validators.py`` (both tested without the CLI). Constructing the pack starts its server,
so nothing imports this module.
"""

import sys
from pathlib import Path

# The CLI runs this file from inside policy/: make `policy.*` importable as it is in the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.validators import policies

PolicyPack(
    name="lux-video-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(),
)
