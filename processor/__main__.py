"""``python -m processor check-tools``: are ffmpeg and ffprobe on PATH (``make dev`` runs it first).

The processor has no stand-alone server: the local stack (``python -m local``) mounts it on its own
port, wired to the signer and the CDN it starts.
"""

from __future__ import annotations

import argparse
import sys

from processor.settings import ProcessorSettings, ToolMissingError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m processor")
    parser.add_argument("command", choices=["check-tools"])
    parser.parse_args(argv)
    try:
        ProcessorSettings.from_env().check_tools()
    except ToolMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("ffmpeg and ffprobe found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
