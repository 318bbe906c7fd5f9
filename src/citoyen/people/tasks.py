"""People's background work: the mail sender, and the upkeep that deletes what expires (sessions, mailed
links, reset tokens, failed-login marks, old outbox mail), so that personal data is kept no longer than it
serves."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.config import Settings
from citoyen.db import affected_rows, utcnow
from citoyen.housekeeping import Housekeeping
from citoyen.people.mail import MailError, deliver
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
        removed += affected_rows(result)
    return removed


def register_housekeeping(housekeeping: Housekeeping, settings: Settings) -> None:
    async def job(session: AsyncSession, now: datetime) -> int:
        return await prune_expired(session, settings, now)

    housekeeping.add("people: expired sessions, links and marks", job)


# A message the SMTP server keeps refusing is tried this many times, a minute apart at first and doubling
# (about four hours in all), then left in the outbox, logged, until its retention ends.
MAIL_MAX_ATTEMPTS = 8
MAIL_FIRST_RETRY = timedelta(minutes=1)
log = logging.getLogger(__name__)


async def send_due_mail(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, now: datetime | None = None
) -> int:
    """Hand the messages that are due to the SMTP server, one per transaction (a message locked by another
    process is skipped, on PostgreSQL); stops at the first failure, the server being likely down. How many
    left."""
    if settings.mail_to_outbox:
        return 0
    now = now or utcnow()
    sent = 0
    while True:
        async with sessionmaker() as session:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.next_attempt_at <= now, OutboxMessage.attempts < MAIL_MAX_ATTEMPTS)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(1)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            message = (await session.execute(query)).scalar_one_or_none()
            if message is None:
                return sent
            try:
                await deliver(settings, message)
            except MailError as error:
                message.attempts += 1
                message.last_error = str(error)[:300]
                message.next_attempt_at = now + MAIL_FIRST_RETRY * 2 ** (message.attempts - 1)
                level = logging.ERROR if message.attempts >= MAIL_MAX_ATTEMPTS else logging.WARNING
                log.log(level, "mail %s not sent (attempt %s): %s", message.id, message.attempts, error)
                await session.commit()
                return sent
            await session.delete(message)
            await session.commit()
            sent += 1


async def mail_loop(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """The sender of a served process: what is due leaves within `mail_send_interval_seconds`."""
    while True:
        try:
            await send_due_mail(sessionmaker, settings)
        except Exception:  # a database hiccup: the next round tries again
            log.exception("mail sender round failed")
        await asyncio.sleep(settings.mail_send_interval_seconds)
