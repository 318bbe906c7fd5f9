"""Signed-in browsers recorded server-side: opening one, the person a session's claim lets in,
ending one or all, listing the live ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.people.accounts import Claim, claim_holds
from citoyen.people.models import LoginSession, Person
from citoyen.people.security import hash_token, new_token

# As the session cookie's max_age (app.py): an older record opens nothing and is deleted.
SESSION_LIFETIME = timedelta(days=14)


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))


_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def user_agent_summary(header: str) -> str:
    """ "Firefox on Linux": enough for a person to recognise a device, less than the header tells."""
    browser = next((name for marker, name in _BROWSERS if marker in header), "")
    system = next((name for marker, name in _SYSTEMS if marker in header), "")
    if browser and system:
        return f"{browser} / {system}"
    return browser or system or header[:40]


async def open_session(session: AsyncSession, person: Person, user_agent: str) -> str:
    """Record a new signed-in browser; returns the session's id, for its cookie only (the table keeps a
    hash). The person's expired records go at the same time."""
    now = utcnow()
    await session.execute(
        delete(LoginSession).where(
            LoginSession.person_id == person.id, LoginSession.created_at < now - SESSION_LIFETIME
        )
    )
    session_id = new_token()
    session.add(
        LoginSession(
            id_hash=hash_token(session_id),
            person_id=person.id,
            created_at=now,
            last_seen_at=now,
            user_agent=user_agent_summary(user_agent),
        )
    )
    await session.flush()
    return session_id


async def signed_in_person(session: AsyncSession, settings: Settings, claim: Claim) -> Person | None:
    """The person a signed session claims to be, if the claim holds (live session, active account, same
    password); notes that the session was seen, at most every `session_touch_minutes`."""
    query = (
        select(Person, LoginSession.last_seen_at)
        .join(LoginSession, LoginSession.person_id == Person.id)
        .where(Person.id == claim.person_id, LoginSession.id_hash == claim.session, LoginSession.ended_at.is_(None))
    )
    row = (await session.execute(query)).one_or_none()
    if row is None or not claim_holds(row[0], claim.stamp):
        return None
    person, last_seen = row
    now = utcnow()
    if now - last_seen >= timedelta(minutes=settings.session_touch_minutes):
        seen = update(LoginSession).where(LoginSession.id_hash == claim.session).values(last_seen_at=now)
        connection = await session.connection()
        if (
            connection.sync_connection is not None
            and connection.sync_connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        ):
            # A single-statement route (db.single_statement_writes) on PostgreSQL: every statement is its own
            # transaction, where a SAVEPOINT is an error, and there is nothing to keep apart from.
            await session.execute(seen)
            return person
        try:
            async with session.begin_nested():
                await session.execute(seen)
        except OperationalError:
            pass  # SQLite busy with another writer: the next page notes it
    return person


async def end_session(session: AsyncSession, session_hash: str, person_id: int | None = None) -> bool:
    """End one session (only if it is this person's, when given); whether one was live."""
    statement = update(LoginSession).where(LoginSession.id_hash == session_hash, LoginSession.ended_at.is_(None))
    if person_id is not None:
        statement = statement.where(LoginSession.person_id == person_id)
    result = await session.execute(statement.values(ended_at=utcnow()))
    return bool(cast(Any, result).rowcount)


async def end_all_sessions(session: AsyncSession, person_id: int) -> None:
    """Log a person out everywhere, at once."""
    await session.execute(
        update(LoginSession)
        .where(LoginSession.person_id == person_id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


async def live_sessions(session: AsyncSession, person_id: int) -> list[LoginSession]:
    """A person's sessions still open, the most recently seen first."""
    query = (
        select(LoginSession)
        .where(
            LoginSession.person_id == person_id,
            LoginSession.ended_at.is_(None),
            LoginSession.created_at >= utcnow() - SESSION_LIFETIME,
        )
        .order_by(LoginSession.last_seen_at.desc())
    )
    return list((await session.execute(query)).scalars())
