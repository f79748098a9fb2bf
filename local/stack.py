"""The local stack: S3 emulator, signer API, local CDN and the ffmpeg processor, on one machine.

One HTTP server (``PORT``) answers like the cloud stack's endpoints: ``POST /`` is the signer API
(API Gateway + the very ``lambda_src/sign_uploads`` handler), ``/<prefix>...`` is the CDN,
``/api/videos`` and ``/media/...`` are the processor. moto's S3 server (``S3_PORT``) holds the
bucket; the signer's URLs point at it. Bucket name, prefix, CORS origins, expiry and signing limits
come from the dev stack's config (``Pulumi.dev.yaml``), validated by ``infra.config``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import socket
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from infra import config as stack_config
from lambda_src.sign_uploads import config as signer_config
from local.cdn import cdn_endpoint
from local.gateway import signer_endpoint
from local.s3_emulator import LOCAL_CREDENTIALS, LOCAL_REGION, S3Emulator, s3_client
from processor.app import create_app
from processor.publisher import SignerPublisher
from processor.settings import ProcessorSettings
from tools import cdn_config as cdn_config_tool

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8700
DEFAULT_S3_PORT = 8701
DEFAULT_HOST = "127.0.0.1"
DEFAULT_DATA_DIR = REPO_ROOT / ".local"
LOOPBACK = "127.0.0.1"


class LocalStackError(RuntimeError):
    """The local stack cannot start; the message says why and what to change."""


@dataclass(frozen=True)
class LocalSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    s3_port: int = DEFAULT_S3_PORT
    public_host: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    stack: str = "dev"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> LocalSettings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field, variable in (("port", "PORT"), ("s3_port", "S3_PORT")):
            raw = env.get(variable)
            if raw:
                try:
                    values[field] = int(raw)
                except ValueError:
                    raise LocalStackError(f"{variable} must be a port number, got {raw!r}") from None
                if not 0 <= values[field] <= 65535:
                    raise LocalStackError(f"{variable} must be between 0 and 65535, got {raw}")
        if env.get("PUBLIC_HOST"):
            values["public_host"] = env["PUBLIC_HOST"]
        if env.get("LUX_LOCAL_DATA_DIR"):
            values["data_dir"] = Path(env["LUX_LOCAL_DATA_DIR"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def serves_all_interfaces(self) -> bool:
        return self.host in ("0.0.0.0", "")  # noqa: S104 - compared, not bound

    @property
    def local_host(self) -> str:
        """How processes on this machine reach the servers."""
        return LOOPBACK if self.serves_all_interfaces else self.host

    @property
    def advertised_host(self) -> str:
        """The host put into URLs: loopback, or this machine's LAN address when serving the LAN."""
        if self.public_host:
            return self.public_host
        if self.serves_all_interfaces:
            return lan_address()
        return self.host


def lan_address() -> str:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return str(probe.getsockname()[0])
        except OSError:
            return LOOPBACK


def ensure_port_free(host: str, port: int, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise LocalStackError(
                    f"port {port} on {host} is already in use ({variable}); stop what uses it or set {variable}=<port>"
                ) from None
            raise LocalStackError(f"cannot bind {host}:{port} ({variable}): {error.strerror}") from None


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalStack:
    """Start with :meth:`start` (or as a context manager); :meth:`serve_forever` for ``make dev``."""

    def __init__(self, settings: LocalSettings, processor_settings: ProcessorSettings | None = None) -> None:
        self.settings = settings
        self.config = stack_config.from_stack_file(settings.stack, region=LOCAL_REGION)
        self.processor_settings = self._resolve_processor_settings(processor_settings)
        self.processor_settings.check_tools()  # fail fast, naming the missing binary
        host = settings.advertised_host
        self.base_url = f"http://{host}:{settings.port}"
        self.s3_endpoint_url = f"http://{host}:{settings.s3_port}"
        self.signer_url = f"{self.base_url}/"
        self.processor_url = f"{self.base_url}/api/videos"
        self.emulator = S3Emulator(
            settings.host,
            settings.s3_port,
            self.config.bucket_name,
            self.config.prefix,
            self.config.storage.expiration_days,
            self.config.cors_allowed_origins,
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

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
            ),
            **signer_config.runtime_environment(
                region=LOCAL_REGION,
                credentials=signer_config.Credentials(
                    LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"], None
                ),
                endpoint_url=self.s3_endpoint_url,
            ),
        }

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
        }

    # --- lifecycle ---------------------------------------------------------------------------

    def build_app(self) -> Starlette:
        from lambda_src.sign_uploads.handler import handler

        environment = self.signer_environment()

        def signer(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return handler(event, context, environment)

        origins = self.config.cors_allowed_origins
        s3 = s3_client(f"http://{self.settings.local_host}:{self.settings.s3_port}")
        cdn = cdn_endpoint(s3, self.config.bucket_name, self.config.prefix, origins)
        routes: list[Any] = [
            Route(
                "/",
                signer_endpoint(signer, origins),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
            ),
            Route("/" + self.config.prefix + "{path:path}", cdn, methods=["GET", "HEAD", "OPTIONS"]),
            Route("/healthz", self._health, methods=["GET"]),
        ]
        processor_app = self._processor_app()
        routes.append(Mount("/", app=processor_app))

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            # Mounted apps' lifespans do not run by themselves: the processor's worker pool does.
            async with processor_app.router.lifespan_context(processor_app):
                yield

        return Starlette(routes=routes, lifespan=lifespan)

    def _resolve_processor_settings(self, given: ProcessorSettings | None) -> ProcessorSettings:
        if given is not None:
            return given
        settings = ProcessorSettings.from_env()
        if "LUX_PROCESSOR_DATA_DIR" not in os.environ:
            settings = dataclasses.replace(settings, data_dir=self.settings.data_dir / "processor")
        if "LUX_PROCESSOR_MAX_PUBLISH_FILES" not in os.environ:
            # Publish within the signer's limit as this stack configures it (maxFiles).
            settings = dataclasses.replace(settings, max_publish_files=self.config.signer.max_files)
        return settings

    def _processor_app(self) -> Any:
        settings = self.processor_settings
        internal_signer = f"http://{self.settings.local_host}:{self.settings.port}/"
        return create_app(settings, SignerPublisher(internal_signer), self.base_url, self.config.prefix)

    async def _health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", **self.cdn_config()}, headers={"Cache-Control": "no-store"})

    def write_cdn_config(self) -> Path:
        """Write ``.local/cdn_config.json``, validated against the schema the cloud stack's file uses."""
        cdn_config_tool.validate(self.cdn_config())
        path = self.settings.data_dir / "cdn_config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.cdn_config(), indent=2) + "\n")
        return path

    def check_ports(self) -> None:
        """Fail, naming the variable, if either port is taken."""
        ensure_port_free(self.settings.host, self.settings.port, "PORT")
        ensure_port_free(self.settings.host, self.settings.s3_port, "S3_PORT")

    def _prepare(self) -> uvicorn.Server:
        self.check_ports()
        app = self.build_app()
        self.emulator.start()
        try:
            self.write_cdn_config()
        except Exception:
            self.emulator.stop()
            raise
        config = uvicorn.Config(
            app,
            host=self.settings.host,
            port=self.settings.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        return uvicorn.Server(config)

    def start(self) -> LocalStack:
        """Start in background threads (tests); returns once the HTTP server accepts requests."""
        self._server = self._prepare()
        self._thread = threading.Thread(target=self._server.run, name="local-stack", daemon=True)
        self._thread.start()
        for _ in range(200):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.025)
        if not self._server.started:
            self.stop()
            raise LocalStackError("the local stack's HTTP server did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.emulator.stop()

    def serve_forever(self) -> None:
        """Run in the foreground until Ctrl-C (``make dev``)."""
        server = self._prepare()
        try:
            server.run()
        finally:
            self.emulator.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
