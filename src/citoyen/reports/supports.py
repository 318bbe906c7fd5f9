"""Supports ("me too", one per person or browser) and followers (accounts or e-mail addresses told
of a report's public changes)."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.reports.errors import ReportError
from citoyen.reports.filing import checked_email
from citoyen.reports.models import Category, Report, ReportFollower, ReportStatus, ReportSupport


async def support(session: AsyncSession, report: Report, supporter_key: str, person_id: int | None = None) -> None:
    """One "me too" per person (or per browser): it counts towards the report's priority."""
    exists = await session.execute(
        select(ReportSupport.id).where(
            ReportSupport.report_id == report.id, ReportSupport.supporter_key == supporter_key
        )
    )
    if exists.first() is not None:
        raise ReportError(N_("You already support this report."))
    if report.status == ReportStatus.CLOSED:
        raise ReportError(N_("This report is closed."))
    session.add(ReportSupport(report_id=report.id, person_id=person_id, supporter_key=supporter_key))
    await session.execute(update(Report).where(Report.id == report.id).values(supports=Report.supports + 1))
    await session.flush()
    await session.refresh(report, ["supports"])


async def follow(session: AsyncSession, report: Report, person_id: int | None = None, email: str = "") -> None:
    """Ask for news of a report (idempotent)."""
    if person_id is None and not email.strip():
        raise ReportError(N_("Give an e-mail address to be told of updates."), field="email")
    email = checked_email(email) if person_id is None else ""
    condition = ReportFollower.person_id == person_id if person_id is not None else ReportFollower.email == email
    exists = await session.execute(select(ReportFollower.id).where(ReportFollower.report_id == report.id, condition))
    if exists.first() is None:
        session.add(ReportFollower(report_id=report.id, person_id=person_id, email=email or None))
        await session.flush()


async def unfollow(session: AsyncSession, report: Report, person_id: int) -> None:
    await session.execute(
        delete(ReportFollower).where(ReportFollower.report_id == report.id, ReportFollower.person_id == person_id)
    )


async def is_following(session: AsyncSession, report: Report, person_id: int) -> bool:
    query = select(ReportFollower.id).where(
        ReportFollower.report_id == report.id, ReportFollower.person_id == person_id
    )
    return (await session.execute(query)).first() is not None


async def followed_by(session: AsyncSession, person_id: int) -> list[tuple[Report, Category]]:
    """The reports a person follows from their account, with their category, most recently followed first."""
    query = (
        select(Report, Category)
        .join(ReportFollower, ReportFollower.report_id == Report.id)
        .join(Category, Category.id == Report.category_id)
        .where(ReportFollower.person_id == person_id)
        .order_by(ReportFollower.created_at.desc(), ReportFollower.id.desc())
    )
    return [(report, category) for report, category in (await session.execute(query)).all()]
