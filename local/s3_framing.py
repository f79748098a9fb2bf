"""How an upload's body is framed on the wire, as S3 accepts it: a Content-Length, or the SDKs'
``aws-chunked`` encoding with an unsigned trailer; anything else is refused as S3 refuses it."""

from __future__ import annotations

import tempfile
from typing import IO

from local import s3_auth

SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024  # larger bodies spill to a temporary file


def framing_problem(request: s3_auth.IncomingRequest) -> s3_auth.S3AuthError | None:
    """S3 takes a body with a Content-Length only: a streamed (``Transfer-Encoding: chunked``)
    upload is 501 unless it is the SDKs' aws-chunked encoding; a PUT without a length is 411."""
    chunked = "chunked" in (request.header("transfer-encoding") or "").lower()
    if chunked and request.header("x-amz-decoded-content-length") is None:
        return s3_auth.S3AuthError(
            501,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            Header="Transfer-Encoding",
        )
    if request.method == "PUT" and not chunked and request.header("content-length") is None:
        return s3_auth.S3AuthError(
            411, "MissingContentLength", "You must provide the Content-Length HTTP header."
        )
    return None


def decode_aws_chunked(
    spool: IO[bytes], request: s3_auth.IncomingRequest
) -> tuple[IO[bytes], dict[str, str]]:
    """``aws-chunked`` framing with an unsigned trailer -> the plain body and the trailer headers."""
    decoded: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
    trailers: dict[str, str] = {}
    malformed = s3_auth.S3AuthError(400, "IncompleteBody", "The aws-chunked body is malformed")
    try:
        while True:
            line = spool.readline()
            if not line.endswith(b"\r\n"):
                raise malformed
            size_text = line.split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise malformed from None
            if size == 0:
                break
            data = spool.read(size)
            if len(data) != size or spool.read(2) != b"\r\n":
                raise malformed
            decoded.write(data)
        for raw in spool.read().split(b"\r\n"):
            if b":" in raw:
                name, _, value = raw.decode("latin-1").partition(":")
                trailers[name.strip().lower()] = value.strip()
        declared = request.header("x-amz-decoded-content-length")
        if declared is not None and declared.isdigit() and int(declared) != decoded.tell():
            raise s3_auth.S3AuthError(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            )
        encodings = [
            e.strip()
            for e in (request.header("content-encoding") or "").split(",")
            if e.strip() and e.strip() != "aws-chunked"
        ]
        forwarded = {
            "content-encoding": ",".join(encodings),
            "x-amz-decoded-content-length": "",
            "x-amz-trailer": "",
            "x-amz-content-sha256": s3_auth.UNSIGNED_PAYLOAD,
            **{k: v for k, v in trailers.items() if k.startswith("x-amz-checksum-")},
        }
        decoded.seek(0)
        spool.close()
        return decoded, forwarded
    except BaseException:
        decoded.close()
        raise


# Subresources whose PUT changes an object's attributes without storing an object.
_ATTRIBUTE_SUBRESOURCES = frozenset({"tagging", "acl", "retention", "legal-hold"})


def stored_object(
    request: s3_auth.IncomingRequest, path: str, length: int
) -> tuple[str, str, str, int | None] | None:
    """(bucket, key, reason, size or None when the request does not say) of a request that stores
    an object once answered 200 (path-style ``/<bucket>/<key>``): PutObject, CopyObject and
    CompleteMultipartUpload, the ``reason`` of S3's ``Object Created`` event; None for the rest."""
    bucket, _, key = path.lstrip("/").partition("/")
    query = {name for name, _ in request.query}
    if not key or "partNumber" in query:
        return None
    if request.method == "PUT" and "uploadId" not in query and not query & _ATTRIBUTE_SUBRESOURCES:
        if request.header("x-amz-copy-source") is not None:
            return bucket, key, "CopyObject", None
        return bucket, key, "PutObject", length
    if request.method == "POST" and "uploadId" in query:
        return bucket, key, "CompleteMultipartUpload", None
    return None
