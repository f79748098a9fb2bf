"""The signer's OpenAPI document against the running local stack, as schemathesis would drive it:
property-generated requests (valid ones and near misses) over HTTP through the API Gateway
emulation, every answer checked against the document: valid -> 200, invalid -> a documented 4xx
with the documented body, other methods -> API Gateway's 404."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings

from local.stack import LocalStack
from tests.signer.test_openapi_properties import operation, requests, valid_by_the_document, validator

OVER_HTTP = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
ROUTE = "POST /"


def check_over_http(stack: LocalStack, request: dict[str, Any]) -> None:
    schema_ref = operation(ROUTE)["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    response = httpx.post(
        stack.signer_url, content=json.dumps(request), headers={"Content-Type": "application/json"}
    )
    valid = valid_by_the_document(request, schema_ref)
    within_stack_limit = len(request.get("files") or []) <= stack.config.signer.max_files
    assert response.headers["content-type"].startswith("application/json")
    if valid and within_stack_limit:
        assert response.status_code == 200, (request, response.text[:500])
    else:
        assert 400 <= response.status_code < 500, (request, response.text[:500])
    documented = operation(ROUTE)["responses"]
    assert str(response.status_code) in documented, response.status_code
    schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]["$ref"]
    validator(schema).validate(response.json())


@OVER_HTTP
@given(request=requests("#/components/schemas/UploadRequest"))
@example(request={"files": [{"path": "a.ts", "size": 1.0}]})
@example(request={"files": [{"path": "notes.txt", "size": 1}]})
@example(request={"files": [{"path": "a.ts", "size": 1}, {"path": "a.ts", "size": 2}]})
@example(request={"files": [{"path": "master.M3U8", "size": 1}]})
@example(request={"jobId": "healthcheck-x", "files": [{"path": "a.ts", "size": 1}]})
def test_the_local_stack_answers_exactly_what_the_document_says(
    stack: LocalStack, request: dict[str, Any]
) -> None:
    check_over_http(stack, request)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_get_api_gateways_404_as_documented(stack: LocalStack, method: str) -> None:
    response = httpx.request(method, stack.signer_url)
    assert response.status_code == 404 and response.json() == {"message": "Not Found"}
