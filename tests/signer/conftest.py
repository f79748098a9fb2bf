"""Fixtures for the signer tests: a deployed-like environment and API Gateway events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lambda_src.sign_uploads import subject_key

from .support import DEPLOYED_ENV, SIGNER_ENV_VARS, SUBJECT_KEY_CACHE_ENTRY, Reply, call, make_event


@pytest.fixture(autouse=True)
def signer_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment a deployed signer sees; tests override single variables on the result.
    The subject key is already in the container's cache, as after a first JWT request."""
    for name in SIGNER_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in DEPLOYED_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(subject_key, "_CACHE", dict([SUBJECT_KEY_CACHE_ENTRY]))
    return monkeypatch


@pytest.fixture
def api_event() -> Callable[..., dict[str, Any]]:
    """``api_event(body, method="POST", claims=None, base64_encoded=False)``."""
    return make_event


@pytest.fixture
def invoke() -> Callable[[Any], Reply]:
    """Calls the handler with an event and returns the decoded :class:`Reply`."""
    return call
