"""Water and energy use in homes per quartier on /indicators: per dwelling, from the blocks of flats' meters,
shown only over at least 10 buildings."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators.homes import homes_table
from citoyen.territory import service as territory
from tests.buildings.helpers import add_building, weather
from tests.territory.helpers import create_territory


async def test_use_per_dwelling_per_quartier_over_ten_buildings_only(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await create_territory(session)
    ids = {n.name: n.id for n in await territory.list_neighbourhoods(session)}
    temperature = await weather(session)  # 10 degree-days a day
    for _ in range(10):  # 20 dwellings each: 300 kWh of heating and 5 m³ of water a day
        await add_building(session, temperature=temperature, neighbourhood_id=ids["Ouest"])
    for _ in range(9):
        await add_building(session, temperature=temperature, neighbourhood_id=ids["Est"])
    await session.commit()

    table = await homes_table(session)
    assert table is not None
    west, east = (
        next(row for row in table.quartiers if row.neighbourhood_id == ids[name]) for name in ("Ouest", "Est")
    )
    assert (west.buildings, west.dwellings) == (10, 200)
    assert west.water == pytest.approx(0.25)  # 5 m³ a day for 20 dwellings
    assert west.heating == pytest.approx(1.5)  # 300 kWh a day over 10 degree-days, for 20 dwellings
    assert west.electricity is None  # no electricity meters
    assert east.water is None and east.heating is None  # 9 buildings: not shown
    assert table.city.water == pytest.approx(0.25) and table.city.buildings == 19

    page = await client.get("/indicators", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "data-homes" in page.text and "Water and energy in homes" in page.text
