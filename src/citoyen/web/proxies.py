"""Requests that arrive through the reverse proxy: which of its X-Forwarded-* headers are believed.

Only a peer listed in `CITOYEN_TRUSTED_PROXIES` (addresses or networks, comma-separated; `*` for all) is
believed. For such a request the app sees the client's address and scheme (X-Forwarded-For and -Proto, done by
uvicorn's middleware) and the address the proxy served (X-Forwarded-Host, or the Host it passed on), which
`citoyen.addresses.base_url` puts in front of absolute links. Anyone else's X-Forwarded-* headers are ignored.

The app does this itself rather than letting uvicorn do it before the app: uvicorn replaces the peer's address by
the forwarded client's, after which nobody can tell whether X-Forwarded-Host came from a trusted proxy.
"""

from __future__ import annotations

import ipaddress
import re

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from citoyen.addresses import FORWARDED_BASE

# A host and optional port as browsers send them: a name, an IPv4 address or a bracketed IPv6 address.
HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
SCHEMES = ("http", "https")


class TrustedProxies:
    """The peers whose forwarding headers are believed: `*`, IP addresses and networks (`10.0.0.0/8`)."""

    def __init__(self, spec: str) -> None:
        items = [item.strip() for item in spec.split(",") if item.strip()]
        self.everyone = "*" in items
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.names: set[str] = set()
        for item in items:
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.names.add(item)  # a Unix socket path, as uvicorn allows

    def __contains__(self, host: object) -> bool:
        if self.everyone:
            return True
        if not isinstance(host, str):
            return False
        if host in self.names:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of the first such header (a chain of proxies lists the outermost first)."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text.split(",")[0].strip()
    return None


class ForwardedHeaders:
    """Believes X-Forwarded-For, -Proto and -Host from trusted proxies only (see the module's docstring)."""

    def __init__(self, app: ASGIApp, trusted_proxies: str) -> None:
        self.trusted = TrustedProxies(trusted_proxies)
        self.app = app
        self.inner = ProxyHeadersMiddleware(app, trusted_hosts=trusted_proxies)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if client and client[0] in self.trusted:
            scheme = _header(scope, b"x-forwarded-proto") or scope.get("scheme", "http")
            host = _header(scope, b"x-forwarded-host") or _header(scope, b"host")
            if scheme in SCHEMES and host and HOST.fullmatch(host):
                scope[FORWARDED_BASE] = f"{scheme}://{host}{scope.get('root_path', '')}".rstrip("/")
            await self.inner(scope, receive, send)  # type: ignore[arg-type]
            return
        await self.app(scope, receive, send)
