"""`healthcheck-` jobIds belong to the health check: signed only on ``POST /healthcheck`` (AWS_IAM),
only for the assumed role named by HEALTH_CHECK_ROLE_NAME; refused (403) everywhere else."""

from __future__ import annotations

import pytest

from lambda_src.sign_uploads import config, keys

from .support import ACCOUNT_ID, HEALTH_CHECK_ARN, HEALTH_CHECK_ROLE, Reply, call, files, make_event

ROUTE = "POST /healthcheck"
PROBE = {"jobId": "healthcheck-20260102T030405-abcd1234", **files("probe.m3u8")}


@pytest.fixture(autouse=True)
def role_configured(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("HEALTH_CHECK_ROLE_NAME", HEALTH_CHECK_ROLE)


def health_check(body: object = PROBE, user_arn: str | None = HEALTH_CHECK_ARN, **event: object) -> Reply:
    return call(make_event(body, route=ROUTE, user_arn=user_arn, **event))  # type: ignore[arg-type]


def test_the_health_check_role_signs_a_reserved_job_in_the_anonymous_layout() -> None:
    reply = health_check()
    assert reply.status == 200, reply.json
    assert reply.json["jobId"] == PROBE["jobId"]
    assert reply.json["prefix"] == f"videos/{PROBE['jobId']}/"
    assert reply.json["uploads"][0]["key"] == f"videos/{PROBE['jobId']}/probe.m3u8"


def test_with_jwt_required_the_health_check_needs_no_subject_and_no_subject_key(
    signer_env: pytest.MonkeyPatch,
) -> None:
    signer_env.setenv("AUTH_REQUIRED", "true")
    signer_env.setenv("SUBJECT_KEY_SECRET_ID", "lux/test/never-fetched")
    reply = health_check()
    assert reply.status == 200, reply.json
    assert reply.json["prefix"] == f"videos/{PROBE['jobId']}/"  # no sub.<hash>/ folder


def test_the_reserved_prefix_is_the_one_the_key_layout_owns() -> None:
    from infra import policies  # its delete grant and lifecycle rule are written for this prefix

    assert keys.HEALTH_CHECK_JOB_PREFIX == "healthcheck-" == policies.HEALTH_CHECK_JOB_PREFIX
    assert PROBE["jobId"].startswith(keys.HEALTH_CHECK_JOB_PREFIX)


@pytest.mark.parametrize("claims", [None, {"sub": "user-1"}], ids=["anonymous", "jwt"])
def test_a_reserved_job_id_is_refused_on_the_public_route(claims: dict[str, str] | None, signer_env) -> None:
    if claims:
        signer_env.setenv("SUBJECT_KEY_SECRET_ID", "lux/test/subject-key")
    reply = call(make_event(PROBE, claims=claims))
    assert reply.status == 403 and reply.error_code == "reserved_job_id"
    assert reply.fields == ["jobId"]


def test_a_reserved_job_id_is_refused_even_with_the_role_on_the_public_route() -> None:
    """The IAM identity counts only on the IAM-authorized route: on ``POST /`` an ``iam`` block
    could only come from a misconfigured route, and proves nothing."""
    reply = call(make_event(PROBE, user_arn=HEALTH_CHECK_ARN))
    assert reply.status == 403 and reply.error_code == "reserved_job_id"


def test_a_job_id_that_only_resembles_the_prefix_is_an_ordinary_job() -> None:
    for job_id in ("healthcheck", "Healthcheck-1", "my-healthcheck-1", "healthcheck_1"):
        assert call(make_event({"jobId": job_id, **files("a.ts")})).status == 200, job_id


@pytest.mark.parametrize(
    "user_arn",
    [
        None,  # no IAM authorizer (e.g. the route misconfigured without AWS_IAM)
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/someone-else/session",
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{HEALTH_CHECK_ROLE}x/session",
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{HEALTH_CHECK_ROLE}/",
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{HEALTH_CHECK_ROLE}/s/extra",
        f"arn:aws:sts::210987654321:assumed-role/{HEALTH_CHECK_ROLE}/session",  # another account
        f"arn:aws:iam::{ACCOUNT_ID}:role/{HEALTH_CHECK_ROLE}",
        f"arn:aws:iam::{ACCOUNT_ID}:user/{HEALTH_CHECK_ROLE}",
        f"arn:aws:sts::{ACCOUNT_ID}:federated-user/{HEALTH_CHECK_ROLE}",
        HEALTH_CHECK_ROLE,
        "",
    ],
)
def test_only_the_health_check_role_may_use_the_route(user_arn: str | None) -> None:
    reply = health_check(user_arn=user_arn)
    assert reply.status == 403 and reply.error_code == "forbidden", reply.json


def test_a_jwt_caller_cannot_use_the_route() -> None:
    reply = call(make_event(PROBE, route=ROUTE, claims={"sub": "user-1"}))
    assert reply.status == 403 and reply.error_code == "forbidden"


def test_without_a_configured_role_the_route_refuses_everything(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.delenv("HEALTH_CHECK_ROLE_NAME")
    assert health_check().error_code == "forbidden"


@pytest.mark.parametrize("job_id", [None, "clip-1", "healthcheck", "x-healthcheck-1"])
def test_the_route_signs_only_reserved_job_ids(job_id: str | None) -> None:
    body = {**files("probe.m3u8")} if job_id is None else {"jobId": job_id, **files("probe.m3u8")}
    reply = health_check(body)
    assert reply.status == 400 and reply.error_code == "validation_failed"
    assert reply.fields == ["jobId"]


def test_the_role_name_is_part_of_the_environment_round_trip() -> None:
    env = config.environment(
        bucket="b-1", prefix="videos/", public_base_url="https://c.example", url_ttl_seconds=900,
        max_files=10, max_file_bytes=10, auth_required=False, health_check_role_name=HEALTH_CHECK_ROLE,
    )  # fmt: skip
    assert env["HEALTH_CHECK_ROLE_NAME"] == HEALTH_CHECK_ROLE
    runtime = config.runtime_environment(region="us-west-2", credentials=config.Credentials("A", "S", None))
    assert config.load_config({**env, **runtime}).health_check_role_name == HEALTH_CHECK_ROLE
    without = config.environment(
        bucket="b-1", prefix="videos/", public_base_url="https://c.example", url_ttl_seconds=900,
        max_files=10, max_file_bytes=10, auth_required=False,
    )  # fmt: skip
    assert "HEALTH_CHECK_ROLE_NAME" not in without
    assert config.load_config({**without, **runtime}).health_check_role_name is None


def test_a_malformed_role_name_is_a_misconfiguration(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("HEALTH_CHECK_ROLE_NAME", "role/with/slashes")
    reply = call(make_event(files("a.ts")))
    assert reply.status == 500 and reply.json["error"]["message"] == "The upload service is misconfigured."
