"""The server's guard, one ASGI middleware in front of everything: the Host check (against
DNS rebinding on the loopback interface), the bearer token, the request-size limit, and the
security headers of every answer.

With a token, an API request (``/v1/...``, ``/openapi.json``) must carry
``Authorization: Bearer TOKEN``; a page request (and ``/openapi.json``, which the ``/docs`` page
links to) must carry it too, or the session cookie that ``/login`` sets once the token has been
typed there (a browser cannot add a header to a link).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from typing import Any
from collections.abc import Awaitable, Callable

__all__ = ["Guard", "COOKIE", "cookie_value", "is_api_path"]

COOKIE = "kzcopyright_session"
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_OPEN_PATHS = ("/login", "/static/", "/favicon.ico")


def cookie_value(token: str) -> str:
    """The session cookie for ``token``: derived from it, so the cookie is not the token."""
    return hmac.new(token.encode("utf-8"), b"kzcopyright-session-v1", hashlib.sha256).hexdigest()


def is_api_path(path: str) -> bool:
    """Whether ``path`` belongs to the JSON API (JSON errors, the bearer header only)."""
    return path.startswith("/v1/") or path == "/v1" or path == "/openapi.json"


def _header(scope: Scope, name: bytes) -> str:
    for k, v in scope.get("headers", []):
        if k == name:
            return str(v.decode("latin-1"))
    return ""


def _cookie(scope: Scope, name: str) -> str:
    for part in _header(scope, b"cookie").split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return ""


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """Host check, authentication, body limit and headers; see the module docstring."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int, allowed_hosts: tuple[str, ...] | None,
                 login_page: Callable[[Scope, bool], bytes] | None = None):
        self.app = app
        self.token = token
        self.cookie = cookie_value(token) if token else ""
        self.max_body = max_body
        self.allowed = {h.lower() for h in allowed_hosts} if allowed_hosts is not None else None
        self.login_page = login_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        api = is_api_path(path)
        if self.allowed is not None and _host_name(_header(scope, b"host")) not in self.allowed:
            await self._error(send, 400, "bad-host", "this server answers only to its own address "
                              f"({', '.join(sorted(self.allowed))})", api=True)
            return
        # the OpenAPI document is read by browsers too (the /docs page links to it): the cookie will do
        if self.token and not path.startswith(_OPEN_PATHS) and \
                not self._authorised(scope, api and path != "/openapi.json"):
            if api or self.login_page is None:
                await self._error(send, 401, "unauthorized", "this server needs 'Authorization: Bearer TOKEN'",
                                  api=True, headers=[(b"www-authenticate", b'Bearer realm="kzcopyright"')])
            else:
                body = self.login_page(scope, False)
                await self._send(send, 401, body, b"text/html; charset=utf-8",
                                 [(b"www-authenticate", b'Bearer realm="kzcopyright"')])
            return
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > self.max_body:
            await self._too_large(send, api)
            return
        # read the body here, within the limit, and hand it on whole
        chunks: list[bytes] = []
        size = 0
        more = scope.get("method", "GET") not in ("GET", "HEAD")
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(send, api)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            """The request body, read whole above, handed on."""
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_with_headers(message: Message) -> None:
            """The response with the security and cache headers added."""
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                         (b"x-frame-options", b"DENY")]
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html") and b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", _CSP.encode()))
                if b"cache-control" not in names:
                    extra.append((b"cache-control", b"public, max-age=3600" if path.startswith("/static/")
                                  else b"no-store"))
                message = dict(message, headers=headers + [h for h in extra if h[0] not in names])
            await send(message)

        await self.app(scope, replay, send_with_headers)

    def _authorised(self, scope: Scope, header_only: bool) -> bool:
        assert self.token
        auth = _header(scope, b"authorization")
        if auth[:7].lower() == "bearer " and hmac.compare_digest(auth[7:].strip().encode(), self.token.encode()):
            return True
        return not header_only and hmac.compare_digest(_cookie(scope, COOKIE).encode(), self.cookie.encode())

    async def _too_large(self, send: Send, api: bool) -> None:
        await self._error(send, 413, "too-large", f"the request body is larger than {self.max_body} bytes", api=api)

    async def _error(self, send: Send, status: int, code: str, message: str, *, api: bool,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
        if api:
            body = json.dumps({"error": {"status": status, "code": code, "message": message}}).encode()
            await self._send(send, status, body, b"application/json", headers or [])
            return
        page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{status}</title></head><body>'
                f'<h1>{status}</h1><p>{html.escape(message)}</p><p><a href="/">kzcopyright</a></p></body></html>')
        await self._send(send, status, page.encode(), b"text/html; charset=utf-8", headers or [])

    @staticmethod
    async def _send(send: Send, status: int, body: bytes, ctype: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                                (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"),
                                (b"connection", b"close")] + headers})
        await send({"type": "http.response.body", "body": body})
