"""The demo's carpool board: simulated trips of generated residents (marked `simulated`, which every page that
shows them says), most between a few pairs of quartiers so that the flows between them pass the publication
threshold, and one offer of the demo citizen account (Camille, from Folie-Méricourt to Europe on weekday
mornings) that a newcomer can ask to share. Written in bulk: a few hundred rows, well under a second."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import shapely
from shapely.geometry import Point, shape
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.demo.common import DEMO_ACCOUNTS
from citoyen.mobility import cells
from citoyen.mobility.models import CarpoolTrip
from citoyen.people.models import Person, Role
from citoyen.territory import service as territory

# Residential quartiers to where people work, both ways in the evening.
COMMUTES = (
    ("Folie-Méricourt", "Europe"),
    ("Belleville", "Champs-Elysées"),
    ("Charonne", "Gare"),
    ("Saint-Fargeau", "Bercy"),
    ("Grandes-Carrières", "Europe"),
    ("Grenelle", "Montparnasse"),
    ("Plaisance", "Gare"),
    ("Picpus", "Halles"),
)
CAMILLE_TRIP = ("Folie-Méricourt", "Europe", 7 * 60 + 30, 8 * 60 + 30, 3)
WEEKDAYS_MASK = 31  # Monday to Friday
REGULAR_LIFETIME = timedelta(days=90)


def _point_in(geometry: Any, rng: random.Random) -> tuple[float, float]:
    """A random point inside a quartier (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = geometry.bounds
    for _ in range(100):
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geometry.contains(Point(lon, lat)):
            return lon, lat
    point = geometry.representative_point()
    return point.x, point.y


async def build_demo_mobility(session: AsyncSession, now: datetime, rng: random.Random, residents: int) -> int:
    """Simulated trips on the carpool board (about one per two residents, at most 600); returns how many."""
    quartiers = await territory.list_neighbourhoods(session)
    by_name = {quartier.name: quartier for quartier in quartiers}
    geometries = {quartier.id: shape(quartier.geometry) for quartier in quartiers}
    for geometry in geometries.values():
        shapely.prepare(geometry)
    people = list(
        (await session.execute(select(Person.id).where(Person.password_hash.is_(None)).order_by(Person.id))).scalars()
    )
    camille_email = next(account.email for account in DEMO_ACCOUNTS if account.role is Role.CITIZEN)
    camille = (await session.execute(select(Person.id).where(Person.email == camille_email))).scalar_one()
    rows: list[dict[str, Any]] = []

    def add(person_id: int, kind: str, start: Any, end: Any, window: tuple[int, int], seats: int, days: int) -> None:
        # Camille's trip starts and ends at her quartiers' own points, which a newcomer choosing them gets too.
        exact = person_id == camille
        from_lon, from_lat = (start.centroid_lon, start.centroid_lat) if exact else _point_in(geometries[start.id], rng)
        to_lon, to_lat = (end.centroid_lon, end.centroid_lat) if exact else _point_in(geometries[end.id], rng)
        created_at = now - timedelta(days=rng.randrange(0, 30), minutes=rng.randrange(1440))
        rows.append(
            {
                "person_id": person_id,
                "kind": kind,
                "status": "active",
                "from_cell": cells.cell_of(from_lon, from_lat),
                "to_cell": cells.cell_of(to_lon, to_lat),
                "from_neighbourhood_id": start.id,
                "to_neighbourhood_id": end.id,
                "days": days,
                "on_date": None,
                "window_start": window[0],
                "window_end": window[1],
                "seats": seats,
                "simulated": True,
                "created_at": created_at,
                "expires_at": created_at + REGULAR_LIFETIME,
            }
        )

    origin, destination, start_minute, end_minute, seats = CAMILLE_TRIP
    add(camille, "offer", by_name[origin], by_name[destination], (start_minute, end_minute), seats, WEEKDAYS_MASK)
    if not people:
        await session.execute(insert(CarpoolTrip), rows)
        return len(rows)
    pairs = [(by_name[a], by_name[b]) for a, b in COMMUTES if a in by_name and b in by_name]
    for _ in range(min(600, max(20, residents // 2))):
        if rng.random() < 0.8 and pairs:
            start, end = rng.choice(pairs)
        else:
            start, end = rng.sample(quartiers, 2)
        evening = rng.random() < 0.35
        if evening:
            start, end = end, start
        leave = (17 * 60 if evening else 7 * 60) + 15 * rng.randrange(0, 9)
        days = WEEKDAYS_MASK if rng.random() < 0.7 else rng.randrange(1, 128)
        kind = "offer" if rng.random() < 0.45 else "seek"
        seats = rng.randrange(1, 4) if kind == "offer" else 1
        add(rng.choice(people), kind, start, end, (leave, leave + 15 * rng.randrange(2, 5)), seats, days)
    await session.execute(insert(CarpoolTrip), rows)
    return len(rows)
