"""Mail goes through a real SMTP server when one is configured, and to the outbox otherwise."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.people import service as people
from citoyen.people.mail import list_outbox, send_mail
from citoyen.people.models import OutboxMessage
from citoyen.people.tasks import MAIL_FIRST_RETRY, send_due_mail
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


def smtp_of(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False})


async def test_reset_mail_leaves_through_the_configured_smtp_server_after_commit(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    smtp_settings = smtp_of(settings, port)
    person = await create_person(session)
    await people.start_password_reset(session, smtp_settings, person.email, "Réinitialisation", "Lien : {link}")
    assert inbox.messages == []  # nothing leaves inside the request's transaction
    await session.commit()
    assert await send_due_mail(sessionmaker, smtp_settings) == 1
    assert len(inbox.messages) == 1
    sender, recipients, content = inbox.messages[0]
    assert sender == "no-reply@citoyen.local"
    assert recipients == [person.email]
    message = message_from_bytes(content, policy=policy.default)
    assert message["Subject"] == "Réinitialisation"
    body = message.get_body()
    assert body is not None and "/password/reset/" in body.get_content()
    assert (await session.execute(select(OutboxMessage))).first() is None  # nothing personal kept once sent


async def test_a_rolled_back_change_sends_no_mail(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    async with sessionmaker() as session:
        await send_mail(session, settings, "someone@example.org", "Votre signalement", "Il est résolu.")
        await session.rollback()
    assert await send_due_mail(sessionmaker, smtp_of(settings, port)) == 0
    assert inbox.messages == []


async def test_an_unreachable_smtp_server_delays_the_mail_it_does_not_lose_it(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    await send_mail(session, settings, "someone@example.org", "Votre signalement", "Il est résolu.")
    await session.commit()
    assert await send_due_mail(sessionmaker, smtp_of(settings, free_port())) == 0  # nobody listens there
    waiting = (await session.execute(select(OutboxMessage))).scalar_one()
    await session.refresh(waiting)
    assert waiting.attempts == 1 and waiting.last_error and waiting.next_attempt_at > utcnow()
    assert await send_due_mail(sessionmaker, smtp_of(settings, port)) == 0  # not yet due again
    later = utcnow() + MAIL_FIRST_RETRY
    assert await send_due_mail(sessionmaker, smtp_of(settings, port), now=later) == 1
    assert [recipients for _, recipients, _ in inbox.messages] == [["someone@example.org"]]


async def test_without_an_smtp_server_mail_stays_in_the_outbox_for_administrators(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await send_mail(session, settings, "someone@example.org", "Votre signalement", "Il est résolu.")
    await session.commit()
    assert await send_due_mail(sessionmaker, settings) == 0
    assert [message.recipient for message in await list_outbox(session)] == ["someone@example.org"]
