"""Buildings as places with meters: a building is created as a SensorThings Thing (through sensing's service:
its Location, and one Datastream per meter, restricted so that its raw readings are not served but its rollups
are summed) with its attributes in `buildings`; and the look-ups the eco-feedback and the indicators need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings.models import ENERGY_CLASSES, Building, BuildingUse
from citoyen.errors import Kind, Refusal
from citoyen.i18n import N_
from citoyen.sensing import service as sensing
from citoyen.territory import service as territory

METERS = ("heating", "electricity", "water")
# What each meter observes (the ObservedProperty's name, recognised by indicators' `quantity_of`) and its unit.
METER_PROPERTIES: dict[str, tuple[str, str, str, str, str]] = {
    # meter: (name, English name, definition, unit name, unit symbol)
    "heating": (
        "Consommation de chauffage",
        "Heating consumption",
        "https://w3id.org/citoyen/def/heating-energy",
        "kilowatt hour",
        "kWh",
    ),
    "electricity": (
        "Consommation d'électricité",
        "Electricity consumption",
        "https://w3id.org/citoyen/def/electricity-energy",
        "kilowatt hour",
        "kWh",
    ),
    "water": (
        "Consommation d'eau",
        "Water consumption",
        "https://w3id.org/citoyen/def/water-volume",
        "cubic metre",
        "m³",
    ),
}
EARLIEST_YEAR = 1200
LATEST_YEAR = 2100
LARGEST_AREA = 2_000_000


class BuildingError(Refusal):
    """A refused request about buildings."""


@dataclass(frozen=True)
class BuildingSpec:
    """What a new building is: its attributes, where it is and which meters it has."""

    name: str
    use: BuildingUse
    floor_area_m2: int
    year_built: int
    lon: float
    lat: float
    dwellings: int = 0
    energy_class: str | None = None
    address: str = ""
    meters: tuple[str, ...] = METERS
    temperature_datastream_id: int | None = None
    simulated: bool = False


@dataclass
class MeterKit:
    """The Sensor and ObservedProperties the buildings' meters share, made once (by the first building) and
    linked by id afterwards."""

    sensor_id: int | None = None
    properties: dict[str, int] = field(default_factory=dict)


def check_spec(spec: BuildingSpec) -> None:
    """A building's attributes within their ranges; 400 naming the field otherwise."""
    if not spec.name.strip():
        raise BuildingError(N_("A building needs a name."), Kind.INVALID, "name")
    if not 1 <= spec.floor_area_m2 <= LARGEST_AREA:
        raise BuildingError(N_("The floor area must be a positive number of m²."), Kind.INVALID, "floor_area_m2")
    if not EARLIEST_YEAR <= spec.year_built <= LATEST_YEAR:
        raise BuildingError(N_("The year of construction is out of range."), Kind.INVALID, "year_built")
    if spec.dwellings < 0 or (spec.use is BuildingUse.HOUSING and spec.dwellings < 1):
        raise BuildingError(N_("A block of flats has at least one dwelling."), Kind.INVALID, "dwellings")
    if spec.energy_class is not None and (len(spec.energy_class) != 1 or spec.energy_class not in ENERGY_CLASSES):
        raise BuildingError(N_("The energy class is a letter from A to G."), Kind.INVALID, "energy_class")
    unknown = set(spec.meters) - set(METERS)
    if unknown:
        raise BuildingError(N_("Unknown meter %(meter)s."), Kind.INVALID, "meters", meter=sorted(unknown)[0])


async def prepare_kit(session: AsyncSession, ctx: sensing.Context, kit: MeterKit, meters: tuple[str, ...]) -> None:
    """Creates (through sensing's service) the shared Sensor and the ObservedProperties of `meters` not made yet."""
    if kit.sensor_id is None:
        _, kit.sensor_id = await sensing.create_at(
            session,
            ctx,
            "Sensors",
            {
                "name": "Compteur communicant",
                "description": "Smart meter, read once a day (the day's consumption)",
                "encodingType": "text/plain",
                "metadata": "daily index difference",
            },
        )
    for meter in meters:
        if meter not in kit.properties:
            name, name_en, definition, _, _ = METER_PROPERTIES[meter]
            _, kit.properties[meter] = await sensing.create_at(
                session, ctx, "ObservedProperties", {"name": name, "definition": definition, "description": name_en}
            )


def _datastream(meter: str, spec: BuildingSpec, kit: MeterKit) -> dict[str, Any]:
    name, name_en, definition, unit_name, symbol = METER_PROPERTIES[meter]
    simulated = " (simulated data)" if spec.simulated else ""
    return {
        "name": f"{spec.name} · {name}",
        "description": f"{name_en}, {symbol} per day{simulated}",
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "unitOfMeasurement": {"name": unit_name, "symbol": symbol, "definition": definition},
        "properties": {"meter": meter, "simulated": spec.simulated},
        "Sensor": {"@iot.id": kit.sensor_id},
        "ObservedProperty": {"@iot.id": kit.properties[meter]},
    }


async def create_building(
    session: AsyncSession, ctx: sensing.Context, spec: BuildingSpec, kit: MeterKit | None = None
) -> Building:
    """A building: its Thing (restricted: its readings enter aggregates, its raw readings are not served), its
    Location and one Datastream per meter, created through sensing's service, then its attributes."""
    check_spec(spec)
    kit = kit or MeterKit()
    thing_body = {
        "name": spec.name,
        "description": f"Bâtiment ({spec.use.value}){' — données simulées' if spec.simulated else ''}",
        "properties": {"citoyen": {"kind": "energy", "access": "restricted"}, "building": True},
        "Locations": [
            {
                "name": spec.address or spec.name,
                "description": spec.address or spec.name,
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [spec.lon, spec.lat]},
            }
        ],
    }
    await prepare_kit(session, ctx, kit, spec.meters)
    _, thing_id = await sensing.create_at(session, ctx, "Things", thing_body)
    streams: dict[str, int] = {}
    for meter in spec.meters:
        _, streams[meter] = await sensing.create_at(
            session, ctx, f"Things({thing_id})/Datastreams", _datastream(meter, spec, kit)
        )
    neighbourhood_id = (
        await territory.locate_id(session, ctx.territory, spec.lon, spec.lat) if ctx.territory is not None else None
    )
    building = Building(
        thing_id=thing_id,
        name=spec.name,
        address=spec.address,
        use=spec.use.value,
        floor_area_m2=spec.floor_area_m2,
        year_built=spec.year_built,
        dwellings=spec.dwellings,
        energy_class=spec.energy_class,
        neighbourhood_id=neighbourhood_id,
        water_datastream_id=streams.get("water"),
        electricity_datastream_id=streams.get("electricity"),
        heating_datastream_id=streams.get("heating"),
        temperature_datastream_id=spec.temperature_datastream_id,
        simulated=spec.simulated,
    )
    session.add(building)
    await session.flush()
    return building


def meter_stream(building: Building, meter: str) -> int | None:
    """The Datastream of the building's `meter` ("heating", "electricity", "water"), None without one."""
    value: int | None = getattr(building, f"{meter}_datastream_id")
    return value


async def get_building(session: AsyncSession, building_id: int) -> Building:
    """The building; 404 otherwise."""
    building = await session.get(Building, building_id)
    if building is None:
        raise BuildingError(N_("Unknown building."), Kind.NOT_FOUND, "building")
    return building


# French thermal-regulation periods: before the first regulation (1974), RT 1974-1988, up to RT 2000, after.
AGE_BANDS = ((None, 1948), (1949, 1974), (1975, 2000), (2001, None))
AREA_RATIO = 2.0


def age_band(year: int) -> tuple[int | None, int | None]:
    """The construction period a building is compared within."""
    for low, high in AGE_BANDS:
        if (low is None or year >= low) and (high is None or year <= high):
            return low, high
    return AGE_BANDS[-1]


async def similar_buildings(session: AsyncSession, building: Building) -> list[Building]:
    """Buildings like this one: the same use, a floor area between half and twice its own, built in the same
    period (`AGE_BANDS`); itself excluded."""
    low, high = age_band(building.year_built)
    query = select(Building).where(
        Building.use == building.use,
        Building.thing_id != building.thing_id,
        Building.floor_area_m2 >= building.floor_area_m2 / AREA_RATIO,
        Building.floor_area_m2 <= building.floor_area_m2 * AREA_RATIO,
    )
    if low is not None:
        query = query.where(Building.year_built >= low)
    if high is not None:
        query = query.where(Building.year_built <= high)
    return list((await session.execute(query.order_by(Building.thing_id))).scalars())


async def list_buildings(session: AsyncSession, neighbourhood_id: int | None = None) -> list[Building]:
    """Every building (of a quartier), by name."""
    query = select(Building).order_by(Building.name, Building.thing_id)
    if neighbourhood_id is not None:
        query = query.where(Building.neighbourhood_id == neighbourhood_id)
    return list((await session.execute(query)).scalars())


async def metered_dwellings(session: AsyncSession, meter: str) -> dict[int, tuple[int, list[int]]]:
    """Per quartier: the dwellings of its blocks of flats with a `meter`, and those meters' Datastreams (what a
    per-dwelling indicator divides by and sums)."""
    column = getattr(Building, f"{meter}_datastream_id")
    rows = (
        await session.execute(
            select(Building.neighbourhood_id, Building.dwellings, column).where(
                Building.use == BuildingUse.HOUSING.value,
                Building.neighbourhood_id.is_not(None),
                column.is_not(None),
                Building.dwellings > 0,
            )
        )
    ).all()
    result: dict[int, tuple[int, list[int]]] = {}
    for neighbourhood_id, dwellings, datastream_id in rows:
        count, streams = result.get(neighbourhood_id, (0, []))
        result[neighbourhood_id] = (count + dwellings, [*streams, datastream_id])
    return result


async def building_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Building))).scalar_one())
