"""The demo's population per quartier (estimated) and its quartiers' water and energy network meters
(simulated), for the per-resident indicators.

**Population, estimated.** The shared data holds no population per quartier, so the demo estimates one from
INSEE's published 2021 legal populations (populations légales 2021, published on 28 December 2023): Paris
2,133,111 residents; the four arrondissements whose 2021 figure we could check in INSEE's and the press's
publications keep theirs (1st 15,919; 15th 227,746; 18th 188,446; 20th 189,805), the rest of Paris's total is
shared among the other sixteen; within each share, quartiers get residents in proportion to their area. An area
split is crude (the woods of Boulogne and Vincennes count as land where people live): it is labelled
"estimated" wherever it is used, and `citoyen territory import-population` replaces it with INSEE's IRIS file.

**Network meters, simulated.** Each quartier with buildings (all 80 in the full demo) gets a Thing with two
daily Datastreams: the water its district meters supplied (m³) and the electricity and gas delivered (kWh),
about 0.2 m³ and 12 kWh per resident a day plus 1.1 kWh per degree-day of the buildings' simulated outdoor
temperature, with weekly rhythm and noise. Their names and pages say "simulated data".
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.demo.buildings import HISTORY_DAYS, QUARTIERS, SMALL_CITY, outdoor_temperature
from citoyen.demo.common import ProgressCallback
from citoyen.demo.sensing import insert_readings
from citoyen.sensing import service as sensing
from citoyen.territory import service as territory

PARIS_2021 = 2_133_111
# INSEE's 2021 legal population of the arrondissements we could check (see the module's docstring).
ARRONDISSEMENTS_2021 = {1: 15_919, 15: 227_746, 18: 188_446, 20: 189_805}
POPULATION_SOURCE = (
    "estimation\u00a0: populations légales 2021 de l'Insee (Paris et quatre arrondissements), réparties par surface / "
    "estimate: INSEE 2021 legal populations (Paris and four arrondissements), split by area"
)
DAY = timedelta(days=1)
WATER_PER_RESIDENT = 0.2  # m³ a day
ENERGY_PER_RESIDENT = 12.0  # kWh a day, without heating
HEATING_PER_RESIDENT = 1.1  # kWh per degree-day


def _arrondissement(code: str | None) -> int | None:
    """The arrondissement of a Paris quartier's INSEE code (751AAQQ: commune 751AA, quartier QQ)."""
    if code is None or len(code) != 7 or not code.startswith("751") or not code.isdigit():
        return None
    return int(code[3:5])


def estimated_population(quartiers: list[tuple[int, str | None, float]]) -> dict[int, float]:
    """Residents per quartier (id, INSEE code, area in m²): the known arrondissements' figures and the rest of
    Paris's shared by area."""
    areas: dict[int | None, float] = {}
    for _, code, area in quartiers:
        arrondissement = _arrondissement(code)
        key = arrondissement if arrondissement in ARRONDISSEMENTS_2021 else None
        areas[key] = areas.get(key, 0.0) + area
    rest = PARIS_2021 - sum(ARRONDISSEMENTS_2021.values())
    result = {}
    for ident, code, area in quartiers:
        arrondissement = _arrondissement(code)
        key = arrondissement if arrondissement in ARRONDISSEMENTS_2021 else None
        total = ARRONDISSEMENTS_2021[key] if key is not None else rest
        result[ident] = total * area / areas[key] if areas[key] else 0.0
    return result


async def build_demo_population(session: AsyncSession) -> int:
    """Stores the estimated population of the demo's quartiers (labelled estimated); returns how many."""
    neighbourhoods = await territory.list_neighbourhoods(session)
    estimate = estimated_population([(n.id, n.code, n.area_m2) for n in neighbourhoods])
    return await territory.store_populations(session, estimate, 2021, POPULATION_SOURCE, estimated=True)


# (ObservedProperty's name, English name, unit, symbol): the names indicators recognise (`quantity_of`).
METERS = (
    ("Eau distribuée", "Water supplied", "cubic-metre", "m³"),
    ("Énergie livrée", "Energy delivered", "kilowatt-hour", "kWh"),
)


def _meter(meter: tuple[str, str, str, str], quartier: str, sensor: int, observed: int) -> dict[str, object]:
    name, name_en, unit, symbol = meter
    return {
        "name": f"{name} · {quartier} (données simulées)",
        "description": f"{name_en}, {symbol} per day (simulated data)",
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "unitOfMeasurement": {"name": unit, "symbol": symbol, "definition": f"https://w3id.org/citoyen/def/{unit}"},
        "properties": {"simulated": True},
        "Sensor": {"@iot.id": sensor},
        "ObservedProperty": {"@iot.id": observed},
    }


async def build_demo_networks(
    session: AsyncSession, settings: Settings, now: datetime, progress: ProgressCallback | None = None
) -> int:
    """A water and an energy network meter per quartier with daily simulated readings up to yesterday; returns
    the readings stored."""
    ctx = sensing.Context(
        access=sensing.Access(is_staff=True),
        base_url=base_url(settings),
        territory=territory.TerritoryIndexCache(3600.0),  # the Things' quartier, for the rollups
    )
    population = await territory.populations(session)
    neighbourhoods = await territory.list_neighbourhoods(session)
    if settings.demo_citizens < SMALL_CITY:
        neighbourhoods = [n for n in neighbourhoods if n.name in QUARTIERS]
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - (HISTORY_DAYS - number) * DAY for number in range(HISTORY_DAYS)]
    degree_days = [max(0.0, 18.0 - outdoor_temperature(day, settings.demo_seed)) for day in days]
    rng = random.Random(f"{settings.demo_seed}:networks")
    readings: dict[int, list[tuple[datetime, float]]] = {}
    _, sensor = await sensing.create_at(
        session,
        ctx,
        "Sensors",
        {
            "name": "Compteur de réseau simulé",
            "description": "Simulated network meter, read once a day",
            "encodingType": "text/plain",
            "metadata": "simulated",
        },
    )
    observed = []
    for name, name_en, unit, _ in METERS:
        definition = f"https://w3id.org/citoyen/def/{unit}"
        observed.append(
            (
                await sensing.create_at(
                    session, ctx, "ObservedProperties", {"name": name, "definition": definition, "description": name_en}
                )
            )[1]
        )
    for done, neighbourhood in enumerate(neighbourhoods, start=1):
        residents = population.residents.get(neighbourhood.id, 0) if population is not None else 0
        if not residents:
            continue
        centre = [neighbourhood.centroid_lon, neighbourhood.centroid_lat]
        body = {
            "name": f"Réseaux · {neighbourhood.name} (données simulées)",
            "description": "Simulated network meters of the quartier: water supplied, energy delivered",
            "properties": {"citoyen": {"kind": "energy", "access": "public"}, "simulated": True},
            "Locations": [
                {
                    "name": neighbourhood.name,
                    "description": "Poste de démonstration",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": centre},
                }
            ],
        }
        _, thing_id = await sensing.create_at(session, ctx, "Things", body)
        streams = [
            (
                await sensing.create_at(
                    session, ctx, f"Things({thing_id})/Datastreams", _meter(meter, neighbourhood.name, sensor, prop)
                )
            )[1]
            for meter, prop in zip(METERS, observed, strict=True)
        ]
        habit = rng.uniform(0.85, 1.15)  # quartiers differ (offices, hotels, gardens)
        water, energy = [], []
        for day, heating in zip(days, degree_days, strict=True):
            weekend = 0.92 if day.weekday() >= 5 else 1.0
            water.append((day, residents * WATER_PER_RESIDENT * habit * weekend * rng.gauss(1, 0.04)))
            use = ENERGY_PER_RESIDENT * habit * weekend + HEATING_PER_RESIDENT * heating
            energy.append((day, residents * use * rng.gauss(1, 0.04)))
        readings[streams[0]], readings[streams[1]] = water, energy
        if progress is not None and (done % 20 == 0 or done == len(neighbourhoods)):
            progress("network meters", done, len(neighbourhoods))
    features = await sensing.features_for_thing_locations(session, list(readings))
    stored = 0
    for stream, daily in readings.items():
        feature = features.get(stream)
        if feature is not None:
            stored += await insert_readings(session, stream, feature, daily, 1)
    await session.flush()
    return stored
