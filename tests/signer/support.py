"""Helpers shared by the signer tests: constants, API Gateway events, decoded replies."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `pytest` (unlike `python -m pytest`) does not add the cwd
    sys.path.insert(0, str(REPO_ROOT))

from lambda_src.sign_uploads import config as signer_config  # noqa: E402
from lambda_src.sign_uploads import handler as signer  # noqa: E402

BUCKET = "lux-video-test"
REGION = "us-west-2"
PUBLIC_BASE_URL = "https://cdn.example.com"
ACCESS_KEY = "AKIATESTSIGNER000001"
SECRET_KEY = "test-secret-key/with+symbols=="
ACCOUNT_ID = "123456789012"
HEALTH_CHECK_ROLE = "lux-video-dev-healthcheck-role"
HEALTH_CHECK_ARN = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{HEALTH_CHECK_ROLE}/lux-video-dev-healthcheck"

SIGNER_ENV_VARS = signer_config.VARIABLES
# The subject folders' HMAC key, as if read from this secret (conftest primes the module's cache:
# test_subject_key.py reads it for real from moto's Secrets Manager).
SUBJECT_KEY_SECRET_ID = "lux/test/subject-key"
SUBJECT_KEY = b"0123456789abcdef0123456789abcdef-test-subject-key"
SUBJECT_KEY_CACHE_ENTRY = ((REGION, "", SUBJECT_KEY_SECRET_ID), SUBJECT_KEY)


DEPLOYED_ENV = {
    "BUCKET": BUCKET,
    "AWS_REGION": REGION,
    "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "SUBJECT_KEY_SECRET_ID": SUBJECT_KEY_SECRET_ID,
}


def make_event(
    body: Any,
    method: str = "POST",
    claims: dict[str, Any] | None = None,
    *,
    base64_encoded: bool = False,
    route: str = "POST /",
    user_arn: str | None = None,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event; a non-str body is JSON-encoded first. ``user_arn``: the
    caller as API Gateway's IAM authorizer reports it (``requestContext.authorizer.iam``)."""
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    if base64_encoded and text is not None:
        text = base64.b64encode(text.encode()).decode()
    path = route.split(" ", 1)[-1]
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "http": {"method": method, "path": path},
        "requestId": "test-request",
        "routeKey": route,
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    if user_arn is not None:
        account = user_arn.split(":")[4] if user_arn.count(":") >= 5 else ""
        context["authorizer"] = {
            "iam": {"accountId": account, "userArn": user_arn, "userId": "AROAEXAMPLE:s"}
        }
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "body": text,
        "isBase64Encoded": base64_encoded,
    }


class Reply:
    """A handler response with its body decoded."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.status: int = raw["statusCode"]
        self.headers: dict[str, str] = raw["headers"]
        self.json: dict[str, Any] = json.loads(raw["body"])

    @property
    def error_code(self) -> str | None:
        return self.json.get("error", {}).get("code")

    @property
    def fields(self) -> list[str]:
        return [d["field"] for d in self.json.get("error", {}).get("details", [])]


def call(event: Any) -> Reply:
    return Reply(signer.handler(event, None))


def files(*paths: str, size: int = 100) -> dict[str, Any]:
    return {"files": [{"path": p, "size": size} for p in paths]}
