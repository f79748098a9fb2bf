"""The local custom event bus: what EventBridge does with the jobs function's PutEvents.

Each entry becomes EventBridge's envelope (``version``, ``id``, ``detail-type``, ``source``,
``account``, ``time``, ``region``, ``resources``, ``detail`` as an object), is printed as one JSON
line on ``make dev``'s output, appended to ``<data_dir>/events.jsonl``, handed to every subscriber
(later issues hook in here: e.g. the processor starting on a raw upload) and, with ``WEBHOOK_URL``
set, POSTed there as the cloud's API destination does: the envelope as the JSON body and the
secret in the ``X-Lux-Webhook-Token`` header. Delivery is asynchronous and retried a few times; a
receiver that is down is logged, never fatal.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from lambda_src.sign_uploads import events

log = logging.getLogger(__name__)

# The cloud webhook's header (events.WEBHOOK_TOKEN_HEADER once the infra side defines it).
WEBHOOK_TOKEN_HEADER: str = getattr(events, "WEBHOOK_TOKEN_HEADER", "X-Lux-Webhook-Token")
WEBHOOK_ATTEMPTS = 4
WEBHOOK_TIMEOUT_SECONDS = 5.0
Subscriber = Callable[[dict[str, Any]], None]


def envelope(entry: Mapping[str, Any], *, account: str, region: str, now: float) -> dict[str, Any]:
    """The event a rule target (or an API destination) receives for one PutEvents entry."""
    detail = entry.get("Detail", "{}")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "region": region,
        "resources": list(entry.get("Resources", [])),
        "detail": json.loads(detail) if isinstance(detail, str) else dict(detail),
    }


class LocalBus:
    """``put(entries)`` as PutEvents; ``subscribe(callback)`` as a rule with a target."""

    def __init__(
        self,
        events_path: Path,
        *,
        account: str,
        region: str,
        webhook_url: str | None = None,
        webhook_token: str | None = None,
        out: IO[str] | None = None,
        retry_seconds: float = 0.5,
    ) -> None:
        self.events_path = events_path
        self.account, self.region = account, region
        self.webhook_url, self.webhook_token = webhook_url, webhook_token
        self._out = out
        self._retry_seconds = retry_seconds
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._outbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._sender: threading.Thread | None = None
        if webhook_url:
            self._sender = threading.Thread(target=self._send_loop, name="local-webhook", daemon=True)
            self._sender.start()

    def subscribe(self, callback: Subscriber) -> None:
        self._subscribers.append(callback)

    def put(self, entries: list[dict[str, Any]], *, now: float | None = None) -> list[dict[str, Any]]:
        """Deliver each entry; returns the envelopes (what every consumer received)."""
        delivered = []
        for entry in entries:
            event = envelope(entry, account=self.account, region=self.region, now=now or time.time())
            line = json.dumps(event, separators=(",", ":"), sort_keys=False)
            with self._lock:
                self.events_path.parent.mkdir(parents=True, exist_ok=True)
                with self.events_path.open("a") as handle:
                    handle.write(line + "\n")
                out = self._out or sys.stdout
                out.write(line + "\n")
                out.flush()
            for subscriber in self._subscribers:
                try:
                    subscriber(event)
                except Exception:  # one consumer's bug must not stop the others
                    log.exception("a local bus subscriber failed on %s", event["detail-type"])
            if self.webhook_url:
                self._outbox.put(event)
            delivered.append(event)
        return delivered

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every queued webhook delivery was attempted (tests)."""
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        if self._sender is not None:
            self._outbox.put(None)
            self._sender.join(timeout=2)
            self._sender = None

    def _send_loop(self) -> None:
        while True:
            event = self._outbox.get()
            try:
                if event is None:
                    return
                self._deliver(event)
            finally:
                self._outbox.task_done()

    def _deliver(self, event: dict[str, Any]) -> bool:
        assert self.webhook_url is not None
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", WEBHOOK_TOKEN_HEADER: self.webhook_token or ""}
        problem = ""
        for attempt in range(WEBHOOK_ATTEMPTS):
            request = urllib.request.Request(self.webhook_url, data=body, method="POST", headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as reply:  # noqa: S310
                    reply.read()
                return True
            except urllib.error.HTTPError as error:
                problem = f"HTTP {error.code}"
                if 400 <= error.code < 500 and error.code not in (408, 429):
                    break  # as API destinations: a 4xx other than 408/429 is not retried
            except (OSError, ValueError) as error:
                problem = type(error).__name__ + (f": {error.reason}" if hasattr(error, "reason") else "")
            time.sleep(self._retry_seconds * (2**attempt))
        log.warning(
            "webhook %s did not take %s %s: %s", self.webhook_url, event["detail-type"], event["id"], problem
        )
        return False
