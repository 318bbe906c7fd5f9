"""A Thing's access level, kind and owner are Citoyen's settings, kept beside its properties (instance annotations
`@citoyen.access`, `@citoyen.kind`, `@citoyen.owner`): `properties` holds only what the client wrote, and a PATCH
merges into it by JSON Merge Patch (RFC 7396)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_person
from tests.sensing.helpers import STA, bearer, station


async def test_settings_beside_properties_and_merge_patch(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    owner = await create_person(session)
    await session.commit()
    body = station()
    body["properties"] = {"operator": "Airparif", "mast": {"height": 3, "material": "steel"}}
    body["@citoyen.access"], body["@citoyen.kind"], body["@citoyen.owner"] = "personal", "energy", owner.id
    created = await client.post(f"{STA}/Things", json=body, headers=bearer(token))
    assert created.status_code == 201, created.text
    thing = created.json()
    assert thing["properties"] == body["properties"]
    assert (thing["@citoyen.access"], thing["@citoyen.kind"], thing["@citoyen.owner"]) == (
        "personal",
        "energy",
        owner.id,
    )
    link = thing["@iot.selfLink"]
    # Personal: anonymous readers do not see it.
    assert (await client.get(link)).status_code == 404

    patch = {"properties": {"mast": {"height": 4, "material": None}, "installed": "2026-12-01"}}
    merged = await client.patch(link, json=patch, headers=bearer(token))
    assert merged.status_code == 200, merged.text
    assert merged.json()["properties"] == {"operator": "Airparif", "mast": {"height": 4}, "installed": "2026-12-01"}
    assert merged.json()["@citoyen.access"] == "personal"  # a PATCH of properties leaves the settings alone

    opened = await client.patch(link, json={"@citoyen.access": "public", "@citoyen.owner": None}, headers=bearer(token))
    assert opened.status_code == 200, opened.text
    public = (await client.get(link)).json()
    assert public["@citoyen.access"] == "public" and "@citoyen.owner" not in public
    assert public["properties"]["operator"] == "Airparif"
    selected = (await client.get(link, params={"$select": "name"})).json()
    assert selected == {"name": "Station Bastille"}

    refused = await client.patch(link, json={"@citoyen.access": "secret"}, headers=bearer(token))
    assert refused.status_code == 400 and "@citoyen.access must be one of" in refused.json()["message"]


async def test_older_clients_settings_inside_properties_are_taken_out(client: httpx.AsyncClient, token: str) -> None:
    body = station(access="restricted")  # {"operator": ..., "citoyen": {"access": "restricted", "kind": "air"}}
    created = await client.post(f"{STA}/Things", json=body, headers=bearer(token))
    assert created.status_code == 201, created.text
    thing = created.json()
    assert thing["properties"] == {"operator": "Airparif"}
    assert (thing["@citoyen.access"], thing["@citoyen.kind"]) == ("restricted", "air")
    filtered = await client.get(f"{STA}/Things", params={"$filter": "properties/operator eq 'Airparif'"})
    assert [each["@iot.id"] for each in filtered.json()["value"]] == [thing["@iot.id"]]
