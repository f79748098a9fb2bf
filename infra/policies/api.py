"""API Gateway: the signer API's CORS and its access log line."""

from __future__ import annotations

from typing import Any

from infra.policies.storage import CORS_MAX_AGE_SECONDS

# POST / signs; GET and DELETE /jobs/{jobId} report and delete a job; the multipart routes
# (Uppy Companion's S3 protocol) list parts with GET and abort with DELETE.
API_CORS_METHODS = ("POST", "GET", "DELETE", "OPTIONS")
API_CORS_HEADERS = ("content-type", "authorization")
# The multipart routes on the signer API (lambda_src/sign_uploads/multipart.py), under the same
# authorizer as POST /; the local gateway serves the same list.
MULTIPART_ROUTE_KEYS = (
    "POST /s3/multipart",
    "POST /s3/multipart/plan",
    "GET /s3/multipart/{uploadId}",
    "DELETE /s3/multipart/{uploadId}",
    "GET /s3/multipart/{uploadId}/batch",
    "GET /s3/multipart/{uploadId}/{partNumber}",
    "POST /s3/multipart/{uploadId}/complete",
    "POST /s3/sign",
)


def multipart_routes_arn(api_execution_arn: str) -> str:
    """Every method of every /s3/... path of the signer API, any stage (the Lambda permission)."""
    return f"{api_execution_arn}/*/*/s3/*"


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
