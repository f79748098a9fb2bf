"""Adoption: `adopt` IDs reach exactly the right resources' import option; protect everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ADOPT_KEYS, ApiConfig, CdnConfig, ConfigError, SignerConfig, StorageConfig, parse
from tests.conftest import plan_for, stack_config
from tests.infra import helpers as h
from tools.plan import Plan, render

TAGS = {"tags": {"project": "lux-video", "stack": "dev"}}

# Every adoptable resource of the dev stack, with a plausible existing ID.
FULL_ADOPT: dict[str, str] = {
    "bucket": "lux-video-dev-262a61d7",
    "signerRole": "lux-sign-uploads-role",
    "signerFunction": "lux-sign-uploads",
    "api": "a1b2c3d4e5",
    "distribution": "E2ABCDEF123456",
    "originAccessControl": "E3OACOAC123456",
    "manifestCachePolicy": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    "segmentCachePolicy": "1b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    "responseHeadersPolicy": "2b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
}
# Where each key must land: (type, resource name).
TARGETS: dict[str, tuple[str, str]] = {
    "bucket": (h.BUCKET, "media"),
    "signerRole": (h.ROLE, "signer-role"),
    "signerFunction": (h.FUNCTION, "signer"),
    "api": (h.API, "api"),
    "distribution": (h.DISTRIBUTION, "cdn"),
    "originAccessControl": (h.OAC, "cdn-oac"),
    "manifestCachePolicy": (h.CACHE_POLICY, "cdn-manifests"),
    "segmentCachePolicy": (h.CACHE_POLICY, "cdn-segments"),
    "responseHeadersPolicy": (h.HEADERS_POLICY, "cdn-headers"),
}


def imports(plan: Plan) -> dict[tuple[str, str], str]:
    return {(r.type, r.name): r.import_id for r in plan.resources if r.import_id}


def test_every_adopt_key_belongs_to_exactly_one_component() -> None:
    slices = (StorageConfig, CdnConfig, SignerConfig, ApiConfig)
    owned = [key for slice_ in slices for key in slice_.ADOPTABLE]
    assert len(owned) == len(set(owned))
    assert sorted(owned) == sorted(ADOPT_KEYS) == sorted(TARGETS)


def test_full_adoption_imports_exactly_the_listed_resources() -> None:
    plan = plan_for("dev", stack_config("dev", adopt=FULL_ADOPT))
    assert imports(plan) == {TARGETS[key]: resource_id for key, resource_id in FULL_ADOPT.items()}
    # The imported IDs are what the program then refers to (e.g. the distribution ID output).
    assert plan.outputs["distributionId"] == FULL_ADOPT["distribution"]
    # Importing never changes what is declared: the same resources, and each imported one with the
    # same inputs as a fresh create (the import must match the existing resource, not redefine it).
    fresh = plan_for("dev", stack_config("dev", adopt=None))
    assert sorted((r.type, r.name) for r in plan.resources) == sorted(
        (r.type, r.name) for r in fresh.resources
    )
    for type_, name in TARGETS.values():
        if type_ != h.DISTRIBUTION:  # its inputs refer to the imported OAC/policy IDs
            assert render(plan.one(type_, name).inputs) == render(fresh.one(type_, name).inputs), name


@pytest.mark.parametrize("key", sorted(FULL_ADOPT))
def test_one_adopt_key_imports_one_resource(key: str) -> None:
    adopt = {key: FULL_ADOPT[key]}
    # The bucket alone is refused (below): acknowledged here to see where its ID lands.
    extra = {"adoptAllowNew": ["distribution", "api"]} if key == "bucket" else {}
    plan = plan_for("dev", stack_config("dev", adopt=adopt, **extra))
    assert imports(plan) == {TARGETS[key]: FULL_ADOPT[key]}


def test_the_committed_dev_stack_adopts_nothing_until_the_runbook_found_every_id() -> None:
    """The hand-built bucket must not be adopted alone (the app's distribution would be cut off),
    and an acknowledgement in the committed file does not make it safe."""
    config = stack_config("dev")
    assert "lux-video:adopt" not in config and "lux-video:adoptAllowNew" not in config
    assert imports(plan_for("dev")) == {}


@pytest.mark.parametrize(
    ("adopt", "missing"),
    [
        ({"bucket": "lux-video-dev-262a61d7"}, "adopt.distribution, adopt.api"),
        ({"bucket": "lux-video-dev-262a61d7", "api": "a1b2c3d4e5"}, "adopt.distribution"),
        ({"bucket": "lux-video-dev-262a61d7", "distribution": "E2ABC"}, "adopt.api"),
    ],
)
def test_adopting_the_bucket_without_the_distribution_or_api_is_refused(adopt: Any, missing: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_adopt(adopt)
    assert caught.value.key == "lux-video:adopt"
    assert f"Add {missing}" in str(caught.value) and "adoptAllowNew" in str(caught.value)


def test_adopting_the_bucket_with_both_or_acknowledged_is_accepted() -> None:
    both = {"bucket": "lux-video-dev-262a61d7", "distribution": "E2ABC", "api": "a1b2c3d4e5"}
    assert parse_adopt(both).storage.adopt == {"bucket": "lux-video-dev-262a61d7"}
    acknowledged = parse_adopt({"bucket": "lux-video-dev-262a61d7"}, adoptAllowNew='["distribution", "api"]')
    assert acknowledged.storage.adopt == {"bucket": "lux-video-dev-262a61d7"}
    with pytest.raises(ConfigError, match="adoptAllowNew"):
        parse_adopt({"distribution": "E2ABC"}, adoptAllowNew='["bucket"]')


def test_prod_adopts_nothing() -> None:
    assert imports(plan_for("prod")) == {}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_bucket_and_distribution_are_protected_and_nothing_else(stack: str) -> None:
    protected = {(r.type, r.name) for r in plan_for(stack).resources if r.protect}
    assert protected == {(h.BUCKET, "media"), (h.DISTRIBUTION, "cdn")}


def test_protect_holds_with_adoption_too() -> None:
    plan = plan_for("dev", stack_config("dev", adopt=FULL_ADOPT))
    assert plan.one(h.BUCKET, "media").protect and plan.one(h.DISTRIBUTION).protect


def test_imported_resources_keep_their_component_parent() -> None:
    plan = plan_for("dev", stack_config("dev", adopt=FULL_ADOPT))
    for resource in plan.resources:
        if resource.import_id:
            assert resource.parent is not None
            assert resource.parent.rsplit("::", 1)[0].split("$")[-1].startswith("lux:"), resource.parent


def parse_adopt(adopt: Any, **raw: Any) -> Any:
    values = {"bucketName": "lux-video-dev-262a61d7", "adopt": adopt, **raw}
    return parse(values, stack="dev", region="us-west-2", default_tags=TAGS)


def test_adopt_arrives_as_a_json_string_like_the_engine_sends_it() -> None:
    config = parse_adopt('{"bucket": "lux-video-dev-262a61d7", "distribution": "E2ABC", "api": "a1b2c3d4e5"}')
    assert config.cdn.adopt == {"distribution": "E2ABC"}
    assert config.storage.adopt == {"bucket": "lux-video-dev-262a61d7"}
    assert config.api.adopt == {"api": "a1b2c3d4e5"}


@pytest.mark.parametrize(
    ("adopt", "key", "fragment"),
    [
        ('["bucket"]', "lux-video:adopt", "mapping"),
        ("not json", "lux-video:adopt", "mapping"),
        ({"bukket": "x"}, "lux-video:adopt.bukket", "not adoptable"),
        ({"distribution": ""}, "lux-video:adopt.distribution", "non-empty"),
        ({"distribution": 12}, "lux-video:adopt.distribution", "non-empty"),
        (
            {"distribution": "d21wy4swosisq5.cloudfront.net"},
            "lux-video:adopt.distribution",
            "distribution ID",
        ),
        ({"originAccessControl": "oac-1"}, "lux-video:adopt.originAccessControl", "origin access control"),
        ({"manifestCachePolicy": "Managed-CachingOptimized"}, "lux-video:adopt.manifestCachePolicy", "UUID"),
        ({"responseHeadersPolicy": "abc"}, "lux-video:adopt.responseHeadersPolicy", "UUID"),
        ({"api": "https://x.execute-api.us-west-2.amazonaws.com"}, "lux-video:adopt.api", "HTTP API ID"),
        (
            {"bucket": "lux-video-other", "distribution": "E2ABC", "api": "a1b2c3d4e5"},
            "lux-video:adopt.bucket",
            "bucketName",
        ),
        ({"signerFunction": "other-fn"}, "lux-video:adopt.signerFunction", "signerFunctionName"),
        ({"signerRole": "arn:aws:iam::1:role/x"}, "lux-video:adopt.signerRole", "role name"),
        ({"signerRole": "other-role"}, "lux-video:adopt.signerRole", "lux-sign-uploads-role"),
    ],
)
def test_bad_adopt_values_fail_naming_the_key(adopt: Any, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_adopt(adopt)
    assert caught.value.key == key
    assert fragment in str(caught.value)


def test_a_bad_adopt_entry_fails_the_whole_program_naming_it() -> None:
    from tools.plan import run

    with pytest.raises(Exception) as caught:
        run("dev", stack_config("dev", adopt={"distrib": "E1"}))
    assert "lux-video:adopt.distrib" in str(caught.value)
