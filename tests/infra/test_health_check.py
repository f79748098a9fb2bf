"""HealthCheck: the synthetic check's function, least-privilege role, schedule and leftovers."""

from __future__ import annotations

import json
import re
from typing import Any

import parliament
import pytest

from infra import config as infra_config
from infra import health_check, packaging
from policy import rules
from tests.conftest import plan_for, stack_config
from tests.infra.helpers import (
    API,
    DASHBOARD,
    DEV_ORIGINS,
    FUNCTION,
    LIFECYCLE,
    LOG_GROUP,
    ROLE,
    ROLE_POLICY,
    SCHEDULE,
    document,
)
from tools.plan import Plan

# --- synthetic check -------------------------------------------------------------------------------


def test_health_check_function_is_packaged_like_the_signer(dev: Plan) -> None:
    function = dev.one(FUNCTION, "monitoring-healthcheck")
    inputs = function.inputs
    assert inputs["name"] == "lux-video-dev-healthcheck"
    assert (inputs["runtime"], inputs["architectures"], inputs["handler"]) == (
        "python3.13",
        ["arm64"],
        "handler.handler",
    )
    assert inputs["loggingConfig"] == {
        "logFormat": "Text",
        "logGroup": "/aws/lambda/lux-video-dev-healthcheck",
    }
    assert dev.one(LOG_GROUP, "monitoring-healthcheck-logs").inputs["retentionInDays"] == 30
    assert inputs["environment"]["variables"] == {
        "SIGNER_URL": dev.outputs["signerEndpoint"],
        "CDN_BASE_URL": dev.outputs["cdnBaseUrl"],
        "STACK": "dev",
        "METRIC_NAMESPACE": "LuxVideo/HealthCheck",
        "JOB_PREFIX": "healthcheck-",
        # Any origin works when CORS allows all; otherwise the first listed one.
        "CHECK_ORIGIN": infra_config.ANY_ORIGIN_PROBE if DEV_ORIGINS == ("*",) else DEV_ORIGINS[0],
    }
    archive = next(
        r for r in dev.as_json()["resources"] if r["type"] == FUNCTION and r["name"] == function.name
    )
    assert sorted(archive["inputs"]["code"]["archive"]) == sorted(
        packaging.function_files(health_check.SOURCE_DIR)
    )


def test_health_check_source_never_imports_pulumi_or_infra() -> None:
    for path in packaging.function_files(health_check.SOURCE_DIR).values():
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(pulumi|infra)\b", text, re.MULTILINE), path


def health_check_policy(plan: Plan) -> dict[str, Any]:
    return document(plan.one(ROLE_POLICY, "monitoring-healthcheck-permissions"), "policy")


def test_health_check_role_may_only_call_its_own_routes_and_write_its_logs(dev: Plan) -> None:
    role = dev.one(ROLE, "monitoring-healthcheck-role")
    assert document(role, "assumeRolePolicy")["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    assert rules.lambda_trust_is_lambda_only(ROLE, role.inputs) == []
    api = dev.one(API)
    assert health_check_policy(dev)["Statement"] == [
        {
            "Sid": "SignOnOwnRoute",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"arn:aws:execute-api:us-west-2:123456789012:{api.id}/*/POST/healthcheck",
        },
        {
            # Its job's status and deletion, on its own IAM-authorized job routes only.
            "Sid": "CheckOwnJobs",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": [
                f"arn:aws:execute-api:us-west-2:123456789012:{api.id}/*/GET/healthcheck/jobs/*",
                f"arn:aws:execute-api:us-west-2:123456789012:{api.id}/*/DELETE/healthcheck/jobs/*",
            ],
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:us-west-2:123456789012:log-group:/aws/lambda/lux-video-dev-healthcheck:*",
        },
    ]


def test_with_jwt_the_health_check_still_needs_no_secret_and_no_subject_folder(secured: Plan) -> None:
    statements = health_check_policy(secured)["Statement"]
    assert not any("s3:" in json.dumps(s) for s in statements)  # it deletes through its job route
    assert not any("secretsmanager" in json.dumps(s) for s in statements)
    env = secured.one(FUNCTION, "monitoring-healthcheck").inputs["environment"]["variables"]
    assert "TOKEN_SECRET_NAME" not in env
    assert env["CHECK_ORIGIN"] == "https://app.example.com"
    signer_env = secured.one(FUNCTION, "signer").inputs["environment"]["variables"]
    assert (
        signer_env["HEALTH_CHECK_ROLE_NAME"]
        == secured.one(ROLE, "monitoring-healthcheck-role").inputs["name"]
    )


@pytest.mark.parametrize(
    "name", ["monitoring-healthcheck-permissions", "monitoring-healthcheck-scheduler-permissions"]
)
def test_monitoring_role_policies_pass_parliament(dev: Plan, secured: Plan, name: str) -> None:
    for plan in (dev, secured):
        text = plan.one(ROLE_POLICY, name).inputs["policy"]
        findings = parliament.analyze_policy_string(
            text, include_community_auditors=False, config=parliament.config
        ).findings
        assert findings == [], (name, findings)


def test_parliament_flags_a_widened_health_check_policy(dev: Plan) -> None:
    policy = health_check_policy(dev)
    policy["Statement"][0]["Action"] = ["s3:DeleteObject", "s3:PutObjectAcl"]
    policy["Statement"][0]["Resource"] = "*"
    findings = parliament.analyze_policy_string(
        json.dumps(policy), include_community_auditors=False, config=parliament.config
    ).findings
    assert findings


def test_leftover_probes_expire_after_a_day(dev: Plan, secured: Plan) -> None:
    rule = dev.one(LIFECYCLE, "media-lifecycle").inputs["rules"][-1]
    assert rule == {
        "id": "expire-health-check-probes",
        "status": "Enabled",
        "filter": {"prefix": "videos/healthcheck-"},
        "expiration": {"days": 1},
    }
    assert secured.one(LIFECYCLE, "media-lifecycle").inputs["rules"][-1]["filter"] == {
        "prefix": "media/uploads/healthcheck-"
    }


def test_scheduler_runs_the_check_every_5_minutes_with_its_own_role(dev: Plan) -> None:
    schedule = dev.one(SCHEDULE).inputs
    assert schedule["scheduleExpression"] == "rate(5 minutes)"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule["state"] == "ENABLED"
    function_arn = "arn:aws:lambda:us-west-2:123456789012:function:lux-video-dev-healthcheck"
    assert schedule["target"]["arn"] == function_arn
    assert (
        schedule["target"]["roleArn"] == "arn:aws:iam::123456789012:role/lux-video-dev-healthcheck-scheduler"
    )
    assert schedule["target"]["retryPolicy"]["maximumRetryAttempts"] == 0
    role = dev.one(ROLE, "monitoring-healthcheck-scheduler-role")
    (trust,) = document(role, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert rules.lambda_trust_is_lambda_only(ROLE, role.inputs) == []
    (invoke,) = document(dev.one(ROLE_POLICY, "monitoring-healthcheck-scheduler-permissions"), "policy")[
        "Statement"
    ]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == [function_arn, f"{function_arn}:*"]


def test_disabling_the_health_check_removes_it_and_its_alarm() -> None:
    plan = plan_for("dev", stack_config("dev", healthCheckEnabled="false"))
    names = {r.name for r in plan.resources}
    assert not {n for n in names if "healthcheck" in n or "scheduler" in n}
    assert sorted(f.name for f in plan.of_type(FUNCTION)) == ["jobs", "signer"]
    assert all(
        rule["id"] != "expire-health-check-probes"
        for rule in plan.one(LIFECYCLE, "media-lifecycle").inputs["rules"]
    )
    body = json.loads(plan.one(DASHBOARD).inputs["dashboardBody"])
    assert "LuxVideo/HealthCheck" not in json.dumps(body)
