"""The server's options, checked once, and passed to worker processes as JSON.

The bearer token never travels in the options or on a command line (``ps`` shows those): it
comes from ``WORKBENCH_SERVE_TOKEN`` or a file, and reaches workers through the environment.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..api import DeploymentSpec, EncodingPolicy
from ..errors import InputError

__all__ = ["ServerConfig", "TOKEN_ENV", "CONFIG_ENV", "is_loopback", "read_token"]

TOKEN_ENV = "WORKBENCH_SERVE_TOKEN"
CONFIG_ENV = "WORKBENCH_SERVE_CONFIG"
#: a token shorter than this is refused: it would be guessed
MIN_TOKEN = 16


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(token_file: str | None) -> str | None:
    """The bearer token: from ``token_file`` (first line) or ``WORKBENCH_SERVE_TOKEN``."""
    if token_file:
        try:
            text = Path(token_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return None
    if len(token) < MIN_TOKEN:
        raise InputError(f"the bearer token is too short (at least {MIN_TOKEN} characters)")
    return token


@dataclass(frozen=True)
class ServerConfig:
    """What ``workbench serve`` serves and how (see ``workbench serve --help``)."""

    workspace: str
    model: str
    shadow: str | None = None
    #: ``REF:FRACTION``
    canary: str | None = None
    route_key: str | None = None
    salt: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body: int = 16 * 1024 * 1024
    unknown_category: str = "missing"
    missing_column: str = "error"
    log: bool = True
    #: seconds to let requests in flight finish at shutdown (then the log is flushed)
    graceful_timeout: int = 20
    #: seconds between checks for alias moves
    watch_interval: float = 0.25
    token_file: str | None = None

    def check(self, token: str | None) -> None:
        """Usage errors before anything starts; a non-loopback address needs a token."""
        if not is_loopback(self.host) and token is None:
            raise InputError(
                f"binding {self.host} exposes the model beyond this machine: set a bearer token",
                hint=f"put it in {TOKEN_ENV} or --token-file FILE (clients send "
                "'Authorization: Bearer TOKEN')",
            )
        if not 0 <= self.port <= 65535:
            raise InputError(f"port {self.port} is not a port number")
        if self.workers < 1:
            raise InputError("--workers must be at least 1")
        if self.max_body < 1:
            raise InputError("--max-body must be positive")
        self.spec()

    def spec(self) -> DeploymentSpec:
        """The deployment these options name."""
        return DeploymentSpec.from_options(
            self.model, self.shadow, self.canary, self.route_key, self.salt,
            EncodingPolicy(self.unknown_category, self.missing_column),
        )  # fmt: skip

    @property
    def address(self) -> str:
        """``http://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def to_json(self) -> str:
        """The options as JSON (for worker processes)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        """Inverse of ``to_json``."""
        return cls(**json.loads(text))
