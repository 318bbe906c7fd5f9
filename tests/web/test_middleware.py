"""What every response carries (or not): the language it is in, and the session cookie only on pages."""

from __future__ import annotations

import httpx
import pytest


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
