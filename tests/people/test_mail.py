"""Mail goes through a real SMTP server when one is configured, and to the outbox otherwise."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.people import service as people
from citoyen.people.mail import MailError, send_mail
from citoyen.people.models import OutboxMessage
from tests.factories import create_person


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def test_reset_mail_is_sent_through_the_configured_smtp_server(
    session: AsyncSession, settings: Settings, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    smtp_settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False})
    person = await create_person(session)
    await people.start_password_reset(session, smtp_settings, person.email, "Réinitialisation", "Lien : {link}")
    assert len(inbox.messages) == 1
    sender, recipients, content = inbox.messages[0]
    assert sender == "no-reply@citoyen.local"
    assert recipients == [person.email]
    message = message_from_bytes(content, policy=policy.default)
    assert message["Subject"] == "Réinitialisation"
    body = message.get_body()
    assert body is not None and "/password/reset/" in body.get_content()
    assert (await session.execute(select(OutboxMessage))).first() is None


async def test_an_unreachable_smtp_server_is_an_error_not_a_silent_loss(
    session: AsyncSession, settings: Settings
) -> None:
    unreachable = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_starttls": False}
    )
    with pytest.raises(MailError):
        await send_mail(session, unreachable, "someone@example.org", "Subject", "Body")
