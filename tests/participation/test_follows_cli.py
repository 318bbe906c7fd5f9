"""`citoyen send-digests` as an operator runs it (e.g. from cron): one e-mail per consenting person with
news, and nothing more when run again the same day."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from typer.testing import CliRunner

from citoyen.app import build_event_hub
from citoyen.cli import app
from citoyen.db import make_engine, make_sessionmaker
from citoyen.migrations import upgrade_database_async
from citoyen.participation.follows import service as follows
from citoyen.people import service as people
from citoyen.people.models import OutboxMessage
from tests.test_cli import cli_env, database_url  # noqa: F401 - the fixture is used by name

runner = CliRunner()


def prepare(env: dict[str, str]) -> None:
    """A consenting person with one piece of news waiting for the digest."""

    async def work() -> None:
        url = database_url(env)
        await upgrade_database_async(url)
        engine = make_engine(url)
        async with make_sessionmaker(engine, build_event_hub())() as session, session.begin():
            person = await people.create_person(session, "digest@example.org", None, "Lectrice")
            await people.record_consent(session, person, "email_notifications", True)
            await follows.tell(
                session, [person.id], lambda _: "New proposal: “Des bancs”", "/participation/proposals/1"
            )
        await engine.dispose()

    asyncio.run(work())


def outbox_count(env: dict[str, str]) -> int:
    async def read() -> int:
        engine = make_engine(database_url(env))
        async with make_sessionmaker(engine, build_event_hub())() as session:
            count = (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
        await engine.dispose()
        return int(count)

    return asyncio.run(read())


def test_send_digests_sends_once_a_day(cli_env: dict[str, str]) -> None:  # noqa: F811
    prepare(cli_env)
    first = runner.invoke(app, ["send-digests"], env=cli_env)
    assert first.exit_code == 0, first.output
    assert "digests sent: 1" in first.output
    second = runner.invoke(app, ["send-digests"], env=cli_env)
    assert second.exit_code == 0 and "digests sent: 0; already sent today: 0" in second.output
    assert outbox_count(cli_env) == 1
