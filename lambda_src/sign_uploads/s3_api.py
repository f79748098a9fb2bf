"""The S3 calls of the multipart routes on the standard library: create, list parts (every page),
complete, abort, head and delete, SigV4 header-signed (``sigv4.signed_headers``, proven equal to
botocore's S3 signer by ``tests/signer/test_multipart_signing.py``).

Why not boto3: importing it costs ~200 ms of the signer's cold start, which every first upload of
a container pays. A kept-alive connection per endpoint lives as long as the container, as in
``dynamodb.py``. S3's XML answers are read with ``xml.etree`` (imported on the first call only).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

if TYPE_CHECKING or __package__:
    from .sigv4 import encode_query, s3_location, signed_headers
else:
    from sigv4 import encode_query, s3_location, signed_headers

if TYPE_CHECKING:
    from http.client import HTTPConnection
    from xml.etree.ElementTree import Element

    from .config import Credentials

# Below the function's 10 s timeout (infra/signer.py), so a slow S3 answer becomes a 503 (retry:
# completing the same upload again is harmless) instead of a killed invocation.
TIMEOUT_SECONDS = 8.0
PAGE_SIZE = 1000  # S3's ListParts maximum
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_CONNECTIONS: dict[str, HTTPConnection] = {}


class S3Error(Exception):
    """S3 refused or failed: ``status`` (0: no answer) and S3's error ``code`` (``NoSuchUpload``...)."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{status} {code}: {message}"[:300])
        self.status = status
        self.code = code


class Part(NamedTuple):
    number: int
    etag: str
    size: int


class S3:
    """One bucket, one set of credentials; ``now`` is the caller's clock."""

    def __init__(
        self, *, bucket: str, region: str, credentials: Credentials, endpoint_url: str | None, now: float
    ) -> None:
        self.origin, self.host, self.path_prefix = s3_location(bucket, region, endpoint_url)
        self.bucket = bucket
        self.region = region
        self.credentials = credentials
        self.now = now

    def url(self, key: str) -> str:
        return f"{self.origin}{self.path_prefix}/{quote(key, safe='/~')}"

    def create_multipart_upload(self, key: str, headers: dict[str, str]) -> str:
        root = self._xml(self._call("POST", key, [("uploads", "")], headers=headers))
        upload_id = _text(root, "UploadId")
        if not upload_id:
            raise S3Error(502, "InvalidResponse", "CreateMultipartUpload answered no UploadId")
        return upload_id

    def list_parts(self, key: str, upload_id: str, *, first_page_only: bool = False) -> list[Part]:
        """Every part uploaded so far, following S3's pages (1,000 parts each)."""
        return list(self._parts(key, upload_id, first_page_only))

    def _parts(self, key: str, upload_id: str, first_page_only: bool) -> Iterator[Part]:
        marker = "0"
        while True:
            params = [("uploadId", upload_id), ("max-parts", str(PAGE_SIZE))]
            if marker != "0":
                params.append(("part-number-marker", marker))
            root = self._xml(self._call("GET", key, params))
            for element in root.iter(f"{_NS}Part"):
                yield Part(
                    int(_text(element, "PartNumber") or 0),
                    _text(element, "ETag") or "",
                    int(_text(element, "Size") or 0),
                )
            if first_page_only or (_text(root, "IsTruncated") or "false").lower() != "true":
                return
            following = _text(root, "NextPartNumberMarker") or ""
            if not following.isdigit() or int(following) <= int(marker):
                return
            marker = following

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[tuple[int, str]], *, create_only: bool = False
    ) -> str:
        """Returns the object's ETag. S3 may answer 200 with an error document: checked.
        ``create_only``: ``If-None-Match: *`` (S3 answers 412 if the key already holds an object)."""
        body = "".join(
            f"<Part><PartNumber>{number}</PartNumber><ETag>{_escape(etag)}</ETag></Part>"
            for number, etag in parts
        )
        document = f'<CompleteMultipartUpload xmlns="{_NS[1:-1]}">{body}</CompleteMultipartUpload>'.encode()
        root = self._xml(
            self._call("POST", key, [("uploadId", upload_id)], body=document,
                       headers={"Content-Type": "application/xml", **({"If-None-Match": "*"} if create_only else {})})
        )  # fmt: skip
        if root.tag in ("Error", f"{_NS}Error"):
            raise S3Error(500, _text(root, "Code") or "InternalError", _text(root, "Message") or "")
        return _text(root, "ETag") or ""

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        self._call("DELETE", key, [("uploadId", upload_id)])

    def head(self, key: str) -> dict[str, str] | None:
        """The object's headers (lower-cased names), or None if it does not exist."""
        try:
            return self._request("HEAD", key, [], b"", {})[1]
        except S3Error as error:
            if error.status == 404:
                return None
            raise

    def delete(self, key: str) -> None:
        self._call("DELETE", key, [])

    # --- transport ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        key: str,
        params: list[tuple[str, str]],
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> bytes:
        return self._request(method, key, params, body, headers or {})[2]

    def _request(
        self, method: str, key: str, params: list[tuple[str, str]], body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        target = self.url(key) + ("?" + encode_query(params) if params else "")
        credentials = self.credentials
        signed = signed_headers(
            url=target,
            headers={**headers, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()},
            body=body,
            service="s3",
            region=self.region,
            access_key=credentials.access_key,
            secret_key=credentials.secret_key,
            session_token=credentials.session_token,
            now=self.now,
            method=method,
        )
        path = target[len(self.origin) :]
        for attempt in (1, 2):
            connection = _connection(self.origin)
            try:
                connection.request(method, path, body=body or None, headers=signed)
                reply = connection.getresponse()
                payload = reply.read()
                status, reply_headers = reply.status, {k.lower(): v for k, v in reply.getheaders()}
                break
            except OSError as error:
                connection.close()
                _CONNECTIONS.pop(self.origin, None)
                if attempt == 2:
                    raise S3Error(0, type(error).__name__, "the request did not complete") from None
        if status >= 300:
            code = "NoSuchKey" if status == 404 and not payload else f"HTTP{status}"
            if payload:
                with contextlib.suppress(S3Error):
                    code = _text(self._xml(payload), "Code") or code
            raise S3Error(status, code, f"{method} answered {status}")
        return status, reply_headers, payload

    @staticmethod
    def _xml(payload: bytes) -> Element:
        from xml.etree import ElementTree  # only on these routes: POST / never parses XML

        try:
            return ElementTree.fromstring(payload)  # noqa: S314 -- S3's own answer, over TLS
        except ElementTree.ParseError:
            raise S3Error(502, "InvalidResponse", "S3 answered malformed XML") from None


def _text(element: Element, name: str) -> str | None:
    found = element.find(f"{_NS}{name}")
    if found is None:
        found = element.find(name)  # S3-compatible servers that omit the namespace
    return None if found is None else (found.text or "")


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _connection(origin: str) -> HTTPConnection:
    connection = _CONNECTIONS.get(origin)
    if connection is None:
        import http.client

        scheme, _, netloc = origin.partition("://")
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = _CONNECTIONS[origin] = kind(netloc, timeout=TIMEOUT_SECONDS)
    return connection
