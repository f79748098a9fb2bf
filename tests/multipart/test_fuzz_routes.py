"""Any event on the /s3/... routes answers in the contract's shape: a JSON body, never a stack
trace or a 500, and every refusal a 4xx whose body holds ``error`` and ``code``."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_src.sign_uploads import handler
from tests.multipart.conftest import Api

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
paths = st.sampled_from(
    ["/s3/multipart", "/s3/multipart/plan", "/s3/sign", "/s3/multipart/u1/1", "/s3/multipart/u1/batch",
     "/s3/multipart/u1", "/s3/multipart/u1/complete", "/s3", "/s3/x/y/z/w", "/s3/multipart/%00/0"]
)  # fmt: skip
fields = st.fixed_dictionaries(
    {},
    optional={
        "jobId": json_values | st.sampled_from(["j1", "healthcheck-x"]),
        "path": json_values | st.sampled_from(["a.mp4", "../a.mp4", "a.exe"]),
        "size": json_values | st.integers(min_value=-1, max_value=10 * 1024**4),
        "method": st.sampled_from(["PUT", "POST", "GET", "DELETE", "HEAD"]) | json_values,
        "key": json_values | st.just("videos/j1/a.mp4"),
        "uploadId": json_values,
        "partNumber": json_values | st.integers(min_value=-1, max_value=10_002),
        "metadata": json_values,
        "parts": json_values,
        "partSize": json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
    path=paths,
    query=st.dictionaries(st.sampled_from(["key", "partNumbers", "x"]), st.text(max_size=20), max_size=3),
    body=fields | json_values,
    raw=st.booleans(),
)
def test_arbitrary_requests_answer_in_the_contract_shape(
    api: Api, method: str, path: str, query: dict[str, str], body: Any, raw: bool
) -> None:
    from urllib.parse import urlencode

    event = {
        "rawPath": path,
        "routeKey": f"{method} {path}",
        "rawQueryString": urlencode(query),
        "requestContext": {"http": {"method": method}},
        "body": (str(body) if raw else json.dumps(body)) if body is not None else None,
    }
    reply = handler.handler(event, None, api.environ)
    document = json.loads(reply["body"])
    assert reply["statusCode"] < 500 or reply["statusCode"] == 503, document
    if reply["statusCode"] >= 400:
        assert document["error"] and document["code"] == document["error"]["code"]
