"""The local stack: S3 emulator, signer API, local CDN and the ffmpeg processor, on one machine.

One HTTP server (``PORT``) answers like the cloud stack's endpoints: ``POST /`` is the signer API
(API Gateway + the very ``lambda_src/sign_uploads`` handler), ``/<prefix>...`` is the CDN,
``/api/videos`` and ``/media/...`` are the processor. The S3 endpoint (``S3_PORT``) verifies
signatures and CORS as S3 does in front of moto's S3, which runs in-process on no port; the
signer's URLs point at it (``local.s3_emulator``, docs/local-stack.md). Bucket name, prefix, CORS
origins, expiry and signing limits come from the dev stack's config (``Pulumi.dev.yaml``),
validated by ``infra.config``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from infra import config as stack_config
from lambda_src.sign_uploads import config as signer_config
from local import jobs as local_jobs
from local import processor_mount, servers
from local.bus import LocalBus
from local.cdn import cdn_endpoint
from local.gateway import ANY_METHOD, LOCAL_ACCOUNT_ID, IamAuthorizer, job_routes, signer_endpoint
from local.jobs import LocalAws, LocalJobs, LocalServices
from local.multipart_gateway import multipart_endpoint
from local.s3_emulator import LOCAL_CREDENTIALS, LOCAL_REGION, S3Emulator, s3_client
from local.settings import (
    LocalSettings,
    LocalStackError,
    ensure_port_free,
)
from local.tokens import LocalTokens
from local.transcoding import s3_fetcher, subscribe_processor, with_processor_status
from processor.settings import ProcessorSettings
from tools import cdn_config as cdn_config_tool

REPO_ROOT = Path(__file__).resolve().parent.parent
# The role the health check signs as on AWS; locally the local credentials stand for it.
LOCAL_HEALTH_CHECK_ROLE = "lux-video-local-healthcheck-role"


free_port = servers.free_port


class LocalStack:
    """Start with :meth:`start` (or as a context manager); :meth:`serve_forever` for ``make dev``."""

    def __init__(self, settings: LocalSettings, processor_settings: ProcessorSettings | None = None) -> None:
        self.settings = settings
        self.config = stack_config.from_stack_file(settings.stack, region=LOCAL_REGION)
        # The origins every local endpoint answers CORS for (tests may narrow them).
        self.cors_allowed_origins = settings.cors_allowed_origins or self.config.cors_allowed_origins
        self.processor_settings = processor_mount.resolve_settings(
            processor_settings, settings.data_dir, self.config.signer.max_files
        )
        self.processor_settings.check_tools()  # fail fast, naming the missing binary
        host, self.advertise_note = settings.advertise()
        self.base_url = f"http://{host}:{settings.port}"
        self.s3_endpoint_url = f"http://{host}:{settings.s3_port}"
        self.signer_url = f"{self.base_url}/"
        self.processor_url = f"{self.base_url}/api/videos"
        self.jobs_url = f"{self.base_url}/jobs/"
        self.emulator = S3Emulator(
            settings.host,
            settings.s3_port,
            self.config.bucket_name,
            self.config.prefix,
            self.config.storage.expiration_days,
            self.cors_allowed_origins,
        )
        self._server: servers.BackgroundServer | None = None
        # Jobs: DynamoDB + Secrets Manager on loopback, the bus, the jobs function (local.jobs).
        self.tokens = LocalTokens(settings.data_dir)
        self.aws = LocalAws(LOCAL_CREDENTIALS, LOCAL_REGION)
        self.webhook_token = settings.webhook_secret or local_jobs.new_subject_key()
        self.bus = LocalBus(
            settings.data_dir / "events.jsonl", account=LOCAL_ACCOUNT_ID, region=LOCAL_REGION,
            webhook_url=settings.webhook_url, webhook_token=self.webhook_token,
        )  # fmt: skip
        internal_s3 = s3_client(f"http://{settings.local_host}:{settings.s3_port}")
        self.jobs = LocalJobs(
            self.signer_environment(), LocalServices(internal_s3, self.config.bucket_name, self.bus, None),
            bucket=self.config.bucket_name, prefix=self.config.prefix, account=LOCAL_ACCOUNT_ID,
            region=LOCAL_REGION, sweep_seconds=settings.sweep_seconds,
        )  # fmt: skip
        self.emulator.front.on_object_created = self.jobs.object_created

    # --- configuration shared with the cloud stack -------------------------------------------

    def signer_environment(self) -> dict[str, str]:
        """The signer Lambda's environment, as the Pulumi program sets it, pointed at the emulator."""
        return {
            **signer_config.environment(
                bucket=self.config.bucket_name,
                prefix=self.config.prefix,
                public_base_url=self.base_url,
                url_ttl_seconds=self.config.signer.url_ttl_seconds,
                max_files=self.config.signer.max_files,
                max_file_bytes=self.config.max_file_bytes,
                auth_required=False,
                health_check_role_name=LOCAL_HEALTH_CHECK_ROLE,
                max_multipart_file_bytes=self.config.signer.max_multipart_file_bytes,
                subject_key_secret_id=local_jobs.SUBJECT_KEY_SECRET_NAME,
                jobs_table=local_jobs.TABLE_NAME,
            ),
            **signer_config.runtime_environment(
                region=LOCAL_REGION,
                credentials=signer_config.Credentials(
                    LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"], None
                ),
                endpoint_url=self.s3_endpoint_url,
                secrets_endpoint_url=self.aws.endpoint_url,
                dynamodb_endpoint_url=self.aws.endpoint_url,
            ),
        }

    def health_check_authorizer(self) -> IamAuthorizer:
        access_key = LOCAL_CREDENTIALS["aws_access_key_id"]
        return IamAuthorizer(
            secrets={access_key: LOCAL_CREDENTIALS["aws_secret_access_key"]},
            principals={
                access_key: f"arn:aws:sts::{LOCAL_ACCOUNT_ID}:assumed-role/{LOCAL_HEALTH_CHECK_ROLE}/local"
            },
            region=LOCAL_REGION,
        )

    def cdn_config(self) -> dict[str, Any]:
        """The app's cdn_config.json for this machine (the cloud stack's schema + processorEndpoint)."""
        return {
            "signerEndpoint": self.signer_url,
            "cdnBaseUrl": self.base_url,
            "uploadPrefix": self.config.prefix,
            "region": LOCAL_REGION,
            "authRequired": False,
            "maxFileBytes": self.config.max_file_bytes,
            "environment": "local",
            "processorEndpoint": self.processor_url,
            "jobsEndpoint": self.jobs_url,
        }

    # --- lifecycle ---------------------------------------------------------------------------

    def build_app(self) -> Starlette:
        from lambda_src.sign_uploads.handler import handler

        environment = self.signer_environment()

        def signer(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return handler(event, context, environment)

        def upload_jobs(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return self.jobs.invoke(event, context) or {}

        origins = self.cors_allowed_origins
        iam = self.health_check_authorizer()
        s3 = s3_client(f"http://{self.settings.local_host}:{self.settings.s3_port}")
        cdn = cdn_endpoint(s3, self.config.bucket_name, self.config.prefix, origins)
        routes: list[Any] = [
            Route(
                "/",
                signer_endpoint(signer, origins, tokens=self.tokens),
                methods=list(ANY_METHOD),
            ),
            # The health check's AWS_IAM route: the local credentials stand for its role.
            Route(
                "/healthcheck",
                signer_endpoint(signer, origins, iam),
                methods=["POST", "OPTIONS"],
            ),
            # The multipart routes (Uppy's S3 protocol, signRequest, the part plan): same handler.
            Route(
                "/s3/{rest:path}",
                multipart_endpoint(signer, origins),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
            ),
            Route("/" + self.config.prefix + "{path:path}", cdn, methods=["GET", "HEAD", "OPTIONS"]),
            Route("/healthz", self._health, methods=["GET"]),
        ]
        internal_signer = f"http://{self.settings.local_host}:{self.settings.port}/"
        processor_app = processor_mount.processor_app(
            self.processor_settings, internal_signer, self.base_url, self.config.prefix, origins,
            fetch_source=s3_fetcher(s3, self.config.bucket_name),
        )  # fmt: skip
        # A completed upload job holding a raw source.<ext> starts the processor, as the cloud's
        # transcoding rule starts MediaConvert, and its status reads through GET /jobs/{jobId}
        # as the cloud's does (docs/transcoding.md).
        subscribe_processor(self.bus, processor_app.state.on_job_event)
        routes[1:1] = job_routes(  # after POST /, where API Gateway's route order puts them
            with_processor_status(upload_jobs, processor_app.state.store), origins, self.tokens, iam
        )
        routes.append(Mount("/", app=processor_app))

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            # Mounted apps' lifespans do not run by themselves: the processor's worker pool does.
            async with processor_app.router.lifespan_context(processor_app):
                yield

        return Starlette(routes=routes, lifespan=lifespan)

    async def _health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", **self.cdn_config()}, headers={"Cache-Control": "no-store"})

    def write_cdn_config(self) -> Path:
        """Write ``.local/cdn_config.json``, validated against the schema the cloud stack's file uses."""
        try:
            cdn_config_tool.validate(self.cdn_config())
        except cdn_config_tool.CdnConfigError as error:
            if error.key in ("signerEndpoint", "cdnBaseUrl", "processorEndpoint", "jobsEndpoint"):
                raise LocalStackError(
                    f"the advertised host {self.settings.advertised_host!r} cannot go into cdn_config.json: "
                    "the app accepts plain http only on loopback and private IPv4 addresses "
                    "(10/8, 172.16/12, 192.168/16); set PUBLIC_HOST to one"
                ) from None
            raise
        path = self.settings.data_dir / "cdn_config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.cdn_config(), indent=2) + "\n")
        return path

    def check_ports(self) -> None:
        """Fail, naming the variable, if either port is taken."""
        ensure_port_free(self.settings.host, self.settings.port, "PORT")
        ensure_port_free(self.settings.host, self.settings.s3_port, "S3_PORT")

    def _start_jobs(self) -> None:
        self.aws.start()
        self.aws.create_table(local_jobs.TABLE_NAME)
        self.aws.create_secret(local_jobs.SUBJECT_KEY_SECRET_NAME, local_jobs.new_subject_key())
        self.jobs.start()

    def _stop_jobs(self) -> None:
        self.jobs.stop()
        self.bus.close()
        self.aws.stop()

    def _prepare(self) -> uvicorn.Server:
        try:
            self.check_ports()
        except LocalStackError:
            self._stop_jobs()  # releases the loopback port the environment already named
            raise
        try:
            self._start_jobs()
        except Exception as error:
            self._stop_jobs()
            raise LocalStackError(f"the local DynamoDB/Secrets Manager did not start: {error}") from error
        app = self.build_app()
        try:
            self.emulator.start()
        except Exception as error:
            self._stop_jobs()
            raise LocalStackError(
                f"the S3 endpoint on port {self.settings.s3_port} did not start: {error}"
            ) from error
        try:
            self.write_cdn_config()
        except Exception:
            self.emulator.stop()
            self._stop_jobs()
            raise
        return servers.server(app, self.settings.host, self.settings.port)

    def start(self) -> LocalStack:
        """Start in background threads (tests); returns once the HTTP server accepts requests."""
        self._server = servers.BackgroundServer(self._prepare(), "local-stack")
        try:
            self._server.start()
        except RuntimeError:
            self.stop()
            raise LocalStackError("the local stack's HTTP server did not start") from None
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._stop_jobs()  # first: its threads read the S3 endpoint
        self.emulator.stop()

    def serve_forever(self) -> None:
        """Run in the foreground until Ctrl-C (``make dev``)."""
        server = self._prepare()
        try:
            server.run()
        finally:
            self._stop_jobs()
            self.emulator.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
