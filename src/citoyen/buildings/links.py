"""A resident links themselves to their building: they ask, the buildings department's staff confirm (or
decline: the request is deleted). A confirmed resident sees their building's own figures (see
`citoyen.indicators.building_views`). Links are personal data: exported and erased with the person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings.models import Building, BuildingLink, LinkStatus
from citoyen.buildings.registry import BuildingError, get_building
from citoyen.db import utcnow
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.people import service as people
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person, Role

# The department whose staff confirm residents' links (the demo's "Énergie et bâtiments"); administrators too.
BUILDINGS_DEPARTMENT = "energie"


@dataclass(frozen=True)
class PendingLink:
    id: int
    building_id: int
    building_name: str
    person_name: str
    requested_at: datetime


async def link_of(session: AsyncSession, building_id: int, person_id: int) -> BuildingLink | None:
    query = select(BuildingLink).where(BuildingLink.building_id == building_id, BuildingLink.person_id == person_id)
    return (await session.execute(query)).scalar_one_or_none()


async def is_resident(session: AsyncSession, building_id: int, person_id: int) -> bool:
    """Whether the person is a confirmed resident of the building."""
    link = await link_of(session, building_id, person_id)
    return link is not None and link.status == LinkStatus.CONFIRMED.value


async def buildings_of(session: AsyncSession, person_id: int) -> list[tuple[Building, str]]:
    """The buildings a person asked to be linked to, with the link's status."""
    query = (
        select(Building, BuildingLink.status)
        .join(BuildingLink, BuildingLink.building_id == Building.thing_id)
        .where(BuildingLink.person_id == person_id)
        .order_by(Building.name)
    )
    return [(building, str(status)) for building, status in (await session.execute(query)).all()]


async def request_link(session: AsyncSession, building_id: int, person: Person) -> BuildingLink:
    """The person says they live in the building; 409 if they already asked (or are linked)."""
    await get_building(session, building_id)
    if await link_of(session, building_id, person.id) is not None:
        raise BuildingError(N_("You have already asked to be linked to this building."), Kind.CONFLICT, "building")
    link = BuildingLink(building_id=building_id, person_id=person.id, status=LinkStatus.REQUESTED.value)
    session.add(link)
    await session.flush()
    return link


async def remove_link(session: AsyncSession, building_id: int, person: Person) -> None:
    """The person withdraws their request or their link; 404 if there is none."""
    link = await link_of(session, building_id, person.id)
    if link is None:
        raise BuildingError(N_("You are not linked to this building."), Kind.NOT_FOUND, "building")
    await session.delete(link)
    await session.flush()


async def may_decide(session: AsyncSession, person: Person) -> bool:
    """Administrators and the staff of the buildings department confirm residents' links."""
    if person.role is Role.ADMIN:
        return True
    if person.role is not Role.STAFF or person.department_id is None:
        return False
    codes = {department.id: department.code for department in await people.list_departments(session)}
    return codes.get(person.department_id) == BUILDINGS_DEPARTMENT


async def _check_decider(session: AsyncSession, person: Person) -> None:
    if not await may_decide(session, person):
        raise BuildingError(N_("Only the buildings department's staff confirm residents."), Kind.FORBIDDEN, "building")


async def pending_links(session: AsyncSession, staff: Person) -> list[PendingLink]:
    """The requests waiting for a decision, oldest first (staff reading them is logged per person)."""
    await _check_decider(session, staff)
    query = (
        select(BuildingLink, Building.name)
        .join(Building, Building.thing_id == BuildingLink.building_id)
        .where(BuildingLink.status == LinkStatus.REQUESTED.value)
        .order_by(BuildingLink.requested_at, BuildingLink.id)
    )
    rows = (await session.execute(query)).all()
    names = await people.display_names(session, {link.person_id for link, _ in rows})
    pending = []
    for link, building_name in rows:
        await people.log_access(session, staff, link.person_id, "buildings: link request read")
        pending.append(
            PendingLink(link.id, link.building_id, building_name, names.get(link.person_id, ""), link.requested_at)
        )
    return pending


async def _pending(session: AsyncSession, link_id: int) -> BuildingLink:
    link = await session.get(BuildingLink, link_id)
    if link is None:
        raise BuildingError(N_("Unknown request."), Kind.NOT_FOUND, "link")
    if link.status != LinkStatus.REQUESTED.value:
        raise BuildingError(N_("This request was already decided."), Kind.CONFLICT, "link")
    return link


async def confirm_link(session: AsyncSession, link_id: int, staff: Person) -> BuildingLink:
    """Staff confirm a resident's request: the resident now sees their building's own figures."""
    await _check_decider(session, staff)
    link = await _pending(session, link_id)
    link.status = LinkStatus.CONFIRMED.value
    link.decided_at = utcnow()
    link.decided_by_id = staff.id
    await people.log_access(session, staff, link.person_id, "buildings: link confirmed", str(link.building_id))
    await session.flush()
    return link


async def decline_link(session: AsyncSession, link_id: int, staff: Person) -> None:
    """Staff decline a request: it is deleted (nothing is kept about it)."""
    await _check_decider(session, staff)
    link = await _pending(session, link_id)
    await people.log_access(session, staff, link.person_id, "buildings: link declined", str(link.building_id))
    await session.delete(link)
    await session.flush()


# --- Personal data -----------------------------------------------------------------------------------------------


async def export_personal_data(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    """The buildings the person is linked to (or asked to be), with when and the status."""
    query = (
        select(BuildingLink, Building.name, Building.address)
        .join(Building, Building.thing_id == BuildingLink.building_id)
        .where(BuildingLink.person_id == person.id)
        .order_by(BuildingLink.id)
    )
    return {
        "building_links": [
            {
                "building_id": link.building_id,
                "building": name,
                "address": address,
                "status": link.status,
                "requested_at": link.requested_at.isoformat(),
                "decided_at": link.decided_at.isoformat() if link.decided_at else None,
            }
            for link, name, address in (await session.execute(query)).all()
        ]
    }


async def erase_personal_data(session: AsyncSession, person: Person) -> None:
    """Delete the person's links (their household's meters, if any, are erased by sensing's provider)."""
    await session.execute(delete(BuildingLink).where(BuildingLink.person_id == person.id))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="buildings",
            description=N_("the building you said you live in, and whether staff confirmed it"),
            export=export_personal_data,
            erase=erase_personal_data,
        )
    )
