"""What every response carries (or not): the language it is in, and the session cookie only on pages."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from citoyen.app import create_app
from citoyen.config import Settings
from citoyen.web.headers import tile_source


@pytest.mark.parametrize(
    "path", ["/open311/v2/requests.json", "/open311/v2/services.xml", "/api/reports/map?zoom=12", "/healthz"]
)
async def test_apis_never_set_the_session_cookie(client: httpx.AsyncClient, path: str) -> None:
    assert "set-cookie" not in (await client.get(path)).headers
    # Not even for a browser that has a session (the map's requests carry its cookie).
    page = await client.get("/login")
    assert "citoyen_session=" in page.headers["set-cookie"]
    again = await client.get(path)
    assert again.status_code == 200 and "set-cookie" not in again.headers


async def test_answers_say_their_language(client: httpx.AsyncClient) -> None:
    french = await client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert french.headers["content-language"] == "fr"
    english = await client.get("/open311/v2/services.json", headers={"Accept-Language": "en"})
    assert english.headers["content-language"] == "en"


async def test_pages_say_what_they_may_load_and_refuse_to_be_framed(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "'unsafe-eval'" not in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    api = await client.get("/api/reports/map?zoom=12")
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    # Over plain HTTP (a developer's machine) there is no HSTS and the cookie is not Secure.
    assert "strict-transport-security" not in page.headers
    assert "secure" not in page.headers["set-cookie"].lower()


async def test_over_https_cookies_are_secure_and_browsers_are_told_to_keep_to_it(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://ville.example") as client:
        page = await client.get("/login", headers={"Accept-Language": "en"})
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    cookies = page.headers.get_list("set-cookie")
    assert cookies and all(cookie.endswith("; Secure") for cookie in cookies)


def test_configured_map_tiles_are_allowed_as_images() -> None:
    assert tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == " https://*.tile.openstreetmap.org"
    plan_ign = "https://data.geopf.fr/wmts?layer=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&TileMatrix={z}"
    assert tile_source(plan_ign) == " https://data.geopf.fr"
    assert tile_source("") == "" and tile_source("javascript:alert(1)") == ""


async def _home_page(settings: Settings, engine: AsyncEngine, **changes: str) -> httpx.Response:
    app = create_app(settings.model_copy(update=changes), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        return await client.get("/", headers={"Accept-Language": "fr"})


async def test_the_street_map_is_plan_ign_by_default_and_off_when_emptied(
    settings: Settings, engine: AsyncEngine
) -> None:
    """By default pages may load IGN's Plan IGN tiles (and the map element names them with their attribution);
    with CITOYEN_MAP_TILE_URL="" neither the policy nor the page mentions a tile server."""
    defaults = {name: str(Settings.model_fields[name].default) for name in ("map_tile_url", "map_tile_attribution")}
    page = await _home_page(settings, engine, **defaults)
    assert "img-src 'self' data: blob: https://data.geopf.fr;" in page.headers["content-security-policy"]
    assert "LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" in page.text and "© IGN – Plan IGN, Licence Ouverte" in page.text

    page = await _home_page(settings, engine, map_tile_url="")
    assert "img-src 'self' data: blob:;" in page.headers["content-security-policy"]
    assert 'data-tile-url=""' in page.text and "geopf" not in page.text
