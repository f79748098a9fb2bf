"""The multipart routes' part of docs/signer-openapi.yaml (``tools/gen_docs.py`` merges it): paths
and schemas from the code's own limits (``multipart_core``, ``config``), one operation per route
of ``infra.policies.MULTIPART_ROUTE_KEYS`` (a test holds the two equal)."""

from __future__ import annotations

from typing import Any

from lambda_src.sign_uploads import config, multipart, multipart_core
from tools.signer_openapi import job_id_pattern, path_pattern

MULTIPART_ERROR_CODES = [
    "invalid_json",
    "validation_failed",
    "unauthorized",
    "reserved_job_id",
    "foreign_key",
    "no_such_upload",
    "no_such_job",
    "invalid_part",
    "incomplete_upload",
    "size_mismatch",
    "already_exists",
    "s3_refused",
    "unsupported_type",
    "unsupported_request",
    "file_too_large",
    "payload_too_large",
    "too_many_files",
    "job_busy",
    "not_found",
    "internal_error",
    "unavailable",
]
SECURITY: list[dict[str, list[str]]] = [{}, {"bearer": []}]
_KEY_QUERY = {
    "name": "key",
    "in": "query",
    "required": True,
    "description": "The key the create answered (the caller's own job key).",
    "schema": {"type": "string"},
}
_UPLOAD_ID = {
    "name": "uploadId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 1024},
}


def _json(schema: str | dict[str, Any]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    return {"application/json": {"schema": ref}}


def _refusals(text: str) -> dict[str, Any]:
    return {
        "4XX": {"description": f"Refused: {text}", "content": _json("MultipartError")},
        "5XX": {
            "description": "`internal_error`, or `unavailable` (S3 or the job store failed; retry).",
            "content": _json("MultipartError"),
        },
    }


def _operation(
    operation_id: str, summary: str, ok: str | dict[str, Any], refusals: str, **extra: Any
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "security": SECURITY,
        **extra,
        "responses": {"200": {"description": "OK", "content": _json(ok)}, **_refusals(refusals)},
    }


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": _json(schema)}


def multipart_paths() -> dict[str, Any]:
    owned = "`foreign_key` (403: the key is not the caller's), `no_such_upload` (404: the uploadId is not an upload of this key)"
    return {
        "/s3/multipart": {
            "post": _operation("createMultipartUpload", "Create a multipart upload (Uppy Companion protocol)",
                               "CreateResponse", "`validation_failed`, `unsupported_type` (415), `file_too_large` (413), `unauthorized` (401)",
                               requestBody=_body("CreateRequest")),
        },
        "/s3/multipart/plan": {
            "post": _operation("planMultipartUpload", "The part plan: part size, count, byte ranges and URLs (create or resume)",
                               "PlanResponse", f"as create, plus {owned} on a resume", requestBody=_body("PlanRequest")),
        },
        "/s3/multipart/{uploadId}": {
            "parameters": [_UPLOAD_ID, _KEY_QUERY],
            "get": _operation("listParts", "Every uploaded part (all of S3's pages)", {"type": "array", "items": {"$ref": "#/components/schemas/Part"}}, owned),
            "delete": _operation("abortMultipartUpload", "Abort the upload", {"type": "object", "maxProperties": 0}, owned),
        },
        "/s3/multipart/{uploadId}/batch": {
            "parameters": [_UPLOAD_ID, _KEY_QUERY, {"name": "partNumbers", "in": "query", "required": True,
                           "description": "Comma-separated part numbers, each 1..10000.", "schema": {"type": "string"}}],
            "get": _operation("signParts", "Part URLs for several parts (older Uppy clients)", "BatchResponse", owned),
        },
        "/s3/multipart/{uploadId}/{partNumber}": {
            "parameters": [_UPLOAD_ID, _KEY_QUERY, {"name": "partNumber", "in": "path", "required": True,
                           "schema": {"type": "integer", "minimum": 1, "maximum": multipart_core.MAX_PARTS}}],
            "get": _operation("signPart", "One part's URL (only `host` signed: PUT the bytes, read the ETag)", "PartUrlResponse", owned),
        },
        "/s3/multipart/{uploadId}/complete": {
            "parameters": [_UPLOAD_ID, _KEY_QUERY],
            "post": _operation("completeMultipartUpload", "Complete: with the client's parts, or (no body) with the parts S3 lists",
                               "CompleteResponse", f"{owned}, `invalid_part`, `incomplete_upload`, `size_mismatch` (the parts do not add up to the declared size)",
                               requestBody={"required": False, "content": _json("CompleteRequest")}),
        },
        "/s3/sign": {
            "post": _operation("signS3Request", "Uppy 6 signRequest mode: pre-sign one S3 request for the caller's own job key",
                               "SignResponse", f"`unsupported_request` (another operation, e.g. DELETE of an object), {owned}, `file_too_large`, `unsupported_type`",
                               requestBody=_body("SignRequest")),
        },
    }  # fmt: skip


def multipart_schemas() -> dict[str, Any]:
    size = {"type": "integer", "minimum": 1, "maximum": config.S3_OBJECT_LIMIT_BYTES,
            "description": "The whole file in bytes, at most MAX_MULTIPART_FILE_BYTES (S3's limit: 5 TiB)."}  # fmt: skip
    job = {
        "jobId": {"type": "string", "pattern": job_id_pattern()},
        "path": {"type": "string", "pattern": path_pattern()},
        "size": size,
    }
    part_size = {
        "type": "integer",
        "minimum": multipart_core.MIN_PART_BYTES,
        "maximum": multipart_core.MAX_PART_BYTES,
    }
    part_number = {"type": "integer", "minimum": 1, "maximum": multipart_core.MAX_PARTS}
    return {
        "CreateRequest": {
            "type": "object",
            "required": ["metadata"],
            "properties": {
                "filename": {"type": "string", "description": "Ignored: the key is the job key."},
                "type": {"type": "string", "description": "Must match the extension (or be empty/application/octet-stream)."},
                "metadata": {"type": "object", "required": ["path", "size"], "properties": job,
                             "description": "Uppy sends the file's meta: the app puts jobId, path and size there; other fields are ignored."},
            },
        },
        "CreateResponse": {
            "type": "object",
            "required": ["key", "uploadId", "bucket", "jobId"],
            "properties": {"key": {"type": "string"}, "uploadId": {"type": "string"}, "bucket": {"type": "string"}, "jobId": job["jobId"]},
        },
        "PartUrlResponse": {"type": "object", "required": ["url", "expires"],
                            "properties": {"url": {"type": "string"}, "expires": {"type": "integer"}}},
        "BatchResponse": {"type": "object", "required": ["presignedUrls"],
                          "properties": {"presignedUrls": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "Part": {"type": "object", "required": ["PartNumber", "ETag", "Size"],
                 "properties": {"PartNumber": part_number, "ETag": {"type": "string"}, "Size": {"type": "integer", "minimum": 0}}},
        "CompleteRequest": {
            "type": "object",
            "properties": {"parts": {"type": "array", "minItems": 1, "maxItems": multipart_core.MAX_PARTS,
                                     "items": {"type": "object", "required": ["PartNumber", "ETag"],
                                               "properties": {"PartNumber": part_number, "ETag": {"type": "string"}}}}},
        },
        "CompleteResponse": {"type": "object", "required": ["location", "key", "bucket"],
                             "properties": {"location": {"type": "string", "description": "The object's public (CDN) URL."},
                                            "key": {"type": "string"}, "bucket": {"type": "string"}}},
        "PlanRequest": {
            "type": "object",
            "required": ["path", "size"],
            "properties": {**job, "partSize": part_size, "contentType": {"type": "string"},
                           "uploadId": {"type": "string", "description": "Resume: sign only the parts S3 does not list."},
                           "key": {"type": "string", "description": "With uploadId: the key the first plan answered."}},
        },
        "PlanResponse": {
            "type": "object",
            "required": ["jobId", "uploadId", "key", "size", "partSize", "partCount", "expiresAt", "parts", "uploaded", "remaining", "complete", "publicUrl"],
            "properties": {
                "jobId": job["jobId"], "uploadId": {"type": "string"}, "key": {"type": "string"}, "size": size,
                "partSize": part_size, "partCount": part_number,
                "expiresAt": {"type": "string", "format": "date-time"},
                "parts": {"type": "array", "maxItems": multipart.PLAN_URLS_PER_CALL,
                          "description": "The missing parts (at most PLAN_URLS_PER_CALL): bytes start <= b < end of the file, PUT to url.",
                          "items": {"type": "object", "required": ["partNumber", "start", "end", "url"],
                                    "properties": {"partNumber": part_number, "start": {"type": "integer", "minimum": 0},
                                                   "end": {"type": "integer", "minimum": 1}, "url": {"type": "string"}}}},
                "uploaded": {"type": "array", "items": part_number},
                "remaining": {"type": "integer", "minimum": 0, "description": "Missing parts beyond this answer: ask again."},
                "complete": {"type": "object", "description": "POST here with no body: the server lists the parts (no ETags needed)."},
                "publicUrl": {"type": "string"},
            },
        },
        "SignRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["method", "path", "size"],
            "properties": {
                **job,
                "method": {"type": "string", "enum": ["PUT", "POST", "GET", "DELETE"]},
                "key": {"type": "string", "description": "Uppy's key: ignored without uploadId (create, single PUT); else must be the job key."},
                "uploadId": {"type": "string"}, "partNumber": part_number, "contentType": {"type": "string"},
                "expiresIn": {"type": "integer", "description": "Ignored: URL_TTL_SECONDS applies."},
            },
        },
        "SignResponse": {"type": "object", "required": ["url", "key", "headers"],
                         "properties": {"url": {"type": "string"}, "key": {"type": "string"},
                                        "headers": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "MultipartError": {
            "description": "The API's error object plus its code at the top level (`error` is truthy, as Uppy checks).",
            "type": "object",
            "required": ["error", "code"],
            "properties": {
                "error": {"type": "object", "required": ["code", "message", "details"],
                          "properties": {"code": {"type": "string", "enum": MULTIPART_ERROR_CODES},
                                         "message": {"type": "string"}, "details": {"type": "array"}}},
                "code": {"type": "string", "enum": MULTIPART_ERROR_CODES},
            },
        },
    }  # fmt: skip
