"""Upload signer Lambda (placeholder until the signer issue lands): answers 501 in the contract's shape."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = {"error": {"code": "not_implemented", "message": "The signer is not deployed yet.", "details": []}}
    return {
        "statusCode": 501,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }
