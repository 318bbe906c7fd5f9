"""The carpool pages, as two neighbours use them without JavaScript: a refused trip shown back with its reason
(French), a posted trip and its match, asking, accepting, writing (English), and the 403 for anyone else."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.mobility.helpers import HOME, WORK, post
from tests.territory.helpers import create_territory

REQUEST_URL = re.compile(r"/carpool/requests/(\d+)$")


def _form(token: str, **changes: str) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": token,
        "kind": "seek",
        "seats": "1",
        "from_lon": str(HOME[0]),
        "from_lat": str(HOME[1]),
        "to_lon": str(WORK[0]),
        "to_lat": str(WORK[1]),
        "schedule": "regular",
        "days": ["0", "1", "2", "3", "4"],
        "start": "07:30",
        "end": "08:15",
    }
    form.update(changes)
    return form


async def test_a_resident_posts_finds_asks_and_writes_once_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_territory(session)
    rider, driver, stranger = [await create_person(session) for _ in range(3)]
    offer = await post(session, driver, "offer", seats=2)
    await session.commit()
    await log_in(client, rider.email)
    token = await csrf_token(client, "/carpool/new")
    # Refused, shown back as typed with the reason, in French; nothing stored.
    outside = await client.post(
        "/carpool/trips", data=_form(token, from_lon="2.40", from_lat="48.90"), headers={"Accept-Language": "fr"}
    )
    assert outside.status_code == 400 and "Le trajet doit partir de la ville." in outside.text
    assert 'value="2.40"' in outside.text
    seats = await client.post("/carpool/trips", data=_form(token, seats="9"), headers={"Accept-Language": "fr"})
    assert seats.status_code == 400 and "entre 1 et 8" in seats.text
    board = await client.get("/carpool", headers={"Accept-Language": "fr"})
    assert "encore publié aucun trajet." in board.text
    unknown = await client.post(
        "/carpool/trips",
        data=_form(token, from_lon="", from_lat="", from_address="Rue qui n'existe pas"),
        headers={"Accept-Language": "en"},
    )
    assert unknown.status_code == 400 and "This address was not found" in unknown.text
    # Posted: the trip's page lists the driver's offer, never an address or an e-mail.
    posted = await client.post("/carpool/trips", data=_form(token), headers={"Accept-Language": "en"})
    assert posted.status_code == 303
    mine = await client.get(posted.headers["location"], headers={"Accept-Language": "en"})
    assert "Neighbours going the same way" in mine.text and f"/carpool/trips/{offer.id}" in mine.text
    assert driver.email not in mine.text and str(HOME[0]) not in mine.text
    asked = await client.post(
        f"/carpool/trips/{offer.id}/requests",
        data={"csrf_token": token, "from_trip": posted.headers["location"].rsplit("/", 1)[1]},
    )
    found = REQUEST_URL.search(asked.headers["location"])
    assert asked.status_code == 303 and found
    url = found[0]
    early = await client.post(f"{url}/messages", data={"csrf_token": token, "body": "Bonjour"})
    assert early.status_code == 403
    # The driver accepts; then the two write to each other, and no one else may.
    await log_in(client, driver.email)
    token = await csrf_token(client, url)
    accepted = await client.post(f"{url}/accept", data={"csrf_token": token})
    assert accepted.status_code == 303
    wrote = await client.post(f"{url}/messages", data={"csrf_token": token, "body": "Rendez-vous au kiosque."})
    assert wrote.status_code == 303
    page = await client.get(url, headers={"Accept-Language": "en"})
    assert "Rendez-vous au kiosque." in page.text and "accepted" in page.text
    assert rider.email not in page.text
    empty = await client.post(
        f"{url}/messages", data={"csrf_token": token, "body": "   "}, headers={"Accept-Language": "en"}
    )
    assert empty.status_code == 400 and "Write a message first." in empty.text
    await log_in(client, stranger.email)
    token = await csrf_token(client, "/carpool")
    intruder = await client.post(f"{url}/messages", data={"csrf_token": token, "body": "Moi aussi"})
    assert intruder.status_code == 403
    assert (await client.get(url)).status_code == 404


async def test_the_flows_page_shows_the_carpool_arcs_in_both_languages(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_territory(session)
    rider = await create_person(session)
    for _ in range(10):
        await post(session, rider)
    await session.commit()
    french = await client.get("/mobility", headers={"Accept-Language": "fr"})
    assert french.status_code == 200 and "Trajets de covoiturage entre quartiers" in french.text
    assert "<td>Ouest</td><td>Est</td>" in french.text
    english = await client.get("/mobility", headers={"Accept-Language": "en"})
    assert "Carpool trips between quartiers" in english.text and "No counter sends its counts yet." in english.text
    assert (await client.get("/mobility/counters/999999")).status_code == 404


async def test_a_resident_creates_uses_and_revokes_their_own_carpool_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_territory(session)
    resident, other = await create_person(session), await create_person(session)
    await session.commit()
    await log_in(client, other.email)
    token = await csrf_token(client, "/carpool/tokens")
    await client.post("/carpool/tokens", data={"csrf_token": token, "name": "autre appli"})
    await log_in(client, resident.email)
    token = await csrf_token(client, "/carpool/tokens")
    empty = await client.post("/carpool/tokens", data={"csrf_token": token, "name": " "})
    assert empty.status_code == 400
    created = await client.post(
        "/carpool/tokens", data={"csrf_token": token, "name": "mon appli"}, headers={"Accept-Language": "fr"}
    )
    assert created.status_code == 201 and "Copiez-le maintenant" in created.text
    found = re.search(r'id="new-token">(cit_[^<]+)<', created.text)
    assert found and "autre appli" not in created.text
    auth = {"Authorization": f"Bearer {found[1]}"}
    assert (await client.get("/api/carpool/me/trips", headers=auth)).status_code == 200
    others = await people.tokens_created_by(session, other.id, "carpool")
    refused = await client.post(f"/carpool/tokens/{others[0].id}/revoke", data={"csrf_token": token})
    assert refused.status_code == 404
    (mine,) = await people.tokens_created_by(session, resident.id, "carpool")
    revoked = await client.post(f"/carpool/tokens/{mine.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert (await client.get("/api/carpool/me/trips", headers=auth)).status_code == 401
