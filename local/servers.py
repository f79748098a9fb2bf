"""uvicorn servers in background threads, and the port checks ``make dev`` runs before starting."""

from __future__ import annotations

import errno
import socket
import threading
from typing import Any, Literal

import uvicorn

LOOPBACK = "127.0.0.1"


class PortInUseError(RuntimeError):
    pass


def ensure_port_free(host: str, port: int) -> None:
    """Bind as the server will (``SO_REUSEADDR``, as uvicorn does): a port held only by TIME-WAIT
    sockets of a stack stopped a moment ago is free, one with a listener is not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(f"port {port} on {host} is already in use") from None
            raise


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def server(app: Any, host: str, port: int, *, lifespan: Literal["on", "off"] = "on") -> uvicorn.Server:
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan=lifespan, access_log=False
    )
    return uvicorn.Server(config)


class BackgroundServer:
    """One uvicorn server in a daemon thread; :meth:`start` returns once it accepts connections."""

    def __init__(self, server: uvicorn.Server, name: str) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()
        for _ in range(400):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.025)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"the {self._thread.name} server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
