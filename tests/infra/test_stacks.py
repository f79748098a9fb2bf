"""Both stacks plan cleanly and differ where prod must; the committed plans are current."""

from __future__ import annotations

import json

import pytest

from infra import config as infra_config
from policy import rules
from tests.conftest import plan_for
from tests.infra import helpers as h
from tests.infra.helpers import OUTPUT_NAMES
from tools import plan as planning

STACKS = ("dev", "prod")


def test_dev_and_prod_are_the_stacks() -> None:
    assert infra_config.available_stacks() == sorted(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_plans_cleanly(stack: str) -> None:
    plan = plan_for(stack)
    assert set(plan.outputs) == set(OUTPUT_NAMES)
    assert rules.check_resources((r.type, r.inputs) for r in plan.resources if r.custom) == []


def test_prod_has_its_own_account_unique_names() -> None:
    dev, prod = plan_for("dev"), plan_for("prod")
    for type_ in (h.BUCKET, h.ROLE, h.FUNCTION, h.OAC, h.API):
        dev_names = {r.inputs.get("name") or r.inputs.get("bucket") for r in dev.of_type(type_)}
        prod_names = {r.inputs.get("name") or r.inputs.get("bucket") for r in prod.of_type(type_)}
        assert not dev_names & prod_names, type_
    assert prod.outputs["bucketName"].startswith("lux-video-prod-")
    assert prod.outputs["signerFunctionName"] == "lux-sign-uploads-prod"
    assert dev.outputs["signerFunctionName"] == "lux-sign-uploads"


def test_prod_is_locked_down_where_dev_is_open() -> None:
    dev, prod = plan_for("dev"), plan_for("prod")
    assert prod.outputs["authRequired"] is True and dev.outputs["authRequired"] is False
    assert len(prod.of_type(h.AUTHORIZER)) == 1 and not dev.of_type(h.AUTHORIZER)
    origins = prod.one(h.BUCKET_CORS).inputs["corsRules"][0]["allowedOrigins"]
    assert "*" not in origins and all(o.startswith("https://") for o in origins)
    assert {g.inputs["retentionInDays"] for g in prod.of_type(h.LOG_GROUP)} == {365}
    assert {g.inputs["retentionInDays"] for g in dev.of_type(h.LOG_GROUP)} == {30}


def test_prod_stack_pages_someone_and_keys_its_subject_folders() -> None:
    config = infra_config.stack_file_config("prod")
    assert "@" in config["lux-video:alarmEmail"]
    assert config["lux-video:subjectKeySecretName"]
    subscriptions = [r for r in plan_for("prod").of_type("aws:sns/topicSubscription:TopicSubscription")]
    assert subscriptions and all(
        s.inputs["endpoint"] == config["lux-video:alarmEmail"] for s in subscriptions
    )


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_plan_is_current(stack: str) -> None:
    """`make plans-check` says the same in CI; here it is a readable failure in pytest too."""
    committed = planning.REPO_ROOT / "plans" / f"{stack}.json"
    assert committed.is_file(), "run make plans and commit"
    assert json.loads(committed.read_text()) == json.loads(plan_for(stack).to_text()), (
        "plans are out of date: run make plans and commit"
    )


def test_an_unknown_input_is_shown_naming_its_source_never_dropped(dev_plan) -> None:  # type: ignore[no-untyped-def]
    """The mocks compute no keyId for a KMS key: the alias's target must still appear in the plan."""
    from tools.plan import UNKNOWN_KEY

    alias = dev_plan.one("aws:kms/alias:Alias", "monitoring-alarms-key-alias")
    assert alias.inputs["targetKeyId"] == {UNKNOWN_KEY: "an output of monitoring-alarms-key"}
