"""Housekeeping, tested by moving its clock: what has expired goes, what still counts stays, and on PostgreSQL
the observation partitions of the coming months exist before their observations arrive."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen import throttle
from citoyen.app import build_housekeeping
from citoyen.config import Settings
from citoyen.db import make_engine, make_sessionmaker, utcnow
from citoyen.housekeeping import Housekeeping
from citoyen.people import service as people
from citoyen.people.mail import send_mail
from citoyen.people.models import LoginSession, OutboxMessage
from citoyen.people.security import hash_token
from tests.factories import create_person


async def _count(session: AsyncSession, model: type) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_rate_counters_go_once_their_window_is_over(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await throttle.record(session, "anonymous-report:203.0.113.7", throttle.LONGEST_WINDOW)
    await session.commit()
    housekeeping = build_housekeeping(settings)
    await housekeeping.run(sessionmaker, utcnow())
    assert await _count(session, throttle.RateCounter) == 1  # its hour is not over: it still counts
    await housekeeping.run(sessionmaker, utcnow() + timedelta(hours=2, minutes=1))
    assert await _count(session, throttle.RateCounter) == 0


async def test_a_limit_cannot_count_over_a_window_housekeeping_would_prune(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="LONGEST_WINDOW"):
        await throttle.record(session, "daily:203.0.113.7", throttle.LONGEST_WINDOW * 2)


async def test_ended_and_expired_sessions_and_old_mail_go_live_sessions_stay(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    person = await create_person(session)
    live = await people.open_session(session, person, "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
    ended = await people.open_session(session, person, "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
    await people.end_session(session, hash_token(ended))
    await send_mail(session, settings, person.email, "Bienvenue", "Bonjour")
    await session.commit()
    housekeeping = build_housekeeping(settings)

    await housekeeping.run(sessionmaker, utcnow() + timedelta(days=1))
    remaining = list((await session.execute(select(LoginSession.id_hash))).scalars())
    assert remaining == [hash_token(live)]
    assert await _count(session, OutboxMessage) == 1

    await housekeeping.run(sessionmaker, utcnow() + timedelta(days=15))  # past the session's and the mail's life
    assert await _count(session, LoginSession) == 0
    assert await _count(session, OutboxMessage) == 0


async def test_on_sqlite_a_job_writes_in_the_app_s_turn_although_it_read_first(own_database_url: str) -> None:
    """A job reads, then writes. Outside the app's write turn, a request writing in between made the job's write
    fail ("database is locked": SQLite cannot make a writer of a transaction that read before another write), as the
    demo's first rounds met. In its turn the job holds the write lock from its first read: the other writer waits."""
    if not own_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's snapshots can write after others wrote: nothing of SQLite's locking to check")
    database_file = own_database_url.split(":///", 1)[1]
    others_blocked: list[bool] = []

    async def reads_then_writes(session: AsyncSession, _now: object) -> int:
        await session.execute(text("SELECT count(*) FROM people"))
        try:
            with sqlite3.connect(database_file, timeout=0.1) as other:  # a request's write, meanwhile
                other.execute("CREATE TABLE IF NOT EXISTS written_meanwhile (x INTEGER)")
                other.execute("INSERT INTO written_meanwhile VALUES (1)")
            others_blocked.append(False)
        except sqlite3.OperationalError:
            others_blocked.append(True)
        await session.execute(text("CREATE TABLE IF NOT EXISTS written_by_the_job (x INTEGER)"))
        await session.execute(text("INSERT INTO written_by_the_job VALUES (1)"))
        return 1

    housekeeping = Housekeeping()
    housekeeping.add("reads then writes", reads_then_writes)
    engine = make_engine(own_database_url)
    try:
        done = await housekeeping.run(make_sessionmaker(engine), state=SimpleNamespace())
    finally:
        await engine.dispose()
    assert done == {"reads then writes": 1}
    assert others_blocked == [True]
