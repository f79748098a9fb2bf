"""The plan harness itself: a component plan records like a whole-stack plan and never skips an
assertion (tests/conftest.py ``component_plan`` over ``tools.plan.record``)."""

from __future__ import annotations

import pulumi
import pytest

from infra import storage
from infra.config import StorageConfig
from infra.storage import MediaBucket
from tests.conftest import DEV_CONFIG, component_plan, plan_for
from tests.infra.helpers import BUCKET, BUCKET_POLICY
from tools import plan as planning

DISTRIBUTION_ARN = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"


def media_bucket() -> dict[str, pulumi.Output[str]]:
    media = storage.MediaBucket("media", DEV_CONFIG.storage)
    storage.grant_cdn_read(media, DISTRIBUTION_ARN)
    return {"bucketName": media.bucket.bucket, "bucketArn": media.bucket.arn}


def test_a_component_plan_records_what_the_whole_stack_plan_records_of_it() -> None:
    alone, whole = component_plan(media_bucket), plan_for("dev")
    assert alone.outputs == {
        "bucketName": "lux-video-dev-262a61d7",
        "bucketArn": "arn:aws:s3:::lux-video-dev-262a61d7",
    }
    (component,) = [r for r in alone.resources if not r.custom]
    assert (component.type, component.name, component.parent) == ("lux:storage:MediaBucket", "media", None)
    # Same URNs, parents and inputs as in the stack, except the policy's distribution (a literal here).
    in_stack = {r.urn: r for r in whole.resources}
    for resource in alone.resources:
        twin = in_stack[resource.urn]
        assert (resource.type, resource.parent, resource.protect) == (twin.type, twin.parent, twin.protect)
        if resource.type != BUCKET_POLICY:
            assert resource.inputs == twin.inputs, resource.name
    assert component_plan(media_bucket) is alone  # cached per build


def test_a_wrong_expectation_on_a_component_plan_fails() -> None:
    plan = component_plan(media_bucket)
    with pytest.raises(AssertionError):
        assert plan.one(BUCKET, "media").inputs["bucket"] == "some-other-bucket"
    # A resource the component does not declare is an error, never an empty pass.
    with pytest.raises(LookupError, match="named logs"):
        plan.one(BUCKET, "logs")


def test_an_assertion_inside_an_apply_of_the_build_fails_the_plan() -> None:
    def build() -> dict[str, pulumi.Output[None]]:
        media = storage.MediaBucket("media", DEV_CONFIG.storage)

        def verify(name: str) -> None:
            assert name == "not-the-name"

        return {"checked": media.bucket.bucket.apply(verify)}

    with pytest.raises(AssertionError):
        component_plan(build)


def test_every_apply_of_a_component_plan_runs() -> None:
    """preview=False: an output the mock echoes resolves, so the callbacks on it run."""
    seen: list[str] = []

    def build() -> dict[str, pulumi.Output[None]]:
        media = storage.MediaBucket("media", DEV_CONFIG.storage)
        return {"seen": media.bucket.bucket_regional_domain_name.apply(seen.append)}

    component_plan(build)
    assert seen == ["lux-video-dev-262a61d7.s3.us-west-2.amazonaws.com"]


def test_an_output_the_mocks_do_not_compute_fails_the_plan_instead_of_vanishing() -> None:
    def build() -> dict[str, pulumi.Output[str]]:
        # The mocks compute no hosted zone ID for a bucket: unknown, never a silent None.
        return {"zone": storage.MediaBucket("media", DEV_CONFIG.storage).bucket.hosted_zone_id}

    with pytest.raises(planning.PlanError, match="outputs zone unknown"):
        component_plan(build)


def test_every_output_a_component_build_returns_is_awaited_whatever_its_shape() -> None:
    def bucket() -> storage.MediaBucket:
        return storage.MediaBucket("media", DEV_CONFIG.storage)

    assert component_plan(lambda: bucket().bucket.bucket).outputs == {"value": "lux-video-dev-262a61d7"}
    assert component_plan(lambda: (bucket().bucket.bucket, "literal")).outputs == {
        "0": "lux-video-dev-262a61d7",
        "1": "literal",
    }
    assert component_plan(bucket).outputs == {}
    # A lone unknown output fails too.
    with pytest.raises(planning.PlanError, match="outputs value unknown"):
        component_plan(lambda: bucket().bucket.hosted_zone_id)


def test_a_build_that_returns_something_else_than_outputs_is_refused() -> None:
    with pytest.raises(TypeError, match="name -> value"):
        planning.record("dev", {"aws:region": "us-west-2"}, lambda: ["not", "a", "mapping"])  # type: ignore[arg-type,return-value]


def test_an_assertion_on_an_unknown_output_cannot_pass_unrun() -> None:
    """With an unknown value the apply never runs: the plan fails rather than the test passing."""

    def build() -> dict[str, pulumi.Output[None]]:
        zone = storage.MediaBucket("media", DEV_CONFIG.storage).bucket.hosted_zone_id

        def verify(value: str) -> None:
            raise AssertionError(f"would have failed on {value!r}")

        return {"checked": zone.apply(verify)}

    with pytest.raises(planning.PlanError, match="outputs checked unknown"):
        component_plan(build)


# In the canonical mock style (assertions inside apply, under @pulumi.runtime.test): tests/conftest.py pulumi_mocks.


def test_a_failing_assertion_inside_apply_fails_the_test(pulumi_mocks) -> None:
    """Guards the mock pitfall: with preview=True or no decorator this would pass silently."""
    pulumi_mocks()

    @pulumi.runtime.test
    def check() -> pulumi.Output:
        media = MediaBucket("m", StorageConfig("lux-unit-bucket", "videos/", 30, ("*",)))

        def verify(name: str) -> None:
            assert name == "not-the-name"

        return media.bucket.bucket.apply(verify)

    with pytest.raises(AssertionError):
        check()
