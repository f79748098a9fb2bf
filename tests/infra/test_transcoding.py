"""Cloud transcoding in the plan: with ``transcoding`` on, the queue, both roles, the function, the
rules, the alarms, the dashboard widgets and the budget; with it off (the dev stack), none of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import ConfigError, from_stack_file, parse
from tests.conftest import plan_for, stack_config
from tests.infra.helpers import ALARM, FUNCTION, PERMISSION, ROLE, ROLE_POLICY, alarm, document, statement
from tools.plan import Plan

QUEUE = "aws:mediaconvert/queue:Queue"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
BUDGET = "aws:budgets/budget:Budget"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
KEY = "aws:kms/key:Key"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
ON = {"transcoding": "true", "transcodingConcurrentJobs": "3", "transcodingMonthlyBudgetUsd": "120"}


@pytest.fixture(scope="module")
def on() -> Plan:
    return plan_for("dev", stack_config("dev", **ON))


def names(plan: Plan, type_: str) -> set[str]:
    return {r.name for r in plan.of_type(type_)}


def test_the_dev_stack_leaves_transcoding_off_and_declares_none_of_it(on: Plan) -> None:
    off = plan_for("dev")
    assert from_stack_file("dev").transcoding is None
    assert not [r for r in off.resources if "transcoding" in r.name or "mediaconvert" in r.type]
    assert off.of_type(QUEUE) == [] and off.of_type(BUDGET) == []
    assert not [r for r in off.of_type(RULE) if "transcoding" in r.inputs.get("name", "")]
    for policy in off.of_type(TOPIC_POLICY):
        assert "budgets" not in json.dumps(policy.inputs)
    for key in off.of_type(KEY):
        assert "budgets" not in json.dumps(key.inputs)
    assert "Transcoding" not in json.dumps([d.inputs for d in off.of_type(DASHBOARD)])
    # ...and turning it on adds resources without touching any existing one's identity.
    assert {r.urn for r in off.resources} < {r.urn for r in on.resources}


def test_the_queue_is_active_on_demand_and_bounded(on: Plan) -> None:
    queue = on.one(QUEUE).inputs
    assert queue["status"] == "ACTIVE"
    assert queue["pricingPlan"] == "ON_DEMAND"
    assert queue["concurrentJobs"] == 3
    assert queue["name"] == "lux-video-dev-transcoding"


def test_mediaconvert_reads_only_sources_and_writes_only_under_the_prefix(on: Plan) -> None:
    role = on.one(ROLE, "transcoding-mediaconvert-role")
    trust = document(role, "assumeRolePolicy")
    [assume] = trust["Statement"]
    assert assume["Principal"] == {"Service": "mediaconvert.amazonaws.com"}
    assert "aws:SourceAccount" in assume["Condition"]["StringEquals"]
    permissions = document(on.one(ROLE_POLICY, "transcoding-mediaconvert-permissions"), "policy")
    bucket = "arn:aws:s3:::lux-video-dev-262a61d7"
    assert statement(permissions, "ReadSources")["Resource"] == f"{bucket}/videos/*/source.*"
    assert statement(permissions, "ReadSources")["Action"] == "s3:GetObject"
    assert statement(permissions, "WriteOutputs") == {
        "Sid": "WriteOutputs",
        "Effect": "Allow",
        "Action": "s3:PutObject",
        "Resource": f"{bucket}/videos/*",
    }
    assert len(permissions["Statement"]) == 2


def test_the_function_creates_jobs_only_on_the_queue_and_passes_only_the_role_to_mediaconvert(
    on: Plan,
) -> None:
    permissions = document(on.one(ROLE_POLICY, "transcoding-permissions"), "policy")
    create = statement(permissions, "CreateJobsOnTheStacksQueue")
    assert create["Action"] == "mediaconvert:CreateJob"
    assert isinstance(create["Resource"], str) and ":queues/lux-video-dev-transcoding" in create["Resource"]
    assert create["Resource"] == pattern(on, "transcoding-state-change")["detail"]["queue"][0]
    passing = statement(permissions, "PassTheMediaConvertRole")
    assert passing["Resource"].endswith(":role/lux-video-dev-mediaconvert")
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "mediaconvert.amazonaws.com"}}
    for s in permissions["Statement"]:
        assert s["Resource"] != "*" or s["Action"] == "mediaconvert:Probe", s
    function = on.one(FUNCTION, "transcoding").inputs
    assert function["handler"] == "transcoding_handler.handler"
    env = function["environment"]["variables"]
    assert env["JOBS_TABLE"] == env["EVENT_BUS_NAME"] == "lux-video-dev-jobs"
    assert env["MAX_SOURCE_SECONDS"] == "600" and env["INCLUDE_1080P"] == "false"
    assert env["MEDIACONVERT_ROLE_ARN"].endswith(":role/lux-video-dev-mediaconvert")


def pattern(plan: Plan, name: str) -> dict[str, Any]:
    return json.loads(plan.one(RULE, name).inputs["eventPattern"])


def test_the_rules_match_completed_raw_uploads_on_the_jobs_bus_and_this_queues_state_changes(
    on: Plan,
) -> None:
    submit = on.one(RULE, "transcoding-submit").inputs
    assert submit["eventBusName"] == "lux-video-dev-jobs"
    assert pattern(on, "transcoding-submit") == {
        "source": ["lux-video.jobs"], "detail-type": ["Upload Job Completed"],
        "detail": {"source": {"path": [{"prefix": "source."}]}},
    }  # fmt: skip
    state = on.one(RULE, "transcoding-state-change").inputs
    assert state.get("eventBusName") in (None, "default")  # MediaConvert publishes on the default bus
    states = pattern(on, "transcoding-state-change")
    assert states["source"] == ["aws.mediaconvert"]
    assert states["detail-type"] == ["MediaConvert Job State Change"]
    [queue] = states["detail"]["queue"]
    assert ":queues/lux-video-dev-transcoding" in queue
    assert {t.name for t in on.of_type(TARGET)} >= {
        "transcoding-submit-target",
        "transcoding-state-change-target",
    }
    invokes = {p.name: p.inputs for p in on.of_type(PERMISSION) if p.name.startswith("transcoding-")}
    assert {p["principal"] for p in invokes.values()} == {"events.amazonaws.com"} and len(invokes) == 2


def test_alarms_dashboard_and_budget_watch_transcoding(on: Plan) -> None:
    failed = alarm(on, "transcoding-failed-jobs")
    assert (failed["namespace"], failed["metricName"]) == ("LuxVideo/Transcoding", "JobsFailed")
    assert failed["dimensions"] == {"FunctionName": "lux-video-dev-transcoding"}
    errors = alarm(on, "transcoding-errors")
    assert (errors["namespace"], errors["metricName"]) == ("AWS/Lambda", "Errors")
    body = json.dumps([d.inputs for d in on.of_type(DASHBOARD)])
    assert "Transcoding: output minutes" in body and "JobsFailed" in body
    budget = on.one(BUDGET).inputs
    assert (budget["budgetType"], budget["timeUnit"], budget["limitAmount"]) == ("COST", "MONTHLY", "120.00")
    assert budget["costFilters"] == [{"name": "TagKeyValue", "values": ["user:stack$dev"]}]
    assert all(n["subscriberSnsTopicArns"] for n in budget["notifications"])
    stack_topic = [p for p in on.of_type(TOPIC_POLICY) if p.name == "monitoring-alarms-policy"]
    assert "budgets.amazonaws.com" in json.dumps(stack_topic[0].inputs)
    key = [k for k in on.of_type(KEY) if k.name == "monitoring-alarms-key"]
    assert "budgets.amazonaws.com" in json.dumps(key[0].inputs)
    assert len([a for a in on.of_type(ALARM) if a.name.startswith("monitoring-transcoding")]) == 3


def test_events_the_function_never_took_wait_in_an_alarmed_dead_letter_queue(on: Plan) -> None:
    [queue] = [q for q in on.of_type("aws:sqs/queue:Queue") if q.name == "transcoding-dlq"]
    assert queue.inputs["sqsManagedSseEnabled"] is True
    targets = [
        t for t in on.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.name.startswith("transcoding-")
    ]
    assert len(targets) == 2
    assert {t.inputs["deadLetterConfig"]["arn"] for t in targets} == {
        f"arn:aws:sqs:us-west-2:123456789012:{queue.inputs['name']}"
    }
    dead_letters = alarm(on, "transcoding-dead-letters")
    assert dead_letters["namespace"] == "AWS/SQS"
    assert dead_letters["dimensions"] == {"QueueName": queue.inputs["name"]}


@pytest.mark.parametrize(
    ("key", "value"),
    [("transcoding", "maybe"), ("transcodingConcurrentJobs", "0"), ("transcodingMaxDurationSeconds", "-1"),
     ("transcodingHdRatePerMinute", "x"), ("transcodingMaxSourceBytes", str(6 * 1024**3))],
)  # fmt: skip
def test_bad_transcoding_values_are_refused_naming_the_key(key: str, value: str) -> None:
    raw = {"bucketName": "lux-video-test", "transcoding": "true", key: value}
    with pytest.raises(ConfigError, match=key):
        parse(
            raw,
            stack="dev",
            region="us-west-2",
            default_tags={"tags": {"project": "lux-video", "stack": "dev"}},
        )


def test_the_app_config_says_when_the_cloud_transcodes(on: Plan) -> None:
    from tools import cdn_config

    assert on.outputs["transcoding"] is True and "transcoding" not in plan_for("dev").outputs
    assert cdn_config.build(on.outputs, "dev")["cloudTranscoding"] is True
    assert "cloudTranscoding" not in cdn_config.build(plan_for("dev").outputs, "dev")
    with pytest.raises(cdn_config.CdnConfigError, match="transcoding"):
        cdn_config.build({**on.outputs, "transcoding": "yes"}, "dev")


def test_only_the_stack_region_topic_admits_budgets(on: Plan) -> None:
    east = [p for p in on.of_type(TOPIC_POLICY) if p.name != "monitoring-alarms-policy"]
    assert east and all("budgets" not in json.dumps(p.inputs) for p in east)
    statements = json.loads(on.one(TOPIC_POLICY, "monitoring-alarms-policy").inputs["policy"])["Statement"]
    [budgets] = [s for s in statements if s.get("Sid") == "BudgetsPublish"]
    assert budgets["Principal"] == {"Service": "budgets.amazonaws.com"} and budgets["Action"] == "sns:Publish"
    assert budgets["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_plan_shows_the_job_settings_the_function_ships(on: Plan) -> None:
    from lambda_src.sign_uploads import transcoding

    component = on.one("lux:transcoding:Transcoding")
    settings = component.inputs["jobSettings"]
    assert settings == transcoding.load_template()
    groups = {g["CustomName"]: g for g in settings["Settings"]["OutputGroups"]}
    assert groups["hls"]["OutputGroupSettings"]["Type"] == "HLS_GROUP_SETTINGS"
    assert [o["NameModifier"] for o in groups["hls"]["Outputs"]] == ["_360p", "_720p", "_1080p"]
    assert [o["ContainerSettings"]["Container"] for o in groups["mp4"]["Outputs"]] == ["MP4"] * 3
    assert groups["thumbnail"]["Outputs"][0]["VideoDescription"]["CodecSettings"]["Codec"] == "FRAME_CAPTURE"
    videos = [o["VideoDescription"] for g in groups.values() for o in g["Outputs"]]
    assert {v["ScalingBehavior"] for v in videos} == {"FIT_NO_UPSCALE"}
    # The same bytes go into the function's zip.
    archive = [r for r in on.as_json()["resources"] if r["type"] == FUNCTION and r["name"] == "transcoding"]
    assert "transcoding_job.json" in archive[0]["inputs"]["code"]["archive"]


def test_the_jobs_function_may_cancel_transcodes_only_with_transcoding_on(on: Plan) -> None:
    """A job deleted while MediaConvert works on it stops that work (and its bill)."""
    granted = document(on.one(ROLE_POLICY, "jobs-permissions"), "policy")
    assert statement(granted, "CancelTranscodesOfDeletedJobs") == {
        "Sid": "CancelTranscodesOfDeletedJobs",
        "Effect": "Allow",
        "Action": "mediaconvert:CancelJob",
        "Resource": "arn:aws:mediaconvert:us-west-2:123456789012:jobs/*",
    }
    off = document(plan_for("dev").one(ROLE_POLICY, "jobs-permissions"), "policy")
    assert "mediaconvert" not in json.dumps(off)
