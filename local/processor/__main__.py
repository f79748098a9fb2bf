"""``python -m local.processor check-tools`` (for ``make dev``) or ``python -m local.processor serve``.

``serve`` runs the processor alone, publishing through the signer at ``LUX_SIGNER_ENDPOINT`` and
pointing playback at ``LUX_CDN_BASE_URL``; the local stack normally wires it up itself.
"""

from __future__ import annotations

import argparse
import os
import sys

from local.processor.settings import ProcessorSettings, ToolMissingError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.processor")
    parser.add_argument("command", choices=["check-tools", "serve"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LUX_PROCESSOR_PORT", "8787")))
    args = parser.parse_args(argv)
    settings = ProcessorSettings.from_env()
    try:
        settings.check_tools()
    except ToolMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.command == "check-tools":
        print("ffmpeg and ffprobe found")
        return 0

    import uvicorn

    from local.processor.app import create_app
    from local.processor.publisher import SignerPublisher

    signer = os.environ.get("LUX_SIGNER_ENDPOINT", "http://127.0.0.1:8788/")
    cdn = os.environ.get("LUX_CDN_BASE_URL", "http://127.0.0.1:8789")
    uvicorn.run(create_app(settings, SignerPublisher(signer), cdn), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
