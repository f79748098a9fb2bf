"""The OpenAPI document states exactly what the handler accepts.

Requests are generated from the document's own request schemas (a strategy derived from the schema
below: types, patterns, enums, limits, required/optional fields), then some are mutated into near
misses (upper-case extension, fractional or out-of-range size, duplicate path, mismatched
contentType, unknown field, reserved jobId...). Each request is classified by the document alone:
the JSON Schema, plus the three rules its text states because JSON Schema cannot (paths unique per
request: ``x-unique-by: path``; body at most 256 KiB; no duplicate keys or NaN, which generated
data never has). Then:

- every valid request gets 200, and every invalid one a 4xx JSON error;
- every response validates against the schema the document gives for that operation and status.

Patterns are checked with ECMA-262's ``$`` (end of input), the dialect OpenAPI 3.1 specifies;
Python's ``$`` would also match before a trailing newline.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from lambda_src.sign_uploads import config, contract, handler

from .support import DEPLOYED_ENV, HEALTH_CHECK_ARN, HEALTH_CHECK_ROLE, REPO_ROOT, make_event

SPEC = yaml.safe_load((REPO_ROOT / "docs" / "signer-openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
LIST_CAP = 6  # generated lists stay short; the limits themselves are explicit examples
ENV = {**DEPLOYED_ENV, "MAX_FILES": str(config.MAX_FILES_LIMIT), "HEALTH_CHECK_ROLE_NAME": HEALTH_CHECK_ROLE}
PROPERTIES = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if isinstance(instance, str):
        python = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern
        if not re.search(python, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


EcmaValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})


def validator(ref: str) -> Any:
    return EcmaValidator({"$ref": ref, "components": SPEC["components"]})


def operation(route: str) -> dict[str, Any]:
    return dict(SPEC["paths"][route.split(" ", 1)[1]]["post"])


# --- a strategy derived from a schema --------------------------------------------------------------


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The subset of JSON Schema the document uses for requests (allOf/if/then/not are left to
    the classification: they only narrow what is valid)."""
    if "$ref" in schema:
        return from_schema(SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": one}) for one in kind])
    if kind == "null":
        return st.none()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength", 10_000)
        if "pattern" not in schema:
            return st.text(min_size=low, max_size=high)
        compiled = re.compile(schema["pattern"])
        return st.from_regex(compiled, fullmatch=True).filter(
            lambda s: low <= len(s) <= high and bool(compiled.search(s))
        )
    if kind == "array":
        high = min(schema.get("maxItems", LIST_CAP), LIST_CAP)
        return st.lists(from_schema(schema["items"]), min_size=schema.get("minItems", 0), max_size=high)
    if kind == "object":
        properties = schema.get("properties", {})
        required = {name: from_schema(properties[name]) for name in schema.get("required", [])}
        optional = {name: from_schema(sub) for name, sub in properties.items() if name not in required}
        return st.fixed_dictionaries(required, optional=optional)
    raise NotImplementedError(schema)


# --- near misses -----------------------------------------------------------------------------------


def _mutations(request: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    def edit(change: Any) -> dict[str, Any]:
        mutated = copy.deepcopy(request)
        change(mutated)
        return mutated

    first = lambda r: r["files"][0]  # noqa: E731
    return st.sampled_from(
        [
            edit(lambda r: first(r).update(path=first(r)["path"].upper())),  # upper-case extension
            edit(lambda r: first(r).update(path=first(r)["path"] + ".exe")),  # not an allowed type
            edit(lambda r: first(r).update(path=first(r)["path"].rsplit(".", 1)[0])),  # no extension
            edit(lambda r: first(r).update(size=1.0)),  # a JSON Schema integer: valid
            edit(lambda r: first(r).update(size=float(first(r)["size"]))),  # also an integer
            edit(lambda r: first(r).update(size=first(r)["size"] + 0.5)),
            edit(lambda r: first(r).update(size=0)),
            edit(lambda r: first(r).update(size=config.S3_SINGLE_PUT_LIMIT_BYTES + 1)),
            edit(lambda r: first(r).update(size=True)),
            edit(lambda r: first(r).update(contentType="text/html")),
            edit(lambda r: first(r).update(contentType="video/mp2t")),  # matches only a .ts
            edit(lambda r: first(r).update(contentType="image/png; charset=utf-8")),
            edit(lambda r: r["files"].append(dict(first(r)))),  # an identical entry (uniqueItems)
            edit(lambda r: r["files"].append({**first(r), "size": 7})),  # same path, other entry
            edit(lambda r: first(r).update(acl="public-read")),
            edit(lambda r: r.update(bucket="other")),
            edit(lambda r: first(r).pop("size")),
            edit(lambda r: r.update(files=[])),
            edit(lambda r: r.update(jobId="healthcheck-1")),
            edit(lambda r: r.update(jobId="clip-1")),
            edit(lambda r: r.update(jobId="-bad")),
            edit(lambda r: r.update(jobId="x" * 65)),
            edit(lambda r: r.pop("jobId", None)),
        ]
    )


def requests(schema_ref: str) -> st.SearchStrategy[dict[str, Any]]:
    generated = from_schema({"$ref": schema_ref})
    return st.one_of(generated, generated.flatmap(_mutations))


# --- classification by the document, and the properties ---------------------------------------


def valid_by_the_document(request: dict[str, Any], schema_ref: str) -> bool:
    if not validator(schema_ref).is_valid(request):
        return False
    paths = [entry["path"] for entry in request["files"]]
    unique = len(set(paths)) == len(paths)  # x-unique-by: path
    return unique and len(json.dumps(request)) <= contract.MAX_BODY_BYTES


def check(route: str, request: dict[str, Any], claims: dict[str, str] | None = None) -> None:
    schema_ref = operation(route)["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    user_arn = HEALTH_CHECK_ARN if route == "POST /healthcheck" else None
    response = handler.handler(make_event(request, claims=claims, route=route, user_arn=user_arn), None, ENV)
    status = response["statusCode"]
    valid = valid_by_the_document(request, schema_ref)
    if currently_in_test_context():
        event(f"{route}: {'valid' if valid else 'invalid'} -> {status}")
    assert response["headers"]["Content-Type"] == "application/json"
    if valid:
        assert status == 200, (request, response["body"][:500])
    else:
        assert 400 <= status < 500, (request, response["body"][:500])
    documented = operation(route)["responses"]
    assert str(status) in documented, status
    schema = documented[str(status)]["content"]["application/json"]["schema"]["$ref"]
    validator(schema).validate(json.loads(response["body"]))


@pytest.fixture(autouse=True)
def _quiet_logs(capsys: pytest.CaptureFixture[str]) -> None:
    """One log line per call: hundreds of examples need not reach the terminal."""


REVIEW_FINDINGS = [  # once schema-valid yet refused; now schema-invalid or accepted
    {"files": [{"path": "a.ts", "size": 1.0}]},  # accepted: 1.0 is a JSON Schema integer
    {"files": [{"path": "notes.txt", "size": 1}]},  # schema-invalid: the path pattern
    {"files": [{"path": "a.ts", "size": 1}, {"path": "a.ts", "size": 1}]},  # invalid: uniqueItems
    {"files": [{"path": "a.ts", "size": 1}, {"path": "a.ts", "size": 2}]},  # invalid: x-unique-by
    {"files": [{"path": "a.ts", "size": 1, "contentType": "image/png"}]},  # invalid: the allOf
]


@pytest.mark.parametrize("request_body", REVIEW_FINDINGS)
def test_the_reviews_findings_are_now_schema_invalid_or_accepted(request_body: dict[str, Any]) -> None:
    check("POST /", request_body)


def test_the_review_findings_are_classified_as_intended() -> None:
    ref = "#/components/schemas/UploadRequest"
    assert validator(ref).is_valid(REVIEW_FINDINGS[0]) and valid_by_the_document(REVIEW_FINDINGS[0], ref)
    assert not validator(ref).is_valid(REVIEW_FINDINGS[1])
    assert not validator(ref).is_valid(REVIEW_FINDINGS[2])
    assert validator(ref).is_valid(REVIEW_FINDINGS[3]) and not valid_by_the_document(REVIEW_FINDINGS[3], ref)
    assert not validator(ref).is_valid(REVIEW_FINDINGS[4])


@PROPERTIES
@given(request=requests("#/components/schemas/UploadRequest"), with_subject=st.booleans())
@example(
    request={"files": [{"path": f"{i}.ts", "size": 1} for i in range(config.MAX_FILES_LIMIT)]},
    with_subject=True,
)
@example(
    request={"files": [{"path": f"{i}.ts", "size": 1} for i in range(config.MAX_FILES_LIMIT + 1)]},
    with_subject=False,
)
@example(
    request={"jobId": None, "files": [{"path": "a" * 253 + ".ts", "size": 5_368_709_120}]}, with_subject=False
)
def test_the_public_route_accepts_exactly_what_the_document_says(
    request: dict[str, Any], with_subject: bool
) -> None:
    check("POST /", request, {"sub": "user-1"} if with_subject else None)


@PROPERTIES
@given(request=requests("#/components/schemas/HealthCheckRequest"))
@example(request={"jobId": "healthcheck-" + "x" * 52, "files": [{"path": "probe.m3u8", "size": 64}]})
def test_the_health_check_route_accepts_exactly_what_the_document_says(request: dict[str, Any]) -> None:
    check("POST /healthcheck", request)


def test_the_ecma_dollar_is_end_of_input() -> None:
    ref = "#/components/schemas/UploadRequest"
    assert not validator(ref).is_valid({"files": [{"path": "a.ts\n", "size": 1}]})
    assert jsonschema.Draft202012Validator({"pattern": "^a$"}).is_valid("a\n")  # why the extension
