"""Data Array extension: CreateObservations (links or per-row errors) and $resultFormat=dataArray;
results of every JSON type come back exactly as sent."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sensing.helpers import STA, bearer, create_station, entity_id


async def test_create_observations_answers_self_links_and_per_row_errors(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    no2, temperature = (datastream["@iot.id"] for datastream in thing["Datastreams"])
    body = [
        {
            "Datastream": {"@iot.id": no2},
            "components": ["phenomenonTime", "result"],
            "dataArray": [
                ["2026-11-25T10:00:00Z", 41.5],
                ["not a time", 12],
                ["2026-11-25T11:00:00+01:00", 39],
            ],
        },
        {
            "Datastream": {"@iot.id": temperature},
            "components": ["phenomenonTime", "result", "resultTime", "parameters"],
            "dataArray": [["2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", 8.25, "2026-11-25T11:00:05Z", {"avg": 60}]],
        },
        {  # the same Datastream again, its columns the other way round: plain measurements, integers among them
            "Datastream": {"@iot.id": no2},
            "components": ["result", "phenomenonTime"],
            "dataArray": [[7, "2026-11-25T12:00:00Z"], [7.5, "2026-11-25T12:30:00+01:00"]],
        },
    ]
    response = await client.post(f"{STA}/CreateObservations", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    links = response.json()
    assert len(links) == 6
    assert links[1].startswith("error")
    assert "not a time" in links[1]
    assert all(link.startswith("http://testserver/sta/v1.1/Observations(") for link in links[0:1] + links[2:])
    served = [(await client.get(link)).json() for link in links[4:]]
    assert [(each["phenomenonTime"], each["result"]) for each in served] == [
        ("2026-11-25T12:00:00Z", 7),
        ("2026-11-25T11:30:00Z", 7.5),
    ]
    assert [type(each["result"]) for each in served] == [int, float]

    first = (await client.get(links[0])).json()
    assert first["phenomenonTime"] == "2026-11-25T10:00:00Z"
    assert first["result"] == 41.5
    third = (await client.get(links[2])).json()
    assert third["phenomenonTime"] == "2026-11-25T10:00:00Z"  # 11:00+01:00, in UTC
    assert third["result"] == 39
    interval = (await client.get(links[3])).json()
    assert interval["phenomenonTime"] == "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z"
    assert interval["resultTime"] == "2026-11-25T11:00:05Z"
    assert interval["parameters"] == {"avg": 60}
    datastream = (await client.get(f"{STA}/Datastreams({no2})")).json()
    assert datastream["phenomenonTime"] == "2026-11-25T10:00:00Z/2026-11-25T12:00:00Z"


async def test_create_observations_refuses_an_unknown_datastream_and_stores_nothing(
    client: httpx.AsyncClient, token: str
) -> None:
    thing = await create_station(client, token)
    body = [
        {
            "Datastream": {"@iot.id": thing["Datastreams"][0]["@iot.id"]},
            "components": ["phenomenonTime", "result"],
            "dataArray": [["2026-11-25T10:00:00Z", 1]],
        },
        {
            "Datastream": {"@iot.id": 424242},
            "components": ["phenomenonTime", "result"],
            "dataArray": [["2026-11-25T10:00:00Z", 2]],
        },
    ]
    response = await client.post(f"{STA}/CreateObservations", json=body, headers=bearer(token))
    assert response.status_code == 400
    assert response.json()["message"] == "Datastream(424242) does not exist"
    unknown = await client.post(
        f"{STA}/CreateObservations",
        json=[
            {"Datastream": {"@iot.id": thing["Datastreams"][0]["@iot.id"]}, "components": ["colour"], "dataArray": []}
        ],
        headers=bearer(token),
    )
    assert unknown.status_code == 400
    count = (await client.get(f"{STA}/Observations", params={"$count": "true"})).json()["@iot.count"]
    assert count == 0
    assert (await client.post(f"{STA}/CreateObservations", json=body)).status_code == 401


async def test_results_of_every_json_type_round_trip(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    datastream = thing["Datastreams"][0]["@iot.id"]
    results: list[Any] = [21, 21.0, -0.1, 2**60, "open", True, False, None, {"pm10": 12, "pm25": [4, 5.5]}, [1, "a"]]
    body = [
        {
            "Datastream": {"@iot.id": datastream},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[f"2026-11-25T10:{minute:02d}:00Z", result] for minute, result in enumerate(results)],
        }
    ]
    links = (await client.post(f"{STA}/CreateObservations", json=body, headers=bearer(token))).json()
    served = [(await client.get(link)).json()["result"] for link in links]
    assert served == results
    assert [type(value) for value in served] == [type(value) for value in results]
    single = await client.post(
        f"{STA}/Datastreams({datastream})/Observations", json={"result": {"state": "on"}}, headers=bearer(token)
    )
    assert (await client.get(single.headers["Location"])).json()["result"] == {"state": "on"}


async def test_result_format_data_array_groups_by_datastream(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    no2 = thing["Datastreams"][0]["@iot.id"]
    body = [
        {
            "Datastream": {"@iot.id": no2},
            "components": ["phenomenonTime", "result"],
            "dataArray": [["2026-11-25T10:00:00Z", 40], ["2026-11-25T11:00:00Z", 42]],
        }
    ]
    links = (await client.post(f"{STA}/CreateObservations", json=body, headers=bearer(token))).json()
    response = await client.get(
        f"{STA}/Datastreams({no2})/Observations",
        params={"$resultFormat": "dataArray", "$select": "id,phenomenonTime,result", "$orderby": "phenomenonTime"},
    )
    assert response.status_code == 200, response.text
    block = response.json()["value"][0]
    assert block["Datastream@iot.navigationLink"] == f"http://testserver/sta/v1.1/Datastreams({no2})"
    assert block["components"] == ["id", "phenomenonTime", "result"]
    assert block["dataArray@iot.count"] == 2
    assert block["dataArray"] == [
        [entity_id(links[0]), "2026-11-25T10:00:00Z", 40],
        [entity_id(links[1]), "2026-11-25T11:00:00Z", 42],
    ]
    refused = await client.get(f"{STA}/Things", params={"$resultFormat": "dataArray"})
    assert refused.status_code == 400
