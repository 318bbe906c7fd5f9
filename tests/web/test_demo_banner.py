"""The demo city says on every page, in the reader's language, that what it shows is simulated; a real city's
pages say nothing of the kind."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

BANNER = {
    "fr": "Ville de démonstration\u00a0: ses habitants, ses signalements, ses propositions, ses votes et les mesures "
    "de ses capteurs sont simulés.",
    "en": "Demonstration city: its residents, reports, proposals, votes and sensor readings are simulated.",
}


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("path", ["/", "/reports", "/participation", "/data"])
async def test_the_demo_says_its_data_is_simulated(
    app: FastAPI, client: httpx.AsyncClient, locale: str, path: str
) -> None:
    app.state.settings.demo_mode = True
    page = await client.get(path, headers={"Accept-Language": locale})
    assert page.status_code == 200
    assert BANNER[locale] in page.text


async def test_a_real_city_shows_no_demo_banner(client: httpx.AsyncClient) -> None:
    page = await client.get("/", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert "demo-banner" not in page.text
