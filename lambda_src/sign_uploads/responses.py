"""The HTTP API's answers (payload format 2.0): JSON, never cached, never sniffed; errors in one shape.

Every route of the signer API answers through these, so a client parses one error format:
``{"error": {"code", "message", "details": [{"field", "problem"}]}}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:
    from .contract import MAX_DETAILS
else:
    from contract import MAX_DETAILS

RESPONSE_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def error(status: int, code: str, message: str, details: list[Any] | tuple[()] = ()) -> dict[str, Any]:
    shown = [{"field": d.field, "problem": d.problem} for d in details[:MAX_DETAILS]]
    return respond(status, {"error": {"code": code, "message": message, "details": shown}})


def respond(status: int, body: object) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": dict(RESPONSE_HEADERS),
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }
