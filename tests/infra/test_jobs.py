"""JobTracking: the job table, the bus, the jobs function, its rules, dead letters and roles, and
the optional webhook (with its config validation).

The component is built alone from the stack's jobs slice for a literal bucket and CDN. The job
routes, the signer's grant and the whole-stack wiring: tests/infra/test_jobs_wiring.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import parliament
import pulumi
import pytest

from infra import config as infra_config
from infra import signer as signer_module
from infra.config import ConfigError, StackConfig
from infra.jobs import JobTracking, JobTrackingArgs
from lambda_src.sign_uploads import config as function_config
from lambda_src.sign_uploads import events, jobs
from policy import rules
from tests.conftest import DEV_CONFIG, SECURED_CONFIG, component_plan, stack_slices
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
