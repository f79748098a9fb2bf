"""A processor served by uvicorn in a process of its own, for the tests that kill it.

``python -m tests.processor.processor_server <data_dir> <port> <ffmpeg>``: publishes nowhere
(the tests that use it never get that far) and prints nothing; it is ready when /docs answers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from processor.app import create_app
from processor.settings import ProcessorSettings


class _NoPublisher:
    def publish(self, job_id: str, root: Path, files: list[str]) -> str | None:
        return None


def main(data_dir: str, port: str, ffmpeg: str) -> None:
    settings = ProcessorSettings(data_dir=Path(data_dir), ffmpeg_path=ffmpeg, min_free_bytes=0)
    app = create_app(settings, _NoPublisher(), "http://cdn.test")
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
