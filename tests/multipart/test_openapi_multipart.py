"""docs/signer-openapi.yaml covers every multipart route (the same list the API and the local
gateway serve), and real answers of each validate against it."""

from __future__ import annotations

from typing import Any

import jsonschema
import yaml

from infra import policies
from lambda_src.sign_uploads import jobs_handler
from tests.multipart.conftest import MIB, Api, put
from tests.signer.support import REPO_ROOT

SPEC = yaml.safe_load((REPO_ROOT / "docs" / "signer-openapi.yaml").read_text())


def check(path: str, method: str, status: int, body: Any) -> None:
    responses = SPEC["paths"][path][method.lower()]["responses"]
    entry = responses.get(str(status)) or responses[f"{str(status)[0]}XX"]
    schema = entry["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": SPEC["components"]}).validate(body)


def test_every_route_the_api_serves_is_in_the_document() -> None:
    documented = {f"{method.upper()} {path}" for path, item in SPEC["paths"].items() for method in item
                  if method in ("get", "post", "delete")}  # fmt: skip
    assert set(policies.MULTIPART_ROUTE_KEYS) <= documented
    assert {"POST /", "POST /healthcheck", *jobs_handler.ROUTES} | set(
        policies.MULTIPART_ROUTE_KEYS
    ) == documented
    assert any("plan" in path for path in SPEC["paths"])


def test_real_answers_validate_against_the_document(api: Api) -> None:
    status, created = api(
        "POST", "/s3/multipart", body={"type": "video/mp4", "metadata": {"path": "a.mp4", "size": 5 * MIB}}
    )
    check("/s3/multipart", "POST", status, created)
    key, upload_id = created["key"], created["uploadId"]
    status, part = api("GET", f"/s3/multipart/{upload_id}/1", {"key": key})
    check("/s3/multipart/{uploadId}/{partNumber}", "GET", status, part)
    put(part["url"], b"z" * 5 * MIB)
    status, batch = api("GET", f"/s3/multipart/{upload_id}/batch", {"key": key, "partNumbers": "1"})
    check("/s3/multipart/{uploadId}/batch", "GET", status, batch)
    status, listed = api("GET", f"/s3/multipart/{upload_id}", {"key": key})
    check("/s3/multipart/{uploadId}", "GET", status, listed)
    status, done = api("POST", f"/s3/multipart/{upload_id}/complete", {"key": key})
    check("/s3/multipart/{uploadId}/complete", "POST", status, done)
    status, plan = api("POST", "/s3/multipart/plan", body={"path": "b.mov", "size": 12 * MIB})
    check("/s3/multipart/plan", "POST", status, plan)
    status, aborted = api("DELETE", f"/s3/multipart/{plan['uploadId']}", {"key": plan["key"]})
    check("/s3/multipart/{uploadId}", "DELETE", status, aborted)
    status, signed = api(
        "POST", "/s3/sign", body={"method": "POST", "key": "x", "path": "c.mp4", "size": 9 * MIB}
    )
    check("/s3/sign", "POST", status, signed)
    for method, path, query, body, documented in (
        ("POST", "/s3/multipart", None, {"metadata": {"path": "a.exe", "size": 1}}, "/s3/multipart"),
        ("GET", "/s3/multipart/u/0", {"key": key}, None, "/s3/multipart/{uploadId}/{partNumber}"),
        ("GET", "/s3/multipart/u", {"key": "elsewhere/a.mp4"}, None, "/s3/multipart/{uploadId}"),
        ("POST", "/s3/sign", None, {"method": "DELETE", "key": key, "path": "a.mp4", "size": 1}, "/s3/sign"),
    ):
        status, refused = api(method, path, query, body)
        assert 400 <= status < 500
        check(documented, method, status, refused)


def test_a_wrong_answer_is_caught() -> None:
    import pytest

    with pytest.raises(jsonschema.ValidationError):
        check("/s3/multipart", "POST", 200, {"key": "k", "uploadId": "u"})
    with pytest.raises(jsonschema.ValidationError):
        check("/s3/multipart", "POST", 400, {"error": "a string", "code": "validation_failed"})


def test_every_error_code_the_routes_raise_is_documented() -> None:
    """Codes are written as literals in the modules (RequestError(..., "code", ...) and
    invalid(..., status, "code")): each one is in the document's enum, and the enum lists no code
    that nothing raises (POST /'s shared codes aside)."""
    import re

    folder = REPO_ROOT / "lambda_src" / "sign_uploads"
    source = "".join(
        (folder / name).read_text() for name in ("multipart.py", "multipart_core.py", "sign_request.py")
    )
    raised = set(re.findall(r'RequestError\(\s*\d{3},\s*"([a-z0-9_]+)"', source))
    raised |= set(re.findall(r'\d{3},\s*"([a-z0-9_]+)"\)', source))
    raised |= set(re.findall(r'code="([a-z0-9_]+)"', source))
    documented = set(SPEC["components"]["schemas"]["MultipartError"]["properties"]["code"]["enum"])
    shared = {"validation_failed", "too_many_files", "job_busy", "reserved_job_id", "payload_too_large"}
    assert raised, "the pattern found nothing"
    assert raised <= documented, raised - documented
    assert documented - raised <= shared, documented - raised - shared
