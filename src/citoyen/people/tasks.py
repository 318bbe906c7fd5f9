"""People's periodic upkeep: what expires is deleted, not only ignored (sessions, mailed links, reset tokens,
failed-login marks, the demo outbox), so that personal data is kept no longer than it serves."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.housekeeping import Housekeeping
from citoyen.people.models import EmailLink, LoginFailure, LoginSession, OutboxMessage, PasswordResetToken
from citoyen.people.service import SESSION_LIFETIME


async def prune_expired(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Delete ended or expired sessions, expired links and reset tokens, failed logins outside the throttling
    window and outbox mail past its retention; how many rows went."""
    statements = [
        delete(LoginSession).where(
            or_(LoginSession.ended_at.is_not(None), LoginSession.created_at < now - SESSION_LIFETIME)
        ),
        delete(EmailLink).where(EmailLink.expires_at < now),
        delete(PasswordResetToken).where(PasswordResetToken.expires_at < now),
        delete(LoginFailure).where(LoginFailure.at < now - timedelta(minutes=settings.login_window_minutes)),
        delete(OutboxMessage).where(OutboxMessage.created_at < now - timedelta(days=settings.outbox_retention_days)),
    ]
    removed = 0
    for statement in statements:
        result = await session.execute(statement.execution_options(synchronize_session=False))
        removed += max(getattr(result, "rowcount", 0) or 0, 0)
    return removed


def register_housekeeping(housekeeping: Housekeeping, settings: Settings) -> None:
    async def job(session: AsyncSession, now: datetime) -> int:
        return await prune_expired(session, settings, now)

    housekeeping.add("people: expired sessions, links and marks", job)
