"""The platform's public address: the one place that decides what every absolute link starts with.

Mails, digests, Open311 discovery and `media_url`, SensorThings and MQTT `selfLink`s, DCAT and CKAN URLs and the
open-data downloads all start with `base_url(settings, request)`:

1. `CITOYEN_BASE_URL` when it is set (what a city's deployment behind a proxy sets);
2. during a request that came through a trusted proxy (`CITOYEN_TRUSTED_PROXIES`, see `citoyen.web.proxies`):
   the scheme and host the proxy says it served (`X-Forwarded-Proto`, `X-Forwarded-Host` or its `Host`);
3. otherwise the address the platform serves on (`citoyen serve --host --port` writes it to `served_url`).

A client's own `Host` header is never believed on its own: a password-reset mail whose link followed it would
hand the token to whoever forged the header. Background work (mail, MQTT announcements, open-data publication)
has no request and uses 1 or 3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from citoyen.config import Settings

# Where the address is when neither the settings nor the CLI say (a test app, a script building an app).
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# The ASGI scope key under which the proxy middleware leaves the address a trusted proxy served.
FORWARDED_BASE = "citoyen.forwarded_base"


class HasScope(Protocol):
    @property
    def scope(self) -> Mapping[str, Any]: ...


def served_url(host: str, port: int) -> str:
    """The address of a server listening on host:port; a wildcard address is reached on the loopback."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def base_url(settings: Settings, request: HasScope | None = None) -> str:
    """The scheme, host and port that absolute links start with, without a trailing slash."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    if request is not None:
        forwarded = request.scope.get(FORWARDED_BASE)
        if isinstance(forwarded, str):
            return forwarded
    return (settings.served_url or DEFAULT_BASE_URL).rstrip("/")
