"""Outgoing mail: through the configured SMTP server, or into the outbox when none is configured."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.people.models import OutboxMessage

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    pass


async def send_mail(
    session: AsyncSession,
    settings: Settings,
    recipient: str,
    subject: str,
    body: str,
    person_id: int | None = None,
) -> None:
    """Send one plain-text message. Without an SMTP host it is stored in the outbox admins can read."""
    if settings.mail_to_outbox:
        # The outbox holds personal data (addresses, reset links): it keeps only the last few days.
        cutoff = utcnow() - timedelta(days=settings.outbox_retention_days)
        await session.execute(delete(OutboxMessage).where(OutboxMessage.created_at < cutoff))
        session.add(OutboxMessage(person_id=person_id, recipient=recipient, subject=subject, body=body))
        await session.flush()
        return
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() or None,
            start_tls=settings.smtp_starttls,
            timeout=20,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.error("mail to person %s not sent: %s", person_id, exc)
        raise MailError(str(exc)) from exc


async def list_outbox(session: AsyncSession, limit: int = 100) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
