"""Where moto's multipart uploads differ from S3's, the local S3 endpoint answers as S3 does.

- S3 ties an uploadId to its key: upload part, list parts, complete and abort with another key
  answer ``404 NoSuchUpload``. moto looks the upload up by id alone, so :func:`mismatch` checks the
  pair against moto's own record of the upload before the request reaches it.
- S3 answers ListParts with a ``<ListPartsResult>`` root; moto writes ``<ListPartsResponse>``.
  Uppy 6 reads only the former (against bare moto its resume sees no parts and sends them all
  again): :func:`list_parts_body` renames the root.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import unquote

NO_SUCH_UPLOAD = (
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
    "aborted or completed."
)

_MOTO_ROOT = b"ListPartsResponse"
_S3_ROOT = b"ListPartsResult"


def upload_id_of(query: Sequence[tuple[str, str]]) -> str | None:
    return next((value for name, value in query if name == "uploadId"), None)


def bucket_and_key(raw_path: str) -> tuple[str, str]:
    """Path-style ``/<bucket>/<key>`` (the local endpoint is always addressed path-style)."""
    bucket, _, key = raw_path.lstrip("/").partition("/")
    return unquote(bucket), unquote(key)


def mismatch(raw_path: str, upload_id: str) -> bool:
    """Whether moto holds an upload ``upload_id`` in the path's bucket under another key. An
    unknown uploadId is left to moto, which answers NoSuchUpload itself."""
    from moto.s3.models import s3_backends

    bucket_name, key = bucket_and_key(raw_path)
    for account in list(s3_backends.keys()):
        for backend in list(s3_backends[account].values()):
            bucket = getattr(backend, "buckets", {}).get(bucket_name)
            upload = None if bucket is None else bucket.multiparts.get(upload_id)
            if upload is not None:
                return bool(upload.key_name != key)
    return False


def list_parts_body(body: bytes) -> bytes:
    """moto's ListParts document with S3's root element name."""
    head = body[:512]
    if _MOTO_ROOT not in head:
        return body
    body = body.replace(b"<" + _MOTO_ROOT, b"<" + _S3_ROOT, 1)
    tail = b"</" + _MOTO_ROOT + b">"
    at = body.rfind(tail)
    return body if at < 0 else body[:at] + b"</" + _S3_ROOT + b">" + body[at + len(tail) :]


def as_list_parts_result(
    chunks: Iterable[bytes], headers: list[tuple[str, str]]
) -> tuple[list[bytes], list[tuple[str, str]]]:
    """A ListParts answer (body and headers) with S3's root element and the length to match."""
    document = list_parts_body(b"".join(chunks))
    length = str(len(document))
    return [document], [(k, length if k.lower() == "content-length" else v) for k, v in headers]
