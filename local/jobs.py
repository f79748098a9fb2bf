"""The local jobs machinery: the very jobs function, fed and served as it is on AWS.

- DynamoDB and Secrets Manager: moto's, on a loopback port only (never the LAN, whatever ``HOST``
  says), serving those two services and nothing else (moto's S3 of this process stays behind the
  verifying front; no admin API). The jobs table comes from ``jobs.table_definition``; the subject
  key secret is created with a fresh random value.
- S3's ``Object Created`` events: the S3 front reports every successful PutObject,
  CompleteMultipartUpload and CopyObject; :meth:`LocalJobs.object_created` builds the event
  EventBridge delivers, and a worker thread (EventBridge is asynchronous) applies the cloud rule's
  filter (bucket + key prefix) and invokes ``jobs_handler.handler``, retrying a failed invocation.
- A sweep thread sends the scheduled ``Scheduled Event`` every ``LUX_LOCAL_SWEEP_SECONDS`` (30).
- :class:`LocalServices`: S3 through the local endpoint with the local credentials, invalidations
  recorded, events put on the local bus (``local.bus``).

``clock_offset`` (tests only) moves the jobs function's clock, so a test sees a job expire without
waiting for its URLs to.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from lambda_src.sign_uploads import jobs, jobs_handler
from local.bus import LocalBus
from local.servers import LOOPBACK

log = logging.getLogger(__name__)

DEFAULT_SWEEP_SECONDS = 30.0
DELIVERY_ATTEMPTS = 3  # EventBridge retries a failed Lambda invocation (with backoff)
TABLE_NAME = "lux-video-local-jobs"
SUBJECT_KEY_SECRET_NAME = "lux-video-local/subject-key"  # noqa: S105 - a name, not a secret


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass  # one line per DynamoDB call would drown make dev's output


class LocalAws:
    """moto's DynamoDB and Secrets Manager on 127.0.0.1:<free port>, dispatched by ``X-Amz-Target``."""

    def __init__(self, credentials: Mapping[str, str], region: str) -> None:
        from moto.moto_server.werkzeug_app import create_backend_app

        self._apps = {
            "DynamoDB_": create_backend_app("dynamodb"),
            "secretsmanager.": create_backend_app("secretsmanager"),
        }
        self._credentials, self._region = dict(credentials), region
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """Binds the loopback port on first use, so the signer's environment can name it."""
        if self._server is None:
            self._server = make_server(LOOPBACK, 0, self, threaded=True, request_handler=_QuietHandler)
        return f"http://{LOOPBACK}:{self._server.server_port}"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        for prefix, app in self._apps.items():
            if target.startswith(prefix):
                return app(environ, start_response)  # type: ignore[no-any-return]
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"__type":"UnknownOperationException"}']

    def start(self) -> None:
        self.endpoint_url  # noqa: B018 - binds the port
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread = None
            self._server.server_close()
            self._server = None

    def client(self, service: str) -> Any:
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=self._region, **self._credentials
        )

    def create_table(self, name: str) -> None:
        """The jobs table (moto's state is per process: a second stack in one process, in tests,
        shares the first one's table and secret; jobIds are random, so their jobs never meet)."""
        dynamodb = self.client("dynamodb")
        with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
            dynamodb.create_table(**jobs.table_definition(name))

    def create_secret(self, name: str, value: str) -> None:
        client = self.client("secretsmanager")
        with contextlib.suppress(client.exceptions.ResourceExistsException):
            client.create_secret(Name=name, SecretString=value)


class LocalServices:
    """The jobs function's AWS calls besides its table (``jobs_handler.Services``), on this machine."""

    def __init__(
        self, s3: Any, bucket: str, bus: LocalBus, on_invalidate: Callable[[str], None] | None
    ) -> None:
        self._s3, self._bucket, self._bus = s3, bucket, bus
        self._on_invalidate = on_invalidate
        self.invalidations: list[str] = []

    def head(self, key: str) -> tuple[int, str | None] | None:
        from botocore.exceptions import ClientError

        try:
            reply = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as failure:
            if failure.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(reply["ContentLength"]), reply.get("ContentType")

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted

    def invalidate(self, path: str, reference: str) -> str | None:
        self.invalidations.append(path)
        if self._on_invalidate is not None:
            self._on_invalidate(path)  # the local CDN keeps no cache today: nothing else to clear
        return f"LOCAL{len(self.invalidations)}"

    def publish(self, entries: list[dict[str, Any]]) -> None:
        self._bus.put(entries)

    def cancel_transcode(self, transcode_job_id: str) -> bool:
        """No local record carries a MediaConvert job (the local processor is not cancelled)."""
        return False


class LocalJobs:
    """Routes S3's events to the jobs function, sweeps on a schedule, answers the job routes."""

    def __init__(
        self,
        environment: Mapping[str, str],
        services: LocalServices,
        *,
        bucket: str,
        prefix: str,
        account: str,
        region: str,
        sweep_seconds: float = DEFAULT_SWEEP_SECONDS,
    ) -> None:
        self.environment = dict(environment)
        self.services = services
        self.bucket, self.prefix, self.account, self.region = bucket, prefix, account, region
        self.sweep_seconds = sweep_seconds
        self.clock_offset = 0.0  # tests only: see the module docstring
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def now(self) -> float:
        return time.time() + self.clock_offset

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._route_loop, name="local-jobs-events", daemon=True),
            threading.Thread(target=self._sweep_loop, name="local-jobs-sweep", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._events.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every S3 event reported so far was handled (tests, ``make verify`` locally)."""
        deadline = time.monotonic() + timeout
        while self._events.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    # --- S3's events -------------------------------------------------------------------------

    def object_created(
        self, bucket: str, key: str, *, size: int | None, etag: str, reason: str, request_id: str
    ) -> None:
        """The S3 front's report of a stored object: queued, never blocking the S3 response."""
        self._events.put(
            self.s3_event(bucket, key, size=size, etag=etag, reason=reason, request_id=request_id)
        )

    def s3_event(
        self, bucket: str, key: str, *, size: int | None, etag: str, reason: str, request_id: str
    ) -> dict[str, Any]:
        """``Object Created`` exactly as EventBridge delivers S3's event."""
        now = time.time()
        obj: dict[str, Any] = {"key": key, "etag": etag.strip('"'), "sequencer": f"{time.time_ns():X}"}
        if size is not None:
            obj["size"] = size
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": self.account,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "region": self.region,
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": obj,
                "request-id": request_id,
                "requester": self.account,
                "source-ip-address": LOOPBACK,
                "reason": reason,
            },
        }

    def matches_rule(self, event: Mapping[str, Any]) -> bool:
        """The cloud rule's pattern: source aws.s3, Object Created, this bucket, key under the prefix."""
        detail = event.get("detail") or {}
        return (
            event.get("source") == "aws.s3"
            and event.get("detail-type") == "Object Created"
            and (detail.get("bucket") or {}).get("name") == self.bucket
            and str((detail.get("object") or {}).get("key", "")).startswith(self.prefix)
        )

    def _route_loop(self) -> None:
        while True:
            event = self._events.get()
            try:
                if event is None:
                    return
                if self.matches_rule(event):
                    self._fill_size(event)
                    self._invoke_with_retries(event)
            finally:
                self._events.task_done()

    def _fill_size(self, event: dict[str, Any]) -> None:
        """S3 states the size of a copied or multipart object in its event: read it back."""
        obj = event["detail"]["object"]
        if "size" not in obj:
            with contextlib.suppress(Exception):
                head = self.services.head(obj["key"])
                if head is not None:
                    obj["size"] = head[0]

    def _invoke_with_retries(self, event: dict[str, Any]) -> None:
        for attempt in range(DELIVERY_ATTEMPTS):
            try:
                self.invoke(event)
                return
            except Exception:
                log.exception(
                    "the jobs function failed on %s (attempt %d)", event["detail-type"], attempt + 1
                )
                if self._stopping.wait(0.2 * 2**attempt):
                    return

    # --- the schedule and the API ------------------------------------------------------------

    def sweep(self) -> None:
        self.invoke(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": self.account,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.now())),
                "region": self.region,
                "resources": [f"arn:aws:events:{self.region}:{self.account}:rule/lux-video-local-jobs-sweep"],
                "detail": {},
            }
        )

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.sweep_seconds):
            try:
                self.sweep()
            except Exception:
                log.exception("the scheduled jobs sweep failed")

    def invoke(self, event: dict[str, Any], context: Any = None) -> dict[str, Any] | None:
        """One invocation of the very jobs handler, with the local environment, services and clock."""
        return jobs_handler.handler(event, context, self.environment, self.services, now=self.now())


def new_subject_key() -> str:
    return secrets.token_hex(32)
