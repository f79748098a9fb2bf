"""The processor as the local stack mounts it: its settings and its app with the browser's CORS."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from starlette.middleware.cors import CORSMiddleware

from infra import policies
from processor.app import create_app
from processor.publisher import SignerPublisher
from processor.settings import ProcessorSettings
from processor.subscriber import SourceFetcher

# The processor is local-only (the cloud twin is a pipeline, not an API): the browser calls it with
# the signer API's origins and headers, and also reads job status and follows the media alias.
PROCESSOR_CORS_METHODS = ("GET", "HEAD", "POST")
PROCESSOR_EXPOSED_HEADERS = ("Location",)


def resolve_settings(given: ProcessorSettings | None, data_dir: Path, max_files: int) -> ProcessorSettings:
    if given is not None:
        return given
    settings = ProcessorSettings.from_env()
    if "LUX_PROCESSOR_DATA_DIR" not in os.environ:
        settings = dataclasses.replace(settings, data_dir=data_dir / "processor")
    if "LUX_PROCESSOR_MAX_PUBLISH_FILES" not in os.environ:
        # Publish within the signer's limit as this stack configures it (maxFiles).
        settings = dataclasses.replace(settings, max_publish_files=max_files)
    return settings


def processor_app(
    settings: ProcessorSettings,
    internal_signer: str,
    base_url: str,
    prefix: str,
    origins: tuple[str, ...],
    fetch_source: SourceFetcher | None = None,
) -> Any:
    """The processor's app, with the browser's view of it: the signer API's origins and request
    headers (``policies.api_cors``), on every answer including the media alias's 307 (a player
    follows a cross-origin redirect only if the redirect itself carries Access-Control-Allow-Origin).
    With ``fetch_source`` the app also takes raw uploads from the bus (``local/transcoding.py``)."""
    app = create_app(settings, SignerPublisher(internal_signer), base_url, prefix, fetch_source=fetch_source)
    cors = policies.api_cors(origins)
    # Added to the app itself (not a wrapper around the Mount) so its url_for keeps working.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors["allowOrigins"],
        allow_methods=PROCESSOR_CORS_METHODS,
        allow_headers=cors["allowHeaders"],
        expose_headers=PROCESSOR_EXPOSED_HEADERS,
        max_age=cors["maxAge"],
    )
    return app
