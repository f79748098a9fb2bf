"""The schemas of the signer's OpenAPI document, built from the code (``tools/gen_docs.py`` writes it).

Patterns are ECMA-262 and Python alike (no inline flags, no ``\\Z``). Never imported by product code.
"""

from __future__ import annotations

import re
from typing import Any

from lambda_src.sign_uploads import config, contract, keys, media, sigv4

SEGMENT_CHARS = "[A-Za-z0-9._-]"


# --- regular expressions (ECMA-262 and Python alike: no inline flags) ---------------------------


def any_case(text: str) -> str:
    """A pattern matching ``text`` in any letter case (ECMA-262 has no inline ``(?i)``)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


def path_pattern() -> str:
    """Relative '/'-separated segments of the URL-safe alphabet, no '.' or '..' segment (the last
    one ends in an extension, so only the folders need the lookaheads), ending in an allowed
    extension written in lower case."""
    extensions = "|".join(re.escape(ext[1:]) for ext in sorted(media.MEDIA_TYPES))
    return rf"^(?!\.\.?/)(?!.*/\.\.?/)({SEGMENT_CHARS}+/)*{SEGMENT_CHARS}+\.({extensions})$"


def content_type_pattern(types: list[str]) -> str:
    return "^(?:" + "|".join(any_case(kind) for kind in types) + ")$"


def job_id_pattern() -> str:
    return contract.JOB_ID_PATTERN


def health_check_job_id_pattern() -> str:
    prefix = re.escape(keys.HEALTH_CHECK_JOB_PREFIX)
    return f"^{prefix}[A-Za-z0-9_-]{{0,{64 - len(keys.HEALTH_CHECK_JOB_PREFIX)}}}$"


def signed_headers_pattern() -> str:
    plain = sigv4.SIGNED_HEADERS.replace(";", "%3B")
    create_only = sigv4.CREATE_ONLY_SIGNED_HEADERS.removeprefix(sigv4.SIGNED_HEADERS).replace(";", "%3B")
    return (
        "^https?://[^?]+\\?X-Amz-Algorithm=AWS4-HMAC-SHA256&.*"
        f"X-Amz-SignedHeaders={plain}({re.escape(create_only)})?&.*X-Amz-Signature=[0-9a-f]{{64}}$"
    )


# --- the document -----------------------------------------------------------------------------


def file_request_schema() -> dict[str, Any]:
    types = sorted(set(media.MEDIA_TYPES.values()))
    per_extension = [
        {
            "if": {"required": ["path"], "properties": {"path": {"pattern": f"{re.escape(ext)}$"}}},
            "then": {"properties": {"contentType": {"pattern": content_type_pattern([kind])}}},
        }
        for ext, kind in media.MEDIA_TYPES.items()
    ]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["path", "size"],
        "properties": {
            "path": {
                "description": (
                    "Relative, '/'-separated; segments of [A-Za-z0-9._-], never '.' or '..'; unique "
                    "within the request (case-sensitive); ends in an allowed extension, in lower case "
                    "(CloudFront path patterns are case-sensitive). The extension picks the content type."
                ),
                "type": "string",
                "minLength": 1,
                "maxLength": contract.MAX_PATH_CHARS,
                "pattern": path_pattern(),
            },
            "contentType": {
                "description": (
                    "Optional (absent or null: inferred from the extension). Must equal the type of "
                    "the path's extension (the allOf below), compared case-insensitively (`VIDEO/MP2T` "
                    "is accepted for a `.ts`); parameters such as `; charset=` are refused. The "
                    "canonical lower-case type is what gets signed and returned in "
                    "`headers.Content-Type`."
                ),
                "type": ["string", "null"],
                "pattern": content_type_pattern(types),
                "examples": types,
            },
            "size": {
                "description": (
                    "Exact byte length; signed as Content-Length. A JSON Schema integer: `10`, `10.0` "
                    "and `1e1` are the same integer, `10.5` is not. At most MAX_FILE_BYTES "
                    f"(default and hard maximum {config.S3_SINGLE_PUT_LIMIT_BYTES}, S3's single-PUT limit)."
                ),
                "type": "integer",
                "minimum": 1,
                "maximum": config.S3_SINGLE_PUT_LIMIT_BYTES,
            },
        },
        "allOf": per_extension,
    }


def upload_request_schema(*, health_check: bool) -> dict[str, Any]:
    if health_check:
        job_id: dict[str, Any] = {
            "description": f"Required; only the reserved `{keys.HEALTH_CHECK_JOB_PREFIX}` jobIds.",
            "type": "string",
            "pattern": health_check_job_id_pattern(),
        }
    else:
        job_id = {
            "description": (
                "Generated (128 random bits, hex) when absent or null. The same jobId (and JWT "
                "subject) signs into the same prefix: every file but the `.m3u8` playlists is "
                "create-only (412 on overwrite), so a re-upload gives them new names or uses a new "
                f"jobId. jobIds starting with `{keys.HEALTH_CHECK_JOB_PREFIX}` are reserved for the "
                "health check (403 reserved_job_id). Without JWT anyone who knows a jobId (it is in "
                "every public URL) can sign URLs for that job at any time; set AUTH_REQUIRED=true."
            ),
            "type": ["string", "null"],
            "pattern": job_id_pattern(),
            "not": {"type": "string", "pattern": f"^{re.escape(keys.HEALTH_CHECK_JOB_PREFIX)}"},
        }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["jobId", "files"] if health_check else ["files"],
        "properties": {
            "jobId": job_id,
            "files": {
                "type": "array",
                "minItems": 1,
                "maxItems": config.MAX_FILES_LIMIT,
                "uniqueItems": True,
                "x-unique-by": "path",
                "description": (
                    f"At most MAX_FILES entries: configured per stack, default {config.DEFAULT_MAX_FILES}, "
                    f"hard maximum {config.MAX_FILES_LIMIT} (MAX_FILES_LIMIT: the most files whose "
                    "worst-case response fits Lambda's 6 MB limit); 413 too_many_files above the "
                    "configured value. The `path` of every entry must be unique: JSON Schema cannot "
                    "say unique-by-field (uniqueItems only catches identical entries), so "
                    "`x-unique-by: path` states it."
                ),
                "items": {"$ref": "#/components/schemas/FileRequest"},
            },
        },
    }


def upload_schema() -> dict[str, Any]:
    types = sorted(set(media.MEDIA_TYPES.values()))
    create_only_name, create_only_value = media.CREATE_ONLY_HEADER
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["path", "key", "method", "url", "headers", "publicUrl"],
        "properties": {
            "path": {"type": "string"},
            "key": {"type": "string"},
            "method": {"type": "string", "const": "PUT"},
            "url": {"type": "string", "pattern": signed_headers_pattern()},
            "headers": {
                "description": "Send exactly these with the PUT.",
                "type": "object",
                "additionalProperties": False,
                "required": ["Content-Type", "Content-Length", "Cache-Control", "Content-Encoding"],
                "properties": {
                    "Content-Type": {
                        "description": "The canonical (lower-case) type, whatever case the request used.",
                        "type": "string",
                        "enum": types,
                    },
                    "Content-Length": {"type": "string", "pattern": "^[1-9][0-9]*$"},
                    "Cache-Control": {
                        "type": "string",
                        "enum": [media.MANIFEST_CACHE_CONTROL, media.IMMUTABLE_CACHE_CONTROL],
                    },
                    "Content-Encoding": {
                        "description": "Signed, so no client can store another encoding (viewers get it).",
                        "type": "string",
                        "const": media.CONTENT_ENCODING,
                    },
                    create_only_name: {
                        "description": (
                            "Every file but the playlists: create-only, signed; S3 answers 412 "
                            "PreconditionFailed if the key exists."
                        ),
                        "type": "string",
                        "const": create_only_value,
                    },
                },
                "if": {"properties": {"Cache-Control": {"const": media.IMMUTABLE_CACHE_CONTROL}}},
                "then": {"required": [create_only_name]},
                "else": {"not": {"required": [create_only_name]}},
            },
            "publicUrl": {"type": "string"},
        },
    }


def schemas() -> dict[str, Any]:
    error_codes = [
        "invalid_json",
        "validation_failed",
        "unauthorized",
        "forbidden",
        "reserved_job_id",
        "payload_too_large",
        "too_many_files",
        "job_busy",
        "not_found",
        "internal_error",
        "unavailable",
    ]
    prefix_pattern = f"^({SEGMENT_CHARS}+/)*(sub\\.[0-9a-f]{{32}}/)?[A-Za-z0-9][A-Za-z0-9_-]{{0,63}}/$"
    return {
        "UploadRequest": upload_request_schema(health_check=False),
        "HealthCheckRequest": upload_request_schema(health_check=True),
        "FileRequest": file_request_schema(),
        "UploadResponse": {
            "type": "object",
            "additionalProperties": False,
            "required": ["jobId", "prefix", "expiresIn", "expiresAt", "playbackUrl", "uploads"],
            "properties": {
                "jobId": {"type": "string", "pattern": job_id_pattern()},
                "prefix": {
                    "description": (
                        "PREFIX + jobId + '/', or PREFIX + 'sub.' + HMAC-SHA256(key, sub) (32 hex) + "
                        "'/' + jobId + '/' for a JWT subject (never on /healthcheck)."
                    ),
                    "type": "string",
                    "pattern": prefix_pattern,
                },
                "expiresIn": {
                    "type": "integer",
                    "minimum": config.MIN_URL_TTL_SECONDS,
                    "maximum": config.MAX_URL_TTL_SECONDS,
                },
                "expiresAt": {
                    "type": "string",
                    "format": "date-time",
                    "pattern": "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$",
                },
                "playbackUrl": {
                    "description": "publicUrl of master.m3u8 if uploaded, else of the first top-level .m3u8, else null.",
                    "type": ["string", "null"],
                },
                "uploads": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": config.MAX_FILES_LIMIT,
                    "items": {"$ref": "#/components/schemas/Upload"},
                },
            },
        },
        "Upload": upload_schema(),
        "Error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["code", "message", "details"],
                    "properties": {
                        "code": {"type": "string", "enum": error_codes},
                        "message": {"type": "string"},
                        "details": {
                            "type": "array",
                            "maxItems": contract.MAX_DETAILS,
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["field", "problem"],
                                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
                            },
                        },
                    },
                }
            },
        },
        "GatewayNotFound": {
            "description": "API Gateway's own answer for a method or path no route matches.",
            "type": "object",
            "additionalProperties": False,
            "required": ["message"],
            "properties": {"message": {"type": "string", "const": "Not Found"}},
        },
    }
