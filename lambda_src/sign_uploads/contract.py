"""The request half of the upload contract: an API Gateway event in, an :class:`UploadRequest` out.

Every rule a client can break is here. Problems are collected as values (field + problem) and
raised once as a :class:`RequestError`, which the handler turns into the JSON error response.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import TYPE_CHECKING, Any, NamedTuple

# A namespace package from the repository root (tests, bench, and mypy's view); top-level modules
# at the zip root, where the Lambda runtime imports ``handler``.
if TYPE_CHECKING or __package__:
    from . import media
    from .keys import HEALTH_CHECK_JOB_PREFIX
else:
    import media
    from keys import HEALTH_CHECK_JOB_PREFIX

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .config import Config

MAX_BODY_BYTES = 256 * 1024
MAX_PATH_CHARS = 256
MAX_DETAILS = 100
JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_JOB_ID = re.compile(JOB_ID_PATTERN[1:-1])
_PATH_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/")
_TOP_FIELDS = frozenset({"jobId", "files"})
_FILE_FIELDS = frozenset({"path", "contentType", "size"})
# The second route of the same HTTP API: AWS_IAM authorization, for the synthetic health check only.
HEALTH_CHECK_ROUTE = "POST /healthcheck"


class Problem(NamedTuple):
    field: str
    problem: str


class RequestError(Exception):
    """A request the contract refuses: HTTP status, stable code, human message, per-field problems."""

    def __init__(self, status: int, code: str, message: str, details: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)


class FileSpec(NamedTuple):
    path: str
    content_type: str
    size: int


class UploadRequest(NamedTuple):
    job_id: str | None
    subject: str | None
    files: list[FileSpec]


def parse_event(event: object, config: Config) -> UploadRequest:
    """Method, then authentication, then body size and JSON, then the fields: cheapest refusal first.

    On the health-check route the caller must be the health check's role (IAM), there is never a
    subject (its keys use the anonymous layout, JWT or not) and only reserved jobIds are signed;
    everywhere else a reserved jobId is refused."""
    event = _mapping(event)
    context = _mapping(event.get("requestContext"))
    if _mapping(context.get("http")).get("method") != "POST":
        raise RequestError(405, "method_not_allowed", "Only POST is supported.")
    health_check = event.get("routeKey") == HEALTH_CHECK_ROUTE
    if health_check:
        if not _is_health_check_role(context, config.health_check_role_name):
            raise RequestError(403, "forbidden", "Only the health check may use this route.")
        subject = None
    else:
        subject = _subject(context)
        if config.auth_required and subject is None:
            raise RequestError(401, "unauthorized", "A valid bearer token is required.")
    return _validate(_json_body(event), subject, config, health_check=health_check)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def is_health_check_caller(context: dict[str, Any], role_name: str | None) -> bool:
    """Whether an event's ``requestContext`` is the health check's IAM role (every IAM route)."""
    return _is_health_check_role(context, role_name)


def subject_of(context: dict[str, Any]) -> str | None:
    """The JWT ``sub`` of an event's ``requestContext`` (None: no token, or no subject in it)."""
    return _subject(context)


def _is_health_check_role(context: dict[str, Any], role_name: str | None) -> bool:
    """An IAM-authorized caller whose ``userArn`` is the assumed role ``role_name``, in the API's own
    account: ``arn:<partition>:sts::<account>:assumed-role/<role_name>/<session>``."""
    user_arn = _mapping(_mapping(context.get("authorizer")).get("iam")).get("userArn")
    if role_name is None or not isinstance(user_arn, str):
        return False
    parts = user_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sts" or parts[3] != "":
        return False
    resource = parts[5].split("/")
    return (
        parts[4] == context.get("accountId")
        and len(resource) == 3
        and resource[:2] == ["assumed-role", role_name]
        and resource[2] != ""
    )


def _subject(context: dict[str, Any]) -> str | None:
    claims = _mapping(_mapping(_mapping(context.get("authorizer")).get("jwt")).get("claims"))
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def _json_body(event: dict[str, Any]) -> dict[str, Any]:
    body = event.get("body")
    not_json = RequestError(400, "invalid_json", "The request body must be a JSON object.")
    too_large = RequestError(413, "payload_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    if not isinstance(body, str) or not body:
        raise not_json
    try:
        if event.get("isBase64Encoded") is True:
            if len(body) > (MAX_BODY_BYTES + 2) // 3 * 4:
                raise too_large
            raw = base64.b64decode(body, validate=True)
        else:
            if len(body) > MAX_BODY_BYTES:
                raise too_large
            raw = body.encode()
        if len(raw) > MAX_BODY_BYTES:
            raise too_large
        document = json.loads(
            raw.decode(),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_float=_exact_number,
        )
    except (binascii.Error, UnicodeError, ValueError, RecursionError):
        raise not_json from None
    if not isinstance(document, dict):
        raise not_json
    return document


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Duplicate keys are refused: two parsers must never read two different requests."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate key")
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _exact_number(text: str) -> Any:
    """A JSON number with a fraction or exponent, as an exact Decimal (a float would round
    ``1.0000000000000001`` to an integer). Imported here: ~1.5 ms that integer-only requests skip."""
    from decimal import Decimal

    return Decimal(text)


def _validate(
    document: dict[str, Any], subject: str | None, config: Config, *, health_check: bool
) -> UploadRequest:
    problems = [Problem(_field_name(name), "unknown field") for name in document if name not in _TOP_FIELDS]
    job_id = document.get("jobId")
    if job_id is not None and not (isinstance(job_id, str) and _JOB_ID.fullmatch(job_id)):
        problems.append(Problem("jobId", f"must be a string matching {JOB_ID_PATTERN}"))
    elif health_check and not (job_id or "").startswith(HEALTH_CHECK_JOB_PREFIX):
        problems.append(
            Problem("jobId", f"must start with {HEALTH_CHECK_JOB_PREFIX!r} on {HEALTH_CHECK_ROUTE}")
        )
    elif not health_check and (job_id or "").startswith(HEALTH_CHECK_JOB_PREFIX):
        reserved = Problem(
            "jobId", f"the prefix {HEALTH_CHECK_JOB_PREFIX!r} is reserved for the health check"
        )
        raise RequestError(403, "reserved_job_id", "This jobId is reserved.", [reserved])
    files = document.get("files")
    if not isinstance(files, list) or not files:
        problems.append(Problem("files", "must be a non-empty array"))
        raise _invalid(problems)
    if len(files) > config.max_files:
        raise RequestError(413, "too_many_files", f"At most {config.max_files} files per request.")
    seen: set[str] = set()
    specs = [_file_spec(f"files[{i}]", item, config, seen, problems) for i, item in enumerate(files)]
    if problems:
        raise _invalid(problems)
    return UploadRequest(job_id, subject, [spec for spec in specs if spec is not None])


def _invalid(problems: list[Problem]) -> RequestError:
    message = "The request does not satisfy the upload contract."
    return RequestError(400, "validation_failed", message, problems)


def _field_name(name: str) -> str:
    return name[:64]


def _file_spec(
    where: str, item: object, config: Config, seen: set[str], problems: list[Problem]
) -> FileSpec | None:
    if not isinstance(item, dict):
        problems.append(Problem(where, "must be an object"))
        return None
    before = len(problems)
    unknown = [name for name in item if name not in _FILE_FIELDS]
    problems.extend(Problem(f"{where}.{_field_name(name)}", "unknown field") for name in unknown)

    path: Any = item.get("path")
    expected_type = None
    path_problem = path_problem_of(path)
    if path_problem is None and path in seen:
        path_problem = "duplicate path in this request"
    if path_problem is None:
        seen.add(path)
        expected_type = media.content_type_for(path)
        if expected_type is None:
            path_problem = f"unsupported file type; allowed extensions: {' '.join(sorted(media.MEDIA_TYPES))}"
        elif media.raw_extension_of(path) != media.extension_of(path):
            # CloudFront path patterns are case-sensitive: '*.m3u8' would miss 'master.M3U8'.
            path_problem, expected_type = "extension must be lower case", None
    if path_problem is not None:
        problems.append(Problem(f"{where}.path", path_problem))

    content_type = item.get("contentType")
    if content_type is not None and not isinstance(content_type, str):
        problems.append(Problem(f"{where}.contentType", "must be a string"))
    elif content_type is not None and expected_type is not None and content_type.lower() != expected_type:
        problems.append(Problem(f"{where}.contentType", f"must be {expected_type} for this file type"))

    size = json_integer(item.get("size"))
    if size is None:
        problems.append(Problem(f"{where}.size", "must be an integer number of bytes"))
    elif not 1 <= size <= config.max_file_bytes:
        problems.append(Problem(f"{where}.size", f"must be between 1 and {config.max_file_bytes}"))

    if len(problems) > before or expected_type is None or size is None:
        return None
    return FileSpec(path, expected_type, size)


def json_integer(value: object) -> int | None:
    """A JSON Schema "integer": a number without a fractional part, so ``10``, ``10.0`` and ``1e1``
    alike (numbers are parsed exactly, as Decimal: ``1.0000000000000001`` is not an integer). A
    bool is not (it is an int subclass in Python); huge values are clamped, staying out of range."""
    if type(value) is int:
        return value
    from decimal import Decimal, InvalidOperation  # loaded already if a JSON body had such a number

    if not isinstance(value, Decimal):
        return None
    try:
        if not value.is_finite() or value != value.to_integral_value():
            return None
        return int(value.max(Decimal(-1)).min(Decimal(10**20)))
    except InvalidOperation:
        return None


def path_problem_of(path: object) -> str | None:
    """Why ``path`` cannot be an upload path, or None. The alphabet alone rules out '\\', '%',
    control and non-ASCII characters; the segment rule rules out absolute paths and traversal."""
    if not isinstance(path, str):
        return "must be a string"
    if not 1 <= len(path) <= MAX_PATH_CHARS:
        return f"must be 1 to {MAX_PATH_CHARS} characters"
    if not _PATH_CHARS.issuperset(path):
        return "may only contain A-Z a-z 0-9 . _ - and /"
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        return "must be relative, with no empty, '.' or '..' segments"
    return None
