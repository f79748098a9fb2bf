"""Local JWTs: what API Gateway's JWT authorizer does, with a key kept on this machine.

The cloud API trusts an identity provider's tokens (RS256, its JWKS). Locally there is no identity
provider, so the local gateway accepts HS256 tokens signed with a key created on first start in
``<data_dir>/jwt_hs256.key`` and prints one with ``python -m local token --sub alice``. A request
without ``Authorization`` stays anonymous (as ``make dev`` always was); a request whose bearer
token is malformed, badly signed, expired or not yet valid gets API Gateway's 401 before any
function runs; a valid one puts ``{"jwt": {"claims": ..., "scopes": None}}`` in the event's
authorizer, claim values as strings, as API Gateway passes them. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

KEY_FILE = "jwt_hs256.key"
DEFAULT_TTL_SECONDS = 3600
ISSUER = "lux-video-local"
CLOCK_SKEW_SECONDS = 60  # API Gateway tolerates a little skew on exp/nbf


class TokenError(Exception):
    """Why a bearer token was refused (API Gateway's ``error_description``)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalTokens:
    """Issues and verifies the local stack's HS256 tokens."""

    def __init__(self, data_dir: Path) -> None:
        self.key_path = data_dir / KEY_FILE
        self.key = self._load_or_create()

    def _load_or_create(self) -> bytes:
        if self.key_path.is_file():
            key = self.key_path.read_text().strip()
            if len(key) >= 32:
                return key.encode()
        self.key_path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        descriptor = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key + "\n")
        return key.encode()

    def issue(self, sub: str, *, ttl_seconds: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> str:
        moment = int(time.time() if now is None else now)
        claims = {"sub": sub, "iss": ISSUER, "iat": moment, "exp": moment + ttl_seconds}
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self.key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def verify(self, token: str, *, now: float | None = None) -> dict[str, Any]:
        """The token's claims; raises :class:`TokenError` saying why it is refused."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("the token is not a JWT")
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise TokenError("the token is not a JWT") from None
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            raise TokenError("the token's algorithm is not HS256")
        expected = hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise TokenError("signature is invalid")
        if not isinstance(claims, dict):
            raise TokenError("the token's claims are not an object")
        moment = time.time() if now is None else now
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int | float) or moment > exp + CLOCK_SKEW_SECONDS:
            raise TokenError("the token has expired")
        if isinstance(nbf, int | float) and moment < nbf - CLOCK_SKEW_SECONDS:
            raise TokenError("the token is not valid yet")
        if claims.get("iss") != ISSUER:
            raise TokenError("the token's issuer is not the local stack")
        return claims


def authorizer_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """The event's ``authorizer``: API Gateway passes claim values as strings."""
    as_strings = {
        name: value if isinstance(value, str) else json.dumps(value) for name, value in claims.items()
    }
    return {"jwt": {"claims": as_strings, "scopes": None}}
