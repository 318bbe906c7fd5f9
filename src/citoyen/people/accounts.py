"""Accounts: e-mail addresses checked, creating a person, pseudonyms, the roles' labels, and the
claim a signed session makes (read without the ORM, or checked inside a PostgreSQL write, since
the busiest forms check who is asking)."""

from __future__ import annotations

import secrets
from typing import Any, NamedTuple, cast

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, Table, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.people.errors import PeopleError
from citoyen.people.models import LoginSession, Person, Role
from citoyen.people.security import credential_stamp, credential_stamp_in_postgresql, hash_password, password_problems

ROLE_LABELS = {
    Role.CITIZEN.value: N_("citizen"),
    Role.MODERATOR.value: N_("moderator"),
    Role.STAFF.value: N_("staff member"),
    Role.PUBLISHER.value: N_("data publisher"),
    Role.ADMIN.value: N_("administrator"),
}


def normalize_email(email: str) -> str:
    """Validated and normalised (lower-case domain); raises PeopleError with a translatable message."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise PeopleError(N_("This e-mail address is not valid.")) from exc


async def get_person(session: AsyncSession, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


class Account(NamedTuple):
    """What checking a signed-in session needs of a person, read without the ORM."""

    id: int
    is_active: bool
    password_hash: str | None


def _account_statement() -> Any:
    people = cast(Table, Person.__table__)
    sessions = cast(Table, LoginSession.__table__)
    columns = [people.c[name] for name in Account._fields]
    return (
        select(*columns)
        .join_from(people, sessions, sessions.c.person_id == people.c.id)
        .where(
            people.c.id == bindparam("person_id"),
            sessions.c.id_hash == bindparam("session"),
            sessions.c.ended_at.is_(None),
        )
    )


# Built once: the busiest forms read who is asking with it, and building a statement costs as much as
# running one.
ACCOUNT = _account_statement()


class Claim(NamedTuple):
    """Who a signed session says is asking: a person, the stamp of the password the session was opened
    with, and the hash of the session's id. It holds while that account is active and has that password,
    and the session has not been ended."""

    person_id: int
    stamp: str
    session: str


async def get_account(session: AsyncSession, claim: Claim) -> Account | None:
    """The claimed account, if the claim's session is live."""
    row = (await session.execute(ACCOUNT, {"person_id": claim.person_id, "session": claim.session})).one_or_none()
    return Account(*row) if row else None


def claim_holds(account: Person | Account | None, stamp: str) -> bool:
    return (
        account is not None
        and account.is_active
        and secrets.compare_digest(stamp, credential_stamp(account.password_hash))
    )


async def claim_holds_now(session: AsyncSession, claim: Claim) -> bool:
    return claim_holds(await get_account(session, claim), claim.stamp)


def claim_holds_in_postgresql(
    person_id: ColumnElement[int], stamp: ColumnElement[str], session_hash: ColumnElement[str]
) -> ColumnElement[bool]:
    """`claim_holds_now` as a condition PostgreSQL checks within a write (the account and the live session,
    each found by its primary key): the busiest form (a support) then checks who is asking and writes in
    one statement, without reading the account first."""
    people = cast(Table, Person.__table__)
    sessions = cast(Table, LoginSession.__table__)
    return exists().where(
        people.c.id == person_id,
        people.c.is_active.is_(True),
        credential_stamp_in_postgresql(people.c.password_hash) == stamp,
        sessions.c.id_hash == session_hash,
        sessions.c.person_id == people.c.id,
        sessions.c.ended_at.is_(None),
    )


async def find_person_by_email(session: AsyncSession, email: str) -> Person | None:
    query = select(Person).where(Person.email == email.strip().lower())
    return (await session.execute(query)).scalar_one_or_none()


async def create_person(
    session: AsyncSession,
    email: str,
    password: str | None,
    display_name: str | None = None,
    role: Role = Role.CITIZEN,
    locale: str = "fr",
    check_password: bool = True,
) -> Person:
    """Create an account at once (administration, the CLI, the demo). People signing up themselves go
    through `request_sign_up`. With check_password, the password must pass the strength rules."""
    normalized = normalize_email(email)
    problems: list[str] = []
    if password is not None and check_password:
        problems += password_problems(password, normalized)
    if await find_person_by_email(session, normalized) is not None:
        problems.insert(0, N_("An account already exists with this e-mail address."))
    name = (display_name or "").strip() or await free_pseudonym(session, normalized)
    if len(name) > 80:
        problems.append(N_("The display name must have at most 80 characters."))
    if problems:
        raise PeopleError(*problems)
    person = Person(
        email=normalized,
        display_name=name,
        password_hash=hash_password(password) if password is not None else None,
        role=role,
        locale=locale,
    )
    session.add(person)
    await session.flush()
    return person


async def free_pseudonym(session: AsyncSession, email: str) -> str:
    """A public name that reveals nothing of the e-mail: 'Citoyen-' plus a short random code."""
    while True:
        candidate = f"Citoyen-{secrets.token_hex(3)}"
        taken = await session.execute(select(Person.id).where(Person.display_name == candidate))
        if taken.first() is None:
            return candidate


async def change_locale(session: AsyncSession, person: Person, locale: str) -> None:
    person.locale = locale
    await session.flush()
