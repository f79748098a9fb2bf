"""Keyed subject folders: HMAC-SHA256 of ``sub`` under a key read from Secrets Manager once per
container, without boto3. End to end against moto's Secrets Manager on loopback
(``SECRETS_ENDPOINT_URL``); the signature itself is proven by ``test_sigv4_headers.py``."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from lambda_src.sign_uploads import config, keys, subject_key

from .support import REGION, call, files, make_event

GOOD_KEY = "a" * 32 + "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def moto_secrets() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[union-attr]
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)
    client.create_secret(Name="lux/key-one", SecretString=GOOD_KEY)
    client.create_secret(Name="lux/key-two", SecretString="b" * 64)
    client.create_secret(Name="lux/too-short", SecretString="short")
    client.create_secret(Name="lux/binary", SecretBinary=b"\x00" * 64)
    yield endpoint
    server.stop()


@pytest.fixture
def fetches(moto_secrets: str, signer_env: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """JWT mode against moto with an empty cache (a fresh container); records every request the
    signer sends to Secrets Manager."""
    signer_env.setenv("AUTH_REQUIRED", "true")
    signer_env.setenv("SECRETS_ENDPOINT_URL", moto_secrets)
    signer_env.setenv("SUBJECT_KEY_SECRET_ID", "lux/key-one")
    signer_env.setattr(subject_key, "_CACHE", {})
    seen: list[dict[str, Any]] = []
    real_urlopen = urllib.request.urlopen

    def recording(request: urllib.request.Request, *args: Any, **kwargs: Any) -> Any:
        seen.append({"url": request.full_url, "headers": dict(request.header_items()), "body": request.data})
        return real_urlopen(request, *args, **kwargs)

    signer_env.setattr(urllib.request, "urlopen", recording)
    return seen


def jwt_prefix(sub: str = "user-1", job_id: str = "job-1") -> Any:
    return call(make_event({"jobId": job_id, **files("a.ts")}, claims={"sub": sub}))


def test_the_key_is_read_once_per_container_and_the_folder_is_its_hmac(fetches: list[dict[str, Any]]) -> None:
    first, second, other = jwt_prefix(), jwt_prefix(), jwt_prefix("user-2")
    assert first.status == second.status == other.status == 200, first.json
    assert len(fetches) == 1  # lazily on the first JWT request, never again
    (request,) = fetches
    assert request["url"].endswith("/") and json.loads(request["body"]) == {"SecretId": "lux/key-one"}
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["x-amz-target"] == "secretsmanager.GetSecretValue"
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert f"/{REGION}/secretsmanager/aws4_request" in headers["authorization"]
    folder = keys.subject_hash(GOOD_KEY.encode(), "user-1")
    assert first.json["prefix"] == second.json["prefix"] == f"videos/sub.{folder}/job-1/"
    assert other.json["prefix"] != first.json["prefix"]


def test_the_session_token_is_sent_and_signed(fetches: list[dict[str, Any]], signer_env) -> None:
    signer_env.setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjE/token+=")
    assert jwt_prefix().status == 200
    headers = {name.lower(): value for name, value in fetches[0]["headers"].items()}
    assert headers["x-amz-security-token"] == "IQoJb3JpZ2luX2VjE/token+="
    assert "x-amz-security-token" in headers["authorization"]


def test_two_keys_give_two_folders_for_the_same_sub_and_one_key_a_stable_folder(fetches, signer_env) -> None:
    with_one = jwt_prefix().json["prefix"]
    signer_env.setenv("SUBJECT_KEY_SECRET_ID", "lux/key-two")
    with_two = jwt_prefix().json["prefix"]
    assert with_one != with_two
    assert keys.subject_hash(b"k" * 32, "sub") == keys.subject_hash(b"k" * 32, "sub")
    assert keys.subject_hash(b"k" * 32, "sub") != keys.subject_hash(b"K" * 32, "sub")


def test_the_folder_cannot_be_confirmed_from_a_guessed_sub_without_the_key(fetches) -> None:
    sub = "alice@example.com"
    prefix = jwt_prefix(sub).json["prefix"]
    unkeyed = hashlib.sha256(b"lux-video/upload-subject\x00" + sub.encode()).hexdigest()[
        :32
    ]  # the old H(sub)
    assert unkeyed not in prefix and hashlib.sha256(sub.encode()).hexdigest()[:32] not in prefix
    assert sub not in prefix


def test_anonymous_requests_and_the_local_stack_never_read_a_key(fetches, signer_env) -> None:
    signer_env.setenv("AUTH_REQUIRED", "false")
    signer_env.delenv("SUBJECT_KEY_SECRET_ID")
    assert call(make_event(files("a.ts"))).status == 200
    assert fetches == []


@pytest.mark.parametrize(
    ("secret_id", "reason"),
    [
        ("lux/no-such-secret", "ResourceNotFoundException"),
        ("lux/too-short", "at least 32 characters"),
        ("lux/binary", "at least 32 characters"),
    ],
)
def test_an_unusable_key_is_a_500_and_is_retried_on_the_next_request(
    fetches, signer_env, capsys: pytest.CaptureFixture[str], secret_id: str, reason: str
) -> None:
    signer_env.setenv("SUBJECT_KEY_SECRET_ID", secret_id)
    for _ in range(2):
        reply = jwt_prefix()
        assert (
            reply.status == 500 and reply.json["error"]["message"] == "The upload service is misconfigured."
        )
    assert len(fetches) == 2  # failures are not cached
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["outcome"] == "misconfigured" and reason in log["detail"] and secret_id in log["detail"]
    assert GOOD_KEY not in log["detail"] and "b" * 64 not in log["detail"]  # never a value


def test_an_unreachable_secrets_manager_is_a_500(fetches, signer_env) -> None:
    signer_env.setenv("SECRETS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused
    assert jwt_prefix().status == 500


def test_jwt_mode_without_a_secret_id_is_a_misconfiguration(signer_env: pytest.MonkeyPatch) -> None:
    signer_env.setenv("AUTH_REQUIRED", "true")
    signer_env.delenv("SUBJECT_KEY_SECRET_ID")
    reply = call(make_event(files("a.ts"), claims={"sub": "user-1"}))
    assert reply.status == 500
    with pytest.raises(config.ConfigError, match="SUBJECT_KEY_SECRET_ID"):
        config.load_config({**dict(config.environment(
            bucket="b-1", prefix="videos/", public_base_url="https://c.example", url_ttl_seconds=900,
            max_files=1, max_file_bytes=1, auth_required=True,
        )), **config.runtime_environment(region="us-west-2", credentials=config.Credentials("A", "S", None))})  # fmt: skip


def test_a_subject_without_a_configured_key_is_refused_not_hashed_unkeyed(signer_env) -> None:
    """AUTH_REQUIRED=false yet a JWT subject arrived (an authorizer on the route): no key, no folder."""
    signer_env.delenv("SUBJECT_KEY_SECRET_ID")
    assert call(make_event(files("a.ts"), claims={"sub": "user-1"})).status == 500
    with pytest.raises(ValueError, match="subject key"):
        keys.job_prefix("videos/", "user-1", "job-1", None)


def test_the_endpoint_is_regional_and_overridable() -> None:
    env = {**config.environment(
        bucket="b-1", prefix="videos/", public_base_url="https://c.example", url_ttl_seconds=900,
        max_files=1, max_file_bytes=1, auth_required=False,
    ), **config.runtime_environment(region="cn-north-1", credentials=config.Credentials("A", "S", None))}  # fmt: skip
    assert (
        subject_key.endpoint(config.load_config(env)) == "https://secretsmanager.cn-north-1.amazonaws.com.cn/"
    )
    local = config.load_config({**env, "SECRETS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    assert subject_key.endpoint(local) == "http://127.0.0.1:4566/"
