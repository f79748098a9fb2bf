"""The jobs' wiring into the rest of the stack: the job routes on the API (authorization, one
integration, per-route invoke permissions), what the signer gains (exactly PutItem and GetItem on
the table), and what only the whole stack shows (outputs, the bucket's events, real values handed
between components, the webhook's alarm).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from infra import policies
from infra.api import SignerApi, SignerApiArgs
from infra.config import StackConfig
from infra.signer import UploadSigner, UploadSignerArgs
from lambda_src.sign_uploads import jobs_handler
from policy import rules
from tests.conftest import DEV_CONFIG, SECURED_CONFIG, component_plan, plan_for, stack_config, stack_slices
from tests.infra import helpers as h
from tests.infra.helpers import document, statement
from tests.infra.test_jobs import (
    BUCKET_ARN,
    BUCKET_NAME,
    CDN_BASE_URL,
    FUNCTION_ARN,
    TABLE_ARN,
    WEBHOOK,
    jobs_policy,
)
from tools.plan import Plan

# --- the routes on the API --------------------------------------------------------------------------

JOBS_INVOKE_ARN = f"arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"
SIGNER_INVOKE_ARN = "arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/arn:aws:lambda:us-west-2:123456789012:function:lux-sign-uploads/invocations"


def api_with_jobs(config: StackConfig) -> Callable[[], dict[str, pulumi.Output[str]]]:
    def build() -> dict[str, pulumi.Output[str]]:
        api = SignerApi(
            "api",
            SignerApiArgs(
                config.api,
                function_name="lux-sign-uploads",
                function_invoke_arn=SIGNER_INVOKE_ARN,
                jobs_function_name="lux-video-dev-jobs",
                jobs_function_invoke_arn=JOBS_INVOKE_ARN,
            ),
        )
        return {"endpoint": api.endpoint, "jobsEndpoint": api.jobs_endpoint}

    return build


API_DEV = api_with_jobs(DEV_CONFIG)
API_SECURED = api_with_jobs(SECURED_CONFIG)
API_WITHOUT_HEALTH_CHECK = api_with_jobs(stack_slices("dev", healthCheckEnabled="false"))


def routes(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["routeKey"]: r.inputs for r in plan.of_type(h.ROUTE)}


def test_the_job_routes_share_one_integration_to_the_jobs_function() -> None:
    plan = component_plan(API_DEV)
    jobs_integration = plan.one(h.INTEGRATION, "api-jobs")
    assert jobs_integration.inputs["integrationUri"] == JOBS_INVOKE_ARN
    assert jobs_integration.inputs["payloadFormatVersion"] == "2.0"
    assert jobs_integration.inputs["timeoutMilliseconds"] <= 30_000
    found = routes(plan)
    assert set(found) == {"POST /", "POST /healthcheck", *jobs_handler.ROUTES, *policies.MULTIPART_ROUTE_KEYS}
    for key in jobs_handler.ROUTES:
        assert found[key]["target"] == f"integrations/{jobs_integration.id}"
    # The signer's resources keep their names (no URN change) and their target.
    signer_integration = plan.one(h.INTEGRATION, "api-signer")
    assert plan.one(h.ROUTE, "api-route").inputs["target"] == f"integrations/{signer_integration.id}"


def test_the_job_routes_are_authorized_like_post_and_the_check_uses_iam() -> None:
    dev = routes(component_plan(API_DEV))
    assert dev["GET /jobs/{jobId}"]["authorizationType"] == dev["POST /"]["authorizationType"] == "NONE"
    secured_plan = component_plan(API_SECURED)
    secured = routes(secured_plan)
    authorizer = secured_plan.one(h.AUTHORIZER)
    for key in (jobs_handler.STATUS_ROUTE, jobs_handler.DELETE_ROUTE):
        assert secured[key]["authorizationType"] == "JWT"
        assert secured[key]["authorizerId"] == authorizer.id == secured["POST /"]["authorizerId"]
    for found in (dev, secured):
        for key in jobs_handler.HEALTH_CHECK_ROUTES:
            assert found[key]["authorizationType"] == "AWS_IAM" and "authorizerId" not in found[key]


def test_only_the_job_routes_may_invoke_the_jobs_function() -> None:
    plan = component_plan(API_DEV)
    execution = f"arn:aws:execute-api:us-west-2:123456789012:{plan.one(h.API).id}"
    jobs_permissions = {
        p.inputs["sourceArn"]
        for p in plan.of_type(h.PERMISSION)
        if p.inputs["function"] == "lux-video-dev-jobs"
    }
    assert jobs_permissions == {
        f"{execution}/*/GET/jobs/*",
        f"{execution}/*/DELETE/jobs/*",
        f"{execution}/*/GET/healthcheck/jobs/*",
        f"{execution}/*/DELETE/healthcheck/jobs/*",
    }
    assert {p.inputs["principal"] for p in plan.of_type(h.PERMISSION)} == {"apigateway.amazonaws.com"}
    # The stage deploys after every route exists.
    stage = plan.one(h.STAGE)
    assert stage.inputs["autoDeploy"] is True


def test_without_the_health_check_there_are_no_health_check_job_routes() -> None:
    plan = component_plan(API_WITHOUT_HEALTH_CHECK)
    assert set(routes(plan)) == {
        "POST /",
        jobs_handler.STATUS_ROUTE,
        jobs_handler.DELETE_ROUTE,
        *policies.MULTIPART_ROUTE_KEYS,
    }
    assert "healthcheck" not in json.dumps([p.inputs for p in plan.of_type(h.PERMISSION)])


def test_the_jobs_endpoint_is_the_signers_plus_jobs() -> None:
    outputs = component_plan(API_DEV).outputs
    assert outputs["jobsEndpoint"] == outputs["endpoint"] + "jobs/"


# --- what the signer gains --------------------------------------------------------------------------


def signer_recording(config: StackConfig) -> Callable[[], None]:
    def build() -> None:
        UploadSigner(
            "signer",
            UploadSignerArgs(
                config.signer,
                bucket_name=BUCKET_NAME,
                bucket_arn=BUCKET_ARN,
                public_base_url=CDN_BASE_URL,
                region="us-west-2",
                jobs_table_name="lux-video-dev-jobs",
                jobs_table_arn=TABLE_ARN,
                job_retention_days=config.jobs.job_retention_days,
            ),
        )

    return build


SIGNER_DEV = signer_recording(DEV_CONFIG)
SIGNER_SECURED = signer_recording(SECURED_CONFIG)


@pytest.mark.parametrize("build", [SIGNER_DEV, SIGNER_SECURED])
def test_the_signer_gains_exactly_put_and_get_item_on_the_table(build: Callable[[], None]) -> None:
    plan = component_plan(build)
    policy = document(plan.one(h.ROLE_POLICY, "signer-permissions"), "policy")
    dynamodb = [
        s for s in policy["Statement"] if any("dynamodb:" in a for a in json.dumps(s["Action"]).split(","))
    ]
    assert dynamodb == [
        {
            "Sid": "RecordJobs",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:GetItem"],
            "Resource": TABLE_ARN,
        }
    ]
    # Nothing else changed: S3 (with the multipart actions), logs and (with JWT) the subject key.
    assert {s["Sid"] for s in policy["Statement"]} <= {
        "PutUploadsUnderPrefix",
        "ManageMultipartUploadsUnderPrefix",
        "WriteOwnLogs",
        "ReadSubjectKey",
        "RecordJobs",
    }
    env = plan.one(h.FUNCTION, "signer").inputs["environment"]["variables"]
    assert env["JOBS_TABLE"] == "lux-video-dev-jobs"
    assert env["JOB_RETENTION_DAYS"] == ("31" if build is SIGNER_DEV else "8")
    assert "EVENT_BUS_NAME" not in env and "DISTRIBUTION_ID" not in env


def test_the_signer_rule_catches_a_signer_that_may_update_or_reach_another_table() -> None:
    scope = rules.SignerScope("b", "videos/", jobs_table="lux-video-dev-jobs")
    log_group = "arn:aws:logs:us-west-2:123456789012:log-group:/aws/lambda/s"
    policy = policies.signer_permissions("arn:aws:s3:::b", "videos/", log_group, jobs_table_arn=TABLE_ARN)
    assert rules.signer_permissions_are_least_privilege(policy, scope) == []
    broader = json.loads(json.dumps(policy))
    broader["Statement"][-1]["Action"].append("dynamodb:UpdateItem")
    assert "signer policy allows" in " ".join(rules.signer_permissions_are_least_privilege(broader, scope))
    other = json.loads(json.dumps(policy))
    other["Statement"][-1]["Resource"] = TABLE_ARN.replace("-jobs", "-other")
    assert "beyond the one job table" in " ".join(rules.signer_permissions_are_least_privilege(other, scope))
    wildcard = json.loads(json.dumps(policy))
    wildcard["Statement"][-1]["Resource"] = "arn:aws:dynamodb:us-west-2:123456789012:table/*"
    assert "beyond the one job table" in " ".join(
        rules.signer_permissions_are_least_privilege(wildcard, scope)
    )


# --- the whole stack --------------------------------------------------------------------------------


def test_the_stack_exports_the_table_the_bus_and_the_jobs_endpoint(dev_plan: Plan) -> None:
    outputs = dev_plan.outputs
    assert (
        outputs["jobsTableName"] == dev_plan.one(h.TABLE, "jobs-table").inputs["name"] == "lux-video-dev-jobs"
    )
    assert outputs["eventBusName"] == dev_plan.one(h.EVENT_BUS, "jobs-bus").inputs["name"]
    assert outputs["jobsEndpoint"] == outputs["signerEndpoint"] + "jobs/"


def test_the_media_bucket_sends_its_events_to_eventbridge(dev_plan: Plan) -> None:
    notification = dev_plan.one(h.BUCKET_NOTIFICATION, "media-eventbridge")
    assert notification.inputs == {"bucket": dev_plan.outputs["bucketName"], "eventbridge": True}
    assert notification.parent is not None and notification.parent.endswith("lux:storage:MediaBucket::media")
    rule = json.loads(dev_plan.one(h.EVENT_RULE, "jobs-object-created").inputs["eventPattern"])
    assert rule["detail"]["bucket"]["name"] == [dev_plan.outputs["bucketName"]]
    assert rule["detail"]["object"]["key"] == [{"prefix": dev_plan.outputs["uploadPrefix"]}]


def test_the_components_hand_each_other_their_real_values(dev_plan: Plan) -> None:
    table_arn = f"arn:aws:dynamodb:us-west-2:123456789012:table/{dev_plan.outputs['jobsTableName']}"
    signer_policy = document(dev_plan.one(h.ROLE_POLICY, "signer-permissions"), "policy")
    assert statement(signer_policy, "RecordJobs")["Resource"] == table_arn
    signer_env = dev_plan.one(h.FUNCTION, "signer").inputs["environment"]["variables"]
    jobs_env = dev_plan.one(h.FUNCTION, "jobs").inputs["environment"]["variables"]
    assert signer_env["JOBS_TABLE"] == jobs_env["JOBS_TABLE"] == dev_plan.outputs["jobsTableName"]
    assert signer_env["JOB_RETENTION_DAYS"] == jobs_env["JOB_RETENTION_DAYS"] == "31"
    assert jobs_env["DISTRIBUTION_ID"] == dev_plan.outputs["distributionId"]
    assert jobs_env["EVENT_BUS_NAME"] == dev_plan.outputs["eventBusName"]
    assert jobs_env["PUBLIC_BASE_URL"] == signer_env["PUBLIC_BASE_URL"] == dev_plan.outputs["cdnBaseUrl"]
    invalidate = statement(jobs_policy(dev_plan), "InvalidateDeletedJobs")
    assert (
        invalidate["Resource"]
        == f"arn:aws:cloudfront::123456789012:distribution/{dev_plan.outputs['distributionId']}"
    )
    integration = dev_plan.one(h.INTEGRATION, "api-jobs").inputs["integrationUri"]
    assert integration.endswith(f":function:{dev_plan.one(h.FUNCTION, 'jobs').inputs['name']}/invocations")


def test_a_webhook_stack_plans_and_passes_every_rule() -> None:
    plan = plan_for("dev", stack_config("dev", **WEBHOOK))
    assert rules.check_resources((r.type, r.inputs) for r in plan.resources if r.custom) == []
    alarm = h.alarm(plan, "jobs-webhook-dead-letters")
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["dimensions"] == {"QueueName": "lux-video-dev-jobs-webhook-dlq"}
    assert "monitoring-jobs-webhook-dead-letters" not in {r.name for r in plan_for("dev").resources}
