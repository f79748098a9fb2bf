"""Synthetic upload check: the seed's Verify steps on a tiny job, every 5 minutes.

Run by EventBridge Scheduler. It runs ``steps.py`` (the same steps as ``make verify``): sign one
tiny playlist, PUT it, wait until the jobs function marks the job ``complete``, read it back
through the CDN (CORS, ETag, Cache-Control, a byte range), delete the job. Each run prints one
CloudWatch embedded-metric-format (EMF) line: ``Success`` (1/0), end-to-end ``LatencyMs``, the
latency of every step it reached and ``CleanupSuccess`` (the job was deleted); CloudWatch turns
the log line into metrics, so the function needs no cloudwatch:PutMetricData. A failed run is
reported, never raised (a retry would only blur the metrics): an exception nobody foresaw still
ends the run as a failure of the step it happened in (``internal`` outside any step).

It calls the API's IAM-authorized routes, SigV4-signed (service ``execute-api``) with the
function's own credentials: ``POST <SIGNER_URL>healthcheck`` to sign (the signer accepts the
reserved ``healthcheck-`` jobIds only from this function's role) and ``GET|DELETE
<SIGNER_URL>healthcheck/jobs/<jobId>`` for the job (the jobs function skips the CDN invalidation
for these jobs: their paths are never reused). No bearer token, no secret, no S3 permission.
Self-contained: stdlib plus botocore (in the Lambda runtime, imported only to sign).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:
    from . import steps
    from .steps import CheckFailed, UnexpectedError
else:
    import steps
    from steps import CheckFailed, UnexpectedError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

PROBE_PATH = "probe.m3u8"
# A valid, tiny HLS playlist (the signer accepts only media types).
PROBE_BODY = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-ENDLIST\n"
DEFAULT_NAMESPACE = "LuxVideo/HealthCheck"
# The function's timeout is 30 s: the jobs function usually completes a job within 1-2 s.
DEFAULT_COMPLETE_TIMEOUT_SECONDS = 15.0
# Each step's latency metric (PutLatencyMs and CdnLatencyMs keep their dashboard names).
STEP_METRICS = {
    "sign": "SignLatencyMs",
    "upload": "PutLatencyMs",
    "complete": "CompleteLatencyMs",
    "cdn_read": "CdnLatencyMs",
    "delete": "DeleteLatencyMs",
}


@dataclass(frozen=True)
class Settings:
    signer_url: str
    cdn_base_url: str
    stack: str
    namespace: str
    job_prefix: str
    check_origin: str
    region: str
    complete_timeout: float = DEFAULT_COMPLETE_TIMEOUT_SECONDS


def settings() -> Settings:
    """Configuration from the environment, defaults stated here once."""
    env = os.environ
    return Settings(
        signer_url=env["SIGNER_URL"],
        cdn_base_url=env["CDN_BASE_URL"].rstrip("/"),
        stack=env.get("STACK", "unknown"),
        namespace=env.get("METRIC_NAMESPACE", DEFAULT_NAMESPACE),
        job_prefix=env.get("JOB_PREFIX", "healthcheck-"),
        check_origin=env.get("CHECK_ORIGIN", "https://healthcheck.invalid"),
        region=env.get("AWS_REGION") or env["AWS_DEFAULT_REGION"],  # Lambda sets AWS_REGION
        complete_timeout=float(env.get("COMPLETE_TIMEOUT_SECONDS") or DEFAULT_COMPLETE_TIMEOUT_SECONDS),
    )


def health_check_url(signer_url: str) -> str:
    """The IAM-authorized route next to the public one: ``<SIGNER_URL>healthcheck``."""
    return signer_url.rstrip("/") + "/healthcheck"


def health_check_jobs_url(signer_url: str) -> str:
    """The job routes of the health check: ``<SIGNER_URL>healthcheck/jobs/<jobId>``."""
    return health_check_url(signer_url) + "/jobs/"


def iam_signed_headers(config: Settings, method: str, url: str, body: bytes) -> dict[str, str]:
    """Headers of a SigV4-signed (``execute-api``) request with the function's own credentials."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise steps.AuthError("the function has no AWS credentials to sign with")
    headers = {"Content-Type": "application/json"} if method == "POST" else {}
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", config.region).add_auth(request)
    return dict(request.headers.items())


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
    api = steps.Api(
        sign_url=health_check_url(config.signer_url),
        jobs_url=health_check_jobs_url(config.signer_url),
        authorize=lambda method, url, body: iam_signed_headers(config, method, url, body),
    )
    probe = steps.Probe(
        files={PROBE_PATH: PROBE_BODY},
        origin=config.check_origin,
        job_id=job_id,
        complete_timeout=config.complete_timeout,
    )
    metrics: dict[str, float] = {}
    properties: dict[str, Any] = {"jobId": job_id}
    started = clock()
    outcome: steps.Outcome | None = None
    failure: CheckFailed | None = None
    try:
        if not config.signer_url.startswith(("https://", "http://")):
            failure = CheckFailed("sign", f"SIGNER_URL {config.signer_url!r} is not an http(s) URL")
        else:
            outcome = steps.run(api, probe, clock=clock)
            failure = outcome.failure
    except Exception as error:  # reported, never raised: one EMF line per run, whatever happened
        failure = UnexpectedError("internal", error)
    if outcome is not None:
        metrics.update({STEP_METRICS[step]: round(s * 1000, 3) for step, s in outcome.seconds.items()})
    metrics["Success"] = 0 if failure is not None else 1
    if failure is not None:
        properties.update(failedStep=failure.step, error=str(failure)[:500])
        if isinstance(failure, UnexpectedError):
            log_unexpected(failure)
    metrics["LatencyMs"] = round((clock() - started) * 1000, 3)
    if outcome is not None and outcome.cleanup is not None:
        metrics["CleanupSuccess"] = 1 if outcome.cleanup else 0
    record = emf(config, metrics, properties)
    print(json.dumps(record, sort_keys=True))
    return record


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        config = settings()
    except (KeyError, ValueError) as missing:
        # Misdeployed: still one EMF line (Success 0) so the alarm names the cause, not just silence.
        fallback = Settings("", "", os.environ.get("STACK", "unknown"),
                            os.environ.get("METRIC_NAMESPACE", DEFAULT_NAMESPACE), "", "", "")  # fmt: skip
        problem = (
            f"environment variable {missing} is not set" if isinstance(missing, KeyError) else str(missing)
        )
        record = emf(fallback, {"Success": 0}, {"jobId": None, "failedStep": "config", "error": problem})
        print(json.dumps(record, sort_keys=True))
    else:
        record = run(config)
    return {
        "success": record["Success"] == 1,
        "failedStep": record.get("failedStep"),
        "jobId": record["jobId"],
    }
