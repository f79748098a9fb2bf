"""API Gateway's view of the multipart routes (``infra.policies.MULTIPART_ROUTE_KEYS``), locally.

The same route keys as the cloud API: a request matches one (literal segments before path
variables, as API Gateway picks the most specific route), the event carries the route key and
``pathParameters`` as API Gateway's does, and it goes to the very signer handler. Any other method
or path under ``/s3/`` gets API Gateway's own 404; CORS is answered as for ``POST /``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from infra import policies
from local.gateway import (
    MAX_PAYLOAD_BYTES,
    LambdaHandler,
    LocalContext,
    api_gateway_event,
    cors_headers,
    read_capped,
)

Route = tuple[str, str, re.Pattern[str], int]  # (route key, method, path pattern, literal segments)


def compiled_routes() -> list[Route]:
    routes = []
    for key in policies.MULTIPART_ROUTE_KEYS:
        method, template = key.split(" ", 1)
        segments = template.strip("/").split("/")
        pattern = "/" + "/".join(
            f"(?P<{s[1:-1]}>[^/]+)" if s.startswith("{") else re.escape(s) for s in segments
        )
        literal = sum(not s.startswith("{") for s in segments)
        routes.append((key, method, re.compile(pattern), literal))
    # The most specific first: more literal segments win over a path variable.
    return sorted(routes, key=lambda route: -route[3])


def match(routes: list[Route], method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for key, route_method, pattern, _ in routes:
        found = pattern.fullmatch(path)
        if found is not None and route_method == method:
            return key, found.groupdict()
    return None


def multipart_endpoint(handler: LambdaHandler, origins: tuple[str, ...]) -> Callable[[Request], Any]:
    cors = policies.api_cors(origins)
    routes = compiled_routes()

    async def endpoint(request: Request) -> Response:
        allow = cors_headers(request, origins)
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
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
        found = match(routes, request.method, request.url.path)
        if found is None:
            return JSONResponse({"message": "Not Found"}, status_code=404, headers=allow)
        body = await read_capped(request, MAX_PAYLOAD_BYTES)
        if body is None:
            return JSONResponse({"message": "Request Entity Too Large"}, status_code=413, headers=allow)
        route_key, parameters = found
        event = api_gateway_event(request, body)
        event["routeKey"] = event["requestContext"]["routeKey"] = route_key
        if parameters:
            event["pathParameters"] = parameters
        query = parse_qsl(request.url.query, keep_blank_values=True)
        if query:
            event["queryStringParameters"] = dict(query)
        if not body:
            event.pop("body", None)
        result = await run_in_threadpool(handler, event, LocalContext())
        payload = result.get("body", "")
        content = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode()
        headers = {**{k: str(v) for k, v in (result.get("headers") or {}).items()}, **allow}
        return Response(content, status_code=int(result.get("statusCode", 200)), headers=headers)

    return endpoint
