"""Property-based fuzzing of the handler: whatever arrives, the answer keeps the contract.

Never a 5xx, never an exception, never a key outside the job's prefix, every error in the JSON
error shape. Derandomized and without an example database so CI runs the same examples every time.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_src.sign_uploads import handler, media

from .support import make_event

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
safe_segment = st.text(alphabet="abXY09._-", min_size=1, max_size=8)
nasty_segment = st.sampled_from([".", "..", "", "x y", "\\", "ä", "%2e", "\x00", "~", "/", "a\nb"])
segment = st.one_of(safe_segment, safe_segment, safe_segment, nasty_segment)
extension = st.sampled_from([*media.MEDIA_TYPES, ".exe", ".M3U8", "", ".html"])
paths = st.builds(
    lambda segs, ext: "/".join(segs) + ext, st.lists(segment, min_size=1, max_size=4), extension
)
sizes = (
    st.integers(min_value=1, max_value=10**7) | st.integers(min_value=-2, max_value=6 * 1024**3) | json_values
)
content_types = st.sampled_from([*media.MEDIA_TYPES.values(), "text/html", "VIDEO/MP4"]) | json_values
well_formed_entries = st.fixed_dictionaries(
    {"path": paths, "size": sizes}, optional={"contentType": content_types}
)
odd_entries = st.fixed_dictionaries(
    {"path": paths | json_values}, optional={"size": sizes, "contentType": content_types, "acl": json_values}
)
file_entries = st.one_of(well_formed_entries, well_formed_entries, well_formed_entries, odd_entries)
bodies = st.fixed_dictionaries(
    {"files": st.lists(file_entries, min_size=1, max_size=5) | json_values},
    optional={"jobId": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True) | json_values},
) | st.dictionaries(st.sampled_from(["files", "jobId", "bucket"]), json_values, max_size=3)
claims = st.none() | st.fixed_dictionaries({}, optional={"sub": st.text(max_size=40) | json_values})


def assert_keeps_contract(response: Any) -> dict[str, Any]:
    assert isinstance(response, dict)
    assert response["statusCode"] in (200, 400, 401, 405, 413)
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    body = json.loads(response["body"])
    if response["statusCode"] != 200:
        error = body["error"]
        assert set(error) == {"code", "message", "details"}
        assert isinstance(error["code"], str) and isinstance(error["message"], str)
        assert all(set(d) == {"field", "problem"} for d in error["details"])
        return body
    prefix = body["prefix"]
    assert prefix.startswith("videos/") and prefix.endswith("/")
    for upload in body["uploads"]:
        key = upload["key"]
        assert key == prefix + upload["path"]
        assert not ({"", ".", ".."} & set(key.split("/")))
        assert upload["url"].split("?")[0].endswith("/" + key)
    return body


@FUZZ
@given(body=bodies, claims=claims, base64_encoded=st.booleans())
def test_structured_bodies_never_escape_the_prefix_or_fail(
    body: dict[str, Any], claims: dict[str, Any] | None, base64_encoded: bool
) -> None:
    assert_keeps_contract(
        handler.handler(make_event(body, claims=claims, base64_encoded=base64_encoded), None)
    )


@FUZZ
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_bodies_never_fail(text: str) -> None:
    assert_keeps_contract(handler.handler(make_event(text), None))


@FUZZ
@given(event=json_values, method=st.sampled_from(["POST", "GET", None, 5]))
def test_arbitrary_events_never_fail(event: Any, method: Any) -> None:
    if isinstance(event, dict) and method is not None:
        event["requestContext"] = {"http": {"method": method}}
    assert_keeps_contract(handler.handler(event, None))


@pytest.fixture(autouse=True)
def _quiet_logs(capsys: pytest.CaptureFixture[str]) -> None:
    """The handler logs one line per call; hundreds of examples need not reach the terminal."""
