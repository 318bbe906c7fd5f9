"""The neighbourhood panel's view: what each domain knows of one neighbourhood, with links, and nothing of the
others (closed reports, processes limited elsewhere or not running, personal sensors, other neighbourhoods)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.overviews import views
from citoyen.participation import service as participation
from citoyen.people.models import Role
from citoyen.reports import service as reports
from citoyen.reports.models import CloseReason, ReportStatus
from citoyen.sensing.models import Location, ThingAccess, ThingKind, ThingLocation
from tests.factories import create_person
from tests.participation.helpers import EAST, WEST, create_process, neighbourhood_ids, open_phases, submit
from tests.reports.helpers import create_reports_world, file_report
from tests.sensing.live_helpers import SensorWorld, add_readings, create_sensor
from tests.territory.helpers import create_territory


async def _place(session: AsyncSession, sensor: SensorWorld, neighbourhood_id: int) -> None:
    """Put a test sensor's Location in a neighbourhood (the helper makes it at a fixed point)."""
    locations = select(ThingLocation.location_id).where(ThingLocation.thing_id == sensor.thing_id)
    await session.execute(update(Location).where(Location.id.in_(locations)).values(neighbourhood_id=neighbourhood_id))


async def test_the_panel_gathers_open_reports_running_processes_and_sensors(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_reports_world(session)
    ids = await neighbourhood_ids(session)
    west, east = ids["Ouest"], ids["Est"]
    for _ in range(2):
        await file_report(session, world, WEST, "pothole")
    await file_report(session, world, WEST, "streetlight")
    closed = await file_report(session, world, WEST, "streetlight")
    await file_report(session, world, EAST, "streetlight")
    staff = await create_person(session, role=Role.STAFF)
    staff.department_id = world.lighting.id
    change = reports.StaffUpdate(status=ReportStatus.CLOSED, close_reason=CloseReason.FIXED, public_answer="Réparé.")
    await reports.update_report(session, settings, staff, closed, change)

    author = await create_person(session)
    everywhere = await create_process(session, "partout")
    for number in range(4):
        await submit(session, everywhere, author, WEST, title=f"Proposition numéro {number} à l'ouest")
    await submit(session, everywhere, author, EAST, title="Une proposition à l'est")
    await create_process(session, "seulement-est", whole_city=False, neighbourhood_ids=[east])
    past = utcnow() - timedelta(days=100)
    finished = participation.ProcessInput("termine", "Fini", past, past + timedelta(days=30), phases=open_phases(past))
    await participation.save_process(session, finished)

    air = await create_sensor(session, kind=ThingKind.AIR, name="Air Ouest")
    await add_readings(session, air, [(utcnow() - timedelta(minutes=5), 41.5), (utcnow() - timedelta(hours=1), 30.0)])
    await _place(session, air, west)
    flat = await create_sensor(session, ThingAccess.PERSONAL, ThingKind.WATER, author.id, name="Mon appartement")
    await _place(session, flat, west)
    elsewhere = await create_sensor(session, name="Air Est")
    await _place(session, elsewhere, east)

    panel = await views.neighbourhood_panel(session, west)

    assert panel is not None and panel.neighbourhood.name == "Ouest"
    # Reports not yet closed, per category, most first, each linked to the list narrowed to it.
    assert [(item.name_en, item.count) for item in panel.open_reports] == [("Pothole", 2), ("Street light out", 1)]
    assert panel.open_report_total == 3
    assert panel.open_reports[0].url == f"/reports?neighbourhood={west}&category=pothole"
    assert panel.reports_url == f"/reports?neighbourhood={west}"
    # The city-wide process runs here; the one limited to the east and the finished one do not.
    (process,) = panel.processes
    assert process.url == f"/participation/processes/partout?neighbourhood={west}"
    assert process.proposal_count == 4 and len(process.proposals) == views.PROPOSALS_SHOWN
    assert process.proposals[0].title == "Proposition numéro 3 à l'ouest"
    assert (
        process.proposals[0].url.startswith("/participation/proposals/") and process.proposals[0].status == "published"
    )
    # The public sensor with its latest reading; never the household's meter, nor the east's station.
    (sensor,) = panel.sensors
    assert (sensor.name, sensor.kind, sensor.url) == ("Air Ouest", "air", f"/sensing/things/{air.thing_id}")
    (reading,) = sensor.readings
    assert reading.value == 41.5 and reading.unit_symbol == "µg/m³" and not reading.is_hourly_mean

    east_panel = await views.neighbourhood_panel(session, east)
    assert east_panel is not None
    assert [(item.name_en, item.count) for item in east_panel.open_reports] == [("Street light out", 1)]
    assert sorted(p.url.split("?")[0] for p in east_panel.processes) == [
        "/participation/processes/partout",
        "/participation/processes/seulement-est",
    ]
    assert [s.name for s in east_panel.sensors] == ["Air Est"] and east_panel.sensors[0].readings[0].value is None


async def test_a_restricted_sensor_shows_the_last_full_hours_mean_and_an_unknown_neighbourhood_nothing(
    session: AsyncSession,
) -> None:
    await create_territory(session)
    west = (await neighbourhood_ids(session))["Ouest"]
    flats = await create_sensor(session, ThingAccess.RESTRICTED, ThingKind.ENERGY, name="Immeuble")
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    await add_readings(session, flats, [(hour + timedelta(minutes=10), 2.0), (hour + timedelta(minutes=40), 4.0)])
    await _place(session, flats, west)

    panel = await views.neighbourhood_panel(session, west)

    assert panel is not None and panel.open_reports == [] and panel.processes == []
    (reading,) = panel.sensors[0].readings
    assert (reading.value, reading.time, reading.is_hourly_mean) == (3.0, hour, True)
    assert await views.neighbourhood_panel(session, 999_999) is None
