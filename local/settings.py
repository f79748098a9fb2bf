"""The local stack's settings: ports, hosts, data folder, webhook and sweep, from the environment.

What ``make dev`` reads (``PORT``, ``S3_PORT``, ``PUBLIC_HOST``, ``LUX_LOCAL_DATA_DIR``,
``WEBHOOK_URL``, ``WEBHOOK_SECRET``, ``LUX_LOCAL_SWEEP_SECONDS``) and which host goes into URLs;
``local/stack.py`` starts the stack from them (docs/local-stack.md).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import servers

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8700
DEFAULT_S3_PORT = 8701
DEFAULT_HOST = "127.0.0.1"
DEFAULT_DATA_DIR = REPO_ROOT / ".local"
LOOPBACK = servers.LOOPBACK


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
    # Tests only: origins instead of the stack file's corsAllowedOrigins (make dev never sets it).
    cors_allowed_origins: tuple[str, ...] | None = None
    # The bus's webhook (WEBHOOK_URL; WEBHOOK_SECRET, else a token generated at start).
    webhook_url: str | None = None
    webhook_secret: str | None = None
    sweep_seconds: float = 30.0  # LUX_LOCAL_SWEEP_SECONDS

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
        for field, variable in (("webhook_url", "WEBHOOK_URL"), ("webhook_secret", "WEBHOOK_SECRET")):
            if env.get(variable):
                values[field] = env[variable]
        if values.get("webhook_url", "").split("://")[0] not in ("", "http", "https"):
            raise LocalStackError(f"WEBHOOK_URL must be an http(s) URL, got {values['webhook_url']!r}")
        if env.get("LUX_LOCAL_SWEEP_SECONDS"):
            try:
                values["sweep_seconds"] = float(env["LUX_LOCAL_SWEEP_SECONDS"])
            except ValueError:
                raise LocalStackError("LUX_LOCAL_SWEEP_SECONDS must be a number of seconds") from None
            if values["sweep_seconds"] <= 0:
                raise LocalStackError("LUX_LOCAL_SWEEP_SECONDS must be positive")
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
        return self.advertise()[0]

    def advertise(self) -> tuple[str, str | None]:
        """(host for URLs, why it is not the LAN address or None).

        The app config (and the signer) accept plain http only on loopback and private addresses:
        a LAN address outside the private ranges cannot go into ``cdn_config.json``, so the stack
        says so and advertises loopback; ``PUBLIC_HOST`` chooses another host.
        """
        if self.public_host:
            return self.public_host, None
        if not self.serves_all_interfaces:
            return self.host, None
        lan = lan_address()
        if lan == LOOPBACK:
            return LOOPBACK, "no LAN address found (no default route): URLs use 127.0.0.1"
        if not is_private_ipv4(lan):
            return LOOPBACK, (
                f"this machine's LAN address {lan} is outside the private ranges (10/8, 172.16/12, "
                "192.168/16), where cdn_config.json and the signer allow plain http: URLs use 127.0.0.1. "
                "Set PUBLIC_HOST=<a private IPv4 address of this machine> to advertise another host."
            )
        return lan, None


def is_private_ipv4(host: str) -> bool:
    """The private IPv4 ranges the app config schema admits over plain http."""
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return any(
        address in ipaddress.IPv4Network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    )


def lan_address() -> str:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return str(probe.getsockname()[0])
        except OSError:
            return LOOPBACK


def ensure_port_free(host: str, port: int, variable: str) -> None:
    """Fail naming ``variable`` if a listener holds the port (TIME-WAIT leftovers do not count)."""
    try:
        servers.ensure_port_free(host, port)
    except servers.PortInUseError:
        raise LocalStackError(
            f"port {port} on {host} is already in use ({variable}); stop what uses it or set {variable}=<port>"
        ) from None
    except OSError as error:
        raise LocalStackError(f"cannot bind {host}:{port} ({variable}): {error.strerror}") from None
