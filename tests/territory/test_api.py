from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.territory.helpers import create_territory


async def test_neighbourhoods_are_a_geojson_feature_collection(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await create_territory(session)
    await session.commit()
    body = (await client.get("/api/territory/neighbourhoods")).json()
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["name"] for f in body["features"]] == ["Ouest", "Est"]
    first = body["features"][0]
    assert first["type"] == "Feature"
    assert first["geometry"]["type"] == "Polygon"
    assert set(first["properties"]) == {"id", "name", "code"}
    assert first["properties"]["code"] == "W1"


async def test_locate_answers_the_neighbourhood_or_a_json_404(session: AsyncSession, client: httpx.AsyncClient) -> None:
    await create_territory(session)
    await session.commit()
    found = await client.get("/api/territory/locate", params={"lon": 2.315, "lat": 48.855})
    assert found.status_code == 200
    assert found.json()["name"] == "Est"
    assert set(found.json()["h3_cells"]) == {"6", "8", "10"}
    outside = await client.get("/api/territory/locate", params={"lon": 2.0, "lat": 48.0})
    assert outside.status_code == 404
    assert "no neighbourhood" in outside.json()["error"]["message"]


async def test_locate_refuses_coordinates_that_are_not_on_earth(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/territory/locate", params={"lon": 200, "lat": 48.0})
    assert response.status_code == 400
    assert response.json()["error"]["problems"][0]["location"] == "query.lon"
    missing = await client.get("/api/territory/locate", params={"lon": "abc"})
    assert missing.status_code == 400


async def test_home_page_draws_the_map_and_the_panel_names_a_neighbourhood(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await create_territory(session)
    await session.commit()
    home = await client.get("/", headers={"Accept-Language": "en"})
    assert home.status_code == 200
    assert 'id="city-map"' in home.text
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in home.text
    assert "2 neighbourhoods" in home.text
    features = (await client.get("/api/territory/neighbourhoods")).json()["features"]
    panel = await client.get(f"/neighbourhoods/{features[1]['id']}/panel")
    assert "<h2>Est</h2>" in panel.text
    assert (await client.get("/neighbourhoods/999999/panel")).status_code == 404
