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

SIGNER_ENV_VARS = signer_config.VARIABLES


DEPLOYED_ENV = {
    "BUCKET": BUCKET,
    "AWS_REGION": REGION,
    "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
}


def make_event(
    body: Any,
    method: str = "POST",
    claims: dict[str, Any] | None = None,
    *,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event; a non-str body is JSON-encoded first."""
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    if base64_encoded and text is not None:
        text = base64.b64encode(text.encode()).decode()
    context: dict[str, Any] = {"http": {"method": method, "path": "/"}, "requestId": "test-request"}
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return {
        "version": "2.0",
        "routeKey": "POST /",
        "rawPath": "/",
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
