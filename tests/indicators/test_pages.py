"""The indicators' pages in French and English: the city's figures with their definitions and map, a quartier's
beside the city's."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators import service as indicators
from tests.indicators.helpers import create_city, send


async def test_the_city_and_a_quartier_in_french_and_english(
    session: AsyncSession, client: httpx.AsyncClient, token: str
) -> None:
    city = await create_city(session, client, token)
    await send(client, token, city.west_no2, [["2026-11-18T10:00:00Z", 40.25], ["2026-11-25T10:00:00Z", 50.5]])
    await send(client, token, city.bicycles, [["2026-11-25T07:00:00Z", 120], ["2026-11-25T18:00:00Z", 300]])
    await indicators.fold(session)  # as the app's timer does a few seconds later
    await session.commit()

    french = await client.get("/indicators", headers={"Accept-Language": "fr"})
    assert french.status_code == 200
    assert "NO2 (moyenne journalière)" in french.text
    assert "50,5" in french.text  # decimal comma
    assert "Vélos comptés par jour" in french.text
    assert 'data-indicator="air-pm10"' not in french.text  # no PM10 sensor: not shown
    assert "contre la semaine précédente" in french.text
    english = await client.get("/indicators", headers={"Accept-Language": "en"})
    assert "NO2 (daily mean)" in english.text
    assert "50.5" in english.text
    assert "against the previous week" in english.text
    # Units that are words are written in the page's language.
    assert "<dd>bicycles</dd>" in english.text and "<dd>vélos</dd>" not in english.text
    assert "<dd>vélos</dd>" in french.text

    quartier = await client.get(f"/indicators/quartiers/{city.west}", headers={"Accept-Language": "en"})
    assert quartier.status_code == 200
    assert "Ouest: indicators" in quartier.text
    assert "Bicycles: daily profile" in quartier.text
    assert 'id="indicator-chart-app"' in quartier.text
    assert 'data-unit="bicycles"' in quartier.text
    french_quartier = await client.get(f"/indicators/quartiers/{city.east}", headers={"Accept-Language": "fr"})
    assert "Aucune donnée dans ce quartier." in french_quartier.text


async def test_an_unknown_quartier_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/indicators/quartiers/999999", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    empty = await client.get("/indicators", headers={"Accept-Language": "en"})
    assert "No indicator has data yet" in empty.text
