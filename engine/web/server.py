"""Running the web server: ``kzcopyright serve`` (uvicorn on a socket it binds first, so that
the address printed is the one listened on, port 0 included)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import replace

import uvicorn

from .app import create_app  # the web extra: fastapi, jinja2, python-multipart (an ImportError names it)

try:  # forms and uploads; starlette imports it only when a form arrives
    import python_multipart  # noqa: F401
except ImportError:  # pragma: no cover - older python-multipart
    import multipart  # type: ignore[import-not-found, no-redef]  # noqa: F401
from .config import ENV_VAR, WebConfig, is_loopback, loopback_hosts

__all__ = ["serve", "bind", "address_of", "NO_TOKEN_WARNING"]

# the request line and headers may be this long: a page's link carries its case (Limits.max_token_chars)
MAX_HEAD = 96 * 1024

NO_TOKEN_WARNING = ("warning: serving on {host}, which is reachable from other machines, without --token: anyone "
                    "who can reach it can use it. Give --token (or KZCOPYRIGHT_TOKEN) to require "
                    "'Authorization: Bearer TOKEN'.")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (raises OSError, e.g. address in use)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    return socket.create_server((host.strip("[]"), port), family=family, backlog=128)


def address_of(sock: socket.socket, host: str) -> str:
    """The address a socket listens on, as a URL."""
    port = sock.getsockname()[1]
    h = host.strip("[]")
    return f"http://[{h}]:{port}/" if ":" in h else f"http://{h}:{port}/"


def prepare(config: WebConfig, host: str, warn: Callable[[str], None]) -> WebConfig:
    """The configuration for ``host``: the Host check on loopback, a warning when it is
    exposed without a token; the rule base is loaded once here to fail early."""
    from ..rulebase import choose_engine, load_rulebase

    if is_loopback(host):
        config = replace(config, allowed_hosts=loopback_hosts(host))
    else:
        config = replace(config, allowed_hosts=None)
        if not config.token:
            warn(NO_TOKEN_WARNING.format(host=host))
    load_rulebase(config.rules, config.kb)
    _name, notice = choose_engine(config.engine)
    if notice:
        warn(notice)
    return config


def serve(config: WebConfig, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, *,
          say: Callable[[str], None] = print, warn: Callable[[str], None] = print) -> None:
    """Serve until interrupted. With ``workers`` > 1, uvicorn starts that many server
    processes, each loading the rule base once (the configuration goes to them in the
    environment)."""
    config = prepare(config, host, warn)
    if workers > 1 and port == 0:
        raise OSError("several workers need a fixed --port")
    sock = bind(host, port)
    address = address_of(sock, host)
    say(f"kzcopyright serving on {address}  (API: {address}docs; press Ctrl-C to stop)")
    if workers == 1:
        server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", access_log=False,
                                               lifespan="on", timeout_graceful_shutdown=5,
                                               h11_max_incomplete_event_size=MAX_HEAD))
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, after a clean shutdown
            pass
        say("kzcopyright: stopped")
        return
    sock.close()
    os.environ[ENV_VAR] = config.to_env()
    try:
        uvicorn.run("kzcopyright.engine.web.app:app_from_env", factory=True, host=host.strip("[]"), port=port,
                    workers=workers, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5,
                    h11_max_incomplete_event_size=MAX_HEAD)
    except KeyboardInterrupt:
        pass
    say("kzcopyright: stopped")
