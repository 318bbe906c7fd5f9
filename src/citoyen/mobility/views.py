"""The carpool pages' typed views: what each page shows, built by one call (places as neighbourhood names only,
people by their public display name only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.mobility import service as mobility
from citoyen.mobility.models import CarpoolMessage, CarpoolRequest, CarpoolTrip
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.territory import service as territory

DAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))


def clock(minutes: int) -> str:
    """Minutes after midnight as the 24-hour clock both languages read (07:30)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class TripCard:
    """A trip as anyone may see it: neighbourhoods, schedule, seats; never a point, never its owner's contact."""

    id: int
    kind: str
    status: str
    open: bool
    from_name: str
    to_name: str  # "" when it ends outside the city
    weekdays: list[int]
    on_date: date | None
    window: str
    seats: int
    simulated: bool

    @classmethod
    def of(cls, trip: CarpoolTrip, names: dict[int, str]) -> TripCard:
        return cls(
            trip.id,
            trip.kind,
            trip.status,
            mobility.is_open(trip),
            names.get(trip.from_neighbourhood_id or 0, ""),
            names.get(trip.to_neighbourhood_id or 0, ""),
            mobility.weekdays_of(trip.days),
            trip.on_date,
            f"{clock(trip.window_start)}–{clock(trip.window_end)}",
            trip.seats,
            trip.simulated,
        )


@dataclass(frozen=True)
class MatchCard:
    trip: TripCard
    walk_start_m: int
    walk_end_m: int
    gap_minutes: int
    asked: bool  # the viewer has already asked to share it
    owner_name: str  # the public display name of who posted it


@dataclass(frozen=True)
class RequestLine:
    id: int
    trip: TripCard
    other_name: str
    status: str


@dataclass(frozen=True)
class BoardView:
    offers: int
    seekers: int
    simulated: bool
    newest: list[TripCard]
    mine: list[TripCard]
    sent: list[RequestLine]


@dataclass(frozen=True)
class TripView:
    trip: TripCard
    owned: bool
    matches: list[MatchCard]
    received: list[RequestLine]
    may_ask: bool
    my_request_id: int | None


@dataclass(frozen=True)
class MessageLine:
    mine: bool
    author: str
    body: str
    at: object


@dataclass(frozen=True)
class ExchangeView:
    id: int
    trip: TripCard
    owns_trip: bool
    other_name: str
    status: str
    messages: list[MessageLine]


async def _names(session: AsyncSession, cache: territory.TerritoryIndexCache) -> dict[int, str]:
    return await territory.neighbourhood_names(session, cache)


async def board_view(session: AsyncSession, cache: territory.TerritoryIndexCache, person: Person | None) -> BoardView:
    names = await _names(session, cache)
    summary = await mobility.board_summary(session)
    mine: list[TripCard] = []
    sent: list[RequestLine] = []
    if person is not None:
        mine = [TripCard.of(trip, names) for trip in await mobility.trips_of(session, person.id)]
        sent = await _request_lines(session, names, await mobility.requests_sent(session, person.id), by_owner=True)
    return BoardView(
        summary.offers,
        summary.seekers,
        summary.simulated,
        [TripCard.of(trip, names) for trip in summary.newest],
        mine,
        sent,
    )


async def _request_lines(
    session: AsyncSession, names: dict[int, str], requests: list[CarpoolRequest], by_owner: bool
) -> list[RequestLine]:
    """Requests with their trip and the other person's name (the trip's owner, or the asker)."""
    trips = {request.trip_id: await mobility.get_trip(session, request.trip_id) for request in requests}
    others = [
        (trips[request.trip_id].person_id if by_owner else request.person_id)  # type: ignore[union-attr]
        for request in requests
    ]
    display = await people.display_names(session, others)
    lines = []
    for request, other in zip(requests, others, strict=True):
        trip = trips[request.trip_id]
        if trip is not None:
            lines.append(RequestLine(request.id, TripCard.of(trip, names), display.get(other, ""), request.status))
    return lines


async def trip_view(
    session: AsyncSession, cache: territory.TerritoryIndexCache, person: Person | None, trip_id: int
) -> TripView:
    """A trip as its owner sees it (its matches and the requests it received) or as a neighbour sees it (while it
    is on the board)."""
    trip = await mobility.get_trip(session, trip_id)
    owned = trip is not None and person is not None and trip.person_id == person.id
    if trip is None or not (owned or mobility.is_open(trip)):
        raise mobility.CarpoolError(N_("Unknown trip."), Kind.NOT_FOUND)
    names = await _names(session, cache)
    matches: list[MatchCard] = []
    received: list[RequestLine] = []
    my_request_id = None
    if owned:
        asked = {request.trip_id for request in await mobility.requests_sent(session, trip.person_id)}
        found = await mobility.find_matches(session, trip, utcnow())
        owners = await people.display_names(session, [match.trip.person_id for match in found])
        matches = [
            MatchCard(
                TripCard.of(match.trip, names),
                round(match.walk_start_m),
                round(match.walk_end_m),
                match.gap_minutes,
                match.trip.id in asked,
                owners.get(match.trip.person_id, ""),
            )
            for match in found
        ]
        received = await _request_lines(
            session, names, await mobility.requests_for_trip(session, trip.id), by_owner=False
        )
    elif person is not None:
        for request in await mobility.requests_sent(session, person.id):
            if request.trip_id == trip.id and request.status in ("pending", "accepted"):
                my_request_id = request.id
    may_ask = person is not None and not owned and mobility.is_open(trip) and my_request_id is None
    return TripView(TripCard.of(trip, names), owned, matches, received, may_ask, my_request_id)


async def exchange_view(
    session: AsyncSession, cache: territory.TerritoryIndexCache, person: Person, request_id: int
) -> ExchangeView:
    seen = await mobility.exchange(session, person, request_id)
    names = await _names(session, cache)
    display = await people.display_names(session, [seen.other_person_id, person.id])
    messages: list[CarpoolMessage] = await mobility.messages_of(session, request_id)
    return ExchangeView(
        seen.request.id,
        TripCard.of(seen.trip, names),
        seen.viewer_owns_trip,
        display.get(seen.other_person_id, ""),
        seen.request.status,
        [
            MessageLine(
                message.author_id == person.id, display.get(message.author_id, ""), message.body, message.created_at
            )
            for message in messages
        ],
    )
