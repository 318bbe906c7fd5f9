"""A building's page: 404 for an unknown building; the comparison with at least 10 similar buildings (and why
not with 9); the building's own figures for its confirmed residents only; a resident's link request."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings import service as buildings
from citoyen.people import service as people
from citoyen.people.models import Role
from tests.buildings.helpers import add_building, weather
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.territory.helpers import create_territory


async def _street(session: AsyncSession, peers: int) -> buildings.Building:
    """A building heating 30 % more than the median of `peers` similar ones (heating 200..380 kWh a day)."""
    temperature = await weather(session)
    for number in range(peers):
        await add_building(session, heating_kwh=200.0 + 20 * number, temperature=temperature)
    return await add_building(session, heating_kwh=375.0, temperature=temperature)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_an_unknown_building_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/buildings/987654321")).status_code == 404


async def test_a_confirmed_resident_sees_their_building_beside_ten_similar_ones(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    building = await _street(session, peers=10)
    resident = await create_person(session)
    link = await buildings.request_link(session, building.thing_id, resident)
    link.status = buildings.LinkStatus.CONFIRMED.value
    await session.commit()

    public = await client.get(f"/buildings/{building.thing_id}", headers={"Accept-Language": "en"})
    assert public.status_code == 200
    text = _text(public.text)
    assert "10 similar buildings: median 29.0," in text, text  # 290 kWh a day over 1,000 m² and 10 DJU
    assert "data-own" not in public.text and "data-nudge" not in public.text

    await log_in(client, resident.email)
    page = await client.get(f"/buildings/{building.thing_id}", headers={"Accept-Language": "en"})
    text = _text(page.text)
    # 375 kWh a day, 10 degree-days a day, 1,000 m²: 37.5 Wh per m² per degree-day; the median is 29.
    assert "This building: 37.5 Wh per m² per degree-day." in text
    assert "Your building heats 29% more than similar ones" in text, text
    assert "It uses more than 90% of the similar buildings." in text
    assert "Simulated data" in text


async def test_nine_similar_buildings_give_no_comparison_and_the_page_says_why(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    building = await _street(session, peers=9)
    await session.commit()
    page = await client.get(f"/buildings/{building.thing_id}", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert "data-no-comparison" in page.text and "data-peers" not in page.text
    assert "seuls 9\u00a0bâtiments similaires" in page.text  # French typography: a no-break space


async def test_a_signed_in_resident_asks_to_be_linked(session: AsyncSession, client: httpx.AsyncClient) -> None:
    building = await add_building(session)
    resident = await create_person(session)
    await session.commit()
    await log_in(client, resident.email)
    token = await csrf_token(client, f"/buildings/{building.thing_id}")
    response = await client.post(f"/buildings/{building.thing_id}/link", data={"csrf_token": token})
    assert response.status_code == 303
    page = await client.get(f"/buildings/{building.thing_id}")
    assert 'data-link-status="requested"' in page.text
    again = await client.post(f"/buildings/{building.thing_id}/link", data={"csrf_token": token})
    assert again.status_code == 409


async def test_the_buildings_department_confirms_a_request_from_its_list(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    building_id = (await add_building(session)).thing_id
    resident = await create_person(session, display_name="Nadia-du-11e")
    link_id = (await buildings.request_link(session, building_id, resident)).id
    resident_id = resident.id
    department = await people.create_department(session, buildings.BUILDINGS_DEPARTMENT, "Énergie et bâtiments")
    staff = await create_person(session, role=Role.STAFF)
    staff.department_id = department.id
    staff_email = staff.email
    await session.commit()
    await log_in(client, staff_email)
    listed = await client.get("/staff/buildings/links", headers={"Accept-Language": "en"})
    assert listed.status_code == 200 and "Nadia-du-11e" in listed.text
    token = await csrf_token(client, "/staff/buildings/links")
    confirmed = await client.post(f"/staff/buildings/links/{link_id}/confirm", data={"csrf_token": token})
    assert confirmed.status_code == 303
    assert "Nadia-du-11e" not in (await client.get("/staff/buildings/links")).text
    assert await buildings.is_resident(session, building_id, resident_id)


async def test_the_buildings_department_creates_a_building_from_its_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_territory(session)
    department = await people.create_department(session, buildings.BUILDINGS_DEPARTMENT, "Énergie et bâtiments")
    staff = await create_person(session, role=Role.STAFF)
    staff.department_id = department.id
    other = await create_person(session, role=Role.STAFF)
    staff_email, other_email = staff.email, other.email
    await session.commit()
    await log_in(client, other_email)
    assert (await client.get("/staff/buildings")).status_code == 403  # another department's staff
    await log_in(client, staff_email)
    token = await csrf_token(client, "/staff/buildings")
    form = {
        "csrf_token": token,
        "name": "Résidence Ouest",
        "use": "housing",
        "floor_area_m2": "2400",
        "year_built": "1962",
        "dwellings": "36",
        "energy_class": "F",
        "lon": "2.305",
        "lat": "48.855",
        "meters": ["heating", "water"],
    }
    refused = await client.post(
        "/staff/buildings", data={**form, "floor_area_m2": "0"}, headers={"Accept-Language": "en"}
    )
    assert refused.status_code == 400 and "floor area" in refused.text
    created = await client.post("/staff/buildings", data=form)
    assert created.status_code == 303
    building = await buildings.get_building(session, int(created.headers["location"].rsplit("/", 1)[1]))
    assert building.name == "Résidence Ouest" and building.neighbourhood_id is not None
    assert buildings.meter_stream(building, "electricity") is None
    assert buildings.meter_stream(building, "water") is not None
