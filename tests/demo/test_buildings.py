"""The demo's buildings: with their meters in four quartiers (about 200; fewer in a small city), and the demo citizen a
confirmed resident of a building whose page compares it with at least 10 similar ones (simulated data); the
quartiers' network meters give water and energy per resident."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings import service as buildings
from citoyen.config import Settings
from citoyen.demo import buildings as demo
from citoyen.demo.common import DEMO_ACCOUNTS
from citoyen.demo.generator import build_demo
from citoyen.indicators import building_views, views
from citoyen.people import service as people


@pytest.fixture
def demo_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"demo_citizens": 50})


async def test_the_demo_citizen_sees_their_building_beside_similar_ones(
    session: AsyncSession, demo_settings: Settings
) -> None:
    started = time.perf_counter()
    await build_demo(session, demo_settings, with_open_data=False, only=frozenset({"buildings"}))
    print(f"demo buildings built in {time.perf_counter() - started:.2f} s")
    # A small city (the browser tests') has 7 buildings per quartier besides the citizen's; the full demo 50.
    assert await buildings.building_count(session) == 1 + 4 * demo.SMALL_PER_QUARTIER
    citizen = await people.find_person_by_email(session, DEMO_ACCOUNTS[0].email)
    assert citizen is not None
    (home, status), *_ = await buildings.buildings_of(session, citizen.id)
    assert status == "confirmed" and home.simulated
    page = await building_views.building_page(session, home.thing_id, citizen)
    assert page.sees_own and page.degree_days is not None and page.degree_days > 100
    heating = next(m for m in page.meters if m.meter == "heating")
    assert heating.comparison is not None and heating.comparison.peers >= 10
    assert heating.own is not None and heating.nudge in {"above", "below", "efficient"}
    # The quartiers' network meters (simulated) divided by their estimated population: water and energy per
    # resident, charted and mapped.
    city = await views.city_page(session)
    assert city.population is not None and city.population.estimated and city.population.year == 2021
    figures = {figure.indicator.id: figure for figure in city.figures}
    assert 0.1 < figures["water-per-resident"].latest_value < 0.3
    assert 8 < figures["energy-per-resident"].latest_value < 60
    assert len(city.choropleth["water-per-resident"]) == len(demo.QUARTIERS)
