"""Linking and unlinking through `$ref`: POST into a collection, PUT a to-one link, DELETE a link (by its path or
by `$id`); required links are refused with a 400 that says what to do."""

from __future__ import annotations

import httpx

from tests.sensing.helpers import STA, bearer, create_station


async def _ids(client: httpx.AsyncClient, path: str) -> list[int]:
    response = await client.get(f"{STA}/{path}/$ref")
    assert response.status_code == 200, response.text
    return [int(link["@iot.selfLink"].rsplit("(", 1)[1].rstrip(")")) for link in response.json()["value"]]


async def test_link_and_unlink_a_location_records_where_the_thing_is(client: httpx.AsyncClient, token: str) -> None:
    first = await create_station(client, token, name="A")
    second = await create_station(client, token, name="B", lon=2.35, lat=48.86)
    thing, location = first["@iot.id"], second["Locations"][0]["@iot.id"]
    own = first["Locations"][0]["@iot.id"]
    refs = f"{STA}/Things({thing})/Locations/$ref"

    linked = await client.post(
        refs, json={"@iot.selfLink": f"http://testserver{STA}/Locations({location})"}, headers=bearer(token)
    )
    assert linked.status_code == 204, linked.text
    again = await client.post(refs, json={"@iot.id": location}, headers=bearer(token))  # already linked: unchanged
    assert again.status_code == 204
    assert sorted(await _ids(client, f"Things({thing})/Locations")) == sorted([own, location])
    assert await _ids(client, f"Locations({location})/Things") == sorted([thing, second["@iot.id"]])

    by_path = await client.delete(f"{STA}/Things({thing})/Locations({own})/$ref", headers=bearer(token))
    assert by_path.status_code == 204, by_path.text
    by_id = await client.delete(refs, params={"$id": f"../Locations({location})"}, headers=bearer(token))
    assert by_id.status_code == 204, by_id.text
    assert await _ids(client, f"Things({thing})/Locations") == []
    gone = await client.delete(f"{STA}/Things({thing})/Locations({own})/$ref", headers=bearer(token))
    assert gone.status_code == 404
    # Each change of the Thing's Locations is a HistoricalLocation: created, linked, unlinked twice.
    history = await client.get(f"{STA}/Things({thing})/HistoricalLocations", params={"$count": "true", "$top": "0"})
    assert history.json()["@iot.count"] == 4
    assert "@iot.nextLink" not in history.json()  # $top=0: the count alone, no page to follow
    # The Locations themselves are kept.
    assert (await client.get(f"{STA}/Locations({own})")).status_code == 200


async def test_key_held_and_to_one_links(client: httpx.AsyncClient, token: str) -> None:
    first = await create_station(client, token, name="A")
    second = await create_station(client, token, name="B")
    datastream = first["Datastreams"][0]["@iot.id"]
    moved = await client.post(
        f"{STA}/Things({second['@iot.id']})/Datastreams/$ref", json={"@iot.id": datastream}, headers=bearer(token)
    )
    assert moved.status_code == 204, moved.text
    assert (await client.get(f"{STA}/Datastreams({datastream})/Thing")).json()["name"] == "B"

    sensor = (await client.get(f"{STA}/Datastreams({second['Datastreams'][0]['@iot.id']})/Sensor")).json()["@iot.id"]
    changed = await client.put(
        f"{STA}/Datastreams({datastream})/Sensor/$ref", json={"@odata.id": f"Sensors({sensor})"}, headers=bearer(token)
    )
    assert changed.status_code == 204, changed.text
    assert (await client.get(f"{STA}/Datastreams({datastream})/Sensor")).json()["@iot.id"] == sensor

    required = await client.delete(f"{STA}/Datastreams({datastream})/Sensor/$ref", headers=bearer(token))
    assert required.status_code == 400 and "PUT" in required.json()["message"]
    member = await client.delete(
        f"{STA}/Things({second['@iot.id']})/Datastreams({datastream})/$ref", headers=bearer(token)
    )
    assert member.status_code == 400 and "always has its Thing" in member.json()["message"]
    wrong = await client.post(
        f"{STA}/Things({second['@iot.id']})/Locations/$ref", json={"@iot.selfLink": "Sensors(1)"}, headers=bearer(token)
    )
    assert wrong.status_code == 400 and "Locations" in wrong.json()["message"]
    missing = await client.post(
        f"{STA}/Things({second['@iot.id']})/Locations/$ref", json={"@iot.id": 999_999}, headers=bearer(token)
    )
    assert missing.status_code == 400
    anonymous = await client.post(f"{STA}/Things({second['@iot.id']})/Locations/$ref", json={"@iot.id": 1})
    assert anonymous.status_code == 401
    patch = await client.patch(f"{STA}/Things({second['@iot.id']})/Locations/$ref", json={}, headers=bearer(token))
    assert patch.status_code == 405
