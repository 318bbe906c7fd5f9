"""The demo's buildings: about 200 blocks of flats, offices and schools in four quartiers of the 11th
arrondissement, each with water, electricity and heating meters read once a day, and a simulated outdoor
temperature for the degree-days; the demo citizen is a confirmed resident of one of them.

Everything here is **simulated** (and says so: the buildings are marked `simulated`, their pages say « données
simulées » / "simulated data"): the attributes are plausible for Paris (a Haussmannian stock built before 1914,
post-war blocks, a few recent ones; energy classes by period), the consumption follows the degree-days, the
floor area, the energy class and the dwellings, with noise. The Things are created through sensing's service;
the readings (one a day for HISTORY_DAYS) are stored in bulk as the demo's other history, and the indicators'
rollups are rebuilt from them by the generator.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shapely.geometry import Point, shape
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.addresses import base_url
from citoyen.buildings import service as buildings
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.demo.common import ADMIN_ACCOUNT, DEMO_ACCOUNTS, ProgressCallback
from citoyen.demo.sensing import insert_readings
from citoyen.people import service as people
from citoyen.sensing import service as sensing
from citoyen.territory import service as territory

HISTORY_DAYS = 56  # two periods of 28 days: the comparison's and the trend's
QUARTIERS = ("Roquette", "Folie-Méricourt", "Saint-Ambroise", "Sainte-Marguerite")
PER_QUARTIER = 50
# A small demo (the browser tests' city, under SMALL_CITY residents) has fewer buildings, half of them like the
# demo citizen's, so that their comparison still has ten similar buildings: each Thing costs a dozen statements.
SMALL_CITY = 1000
SMALL_PER_QUARTIER = 7
DAY = timedelta(days=1)
# Heating intensity by energy class, Wh per m² per degree-day (a DPE class is about kWh per m² per year).
HEATING_INTENSITY = {"A": 8.0, "B": 12.0, "C": 17.0, "D": 23.0, "E": 29.0, "F": 36.0, "G": 44.0}
# (first year, last year, share, energy classes likely for that period)
PERIODS = (
    (1850, 1914, 0.45, "DDEEEF"),
    (1920, 1939, 0.10, "DEEFF"),
    (1950, 1974, 0.27, "DEEFFG"),
    (1975, 2000, 0.11, "CDDE"),
    (2001, 2022, 0.07, "ABBC"),
)
# The demo citizen's building ("Camille du 11e" lives in La Roquette).
HOME = buildings.BuildingSpec(
    name="Résidence Roquette-Keller",
    use=buildings.BuildingUse.HOUSING,
    floor_area_m2=2400,
    year_built=1962,
    dwellings=36,
    energy_class="F",
    address="rue Keller, 75011 Paris (bâtiment de démonstration)",
    lon=0.0,
    lat=0.0,
    simulated=True,
)


def outdoor_temperature(day: datetime, seed: int) -> float:
    """A daily mean temperature as Paris has it in that season (12.9 °C a year, ±8), with weather noise."""
    season = 12.9 - 8.0 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 20) / 365)
    return round(season + random.Random(f"{seed}:{day.date()}").gauss(0, 2.2), 1)


def _point_in(geometry: dict[str, object], rng: random.Random) -> tuple[float, float]:
    polygon = shape(geometry)
    low_x, low_y, high_x, high_y = polygon.bounds
    for _ in range(200):
        point = Point(rng.uniform(low_x, high_x), rng.uniform(low_y, high_y))
        if polygon.contains(point):
            return round(point.x, 6), round(point.y, 6)
    centre = polygon.representative_point()
    return round(centre.x, 6), round(centre.y, 6)


def _spec(
    rng: random.Random, number: int, quartier: str, place: tuple[float, float], temperature: int, like_home: bool
) -> buildings.BuildingSpec:
    draw = rng.random()
    period = PERIODS[2] if like_home else PERIODS[-1]
    for candidate in PERIODS if not like_home else ():
        draw -= candidate[2]
        if draw <= 0:
            period = candidate
            break
    first, last, _, classes = period
    year = rng.randint(first, last)
    use_draw = 0.0 if like_home else rng.random()
    use = (
        buildings.BuildingUse.HOUSING
        if use_draw < 0.85
        else buildings.BuildingUse.OFFICE
        if use_draw < 0.95
        else buildings.BuildingUse.SCHOOL
    )
    area = int(rng.uniform(900, 4200) if use is not buildings.BuildingUse.SCHOOL else rng.uniform(1500, 5000))
    dwellings = max(4, round(area / rng.uniform(55, 75))) if use is buildings.BuildingUse.HOUSING else 0
    label = {"housing": "Immeuble", "office": "Bureaux", "school": "École"}[use.value]
    return buildings.BuildingSpec(
        name=f"{label} {quartier} n° {number}",
        use=use,
        floor_area_m2=area,
        year_built=year,
        dwellings=dwellings,
        energy_class=rng.choice(classes),
        address=f"{quartier}, 75011 Paris (bâtiment de démonstration)",
        lon=place[0],
        lat=place[1],
        temperature_datastream_id=temperature,
        simulated=True,
    )


def _daily_use(
    spec: buildings.BuildingSpec, rng: random.Random, days: list[datetime], temperatures: list[float]
) -> dict[str, list[tuple[datetime, float]]]:
    """The day's consumption of each meter: heating follows the degree-days, electricity the weekdays (offices
    and schools use little at weekends), water the dwellings (about 150 litres per resident a day)."""
    intensity = HEATING_INTENSITY[spec.energy_class or "E"] * rng.uniform(0.75, 1.3)
    electricity = rng.uniform(18, 34)  # Wh per m² per day
    residents = spec.dwellings * rng.uniform(1.7, 2.3)
    litres = rng.uniform(120, 175)
    result: dict[str, list[tuple[datetime, float]]] = {"heating": [], "electricity": [], "water": []}
    for day, temperature in zip(days, temperatures, strict=True):
        degree_days = max(0.0, 18.0 - temperature)
        weekend = day.weekday() >= 5
        quiet = 0.35 if weekend and spec.use is not buildings.BuildingUse.HOUSING else 1.0
        result["heating"].append((day, spec.floor_area_m2 * intensity * degree_days / 1000 * rng.gauss(1, 0.05)))
        result["electricity"].append((day, spec.floor_area_m2 * electricity / 1000 * quiet * rng.gauss(1, 0.07)))
        if spec.use is buildings.BuildingUse.HOUSING:
            water = residents * litres / 1000 * rng.gauss(1, 0.08)
        else:
            water = spec.floor_area_m2 * 0.004 * quiet * rng.gauss(1, 0.1)
        result["water"].append((day, max(0.0, water)))
    return result


async def build_demo_buildings(
    session: AsyncSession, settings: Settings, now: datetime, progress: ProgressCallback | None = None
) -> int:
    """Create the demo buildings with HISTORY_DAYS of daily readings up to yesterday; returns the readings."""
    rng = random.Random(settings.demo_seed + 14)
    ctx = sensing.Context(
        access=sensing.Access(is_staff=True),
        base_url=base_url(settings),
        territory=territory.TerritoryIndexCache(3600.0),
    )
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - (HISTORY_DAYS - number) * DAY for number in range(HISTORY_DAYS)]
    temperatures = [outdoor_temperature(day, settings.demo_seed) for day in days]
    neighbourhoods = {n.name: n for n in await territory.list_neighbourhoods(session)}

    _, station = await sensing.create_at(
        session,
        ctx,
        "Things",
        {
            "name": "Station météo · 11e (données simulées)",
            "description": "Simulated weather station: daily mean outdoor temperature (simulated data)",
            "properties": {"citoyen": {"kind": "other", "access": "public"}},
            "Locations": [
                {
                    "name": "Roquette",
                    "description": "Station météo de démonstration",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [2.3795, 48.8571]},
                }
            ],
        },
    )
    _, temperature = await sensing.create_at(
        session,
        ctx,
        f"Things({station})/Datastreams",
        {
            "name": "Température extérieure moyenne journalière (données simulées)",
            "description": "Daily mean outdoor temperature (simulated data)",
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "unitOfMeasurement": {"name": "degree Celsius", "symbol": "°C", "definition": "ucum:Cel"},
            "Sensor": {
                "name": "Thermomètre",
                "description": "Simulated thermometer",
                "encodingType": "text/plain",
                "metadata": "simulated",
            },
            "ObservedProperty": {
                "name": "Température extérieure moyenne journalière",
                "definition": "https://w3id.org/citoyen/def/daily-mean-outdoor-temperature",
                "description": "Daily mean outdoor temperature",
            },
        },
    )
    feature = await sensing.feature_for_thing_location(session, temperature)
    assert feature is not None
    stored = await insert_readings(session, temperature, feature, list(zip(days, temperatures, strict=True)), 1)

    small = settings.demo_citizens < SMALL_CITY
    plan: list[buildings.BuildingSpec] = []
    for quartier in QUARTIERS:
        neighbourhood = neighbourhoods.get(quartier)
        if neighbourhood is None:
            continue
        for number in range(1, (SMALL_PER_QUARTIER if small else PER_QUARTIER) + 1):
            place = _point_in(neighbourhood.geometry, rng)
            plan.append(_spec(rng, number, quartier, place, temperature, like_home=small and number % 2 == 1))
    roquette = neighbourhoods.get("Roquette")
    home_place = _point_in(roquette.geometry, rng) if roquette is not None else (2.38, 48.856)
    home = replace(HOME, lon=home_place[0], lat=home_place[1], temperature_datastream_id=temperature)
    plan.insert(0, home)

    kit = buildings.MeterKit()
    citizen = await people.find_person_by_email(session, DEMO_ACCOUNTS[0].email)
    admin = await people.find_person_by_email(session, ADMIN_ACCOUNT.email)
    readings: dict[int, list[tuple[datetime, float]]] = {}
    for done, spec in enumerate(plan, start=1):
        building = await buildings.create_building(session, ctx, spec, kit)
        for meter, daily in _daily_use(spec, rng, days, temperatures).items():
            stream = buildings.meter_stream(building, meter)
            if stream is not None:
                readings[stream] = daily
        if spec is home and citizen is not None and admin is not None:
            link = await buildings.request_link(session, building.thing_id, citizen)
            link.status = buildings.LinkStatus.CONFIRMED.value
            link.decided_at = utcnow()
            link.decided_by_id = admin.id
        if progress is not None and (done % 20 == 0 or done == len(plan)):
            progress("buildings", done, len(plan))
    # The features of interest of every meter at once (two queries), then the readings in bulk.
    features = await sensing.features_for_thing_locations(session, list(readings))
    for stream, daily in readings.items():
        feature = features.get(stream)
        if feature is not None:
            stored += await insert_readings(session, stream, feature, daily, 2)
    await session.flush()
    return stored
