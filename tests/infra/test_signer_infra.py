"""The signer's role can only PUT under the prefix; the function is packaged from its folder alone.

Built alone from the stack's signer slice, for a literal bucket and CDN URL. That it signs for the
stack's own bucket and CDN is a whole-stack test (tests/infra/test_stack.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import parliament
import pulumi
import pytest

from infra import packaging
from infra.config import SignerConfig
from infra.signer import UploadSigner, UploadSignerArgs
from policy import rules
from tests.conftest import DEV_CONFIG, SECURED_CONFIG, component_plan
from tests.infra.helpers import FUNCTION, LOG_GROUP, ROLE, ROLE_POLICY, document, props
from tools.plan import Plan

# What the media bucket and the CDN hand the signer in the stack.
BUCKET_NAME = "lux-video-dev-262a61d7"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET_NAME}"
CDN_BASE_URL = "https://d1a2b3c4d5e6f7.cloudfront.net"


def upload_signer(config: SignerConfig) -> Callable[[], dict[str, pulumi.Output[str]]]:
    def build() -> dict[str, pulumi.Output[str]]:
        signer = UploadSigner(
            "signer",
            UploadSignerArgs(
                config,
                bucket_name=BUCKET_NAME,
                bucket_arn=BUCKET_ARN,
                public_base_url=CDN_BASE_URL,
                region="us-west-2",
            ),
        )
        return {"functionName": signer.function.name}

    return build


BUILD_DEV = upload_signer(DEV_CONFIG.signer)
BUILD_SECURED = upload_signer(SECURED_CONFIG.signer)


@pytest.fixture
def signer_plan() -> Plan:
    """The dev stack's upload signer alone."""
    return component_plan(BUILD_DEV)


@pytest.fixture
def secured_signer_plan() -> Plan:
    """The upload signer of the secured variant (tests/conftest.py SECURED_OVERRIDES) alone."""
    return component_plan(BUILD_SECURED)


SCOPE = rules.SignerScope(bucket="lux-video-dev-262a61d7", prefix="videos/")


def test_role_is_named_for_the_function_and_trusts_only_lambda(signer_plan: Plan) -> None:
    role = signer_plan.one(ROLE, "signer-role")
    assert role.inputs["name"] == "lux-sign-uploads-role"
    trust = document(role, "assumeRolePolicy")
    (statement,) = trust["Statement"]
    assert statement == {
        "Sid": "LambdaAssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    assert rules.lambda_trust_is_lambda_only(ROLE, role.inputs) == []


def test_trust_rule_catches_an_account_or_wildcard_principal(signer_plan: Plan) -> None:
    for principal in ({"AWS": "*"}, "*", {"Service": "ec2.amazonaws.com"}, {"AWS": "arn:aws:iam::1:root"}):
        broken = props(signer_plan, ROLE, "signer-role")
        trust = json.loads(broken["assumeRolePolicy"])
        trust["Statement"][0]["Principal"] = principal
        broken["assumeRolePolicy"] = json.dumps(trust)
        assert rules.lambda_trust_is_lambda_only(ROLE, broken), principal


def test_signer_may_only_put_objects_under_the_prefix_and_write_its_logs(signer_plan: Plan) -> None:
    policy = document(signer_plan.one(ROLE_POLICY, "signer-permissions"), "policy")
    put, multipart, logs = policy["Statement"]
    assert put == {
        "Sid": "PutUploadsUnderPrefix",
        "Effect": "Allow",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::lux-video-dev-262a61d7/videos/*",
    }
    # Multipart: create, parts and completion are PutObject; exactly two more actions, same scope.
    assert multipart == {
        "Sid": "ManageMultipartUploadsUnderPrefix",
        "Effect": "Allow",
        "Action": ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        "Resource": "arn:aws:s3:::lux-video-dev-262a61d7/videos/*",
    }
    assert sorted(logs["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"] == "arn:aws:logs:us-west-2:123456789012:log-group:/aws/lambda/lux-sign-uploads:*"
    assert rules.signer_permissions_are_least_privilege(policy, SCOPE) == []


def test_signer_scope_follows_the_configured_prefix(secured_signer_plan: Plan) -> None:
    policy = document(secured_signer_plan.one(ROLE_POLICY, "signer-permissions"), "policy")
    scope = rules.SignerScope(bucket="lux-video-dev-262a61d7", prefix="media/uploads/")
    assert rules.signer_permissions_are_least_privilege(policy, scope) == []
    assert rules.signer_permissions_are_least_privilege(policy, SCOPE)  # the old prefix no longer fits


@pytest.mark.parametrize(
    "break_it",
    [
        lambda p: p["Statement"][0].update(Action=["s3:PutObject", "s3:GetObject"]),
        lambda p: p["Statement"][0].update(Action="s3:*"),
        lambda p: p["Statement"][0].update(Resource="arn:aws:s3:::lux-video-dev-262a61d7/*"),
        lambda p: p["Statement"][1].update(Resource="*"),
        lambda p: p["Statement"].append({"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "*"}),
        lambda p: p["Statement"].append({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        lambda p: p["Statement"][1].update(Action=[*p["Statement"][1]["Action"], "s3:GetObject"]),
        lambda p: p["Statement"][1].update(Resource="arn:aws:s3:::lux-video-dev-262a61d7/*"),
        lambda p: p["Statement"][1].update(Action="s3:ListBucketMultipartUploads"),
    ],
    ids=[
        "adds-get",
        "s3-star",
        "whole-bucket",
        "logs-anywhere",
        "delete",
        "not-action",
        "multipart-adds-get",
        "multipart-whole-bucket",
        "multipart-list-uploads",
    ],
)
def test_least_privilege_rule_catches_every_widening(signer_plan: Plan, break_it) -> None:
    policy = document(signer_plan.one(ROLE_POLICY, "signer-permissions"), "policy")
    break_it(policy)
    assert rules.signer_permissions_are_least_privilege(policy, SCOPE)


def test_signer_permissions_pass_parliament_with_no_findings(signer_plan: Plan) -> None:
    text = signer_plan.one(ROLE_POLICY, "signer-permissions").inputs["policy"]
    findings = parliament.analyze_policy_string(
        text, include_community_auditors=False, config=parliament.config
    ).findings
    assert findings == []


def test_function_runs_python_3_12_or_newer_on_arm64(signer_plan: Plan) -> None:
    function = signer_plan.one(FUNCTION, "signer").inputs
    assert function["name"] == "lux-sign-uploads"
    assert function["runtime"] in rules.SUPPORTED_PYTHON_RUNTIMES
    assert int(function["runtime"].removeprefix("python3.")) >= 12
    assert function["architectures"] == ["arm64"]
    assert function["handler"] == "handler.handler"
    assert function["role"] == "arn:aws:iam::123456789012:role/lux-sign-uploads-role"
    broken = {**function, "runtime": "python3.8"}
    assert rules.lambdas_use_supported_python(FUNCTION, broken)


def test_function_environment_points_at_bucket_prefix_and_cdn(
    signer_plan: Plan, secured_signer_plan: Plan
) -> None:
    env = signer_plan.one(FUNCTION, "signer").inputs["environment"]["variables"]
    assert env == {
        "BUCKET": "lux-video-dev-262a61d7",
        "PREFIX": "videos/",
        "PUBLIC_BASE_URL": CDN_BASE_URL,
        "URL_TTL_SECONDS": "900",
        "MAX_FILES": "1000",
        "MAX_FILE_BYTES": str(5 * 1024**3),
        "AUTH_REQUIRED": "false",
        # The only caller accepted on POST /healthcheck (the health check's assumed role).
        "HEALTH_CHECK_ROLE_NAME": "lux-video-dev-healthcheck-role",
        # The multipart routes' cap on a whole file (stack key maxMultipartFileBytes).
        "MAX_MULTIPART_FILE_BYTES": str(5 * 1024**3),
    }
    assert env["PUBLIC_BASE_URL"].startswith("https://")
    secured = secured_signer_plan.one(FUNCTION, "signer").inputs["environment"]["variables"]
    assert secured["AUTH_REQUIRED"] == "true"
    assert secured["SUBJECT_KEY_SECRET_ID"] == "lux-video/dev/subject-key"
    assert secured["PREFIX"] == "media/uploads/"
    assert secured["URL_TTL_SECONDS"] == "600"


def test_function_logs_json_to_its_own_log_group_with_retention(
    signer_plan: Plan, secured_signer_plan: Plan
) -> None:
    function = signer_plan.one(FUNCTION, "signer").inputs
    assert function["loggingConfig"] == {"logFormat": "JSON", "logGroup": "/aws/lambda/lux-sign-uploads"}
    group = signer_plan.one(LOG_GROUP, "signer-logs").inputs
    assert group["retentionInDays"] == 30
    assert secured_signer_plan.one(LOG_GROUP, "signer-logs").inputs["retentionInDays"] == 90


def test_the_signers_log_group_has_retention_and_the_rule_catches_one_without(signer_plan: Plan) -> None:
    # Every log group of the stack: tests/infra/test_stack.py.
    (group,) = signer_plan.of_type(LOG_GROUP)
    assert rules.log_groups_have_retention(LOG_GROUP, group.inputs) == []
    broken = props(signer_plan, LOG_GROUP, "signer-logs")
    del broken["retentionInDays"]
    assert rules.log_groups_have_retention(LOG_GROUP, broken)


def test_function_code_is_exactly_the_signer_source_files(signer_plan: Plan) -> None:
    archive = signer_plan.as_json()["resources"]
    (function,) = [r for r in archive if r["type"] == FUNCTION and r["name"] == "signer"]
    files = function["inputs"]["code"]["archive"]
    # Its modules, and the data files they read (the transcoding job settings).
    expected = sorted(
        p.name
        for p in (packaging.LAMBDA_SRC / "sign_uploads").glob("*")
        if p.suffix in (".py", ".json") and not p.name.startswith("test_")
    )
    assert sorted(files) == expected
    assert all(not name.startswith("__pycache__") for name in files)


def test_archive_leaves_out_caches_and_tests(tmp_path: Path) -> None:
    source = tmp_path / "fn"
    (source / "__pycache__").mkdir(parents=True)
    (source / "tests").mkdir()
    (source / "handler.py").write_text("def handler(e, c): return {}\n")
    (source / "lib.py").write_text("X = 1\n")
    (source / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (source / "tests" / "test_handler.py").write_text("")
    (source / "test_lib.py").write_text("")
    (source / "conftest.py").write_text("")
    (source / ".DS_Store").write_bytes(b"x")
    assert sorted(packaging.function_files(source)) == ["handler.py", "lib.py"]


def test_running_code_does_not_change_the_archive(tmp_path: Path) -> None:
    source = tmp_path / "fn"
    source.mkdir()
    (source / "handler.py").write_text("def handler(e, c): return {}\n")
    before = packaging.source_hash(source)
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"compiled")
    assert packaging.source_hash(source) == before
    (source / "handler.py").write_text("def handler(e, c): return {'changed': True}\n")
    assert packaging.source_hash(source) != before


def test_empty_or_missing_source_folder_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        packaging.function_files(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no source files"):
        packaging.function_files(tmp_path / "empty")


def test_with_jwt_the_signer_may_read_only_its_subject_key(
    secured_signer_plan: Plan, signer_plan: Plan
) -> None:
    policy = document(secured_signer_plan.one(ROLE_POLICY, "signer-permissions"), "policy")
    (read,) = [s for s in policy["Statement"] if s["Sid"] == "ReadSubjectKey"]
    assert read == {
        "Sid": "ReadSubjectKey",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "arn:aws:secretsmanager:us-west-2:123456789012:secret:lux-video/dev/subject-key-??????",
    }
    dev = document(signer_plan.one(ROLE_POLICY, "signer-permissions"), "policy")
    assert "ReadSubjectKey" not in {s["Sid"] for s in dev["Statement"]}
    # Break it: any secret (a wildcard name) is caught by the least-privilege rule.
    read["Resource"] = "arn:aws:secretsmanager:us-west-2:123456789012:secret:*"
    scope = rules.SignerScope(bucket="lux-video-dev-262a61d7", prefix="media/uploads/")
    assert any("secrets" in v for v in rules.signer_permissions_are_least_privilege(policy, scope))


def test_the_policy_packs_multipart_actions_are_the_signers() -> None:
    from infra.policies.iam import SIGNER_MULTIPART_ACTIONS

    assert frozenset(SIGNER_MULTIPART_ACTIONS) == rules.SIGNER_MULTIPART_ACTIONS
