"""The rules every multipart route shares: who the caller is, which key is theirs, which uploadId
belongs to that key, what a file may be, and how the job is recorded.

- Keys are job keys, ``keys.job_prefix(...) + path``: built here from ``jobId``/``path`` for a new
  upload, and for an existing one parsed back (``jobs.object_ref``) and accepted only if it is the
  caller's (same subject folder, or the anonymous layout for an anonymous caller), not a health
  check's, and a path the contract allows.
- An uploadId is accepted for a key only if S3 lists that upload under that key (S3 answers
  ``NoSuchUpload`` for a pair that does not belong together; the local S3 does too). A verified
  pair is remembered for the container's life, so a part costs one S3 call per upload, not per part.
- The whole file obeys the allow-list (``media.py``) and ``MAX_MULTIPART_FILE_BYTES``; parts obey
  S3's limits (5 MiB-5 GiB, 1..10,000).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING or __package__:
    from . import jobs, media
    from .contract import JOB_ID_PATTERN, RequestError, json_integer, path_problem_of, subject_of
    from .dynamodb import Table, jobs_table
    from .keys import HEALTH_CHECK_JOB_PREFIX, job_prefix, subject_hash
    from .s3_api import S3, S3Error
    from .sigv4 import S3Presigner, presigner_args
    from .subject_key import subject_key
else:
    import jobs
    import media
    from contract import JOB_ID_PATTERN, RequestError, json_integer, path_problem_of, subject_of
    from dynamodb import Table, jobs_table
    from keys import HEALTH_CHECK_JOB_PREFIX, job_prefix, subject_hash
    from s3_api import S3, S3Error
    from sigv4 import S3Presigner, presigner_args
    from subject_key import subject_key

if TYPE_CHECKING:
    from .config import Config

MIN_PART_BYTES = 5 * 1024**2  # S3: every part but the last
MAX_PART_BYTES = 5 * 1024**3
MAX_PARTS = 10_000
# An incomplete upload lives until the bucket's lifecycle aborts it a day after it started
# (infra/policies/storage.py ABORT_INCOMPLETE_MULTIPART_DAYS; a test holds the two equal): the job
# awaits the file that long, its part URLs re-signed on request meanwhile.
MULTIPART_WINDOW_SECONDS = 86_400
DECLARED_SIZE_HEADER = "x-amz-meta-declared-size"
# Content types a client may send when it does not know the file's (Uppy sends file.type or this).
UNSPECIFIED_TYPES = frozenset({"", "application/octet-stream"})
_JOB_ID = re.compile(JOB_ID_PATTERN)
_UPLOAD_ID = re.compile(r"[\x21-\x7e]{1,1024}")
_VERIFIED: dict[tuple[str, str], None] = {}  # (key, uploadId) pairs S3 confirmed: a bounded cache
_VERIFIED_MAX = 4096


class Problem(NamedTuple):
    field: str
    problem: str


def invalid(field: str, problem: str, status: int = 400, code: str = "validation_failed") -> RequestError:
    message = "The request does not satisfy the upload contract." if code == "validation_failed" else problem
    return RequestError(status, code, message, [Problem(field, problem)])  # type: ignore[list-item]


class Caller(NamedTuple):
    subject: str | None
    hmac_key: bytes | None
    owner: str | None  # the subject's folder hash (None: anonymous)


def caller_of(event: dict[str, Any], config: Config, now: float) -> Caller:
    context = event.get("requestContext")
    subject = subject_of(context if isinstance(context, dict) else {})
    if config.auth_required and subject is None:
        raise RequestError(401, "unauthorized", "A valid bearer token is required.")
    if subject is None:
        return Caller(None, None, None)
    key = subject_key(config, now=now)
    return Caller(subject, key, subject_hash(key, subject))


class NewFile(NamedTuple):
    job_id: str
    path: str
    size: int
    content_type: str
    key: str
    prefix: str


def new_file(
    fields: dict[str, Any], caller: Caller, config: Config, *, where: str = "", type_field: str | None = None
) -> NewFile:
    """The job file a create asks for: ``jobId`` (optional: a new random one), ``path`` and
    ``size`` (the whole file) from ``fields``; ``type_field``: a Content-Type the client declared
    (refused when it contradicts the extension; unspecified types take the canonical one)."""
    job_id = fields.get("jobId")
    if job_id is None:
        job_id = os.urandom(16).hex()
    elif not (isinstance(job_id, str) and _JOB_ID.fullmatch(job_id)):
        raise invalid(f"{where}jobId", f"must be a string matching {JOB_ID_PATTERN}")
    elif job_id.startswith(HEALTH_CHECK_JOB_PREFIX):
        raise invalid(f"{where}jobId", "this prefix is reserved for the health check", 403, "reserved_job_id")
    path = fields.get("path")
    problem = path_problem_of(path)
    if problem is not None or not isinstance(path, str):
        raise invalid(f"{where}path", problem or "must be a string")
    content_type = media.content_type_for(path)
    if content_type is None or media.raw_extension_of(path) != media.extension_of(path):
        allowed = " ".join(sorted(media.MEDIA_TYPES))
        raise invalid(f"{where}path", f"unsupported file type (lower-case extensions: {allowed})", 415,
                      "unsupported_type")  # fmt: skip
    declared = fields.get(type_field) if type_field else None
    if declared is not None and not isinstance(declared, str):
        raise invalid(type_field or "type", "must be a string")
    if declared is not None and declared.split(";")[0].strip().lower() not in UNSPECIFIED_TYPES | {
        content_type
    }:
        raise invalid(
            type_field or "type", f"must be {content_type} for this file type", 415, "unsupported_type"
        )
    size = json_integer(fields.get("size"))
    if size is None:
        raise invalid(f"{where}size", "must be an integer number of bytes (the whole file)")
    if not 1 <= size <= config.max_multipart_file_bytes:
        raise invalid(f"{where}size", f"must be between 1 and {config.max_multipart_file_bytes}", 413,
                      "file_too_large")  # fmt: skip
    prefix = job_prefix(config.prefix, caller.subject, job_id, caller.hmac_key)
    return NewFile(job_id, path, size, content_type, prefix + path, prefix)


def owned_key(key: object, caller: Caller, config: Config) -> jobs.ObjectRef:
    """The job file ``key`` names, if it is the caller's; a 403 ``foreign_key`` otherwise."""
    if not isinstance(key, str) or not key:
        raise invalid("key", "is required (the key the create answered)")
    ref = jobs.object_ref(config.prefix, key)
    foreign = invalid("key", "is not a key of yours", 403, "foreign_key")
    if ref is None or ref.subject_hash != caller.owner or not _JOB_ID.fullmatch(ref.job_id):
        raise foreign
    if ref.job_id.startswith(HEALTH_CHECK_JOB_PREFIX) or path_problem_of(ref.path) is not None:
        raise foreign
    if media.content_type_for(ref.path) is None:
        raise foreign
    if job_prefix(config.prefix, caller.subject, ref.job_id, caller.hmac_key) + ref.path != key:
        raise foreign
    return ref


def upload_id_of(value: object) -> str:
    if not isinstance(value, str) or not _UPLOAD_ID.fullmatch(value):
        raise invalid("uploadId", "must be the uploadId the create answered")
    return value


def part_number_of(value: object, field: str = "partNumber") -> int:
    number = (
        value if type(value) is int else (int(value) if isinstance(value, str) and value.isdigit() else None)
    )
    if number is None or not 1 <= number <= MAX_PARTS:
        raise invalid(field, f"must be an integer from 1 to {MAX_PARTS}")
    return number


def s3_of(config: Config, now: float) -> S3:
    return S3(bucket=config.bucket, region=config.region, credentials=config.credentials,
              endpoint_url=config.endpoint_url, now=now)  # fmt: skip


def presigner_of(config: Config, now: float) -> S3Presigner:
    return S3Presigner(**presigner_args(config, now))


def check_bound(s3: S3, key: str, upload_id: str) -> None:
    """Refuse (404 ``no_such_upload``) an uploadId that is not an upload of ``key``."""
    if (key, upload_id) in _VERIFIED:
        return
    try:
        s3.list_parts(key, upload_id, first_page_only=True)
    except S3Error as error:
        raise s3_refusal(error) from None
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.pop(next(iter(_VERIFIED)))
    _VERIFIED[(key, upload_id)] = None


def forget(key: str, upload_id: str) -> None:
    _VERIFIED.pop((key, upload_id), None)


def s3_refusal(error: S3Error) -> RequestError:
    """S3's refusal as the API's: a missing upload is the client's 404, S3's own 4xx stay 4xx (the
    code named), anything else is S3 failing (503: retry)."""
    if error.code in ("NoSuchUpload", "NoSuchKey"):
        return invalid("uploadId", "no such upload for this key (completed, aborted, or another key's)", 404,
                       "no_such_upload")  # fmt: skip
    if error.code == "PreconditionFailed" or error.status == 412:
        return invalid("key", "an object already exists at this key; immutable files are never replaced", 412,
                       "already_exists")  # fmt: skip
    if 400 <= error.status < 500 and error.status not in (401, 403, 429):
        return RequestError(400, "s3_refused", f"S3 refused the request: {error.code}.")
    return RequestError(503, "unavailable", "S3 did not answer as expected; retry.")


def plan_part_size(size: int, requested: object = None) -> int:
    """The part size of a plan: the client's (5 MiB-5 GiB, at most 10,000 parts), or the smallest
    whole MiB >= 8 MiB that keeps the file within 10,000 parts."""
    if requested is not None:
        part_size = json_integer(requested)
        if part_size is None or not MIN_PART_BYTES <= part_size <= MAX_PART_BYTES:
            raise invalid("partSize", f"must be an integer from {MIN_PART_BYTES} to {MAX_PART_BYTES}")
        if -(-size // part_size) > MAX_PARTS:
            raise invalid("partSize", f"would make more than {MAX_PARTS} parts for this size")
        return part_size
    mib = 1024**2
    return max(8 * mib, -(-size // (MAX_PARTS * mib)) * mib)


def record_job(config: Config, caller: Caller, file: NewFile, now: float, *, multipart: bool = True) -> None:
    """The job record, as ``POST /`` writes it; a multipart file is awaited for the multipart window
    (a day), a single PUT as long as its URL lives."""
    if config.jobs_table is None:
        return
    try:
        jobs.record_signed(
            table_of(config),
            job_id=file.job_id,
            subject_hash=caller.owner,
            prefix=file.prefix,
            files=[(file.path, file.size)],
            urls_expire_at=int(now) + (MULTIPART_WINDOW_SECONDS if multipart else config.url_ttl_seconds),
            retain_seconds=config.job_retention_days * 86_400,
            max_files=config.max_files,
            now=now,
        )
    except jobs.JobError as error:
        raise RequestError(error.status, error.code, error.message) from None


def declared_size(config: Config, ref: jobs.ObjectRef, now: float) -> int | None:
    """The whole file's size as the job record has it (None: no jobs table is configured; the
    deployed signer always has one, so its role needs no read or delete on objects)."""
    if config.jobs_table is None:
        return None
    record = table_of(config).get({"pk": ref.pk}, now=now) or {}
    entry = record.get("files", {}).get(ref.path)
    if entry is None or record.get("status") == jobs.DELETED:
        raise invalid("key", "no job awaits this file (deleted, or never created here)", 404, "no_such_job")
    return int(entry["s"])


def table_of(config: Config) -> Table:
    return jobs_table(config, "multipart routes")


def object_headers(file: NewFile) -> dict[str, str]:
    """What the object is stored with: the canonical type, our caching and encoding, and the
    declared size (read back to check a completion when there is no job record)."""
    return {
        "Content-Type": file.content_type,
        "Cache-Control": media.cache_control_for(file.path),
        "Content-Encoding": media.CONTENT_ENCODING,
    }
