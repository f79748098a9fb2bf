"""The job routes' part of docs/signer-openapi.yaml (``tools/gen_docs.py`` merges it): status and
deletion of an upload job (``lambda_src/sign_uploads/jobs_handler.py``, docs/jobs.md), the app's
``GET|DELETE /jobs/{jobId}`` and the health check's IAM twins. Statuses come from ``jobs.py``."""

from __future__ import annotations

from typing import Any

from lambda_src.sign_uploads import jobs, jobs_handler
from tools.signer_openapi import job_id_pattern

_JOB_ID = {
    "name": "jobId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": job_id_pattern()},
}
_ISO = {"type": ["string", "null"], "format": "date-time"}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _operation(operation_id: str, summary: str, schema: str, *, health_check: bool) -> dict[str, Any]:
    refusals = (
        {"403": _error("`forbidden`: the caller is not the health check's role.")}
        if health_check
        else {"401": _error("`unauthorized`: AUTH_REQUIRED is true and no JWT subject arrived.")}
    )
    return {
        "operationId": operation_id,
        "summary": summary,
        "security": [{"sigv4": []}] if health_check else [{}, {"bearer": []}],
        "responses": {
            "200": {
                "description": "The job as it now stands.",
                "headers": {"Cache-Control": {"$ref": "#/components/headers/NoStore"}},
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
            },
            "400": _error("`validation_failed`: the jobId does not match the pattern."),
            **refusals,
            "404": _error(
                "`not_found`: no such job for this caller (another subject's job, or one that never "
                "existed or whose record expired: the same answer)."
            ),
            "500": _error("`internal_error`: the function failed."),
            "503": _error("`unavailable`: the job store failed; retry (sends `Retry-After`)."),
        },
    }


def _path(health_check: bool) -> dict[str, Any]:
    who = "HealthCheck" if health_check else ""
    return {
        "parameters": [_JOB_ID],
        "get": _operation(f"get{who}Job", "A job's status: its files, bytes and playback URL", "JobStatus",
                          health_check=health_check),
        "delete": _operation(f"delete{who}Job", "Delete every object of the job and invalidate its path at the CDN",
                             "DeletedJob", health_check=health_check),
    }  # fmt: skip


def jobs_paths() -> dict[str, Any]:
    paths = {route.split(" ", 1)[1] for route in jobs_handler.ROUTES}
    return {path: _path(path.startswith("/healthcheck/")) for path in sorted(paths)}


def jobs_schemas() -> dict[str, Any]:
    status = {
        "type": "object",
        "required": [
            "jobId",
            "status",
            "files",
            "bytes",
            "playbackUrl",
            "createdAt",
            "completedAt",
            "expiresAt",
        ],
        "properties": {
            "jobId": {"type": "string", "pattern": job_id_pattern()},
            "status": {"enum": list(jobs.STATUSES)},
            "files": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["path", "status"],
                    "properties": {
                        "path": {"type": "string", "description": "The signed relative path."},
                        "status": {"enum": [jobs.FILE_PENDING, jobs.FILE_ARRIVED, jobs.FILE_REJECTED]},
                    },
                },
            },
            "bytes": {"type": "integer", "minimum": 0, "description": "The sum of the arrived files' sizes."},
            "playbackUrl": {"type": ["string", "null"]},
            "createdAt": _ISO,
            "completedAt": _ISO,
            "expiresAt": {**_ISO, "description": "When the job's upload URLs expire."},
            "prefix": {"type": "string"},
            "filesArrived": {"type": "integer", "minimum": 0},
            "filesExpected": {"type": "integer", "minimum": 0},
            "retainedUntil": {
                **_ISO,
                "description": "When the record is deleted (after the objects' own expiry).",
            },
            "renditions": {"type": "array", "description": "Cloud transcoding only (docs/transcoding.md)."},
            "error": {"type": "object", "required": ["code", "message"]},
        },
    }
    deleted = {
        "allOf": [{"$ref": "#/components/schemas/JobStatus"}],
        "type": "object",
        "required": ["objectsDeleted", "invalidationId"],
        "properties": {
            "objectsDeleted": {"type": "integer", "minimum": 0},
            "invalidationId": {"type": ["string", "null"], "description": "The CDN invalidation (none for the health check's jobs)."},
            "transcodeCanceled": {"const": True, "description": "Present when the job was processing: its MediaConvert job was canceled."},
        },
    }  # fmt: skip
    return {"JobStatus": status, "DeletedJob": deleted}
