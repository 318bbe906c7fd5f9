"""A resident's carpool data: their trips, the requests they made or received, the messages of their exchanges.
Erasure deletes all of it (a trip, a request and a message are about the person, never about public space), and
the other person's exchange with them goes too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.mobility.models import TOKEN_SCOPE, CarpoolMessage, CarpoolRequest, CarpoolTrip
from citoyen.people import service as people
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person


def _moment(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _trip_ids(session: AsyncSession, person: Person) -> list[int]:
    rows = await session.execute(select(CarpoolTrip.id).where(CarpoolTrip.person_id == person.id))
    return [int(row) for row in rows.scalars()]


async def _exchange_ids(session: AsyncSession, person: Person, trip_ids: list[int]) -> list[int]:
    """The requests the person made, and those made on their trips."""
    condition = CarpoolRequest.person_id == person.id
    if trip_ids:
        condition = or_(condition, CarpoolRequest.trip_id.in_(trip_ids))
    return [int(row) for row in (await session.execute(select(CarpoolRequest.id).where(condition))).scalars()]


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    trips = list(
        (
            await session.execute(
                select(CarpoolTrip).where(CarpoolTrip.person_id == person.id).order_by(CarpoolTrip.id)
            )
        ).scalars()
    )
    trip_rows = [
        {
            "trip_id": trip.id,
            "kind": trip.kind,
            "status": trip.status,
            "from_h3_cell": trip.from_cell,
            "to_h3_cell": trip.to_cell,
            "from_neighbourhood_id": trip.from_neighbourhood_id,
            "to_neighbourhood_id": trip.to_neighbourhood_id,
            "days_mask": trip.days,
            "date": trip.on_date.isoformat() if trip.on_date else None,
            "window_start_minutes": trip.window_start,
            "window_end_minutes": trip.window_end,
            "seats": trip.seats,
            "created_at": _moment(trip.created_at),
            "expires_at": _moment(trip.expires_at),
        }
        for trip in trips
    ]
    trip_ids = [trip.id for trip in trips]
    exchange_ids = await _exchange_ids(session, person, trip_ids)
    requests = []
    messages = []
    if exchange_ids:
        found = await session.execute(
            select(CarpoolRequest).where(CarpoolRequest.id.in_(exchange_ids)).order_by(CarpoolRequest.id)
        )
        requests = [
            {
                "request_id": request.id,
                "trip_id": request.trip_id,
                "made_by_you": request.person_id == person.id,
                "status": request.status,
                "created_at": _moment(request.created_at),
                "answered_at": _moment(request.answered_at),
            }
            for request in found.scalars()
        ]
        written = await session.execute(
            select(CarpoolMessage).where(CarpoolMessage.request_id.in_(exchange_ids)).order_by(CarpoolMessage.id)
        )
        messages = [
            {
                "request_id": message.request_id,
                "written_by_you": message.author_id == person.id,
                "text": message.body,
                "at": _moment(message.created_at),
            }
            for message in written.scalars()
        ]
    tokens = [
        {
            "name": token.name,
            "starts_with": token.prefix,
            "created_at": _moment(token.created_at),
            "last_used_at": _moment(token.last_used_at),
            "revoked_at": _moment(token.revoked_at),
        }
        for token in await people.tokens_created_by(session, person.id, TOKEN_SCOPE)
    ]
    return {
        "carpool_trips": trip_rows,
        "carpool_requests": requests,
        "carpool_messages": messages,
        "carpool_api_tokens": tokens,
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    await people.delete_tokens_created_by(session, person.id, TOKEN_SCOPE)
    trip_ids = await _trip_ids(session, person)
    exchange_ids = await _exchange_ids(session, person, trip_ids)
    if exchange_ids:
        await session.execute(delete(CarpoolMessage).where(CarpoolMessage.request_id.in_(exchange_ids)))
        await session.execute(
            delete(CarpoolRequest)
            .where(CarpoolRequest.id.in_(exchange_ids))
            .execution_options(synchronize_session=False)
        )
    await session.execute(delete(CarpoolMessage).where(CarpoolMessage.author_id == person.id))
    # Requests made from one of the person's trips keep existing without naming it.
    await session.execute(
        delete(CarpoolTrip).where(CarpoolTrip.person_id == person.id).execution_options(synchronize_session=False)
    )


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="mobility",
            description=N_(
                "your carpool trips (their H3 cells and neighbourhoods), requests, messages and carpool API tokens"
            ),
            export=_export,
            erase=_erase,
        )
    )
