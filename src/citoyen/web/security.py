"""Who is asking: the signed-in person (a signed cookie naming a session recorded in the database), CSRF
checks on forms, role guards."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData

from citoyen.db import READ_ONLY_METHODS, DbSession
from citoyen.notifications import service as notifications
from citoyen.people import service as people
from citoyen.people.models import Person, Role
from citoyen.people.security import credential_stamp, hash_token
from citoyen.web.params import FORBIDDEN_TEXT, form_has_forbidden_characters

CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Viewer:
    """What pages show of the signed-in person: a copy, valid even after the request's session has
    rolled back (error pages render then)."""

    id: int
    email: str
    display_name: str
    role: Role
    unread_notifications: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @classmethod
    def of(cls, person: Person) -> Viewer:
        return cls(person.id, person.email, person.display_name, person.role)


class LoginRequired(Exception):
    """Raised by page guards; the app turns it into a redirect to the login page."""


def ensure_csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def csrf_form_as_typed(request: Request) -> FormData:
    """The submitted form, once its CSRF token matches the session's; 403 otherwise. Control characters are
    left for the route to refuse with the form shown back as typed (`TypedForm`)."""
    form = await request.form()
    expected = request.session.get("csrf")
    submitted = form.get(CSRF_FIELD)
    if not expected or not isinstance(submitted, str) or not secrets.compare_digest(expected, submitted):
        raise HTTPException(403, "CSRF check failed: reload the page and try again.")
    return form


async def csrf_form(request: Request) -> FormData:
    """The CSRF-checked form, refused (400) when a field holds a character no database may keep (NUL, other
    control characters, lone surrogates): PostgreSQL would refuse it mid-transaction with a server error."""
    form = await csrf_form_as_typed(request)
    if form_has_forbidden_characters(form):
        raise HTTPException(400, FORBIDDEN_TEXT)
    return form


def session_claim(request: Request) -> people.Claim | None:
    """What the signed cookie says: the person, their password's stamp and the session's id (as a hash,
    as the database keeps it)."""
    person_id = request.session.get("person_id")
    session_id = request.session.get("sid")
    if not person_id or not isinstance(session_id, str):
        return None
    return people.Claim(int(person_id), str(request.session.get("stamp", "")), hash_token(session_id))


async def current_person(request: Request, session: DbSession) -> Person | None:
    claim = session_claim(request)
    person = await people.signed_in_person(session, request.app.state.settings, claim) if claim else None
    if person is None and claim is not None:
        # Ended, or the account changed: the cookie forgets it.
        request.session.pop("person_id", None)
        request.session.pop("sid", None)
    request.state.session_hash = claim.session if person is not None and claim is not None else None
    if person is None:
        request.state.viewer = None
    elif request.method in READ_ONLY_METHODS:
        # For the nav's "Notifications (n)": one indexed count per page. Forms answer with a redirect (or,
        # refused, the same page once without the number): their requests are spared the count.
        unread = await notifications.unread_count(session, person.id)
        request.state.viewer = replace(Viewer.of(person), unread_notifications=unread)
    else:
        request.state.viewer = Viewer.of(person)
    return person


async def require_person(person: Annotated[Person | None, Depends(current_person)]) -> Person:
    if person is None:
        raise LoginRequired()
    return person


def require_claim(request: Request) -> people.Claim:
    """Who the signed session says is asking, not yet checked against the account: for the busiest form
    (a support), whose statement checks it as it writes (`people.claim_holds_in_postgresql`). A route
    taking it must check the claim before any write, and call `signed_out` when it does not hold."""
    claim = session_claim(request)
    if claim is None:
        raise LoginRequired()
    return claim


def signed_out(request: Request) -> LoginRequired:
    """The session's claim no longer holds: it forgets the person, who is sent to log in again."""
    request.session.pop("person_id", None)
    request.session.pop("sid", None)
    request.state.viewer = None
    return LoginRequired()


async def require_admin(person: Annotated[Person, Depends(require_person)]) -> Person:
    if not person.is_admin:
        raise HTTPException(403, "Administrators only.")
    return person


async def require_staff(person: Annotated[Person, Depends(require_person)]) -> Person:
    if not person.is_staff:
        raise HTTPException(403, "Staff only.")
    return person


async def sign_in(request: Request, session: DbSession, person: Person) -> None:
    """Open a session for this person: recorded in the database, named by the signed cookie."""
    session_id = await people.open_session(session, person, request.headers.get("user-agent", ""))
    # A new CSRF token at login, so a token seen before authentication is worthless after it.
    request.session.clear()
    request.state.viewer = Viewer.of(person)
    request.state.session_hash = hash_token(session_id)
    request.session["person_id"] = person.id
    request.session["stamp"] = credential_stamp(person.password_hash)
    request.session["sid"] = session_id
    request.session["csrf"] = secrets.token_urlsafe(32)


async def sign_out(request: Request, session: DbSession) -> None:
    """End this browser's session, in the database too: a copy of the cookie opens nothing after it."""
    claim = session_claim(request)
    if claim is not None:
        await people.end_session(session, claim.session)
    request.session.clear()
    request.state.viewer = None
    request.state.session_hash = None


Form = Annotated[FormData, Depends(csrf_form)]
TypedForm = Annotated[FormData, Depends(csrf_form_as_typed)]
CurrentPerson = Annotated[Person | None, Depends(current_person)]
SignedInPerson = Annotated[Person, Depends(require_person)]
SignedClaim = Annotated[people.Claim, Depends(require_claim)]
AdminPerson = Annotated[Person, Depends(require_admin)]
StaffPerson = Annotated[Person, Depends(require_staff)]
