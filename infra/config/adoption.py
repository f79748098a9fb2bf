"""The `adopt` config: which existing AWS resources the stack imports instead of creating, checked
so that an adoption can never turn into a replacement or cut the shipped app off."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.config import values as v
from infra.config.slices import ADOPT_KEYS, function_role_name
from infra.config.values import ConfigError


def adopt(raw: Mapping[str, str], *, bucket_name: str, function_name: str) -> dict[str, str]:
    """`adopt` (a YAML object, arriving as a JSON string): logical resource -> existing resource ID.

    IDs are checked for shape, and where the program declares the resource's name, for equality
    with it: importing a resource under a different name than the program declares would be a
    replacement, which is exactly what adoption must never do.
    """
    key = "adopt"
    adopt_ids = v.mapping(raw, key)
    for name, resource_id in sorted(adopt_ids.items()):
        if name not in ADOPT_KEYS:
            raise ConfigError(f"{key}.{name}", f"is not adoptable (adoptable: {', '.join(ADOPT_KEYS)})")
        pattern, shape = ADOPT_KEYS[name]
        if not isinstance(resource_id, str) or not resource_id.strip():
            raise ConfigError(f"{key}.{name}", f"must be a non-empty string ({shape}), got {resource_id!r}")
        if not pattern.match(resource_id):
            raise ConfigError(f"{key}.{name}", f"{resource_id!r} is not {shape}")
    expected = {
        "bucket": ("bucketName", bucket_name),
        "signerFunction": ("signerFunctionName", function_name),
        "signerRole": ("signerFunctionName", function_role_name(function_name)),
    }
    for name, (source_key, wanted) in expected.items():
        if name in adopt_ids and adopt_ids[name] != wanted:
            raise ConfigError(
                f"{key}.{name}",
                f"{adopt_ids[name]!r} must be {wanted!r}, the name the program declares from {source_key}"
                " (importing under another name would replace the resource)",
            )
    _refuse_a_half_adoption(raw, adopt_ids)
    return {str(k): str(val) for k, val in sorted(adopt_ids.items())}


# Adopting the bucket alone creates what the app already points at anew: the bucket policy is
# rewritten to admit only the NEW distribution (the shipped domain then gets 403 for every video),
# and a new HTTP API gets a new signerEndpoint. These must be adopted with it.
ADOPT_WITH_BUCKET: dict[str, str] = {
    "distribution": "a new distribution (a new domain); the bucket policy is re-pointed to it, "
    "so the domain the app ships with is cut off from every video",
    "api": "a new HTTP API (a new signerEndpoint the shipped app does not know)",
}


def _refuse_a_half_adoption(raw: Mapping[str, str], adopt: Mapping[str, Any]) -> None:
    allowed = v.string_list(raw, "adoptAllowNew", None) or []
    unknown = sorted(set(allowed) - set(ADOPT_WITH_BUCKET))
    if unknown:
        raise ConfigError("adoptAllowNew", f"may list only {', '.join(ADOPT_WITH_BUCKET)}, got {unknown}")
    if "bucket" not in adopt:
        return
    missing = [key for key in ADOPT_WITH_BUCKET if key not in adopt and key not in allowed]
    if missing:
        raise ConfigError(
            "adopt",
            "adopts the bucket but would create "
            + "; and ".join(ADOPT_WITH_BUCKET[key] for key in missing)
            + f". Add {', '.join(f'adopt.{key}' for key in missing)} (the runbook shows how to find the IDs), "
            f"or acknowledge with adoptAllowNew: {missing} after reading docs/adoption.md",
        )
