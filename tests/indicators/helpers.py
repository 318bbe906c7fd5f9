"""A small measured city for the indicators' tests: the two test quartiers, an air station in each (NO2 and
temperature), a bicycle counter in the west, and readings sent through the SensorThings API as sensors do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators.models import AreaRollup, DatastreamRollup
from citoyen.territory import service as territory
from tests.sensing.helpers import STA, bearer, create_station
from tests.territory.helpers import create_territory

WEST = (2.305, 48.855)
EAST = (2.315, 48.855)


@dataclass(frozen=True)
class City:
    west: int
    east: int
    west_no2: int
    west_temperature: int
    east_no2: int
    bicycles: int


def bicycle_counter(lon: float, lat: float) -> dict[str, Any]:
    return {
        "name": "Compteur vélo",
        "description": "Bicycle counter",
        "properties": {"citoyen": {"kind": "mobility"}},
        "Locations": [
            {
                "name": "Quai",
                "description": "Quai",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
        "Datastreams": [
            {
                "name": "Bicycles",
                "description": "Bicycles per hour",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation",
                "unitOfMeasurement": {"name": "bicycles per hour", "symbol": "bicycles/h", "definition": "count"},
                "Sensor": {"name": "Loop", "description": "Loop", "encodingType": "text/plain", "metadata": "loop"},
                "ObservedProperty": {"name": "Bicycles passing", "definition": "bicycles", "description": "Bicycles"},
            }
        ],
    }


def network_meter(lon: float, lat: float, observed: str) -> dict[str, Any]:
    """A quartier's network meter (water supplied, energy delivered): one reading a day."""
    thing = bicycle_counter(lon, lat)
    thing["name"] = f"{observed} meter"
    stream = thing["Datastreams"][0]
    stream["name"] = observed
    stream["observationType"] = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
    stream["unitOfMeasurement"] = {"name": "unit", "symbol": "u", "definition": "unit"}
    stream["ObservedProperty"] = {"name": observed, "definition": observed, "description": observed}
    return thing


async def create_thing(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> int:
    """Creates a Thing with one Datastream; returns the Datastream's id."""
    response = await client.post(f"{STA}/Things", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    thing = (await client.get(response.headers["Location"], params={"$expand": "Datastreams"})).json()
    return int(thing["Datastreams"][0]["@iot.id"])


async def create_city(session: AsyncSession, client: httpx.AsyncClient, token: str) -> City:
    await create_territory(session)
    await session.commit()
    ids = {n.name: n.id for n in await territory.list_neighbourhoods(session)}
    west = await create_station(client, token, name="Station Ouest", lon=WEST[0], lat=WEST[1])
    east = await create_station(client, token, name="Station Est", lon=EAST[0], lat=EAST[1], access="restricted")
    response = await client.post(f"{STA}/Things", json=bicycle_counter(*WEST), headers=bearer(token))
    assert response.status_code == 201, response.text
    counter = (await client.get(response.headers["Location"], params={"$expand": "Datastreams"})).json()
    return City(
        west=ids["Ouest"],
        east=ids["Est"],
        west_no2=west["Datastreams"][0]["@iot.id"],
        west_temperature=west["Datastreams"][1]["@iot.id"],
        east_no2=east["Datastreams"][0]["@iot.id"],
        bicycles=counter["Datastreams"][0]["@iot.id"],
    )


async def send(client: httpx.AsyncClient, token: str, datastream_id: int, readings: list[list[Any]]) -> list[int]:
    """Readings sent as a sensor gateway does (CreateObservations); the new Observations' ids."""
    body = [
        {"Datastream": {"@iot.id": datastream_id}, "components": ["phenomenonTime", "result"], "dataArray": readings}
    ]
    response = await client.post(f"{STA}/CreateObservations", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    assert not any(link.startswith("error") for link in response.json()), response.text
    return [int(link.rsplit("(", 1)[1].rstrip(")")) for link in response.json()]


async def rollups(
    session: AsyncSession,
) -> tuple[dict[tuple[Any, ...], tuple[Any, ...]], dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Both rollup tables as {key: (count, total rounded, minimum, maximum)}."""
    streams = {
        (row.datastream_id, row.step, row.bucket): (row.count, round(row.total, 6), row.minimum, row.maximum)
        for row in (await session.execute(select(DatastreamRollup))).scalars()
    }
    areas = {
        (row.neighbourhood_id, row.quantity, row.step, row.bucket): (
            row.count,
            round(row.total, 6),
            row.minimum,
            row.maximum,
        )
        for row in (await session.execute(select(AreaRollup))).scalars()
    }
    return streams, areas
