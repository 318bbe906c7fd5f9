"""Sensing core conformance: service root, addressing, links, paging, access rules of Citoyen's Things."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people.models import Role
from tests.factories import create_person, log_in
from tests.sensing.helpers import STA, bearer, create_station, entity_id


async def test_service_root_lists_entity_sets_with_absolute_urls_and_conformance(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{STA}/")
    assert response.status_code == 200
    root = response.json()
    names = [entity_set["name"] for entity_set in root["value"]]
    assert names == [
        "Things",
        "Locations",
        "HistoricalLocations",
        "Sensors",
        "ObservedProperties",
        "Datastreams",
        "MultiDatastreams",
        "FeaturesOfInterest",
        "Observations",
    ]
    assert root["value"][0]["url"] == "http://testserver/sta/v1.1/Things"
    conformance = root["serverSettings"]["conformance"]
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete" in conformance
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array" in conformance
    # No MQTT endpoint configured: the MQTT classes are not claimed.
    assert not any("mqtt" in uri for uri in conformance)


async def test_entity_property_value_and_navigation_addressing(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    thing_id = thing["@iot.id"]
    datastream_id = thing["Datastreams"][0]["@iot.id"]

    entity = (await client.get(f"{STA}/Things({thing_id})")).json()
    assert entity["name"] == "Station Bastille"
    assert entity["@iot.selfLink"] == f"http://testserver/sta/v1.1/Things({thing_id})"
    assert entity["Datastreams@iot.navigationLink"] == f"http://testserver/sta/v1.1/Things({thing_id})/Datastreams"

    assert (await client.get(f"{STA}/Things({thing_id})/name")).json() == {"name": "Station Bastille"}
    raw = await client.get(f"{STA}/Things({thing_id})/name/$value")
    assert raw.status_code == 200
    assert raw.text == "Station Bastille"

    locations = (await client.get(f"{STA}/Things({thing_id})/Locations")).json()["value"]
    assert [location["location"] for location in locations] == [{"type": "Point", "coordinates": [2.3692, 48.8532]}]
    via_datastream = (await client.get(f"{STA}/Datastreams({datastream_id})/Thing")).json()
    assert via_datastream["@iot.id"] == thing_id
    sensor_name = (await client.get(f"{STA}/Datastreams({datastream_id})/Sensor/name")).json()
    assert sensor_name == {"name": "NO2 analyser"}
    nested = await client.get(f"{STA}/Things({thing_id})/Datastreams({datastream_id})/ObservedProperty")
    assert nested.status_code == 200
    assert nested.json()["name"] in ("NO2", "Temperature")


async def test_addressing_errors_are_json_with_code_type_message(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    other_datastream = 999_999
    for path, status in [
        ("Thingz", 404),
        ("Things(abc)", 400),
        ("Things(424242)", 404),
        (f"Things({thing['@iot.id']})/Datastreams({other_datastream})", 404),
        (f"Things({thing['@iot.id']})/colour", 404),
    ]:
        response = await client.get(f"{STA}/{path}")
        assert response.status_code == status, path
        body = response.json()
        assert body["code"] == status
        assert body["type"] == "error"
        assert body["message"]


async def test_collections_page_with_count_and_next_link(client: httpx.AsyncClient, token: str) -> None:
    for number in range(5):
        await create_station(client, token, name=f"Station {number}")
    first = (await client.get(f"{STA}/Things", params={"$top": "2", "$count": "true"})).json()
    assert first["@iot.count"] == 5
    assert [thing["name"] for thing in first["value"]] == ["Station 0", "Station 1"]
    names = [thing["name"] for thing in first["value"]]
    link = first["@iot.nextLink"]
    while link:
        page = (await client.get(link)).json()
        names += [thing["name"] for thing in page["value"]]
        link = page.get("@iot.nextLink")
    assert names == [f"Station {number}" for number in range(5)]


async def test_default_page_size_is_the_server_setting(client: httpx.AsyncClient, token: str, app: object) -> None:
    app.state.settings.sta_default_top = 2  # type: ignore[attr-defined]
    for number in range(3):
        await create_station(client, token, name=f"Station {number}")
    page = (await client.get(f"{STA}/Things")).json()
    assert len(page["value"]) == 2
    assert "$top=2" in page["@iot.nextLink"]
    assert "$skip=2" in page["@iot.nextLink"]


async def test_personal_things_are_visible_to_their_owner_and_staff_only(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    owner = await create_person(session)
    staff = await create_person(session, role=Role.STAFF)
    await session.commit()
    body = {
        "name": "Home meter",
        "description": "Electricity meter of a household",
        "properties": {"citoyen": {"access": "personal", "kind": "energy", "owner": owner.id}},
        "Locations": [
            {
                "name": "Home",
                "description": "Where the household lives",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [2.35, 48.86]},
            }
        ],
    }
    created = await client.post(f"{STA}/Things", json=body, headers=bearer(token))
    assert created.status_code == 201
    thing_id = entity_id(created.headers["Location"])
    await create_station(client, token)

    anonymous = (await client.get(f"{STA}/Things")).json()["value"]
    assert [thing["name"] for thing in anonymous] == ["Station Bastille"]
    assert (await client.get(f"{STA}/Things({thing_id})")).status_code == 404
    home_locations = (await client.get(f"{STA}/Locations")).json()["value"]
    assert "Home" not in [location["name"] for location in home_locations]

    await log_in(client, owner.email)
    mine = await client.get(f"{STA}/Things({thing_id})", params={"$expand": "Locations"})
    assert mine.status_code == 200
    assert mine.json()["Locations"][0]["name"] == "Home"
    client.cookies.clear()
    await log_in(client, staff.email)
    assert (await client.get(f"{STA}/Things({thing_id})")).status_code == 200


async def test_restricted_things_show_metadata_but_not_raw_observations(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token, access="restricted")
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    posted = await client.post(
        f"{STA}/Datastreams({datastream_id})/Observations",
        json={"phenomenonTime": "2026-11-25T10:00:00Z", "result": 41.5},
        headers=bearer(token),
    )
    assert posted.status_code == 201
    assert (await client.get(f"{STA}/Things({thing['@iot.id']})")).status_code == 200
    assert (await client.get(f"{STA}/Datastreams({datastream_id})")).status_code == 200
    refused = await client.get(f"{STA}/Datastreams({datastream_id})/Observations")
    assert refused.status_code == 403
    assert refused.json()["type"] == "error"
    assert (await client.get(posted.headers["Location"])).status_code == 403
    assert (await client.get(f"{STA}/Observations")).json()["value"] == []
    expanded = (await client.get(f"{STA}/Datastreams({datastream_id})", params={"$expand": "Observations"})).json()
    assert expanded["Observations"] == []


async def test_association_links_and_null_properties(client: httpx.AsyncClient, token: str) -> None:
    """`$ref` answers links only (usage 7 of the URL conventions); a property that is null answers 204."""
    thing = await create_station(client, token)
    thing_id, datastream_id = thing["@iot.id"], thing["Datastreams"][0]["@iot.id"]
    links = await client.get(f"{STA}/Things({thing_id})/Datastreams/$ref", params={"$count": "true"})
    assert links.status_code == 200, links.text
    ids = sorted(datastream["@iot.id"] for datastream in thing["Datastreams"])
    assert links.json() == {
        "@iot.count": len(ids),
        "value": [{"@iot.selfLink": f"http://testserver/sta/v1.1/Datastreams({each})"} for each in ids],
    }
    one = (await client.get(f"{STA}/Datastreams({datastream_id})/Thing/$ref")).json()
    assert one == {"@iot.selfLink": f"http://testserver/sta/v1.1/Things({thing_id})"}
    refused = await client.get(f"{STA}/Things({thing_id})/Datastreams/$ref", params={"$expand": "Sensor"})
    assert refused.status_code == 400
    assert (
        await client.post(f"{STA}/Things({thing_id})/Datastreams/$ref", json={}, headers=bearer(token))
    ).status_code == 400
    assert (await client.get(f"{STA}/Things({thing_id})/Datastreams/$ref/x")).status_code == 404

    # The station's Datastream has no phenomenonTime until it has observations.
    empty = await client.get(f"{STA}/Datastreams({datastream_id})/phenomenonTime")
    assert empty.status_code == 204 and empty.content == b""
    assert (await client.get(f"{STA}/Datastreams({datastream_id})/phenomenonTime/$value")).status_code == 204
