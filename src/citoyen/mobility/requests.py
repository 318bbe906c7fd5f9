"""Asking to share a trip, the owner's answer, withdrawing, and the messages the two exchange once the request
is accepted (and only then: no e-mail or phone is ever shown, so the platform carries them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.mobility.errors import CarpoolError
from citoyen.mobility.models import (
    MESSAGE_MAX,
    CarpoolMessage,
    CarpoolRequest,
    CarpoolTrip,
    RequestStatus,
    TripKind,
)
from citoyen.mobility.trips import get_trip, is_open
from citoyen.notifications import service as notifications
from citoyen.people import service as people
from citoyen.people.service import Person

OPEN_STATUSES = (RequestStatus.PENDING.value, RequestStatus.ACCEPTED.value)
UNKNOWN_REQUEST = N_("Unknown request.")
NOT_ACCEPTED = N_("You may write only about a request that was accepted, to the other person of that trip.")


@dataclass(frozen=True)
class Exchange:
    """A request seen by one of its two people: the trip, the request, whether the viewer owns the trip."""

    trip: CarpoolTrip
    request: CarpoolRequest
    viewer_owns_trip: bool

    @property
    def other_person_id(self) -> int:
        return self.request.person_id if self.viewer_owns_trip else self.trip.person_id


async def _tell(session: AsyncSession, person_id: int, msgid: str, request_id: int) -> None:
    """Tell the other person of a request, in the app and in their language, that it moved: without it a driver
    would learn of a neighbour's request only by coming back to the board."""
    french, english = notifications.in_both_languages(lambda gettext, _locale: gettext(msgid))
    for recipient in await people.active_recipients(session, [person_id]):
        await notifications.notify(
            session, recipient.id, french, link=f"/carpool/requests/{request_id}", title_en=english
        )


async def accepted_count(session: AsyncSession, trip_id: int) -> int:
    query = select(func.count()).where(
        CarpoolRequest.trip_id == trip_id, CarpoolRequest.status == RequestStatus.ACCEPTED.value
    )
    return int((await session.execute(query)).scalar_one())


async def _seat_left(session: AsyncSession, trip: CarpoolTrip) -> bool:
    """An offer has a seat left while fewer requests than its seats are accepted; a seeker's trip takes one ride."""
    limit = trip.seats if trip.kind == TripKind.OFFER.value else 1
    return await accepted_count(session, trip.id) < limit


async def ask(
    session: AsyncSession, person: Person, trip_id: int, from_trip_id: int | None = None, now: datetime | None = None
) -> CarpoolRequest:
    """A resident asks to share a trip on the board (once at a time per trip, never their own)."""
    trip = await get_trip(session, trip_id)
    if trip is None:
        raise CarpoolError(N_("Unknown trip."), Kind.NOT_FOUND)
    if not is_open(trip, now):
        raise CarpoolError(N_("This trip is no longer on the board."), Kind.CONFLICT)
    if trip.person_id == person.id:
        raise CarpoolError(N_("This is your own trip."), Kind.CONFLICT)
    if from_trip_id is not None:
        own = await get_trip(session, from_trip_id)
        if own is None or own.person_id != person.id:
            raise CarpoolError(N_("Unknown trip."), Kind.INVALID, "from_trip")
    already = await session.execute(
        select(CarpoolRequest.id).where(
            CarpoolRequest.trip_id == trip.id,
            CarpoolRequest.person_id == person.id,
            CarpoolRequest.status.in_(OPEN_STATUSES),
        )
    )
    if already.first() is not None:
        raise CarpoolError(N_("You have already asked to share this trip."), Kind.CONFLICT)
    if not await _seat_left(session, trip):
        raise CarpoolError(N_("This trip has no seat left."), Kind.CONFLICT)
    request = CarpoolRequest(
        trip_id=trip.id, person_id=person.id, from_trip_id=from_trip_id, created_at=now or utcnow()
    )
    session.add(request)
    await session.flush()
    await _tell(session, trip.person_id, N_("A neighbour asks to share your trip"), request.id)
    return request


async def exchange(session: AsyncSession, person: Person, request_id: int) -> Exchange:
    """A request as one of its two people sees it; anyone else is told it does not exist."""
    request = await session.get(CarpoolRequest, request_id)
    trip = await get_trip(session, request.trip_id) if request is not None else None
    if request is None or trip is None or person.id not in (request.person_id, trip.person_id):
        raise CarpoolError(UNKNOWN_REQUEST, Kind.NOT_FOUND)
    return Exchange(trip, request, trip.person_id == person.id)


async def answer(session: AsyncSession, person: Person, request_id: int, accept: bool) -> CarpoolRequest:
    """The trip's owner accepts a pending request (while a seat is left) or declines it (also once accepted)."""
    seen = await exchange(session, person, request_id)
    if not seen.viewer_owns_trip:
        raise CarpoolError(N_("Only the person who posted the trip may answer a request."), Kind.FORBIDDEN)
    request = seen.request
    if accept:
        if request.status != RequestStatus.PENDING.value:
            raise CarpoolError(N_("This request is no longer waiting for an answer."), Kind.CONFLICT)
        if not is_open(seen.trip):
            raise CarpoolError(N_("This trip is no longer on the board."), Kind.CONFLICT)
        if not await _seat_left(session, seen.trip):
            raise CarpoolError(N_("This trip has no seat left."), Kind.CONFLICT)
        request.status = RequestStatus.ACCEPTED.value
    else:
        if request.status not in OPEN_STATUSES:
            raise CarpoolError(N_("This request is already closed."), Kind.CONFLICT)
        request.status = RequestStatus.DECLINED.value
    request.answered_at = utcnow()
    await session.flush()
    accepted = request.status == RequestStatus.ACCEPTED.value
    told = N_("Your carpool request was accepted") if accepted else N_("Your carpool request was declined")
    await _tell(session, request.person_id, told, request.id)
    return request


async def withdraw(session: AsyncSession, person: Person, request_id: int) -> CarpoolRequest:
    """Either side steps back: the asker withdraws the request, the owner declines it."""
    seen = await exchange(session, person, request_id)
    if seen.viewer_owns_trip:
        return await answer(session, person, request_id, accept=False)
    if seen.request.status not in OPEN_STATUSES:
        raise CarpoolError(N_("This request is already closed."), Kind.CONFLICT)
    seen.request.status = RequestStatus.WITHDRAWN.value
    await session.flush()
    await _tell(session, seen.trip.person_id, N_("A neighbour withdrew their request to share your trip"), request_id)
    return seen.request


async def write(session: AsyncSession, person: Person, request_id: int, body: str) -> CarpoolMessage:
    """A message from one person of an accepted request to the other; 403 for anyone else or any other state."""
    request = await session.get(CarpoolRequest, request_id)
    trip = await get_trip(session, request.trip_id) if request is not None else None
    if request is None or trip is None:
        raise CarpoolError(UNKNOWN_REQUEST, Kind.NOT_FOUND)
    if person.id not in (request.person_id, trip.person_id) or request.status != RequestStatus.ACCEPTED.value:
        raise CarpoolError(NOT_ACCEPTED, Kind.FORBIDDEN)
    text = body.strip()
    if not text:
        raise CarpoolError(N_("Write a message first."), Kind.INVALID, "body")
    if len(text) > MESSAGE_MAX:
        raise CarpoolError(
            N_("A message may be at most %(count)d characters long."), Kind.INVALID, "body", count=MESSAGE_MAX
        )
    message = CarpoolMessage(request_id=request.id, author_id=person.id, body=text)
    session.add(message)
    await session.flush()
    other = trip.person_id if person.id == request.person_id else request.person_id
    await _tell(session, other, N_("A new message about your carpool"), request.id)
    return message


async def messages_of(session: AsyncSession, request_id: int) -> list[CarpoolMessage]:
    query = select(CarpoolMessage).where(CarpoolMessage.request_id == request_id).order_by(CarpoolMessage.id)
    return list((await session.execute(query)).scalars())


async def requests_for_trip(session: AsyncSession, trip_id: int) -> list[CarpoolRequest]:
    query = select(CarpoolRequest).where(CarpoolRequest.trip_id == trip_id).order_by(CarpoolRequest.id)
    return list((await session.execute(query)).scalars())


async def requests_sent(session: AsyncSession, person_id: int) -> list[CarpoolRequest]:
    query = (
        select(CarpoolRequest)
        .where(CarpoolRequest.person_id == person_id)
        .order_by(CarpoolRequest.id.desc())
        .limit(100)
    )
    return list((await session.execute(query)).scalars())
