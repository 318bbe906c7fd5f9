"""Security headers on every answer: what a page may load and who may frame it, and cookies that only travel
over HTTPS when the platform is served over HTTPS."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages load their scripts, styles, data and fonts from the platform itself. Style attributes stay allowed (bar
# widths and legend swatches are computed in templates); style elements and inline scripts do not.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data: blob:{tiles}; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Machine answers (JSON, XML, GeoJSON) are data: nothing in them may run or be framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def tile_source(tile_url: str) -> str:
    """The CSP source that admits the configured raster tiles (Leaflet's `{s}` subdomains become a wildcard)."""
    if not tile_url:
        return ""
    parts = urlsplit(tile_url.replace("{s}", "tiles"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.netloc.replace("tiles.", "*.", 1) if "{s}." in tile_url else parts.netloc
    return f" {parts.scheme}://{host}"


class SecurityHeaders:
    """Adds the policy headers, and over HTTPS (as the server sees the request: directly, or through a trusted
    proxy's X-Forwarded-Proto) marks cookies Secure and asks browsers to keep to HTTPS (HSTS).

    Plain ASGI, like the app's other middleware: a few headers appended to the start message."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_prefixes: tuple[str, ...],
        tile_url: str = "",
        always_secure_cookies: bool = False,
        hsts_seconds: int = 31_536_000,
    ) -> None:
        self.app = app
        self.api_prefixes = api_prefixes
        self.always_secure_cookies = always_secure_cookies
        common = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin")]
        self.page_headers = [
            *common,
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", PAGE_POLICY.format(tiles=tile_source(tile_url)).encode()),
        ]
        self.api_headers = [*common, (b"content-security-policy", API_POLICY.encode())]
        self.hsts = (b"strict-transport-security", f"max-age={hsts_seconds}".encode()) if hsts_seconds else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.api_headers if scope["path"].startswith(self.api_prefixes) else self.page_headers
        https = scope.get("scheme") == "https"
        secure_cookies = https or self.always_secure_cookies

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in added if header[0] not in present)
                if https and self.hsts is not None:
                    headers.append(self.hsts)
                if secure_cookies:
                    headers = [_secure_cookie(name, value) for name, value in headers]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure_cookie(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() == b"set-cookie" and b"; secure" not in value.lower():
        return name, value + b"; Secure"
    return name, value
