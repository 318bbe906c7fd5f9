"""The reports' provider for the personal-data registry: what a person's export holds (contacts left
on reports, follows, supports) and what erasing them removes; the reports themselves stay."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, delete, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person
from citoyen.reports.models import ReportContact, ReportFollower, ReportSupport


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    contacts = (
        await session.execute(
            select(ReportContact).where(or_(ReportContact.person_id == person.id, ReportContact.email == person.email))
        )
    ).scalars()
    followed = (
        await session.execute(
            select(ReportFollower).where(
                or_(ReportFollower.person_id == person.id, ReportFollower.email == person.email)
            )
        )
    ).scalars()
    supported = (await session.execute(select(ReportSupport).where(ReportSupport.person_id == person.id))).scalars()
    return {
        "reports_filed": [
            {
                "report_id": c.report_id,
                "email": c.email,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "phone": c.phone,
                "device_id": c.device_id,
            }
            for c in contacts
        ],
        "reports_followed": [{"report_id": f.report_id, "since": f.created_at.isoformat()} for f in followed],
        "reports_supported": [{"report_id": s.report_id, "at": s.created_at.isoformat()} for s in supported],
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    """The reports stay (they are about public space); every link to the person goes."""
    await session.execute(
        delete(ReportContact).where(or_(ReportContact.person_id == person.id, ReportContact.email == person.email))
    )
    await session.execute(
        delete(ReportFollower).where(or_(ReportFollower.person_id == person.id, ReportFollower.email == person.email))
    )
    # Supports keep counting, but no longer say whose they were.
    await session.execute(
        update(ReportSupport)
        .where(ReportSupport.person_id == person.id)
        .values(person_id=None, supporter_key=literal("erased:").concat(cast(ReportSupport.id, String)))
    )


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="reports",
            description=N_("the reports you filed (and the contact details you left), followed and supported"),
            export=_export,
            erase=_erase,
        )
    )
