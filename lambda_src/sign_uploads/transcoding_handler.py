"""The transcoding function: submits a job's raw video to MediaConvert and follows it to the end.

One Lambda (handler ``transcoding_handler.handler``, shipped in the signer's zip: it shares the
job record, events and config), two kinds of event:

- ``Upload Job Completed`` from the stack's custom bus, for jobs with a ``source.<ext>`` (rule on
  ``detail.source.path``): the size (from the record) and the duration (MediaConvert ``Probe``)
  are checked against the limits, then one ``CreateJob`` on the stack's queue; the job becomes
  ``processing``. A source over a limit is never submitted: the job fails (``Job Failed``).
- ``MediaConvert Job State Change`` from the default bus (rule on the stack's queue): progress,
  then ``ready`` (outputs copied in place with the uploads' ``Content-Type`` and
  ``Cache-Control``, renditions, estimated cost; ``Job Ready``) or ``failed`` (``Job Failed``).

boto3 is used here (not latency-critical). Raises on a failed AWS call: EventBridge retries.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING or __package__:
    from . import events, jobs, jobs_handler, media, transcoding
    from .config import Config, load_config
    from .dynamodb import Table, jobs_table
else:
    import events
    import jobs
    import jobs_handler
    import media
    import transcoding
    from config import Config, load_config
    from dynamodb import Table, jobs_table

MEDIACONVERT_SOURCE = "aws.mediaconvert"
STATE_CHANGE = "MediaConvert Job State Change"
METRICS_NAMESPACE = "LuxVideo/Transcoding"


class Services(Protocol):
    def probe(self, file_url: str) -> dict[str, Any]:
        """MediaConvert ``Probe`` of one file."""

    def create_job(self, request: dict[str, Any]) -> str:
        """MediaConvert ``CreateJob``; the job's id."""

    def list_keys(self, prefix: str) -> list[str]:
        """Every object key under ``prefix``."""

    def copy_in_place(self, key: str, content_type: str, cache_control: str) -> None:
        """Rewrite one object's metadata (``CopyObject`` onto itself, ``MetadataDirective=REPLACE``)."""

    def publish(self, entries: list[dict[str, Any]]) -> None:
        """PutEvents on the custom bus; raises if any entry failed."""


class AwsServices(jobs_handler.AwsServices):
    """The jobs function's boto3 clients and PutEvents, plus MediaConvert and the S3 calls below."""

    def probe(self, file_url: str) -> dict[str, Any]:
        return dict(self._client("mediaconvert").probe(InputFiles=[{"FileUrl": file_url}]))

    def create_job(self, request: dict[str, Any]) -> str:
        return str(self._client("mediaconvert").create_job(**request)["Job"]["Id"])

    def list_keys(self, prefix: str) -> list[str]:
        pages = (
            self._client("s3")
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.config.bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def copy_in_place(self, key: str, content_type: str, cache_control: str) -> None:
        self._client("s3").copy_object(
            Bucket=self.config.bucket,
            Key=key,
            CopySource={"Bucket": self.config.bucket, "Key": key},
            MetadataDirective="REPLACE",
            ContentType=content_type,
            CacheControl=cache_control,
            ContentEncoding=media.CONTENT_ENCODING,
        )


_SERVICES: dict[Config, AwsServices] = {}


def handler(
    event: dict[str, Any],
    context: Any,
    environ: Mapping[str, str] | None = None,
    services: Services | None = None,
    now: float | None = None,
) -> None:
    now = time.time() if now is None else now
    env = os.environ if environ is None else environ
    config = load_config(env)
    settings = transcoding.Settings.from_environ(env)
    table = jobs_table(config, "transcoding function")
    if services is None:
        services = _SERVICES.setdefault(config, AwsServices(config))
    source, detail_type = event.get("source"), event.get("detail-type")
    if source == events.SOURCE and detail_type == events.UPLOAD_JOB_COMPLETED:
        submit(event.get("detail") or {}, config, settings, table, services, now=now)
    elif source == MEDIACONVERT_SOURCE and detail_type == STATE_CHANGE:
        state_change(event.get("detail") or {}, config, settings, table, services, now=now)
    else:
        _log({"outcome": "ignored", "detailType": detail_type, "source": source})


# --- submitting -----------------------------------------------------------------------------------


def submit(
    detail: Mapping[str, Any],
    config: Config,
    settings: transcoding.Settings,
    table: Table,
    services: Services,
    *,
    now: float,
) -> str | None:
    """Check the source and create its MediaConvert job; the job's id (None: nothing submitted)."""
    job_id = str(detail.get("jobId", ""))
    key = str((detail.get("source") or {}).get("key", ""))
    ref = jobs.object_ref(config.prefix, key)
    if ref is None or ref.job_id != job_id or not media.is_source(ref.path):
        _log({"outcome": "not_a_source", "jobId": job_id[:64], "key": key[:300]})
        return None
    record = table.get({"pk": ref.pk}, now=now)
    if record is None or record.get("status") != jobs.COMPLETE:
        _log({"outcome": "not_waiting", "jobId": job_id, "status": (record or {}).get("status")})
        return None
    size = int((record.get("files", {}).get(ref.path) or {}).get("a", 0))
    job_prefix = str(record["prefix"])
    try:
        transcoding.check_limits(size, None, settings)
        info = transcoding.source_info(_probe(services, f"s3://{config.bucket}/{key}"))
        transcoding.check_limits(size, info, settings)
    except transcoding.Refusal as refusal:
        error = {"code": refusal.code, "message": refusal.message}
        _fail(record, error, config, table, services, now=now, allowed_from=(jobs.COMPLETE,))
        _log({"outcome": "refused", "jobId": job_id, "code": refusal.code, "bytes": size})
        _metric("SourcesRefused")
        return None
    request = transcoding.create_job_request(
        transcoding.load_template(),
        bucket=config.bucket,
        job_prefix=job_prefix,
        source_path=ref.path,
        info=info,
        settings=settings,
        user_metadata={"pk": ref.pk, "jobId": job_id},
        token=transcoding.request_token(ref.pk, record.get("completedAt")),
    )
    mediaconvert_job = services.create_job(request)
    source = {"path": ref.path, "bytes": size, "durationSeconds": round(info.duration, 3),
              "width": info.width, "height": info.height}  # fmt: skip
    jobs.set_status(
        table, ref.pk, jobs.PROCESSING, now=now,
        fields={"progress": 0.0, "renditions": [], "source": source, "mediaConvertJobId": mediaconvert_job,
                "submittedAt": int(now)},
    )  # fmt: skip
    _log({"outcome": "submitted", "jobId": job_id, "mediaConvertJobId": mediaconvert_job, **source})
    _metric("JobsSubmitted")
    return mediaconvert_job


def _probe(services: Services, file_url: str) -> dict[str, Any]:
    """``Probe``; a file MediaConvert refuses to read is not a video (other failures raise)."""
    try:
        return services.probe(file_url)
    except Exception as failure:
        code = str(getattr(failure, "response", {}).get("Error", {}).get("Code", ""))
        if code in ("BadRequestException", "UnprocessableEntityException"):
            message = f"MediaConvert cannot read the source: {failure}"
            raise transcoding.Refusal(transcoding.NOT_A_VIDEO, message) from failure
        raise


# --- following the MediaConvert job ---------------------------------------------------------------


def state_change(
    detail: Mapping[str, Any],
    config: Config,
    settings: transcoding.Settings,
    table: Table,
    services: Services,
    *,
    now: float,
) -> str | None:
    """Apply one state change to the job; the job's new status (None: nothing changed)."""
    if detail.get("queue") != settings.queue_arn:
        _log({"outcome": "other_queue", "queue": str(detail.get("queue"))[:200]})
        return None
    pk = str((detail.get("userMetadata") or {}).get("pk", ""))
    status = detail.get("status")
    log: dict[str, Any] = {"mediaConvertJobId": detail.get("jobId"), "mediaConvertStatus": status, "pk": pk}
    record = table.get({"pk": pk}, now=now) if pk else None
    if record is None:
        _log({**log, "outcome": "unknown_job"})
        return None
    updated: dict[str, Any] | None = None
    if status in ("PROGRESSING", "STATUS_UPDATE"):
        progress = transcoding.progress_of(detail)
        fields = {"mediaConvertJobId": detail.get("jobId")}
        if progress is not None:
            fields["progress"] = progress
        updated = jobs.set_status(table, pk, jobs.PROCESSING, now=now, fields=fields)
    elif status == "COMPLETE":
        updated = _ready(detail, record, config, settings, table, services, now=now)
    elif status in ("ERROR", "CANCELED"):
        updated = _fail(record, transcoding.failure(detail), config, table, services, now=now)
        if updated is not None:
            _metric("JobsFailed")
    _log(
        {
            **log,
            "outcome": "applied" if updated else "stale_or_ignored",
            "status": (updated or {}).get("status"),
        }
    )
    return None if updated is None else str(updated["status"])


def _ready(
    detail: Mapping[str, Any],
    record: Mapping[str, Any],
    config: Config,
    settings: transcoding.Settings,
    table: Table,
    services: Services,
    *,
    now: float,
) -> dict[str, Any] | None:
    if record.get("status") not in (jobs.COMPLETE, jobs.PROCESSING):
        return None
    job_prefix = str(record["prefix"])
    uploaded = set(record.get("files", {}))
    # MediaConvert cannot set Cache-Control: every output gets the uploads' metadata before the job
    # says ready, so the CDN and players never see an output without it.
    copied = 0
    for key in services.list_keys(job_prefix):
        path = key[len(job_prefix) :]
        content_type = media.content_type_for(path)
        if path in uploaded or content_type is None:
            continue
        services.copy_in_place(key, content_type, media.cache_control_for(path))
        copied += 1
    args = {"bucket": config.bucket, "job_prefix": job_prefix}
    thumbnail = transcoding.thumbnail_path(detail, **args)
    fields: dict[str, Any] = {
        "progress": 1.0,
        "playbackPath": transcoding.MASTER_PLAYLIST,
        "renditions": transcoding.renditions(detail, base_url=config.public_base_url, **args),
        "estimatedCost": transcoding.estimated_cost(detail, settings),
        "outputsCopied": copied,
    }
    if thumbnail is not None:
        fields["thumbnailUrl"] = f"{config.public_base_url}/{job_prefix}{thumbnail}"
    updated = jobs.set_status(table, str(record["pk"]), jobs.READY, now=now, fields=fields)
    if updated is not None:
        services.publish(
            [events.job_event(events.JOB_READY, updated, public_base_url=config.public_base_url, now=now)]
        )
        cost = fields["estimatedCost"]
        _metric("JobsReady")
        _metric("OutputMinutes", cost["outputMinutes"]["sd"] + cost["outputMinutes"]["hd"], unit="None")
    return updated


def _fail(
    record: Mapping[str, Any],
    error: dict[str, Any],
    config: Config,
    table: Table,
    services: Services,
    *,
    now: float,
    allowed_from: tuple[str, ...] = (jobs.COMPLETE, jobs.PROCESSING),
) -> dict[str, Any] | None:
    updated = jobs.set_status(
        table, str(record["pk"]), jobs.FAILED, now=now, fields={"error": error}, allowed_from=allowed_from
    )
    if updated is not None:
        services.publish(
            [events.job_event(events.JOB_FAILED, updated, public_base_url=config.public_base_url, now=now)]
        )
    return updated


# --- logs and metrics ------------------------------------------------------------------------------


def _log(fields: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(fields, separators=(",", ":"), default=str) + "\n")


def _metric(name: str, value: float = 1, unit: str = "Count") -> None:
    """One CloudWatch EMF line: ``name`` in :data:`METRICS_NAMESPACE` by function name."""
    _log(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {"Namespace": METRICS_NAMESPACE, "Dimensions": [["FunctionName"]],
                     "Metrics": [{"Name": name, "Unit": unit}]}
                ],
            },
            "FunctionName": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
            name: value,
        }
    )  # fmt: skip
