"""Outgoing mail, through an outbox: `send_mail` writes the message in the caller's transaction, and the mail
sender (`people.tasks.send_due_mail`) hands it to the SMTP server after commit, retrying with a growing delay.
So a rolled-back change sends nothing, a slow or down mail server never slows a request, and an answer takes
as long whether or not it mailed someone (which would otherwise tell who has an account). With no SMTP host
configured, messages stay in the outbox that administrators read (demo and development)."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.people.models import OutboxMessage

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


async def send_mail(
    session: AsyncSession,
    settings: Settings,
    recipient: str,
    subject: str,
    body: str,
    person_id: int | None = None,
) -> None:
    """Queue one plain-text message; it leaves once the caller's transaction has committed."""
    session.add(OutboxMessage(person_id=person_id, recipient=recipient, subject=subject, body=body))
    await session.flush()


async def deliver(settings: Settings, message: OutboxMessage) -> None:
    """Hand one message to the configured SMTP server; MailError if it cannot be."""
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    try:
        await aiosmtplib.send(
            email,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() or None,
            start_tls=settings.smtp_starttls,
            timeout=20,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise MailError(str(exc)) from exc


async def list_outbox(session: AsyncSession, limit: int = 100) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
