"""Mailed links: sign-up confirmed by a link (that tells no one whether an address has an account),
one-time login links, and password reset."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.i18n import N_
from citoyen.people.accounts import find_person_by_email, free_pseudonym, normalize_email
from citoyen.people.errors import PeopleError
from citoyen.people.mail import send_mail
from citoyen.people.models import EmailLink, PasswordResetToken, Person
from citoyen.people.security import hash_password, hash_token, new_token, password_problems
from citoyen.people.sessions import end_all_sessions


class MailText(NamedTuple):
    """A translated message with a `{link}` placeholder in its body."""

    subject: str
    body: str


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
    link = f"{base_url(settings)}/login/link/{token}"
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
            display_name=link.display_name or await free_pseudonym(session, link.email),
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
    link = f"{base_url(settings)}/password/reset/{token}"
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
