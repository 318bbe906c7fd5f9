"""Buildings: created through sensing's service with their meters, similar buildings, residents' links
(asked, confirmed by the buildings department), and the link in the person's export and erasure."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings import service as buildings
from citoyen.errors import Kind
from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.sensing.models import Datastream, Thing, ThingAccess
from tests.buildings.helpers import add_building, sta_context
from tests.factories import create_person
from tests.territory.helpers import create_territory


async def test_a_building_is_a_restricted_thing_with_one_datastream_per_meter(session: AsyncSession) -> None:
    await create_territory(session)
    kit = buildings.MeterKit()
    spec = buildings.BuildingSpec(
        name="Immeuble rue Test",
        use=buildings.BuildingUse.HOUSING,
        floor_area_m2=1800,
        year_built=1962,
        dwellings=24,
        energy_class="E",
        lon=2.305,
        lat=48.855,
    )
    first = await buildings.create_building(session, sta_context(), spec, kit)
    second = await buildings.create_building(session, sta_context(), spec, kit)
    thing = await session.get(Thing, first.thing_id)
    assert thing is not None and thing.access == ThingAccess.RESTRICTED
    streams = (await session.execute(select(Datastream).where(Datastream.thing_id == first.thing_id))).scalars().all()
    assert {s.id for s in streams} == {
        first.heating_datastream_id,
        first.electricity_datastream_id,
        first.water_datastream_id,
    }
    assert first.neighbourhood_id is not None  # placed in "Ouest"
    # The second building links the same Sensor and ObservedProperties.
    other = await session.get(Datastream, second.water_datastream_id)
    water = await session.get(Datastream, first.water_datastream_id)
    assert other is not None and water is not None
    assert (other.sensor_id, other.observed_property_id) == (water.sensor_id, water.observed_property_id)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"floor_area_m2": 0}, "floor_area_m2"),
        ({"year_built": 3000}, "year_built"),
        ({"energy_class": "H"}, "energy_class"),
    ],
)
async def test_attributes_out_of_range_are_refused(
    session: AsyncSession, change: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {
        "name": "B",
        "use": buildings.BuildingUse.HOUSING,
        "floor_area_m2": 100,
        "year_built": 1990,
        "dwellings": 2,
        "lon": 2.3,
        "lat": 48.8,
        **change,
    }
    with pytest.raises(buildings.BuildingError) as refused:
        buildings.check_spec(buildings.BuildingSpec(**values))  # type: ignore[arg-type]
    assert refused.value.kind is Kind.INVALID and refused.value.field == field


async def test_similar_buildings_share_use_size_and_period(session: AsyncSession) -> None:
    building = await add_building(session, floor_area_m2=1000, year_built=1960)
    alike = await add_building(session, floor_area_m2=1900, year_built=1974)
    await add_building(session, floor_area_m2=2100, year_built=1960)  # more than twice as large
    await add_building(session, floor_area_m2=1000, year_built=1975)  # after the first thermal regulation
    await add_building(session, floor_area_m2=1000, year_built=1960, use=buildings.BuildingUse.OFFICE)
    assert [b.thing_id for b in await buildings.similar_buildings(session, building)] == [alike.thing_id]


async def _buildings_staff(session: AsyncSession) -> people.Person:
    department = await people.create_department(session, buildings.BUILDINGS_DEPARTMENT, "Énergie et bâtiments", None)
    staff = await create_person(session, role=Role.STAFF)
    staff.department_id = department.id
    await session.flush()
    return staff


async def test_a_resident_asks_and_the_buildings_department_confirms(session: AsyncSession) -> None:
    building = await add_building(session)
    resident = await create_person(session)
    other_staff = await create_person(session, role=Role.STAFF)  # no department
    staff = await _buildings_staff(session)

    link = await buildings.request_link(session, building.thing_id, resident)
    assert not await buildings.is_resident(session, building.thing_id, resident.id)
    with pytest.raises(buildings.BuildingError) as twice:
        await buildings.request_link(session, building.thing_id, resident)
    assert twice.value.kind is Kind.CONFLICT
    for refused in (resident, other_staff):
        with pytest.raises(buildings.BuildingError) as forbidden:
            await buildings.confirm_link(session, link.id, refused)
        assert forbidden.value.kind is Kind.FORBIDDEN

    assert [p.id for p in await buildings.pending_links(session, staff)] == [link.id]
    await buildings.confirm_link(session, link.id, staff)
    assert await buildings.is_resident(session, building.thing_id, resident.id)
    assert await buildings.pending_links(session, staff) == []
    with pytest.raises(buildings.BuildingError) as decided:
        await buildings.decline_link(session, link.id, staff)
    assert decided.value.kind is Kind.CONFLICT


async def test_a_declined_request_is_deleted_and_an_unknown_building_is_404(session: AsyncSession) -> None:
    building = await add_building(session)
    resident = await create_person(session)
    staff = await _buildings_staff(session)
    link = await buildings.request_link(session, building.thing_id, resident)
    await buildings.decline_link(session, link.id, staff)
    assert await buildings.link_of(session, building.thing_id, resident.id) is None
    with pytest.raises(buildings.BuildingError) as unknown:
        await buildings.request_link(session, 123_456_789, resident)
    assert unknown.value.kind is Kind.NOT_FOUND


async def test_the_link_is_exported_and_erased_with_the_person(session: AsyncSession) -> None:
    building = await add_building(session)
    resident = await create_person(session)
    neighbour = await create_person(session)
    await buildings.request_link(session, building.thing_id, resident)
    await buildings.request_link(session, building.thing_id, neighbour)

    exported = await buildings.export_personal_data(session, resident)
    assert [(row["building_id"], row["status"]) for row in exported["building_links"]] == [
        (building.thing_id, "requested")
    ]
    await buildings.erase_personal_data(session, resident)
    assert await buildings.link_of(session, building.thing_id, resident.id) is None
    assert await buildings.link_of(session, building.thing_id, neighbour.id) is not None
    assert (await buildings.export_personal_data(session, resident)) == {"building_links": []}
