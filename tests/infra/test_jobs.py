"""JobTracking: the job table, the bus, the jobs function, its rules, dead letters and roles, the
optional webhook, the job routes on the API and what the signer gains.

The component is built alone from the stack's jobs slice for a literal bucket and CDN; the API and
the signer are built alone with literal job-function and table values; what only the whole stack
can show (its outputs, the bucket's events, one component handing another its real values) uses
the stack's plan.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import parliament
import pulumi
import pytest

from infra import config as infra_config
from infra import policies
from infra import signer as signer_module
from infra.api import SignerApi, SignerApiArgs
from infra.config import ConfigError, StackConfig
from infra.jobs import JobTracking, JobTrackingArgs
from infra.signer import UploadSigner, UploadSignerArgs
from lambda_src.sign_uploads import config as function_config
from lambda_src.sign_uploads import events, jobs, jobs_handler
from policy import rules
from tests.conftest import DEV_CONFIG, SECURED_CONFIG, component_plan, plan_for, stack_config, stack_slices
from tests.infra import helpers as h
from tests.infra.helpers import document, statement
from tools.plan import Plan

BUCKET_NAME = "lux-video-dev-262a61d7"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET_NAME}"
CDN_BASE_URL = "https://d1a2b3c4d5e6f7.cloudfront.net"
DISTRIBUTION_ID = "E1A2B3C4D5E6F7"
DISTRIBUTION_ARN = f"arn:aws:cloudfront::123456789012:distribution/{DISTRIBUTION_ID}"
TABLE_ARN = "arn:aws:dynamodb:us-west-2:123456789012:table/lux-video-dev-jobs"
BUS_ARN = "arn:aws:events:us-west-2:123456789012:event-bus/lux-video-dev-jobs"
FUNCTION_ARN = "arn:aws:lambda:us-west-2:123456789012:function:lux-video-dev-jobs"
DLQ_ARN = "arn:aws:sqs:us-west-2:123456789012:lux-video-dev-jobs-dlq"
WEBHOOK = {"webhookUrl": "https://hooks.example.com/lux/jobs", "webhookSecretName": "lux-video/dev/webhook"}
WEBHOOK_CONFIG = stack_slices("dev", **WEBHOOK)


def job_tracking(config: StackConfig) -> Callable[[], dict[str, pulumi.Output[str]]]:
    def build() -> dict[str, pulumi.Output[str]]:
        tracking = JobTracking(
            "jobs",
            JobTrackingArgs(
                config.jobs,
                signer=config.signer,
                bucket_name=BUCKET_NAME,
                bucket_arn=BUCKET_ARN,
                public_base_url=CDN_BASE_URL,
                distribution_id=DISTRIBUTION_ID,
                distribution_arn=DISTRIBUTION_ARN,
            ),
        )
        return {"tableName": tracking.table.name, "busName": tracking.bus.name}

    return build


BUILD_DEV = job_tracking(DEV_CONFIG)
BUILD_SECURED = job_tracking(SECURED_CONFIG)
BUILD_WEBHOOK = job_tracking(WEBHOOK_CONFIG)


@pytest.fixture
def jobs_plan() -> Plan:
    return component_plan(BUILD_DEV)


@pytest.fixture
def secured_jobs_plan() -> Plan:
    return component_plan(BUILD_SECURED)


@pytest.fixture
def webhook_plan() -> Plan:
    return component_plan(BUILD_WEBHOOK)


# --- the table and the bus --------------------------------------------------------------------------


def test_the_job_table_is_on_demand_encrypted_restorable_and_expires_its_records(jobs_plan: Plan) -> None:
    table = jobs_plan.one(h.TABLE, "jobs-table").inputs
    assert table["name"] == "lux-video-dev-jobs" == jobs_plan.outputs["tableName"]
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["hashKey"] == "pk" and "rangeKey" not in table
    assert table["serverSideEncryption"] == {"enabled": True}
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert (
        table["ttl"]
        == {"attributeName": jobs.TTL_ATTRIBUTE, "enabled": True}
        == {
            "attributeName": "ttl",
            "enabled": True,
        }
    )
    assert rules.check_resources([(h.TABLE, table)]) == []


def test_the_table_has_the_key_and_index_the_code_creates_it_with(jobs_plan: Plan) -> None:
    table = jobs_plan.one(h.TABLE, "jobs-table").inputs
    assert {(a["name"], a["type"]) for a in table["attributes"]} == {
        ("pk", "S"),
        ("open", "S"),
        ("urlsExpireAt", "N"),
    }
    (index,) = table["globalSecondaryIndexes"]
    assert index == {
        "name": "open-by-expiry",
        "keySchemas": [
            {"attributeName": "open", "keyType": "HASH"},
            {"attributeName": "urlsExpireAt", "keyType": "RANGE"},
        ],
        "projectionType": "KEYS_ONLY",
    }
    # The same as the definition the local stack and the tests create the table from.
    (defined,) = jobs.table_definition("x")["GlobalSecondaryIndexes"]
    assert index["name"] == defined["IndexName"] == jobs.OPEN_INDEX
    assert [(k["attributeName"], k["keyType"]) for k in index["keySchemas"]] == [
        (k["AttributeName"], k["KeyType"]) for k in defined["KeySchema"]
    ]


def test_job_records_outlive_the_objects_by_a_day() -> None:
    assert DEV_CONFIG.jobs.job_retention_days == DEV_CONFIG.storage.expiration_days + 1 == 31
    assert SECURED_CONFIG.jobs.job_retention_days == 8  # expirationDays 7


def test_the_custom_bus_is_the_stacks_own(jobs_plan: Plan) -> None:
    assert jobs_plan.one(h.EVENT_BUS, "jobs-bus").inputs == {"name": "lux-video-dev-jobs"}


# --- the function -----------------------------------------------------------------------------------


def test_the_jobs_function_runs_the_signers_code_with_the_jobs_handler(jobs_plan: Plan) -> None:
    function = jobs_plan.one(h.FUNCTION, "jobs")
    inputs = function.inputs
    assert inputs["name"] == "lux-video-dev-jobs"
    assert inputs["handler"] == "jobs_handler.handler"
    assert (inputs["runtime"], inputs["architectures"]) == ("python3.13", ["arm64"])
    # Text: its EMF lines reach the log group unwrapped.
    assert inputs["loggingConfig"] == {"logFormat": "Text", "logGroup": "/aws/lambda/lux-video-dev-jobs"}
    archive = inputs["code"].assets
    assert "jobs_handler.py" in archive and "handler.py" in archive
    assert jobs_plan.one(h.LOG_GROUP, "jobs-logs").inputs["retentionInDays"] == 30


def test_the_jobs_function_has_the_signers_environment_plus_its_table_bus_and_distribution(
    jobs_plan: Plan,
) -> None:
    env = jobs_plan.one(h.FUNCTION, "jobs").inputs["environment"]["variables"]
    signer_env = signer_module.function_environment(
        DEV_CONFIG.signer, bucket_name=BUCKET_NAME, public_base_url=CDN_BASE_URL
    )
    assert env == {
        **signer_env,
        "JOBS_TABLE": "lux-video-dev-jobs",
        "JOB_RETENTION_DAYS": "31",
        "EVENT_BUS_NAME": "lux-video-dev-jobs",
        "DISTRIBUTION_ID": DISTRIBUTION_ID,
    }
    # The function's own loader accepts it (what Lambda adds: region and credentials).
    runtime = function_config.runtime_environment(
        region="us-west-2", credentials=function_config.Credentials("AKIA", "secret", None)
    )
    loaded = function_config.load_config({**env, **runtime})
    assert (loaded.jobs_table, loaded.event_bus_name, loaded.distribution_id) == (
        "lux-video-dev-jobs",
        "lux-video-dev-jobs",
        DISTRIBUTION_ID,
    )
    assert loaded.health_check_role_name == "lux-video-dev-healthcheck-role"


def jobs_policy(plan: Plan) -> dict[str, Any]:
    return document(plan.one(h.ROLE_POLICY, "jobs-permissions"), "policy")


def test_the_jobs_role_may_do_exactly_what_the_handler_needs(jobs_plan: Plan) -> None:
    statements = {s["Sid"]: s for s in jobs_policy(jobs_plan)["Statement"]}
    assert statements == {
        "ReadAndUpdateJobs": {
            "Sid": "ReadAndUpdateJobs",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "Resource": TABLE_ARN,
        },
        "QueryOpenJobs": {
            "Sid": "QueryOpenJobs",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": f"{TABLE_ARN}/index/open-by-expiry",  # the index only, never the table
        },
        "CheckAndDeleteUploads": {
            "Sid": "CheckAndDeleteUploads",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:DeleteObject"],
            "Resource": f"{BUCKET_ARN}/videos/*",
        },
        "ListUploads": {
            "Sid": "ListUploads",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": BUCKET_ARN,
            "Condition": {"StringLike": {"s3:prefix": ["videos/*"]}},
        },
        "InvalidateDeletedJobs": {
            "Sid": "InvalidateDeletedJobs",
            "Effect": "Allow",
            "Action": "cloudfront:CreateInvalidation",
            "Resource": DISTRIBUTION_ARN,
        },
        "AnnounceJobs": {"Sid": "AnnounceJobs", "Effect": "Allow", "Action": "events:PutEvents", "Resource": BUS_ARN},
        "DeadLetters": {"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": DLQ_ARN},
        "WriteOwnLogs": {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:us-west-2:123456789012:log-group:/aws/lambda/lux-video-dev-jobs:*",
        },
    }  # fmt: skip
    role = jobs_plan.one(h.ROLE, "jobs-role")
    assert role.inputs["name"] == "lux-video-dev-jobs-role"
    assert rules.lambda_trust_is_lambda_only(h.ROLE, role.inputs) == []


def test_with_jwt_the_jobs_role_reads_the_one_subject_key(secured_jobs_plan: Plan) -> None:
    policy = jobs_policy(secured_jobs_plan)
    assert statement(policy, "ReadSubjectKey") == {
        "Sid": "ReadSubjectKey",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "arn:aws:secretsmanager:us-west-2:123456789012:secret:lux-video/dev/subject-key-??????",
    }
    assert statement(policy, "CheckAndDeleteUploads")["Resource"] == f"{BUCKET_ARN}/media/uploads/*"
    assert "secretsmanager" not in json.dumps(jobs_policy(component_plan(BUILD_DEV)))
    # No KMS: the media bucket uses SSE-S3, not a customer key.
    assert "kms:" not in json.dumps(policy)


@pytest.mark.parametrize("build", [BUILD_DEV, BUILD_SECURED, BUILD_WEBHOOK])
def test_every_jobs_policy_passes_iam_lint(build: Callable[[], Any]) -> None:
    plan = component_plan(build)
    for policy in plan.of_type(h.ROLE_POLICY):
        findings = parliament.analyze_policy_string(
            policy.inputs["policy"], include_community_auditors=False, config=parliament.config
        ).findings
        assert [f for f in findings if f.severity != "LOW"] == [], policy.name


# --- the rules --------------------------------------------------------------------------------------


def test_the_object_created_rule_filters_on_the_bucket_and_prefix_on_the_default_bus(jobs_plan: Plan) -> None:
    rule = jobs_plan.one(h.EVENT_RULE, "jobs-object-created").inputs
    assert "eventBusName" not in rule  # the default bus: where S3 sends its events
    assert rule["name"] == "lux-video-dev-jobs-object-created"
    assert json.loads(rule["eventPattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [BUCKET_NAME]}, "object": {"key": [{"prefix": "videos/"}]}},
    }
    secured = component_plan(BUILD_SECURED).one(h.EVENT_RULE, "jobs-object-created").inputs
    assert json.loads(secured["eventPattern"])["detail"]["object"] == {"key": [{"prefix": "media/uploads/"}]}


def test_the_sweep_runs_every_15_minutes(jobs_plan: Plan) -> None:
    rule = jobs_plan.one(h.EVENT_RULE, "jobs-sweep").inputs
    assert rule["scheduleExpression"] == "rate(15 minutes)"
    assert "eventPattern" not in rule


@pytest.mark.parametrize("rule_name", ["jobs-object-created", "jobs-sweep"])
def test_each_rule_invokes_the_function_with_retries_and_a_dead_letter_queue(
    jobs_plan: Plan, rule_name: str
) -> None:
    target = jobs_plan.one(h.EVENT_TARGET, f"{rule_name}-target").inputs
    rule = jobs_plan.one(h.EVENT_RULE, rule_name).inputs
    assert target["rule"] == rule["name"]
    assert target["arn"] == FUNCTION_ARN
    assert target["deadLetterConfig"] == {"arn": DLQ_ARN}
    assert target["retryPolicy"]["maximumRetryAttempts"] > 0
    assert 60 <= target["retryPolicy"]["maximumEventAgeInSeconds"] <= 86_400
    permission = jobs_plan.one(h.PERMISSION, f"{rule_name}-invoke").inputs
    assert permission == {
        "action": "lambda:InvokeFunction",
        "function": "lux-video-dev-jobs",
        "principal": "events.amazonaws.com",
        "sourceArn": f"arn:aws:events:us-west-2:123456789012:rule/{rule['name']}",
    }


def test_events_the_function_fails_on_go_to_the_dead_letter_queue(jobs_plan: Plan) -> None:
    config = jobs_plan.one(h.INVOKE_CONFIG, "jobs-invoke-config").inputs
    assert config["functionName"] == "lux-video-dev-jobs"
    assert config["destinationConfig"] == {"onFailure": {"destination": DLQ_ARN}}
    assert config["maximumRetryAttempts"] == 2


def test_the_dead_letter_queue_is_encrypted_and_only_the_jobs_rules_may_send_to_it(jobs_plan: Plan) -> None:
    queue = jobs_plan.one(h.QUEUE, "jobs-dlq").inputs
    assert queue["name"] == "lux-video-dev-jobs-dlq"
    assert queue["sqsManagedSseEnabled"] is True
    assert queue["messageRetentionSeconds"] == 14 * 24 * 3600
    policy = jobs_plan.one(h.QUEUE_POLICY, "jobs-dlq-policy")
    assert (
        policy.inputs["queueUrl"] == "https://sqs.us-west-2.amazonaws.com/123456789012/lux-video-dev-jobs-dlq"
    )
    (send,) = document(policy, "policy")["Statement"]
    assert send["Principal"] == {"Service": "events.amazonaws.com"}
    assert send["Action"] == "sqs:SendMessage" and send["Resource"] == DLQ_ARN
    assert send["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": [
                "arn:aws:events:us-west-2:123456789012:rule/lux-video-dev-jobs-object-created",
                "arn:aws:events:us-west-2:123456789012:rule/lux-video-dev-jobs-sweep",
            ]
        }
    }


# --- the webhook ------------------------------------------------------------------------------------


def test_no_webhook_unless_configured(jobs_plan: Plan) -> None:
    for type_ in (h.CONNECTION, h.API_DESTINATION):
        assert jobs_plan.of_type(type_) == []
    assert [r.name for r in jobs_plan.of_type(h.QUEUE)] == ["jobs-dlq"]
    assert [r.name for r in jobs_plan.of_type(h.ROLE)] == ["jobs-role"]
    assert DEV_CONFIG.jobs.webhook is False


def test_the_webhook_sends_the_secrets_token_in_the_shared_header(webhook_plan: Plan) -> None:
    connection = webhook_plan.one(h.CONNECTION, "jobs-webhook-connection").inputs
    assert connection["authorizationType"] == "API_KEY"
    api_key = connection["authParameters"]["value"]["apiKey"]
    assert api_key["key"] == events.WEBHOOK_TOKEN_HEADER == "X-Lux-Webhook-Token"
    # Read from the secret at deploy time (the mock's stand-in), and kept secret in the state.
    assert api_key["value"] == "<value of secret lux-video/dev/webhook>"
    assert (
        connection["authParameters"]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
    )
    destination = webhook_plan.one(h.API_DESTINATION, "jobs-webhook").inputs
    assert destination["invocationEndpoint"] == WEBHOOK["webhookUrl"]
    assert destination["httpMethod"] == "POST"
    assert 1 <= destination["invocationRateLimitPerSecond"] <= 300
    assert destination["connectionArn"].startswith(
        "arn:aws:events:us-west-2:123456789012:connection/lux-video-dev-jobs-webhook/"
    )


def test_the_webhook_rule_sends_every_job_event_on_the_custom_bus(webhook_plan: Plan) -> None:
    rule = webhook_plan.one(h.EVENT_RULE, "jobs-webhook-rule").inputs
    assert rule["eventBusName"] == "lux-video-dev-jobs"
    assert json.loads(rule["eventPattern"]) == {"source": [events.SOURCE]}
    target = webhook_plan.one(h.EVENT_TARGET, "jobs-webhook-target").inputs
    destination = webhook_plan.one(h.API_DESTINATION, "jobs-webhook")
    destination_arn = target["arn"]
    assert destination_arn.startswith(
        "arn:aws:events:us-west-2:123456789012:api-destination/lux-video-dev-jobs-webhook/"
    )
    assert destination.inputs["name"] in destination_arn
    assert target["eventBusName"] == "lux-video-dev-jobs" and target["rule"] == rule["name"]
    assert target["roleArn"] == "arn:aws:iam::123456789012:role/lux-video-dev-jobs-webhook"
    assert target["retryPolicy"]["maximumRetryAttempts"] > 0
    assert target["deadLetterConfig"] == {
        "arn": "arn:aws:sqs:us-west-2:123456789012:lux-video-dev-jobs-webhook-dlq"
    }
    queue = webhook_plan.one(h.QUEUE, "jobs-webhook-dlq").inputs
    assert queue["sqsManagedSseEnabled"] is True
    (send,) = document(webhook_plan.one(h.QUEUE_POLICY, "jobs-webhook-dlq-policy"), "policy")["Statement"]
    assert send["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": "arn:aws:events:us-west-2:123456789012:rule/lux-video-dev-jobs/lux-video-dev-jobs-webhook"
        }
    }


def test_the_webhook_role_may_only_invoke_its_api_destination(webhook_plan: Plan) -> None:
    role = webhook_plan.one(h.ROLE, "jobs-webhook-role").inputs
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert rules.lambda_trust_is_lambda_only(h.ROLE, role) == []
    target = webhook_plan.one(h.EVENT_TARGET, "jobs-webhook-target").inputs
    (invoke,) = document(webhook_plan.one(h.ROLE_POLICY, "jobs-webhook-permissions"), "policy")["Statement"]
    assert invoke == {
        "Sid": "InvokeWebhook",
        "Effect": "Allow",
        "Action": "events:InvokeApiDestination",
        "Resource": target["arn"],
    }


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        ({"webhookUrl": "http://hooks.example.com/x", "webhookSecretName": "s"}, "webhookUrl", "https://"),
        ({"webhookUrl": "https://user:pw@hooks.example.com/", "webhookSecretName": "s"}, "webhookUrl", "https://"),
        ({"webhookUrl": "https://hooks.example.com/a b", "webhookSecretName": "s"}, "webhookUrl", "https://"),
        ({"webhookUrl": "https://hooks.example.com/x"}, "webhookSecretName", "required"),
        ({"webhookSecretName": "lux/webhook"}, "webhookUrl", "required"),
        ({"webhookUrl": "https://hooks.example.com/x", "webhookSecretName": "no spaces"}, "webhookSecretName", "Secrets Manager"),
    ],
)  # fmt: skip
def test_a_bad_webhook_config_is_named(overrides: dict[str, str], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        stack_slices("dev", **overrides)
    assert f"lux-video:{key}" in str(caught.value) and fragment in str(caught.value)


def test_an_unknown_key_still_lists_the_webhook_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        stack_slices("dev", webhookURL="https://hooks.example.com/")
    message = str(caught.value)
    assert "lux-video:webhookURL" in message and "webhookUrl" in message and "webhookSecretName" in message
    assert {"webhookUrl", "webhookSecretName"} <= set(infra_config.DEFAULTS)


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
    assert set(found) == {"POST /", "POST /healthcheck", *jobs_handler.ROUTES}
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
    assert set(routes(plan)) == {"POST /", jobs_handler.STATUS_ROUTE, jobs_handler.DELETE_ROUTE}
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
    # Nothing else changed: S3, logs and (with JWT) the subject key, as before.
    assert {s["Sid"] for s in policy["Statement"]} <= {
        "PutUploadsUnderPrefix",
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
