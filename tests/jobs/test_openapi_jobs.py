"""docs/signer-openapi.yaml documents the job routes as they answer: real answers validate."""

from __future__ import annotations

from typing import Any

import jsonschema
import yaml

from lambda_src.sign_uploads import jobs_handler
from tests.jobs.test_lifecycle import PAYLOADS, SUBJECT, api, sign, upload
from tests.signer.support import REPO_ROOT

SPEC = yaml.safe_load((REPO_ROOT / "docs" / "signer-openapi.yaml").read_text())


def check(route: str, status: int, body: Any) -> None:
    method, path = route.split(" ", 1)
    schema = SPEC["paths"][path][method.lower()]["responses"][str(status)]["content"]["application/json"][
        "schema"
    ]
    jsonschema.Draft202012Validator({**schema, "components": SPEC["components"]}).validate(body)


def test_status_deletion_and_refusals_validate_against_the_document(cloud: dict[str, Any]) -> None:
    signed = sign(PAYLOADS, SUBJECT)
    upload(signed, PAYLOADS, cloud, only={"master.m3u8"})
    status, body = api(jobs_handler.STATUS_ROUTE, signed["jobId"], cloud, SUBJECT)
    assert (status, body["status"]) == (200, "uploading")
    check(jobs_handler.STATUS_ROUTE, status, body)
    status, body = api(jobs_handler.DELETE_ROUTE, signed["jobId"], cloud, SUBJECT)
    assert status == 200
    check(jobs_handler.DELETE_ROUTE, status, body)
    for job_id, expected in (("no-such-job", 404), ("bad id!", 400)):
        status, body = api(jobs_handler.STATUS_ROUTE, job_id, cloud, SUBJECT)
        assert status == expected
        check(jobs_handler.STATUS_ROUTE, status, body)
    try:
        check(jobs_handler.STATUS_ROUTE, 200, {"jobId": "x", "status": "uploaded"})
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("the document must refuse a status outside the contract's")
