"""The jobs function: follows every upload job from S3's events, answers for it, deletes it.

One Lambda (handler ``jobs_handler.handler``, shipped in the signer's zip: it shares the record,
key layout, config and responses) with three kinds of event:

- EventBridge ``Object Created`` from the media bucket (default bus, rule filtered on the bucket and
  the upload prefix): the file is checked against the record (key, size, type) and marked arrived;
  the arrival that completes the job puts ``Upload Job Completed`` on the custom bus.
- The HTTP API's ``GET /jobs/{jobId}`` and ``DELETE /jobs/{jobId}`` (the signer's authorizer; a
  JWT subject addresses only its own jobs), and their ``/healthcheck/jobs/{jobId}`` twins
  (AWS_IAM, the health check's role, its reserved jobIds only).
- A schedule: jobs whose URLs expired with files missing become ``expired`` (``Upload Job Expired``).

AWS calls other than DynamoDB go through :class:`Services` (boto3 on Lambda; the local stack
passes its own). Each outcome is one JSON log line; counts are CloudWatch EMF metrics.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING or __package__:
    from . import events, jobs
    from .config import Config, ConfigError, load_config
    from .contract import (
        _JOB_ID,
        HEALTH_CHECK_ROUTE,
        JOB_ID_PATTERN,
        Problem,
        is_health_check_caller,
        subject_of,
    )
    from .dynamodb import DynamoDBError, Table, jobs_table
    from .keys import HEALTH_CHECK_JOB_PREFIX, subject_hash
    from .responses import error, respond
    from .subject_key import subject_key
else:
    import events
    import jobs
    from config import Config, ConfigError, load_config
    from contract import (
        _JOB_ID,
        HEALTH_CHECK_ROUTE,
        JOB_ID_PATTERN,
        Problem,
        is_health_check_caller,
        subject_of,
    )
    from dynamodb import DynamoDBError, Table, jobs_table
    from keys import HEALTH_CHECK_JOB_PREFIX, subject_hash
    from responses import error, respond
    from subject_key import subject_key

STATUS_ROUTE = "GET /jobs/{jobId}"
DELETE_ROUTE = "DELETE /jobs/{jobId}"
HEALTH_CHECK_STATUS_ROUTE = "GET /healthcheck/jobs/{jobId}"
HEALTH_CHECK_DELETE_ROUTE = "DELETE /healthcheck/jobs/{jobId}"
ROUTES = (STATUS_ROUTE, DELETE_ROUTE, HEALTH_CHECK_STATUS_ROUTE, HEALTH_CHECK_DELETE_ROUTE)
HEALTH_CHECK_ROUTES = (HEALTH_CHECK_STATUS_ROUTE, HEALTH_CHECK_DELETE_ROUTE)
METRICS_NAMESPACE = "LuxVideo/Jobs"
SWEEP_PAGES = 10  # at most 1,000 jobs expired per run; the next run takes the rest


class Services(Protocol):
    """The AWS calls the jobs function makes besides its table."""

    def head(self, key: str) -> tuple[int, str | None] | None:
        """(size, Content-Type) of an object, or None if there is none."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; how many there were."""

    def invalidate(self, path: str, reference: str) -> str | None:
        """One CDN invalidation of ``path`` (a ``/...*`` pattern); its id."""

    def publish(self, entries: list[dict[str, Any]]) -> None:
        """PutEvents on the custom bus; raises if any entry failed."""

    def cancel_transcode(self, transcode_job_id: str) -> bool:
        """Cancel a MediaConvert job; False if it had already finished (or is unknown)."""


class AwsServices:
    """boto3 clients, created on first use (the Lambda runtime ships boto3; ``clients`` lets tests
    hand in stubbed ones). The transcoding function's services extend these."""

    def __init__(self, config: Config, clients: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self._clients: dict[str, Any] = dict(clients or {})

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            endpoint = self.config.endpoint_url if service == "s3" else None
            self._clients[service] = boto3.client(
                service, region_name=self.config.region, endpoint_url=endpoint
            )
        return self._clients[service]

    def head(self, key: str) -> tuple[int, str | None] | None:
        from botocore.exceptions import ClientError

        try:
            reply = self._client("s3").head_object(Bucket=self.config.bucket, Key=key)
        except ClientError as failure:
            if failure.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(reply["ContentLength"]), reply.get("ContentType")

    def delete_prefix(self, prefix: str) -> int:
        s3 = self._client("s3")
        deleted = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.config.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                reply = s3.delete_objects(Bucket=self.config.bucket, Delete={"Objects": keys, "Quiet": True})
                if reply.get("Errors"):
                    raise RuntimeError(f"DeleteObjects failed for {len(reply['Errors'])} keys")
                deleted += len(keys)
        return deleted

    def invalidate(self, path: str, reference: str) -> str | None:
        if self.config.distribution_id is None:
            return None
        reply = self._client("cloudfront").create_invalidation(
            DistributionId=self.config.distribution_id,
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": [path]}, "CallerReference": reference},
        )
        return str(reply["Invalidation"]["Id"])

    def publish(self, entries: list[dict[str, Any]]) -> None:
        if self.config.event_bus_name is None or not entries:
            return
        bus = self.config.event_bus_name
        reply = self._client("events").put_events(
            Entries=[{**entry, "EventBusName": bus} for entry in entries]
        )
        if reply.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents failed for {reply['FailedEntryCount']} entries")

    def cancel_transcode(self, transcode_job_id: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client("mediaconvert").cancel_job(Id=transcode_job_id)
        except ClientError as failure:  # finished, already canceled, or gone: nothing to stop
            if failure.response.get("Error", {}).get("Code") in ("ConflictException", "NotFoundException"):
                return False
            raise
        return True


_SERVICES: dict[Config, AwsServices] = {}


def handler(
    event: dict[str, Any],
    context: Any,
    environ: Mapping[str, str] | None = None,
    services: Services | None = None,
    now: float | None = None,
) -> dict[str, Any] | None:
    """The Lambda entry point; ``environ``, ``services`` and ``now`` stand in for Lambda's on
    other hosts (the local stack, tests)."""
    now = time.time() if now is None else now
    config = load_config(os.environ if environ is None else environ)
    table = jobs_table(config, "jobs function")
    if services is None:
        services = _SERVICES.setdefault(config, AwsServices(config))
    if "routeKey" in event:
        return api(event, config, table, services, now=now)
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        object_created(event, config, table, services, now=now)
        return None
    if event.get("detail-type") == "Scheduled Event":
        sweep(config, table, services, now=now)
        return None
    _log({"outcome": "ignored", "detailType": event.get("detail-type"), "source": event.get("source")})
    return None


# --- S3's events -----------------------------------------------------------------------------------


def object_created(
    event: Mapping[str, Any], config: Config, table: Table, services: Services, *, now: float
) -> None:
    """Mark one file arrived. Raises on a failed AWS call: EventBridge's retries then apply."""
    detail = event.get("detail") or {}
    key = str((detail.get("object") or {}).get("key", ""))
    bucket = (detail.get("bucket") or {}).get("name")
    ref = jobs.object_ref(config.prefix, key) if bucket == config.bucket else None
    if ref is None:
        _log({"outcome": "not_a_job_file", "key": key[:300], "bucket": bucket})
        return
    head = services.head(key)
    if head is None:
        _log({"outcome": "gone", "jobId": ref.job_id, "path": ref.path})  # deleted since
        return
    size, content_type = head
    arrival = jobs.mark_arrived(table, ref, size=size, content_type=content_type, now=now)
    _log(
        {
            "outcome": arrival.outcome,
            "jobId": ref.job_id,
            "path": ref.path,
            "size": size,
            "reason": arrival.reason,
        }
    )
    if arrival.outcome == "completed" and arrival.record is not None:
        announce(events.UPLOAD_JOB_COMPLETED, arrival.record, config, table, services, now=now)
        _metric("JobsCompleted")
    elif arrival.outcome == "rejected" and arrival.record is not None:
        _metric("FilesRejected")


def announce(
    detail_type: str,
    record: Mapping[str, Any],
    config: Config,
    table: Table,
    services: Services,
    *,
    now: float,
) -> None:
    """Put the event, then note it was announced (a retry after a failed put announces again)."""
    services.publish([events.job_event(detail_type, record, public_base_url=config.public_base_url, now=now)])
    if detail_type == events.UPLOAD_JOB_COMPLETED:
        table.update({"pk": record["pk"]}, "SET announcedAt = :now", values={":now": int(now)}, now=now)


def sweep(config: Config, table: Table, services: Services, *, now: float) -> int:
    """Expire jobs whose URLs expired with files missing; how many were expired."""
    expired = 0
    for _ in range(SWEEP_PAGES):
        candidates = jobs.expired_candidates(table, now=now)
        for pk in candidates:
            record = jobs.mark_expired(table, pk, now=now)
            if record is not None:
                announce(events.UPLOAD_JOB_EXPIRED, record, config, table, services, now=now)
                expired += 1
        if len(candidates) < 100:
            break
    _log({"outcome": "swept", "expired": expired})
    _metric("JobsExpired", expired)
    return expired


# --- the HTTP API ----------------------------------------------------------------------------------


class _Refusal(Exception):
    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response


def api(
    event: Mapping[str, Any], config: Config, table: Table, services: Services, *, now: float
) -> dict[str, Any]:
    started = time.perf_counter()
    route = str(event.get("routeKey"))
    log: dict[str, Any] = {"route": route, "jobId": None}
    try:
        pk, job_id = _authorize(event, route, config, now=now)
        log["jobId"] = job_id
        record = table.get({"pk": pk}, now=now)
        if record is None:
            raise _Refusal(error(404, "not_found", "No such job."))
        if route in (STATUS_ROUTE, HEALTH_CHECK_STATUS_ROUTE):
            response = respond(200, jobs.status_view(record, public_base_url=config.public_base_url, now=now))
        else:
            response = respond(200, delete_job(record, config, table, services, now=now))
        log["outcome"] = "ok"
    except _Refusal as refusal:
        response = refusal.response
        log["outcome"] = json.loads(response["body"])["error"]["code"]
    except (ConfigError, DynamoDBError) as failure:
        response = error(503, "unavailable", "The job service is unavailable; retry.")
        response["headers"]["Retry-After"] = "1"
        log.update(outcome="unavailable", detail=str(failure))
    except Exception as failure:  # a bug still answers in the contract's shape
        import traceback

        response = error(500, "internal_error", "The job service failed.")
        log.update(outcome="bug", detail=repr(failure)[:500], trace=traceback.format_exc(limit=5))
    log.update(status=response["statusCode"], durationMs=round((time.perf_counter() - started) * 1000, 3))
    _log(log)
    return response


def _authorize(event: Mapping[str, Any], route: str, config: Config, *, now: float) -> tuple[str, str]:
    """The job's table key for this caller: a subject reaches only its own folder."""
    if route not in ROUTES:
        raise _Refusal(error(404, "not_found", "No such route."))
    context = event.get("requestContext") or {}
    job_id = (event.get("pathParameters") or {}).get("jobId")
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        problem = Problem("jobId", f"must be a string matching {JOB_ID_PATTERN}")
        raise _Refusal(error(400, "validation_failed", "The jobId is not valid.", [problem]))
    if route in HEALTH_CHECK_ROUTES:
        if not is_health_check_caller(context, config.health_check_role_name):
            raise _Refusal(
                error(403, "forbidden", f"Only the health check may use {HEALTH_CHECK_ROUTE}/jobs.")
            )
        if not job_id.startswith(HEALTH_CHECK_JOB_PREFIX):
            raise _Refusal(error(404, "not_found", "No such job."))
        return jobs.job_pk(job_id, None), job_id
    subject = subject_of(context)
    if subject is None:
        if config.auth_required:
            refusal = error(401, "unauthorized", "A valid bearer token is required.")
            refusal["headers"]["WWW-Authenticate"] = "Bearer"
            raise _Refusal(refusal)
        if job_id.startswith(HEALTH_CHECK_JOB_PREFIX):
            raise _Refusal(error(404, "not_found", "No such job."))
        return jobs.job_pk(job_id, None), job_id
    return jobs.job_pk(job_id, subject_hash(subject_key(config, now=now), subject)), job_id


def delete_job(
    record: Mapping[str, Any], config: Config, table: Table, services: Services, *, now: float
) -> dict[str, Any]:
    """Delete the job's objects, invalidate its path at the CDN once, mark it deleted.

    Idempotent: deleting again deletes whatever a late upload put back. The health check's jobs
    are not invalidated: their paths are never reused, and past 1,000 paths a month each
    invalidation is billed."""
    prefix = str(record["prefix"])
    canceled = False
    if record.get("status") == jobs.PROCESSING and record.get("mediaConvertJobId"):
        # Stop paying for outputs nobody will see (their state changes are then ignored).
        canceled = services.cancel_transcode(str(record["mediaConvertJobId"]))
    deleted = services.delete_prefix(prefix)
    invalidation = None
    if not str(record["jobId"]).startswith(HEALTH_CHECK_JOB_PREFIX) and (
        deleted or record.get("status") != jobs.DELETED
    ):
        invalidation = services.invalidate(f"/{prefix}*", f"delete-{record['pk']}-{int(now * 1000)}")
    updated = jobs.mark_deleted(table, str(record["pk"]), now=now)
    if record.get("status") != jobs.DELETED:
        services.publish(
            [
                events.job_event(
                    events.UPLOAD_JOB_DELETED, updated, public_base_url=config.public_base_url, now=now
                )
            ]
        )
    view = jobs.status_view(updated, public_base_url=config.public_base_url, now=now)
    result = {**view, "objectsDeleted": deleted, "invalidationId": invalidation}
    return {**result, "transcodeCanceled": True} if canceled else result


# --- logs and metrics ------------------------------------------------------------------------------


def _log(fields: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(fields, separators=(",", ":"), default=str) + "\n")


def _metric(name: str, value: int = 1) -> None:
    """One CloudWatch EMF line: the metric ``name`` in :data:`METRICS_NAMESPACE` by function name."""
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
    _log(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {"Namespace": METRICS_NAMESPACE, "Dimensions": [["FunctionName"]],
                     "Metrics": [{"Name": name, "Unit": "Count"}]}
                ],
            },
            "FunctionName": function,
            name: value,
        }
    )  # fmt: skip
