"""The local twin of the cloud's transcoding rule: the processor starts on a raw upload's event.

``subscribe_processor(bus, app, s3, bucket)`` subscribes the processor's ``on_job_event``
(``processor/subscriber.py``) to the local bus (``local/bus.py`` ``LocalBus.subscribe``), with a
fetcher that copies the raw video out of the emulated bucket. The processor app must be created
with that fetcher (``create_app(..., fetch_source=s3_fetcher(s3, bucket))``) for ``on_job_event``
to exist. A refused event (the processor's queue is full) is logged: the upload job stays
``complete`` and the app can ``POST /api/videos`` instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from lambda_src.sign_uploads import jobs_handler, media
from processor.subscriber import SourceFetcher

log = logging.getLogger(__name__)


class Bus(Protocol):
    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> None: ...


def s3_fetcher(s3: Any, bucket: str) -> SourceFetcher:
    """Copy an object of the (emulated) media bucket to a file; its size."""

    def fetch(key: str, destination: Path) -> int:
        s3.download_file(bucket, key, str(destination))
        return destination.stat().st_size

    return fetch


def subscribe_processor(bus: Bus, on_job_event: Callable[[Mapping[str, Any]], str | None]) -> None:
    def deliver(envelope: dict[str, Any]) -> None:
        try:
            job_id = on_job_event(envelope)
        except Exception:
            log.exception("the processor could not take %s", envelope.get("detail-type"))
            return
        if job_id is not None:
            log.info("processor job %s started by %s", job_id, envelope.get("detail-type"))

    bus.subscribe(deliver)


# The processor's statuses as the cloud's job record shows them (its ``queued`` is MediaConvert's
# SUBMITTED: the record already says ``processing``).
_AS_CLOUD = {"queued": "processing"}


def with_processor_status(
    invoke: Callable[[dict[str, Any], Any], dict[str, Any]], store: Any
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The local ``GET /jobs/{jobId}``, as the cloud's answers once transcoding writes into the
    record: for a job whose raw ``source.<ext>`` the processor took, the processor's status,
    progress, playback URL, renditions and error replace the upload's (``processing``, ``ready``,
    ``failed``), so the app polls one route in both places. Other jobs, routes and answers pass."""

    def status(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response = invoke(event, context)
        if event.get("routeKey") != jobs_handler.STATUS_ROUTE or response.get("statusCode") != 200:
            return response
        view = json.loads(response["body"])
        has_source = any(media.is_source(f["path"]) for f in view.get("files", []))
        job = store.get(view["jobId"]) if has_source and view["status"] not in _FINAL_UPLOAD else None
        if job is None:
            return response
        processed = job.to_api()
        processed["status"] = _AS_CLOUD.get(processed["status"], processed["status"])
        view.update(
            {key: processed[key] for key in ("status", "progress", "playbackUrl", "renditions", "error")}
        )
        return {**response, "body": json.dumps(view, separators=(",", ":"))}

    return status


_FINAL_UPLOAD = ("deleted", "expired", "signed")
