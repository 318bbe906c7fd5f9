"""Filtering extension (request-data conformance): $filter, $orderby, $expand with inner options,
$select, $top/$skip/$count, over HTTP on both databases."""

from __future__ import annotations

import httpx

from tests.sensing.helpers import STA, bearer, create_station


async def _observations(client: httpx.AsyncClient, token: str, datastream_id: int, values: list[float]) -> None:
    body = [
        {
            "Datastream": {"@iot.id": datastream_id},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[f"2026-11-25T{hour:02d}:00:00Z", value] for hour, value in enumerate(values)],
        }
    ]
    response = await client.post(f"{STA}/CreateObservations", json=body, headers=bearer(token))
    assert response.status_code == 201


async def test_filter_on_properties_time_and_navigation_paths(client: httpx.AsyncClient, token: str) -> None:
    bastille = await create_station(client, token)
    await create_station(client, token, name="Station Nation", lon=2.3958, lat=48.8483)
    no2 = bastille["Datastreams"][0]["@iot.id"]
    await _observations(client, token, no2, [10, 35, 60, 20])

    async def results(params: dict[str, str]) -> list[float]:
        response = await client.get(f"{STA}/Observations", params=params)
        assert response.status_code == 200, response.text
        return [observation["result"] for observation in response.json()["value"]]

    assert await results({"$filter": "result gt 30", "$orderby": "result"}) == [35, 60]
    assert await results({"$filter": "phenomenonTime ge 2026-11-25T02:00:00Z", "$orderby": "phenomenonTime"}) == [
        60,
        20,
    ]
    assert await results({"$filter": "Datastream/Thing/name eq 'Station Bastille'", "$orderby": "result desc"}) == [
        60,
        35,
        20,
        10,
    ]
    assert await results({"$filter": "Datastream/Thing/name eq 'Station Nation'"}) == []
    things = (await client.get(f"{STA}/Things", params={"$filter": "startswith(name, 'Station N')"})).json()["value"]
    assert [thing["name"] for thing in things] == ["Station Nation"]
    near = await client.get(
        f"{STA}/Locations",
        params={
            "$filter": "st_within(location, "
            "geography'POLYGON((2.36 48.85, 2.38 48.85, 2.38 48.86, 2.36 48.86, 2.36 48.85))')"
        },
    )
    assert near.status_code == 200, near.text
    assert [location["name"] for location in near.json()["value"]] == ["Station Bastille site"]


async def test_bad_query_options_are_400_with_the_parsers_message(client: httpx.AsyncClient) -> None:
    for params in [
        {"$filter": "name eq"},
        {"$filter": "colour eq 'red'"},
        {"$orderby": "name sideways"},
        {"$expand": "Sensors"},
        {"$select": "colour"},
        {"$top": "-1"},
        {"$frobnicate": "1"},
    ]:
        response = await client.get(f"{STA}/Things", params=params)
        assert response.status_code == 400, params
        body = response.json()
        assert body["code"] == 400
        assert body["type"] == "error"
        assert body["message"], params


async def test_expand_nested_with_inner_options_select_and_count(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    no2, temperature = (datastream["@iot.id"] for datastream in thing["Datastreams"])
    await _observations(client, token, no2, [10, 35, 60, 20])
    await _observations(client, token, temperature, [7.5, 8.5])
    response = await client.get(
        f"{STA}/Things",
        params={
            "$select": "name",
            "$expand": "Datastreams($select=name;$orderby=name;"
            "$expand=Observations($top=2;$orderby=phenomenonTime desc;$select=result;$count=true),"
            "ObservedProperty($select=name))",
        },
    )
    assert response.status_code == 200, response.text
    [document] = response.json()["value"]
    assert set(document) == {"name", "Datastreams"}
    first, second = document["Datastreams"]
    assert first["name"] == "Station Bastille NO2"
    assert first["Observations"] == [{"result": 20}, {"result": 60}]
    assert first["Observations@iot.count"] == 4
    assert "$skip=2" in first["Observations@iot.nextLink"]
    assert first["ObservedProperty"] == {"name": "NO2"}
    assert second["Observations"] == [{"result": 8.5}, {"result": 7.5}]
    assert "Observations@iot.nextLink" not in second


async def test_latest_observation_of_every_datastream_in_one_request(client: httpx.AsyncClient, token: str) -> None:
    for number in range(3):
        thing = await create_station(client, token, name=f"Station {number}")
        for datastream in thing["Datastreams"]:
            await _observations(client, token, datastream["@iot.id"], [number, number + 0.5])
    response = await client.get(
        f"{STA}/Datastreams",
        params={"$top": "1000", "$expand": "Observations($top=1;$orderby=phenomenonTime desc)", "$orderby": "id"},
    )
    latest = [datastream["Observations"][0]["result"] for datastream in response.json()["value"]]
    assert latest == [0.5, 0.5, 1.5, 1.5, 2.5, 2.5]


async def test_top_skip_and_maximum_top(client: httpx.AsyncClient, token: str, app: object) -> None:
    thing = await create_station(client, token)
    await _observations(client, token, thing["Datastreams"][0]["@iot.id"], [float(n) for n in range(10)])
    page = (await client.get(f"{STA}/Observations", params={"$top": "3", "$skip": "4", "$orderby": "result"})).json()
    assert [observation["result"] for observation in page["value"]] == [4.0, 5.0, 6.0]
    app.state.settings.sta_max_top = 5  # type: ignore[attr-defined]
    capped = (await client.get(f"{STA}/Observations", params={"$top": "100"})).json()
    assert len(capped["value"]) == 5
    assert "@iot.nextLink" in capped
