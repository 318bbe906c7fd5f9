"""The carpool JSON API as a carpool app uses it: a search answers cells and quartiers (never a point, never who
posted), ranked as matches; a resident's own `carpool` token posts and withdraws their trips; refusals are the
platform's JSON errors and store nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.mobility import cells
from citoyen.mobility.models import CarpoolTrip
from citoyen.people import service as people
from tests.factories import create_person
from tests.mobility.helpers import HOME, WORK, post
from tests.territory.helpers import create_territory

NEAR_HOME = (2.3060, 48.8540)
NEAR_WORK = (2.3140, 48.8590)


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "offer",
        "departureLat": HOME[1],
        "departureLng": HOME[0],
        "arrivalLat": WORK[1],
        "arrivalLng": WORK[0],
        "departureWeekdays": ["MON", "TUE", "WED", "THU", "FRI"],
        "departureWindowStart": "07:30",
        "departureWindowEnd": "08:15",
        "seats": 3,
    }
    body.update(changes)
    return body


async def _trips(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(CarpoolTrip))).scalar_one())


async def test_search_answers_cells_ranked_never_a_point_or_a_person(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_territory(session)
    rider, driver, other = [await create_person(session) for _ in range(3)]
    near = await post(session, driver, "offer", NEAR_HOME, NEAR_WORK, window=(7 * 60 + 40, 8 * 60 + 30), seats=3)
    exact = await post(session, other, "offer", HOME, WORK, window=(7 * 60 + 30, 8 * 60))
    weekend = await post(session, other, "offer", weekdays=frozenset({5, 6}))
    seeker = await post(session, rider, "seek")
    await session.commit()
    params: dict[str, str | float] = {
        "departureLat": HOME[1],
        "departureLng": HOME[0],
        "arrivalCell": cells.cell_of(*WORK),
        "kind": "offer",
        "departureWeekdays": "MON,FRI",
        "departureTimeOfDay": "07:35",
    }
    found = await client.get("/api/carpool/trips", params=params)
    assert found.status_code == 200
    body = found.json()
    assert body["timeZone"] == "Europe/Paris"
    assert [trip["id"] for trip in body["trips"]] == [exact.id, near.id]
    first, second = body["trips"]
    assert first["departureCell"] == cells.cell_of(*HOME) and first["departureToPickupWalkingDistance"] == 0
    assert 0 < second["departureToPickupWalkingDistance"] <= 800 and second["departureTimeGap"] == 5 * 60
    assert second["availableSeats"] == 3 and second["requestedSeats"] is None
    assert second["departureWeekdays"] == ["MON", "TUE", "WED", "THU", "FRI"]
    assert second["webUrl"].endswith(f"/carpool/trips/{near.id}")
    text = found.text
    assert str(HOME[0]) not in text and "person" not in text and driver.email not in text
    # The weekend offer is found on Saturday only; without places, the newest first.
    saturday = await client.get("/api/carpool/trips", params={"departureWeekdays": "SAT", "kind": "offer"})
    assert [trip["id"] for trip in saturday.json()["trips"]] == [weekend.id]
    newest = await client.get("/api/carpool/trips", params={"count": 2})
    assert [trip["id"] for trip in newest.json()["trips"]] == [seeker.id, weekend.id]
    bad = await client.get("/api/carpool/trips", params={"departureWeekdays": "MONDAY"})
    assert bad.status_code == 400 and "MON, TUE" in bad.json()["error"]["message"]
    both = await client.get("/api/carpool/trips", params={"departureQuartier": 1, "departureCell": "x" * 15})
    assert both.status_code == 400 and both.json()["error"]["status"] == 400


async def test_a_residents_token_posts_and_withdraws_their_own_trips_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_territory(session)
    resident, neighbour = await create_person(session), await create_person(session)
    _token, secret = await people.create_api_token(session, "mon appli", ["carpool"], resident)
    _sensor, sensor_secret = await people.create_api_token(session, "capteur", ["sensing:write"])
    theirs = await post(session, neighbour, "offer")
    await session.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    # No token, an unknown one, one without the scope: refused, nothing stored.
    assert (await client.post("/api/carpool/trips", json=_body())).status_code == 401
    unknown = await client.post("/api/carpool/trips", json=_body(), headers={"Authorization": "Bearer cit_nope"})
    assert unknown.status_code == 401 and unknown.json()["error"]["status"] == 401
    scope = await client.post("/api/carpool/trips", json=_body(), headers={"Authorization": f"Bearer {sensor_secret}"})
    assert scope.status_code == 403
    # The board's rules: a start outside the city, seats out of range, a past date; a malformed body.
    outside = await client.post("/api/carpool/trips", json=_body(departureLat=48.9, departureLng=2.4), headers=auth)
    assert outside.status_code == 400 and outside.json()["error"]["message"] == "The trip must start inside the city."
    assert (await client.post("/api/carpool/trips", json=_body(seats=9), headers=auth)).status_code == 400
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    past = _body(departureWeekdays=[], departureDate=yesterday)
    assert (await client.post("/api/carpool/trips", json=past, headers=auth)).status_code == 400
    extra = await client.post("/api/carpool/trips", json=_body(email="a@b.c"), headers=auth)
    assert extra.status_code == 400 and extra.json()["error"]["problems"]
    assert await _trips(session) == 1
    # Posted for the token's resident, found on the board and in their own list.
    posted = await client.post("/api/carpool/trips", json=_body(), headers=auth)
    assert posted.status_code == 201
    trip = posted.json()
    assert trip["status"] == "active" and trip["departureCell"] == cells.cell_of(*HOME)
    assert posted.headers["location"].endswith(f"/api/carpool/trips/{trip['id']}")
    stored = await session.get(CarpoolTrip, trip["id"])
    assert stored is not None and stored.person_id == resident.id
    mine = await client.get("/api/carpool/me/trips", headers=auth)
    assert [row["id"] for row in mine.json()["trips"]] == [trip["id"]]
    # Someone else's trip cannot be withdrawn; one's own can, once.
    assert (await client.delete(f"/api/carpool/trips/{theirs.id}", headers=auth)).status_code == 403
    withdrawn = await client.delete(f"/api/carpool/trips/{trip['id']}", headers=auth)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["departureCell"] is None
    assert (await client.delete(f"/api/carpool/trips/{trip['id']}", headers=auth)).status_code == 409
    assert (await client.get(f"/api/carpool/trips/{trip['id']}")).status_code == 404


async def test_the_map_picker_snaps_a_point_to_its_cell(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await create_territory(session)
    await session.commit()
    inside = (await client.get("/api/carpool/cells", params={"lat": HOME[1], "lng": HOME[0]})).json()
    assert inside["cell"] == cells.cell_of(*HOME) and inside["quartier"]["name"] == "Ouest"
    assert list(cells.centre(inside["cell"])) == pytest.approx(inside["centre"], abs=1e-6)
    ring = inside["geometry"]["coordinates"][0]
    assert len(ring) == 7 and ring[0] == ring[-1]
    outside = (await client.get("/api/carpool/cells", params={"lat": 48.9, "lng": 2.4})).json()
    assert outside["quartier"] is None
    assert (await client.get("/api/carpool/cells", params={"lat": 91, "lng": 2.4})).status_code == 400
