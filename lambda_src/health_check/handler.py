"""Synthetic upload check: sign a tiny job, PUT it, read it back through the CDN, clean up.

Run every 5 minutes by EventBridge Scheduler. Each run prints one CloudWatch embedded-metric-format
(EMF) line: ``Success`` (1/0), end-to-end ``LatencyMs`` and the latency of every step it reached;
CloudWatch turns the log line into metrics, so the function needs no cloudwatch:PutMetricData.
A failed run is reported, never raised (a retry would only blur the metrics): an exception nobody
foresaw still ends the run as a failure of the step it happened in (``internal`` outside any step),
with one EMF line and the probe's cleanup.

It signs through the API's IAM-authorized route ``POST <SIGNER_URL>healthcheck``: the request is
SigV4-signed (service ``execute-api``) with the function's own credentials, and the signer accepts
the reserved ``healthcheck-`` jobIds only from this function's role. No bearer token, no secret.
Self-contained: stdlib plus boto3/botocore (in the Lambda runtime, imported only where used).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

PROBE_PATH = "probe.m3u8"
# A valid, tiny HLS playlist (the signer accepts only media types).
PROBE_BODY = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-ENDLIST\n"
HTTP_TIMEOUT_SECONDS = 8.0
DEFAULT_NAMESPACE = "LuxVideo/HealthCheck"


class CheckFailed(Exception):
    """A step failed; ``step`` names it (sign, put, cdn_read, cors, etag; ``internal`` for an
    unexpected exception outside any step)."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


class UnexpectedError(CheckFailed):
    """An exception nobody foresaw, raised in ``step``: reported like any failure, traceback logged."""

    def __init__(self, step: str, error: Exception) -> None:
        super().__init__(step, f"unexpected {error!r}")
        self.error = error


@dataclass(frozen=True)
class Settings:
    signer_url: str
    cdn_base_url: str
    bucket: str
    stack: str
    namespace: str
    job_prefix: str
    check_origin: str
    region: str


def settings() -> Settings:
    """Configuration from the environment, defaults stated here once."""
    env = os.environ
    return Settings(
        signer_url=env["SIGNER_URL"],
        cdn_base_url=env["CDN_BASE_URL"].rstrip("/"),
        bucket=env["BUCKET"],
        stack=env.get("STACK", "unknown"),
        namespace=env.get("METRIC_NAMESPACE", DEFAULT_NAMESPACE),
        job_prefix=env.get("JOB_PREFIX", "healthcheck-"),
        check_origin=env.get("CHECK_ORIGIN", "https://healthcheck.invalid"),
        region=env.get("AWS_REGION") or env["AWS_DEFAULT_REGION"],  # Lambda sets AWS_REGION
    )


def health_check_url(signer_url: str) -> str:
    """The IAM-authorized route next to the public one: ``<SIGNER_URL>healthcheck``."""
    return signer_url.rstrip("/") + "/healthcheck"


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def http(method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> Response:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as reply:  # noqa: S310
            return Response(reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def iam_signed_headers(config: Settings, url: str, body: bytes) -> dict[str, str]:
    """Headers of a SigV4-signed (``execute-api``) POST with the function's own credentials."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise CheckFailed("sign", "the function has no AWS credentials to sign with")
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", config.region).add_auth(request)
    return dict(request.headers.items())


def sign(config: Settings, job_id: str) -> dict[str, Any]:
    url = health_check_url(config.signer_url)
    if not url.startswith(("https://", "http://")):
        raise CheckFailed("sign", f"SIGNER_URL {config.signer_url!r} is not an http(s) URL")
    payload = {"jobId": job_id, "files": [{"path": PROBE_PATH, "size": len(PROBE_BODY)}]}
    body = json.dumps(payload).encode()
    try:
        reply = http("POST", url, iam_signed_headers(config, url, body), body)
    except OSError as error:
        raise CheckFailed("sign", f"signer unreachable: {error}") from None
    if reply.status != 200:
        raise CheckFailed("sign", f"signer answered {reply.status}: {reply.body[:300]!r}")
    try:
        (upload,) = json.loads(reply.body)["uploads"]
        upload = dict(upload)
    except (ValueError, KeyError, TypeError) as error:
        raise CheckFailed("sign", f"signer response breaks the contract: {error!r}") from None
    broken = [name for name in ("key", "url") if not isinstance(upload.get(name), str) or not upload[name]]
    if not isinstance(upload.get("headers", {}), dict):
        broken.append("headers")
    if broken:
        raise CheckFailed("sign", f"signer response breaks the contract: bad or missing {', '.join(broken)}")
    return upload


def put(upload: dict[str, Any]) -> str:
    try:
        reply = http(
            upload.get("method", "PUT"), upload["url"], dict(upload.get("headers") or {}), PROBE_BODY
        )
    except OSError as error:
        raise CheckFailed("put", f"upload unreachable: {error}") from None
    if reply.status != 200:
        raise CheckFailed("put", f"PUT answered {reply.status}: {reply.body[:300]!r}")
    return reply.headers.get("etag", "")


def read_back(config: Settings, upload: dict[str, Any], put_etag: str) -> None:
    url = upload.get("publicUrl") or f"{config.cdn_base_url}/{upload['key']}"
    try:
        reply = http("GET", url, {"Origin": config.check_origin})
    except OSError as error:
        raise CheckFailed("cdn_read", f"CDN unreachable: {error}") from None
    if reply.status != 200 or reply.body != PROBE_BODY:
        raise CheckFailed("cdn_read", f"CDN answered {reply.status} with {len(reply.body)} bytes")
    allowed = reply.headers.get("access-control-allow-origin")
    if allowed not in ("*", config.check_origin):
        raise CheckFailed("cors", f"Access-Control-Allow-Origin is {allowed!r} for {config.check_origin}")
    exposed = {h.strip().lower() for h in reply.headers.get("access-control-expose-headers", "").split(",")}
    if "etag" not in exposed:
        raise CheckFailed("cors", "ETag is not in Access-Control-Expose-Headers")
    etag = reply.headers.get("etag", "")
    if not etag or (put_etag and etag.strip('"') != put_etag.strip('"')):
        raise CheckFailed("etag", f"CDN ETag {etag!r} does not match the uploaded {put_etag!r}")


def delete(config: Settings, key: str) -> bool:
    """Remove the probe (the role may delete only healthcheck- objects); a lifecycle rule
    catches what this misses."""
    import boto3

    try:
        boto3.client("s3").delete_object(Bucket=config.bucket, Key=key)
        return True
    except Exception as error:
        print(
            json.dumps(
                {"level": "WARNING", "message": "probe cleanup failed", "key": key, "error": str(error)}
            )
        )
        return False


def emf(config: Settings, metrics: dict[str, float], properties: dict[str, Any]) -> dict[str, Any]:
    """One embedded-metric-format record: metrics under the Stack dimension."""
    units = {name: "Count" if name in ("Success", "CleanupSuccess") else "Milliseconds" for name in metrics}
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": config.namespace,
                    "Dimensions": [["Stack"]],
                    "Metrics": [{"Name": name, "Unit": units[name]} for name in metrics],
                }
            ],
        },
        "Stack": config.stack,
        **metrics,
        **properties,
    }


def log_unexpected(failure: UnexpectedError) -> None:
    """The traceback of an exception nobody foresaw, on its own (non-EMF) log line."""
    import traceback

    trace = "".join(traceback.format_exception(failure.error, limit=5))
    message = f"unexpected failure in step {failure.step}"
    print(json.dumps({"level": "ERROR", "message": message, "trace": trace}))


def run(config: Settings, clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    job_id = f"{config.job_prefix}{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    metrics: dict[str, float] = {}
    properties: dict[str, Any] = {"jobId": job_id}
    started = clock()

    def timed(step: str, metric: str, action: Callable[[], Any]) -> Any:
        """Runs one step; an unexpected exception becomes that step's failure."""
        begin = clock()
        try:
            return action()
        except CheckFailed:
            raise
        except Exception as error:
            raise UnexpectedError(step, error) from error
        finally:
            metrics[metric] = round((clock() - begin) * 1000, 3)

    key: str | None = None
    try:
        upload = timed("sign", "SignLatencyMs", lambda: sign(config, job_id))
        key = str(upload["key"])
        put_etag = timed("put", "PutLatencyMs", lambda: put(upload))
        timed("cdn_read", "CdnLatencyMs", lambda: read_back(config, upload, put_etag))
        metrics["Success"] = 1
    except Exception as error:  # reported, never raised: one EMF line per run, whatever happened
        failure = error if isinstance(error, CheckFailed) else UnexpectedError("internal", error)
        metrics["Success"] = 0
        properties.update(failedStep=failure.step, error=str(failure)[:500])
        if isinstance(failure, UnexpectedError):
            log_unexpected(failure)
    metrics["LatencyMs"] = round((clock() - started) * 1000, 3)
    if key is not None:
        metrics["CleanupSuccess"] = 1 if delete(config, key) else 0
        properties["key"] = key
    record = emf(config, metrics, properties)
    print(json.dumps(record, sort_keys=True))
    return record


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        config = settings()
    except KeyError as missing:
        # Misdeployed: still one EMF line (Success 0) so the alarm names the cause, not just silence.
        fallback = Settings("", "", "", os.environ.get("STACK", "unknown"),
                            os.environ.get("METRIC_NAMESPACE", DEFAULT_NAMESPACE), "", "", "")  # fmt: skip
        record = emf(
            fallback,
            {"Success": 0},
            {"jobId": None, "failedStep": "config", "error": f"environment variable {missing} is not set"},
        )
        print(json.dumps(record, sort_keys=True))
    else:
        record = run(config)
    return {
        "success": record["Success"] == 1,
        "failedStep": record.get("failedStep"),
        "jobId": record["jobId"],
    }
