"""Logging in with a password, and its throttling: failures counted per client address and account,
per address, and per account, so attackers slow themselves down without locking the owner out."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.i18n import N_
from citoyen.people.accounts import find_person_by_email
from citoyen.people.errors import LoginThrottled, PeopleError
from citoyen.people.links import MailText
from citoyen.people.mail import send_mail
from citoyen.people.models import EmailLink, LoginFailure, Person
from citoyen.people.security import hash_password, hash_token, new_token, verify_password


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


def account_failures_key(email: str) -> str:
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
    account_key = account_failures_key(address)
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
    link = f"{base_url(settings)}/login/link/{token}"
    await send_mail(session, settings, person.email, text.subject, text.body.format(link=link), person.id)
