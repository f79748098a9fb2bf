"""API Gateway (HTTP API, payload 2.0) in front of the very signer and jobs Lambda handlers.

Builds the event API Gateway would send for ``POST /`` and the job routes (``GET|DELETE
/jobs/{jobId}``), with the AWS_IAM or JWT authorizer's context, and turns the handler's result
back into an HTTP response; answers CORS as the API's ``cors_configuration`` (``infra.policies.api_cors``)
makes API Gateway answer. Other routes get API Gateway's own ``{"message":"Not Found"}``.
"""

from __future__ import annotations

import base64
import calendar
import hmac
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from infra import policies
from local.tokens import LocalTokens, TokenError, authorizer_claims

LOCAL_ACCOUNT_ID = "000000000000"
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
# A route answers every method: those it does not serve get API Gateway's 404, not Starlette's 405.
ANY_METHOD = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


class LocalContext:
    """The parts of the Lambda context object a handler may read."""

    function_name = "lux-sign-uploads-local"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-west-2:000000000000:function:lux-sign-uploads-local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 10

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def api_gateway_event(request: Request, body: bytes) -> dict[str, Any]:
    """The payload-2.0 event for this request (headers lower-cased and comma-joined, as AWS does)."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    client = request.client.host if request.client else "127.0.0.1"
    return {
        "version": "2.0",
        "routeKey": f"{request.method} {request.url.path}",
        "rawPath": request.url.path,
        "rawQueryString": request.url.query,
        "headers": headers,
        "body": text,
        "isBase64Encoded": is_base64,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": "local",
            "domainName": request.url.hostname or "localhost",
            "domainPrefix": "local",
            "http": {
                "method": request.method,
                "path": request.url.path,
                "protocol": f"HTTP/{request.scope.get('http_version', '1.1')}",
                "sourceIp": client,
                "userAgent": request.headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{request.method} {request.url.path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
    }


def cors_headers(request: Request, origins: tuple[str, ...]) -> dict[str, str]:
    """The Access-Control-* headers API Gateway adds for this request's Origin (none if not allowed)."""
    origin = request.headers.get("origin")
    if origin is None:
        return {}
    cors = policies.api_cors(origins)
    if "*" in cors["allowOrigins"]:
        return {"Access-Control-Allow-Origin": "*"}
    if origin in cors["allowOrigins"]:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it exceeds ``limit``: checked as bytes arrive (a chunked body has no
    Content-Length to judge by), never holding more than ``limit``. The rest of an oversized body
    is read and dropped so the client gets the 413 rather than a reset connection."""
    declared = request.headers.get("content-length", "")
    stream = request.stream()
    if declared.isdigit() and int(declared) > limit:
        async for _ in stream:
            pass
        return None
    received = bytearray()
    async for chunk in stream:
        if len(received) + len(chunk) > limit:
            async for _ in stream:
                pass
            return None
        received += chunk
    return bytes(received)


@dataclass(frozen=True)
class IamAuthorizer:
    """API Gateway's AWS_IAM authorization for a route: the request must be SigV4-signed
    (service ``execute-api``) with a known access key; the event then carries the caller's
    identity. ``principals`` maps an access key to the ARN it stands for (an assumed role)."""

    secrets: dict[str, str]  # access key id -> secret key
    principals: dict[str, str]  # access key id -> caller ARN
    region: str

    def caller(self, request: Request, body: bytes) -> str | None:
        """The caller's ARN, or None when the signature is missing or does not match."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        match = _AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
        amz_date = request.headers.get("x-amz-date", "")
        if match is None or not amz_date:
            return None
        access_key, date, region, service, signed, signature = match.groups()
        if access_key not in self.secrets or (region, service) != (self.region, "execute-api"):
            return None
        if date != amz_date[:8] or abs(time.time() - _epoch(amz_date)) > 300:
            return None
        headers = {name: request.headers.get(name, "") for name in signed.split(";")}
        signing = SigV4Auth(Credentials(access_key, self.secrets[access_key]), "execute-api", region)
        rebuilt = AWSRequest(method=request.method, url=str(request.url), data=body, headers=headers)
        rebuilt.context["timestamp"] = amz_date
        if ";".join(signing.headers_to_sign(rebuilt)) != signed:
            return None
        expected = signing.signature(
            signing.string_to_sign(rebuilt, signing.canonical_request(rebuilt)), rebuilt
        )
        return self.principals[access_key] if hmac.compare_digest(expected, signature) else None


_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})"
)


def _epoch(amz_date: str) -> float:
    return calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))


def _authorize(
    request: Request, body: bytes, iam: IamAuthorizer | None, tokens: LocalTokens | None
) -> dict[str, Any] | Response | None:
    """The event's ``authorizer`` (None: anonymous), or API Gateway's refusal."""
    if iam is not None:
        caller = iam.caller(request, body)
        if caller is None:
            return JSONResponse({"message": "Forbidden"}, status_code=403)
        return {"iam": {"userArn": caller, "accountId": LOCAL_ACCOUNT_ID}}
    authorization = request.headers.get("authorization")
    if tokens is None or authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError("the Authorization header is not a bearer token")
        claims = tokens.verify(token.strip())
    except TokenError as refused:
        challenge = f'Bearer error="invalid_token" error_description="{refused}"'
        return JSONResponse(
            {"message": "Unauthorized"}, status_code=401, headers={"WWW-Authenticate": challenge}
        )
    return authorizer_claims(claims)


def _preflight(request: Request, origins: tuple[str, ...]) -> Response:
    cors = policies.api_cors(origins)
    allow = cors_headers(request, origins)
    requested = request.headers["access-control-request-method"].upper()
    if not allow or requested not in cors["allowMethods"]:
        return Response(status_code=204)
    return Response(
        status_code=204,
        headers={
            **allow,
            "Access-Control-Allow-Methods": ",".join(cors["allowMethods"]),
            "Access-Control-Allow-Headers": ",".join(cors["allowHeaders"]),
            "Access-Control-Max-Age": str(cors["maxAge"]),
        },
    )


def signer_endpoint(
    handler: LambdaHandler,
    origins: tuple[str, ...],
    iam: IamAuthorizer | None = None,
    tokens: LocalTokens | None = None,
) -> Callable[[Request], Any]:
    """``POST /`` (or ``/healthcheck``). ``iam``: the route is AWS_IAM-authorized (unsigned or
    mis-signed: 403 before the function); ``tokens``: an optional bearer JWT (``local.tokens``)."""
    return api_route(handler, origins, ("POST",), iam=iam, tokens=tokens)


def api_route(
    handler: LambdaHandler,
    origins: tuple[str, ...],
    methods: tuple[str, ...],
    *,
    template: str | None = None,
    iam: IamAuthorizer | None = None,
    tokens: LocalTokens | None = None,
) -> Callable[[Request], Any]:
    """One HTTP API route (``template`` like ``/jobs/{jobId}``, default the literal path) for
    ``methods``: the event carries ``routeKey`` with the template and ``pathParameters``, as API
    Gateway sends them; any other method is API Gateway's 404."""

    async def endpoint(request: Request) -> Response:
        allow = cors_headers(request, origins)
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            return _preflight(request, origins)
        if request.method not in methods:
            return JSONResponse({"message": "Not Found"}, status_code=404, headers=allow)
        body = await read_capped(request, MAX_PAYLOAD_BYTES)
        if body is None:
            return JSONResponse({"message": "Request Entity Too Large"}, status_code=413, headers=allow)
        event = api_gateway_event(request, body)
        if template is not None:
            route_key = f"{request.method} {template}"
            event["routeKey"] = event["requestContext"]["routeKey"] = route_key
            event["pathParameters"] = dict(request.path_params)
        authorizer = _authorize(request, body, iam, tokens)
        if isinstance(authorizer, Response):
            authorizer.headers.update(allow)
            return authorizer
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        result = await run_in_threadpool(handler, event, LocalContext())
        payload = result.get("body", "")
        content = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode()
        headers = {**{k: str(v) for k, v in (result.get("headers") or {}).items()}, **allow}
        return Response(content, status_code=int(result.get("statusCode", 200)), headers=headers)

    return endpoint


def job_routes(
    handler: LambdaHandler, origins: tuple[str, ...], tokens: LocalTokens, iam: IamAuthorizer
) -> list[Route]:
    """``GET|DELETE /jobs/{jobId}`` (the signer's authorizer: an optional JWT locally) and their
    ``/healthcheck/jobs/{jobId}`` twins (AWS_IAM), all to the jobs function."""
    return [
        Route(
            template,
            api_route(handler, origins, ("GET", "DELETE"), template=template, **authorizer),  # type: ignore[arg-type]
            methods=list(ANY_METHOD),
        )
        for template, authorizer in (
            ("/jobs/{jobId}", {"tokens": tokens}),
            ("/healthcheck/jobs/{jobId}", {"iam": iam}),
        )
    ]
