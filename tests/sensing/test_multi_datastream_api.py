"""MultiDatastreams (OGC 18-088 §14): a weather mast's wind speed and direction in one Observation. Deep insert,
the size rules (units, data types and ObservedProperties; each result), navigation both ways, query options,
dataArray both ways, `$batch`, access levels, and the Observations' cascade."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sensing.helpers import COMPLEX, MEASUREMENT, STA, bearer, entity_id, wind


def mast(access: str = "public", **multi: Any) -> dict[str, Any]:
    return {
        "name": f"Mast {access}",
        "description": "Weather mast",
        "@citoyen.access": access,
        "Locations": [
            {
                "name": "Roof",
                "description": "Town hall roof",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [2.3522, 48.8566]},
            }
        ],
        "MultiDatastreams": [wind(**multi)],
    }


async def _create(client: httpx.AsyncClient, token: str, access: str = "public", **multi: Any) -> tuple[int, int]:
    """A mast with its MultiDatastream (one Observation inline): (Thing id, MultiDatastream id)."""
    observations = [{"phenomenonTime": "2026-12-07T10:00:00Z", "result": [4.5, 250]}]
    created = await client.post(
        f"{STA}/Things", json=mast("public", Observations=observations, **multi), headers=bearer(token)
    )
    assert created.status_code == 201, created.text
    thing = entity_id(created.headers["Location"])
    listed = await client.get(f"{STA}/Things({thing})/MultiDatastreams")
    multi_id = listed.json()["value"][0]["@iot.id"]
    if access != "public":
        closed = await client.patch(f"{STA}/Things({thing})", json={"@citoyen.access": access}, headers=bearer(token))
        assert closed.status_code == 200, closed.text
    return thing, multi_id


async def test_a_weather_mast_observes_wind_speed_and_direction_at_once(client: httpx.AsyncClient, token: str) -> None:
    root = (await client.get(f"{STA}/")).json()
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/multi-datastream" in root["serverSettings"]["conformance"]
    thing, multi = await _create(client, token)
    observations = f"{STA}/MultiDatastreams({multi})/Observations"

    posted = await client.post(
        observations, json={"phenomenonTime": "2026-12-07T11:00:00Z", "result": [6.1, 270]}, headers=bearer(token)
    )
    assert posted.status_code == 201, posted.text
    observation = posted.json()
    assert observation["result"] == [6.1, 270]
    assert "MultiDatastream@iot.navigationLink" in observation and "Datastream@iot.navigationLink" not in observation
    for wrong, says in (([6.1], "1 values"), ([1, 2, 3], "3 values"), (6.1, "an array of 2 values")):
        refused = await client.post(observations, json={"result": wrong}, headers=bearer(token))
        assert refused.status_code == 400 and refused.json()["type"] == "error", refused.text
        assert says in refused.json()["message"]
    by_body = await client.post(
        f"{STA}/Observations",
        json={"result": [1.0, 90], "phenomenonTime": "2026-12-07T10:30:00Z", "MultiDatastream": {"@iot.id": multi}},
        headers=bearer(token),
    )
    assert by_body.status_code == 201, by_body.text

    # Navigation both ways, in the ObservedProperties' order.
    document = (await client.get(f"{STA}/MultiDatastreams({multi})")).json()
    assert document["observationType"] == COMPLEX and [u["symbol"] for u in document["unitOfMeasurements"]] == [
        "m/s",
        "deg",
    ]
    assert document["phenomenonTime"] == "2026-12-07T10:00:00Z/2026-12-07T11:00:00Z"
    assert document["observedArea"]["type"] == "Point"
    names = [
        p["name"] for p in (await client.get(f"{STA}/MultiDatastreams({multi})/ObservedProperties")).json()["value"]
    ]
    assert names == ["Wind speed", "Wind direction"]
    speed = (await client.get(f"{STA}/MultiDatastreams({multi})/ObservedProperties")).json()["value"][0]["@iot.id"]
    sensor = (await client.get(f"{STA}/MultiDatastreams({multi})/Sensor")).json()["@iot.id"]
    for path in (f"ObservedProperties({speed})", f"Sensors({sensor})", f"Things({thing})"):
        linked = (await client.get(f"{STA}/{path}/MultiDatastreams")).json()["value"]
        assert [each["@iot.id"] for each in linked] == [multi], path
    first = observation["@iot.id"]
    assert (await client.get(f"{STA}/Observations({first})/MultiDatastream")).json()["@iot.id"] == multi
    assert (await client.get(f"{STA}/Observations({first})/Datastream")).status_code == 404

    # Query options.
    latest = await client.get(observations, params={"$orderby": "phenomenonTime desc", "$top": "1", "$count": "true"})
    assert latest.json()["@iot.count"] == 3 and latest.json()["value"][0]["result"] == [6.1, 270]
    filtered = await client.get(f"{STA}/Observations", params={"$filter": f"MultiDatastream/id eq {multi}"})
    assert len(filtered.json()["value"]) == 3
    expanded = await client.get(
        f"{STA}/Things({thing})",
        params={
            "$expand": "MultiDatastreams($select=name,unitOfMeasurements;$expand=ObservedProperties($select=name))"
        },
    )
    (expanded_multi,) = expanded.json()["MultiDatastreams"]
    assert set(expanded_multi) == {"name", "unitOfMeasurements", "ObservedProperties"}
    assert [p["name"] for p in expanded_multi["ObservedProperties"]] == ["Wind speed", "Wind direction"]
    things = await client.get(f"{STA}/Things", params={"$filter": "MultiDatastreams/name eq 'Wind'"})
    assert [each["@iot.id"] for each in things.json()["value"]] == [thing]

    # The Data Array extension, both ways: one bad row is answered as such, the others stored.
    stored = await client.post(
        f"{STA}/CreateObservations",
        json=[
            {
                "MultiDatastream": {"@iot.id": multi},
                "components": ["phenomenonTime", "result"],
                "dataArray": [["2026-12-07T12:00:00Z", [7.0, 280]], ["2026-12-07T12:10:00Z", [7.0]]],
            }
        ],
        headers=bearer(token),
    )
    assert stored.status_code == 201, stored.text
    assert stored.json()[0].startswith("http://testserver/sta/v1.1/Observations(")
    assert stored.json()[1].startswith("error:") and "1 values" in stored.json()[1]
    arrays = await client.get(observations, params={"$resultFormat": "dataArray", "$select": "result"})
    (block,) = arrays.json()["value"]
    assert block["MultiDatastream@iot.navigationLink"].endswith(f"/MultiDatastreams({multi})")
    assert sorted(block["dataArray"]) == sorted([[[4.5, 250]], [[6.1, 270]], [[1.0, 90]], [[7.0, 280]]])

    # $batch parts, and a PATCH that keeps the size.
    batch = await client.post(
        f"{STA}/$batch",
        json={
            "requests": [
                {
                    "id": "1",
                    "method": "post",
                    "url": f"MultiDatastreams({multi})/Observations",
                    "body": {"result": [2, 3]},
                },
                {"id": "2", "method": "patch", "url": f"Observations({first})", "body": {"result": [2]}},
            ]
        },
        headers=bearer(token),
    )
    statuses = [answer["status"] for answer in batch.json()["responses"]]
    assert statuses == [201, 400], batch.text
    units = await client.patch(
        f"{STA}/MultiDatastreams({multi})", json={"unitOfMeasurements": [{"name": "knot"}]}, headers=bearer(token)
    )
    assert units.status_code == 400 and "2 ObservedProperties" in units.json()["message"]

    # Deleting the MultiDatastream takes its Observations.
    assert (await client.delete(f"{STA}/MultiDatastreams({multi})", headers=bearer(token))).status_code == 200
    assert (await client.get(f"{STA}/Observations({first})")).status_code == 404


async def test_sizes_that_disagree_are_refused_and_nothing_is_stored(client: httpx.AsyncClient, token: str) -> None:
    for broken, says in (
        ({"units": 1}, "1 unitOfMeasurements"),
        ({"types": 1}, "1 multiObservationDataTypes"),
        ({"observationType": MEASUREMENT}, "OM_ComplexObservation"),
        ({"ObservedProperties": []}, "needs its ObservedProperties"),
    ):
        refused = await client.post(f"{STA}/Things", json=mast(**broken), headers=bearer(token))
        assert refused.status_code == 400 and says in refused.json()["message"], (broken, refused.text)
    assert (await client.get(f"{STA}/MultiDatastreams", params={"$count": "true"})).json()["@iot.count"] == 0
    assert (await client.get(f"{STA}/Things", params={"$count": "true"})).json()["@iot.count"] == 0
    _thing, multi = await _create(client, token)
    link = await client.post(
        f"{STA}/MultiDatastreams({multi})/ObservedProperties/$ref", json={"@iot.id": 1}, headers=bearer(token)
    )
    assert link.status_code == 400
    # Made from the ObservedProperty's side, its position would be unknown: refused.
    speed = {"name": "Gust", "definition": "https://example.org/gust", "description": "Gust speed"}
    sideways = await client.post(
        f"{STA}/ObservedProperties", json={**speed, "MultiDatastreams": [wind()]}, headers=bearer(token)
    )
    assert sideways.status_code == 400, sideways.text
    # A MultiDatastream cannot lose one of its ObservedProperties: it goes with it, and its Observations too.
    properties = (await client.get(f"{STA}/MultiDatastreams({multi})/ObservedProperties")).json()["value"]
    deleted = await client.delete(properties[1]["@iot.selfLink"], headers=bearer(token))
    assert deleted.status_code == 200
    assert (await client.get(f"{STA}/MultiDatastreams({multi})")).status_code == 404
    assert (await client.get(f"{STA}/Observations", params={"$count": "true"})).json()["@iot.count"] == 0


async def test_access_levels_apply_to_multi_datastreams(client: httpx.AsyncClient, token: str) -> None:
    _personal, hidden = await _create(client, token, "personal")
    restricted_thing, restricted = await _create(client, token, "restricted")
    listed = await client.get(f"{STA}/MultiDatastreams")
    assert [each["@iot.id"] for each in listed.json()["value"]] == [restricted]
    assert (await client.get(f"{STA}/MultiDatastreams({hidden})")).status_code == 404
    assert (await client.get(f"{STA}/MultiDatastreams({restricted})/Observations")).status_code == 403
    assert (await client.get(f"{STA}/Observations")).json()["value"] == []
    # Their Sensors and ObservedProperties follow the most open Thing that uses them: the restricted one.
    sensors = (await client.get(f"{STA}/Sensors", params={"$expand": "MultiDatastreams"})).json()["value"]
    assert [[each["@iot.id"] for each in sensor["MultiDatastreams"]] for sensor in sensors] == [[restricted]]
    assert restricted_thing
