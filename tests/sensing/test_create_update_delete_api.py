"""Create-Update-Delete conformance: deep insert, links, merge and JSON Patch updates, PUT, cascading
deletes, HistoricalLocations, automatic FeaturesOfInterest, authentication, and all-or-nothing requests."""

from __future__ import annotations

import base64

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from citoyen.sensing.events import SensingEvent
from tests.sensing.helpers import STA, bearer, create_station, entity_id, station


async def _count(client: httpx.AsyncClient, path: str) -> int:
    response = await client.get(f"{STA}/{path}", params={"$count": "true", "$top": "0"})
    assert response.status_code == 200, response.text
    count: int = response.json()["@iot.count"]
    return count


async def test_deep_insert_creates_the_whole_station_and_answers_201_with_location(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.post(f"{STA}/Things", json=station(), headers=bearer(token))
    assert response.status_code == 201
    location = response.headers["Location"]
    assert location.startswith("http://testserver/sta/v1.1/Things(")
    assert response.json()["@iot.selfLink"] == location
    assert await _count(client, "Things") == 1
    assert await _count(client, "Datastreams") == 2
    assert await _count(client, "Sensors") == 2
    assert await _count(client, "ObservedProperties") == 2
    assert await _count(client, "Locations") == 1
    # Creating a Thing with its Location records where it is (a HistoricalLocation).
    historical = (await client.get(f"{location}/HistoricalLocations", params={"$expand": "Locations"})).json()
    assert len(historical["value"]) == 1
    assert historical["value"][0]["Locations"][0]["name"] == "Station Bastille site"


async def test_link_existing_entities_by_id(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    first = thing["Datastreams"][0]
    sensor_id = (await client.get(f"{first['@iot.selfLink']}/Sensor")).json()["@iot.id"]
    property_id = (await client.get(f"{first['@iot.selfLink']}/ObservedProperty")).json()["@iot.id"]
    body = {
        "name": "PM10",
        "description": "Particles",
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "unitOfMeasurement": {"name": "µg/m³", "symbol": "µg/m³", "definition": "ucum:ug/m3"},
        "Thing": {"@iot.id": thing["@iot.id"]},
        "Sensor": {"@iot.id": sensor_id},
        "ObservedProperty": {"@iot.id": property_id},
    }
    response = await client.post(f"{STA}/Datastreams", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    assert await _count(client, "Sensors") == 2
    assert await _count(client, f"Things({thing['@iot.id']})/Datastreams") == 3
    dangling = await client.post(
        f"{STA}/Datastreams", json={**body, "Sensor": {"@iot.id": 987654}}, headers=bearer(token)
    )
    assert dangling.status_code == 400
    assert "Sensor(987654) does not exist" in dangling.json()["message"]


async def test_missing_required_properties_are_named_and_nothing_is_stored(
    client: httpx.AsyncClient, token: str
) -> None:
    body = station()
    del body["Datastreams"][1]["unitOfMeasurement"]
    del body["Datastreams"][1]["observationType"]
    response = await client.post(f"{STA}/Things", json=body, headers=bearer(token))
    assert response.status_code == 400
    error = response.json()
    assert error == {
        "code": 400,
        "type": "error",
        "message": "Datastream is missing required properties: unitOfMeasurement, observationType",
    }
    # The Thing, its Location and first Datastream were written before the error: all rolled back.
    assert await _count(client, "Things") == 0
    assert await _count(client, "Locations") == 0
    assert await _count(client, "Sensors") == 0


async def test_writes_need_a_token_with_the_sensing_write_scope(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    missing = await client.post(f"{STA}/Things", json=station())
    assert missing.status_code == 401
    assert "Bearer" in missing.headers["WWW-Authenticate"]
    assert missing.json()["type"] == "error"
    wrong = await client.post(f"{STA}/Things", json=station(), headers=bearer("cit_not-a-token"))
    assert wrong.status_code == 401
    _other, open311_secret = await people.create_api_token(session, "311 app", ["open311"])
    await session.commit()
    scope = await client.post(f"{STA}/Things", json=station(), headers=bearer(open311_secret))
    assert scope.status_code == 403
    assert "sensing:write" in scope.json()["message"]
    basic = base64.b64encode(f"gateway:{token}".encode()).decode()
    accepted = await client.post(f"{STA}/Things", json=station(), headers={"Authorization": f"Basic {basic}"})
    assert accepted.status_code == 201
    assert await _count(client, "Things") == 1


async def test_patch_merge_json_patch_and_put(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    link = thing["@iot.selfLink"]
    merged = await client.patch(link, json={"description": "Moved indoors"}, headers=bearer(token))
    assert merged.status_code == 200
    assert merged.json()["description"] == "Moved indoors"
    assert merged.json()["name"] == "Station Bastille"

    patch = [
        {"op": "replace", "path": "/name", "value": "Station Bastille Nord"},
        {"op": "add", "path": "/properties/height", "value": 3},
    ]
    patched = await client.patch(
        link,
        content=__import__("json").dumps(patch),
        headers={**bearer(token), "Content-Type": "application/json-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    stored = (await client.get(link)).json()
    assert stored["name"] == "Station Bastille Nord"
    assert stored["properties"]["height"] == 3
    assert stored["properties"]["operator"] == "Airparif"

    bad_patch = [{"op": "test", "path": "/name", "value": "Someone else"}]
    refused = await client.patch(
        link,
        content=__import__("json").dumps(bad_patch),
        headers={**bearer(token), "Content-Type": "application/json-patch+json"},
    )
    assert refused.status_code == 400

    replaced = await client.put(link, json={"name": "Station B", "description": "Replaced"}, headers=bearer(token))
    assert replaced.status_code == 200
    # The properties the body left out are reset; Citoyen's settings of the Thing are not properties: kept.
    assert "properties" not in replaced.json()
    assert (replaced.json()["@citoyen.access"], replaced.json()["@citoyen.kind"]) == ("public", "air")
    incomplete = await client.put(link, json={"name": "Only a name"}, headers=bearer(token))
    assert incomplete.status_code == 400
    assert "description" in incomplete.json()["message"]


async def test_changing_a_things_location_records_a_historical_location(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    new_place = {
        "name": "Place de la République",
        "description": "New site",
        "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [2.3637, 48.8675]},
    }
    # An update links existing entities only (18-088, 10.3): the new Location is created first.
    inline = await client.patch(thing["@iot.selfLink"], json={"Locations": [new_place]}, headers=bearer(token))
    assert inline.status_code == 400 and "@iot.id" in inline.json()["message"]
    created = await client.post(f"{STA}/Locations", json=new_place, headers=bearer(token))
    assert created.status_code == 201, created.text
    place_id = entity_id(created.headers["Location"])
    response = await client.patch(
        thing["@iot.selfLink"], json={"Locations": [{"@iot.id": place_id}]}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    locations = (await client.get(f"{thing['@iot.selfLink']}/Locations")).json()["value"]
    assert [location["name"] for location in locations] == ["Place de la République"]
    history = (
        await client.get(
            f"{thing['@iot.selfLink']}/HistoricalLocations",
            params={"$expand": "Locations", "$orderby": "time desc"},
        )
    ).json()["value"]
    assert len(history) == 2
    assert history[0]["Locations"][0]["name"] == "Place de la République"


async def test_observation_gets_a_feature_of_interest_from_the_things_location_reused_after(
    client: httpx.AsyncClient, token: str
) -> None:
    thing = await create_station(client, token)
    datastream = thing["Datastreams"][0]["@iot.selfLink"]
    first = await client.post(
        f"{datastream}/Observations",
        json={"phenomenonTime": "2026-11-25T10:00:00Z", "result": 40},
        headers=bearer(token),
    )
    second = await client.post(
        f"{STA}/Observations",
        json={"phenomenonTime": "2026-11-25T11:00:00Z", "result": 42, "Datastream": {"@iot.id": entity_id(datastream)}},
        headers=bearer(token),
    )
    assert first.status_code == second.status_code == 201
    features = (await client.get(f"{STA}/FeaturesOfInterest")).json()["value"]
    assert len(features) == 1
    assert features[0]["feature"] == {"type": "Point", "coordinates": [2.3692, 48.8532]}
    assert (await client.get(f"{first.headers['Location']}/FeatureOfInterest")).json()["@iot.id"] == features[0][
        "@iot.id"
    ]
    refreshed = (await client.get(datastream)).json()
    assert refreshed["phenomenonTime"] == "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z"
    assert refreshed["observedArea"] == {"type": "Point", "coordinates": [2.3692, 48.8532]}


async def test_delete_cascades_from_thing_to_datastreams_and_observations(
    client: httpx.AsyncClient, token: str
) -> None:
    thing = await create_station(client, token)
    datastream = thing["Datastreams"][0]["@iot.selfLink"]
    await client.post(f"{datastream}/Observations", json={"result": 1.5}, headers=bearer(token))
    assert await _count(client, "Observations") == 1
    assert (await client.delete(thing["@iot.selfLink"])).status_code == 401
    deleted = await client.delete(thing["@iot.selfLink"], headers=bearer(token))
    assert deleted.status_code == 200
    assert (await client.get(thing["@iot.selfLink"])).status_code == 404
    assert await _count(client, "Datastreams") == 0
    assert await _count(client, "Observations") == 0
    assert await _count(client, "HistoricalLocations") == 0
    # Locations, Sensors and ObservedProperties can serve other Things: they stay.
    assert await _count(client, "Locations") == 1
    assert await _count(client, "Sensors") == 2


async def test_delete_a_sensor_takes_its_datastreams(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    sensor = (await client.get(f"{thing['Datastreams'][0]['@iot.selfLink']}/Sensor")).json()
    assert (await client.delete(sensor["@iot.selfLink"], headers=bearer(token))).status_code == 200
    assert await _count(client, "Datastreams") == 1


async def test_events_are_published_after_commit_only(client: httpx.AsyncClient, token: str, app: object) -> None:
    bus = app.state.sensing_events  # type: ignore[attr-defined]
    received: list[SensingEvent] = []

    async def listen(event: SensingEvent) -> None:
        received.append(event)

    bus.add_listener(listen)
    thing = await create_station(client, token)
    datastream = thing["Datastreams"][0]
    await client.post(f"{datastream['@iot.selfLink']}/Observations", json={"result": 7}, headers=bearer(token))
    await bus.drain()
    observation_events = [event for event in received if event.entity_set == "Observations"]
    assert len(observation_events) == 1
    event = observation_events[0]
    assert event.kind == "create"
    assert event.datastream_id == datastream["@iot.id"]
    assert event.access == "public"
    assert event.payload["result"] == 7
    assert event.path.startswith("/sta/v1.1/Observations(")
    assert {e.entity_set for e in received} >= {"Things", "Datastreams", "Locations", "HistoricalLocations"}

    received.clear()
    failing = station()
    del failing["Datastreams"][0]["Sensor"]
    assert (await client.post(f"{STA}/Things", json=failing, headers=bearer(token))).status_code == 400
    await bus.drain()
    assert received == []
    bus.remove_listener(listen)


async def test_a_personal_things_new_sensor_is_announced_as_personal(
    client: httpx.AsyncClient, token: str, app: object
) -> None:
    """A deep insert makes the Sensor before the Datastream that ties it to the Thing: its announcement (MQTT,
    live pages) must still follow the Thing's access, or a household's meter would be told to everyone."""
    bus = app.state.sensing_events  # type: ignore[attr-defined]
    received: list[SensingEvent] = []

    async def listen(event: SensingEvent) -> None:
        received.append(event)

    bus.add_listener(listen)
    home = station(name="Mon logement", access="personal")
    assert (await client.post(f"{STA}/Things", json=home, headers=bearer(token))).status_code == 201
    await bus.drain()
    bus.remove_listener(listen)
    by_set = {event.entity_set: event.access for event in received}
    assert by_set["Sensors"] == by_set["ObservedProperties"] == by_set["Things"] == "personal"


async def test_an_update_or_a_post_under_a_parent_never_contradicts_its_links(
    client: httpx.AsyncClient, token: str
) -> None:
    """18-088: an update links related entities by id, never creates them; a POST under Datastreams(A) makes
    Observations of A and a body naming Datastream B is refused. Nothing is stored by a refused request."""
    first, second = await create_station(client, token), await create_station(client, token, name="Station Nation")
    datastream = first["Datastreams"][0]
    other = second["Datastreams"][0]
    sensor = {"name": "New sensor", "description": "x", "encodingType": "text/plain", "metadata": "none"}
    refused = await client.patch(datastream["@iot.selfLink"], json={"Sensor": sensor}, headers=bearer(token))
    assert refused.status_code == 400 and "@iot.id" in refused.json()["message"]
    moved = await client.patch(
        first["@iot.selfLink"], json={"Datastreams": [{"@iot.id": other["@iot.id"]}]}, headers=bearer(token)
    )
    assert moved.status_code == 400 and "Datastream.Thing" in moved.json()["message"]
    observation = {"phenomenonTime": "2026-11-25T10:00:00Z", "result": 40}
    contradicting = await client.post(
        f"{datastream['@iot.selfLink']}/Observations",
        json={**observation, "Datastream": {"@iot.id": other["@iot.id"]}},
        headers=bearer(token),
    )
    assert contradicting.status_code == 400, contradicting.text
    same = await client.post(
        f"{datastream['@iot.selfLink']}/Observations",
        json={**observation, "Datastream": {"@iot.id": datastream["@iot.id"]}},
        headers=bearer(token),
    )
    assert same.status_code == 201, same.text
    for stream in (datastream, other):
        count = (await client.get(f"{stream['@iot.selfLink']}/Observations", params={"$count": "true"})).json()
        assert count["@iot.count"] == (1 if stream is datastream else 0)
