"""Property-based fuzzing of the handler: whatever arrives, the answer keeps the contract.

Never a 5xx, never an exception, never a key outside the job's prefix, every error in the JSON
error shape. The first three tests are dominated by invalid input (almost every example is a 400);
``test_valid_requests_sign_every_file_at_prefix_plus_path`` builds only valid requests, with and
without a JWT subject, so the key layout itself is exercised on every example. Derandomized and
without an example database so CI runs the same examples every time.
"""

from __future__ import annotations

import hmac
import json
import re
import string
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lambda_src.sign_uploads import config, contract, handler, keys, media

from .support import BUCKET, DEPLOYED_ENV, PUBLIC_BASE_URL, REGION, SUBJECT_KEY, make_event

FUZZ = settings(
    max_examples=150,
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
    assert response["statusCode"] in (200, 400, 401, 403, 405, 413)
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


# --- valid requests only: the key layout on every example ----------------------------------------

VALID = settings(FUZZ, max_examples=100)
SAFE_CHARS = string.ascii_letters + string.digits + "._-"
MAX_FILES_PER_EXAMPLE = 8
ABSENT = object()  # a field left out of the request (as opposed to sent as null)

# Folder and file-name segments: the whole alphabet, plus a dot-heavy alphabet so that names such
# as '...', '.a' or 'a..b' (valid: only a segment that *is* '.' or '..' is refused) come up often.
# A '.' or '..' draw becomes '.-' / '..-' instead of being filtered out: no discarded examples.
safe_segments = st.one_of(
    st.text(alphabet=SAFE_CHARS, min_size=1, max_size=20),
    st.text(alphabet="._-a", min_size=1, max_size=6),
).map(lambda segment: segment + "-" if segment in (".", "..") else segment)


def any_case(text: str) -> st.SearchStrategy[str]:
    """``text`` with every letter independently upper- or lower-cased (one bit per character,
    drawn as a single integer: cheaper than a list of booleans)."""
    return st.integers(0, 2 ** len(text) - 1).map(
        lambda bits: "".join(c.upper() if bits >> i & 1 else c for i, c in enumerate(text))
    )


@st.composite
def safe_paths(draw: st.DrawFn) -> str:
    """A valid upload path: 0..4 folders, a name with an allowed (lower-case) extension, at most
    ``contract.MAX_PATH_CHARS`` characters; about one in four is padded to exactly that limit."""
    folders = draw(st.lists(safe_segments, max_size=4))  # at most 4 * 21 + 20 + 5 = 109 chars
    extension = draw(st.sampled_from(sorted(media.MEDIA_TYPES)))  # lower case only
    stem = draw(safe_segments)
    path = "/".join([*folders, stem + extension])
    if draw(st.integers(0, 3)) == 0:
        missing = contract.MAX_PATH_CHARS - len(path)
        filler = draw(st.text(alphabet=SAFE_CHARS, min_size=1, max_size=8))  # repeated: cheap to draw
        stem += (filler * missing)[:missing]
        path = "/".join([*folders, stem + extension])
    assert contract.path_problem_of(path) is None, path  # the generator itself stays valid
    return path


@st.composite
def valid_file_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    paths = draw(st.lists(safe_paths(), min_size=1, max_size=MAX_FILES_PER_EXAMPLE, unique=True))
    entries = []
    for path in paths:
        entry: dict[str, Any] = {"path": path, "size": draw(st.integers(1, config.DEFAULT_MAX_FILE_BYTES))}
        canonical = media.MEDIA_TYPES[media.extension_of(path)]
        content_type = draw(st.one_of(st.just(ABSENT), st.none(), any_case(canonical)))
        if content_type is not ABSENT:
            entry["contentType"] = content_type
        entries.append(entry)
    return entries


JOB_ID_TAIL = string.ascii_letters + string.digits + "_-"
valid_job_ids = st.one_of(
    st.just(ABSENT),
    st.none(),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True),  # mostly short
    st.builds(  # the longest jobId, 64 characters
        str.__add__,
        st.sampled_from(string.ascii_letters + string.digits),
        st.text(alphabet=JOB_ID_TAIL, min_size=63, max_size=63),
    ),
)
# Any non-empty text is a subject: short (hypothesis favours those), UUIDs (Cognito) and long.
present_subjects = st.one_of(
    st.text(min_size=1, max_size=16), st.uuids().map(str), st.text(min_size=32, max_size=200)
)
# About half with a subject. None: no authorizer at all; {"sub": ""} is not a subject (the
# anonymous layout applies).
subjects = st.sampled_from(["sub", "sub", "none", "empty"]).flatmap(
    lambda kind: present_subjects if kind == "sub" else st.just(None if kind == "none" else "")
)
# Valid PREFIX values (config._PREFIX), the default first: the layout must hold for each.
prefixes = st.sampled_from([config.DEFAULT_PREFIX, "media/v1_2/", "a/b_c/d-e/"])


def documented_subject_hash(sub: str) -> str:
    """H(sub) exactly as docs/signer.md states it, computed independently of the handler."""
    return hmac.new(SUBJECT_KEY, sub.encode(), "sha256").hexdigest()[:32]


def expected_prefix(prefix: str, sub: str | None, job_id: str) -> str:
    if not sub:
        return f"{prefix}{job_id}/"
    digest = documented_subject_hash(sub)
    assert digest == keys.subject_hash(SUBJECT_KEY, sub)
    assert re.fullmatch(r"[0-9a-f]{32}", digest)
    return f"{prefix}sub.{digest}/{job_id}/"


def sign_valid(body: dict[str, Any], sub: str | None, prefix: str) -> dict[str, Any]:
    environ = {**DEPLOYED_ENV, "PREFIX": prefix}
    claims = None if sub is None else {"sub": sub}
    response = handler.handler(make_event(body, claims=claims), None, environ=environ)
    event(f"status: {response['statusCode']}")
    assert response["statusCode"] == 200, response["body"]
    return dict(json.loads(response["body"]))


@VALID
@given(
    sub=subjects,
    entries=valid_file_lists(),
    job_id=valid_job_ids,
    other_sub=present_subjects,
    prefix=prefixes,
)
def test_valid_requests_sign_every_file_at_prefix_plus_path(
    entries: list[dict[str, Any]], job_id: Any, sub: str | None, other_sub: str, prefix: str
) -> None:
    event("sub: present" if sub else "sub: absent" if sub is None else "sub: empty string (anonymous)")
    event("jobId: " + ("absent" if job_id is ABSENT else "null" if job_id is None else "given"))
    event(f"files: {len(entries)}")
    if any(len(entry["path"]) == contract.MAX_PATH_CHARS for entry in entries):
        event("a path of exactly 256 chars")
    request: dict[str, Any] = {"files": entries}
    if job_id is not ABSENT:
        request["jobId"] = job_id

    body = sign_valid(request, sub, prefix)

    if job_id is None or job_id is ABSENT:
        assert re.fullmatch(r"[0-9a-f]{32}", body["jobId"])
    else:
        assert body["jobId"] == job_id
    assert body["prefix"] == expected_prefix(prefix, sub, body["jobId"])
    assert [upload["path"] for upload in body["uploads"]] == [entry["path"] for entry in entries]
    for entry, upload in zip(entries, body["uploads"], strict=True):
        key = upload["key"]
        assert key == body["prefix"] + entry["path"]
        assert key.startswith(prefix)
        assert not {"", ".", ".."} & set(key.split("/")) and "//" not in key
        url = urlsplit(upload["url"])
        assert url.scheme == "https" and url.netloc == f"{BUCKET}.s3.{REGION}.amazonaws.com"
        assert unquote(url.path).endswith(key) and unquote(url.path) == "/" + key
        assert upload["method"] == "PUT"
        create_only = {} if entry["path"].endswith(".m3u8") else {"If-None-Match": "*"}
        assert upload["headers"] == {
            "Content-Type": media.MEDIA_TYPES[media.extension_of(entry["path"])],
            "Content-Length": str(entry["size"]),
            "Cache-Control": media.cache_control_for(entry["path"]),
            "Content-Encoding": "identity",
            **create_only,
        }
        assert upload["publicUrl"] == f"{PUBLIC_BASE_URL}/{key}"

    # Another subject (never equal to this one), same jobId: always another folder, including
    # against the anonymous layout ('sub.' has a '.', which no jobId can).
    if other_sub == sub:
        other_sub += "x"
    other = sign_valid({"jobId": body["jobId"], "files": entries[:1]}, other_sub, prefix)
    assert other["prefix"] == expected_prefix(prefix, other_sub, body["jobId"])
    assert other["prefix"] != body["prefix"]
