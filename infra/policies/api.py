"""API Gateway: the signer API's CORS and its access log line."""

from __future__ import annotations

from typing import Any

from infra.policies.storage import CORS_MAX_AGE_SECONDS

# POST / signs; GET and DELETE /jobs/{jobId} report and delete a job.
API_CORS_METHODS = ("POST", "GET", "DELETE", "OPTIONS")
API_CORS_HEADERS = ("content-type", "authorization")


def api_cors(origins: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {
        "allowMethods": list(API_CORS_METHODS),
        "allowHeaders": list(API_CORS_HEADERS),
        "allowOrigins": list(origins),
        "maxAge": CORS_MAX_AGE_SECONDS,
    }


def api_access_log_format() -> dict[str, str]:
    """One JSON line per request in the API's access log (no headers, no bodies, no tokens)."""
    return {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationLatencyMs": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    }
