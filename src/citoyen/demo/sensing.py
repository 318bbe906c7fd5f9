"""The demo city's sensors, and the feed that keeps them reading while the demo runs.

- Air-quality stations and bicycle counters replay real hourly series (`data/README.md`: the UCI "Air Quality"
  data set, the Fremont Bridge bicycle counts), shifted in time so that their last reading is the moment the
  demo is built, and aligned on the same hour of the day and day of the week. Missing readings (-200 in the
  air-quality file, hours absent from the files) stay missing: no value is invented for them.
- Water and electricity meters at building level are synthetic, and say so in their description: a daily
  cycle (morning and evening peaks), a weekly one (weekends differ) and noise. Some are `restricted` (a block
  of flats: hourly means only), some `personal` (the demo citizen's own flat).

Every value is a function of time (`ReplaySpec.value_at`, `SyntheticSpec.value_at`), kept in each Datastream's
`properties.demo`: the live feed continues the same curve after a restart, and tests can check it.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import json
import logging
import math
import time as time_module
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from shapely.geometry import Point, shape
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.db import sqlite_write_turn
from citoyen.demo.common import DEMO_ACCOUNTS, ProgressCallback
from citoyen.indicators import service as indicators
from citoyen.people import service as people
from citoyen.sensing import service as sensing_service
from citoyen.sensing.events import get_bus
from citoyen.sensing.models import (
    Datastream,
    FeatureOfInterest,
    Location,
    Observation,
    ObservedProperty,
    ResultType,
    Sensor,
    Thing,
    ThingAccess,
    ThingKind,
    ThingLocation,
)
from citoyen.sensing.retrying import with_retries
from citoyen.territory import service as territory

log = logging.getLogger(__name__)
OBSERVATIONS = cast(Table, Observation.__table__)
DATA_DIR = Path(__file__).parent / "data"
AIR_QUALITY_FILE = DATA_DIR / "air-quality-uci-hourly.csv"
BIKE_COUNTS_FILE = DATA_DIR / "bike-counts-fremont-hourly-2024-2025.csv"
PARIS = ZoneInfo("Europe/Paris")
HOUR = timedelta(hours=1)
HISTORY_DAYS = 60
# The bicycle counters replay 400 days (their real file holds two years without a missing hour): enough for the
# early warning's 7-day forecast and its backtest (250 consecutive days), so the demo's sensor pages show one. The
# air-quality file's longest run without a missing day is 109 days: its stations keep HISTORY_DAYS.
FORECAST_HISTORY_DAYS = 400
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"

# --- The series ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HourlySeries:
    """Readings one hour apart from `start` (the series' local time); None where the reading is missing."""

    start: datetime
    values: tuple[float | None, ...]

    def __len__(self) -> int:
        return len(self.values)


def hourly_series(readings: Iterable[tuple[datetime, float | None]]) -> HourlySeries:
    """Place readings on an hourly grid: absent hours become None, a repeated hour keeps its first reading."""
    by_hour: dict[int, float | None] = {}
    start: datetime | None = None
    for time, value in readings:
        if start is None:
            start = time
        index = round((time - start) / HOUR)
        if index >= 0 and index not in by_hour:
            by_hour[index] = value
    if start is None:
        raise ValueError("no readings")
    return HourlySeries(start, tuple(by_hour.get(index) for index in range(max(by_hour) + 1)))


def _number(text: str, missing: str | None = None) -> float | None:
    text = text.strip()
    if not text or text == missing:
        return None
    value = float(text)
    return None if math.isnan(value) else value


AIR_COLUMNS = ("CO_GT", "NOx_GT", "NO2_GT", "C6H6_GT", "T", "RH")


@lru_cache(maxsize=1)
def air_quality_series() -> dict[str, HourlySeries]:
    """The UCI file's columns we replay; dates are day/month/year, -200 marks a missing reading."""
    rows: dict[str, list[tuple[datetime, float | None]]] = {column: [] for column in AIR_COLUMNS}
    with AIR_QUALITY_FILE.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            if not row.get("Date"):
                continue
            day, month, year = row["Date"].split("/")
            time = datetime(int(year), int(month), int(day), int(row["Time"].split(":")[0]))
            for column in AIR_COLUMNS:
                rows[column].append((time, _number(row[column], missing="-200")))
    return {column: hourly_series(readings) for column, readings in rows.items()}


@lru_cache(maxsize=1)
def bike_count_series() -> HourlySeries:
    """Total bicycles per hour on the Fremont Bridge (dates are month/day/year with AM/PM)."""
    readings: list[tuple[datetime, float | None]] = []
    with BIKE_COUNTS_FILE.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        next(reader)
        for row in reader:
            if row:
                date, clock, half = row[0].split(" ")
                month, day, year = date.split("/")
                hour = int(clock.split(":")[0]) % 12 + (12 if half == "PM" else 0)
                readings.append((datetime(int(year), int(month), int(day), hour), _number(row[1])))
    return hourly_series(readings)


def series_named(name: str) -> HourlySeries:
    if name == "bikes":
        return bike_count_series()
    source, _, column = name.partition(":")
    if source != "air" or column not in AIR_COLUMNS:
        raise ValueError(f"unknown demo series {name!r}")
    return air_quality_series()[column]


# --- Values as functions of time -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplaySpec:
    """Replay `series` so that `anchor` (UTC) reads the series at hour `offset`; later times continue it."""

    series: str
    anchor: datetime
    offset: int

    def position(self, time: datetime) -> float:
        return self.offset + (time - self.anchor) / HOUR

    def value_at(self, time: datetime) -> float | None:
        """The reading at `time`: on the hour, the real reading; between hours, the straight line between the
        two; None when a reading it needs is missing."""
        values = series_named(self.series).values
        position = self.position(time)
        index = math.floor(position)
        fraction = position - index
        before = values[index % len(values)]
        if fraction < 1e-9:
            return before
        after = values[(index + 1) % len(values)]
        if before is None or after is None:
            return None
        return before + (after - before) * fraction

    def as_json(self) -> dict[str, Any]:
        return {"replay": self.series, "anchor": self.anchor.isoformat(), "offset": self.offset}


def aligned_offset(series: HourlySeries, anchor: datetime, weeks_in: int) -> int:
    """An hour of the series on the same weekday and hour (Paris time) as `anchor`, about `weeks_in` weeks in,
    so a replayed Monday morning rush hour falls on a Monday morning."""
    local = anchor.astimezone(PARIS).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    target = series.start + timedelta(weeks=weeks_in)
    shift_hours = round((local - target) / HOUR) % (7 * 24)
    return round((target - series.start) / HOUR) + shift_hours


@dataclass(frozen=True)
class SyntheticSpec:
    """A made-up meter: mean level `scale`, peaks in the morning and evening, other habits at weekends, noise.

    `profile` is "electricity" (kW, average power over the hour) or "water" (litres per hour)."""

    profile: str
    scale: float
    seed: int

    def value_at(self, time: datetime) -> float:
        local = time.astimezone(PARIS)
        hour = local.hour + local.minute / 60
        weekend = local.weekday() >= 5
        if self.profile == "water":
            peaks = ((9.5, 1.6, 2.6), (20.0, 2.0, 1.6)) if weekend else ((7.5, 1.1, 3.0), (20.0, 1.8, 1.8))
            base = 0.15
        else:
            peaks = ((10.0, 2.5, 0.7), (19.5, 2.2, 1.4)) if weekend else ((7.5, 1.2, 0.9), (19.5, 2.0, 1.6))
            base = 0.45
        level = base + sum(height * math.exp(-(((hour - centre) / width) ** 2) / 2) for centre, width, height in peaks)
        # Noise that depends only on the sensor and the minute, so a value can be computed again identically.
        minute = int(time.timestamp() // 60)
        digest = hashlib.blake2b(f"{self.seed}:{minute}".encode(), digest_size=8).digest()
        noise = int.from_bytes(digest, "big") / 2**64 - 0.5  # uniform in [-0.5, 0.5)
        return round(self.scale * level * (1 + 0.2 * noise), 3)

    def as_json(self) -> dict[str, Any]:
        return {"synthetic": self.profile, "scale": self.scale, "seed": self.seed}


ValueSpec = ReplaySpec | SyntheticSpec


def spec_from_properties(properties: dict[str, Any] | None) -> ValueSpec | None:
    demo = (properties or {}).get("demo")
    if not isinstance(demo, dict):
        return None
    if "replay" in demo:
        return ReplaySpec(str(demo["replay"]), datetime.fromisoformat(str(demo["anchor"])), int(demo["offset"]))
    if "synthetic" in demo:
        return SyntheticSpec(str(demo["synthetic"]), float(demo["scale"]), int(demo["seed"]))
    return None


def hourly_history(spec: ValueSpec, end: datetime, hours: int) -> list[tuple[datetime, float]]:
    """The readings of the `hours` hours up to `end` included, missing ones left out."""
    readings = []
    for step in range(hours - 1, -1, -1):
        time = end - step * HOUR
        value = spec.value_at(time)
        if value is not None:
            readings.append((time, value))
    return readings


# --- The demo's sensors --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    name: str  # French, as every name the platform seeds, with its English name beside it
    name_en: str
    definition: str
    unit_name: str
    unit_symbol: str
    series: str | None = None  # for replays
    decimals: int = 1
    # The symbol in English where the French one is a word ("vélos/h"); empty: the same in both languages.
    unit_symbol_en: str = ""


AIR_MEASURES = (
    Measure(
        "Monoxyde de carbone (CO)",
        "Carbon monoxide (CO)",
        "http://vocab.nerc.ac.uk/collection/P01/current/CMONZZ01/",
        "milligram per cubic metre",
        "mg/m³",
        "air:CO_GT",
        2,
    ),
    Measure(
        "Oxydes d'azote (NOx)",
        "Nitrogen oxides (NOx)",
        "https://dd.eionet.europa.eu/vocabulary/aq/pollutant/9",
        "parts per billion",
        "ppb",
        "air:NOx_GT",
        0,
    ),
    Measure(
        "Dioxyde d'azote (NO2)",
        "Nitrogen dioxide (NO2)",
        "https://dd.eionet.europa.eu/vocabulary/aq/pollutant/8",
        "microgram per cubic metre",
        "µg/m³",
        "air:NO2_GT",
        0,
    ),
    Measure(
        "Benzène (C6H6)",
        "Benzene (C6H6)",
        "https://dd.eionet.europa.eu/vocabulary/aq/pollutant/20",
        "microgram per cubic metre",
        "µg/m³",
        "air:C6H6_GT",
        1,
    ),
    Measure(
        "Température de l'air",
        "Air temperature",
        "http://vocab.nerc.ac.uk/collection/P07/current/CFSN0023/",
        "degree Celsius",
        "°C",
        "air:T",
        1,
    ),
    Measure(
        "Humidité relative",
        "Relative humidity",
        "http://vocab.nerc.ac.uk/collection/P07/current/CFSN0413/",
        "percent",
        "%",
        "air:RH",
        1,
    ),
)
BIKE_MEASURE = Measure(
    "Passages de vélos",
    "Bicycles passing",
    "https://w3id.org/citoyen/def/bicycle-count",
    "vélos par heure",
    "vélos/h",
    "bikes",
    0,
    unit_symbol_en="bicycles/h",
)
ELECTRICITY_MEASURE = Measure(
    "Puissance électrique",
    "Electric power",
    "http://vocab.nerc.ac.uk/collection/P07/current/CFSN0464/",
    "kilowatt",
    "kW",
    None,
    2,
)
WATER_MEASURE = Measure(
    "Débit d'eau", "Water flow", "https://w3id.org/citoyen/def/water-flow", "litre per hour", "L/h", None, 1
)


@dataclass(frozen=True)
class DemoThing:
    name: str  # French, with its English name and the descriptions in both languages beside it
    name_en: str
    description: str
    description_en: str
    kind: ThingKind
    quartier: str
    access: ThingAccess = ThingAccess.PUBLIC
    # For meters: the synthetic profile and its mean level.
    profile: str | None = None
    scale: float = 1.0
    owned_by_demo_citizen: bool = False


AIR_STATION = (
    "Station de mesure de la qualité de l'air (rejeu de données réelles)",
    "Air-quality station (replay of real data)",
)
BIKE_COUNTER = ("Compteur de vélos (rejeu de données réelles)", "Bicycle counter (replay of real data)")
SIMULATED = ("données de démonstration simulées", "simulated demo data")


def _simulated(french: str, english: str) -> tuple[str, str]:
    """A synthetic meter's descriptions, which say in both languages that its readings are simulated."""
    return f"{french} ({SIMULATED[0]})", f"{english} ({SIMULATED[1]})"


AIR_STATIONS = tuple(
    DemoThing(f"Station air · {quartier}", f"Air station · {quartier}", *AIR_STATION, ThingKind.AIR, quartier)
    for quartier in ("Halles", "Belleville", "Grenelle", "Clignancourt")
)
BIKE_COUNTERS = tuple(
    DemoThing(f"Compteur vélo · {place}", f"Bicycle counter · {place}", *BIKE_COUNTER, ThingKind.MOBILITY, quartier)
    for place, quartier in (
        ("Canal Saint-Martin", "Hôpital-Saint-Louis"),
        ("Quai de la Rapée", "Quinze-Vingts"),
        ("Boulevard Saint-Germain", "Saint-Germain-des-Prés"),
    )
)
BUILDING_ELECTRICITY = _simulated("Compteur électrique d'un bâtiment", "Building electricity meter")
BUILDING_WATER = _simulated("Compteur d'eau d'un bâtiment", "Building water meter")
METERS = (
    DemoThing(
        "École élémentaire Belleville · électricité",
        "Belleville primary school · electricity",
        *BUILDING_ELECTRICITY,
        ThingKind.ENERGY,
        "Belleville",
        profile="electricity",
        scale=14.0,
    ),
    DemoThing(
        "Gymnase Javel · électricité",
        "Javel sports hall · electricity",
        *BUILDING_ELECTRICITY,
        ThingKind.ENERGY,
        "Javel",
        profile="electricity",
        scale=9.0,
    ),
    DemoThing(
        "Piscine Pontoise · eau",
        "Pontoise swimming pool · water",
        *BUILDING_WATER,
        ThingKind.WATER,
        "Saint-Victor",
        profile="water",
        scale=900.0,
    ),
    DemoThing(
        "Mairie du 11e · eau",
        "11th arrondissement town hall · water",
        *BUILDING_WATER,
        ThingKind.WATER,
        "Roquette",
        profile="water",
        scale=120.0,
    ),
    DemoThing(
        "Immeuble rue Oberkampf (40 logements) · électricité",
        "Block of flats, rue Oberkampf (40 homes) · electricity",
        *_simulated("Immeuble, électricité", "Block of flats, electricity"),
        ThingKind.ENERGY,
        "Folie-Méricourt",
        ThingAccess.RESTRICTED,
        "electricity",
        22.0,
    ),
    DemoThing(
        "Immeuble rue Oberkampf (40 logements) · eau",
        "Block of flats, rue Oberkampf (40 homes) · water",
        *_simulated("Immeuble, eau", "Block of flats, water"),
        ThingKind.WATER,
        "Folie-Méricourt",
        ThingAccess.RESTRICTED,
        "water",
        260.0,
    ),
    DemoThing(
        "Mon logement · électricité",
        "My home · electricity",
        *_simulated("Compteur électrique du logement", "Household electricity meter"),
        ThingKind.ENERGY,
        "Roquette",
        ThingAccess.PERSONAL,
        "electricity",
        0.6,
        True,
    ),
    DemoThing(
        "Mon logement · eau",
        "My home · water",
        *_simulated("Compteur d'eau du logement", "Household water meter"),
        ThingKind.WATER,
        "Roquette",
        ThingAccess.PERSONAL,
        "water",
        7.0,
        True,
    ),
)


def _point_in(geometry: dict[str, Any], index: int) -> tuple[float, float]:
    """A point inside the quartier, moved a little per sensor so two sensors of one quartier do not overlap."""
    polygon = shape(geometry)
    centre = polygon.representative_point()
    angle = index * 2.4
    for radius in (0.0012, 0.0006):
        candidate = Point(centre.x + radius * math.cos(angle), centre.y + radius * math.sin(angle))
        if polygon.contains(candidate):
            return round(candidate.x, 6), round(candidate.y, 6)
    return round(centre.x, 6), round(centre.y, 6)


async def build_demo_sensors(
    session: AsyncSession, settings: Settings, now: datetime, progress: ProgressCallback | None = None
) -> int:
    """Create the demo's sensors with HISTORY_DAYS of hourly readings up to `now` (the bicycle counters:
    FORECAST_HISTORY_DAYS); returns the readings stored."""
    anchor = now.astimezone(UTC).replace(second=0, microsecond=0)
    neighbourhoods = {n.name: n for n in await territory.list_neighbourhoods(session)}
    citizen = await people.find_person_by_email(session, DEMO_ACCOUNTS[0].email)
    owner_id = citizen.id if citizen else None
    properties: dict[str, int] = {}

    async def observed_property(measure: Measure) -> int:
        if measure.name not in properties:
            row = ObservedProperty(
                name=measure.name,
                name_en=measure.name_en,
                definition=measure.definition,
                description=measure.name,
                description_en=measure.name_en,
            )
            session.add(row)
            await session.flush()
            properties[measure.name] = row.id
        return properties[measure.name]

    plan: list[tuple[DemoThing, list[tuple[Measure, ValueSpec]]]] = []
    for number, station in enumerate(AIR_STATIONS):
        series_names = [str(measure.series) for measure in AIR_MEASURES]
        offsets = _live_offsets(series_names, anchor, 6 + 9 * number)
        plan.append(
            (
                station,
                [
                    (measure, ReplaySpec(name, anchor, offsets[name]))
                    for measure, name in zip(AIR_MEASURES, series_names, strict=True)
                ],
            )
        )
    for number, counter in enumerate(BIKE_COUNTERS):
        # Far enough into the file for FORECAST_HISTORY_DAYS before the anchor, without wrapping round its start.
        offset = _live_offsets(["bikes"], anchor, 60 + 8 * number)["bikes"]
        plan.append((counter, [(BIKE_MEASURE, ReplaySpec("bikes", anchor, offset))]))
    for number, meter in enumerate(METERS):
        measure = ELECTRICITY_MEASURE if meter.profile == "electricity" else WATER_MEASURE
        plan.append((meter, [(measure, SyntheticSpec(str(meter.profile), meter.scale, settings.demo_seed + number))]))

    stored = 0
    for done, (demo_thing, measures) in enumerate(plan, start=1):
        hours = (FORECAST_HISTORY_DAYS if demo_thing in BIKE_COUNTERS else HISTORY_DAYS) * 24
        neighbourhood = neighbourhoods.get(demo_thing.quartier)
        lon, lat = _point_in(neighbourhood.geometry, done) if neighbourhood else (2.3522, 48.8566)
        thing = Thing(
            name=demo_thing.name,
            name_en=demo_thing.name_en,
            description=demo_thing.description,
            description_en=demo_thing.description_en,
            kind=demo_thing.kind,
            access=demo_thing.access,
            owner_person_id=owner_id if demo_thing.owned_by_demo_citizen else None,
            properties={"demo": True},
        )
        point = json.dumps({"type": "Point", "coordinates": [lon, lat]})
        location = Location(
            name=demo_thing.quartier,
            description=f"{demo_thing.name}, {demo_thing.quartier}",
            location=point,
            lon=lon,
            lat=lat,
            neighbourhood_id=neighbourhood.id if neighbourhood else None,
        )
        session.add_all([thing, location])
        await session.flush()
        session.add(ThingLocation(thing_id=thing.id, location_id=location.id))
        feature = FeatureOfInterest(
            name=location.name,
            description=location.description,
            feature=point,
            lon=lon,
            lat=lat,
            generated_from_location_id=location.id,
        )
        sensor = Sensor(
            name=f"{demo_thing.name} · capteur",
            name_en=f"{demo_thing.name_en} · sensor",
            description=demo_thing.description,
            description_en=demo_thing.description_en,
            encoding_type="text/plain",
            sensor_metadata="Citoyen demo sensor: see citoyen/demo/data/README.md for the data's origin and licence",
        )
        session.add_all([feature, sensor])
        await session.flush()
        for measure, spec in measures:
            readings = hourly_history(spec, anchor, hours)
            datastream = Datastream(
                name=f"{demo_thing.name} · {measure.name}",
                name_en=f"{demo_thing.name_en} · {measure.name_en}",
                description=f"{measure.name} ({measure.unit_symbol})",
                description_en=f"{measure.name_en} ({measure.unit_symbol_en or measure.unit_symbol})",
                observation_type=MEASUREMENT,
                unit_of_measurement={
                    "name": measure.unit_name,
                    "symbol": measure.unit_symbol,
                    "definition": measure.definition,
                },
                unit_symbol_en=measure.unit_symbol_en,
                thing_id=thing.id,
                sensor_id=sensor.id,
                observed_property_id=await observed_property(measure),
                properties={"demo": spec.as_json(), "decimals": measure.decimals},
                phenomenon_time_start=readings[0][0] if readings else None,
                phenomenon_time_end=readings[-1][0] if readings else None,
                result_time_start=readings[0][0] if readings else None,
                result_time_end=readings[-1][0] if readings else None,
            )
            session.add(datastream)
            await session.flush()
            stored += await insert_readings(session, datastream.id, feature.id, readings, measure.decimals)
        if progress is not None:
            progress("sensors", done, len(plan))
    return stored


def _live_offsets(names: Sequence[str], anchor: datetime, weeks_in: int) -> dict[str, int]:
    """Aligned offsets, the same number of weeks in for every measure of one station, moved on week by week
    until the last day has readings for all of them: a real outage (the air-quality file has weeks without
    CO) is replayed when it comes, but a demo should not open on one."""
    for weeks in range(weeks_in, weeks_in + 26):
        offsets = {name: aligned_offset(series_named(name), anchor, weeks) for name in names}
        if all(
            sum(value is not None for value in series_named(name).values[offset - 23 : offset + 1]) >= 20
            for name, offset in offsets.items()
        ):
            return offsets
    return {name: aligned_offset(series_named(name), anchor, weeks_in) for name in names}


async def insert_readings(
    session: AsyncSession,
    datastream_id: int,
    feature_id: int,
    readings: Sequence[tuple[datetime, float]],
    decimals: int,
) -> int:
    """Bulk insert of numeric readings (one statement per few thousand rows)."""
    rows = [
        {
            "datastream_id": datastream_id,
            "feature_of_interest_id": feature_id,
            "phenomenon_time_start": time,
            "result_time": time,
            "result_type": ResultType.FLOAT,
            "result_number": round(value, decimals),
        }
        for time, value in readings
    ]
    for start in range(0, len(rows), 5000):
        # The table, not the mapped class: a plain executemany, without the ORM's per-row bookkeeping.
        await session.execute(insert(OBSERVATIONS), rows[start : start + 5000])
    return len(rows)


async def demo_datastreams(session: AsyncSession) -> list[tuple[Datastream, ValueSpec]]:
    """The Datastreams the demo feed keeps reading (those whose properties say how)."""
    result = []
    for datastream in (await session.execute(select(Datastream).order_by(Datastream.id))).scalars():
        spec = spec_from_properties(datastream.properties)
        if spec is not None:
            result.append((datastream, spec))
    return result


# --- The live feed -------------------------------------------------------------------------------------------


def _feed_context(state: Any) -> sensing_service.Context:
    settings: Settings = state.settings
    return sensing_service.Context(
        access=sensing_service.Access(is_staff=True),
        base_url=base_url(settings),
        bus=get_bus(state),
        territory=getattr(state, "territory_index", None),
    )


async def catch_up(session: AsyncSession, now: datetime, only: int | None = None) -> int:
    """After the demo was stopped for a while, fill the gap with hourly readings (no live events for those);
    `only` limits it to one Datastream."""
    stored = 0
    for datastream, spec in await demo_datastreams(session):
        if only is not None and datastream.id != only:
            continue
        last = datastream.phenomenon_time_end
        if last is None or now - last < HOUR:
            continue
        first = max(last + HOUR, now - timedelta(days=HISTORY_DAYS))
        hours = int((now - first) / HOUR)
        readings = [
            (time, value) for time, value in hourly_history(spec, first + (hours - 1) * HOUR, hours) if time > last
        ]
        if not readings:
            continue
        feature_id = await _feature_of(session, datastream.id)
        if feature_id is None:
            continue
        decimals = int((datastream.properties or {}).get("decimals", 2))
        stored += await insert_readings(session, datastream.id, feature_id, readings, decimals)
        datastream.phenomenon_time_end = readings[-1][0]
        datastream.result_time_end = readings[-1][0]
    await session.flush()
    return stored


async def _feature_of(session: AsyncSession, datastream_id: int) -> int | None:
    query = (
        select(Observation.feature_of_interest_id)
        .where(Observation.datastream_id == datastream_id)
        .order_by(Observation.phenomenon_time_start.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar()


async def feed_once(state: Any, now: datetime) -> int:
    """One reading per demo Datastream at `now`, created through the SensorThings service (so the live pages
    and MQTT subscribers hear of them), in one transaction, tried again while the database is busy (a large
    CreateObservations holding SQLite's write lock once cost a reading). On SQLite it writes in its turn among the
    app's writers (citoyen.db.sqlite_write_turn), as the MQTT ingest does."""

    async def transaction() -> int:
        context = _feed_context(state)
        created = 0
        async with state.sessionmaker() as session, sqlite_write_turn(state, session):
            for datastream, spec in await demo_datastreams(session):
                value = spec.value_at(now)
                if value is None:
                    continue
                decimals = int((datastream.properties or {}).get("decimals", 2))
                body = {"phenomenonTime": now.isoformat().replace("+00:00", "Z"), "result": round(value, decimals)}
                path = f"Datastreams({datastream.id})/Observations"
                await sensing_service.create_at(session, context, path, body)
                created += 1
            await session.commit()
        return created

    return await with_retries(transaction, "demo sensors")


async def catch_up_in_steps(state: Any, now: datetime) -> int:
    """`catch_up`, one Datastream per transaction: after a long stop the gap is weeks of readings, and one
    transaction for all of them held SQLite's write lock against every other writer. Each step is whole
    (readings and the Datastream's new end together), so stopping between steps loses nothing; each takes its
    turn among the app's writers, so requests write in between."""
    async with state.sessionmaker() as session:
        ids = [datastream.id for datastream, _spec in await demo_datastreams(session)]
    stored = 0
    for datastream_id in ids:

        async def step(datastream_id: int = datastream_id) -> int:
            async with state.sessionmaker() as session, sqlite_write_turn(state, session):
                filled = await catch_up(session, now, only=datastream_id)
                await session.commit()
            return filled

        stored += await with_retries(step, "demo sensors catch-up")
    if stored:
        # The gap was filled in bulk, without events: the indicators' rollups are made again from the readings.
        async def rollups() -> int:
            async with state.sessionmaker() as session, sqlite_write_turn(state, session):
                await indicators.rebuild(session)
                await session.commit()
            return 0

        await with_retries(rollups, "demo indicators after the catch-up")
    return stored


async def run_demo_feed(state: Any) -> None:
    """Keep the demo sensors reading every `demo_sensor_interval_seconds`; errors are logged, never fatal."""
    interval = max(1.0, float(state.settings.demo_sensor_interval_seconds))
    # Reading the CSV files takes a second or two: in a thread, so pages keep being served meanwhile.
    await asyncio.to_thread(lambda: (air_quality_series(), bike_count_series()))
    try:
        filled = await catch_up_in_steps(state, datetime.now(UTC))
        if filled:
            log.info("demo sensors: %d hourly readings filled in since the demo last ran", filled)
    except Exception:
        log.exception("demo sensors: filling the gap failed")
    while True:
        await asyncio.sleep(interval - (time_module.time() % interval))
        try:
            await feed_once(state, datetime.now(UTC).replace(microsecond=0))
        except Exception:
            log.exception("demo sensors: a reading failed; trying again at the next tick")


@contextlib.asynccontextmanager
async def running_demo_feed(state: Any) -> AsyncIterator[None]:
    """Run the feed beside the app in demo mode; elsewhere do nothing."""
    if not state.settings.demo_mode:
        yield
        return
    task = asyncio.create_task(run_demo_feed(state), name="citoyen-demo-sensors")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
