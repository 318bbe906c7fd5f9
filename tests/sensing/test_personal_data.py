"""A household's meter is personal data: its owner can export it and erasure removes it."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_personal_data_registry
from tests.factories import create_person, log_in
from tests.sensing.helpers import STA, bearer, create_station, station, wind


async def test_owner_exports_and_erases_their_personal_things(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    owner = await create_person(session)
    await session.commit()
    meter = station(name="Home meter", access="personal")
    meter["properties"]["citoyen"]["owner"] = owner.id
    meter["MultiDatastreams"] = [wind(Observations=[{"phenomenonTime": "2026-11-25T07:00:00Z", "result": [1, 2]}])]
    created = await client.post(f"{STA}/Things", json=meter, headers=bearer(token))
    assert created.status_code == 201
    assert (await client.get(created.headers["Location"])).status_code == 404  # not to strangers
    await log_in(client, owner.email)
    thing = (await client.get(created.headers["Location"], params={"$expand": "Datastreams"})).json()
    await client.post(
        f"{thing['Datastreams'][0]['@iot.selfLink']}/Observations",
        json={"phenomenonTime": "2026-11-25T07:00:00Z", "result": 1.25},
        headers=bearer(token),
    )
    public = await create_station(client, token)

    provider = next(p for p in build_personal_data_registry().providers if p.domain == "sensing")
    exported = await provider.export(session, owner)
    assert [row["name"] for row in exported["sensing_things"]] == ["Home meter"]
    assert [row["name"] for row in exported["sensing_locations"]] == ["Home meter site"]
    assert len(exported["sensing_datastreams"]) == 2
    assert [row["name"] for row in exported["sensing_multi_datastreams"]] == ["Wind"]
    multi = exported["sensing_multi_datastreams"][0]["id"]
    assert sorted(exported["sensing_observations"], key=str) == sorted(
        [
            {
                "datastream_id": None,
                "multi_datastream_id": multi,
                "phenomenon_time": "2026-11-25T07:00:00Z",
                "result_time": None,
                "result": [1, 2],
            },
            {
                "datastream_id": thing["Datastreams"][0]["@iot.id"],
                "multi_datastream_id": None,
                "phenomenon_time": "2026-11-25T07:00:00Z",
                "result_time": None,
                "result": 1.25,
            },
        ],
        key=str,
    )

    await provider.erase(session, owner)
    await session.commit()
    assert (await provider.export(session, owner))["sensing_things"] == []
    remaining = (await client.get(f"{STA}/Observations", params={"$count": "true"})).json()["@iot.count"]
    assert remaining == 0
    assert (await client.get(f"{STA}/MultiDatastreams")).json()["value"] == []
    # Erased: not even its owner (still signed in) finds it.
    assert (await client.get(f"{STA}/MultiDatastreams({multi})")).status_code == 404
    locations = (await client.get(f"{STA}/Locations")).json()["value"]
    assert [location["name"] for location in locations] == ["Station Bastille site"]
    assert (await client.get(public["@iot.selfLink"])).status_code == 200
