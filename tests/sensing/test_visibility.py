"""What is linked only to a personal Thing (its Sensor, ObservedProperty, features, Locations) is as private as
the Thing; what a public Thing also uses stays public."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people.models import Role
from tests.factories import create_person, log_in
from tests.sensing.helpers import STA, bearer, create_station, entity_id


def home_meter(owner_id: int, *, sensor: Any = None, location: Any = None) -> dict[str, Any]:
    return {
        "name": "My home",
        "description": "A household's electricity meter",
        "properties": {"citoyen": {"access": "personal", "kind": "energy", "owner": owner_id}},
        "Locations": [
            location
            or {
                "name": "12 rue des Lilas",
                "description": "The household's flat",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [2.36, 48.85]},
            }
        ],
        "Datastreams": [
            {
                "name": "My home · electricity",
                "description": "Active power",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": "watt", "symbol": "W", "definition": "ucum:W"},
                "Sensor": sensor
                or {
                    "name": "Mon logement · électricité",
                    "description": "Linky meter of the flat",
                    "encodingType": "text/html",
                    "metadata": "https://example.org/linky",
                },
                "ObservedProperty": {
                    "name": "Household power",
                    "definition": "https://example.org/household-power",
                    "description": "Power drawn by one household",
                },
            }
        ],
    }


async def names(client: httpx.AsyncClient, path: str, **params: str) -> list[str]:
    response = await client.get(f"{STA}/{path}", params=params)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["value"]]


async def test_a_personal_things_sensor_property_and_feature_are_hidden_from_others(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    owner = await create_person(session)
    staff = await create_person(session, role=Role.STAFF)
    await session.commit()
    await create_station(client, token)
    created = await client.post(f"{STA}/Things", json=home_meter(owner.id), headers=bearer(token))
    assert created.status_code == 201, created.text
    await log_in(client, staff.email)
    meter = (await client.get(created.headers["Location"], params={"$expand": "Datastreams/Sensor"})).json()
    client.cookies.clear()
    datastream_id = meter["Datastreams"][0]["@iot.id"]
    sensor = meter["Datastreams"][0]["Sensor"]
    reading = await client.post(
        f"{STA}/Datastreams({datastream_id})/Observations",
        json={"phenomenonTime": "2026-11-25T10:00:00Z", "result": 420},
        headers=bearer(token),
    )
    assert reading.status_code == 201

    # Anyone else: not listed, not readable, not expandable, not reachable through its links.
    assert "Mon logement · électricité" not in await names(client, "Sensors")
    assert "Household power" not in await names(client, "ObservedProperties")
    assert "12 rue des Lilas" not in await names(client, "Locations")
    assert "12 rue des Lilas" not in await names(client, "FeaturesOfInterest")
    assert (await client.get(f"{STA}/Sensors({sensor['@iot.id']})")).status_code == 404
    assert (await client.get(f"{STA}/Sensors({sensor['@iot.id']})/name/$value")).status_code == 404
    expanded = await client.get(f"{STA}/Datastreams", params={"$expand": "Sensor,ObservedProperty"})
    assert "Mon logement" not in expanded.text
    features = await client.get(f"{STA}/Observations", params={"$expand": "FeatureOfInterest"})
    assert "12 rue des Lilas" not in features.text

    # The owner and staff see them.
    await log_in(client, owner.email)
    assert "Mon logement · électricité" in await names(client, "Sensors")
    assert "Household power" in await names(client, "ObservedProperties")
    assert "12 rue des Lilas" in await names(client, "FeaturesOfInterest")
    assert (await client.get(f"{STA}/Sensors({sensor['@iot.id']})")).status_code == 200
    client.cookies.clear()
    await log_in(client, staff.email)
    assert "Mon logement · électricité" in await names(client, "Sensors")


async def test_what_a_public_thing_also_uses_stays_public(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    owner = await create_person(session)
    await session.commit()
    station = await create_station(client, token)
    public_stream = (
        await client.get(f"{STA}/Datastreams({station['Datastreams'][0]['@iot.id']})", params={"$expand": "Sensor"})
    ).json()
    shared_sensor = {"@iot.id": public_stream["Sensor"]["@iot.id"]}
    shared_location = {"@iot.id": station["Locations"][0]["@iot.id"]}
    created = await client.post(
        f"{STA}/Things",
        json=home_meter(owner.id, sensor=shared_sensor, location=shared_location),
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    assert "NO2 analyser" in await names(client, "Sensors")
    assert "Station Bastille site" in await names(client, "Locations")
    assert (await client.get(f"{STA}/Sensors({shared_sensor['@iot.id']})")).status_code == 200
    # The personal Thing's own ObservedProperty is still hidden.
    assert "Household power" not in await names(client, "ObservedProperties")
    assert (await client.get(f"{STA}/Things({entity_id(created.headers['Location'])})")).status_code == 404


async def test_a_sensor_not_used_yet_is_visible(client: httpx.AsyncClient, token: str) -> None:
    sensor = {"name": "Spare thermometer", "description": "In stock", "encodingType": "text/html", "metadata": "-"}
    assert (await client.post(f"{STA}/Sensors", json=sensor, headers=bearer(token))).status_code == 201
    assert "Spare thermometer" in await names(client, "Sensors")


async def test_a_filter_through_a_to_many_path_keeps_entities_having_one_such_the_viewer_may_see(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    """`Things?$filter=Datastreams/name eq 'x'` (as FROST-Server reads it: any related entity matches), through a
    foreign key or a link table, and never through a related row the viewer may not read."""
    owner = await create_person(session)
    await session.commit()
    bastille = await create_station(client, token)
    await create_station(client, token, name="Station Nation")
    by_stream = {"$filter": "Datastreams/name eq 'Station Nation NO2'"}
    assert await names(client, "Things", **by_stream) == ["Station Nation"]
    by_place = {"$filter": "Locations/name eq 'Station Bastille site' or name eq 'Station Nation'", "$orderby": "id"}
    assert await names(client, "Things", **by_place) == ["Station Bastille", "Station Nation"]
    deeper = {"$filter": "Datastreams/ObservedProperty/name eq 'NO2' and Datastreams/name eq 'Station Nation NO2'"}
    assert await names(client, "Things", **deeper) == ["Station Nation"]
    refused = await client.get(f"{STA}/Things", params={"$orderby": "Datastreams/name"})
    assert refused.status_code == 400 and "many" in refused.json()["message"]

    # A household meter that uses the public station's NO2 analyser: the analyser stays public, but who uses it
    # privately is not to be learnt by filtering.
    no2 = next(stream for stream in bastille["Datastreams"] if stream["name"].endswith("NO2"))
    sensor_id = (await client.get(f"{STA}/Datastreams({no2['@iot.id']})/Sensor")).json()["@iot.id"]
    meter = await client.post(
        f"{STA}/Things", json=home_meter(owner.id, sensor={"@iot.id": sensor_id}), headers=bearer(token)
    )
    assert meter.status_code == 201, meter.text
    private = {"$filter": "Datastreams/name eq 'My home · electricity'"}
    assert await names(client, "Sensors", **private) == []
    await log_in(client, owner.email)
    assert await names(client, "Sensors", **private) == ["NO2 analyser"]
