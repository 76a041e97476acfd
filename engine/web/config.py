"""The configuration of one web server: the rule base, the engine, the token and the limits.

A :class:`WebConfig` travels to every server process as JSON in the environment variable
``KZCOPYRIGHT_WEB_CONFIG`` when uvicorn starts several workers (each imports the app
factory :func:`kzcopyright.engine.web.app.app_from_env`).
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = ["Limits", "WebConfig", "ENV_VAR", "is_loopback", "loopback_hosts"]

ENV_VAR = "KZCOPYRIGHT_WEB_CONFIG"


@dataclass(frozen=True)
class Limits:
    """What one request may ask for (documented in docs/api.md, "Limits").

    ``max_body_bytes``: the request body (413 beyond); ``max_facts``: facts in one case (422
    ``too-many-facts``); ``time_limit``: seconds one evaluation job may take in its worker
    process (504 ``timeout``; the worker is then replaced); ``queue_wait``: seconds a request
    waits for a free worker (503 ``busy``); ``max_evals`` / ``max_changes``: the bound of the
    why-not change search; ``max_set``: changes in one what-if; ``max_token_chars``: the
    length of a page's case token (a link carrying the case).
    """

    max_body_bytes: int = 1024 * 1024
    max_facts: int = 200
    time_limit: float = 20.0
    queue_wait: float = 15.0
    max_evals: int = 400
    default_evals: int = 200
    max_changes: int = 3
    max_set: int = 20
    max_token_chars: int = 60_000


@dataclass(frozen=True)
class WebConfig:
    """One server's settings. ``token`` None: no authentication (loopback use);
    ``allowed_hosts`` None: any Host header (the test client), else the host names accepted
    (a guard against DNS rebinding when serving on the loopback interface)."""

    rules: str | None = None
    kb: str | None = None
    engine: str | None = None
    token: str | None = None
    eval_workers: int = 2
    limits: Limits = field(default_factory=Limits)
    allowed_hosts: tuple[str, ...] | None = None

    def to_env(self) -> str:
        """The configuration as JSON, for the environment of uvicorn's workers."""
        data = asdict(self)
        data["allowed_hosts"] = list(self.allowed_hosts) if self.allowed_hosts is not None else None
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_env(cls, text: str | None = None) -> WebConfig:
        """The configuration from JSON (by default the environment variable's)."""
        raw = text if text is not None else os.environ.get(ENV_VAR, "")
        if not raw:
            return cls()
        data: dict[str, Any] = json.loads(raw)
        limits = Limits(**data.pop("limits", {}))
        hosts = data.pop("allowed_hosts", None)
        cfg = cls(**data, limits=limits)
        return replace(cfg, allowed_hosts=tuple(hosts) if hosts is not None else None)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address to bind) is this machine only."""
    h = host.strip("[]")
    if h in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def loopback_hosts(host: str) -> tuple[str, ...]:
    """The Host header names a browser uses for a server bound to a loopback ``host``."""
    return tuple(sorted({host.strip("[]"), "127.0.0.1", "localhost", "::1"}))
