"""People rules: sign-up, login and its throttling, sessions, password reset, consent, the access log,
export and erasure through the personal-data registry, administration of accounts and tokens."""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple, cast

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, Table, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import detached_copy, utcnow
from citoyen.i18n import N_
from citoyen.people.mail import send_mail
from citoyen.people.models import (
    AccessLogEntry,
    ApiToken,
    ConsentRecord,
    Department,
    EmailLink,
    LoginFailure,
    LoginSession,
    OutboxMessage,
    PasswordResetToken,
    Person,
    Role,
)
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.security import (
    credential_stamp,
    credential_stamp_in_postgresql,
    hash_password,
    hash_token,
    new_token,
    password_problems,
    verify_password,
)


class PeopleError(ValueError):
    """A rule was broken; `problems` are English msgids, translated where they are shown."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class LoginThrottled(PeopleError):
    pass


@dataclass(frozen=True)
class ConsentPurpose:
    key: str
    title: str  # msgid
    description: str  # msgid
    version: str


CONSENT_PURPOSES: dict[str, ConsentPurpose] = {
    purpose.key: purpose
    for purpose in (
        ConsentPurpose(
            "email_notifications",
            N_("E-mail notifications"),
            N_("Receive by e-mail, at most once a day, news of what you follow (proposals, reports, processes)."),
            "2026-11",
        ),
        ConsentPurpose(
            "research",
            N_("Research use"),
            N_(
                "Allow researchers working with the city to use your contributions, pseudonymised, "
                "in studies of participation. Withdrawing stops any new use."
            ),
            "2026-11",
        ),
    )
}

API_SCOPES = ("sensing:write", "open311", "opendata:write", "admin")

ROLE_LABELS = {
    Role.CITIZEN.value: N_("citizen"),
    Role.MODERATOR.value: N_("moderator"),
    Role.STAFF.value: N_("staff member"),
    Role.ADMIN.value: N_("administrator"),
}
ACCESS_ACTION_LABELS = {
    "account_viewed": N_("viewed your account"),
    "role_changed": N_("changed your role"),
    "mail_viewed": N_("read mail sent to you"),
    "account_suspended": N_("suspended your account"),
    "account_restored": N_("restored your account"),
    "report_contact_viewed": N_("viewed your contact details on a report"),
}


# --- accounts ---------------------------------------------------------------------------------


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


# --- sessions ---------------------------------------------------------------------------------

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
        try:
            async with session.begin_nested():
                seen = update(LoginSession).where(LoginSession.id_hash == claim.session).values(last_seen_at=now)
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


# --- sign-up ----------------------------------------------------------------------------------


class MailText(NamedTuple):
    """A translated message with a `{link}` placeholder in its body."""

    subject: str
    body: str


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
    name = (display_name or "").strip() or await _free_pseudonym(session, normalized)
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


async def request_sign_up(
    session: AsyncSession,
    settings: Settings,
    email: str,
    password: str,
    display_name: str,
    locale: str,
    confirm: MailText,
    taken: MailText,
) -> None:
    """Mail a link that creates the account when followed, or, when the address already has an account,
    tell its owner someone tried (with a reset link). The answer and the work are the same either way,
    so sign-up does not tell whether an address has an account."""
    normalized = normalize_email(email)
    problems = password_problems(password, normalized)
    name = display_name.strip()
    if len(name) > 80:
        problems.append(N_("The display name must have at most 80 characters."))
    if problems:
        raise PeopleError(*problems)
    password_hash = hash_password(password)  # in both cases, so both take as long
    await _delete_spent_links(session)
    owner = await find_person_by_email(session, normalized)
    if owner is not None:
        if owner.is_active:
            await _mail_reset_link(session, settings, owner, taken)
        return
    token = new_token()
    session.add(
        EmailLink(
            token_hash=hash_token(token),
            purpose="signup",
            email=normalized,
            display_name=name or None,
            password_hash=password_hash,
            locale=locale,
            expires_at=utcnow() + timedelta(hours=settings.login_link_hours),
        )
    )
    link = f"{settings.base_url.rstrip('/')}/login/link/{token}"
    await send_mail(session, settings, normalized, confirm.subject, confirm.body.format(link=link))


async def _delete_spent_links(session: AsyncSession) -> None:
    await session.execute(delete(EmailLink).where(EmailLink.expires_at < utcnow()))


async def _valid_link(session: AsyncSession, token: str) -> EmailLink | None:
    link = await session.get(EmailLink, hash_token(token))
    return link if link is not None and link.expires_at >= utcnow() else None


async def email_link_is_valid(session: AsyncSession, token: str) -> bool:
    return await _valid_link(session, token) is not None


async def follow_email_link(session: AsyncSession, token: str) -> Person:
    """The person a mailed link lets in, once: a confirmed sign-up creates the account now."""
    link = await _valid_link(session, token)
    if link is None:
        raise PeopleError(N_("This link is invalid, has expired or was already used."))
    await session.delete(link)
    if link.purpose == "signup":
        if await find_person_by_email(session, link.email) is not None:
            raise PeopleError(N_("This address already has an account: log in."))
        person = Person(
            email=link.email,
            display_name=link.display_name or await _free_pseudonym(session, link.email),
            password_hash=link.password_hash,
            locale=link.locale,
        )
        session.add(person)
        await session.execute(delete(EmailLink).where(EmailLink.email == link.email, EmailLink.purpose == "signup"))
    else:
        found = await session.get(Person, link.person_id) if link.person_id is not None else None
        if found is None or not found.is_active:
            raise PeopleError(N_("This link is invalid, has expired or was already used."))
        person = found
    person.last_login_at = utcnow()
    await session.flush()
    return person


async def _free_pseudonym(session: AsyncSession, email: str) -> str:
    """A public name that reveals nothing of the e-mail: 'Citoyen-' plus a short random code."""
    while True:
        candidate = f"Citoyen-{secrets.token_hex(3)}"
        taken = await session.execute(select(Person.id).where(Person.display_name == candidate))
        if taken.first() is None:
            return candidate


# --- login ------------------------------------------------------------------------------------


@cache
def _dummy_hash() -> str:
    """Checked when there is no password to check, so that a login takes as long for any address."""
    return hash_password(secrets.token_urlsafe(16))


class _Failures(NamedTuple):
    number: int
    last: datetime | None


async def _recent_failures(session: AsyncSession, keys: list[str], since: datetime) -> dict[str, _Failures]:
    query = (
        select(LoginFailure.key_hash, func.count(), func.max(LoginFailure.at))
        .where(LoginFailure.key_hash.in_(keys), LoginFailure.at >= since)
        .group_by(LoginFailure.key_hash)
    )
    found = {key: _Failures(int(count), last) for key, count, last in (await session.execute(query)).all()}
    return {key: found.get(key, _Failures(0, None)) for key in keys}


def _account_key(email: str) -> str:
    return hash_token("account:" + email.strip().lower())


TOO_MANY_FROM_HERE = N_("Too many failed attempts. Please wait a few minutes before trying again.")
ACCOUNT_UNDER_ATTACK = N_(
    "This account has received too many failed attempts: its password cannot be used for a while. "
    "If it is yours, we have sent you an e-mail with a link to log in."
)


async def authenticate(
    session: AsyncSession,
    settings: Settings,
    email: str,
    password: str,
    client_address: str,
    login_link: MailText | None = None,
) -> Person:
    """The person whose credentials these are. Answers and timing do not depend on whether the account
    exists. Failures are counted per client address and account (a growing delay for that client only),
    per client address, and per account: an account attacked from many addresses stops taking its
    password for the window, and its owner is mailed a one-time login link (`login_link`), so attackers
    slow themselves down without locking the owner out."""
    address = email.strip().lower()
    pair_key = hash_token(f"pair:{client_address}|{address}")
    client_key = hash_token("client:" + client_address)
    account_key = _account_key(address)
    now = utcnow()
    window = timedelta(minutes=settings.login_window_minutes)
    await session.execute(delete(LoginFailure).where(LoginFailure.at < now - window))  # kept no longer than needed
    failures = await _recent_failures(session, [pair_key, client_key, account_key], now - window)
    if failures[client_key].number >= settings.login_client_max_failures:
        raise LoginThrottled(TOO_MANY_FROM_HERE)
    if failures[account_key].number >= settings.login_account_max_failures:
        await _mail_login_link(session, settings, address, window, login_link)
        raise LoginThrottled(ACCOUNT_UNDER_ATTACK)
    pair = failures[pair_key]
    if pair.last is not None and pair.number >= settings.login_max_failures:
        delay = timedelta(seconds=settings.login_delay_seconds * 2 ** (pair.number - settings.login_max_failures))
        if now < pair.last + min(delay, window):
            raise LoginThrottled(TOO_MANY_FROM_HERE)
    person = await find_person_by_email(session, address)
    usable = person is not None and person.is_active and person.password_hash is not None
    stored_hash = person.password_hash if person is not None and person.password_hash else _dummy_hash()
    if not verify_password(stored_hash, password) or not usable or person is None:
        session.add_all([LoginFailure(key_hash=key) for key in (pair_key, client_key, account_key)])
        await session.flush()
        raise PeopleError(N_("Wrong e-mail address or password."))
    await session.execute(delete(LoginFailure).where(LoginFailure.key_hash == pair_key))
    person.last_login_at = now
    await session.flush()
    return person


async def _mail_login_link(
    session: AsyncSession, settings: Settings, address: str, window: timedelta, text: MailText | None
) -> None:
    """At most one mail per account and window, whatever the number of attempts."""
    person = await find_person_by_email(session, address)
    if text is None or person is None or not person.is_active:
        return
    link_hours = timedelta(hours=settings.login_link_hours)
    # A link mailed within the window expires later than this.
    recent = select(EmailLink.token_hash).where(
        EmailLink.email == person.email,
        EmailLink.purpose == "login",
        EmailLink.expires_at > utcnow() + link_hours - window,
    )
    if (await session.execute(recent)).first() is not None:
        return
    token = new_token()
    session.add(
        EmailLink(
            token_hash=hash_token(token),
            purpose="login",
            email=person.email,
            person_id=person.id,
            locale=person.locale,
            expires_at=utcnow() + timedelta(hours=settings.login_link_hours),
        )
    )
    link = f"{settings.base_url.rstrip('/')}/login/link/{token}"
    await send_mail(session, settings, person.email, text.subject, text.body.format(link=link), person.id)


# --- password reset ---------------------------------------------------------------------------


async def start_password_reset(
    session: AsyncSession, settings: Settings, email: str, subject: str, body_template: str
) -> None:
    """Mail a one-time reset link if the account exists. Says nothing either way (no account probing).
    `body_template` is the translated text with a `{link}` placeholder."""
    # Spent and expired tokens are useless; delete them rather than keep them forever.
    now = utcnow()
    await session.execute(
        delete(PasswordResetToken).where(
            or_(PasswordResetToken.expires_at < now, PasswordResetToken.used_at.is_not(None))
        )
    )
    person = await find_person_by_email(session, email)
    if person is None or not person.is_active:
        return
    await _mail_reset_link(session, settings, person, MailText(subject, body_template))


async def _mail_reset_link(session: AsyncSession, settings: Settings, person: Person, text: MailText) -> None:
    token = new_token()
    session.add(
        PasswordResetToken(
            person_id=person.id,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(hours=settings.password_reset_hours),
        )
    )
    link = f"{settings.base_url.rstrip('/')}/password/reset/{token}"
    await send_mail(session, settings, person.email, text.subject, text.body.format(link=link), person.id)


async def _valid_reset_token(session: AsyncSession, token: str) -> PasswordResetToken | None:
    query = select(PasswordResetToken).where(PasswordResetToken.token_hash == hash_token(token))
    reset = (await session.execute(query)).scalar_one_or_none()
    if reset is None or reset.used_at is not None or reset.expires_at < utcnow():
        return None
    return reset


async def reset_token_is_valid(session: AsyncSession, token: str) -> bool:
    return await _valid_reset_token(session, token) is not None


async def complete_password_reset(session: AsyncSession, token: str, password: str) -> Person:
    reset = await _valid_reset_token(session, token)
    if reset is None:
        raise PeopleError(N_("This reset link is invalid or has expired. Ask for a new one."))
    person = await session.get(Person, reset.person_id)
    assert person is not None  # the foreign key cascades
    problems = password_problems(password, person.email)
    if problems:
        raise PeopleError(*problems)
    person.password_hash = hash_password(password)
    reset.used_at = utcnow()
    await end_all_sessions(session, person.id)
    await session.flush()
    return person


async def change_locale(session: AsyncSession, person: Person, locale: str) -> None:
    person.locale = locale
    await session.flush()


# --- consent ----------------------------------------------------------------------------------


async def current_consents(session: AsyncSession, person: Person) -> dict[str, ConsentRecord | None]:
    """The decision in force for each purpose (None: never asked, which counts as not given)."""
    query = select(ConsentRecord).where(ConsentRecord.person_id == person.id).order_by(ConsentRecord.id)
    latest: dict[str, ConsentRecord | None] = dict.fromkeys(CONSENT_PURPOSES)
    for record in (await session.execute(query)).scalars():
        latest[record.purpose] = record
    return latest


async def has_consent(session: AsyncSession, person: Person, purpose: str) -> bool:
    record = (await current_consents(session, person)).get(purpose)
    return bool(record and record.granted)


async def record_consent(session: AsyncSession, person: Person, purpose: str, granted: bool) -> ConsentRecord:
    if purpose not in CONSENT_PURPOSES:
        raise PeopleError(N_("Unknown purpose."))
    record = ConsentRecord(
        person_id=person.id, purpose=purpose, granted=granted, text_version=CONSENT_PURPOSES[purpose].version
    )
    session.add(record)
    await session.flush()
    return record


# --- access log -------------------------------------------------------------------------------


async def log_access(session: AsyncSession, actor: Person, subject_id: int, action: str, detail: str = "") -> None:
    """Record that staff saw or changed someone's personal data (not logged when people act on their own)."""
    if actor.id == subject_id:
        return
    session.add(
        AccessLogEntry(
            subject_id=subject_id,
            actor_id=actor.id,
            actor_role=actor.role.value,
            action=action,
            detail=detail[:300],
        )
    )
    await session.flush()


async def access_log(session: AsyncSession, person: Person) -> list[AccessLogEntry]:
    query = select(AccessLogEntry).where(AccessLogEntry.subject_id == person.id).order_by(AccessLogEntry.id.desc())
    return list((await session.execute(query)).scalars())


# --- export and erasure -----------------------------------------------------------------------


def _record(obj: Any, *fields: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


async def _export_people(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    consents = (
        await session.execute(
            select(ConsentRecord).where(ConsentRecord.person_id == person.id).order_by(ConsentRecord.id)
        )
    ).scalars()
    log_entries = await access_log(session, person)
    outbox = (await session.execute(select(OutboxMessage).where(OutboxMessage.person_id == person.id))).scalars()
    sessions = (
        await session.execute(
            select(LoginSession).where(LoginSession.person_id == person.id).order_by(LoginSession.created_at)
        )
    ).scalars()
    account = _record(person, "id", "email", "display_name", "locale", "created_at", "last_login_at")
    account["role"] = person.role.value
    return {
        "account": [account],
        "consents": [_record(c, "purpose", "granted", "text_version", "recorded_at") for c in consents],
        "access_log": [_record(e, "at", "actor_role", "action", "detail") for e in log_entries],
        "mail_sent": [_record(m, "created_at", "recipient", "subject", "body") for m in outbox],
        "sessions": [_record(s, "created_at", "last_seen_at", "user_agent", "ended_at") for s in sessions],
    }


async def _erase_people(session: AsyncSession, person: Person) -> None:
    # Rows keyed by the person (sessions, login links) cascade with the account; these are keyed by data
    # derived from it. Failures counted per client address and account stay until the window ends: their
    # key mixes the address in, so they cannot be found from the account alone, nor traced back to it.
    await session.execute(delete(LoginFailure).where(LoginFailure.key_hash == _account_key(person.email)))
    await session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == person.email))
    await session.execute(delete(EmailLink).where(EmailLink.email == person.email))
    await session.execute(delete(LoginSession).where(LoginSession.person_id == person.id))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="people",
            description=N_("account, sessions, consent decisions, staff accesses to your data, mail sent to you"),
            export=_export_people,
            erase=_erase_people,
        )
    )


async def export_personal_data(session: AsyncSession, registry: PersonalDataRegistry, person: Person) -> dict[str, Any]:
    """Everything the platform holds about a person (GDPR Art. 15 and 20), by domain and table."""
    data: dict[str, Any] = {"exported_at": utcnow().isoformat(), "domains": {}}
    for provider in registry.providers:
        data["domains"][provider.domain] = {
            "description": provider.description,
            "tables": await provider.export(session, person),
        }
    return data


def export_as_csv_zip(export: dict[str, Any]) -> bytes:
    """The same export as one CSV file per table, in a zip, plus the JSON for completeness."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", json.dumps(export, ensure_ascii=False, indent=2))
        for domain, content in export["domains"].items():
            for table, rows in content["tables"].items():
                text = io.StringIO()
                columns = sorted({key for row in rows for key in row})
                writer = csv.DictWriter(text, fieldnames=columns)
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
                archive.writestr(f"{domain}/{table}.csv", text.getvalue())
    return buffer.getvalue()


async def erase_person(session: AsyncSession, registry: PersonalDataRegistry, person: Person) -> None:
    """Erase an account (GDPR Art. 17): each domain detaches or deletes what it holds, then the account
    goes; contributions stay, signed by no one."""
    for provider in registry.providers:
        await provider.erase(session, person)
    await session.delete(person)
    await session.flush()


# --- administration ---------------------------------------------------------------------------


async def search_people(
    session: AsyncSession, text: str = "", role: Role | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Person], int]:
    query = select(Person)
    if text:
        pattern = f"%{text.strip().lower()}%"
        query = query.where(or_(func.lower(Person.display_name).like(pattern), Person.email == text.strip().lower()))
    if role is not None:
        query = query.where(Person.role == role)
    total = int((await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one())
    rows = await session.execute(query.order_by(Person.id).offset((page - 1) * per_page).limit(per_page))
    return list(rows.scalars()), total


async def set_role(session: AsyncSession, actor: Person, person: Person, role: Role, department_id: int | None) -> None:
    if role == Role.STAFF and department_id is None:
        raise PeopleError(N_("Staff members belong to a department: choose one."))
    if department_id is not None and await session.get(Department, department_id) is None:
        raise PeopleError(N_("Unknown department."))
    if person.id == actor.id and role != Role.ADMIN:
        raise PeopleError(N_("You cannot remove your own administrator role."))
    if person.role != role:
        # What the sessions opened under the old role may do changes: the person logs in again.
        await end_all_sessions(session, person.id)
    person.role = role
    person.department_id = department_id if role in (Role.STAFF, Role.ADMIN) else None
    await log_access(session, actor, person.id, "role_changed", f"{role.value}")
    await session.flush()


async def set_active(session: AsyncSession, actor: Person, person: Person, active: bool) -> None:
    """Suspend or restore an account: a suspended person cannot log in and is signed out everywhere."""
    if person.id == actor.id:
        raise PeopleError(N_("You cannot suspend your own account."))
    person.is_active = active
    if not active:
        await end_all_sessions(session, person.id)
    await log_access(session, actor, person.id, "account_restored" if active else "account_suspended")
    await session.flush()


async def list_departments(session: AsyncSession) -> list[Department]:
    return list((await session.execute(select(Department).order_by(Department.name))).scalars())


async def department_names(session: AsyncSession) -> dict[int, str]:
    """Each department's name by id (one query), for domains that show who handles what."""
    rows = (await session.execute(select(Department.id, Department.name))).all()
    return {int(department_id): name for department_id, name in rows}


async def create_department(session: AsyncSession, code: str, name: str, email: str | None = None) -> Department:
    code = code.strip().lower()
    if not code or not name.strip():
        raise PeopleError(N_("A department needs a code and a name."))
    if not code.replace("-", "").replace("_", "").isalnum() or len(code) > 40:
        raise PeopleError(N_("The code may only contain letters, digits, '-' and '_' (at most 40)."))
    if (await session.execute(select(Department).where(Department.code == code))).first() is not None:
        raise PeopleError(N_("A department with this code already exists."))
    department = Department(code=code, name=name.strip(), email=normalize_email(email) if email else None)
    session.add(department)
    await session.flush()
    return department


async def delete_department(session: AsyncSession, department_id: int) -> None:
    department = await session.get(Department, department_id)
    if department is None:
        raise PeopleError(N_("Unknown department."))
    await session.delete(department)
    await session.flush()


async def create_api_token(
    session: AsyncSession, name: str, scopes: list[str], created_by: Person | None = None
) -> tuple[ApiToken, str]:
    """A new token; the secret is returned once and only its hash is kept."""
    name = name.strip()
    if not name or len(name) > 100:
        raise PeopleError(N_("A token needs a name (at most 100 characters)."))
    unknown = [scope for scope in scopes if scope not in API_SCOPES]
    if not scopes or unknown:
        raise PeopleError(N_("Unknown scope."))
    secret = new_token("cit_")
    token = ApiToken(
        name=name,
        scopes=" ".join(sorted(set(scopes))),
        token_hash=hash_token(secret),
        prefix=secret[:10],
        created_by_id=created_by.id if created_by else None,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def list_api_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.execute(select(ApiToken).order_by(ApiToken.id))).scalars())


class ApiTokenCache:
    """One app process's recently verified tokens, so that a partner's busy client is not looked up on every
    request. A token is looked up again when its entry is older than `revalidate_seconds`: a revocation
    made in another process takes effect that late (at once in this one: `forget`). Unknown secrets are
    never kept."""

    MAX_ENTRIES = 1_000

    def __init__(self, revalidate_seconds: float) -> None:
        self.revalidate_seconds = revalidate_seconds
        self._tokens: dict[str, tuple[ApiToken, float]] = {}

    async def verify(self, session: AsyncSession, secret: str, scope: str) -> ApiToken | None:
        """As `verify_api_token`."""
        digest = hash_token(secret)
        cached = self._tokens.get(digest)
        if cached is not None and time.monotonic() - cached[1] < self.revalidate_seconds:
            return cached[0] if _allows(cached[0], scope) else None
        token = await _live_token(session, digest)
        if token is None:
            self._tokens.pop(digest, None)
            return None
        await _note_use(session, token)
        if len(self._tokens) >= self.MAX_ENTRIES:
            self._tokens.clear()
        self._tokens[digest] = (detached_copy(token), time.monotonic())
        return token if _allows(token, scope) else None

    def forget(self) -> None:
        self._tokens.clear()


async def revoke_api_token(session: AsyncSession, token_id: int) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise PeopleError(N_("Unknown token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
    return token


async def verify_api_token(session: AsyncSession, secret: str, scope: str) -> ApiToken | None:
    """The live token with this secret and scope, or None. Other domains call this to authenticate machines."""
    token = await _live_token(session, hash_token(secret))
    if token is None or not _allows(token, scope):
        return None
    await _note_use(session, token)
    return token


def _allows(token: ApiToken, scope: str) -> bool:
    return scope in token.scope_list or "admin" in token.scope_list


async def _live_token(session: AsyncSession, digest: str) -> ApiToken | None:
    query = select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
    return (await session.execute(query)).scalar_one_or_none()


async def _note_use(session: AsyncSession, token: ApiToken) -> None:
    now = utcnow()
    # Recorded to the minute: writing the row on every call would serialise a busy client's requests.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
        await session.flush()
