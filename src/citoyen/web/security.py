"""Who is asking: the signed-in person (signed session cookie), CSRF checks on forms, role guards."""

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
from citoyen.people.security import credential_stamp

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


async def csrf_form(request: Request) -> FormData:
    """The submitted form, once its CSRF token matches the session's; 403 otherwise."""
    form = await request.form()
    expected = request.session.get("csrf")
    submitted = form.get(CSRF_FIELD)
    if not expected or not isinstance(submitted, str) or not secrets.compare_digest(expected, submitted):
        raise HTTPException(403, "CSRF check failed: reload the page and try again.")
    return form


def still_signed_in(request: Request, account: Person | None) -> bool:
    """The session's account exists, is active and has the password the session was opened with;
    otherwise the session forgets it."""
    if people.claim_holds(account, str(request.session.get("stamp", ""))):
        return True
    request.session.pop("person_id", None)
    return False


async def current_person(request: Request, session: DbSession) -> Person | None:
    person_id = request.session.get("person_id")
    person = await people.get_person(session, int(person_id)) if person_id else None
    if not still_signed_in(request, person):
        person = None
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
    person_id = request.session.get("person_id")
    if not person_id:
        raise LoginRequired()
    return people.Claim(int(person_id), str(request.session.get("stamp", "")))


def signed_out(request: Request) -> LoginRequired:
    """The session's claim no longer holds: it forgets the person, who is sent to log in again."""
    request.session.pop("person_id", None)
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


def sign_in(request: Request, person: Person) -> None:
    # A new CSRF token at login, so a token seen before authentication is worthless after it.
    request.session.clear()
    request.state.viewer = Viewer.of(person)
    request.session["person_id"] = person.id
    request.session["stamp"] = credential_stamp(person.password_hash)
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()
    request.state.viewer = None


Form = Annotated[FormData, Depends(csrf_form)]
CurrentPerson = Annotated[Person | None, Depends(current_person)]
SignedInPerson = Annotated[Person, Depends(require_person)]
SignedClaim = Annotated[people.Claim, Depends(require_claim)]
AdminPerson = Annotated[Person, Depends(require_admin)]
StaffPerson = Annotated[Person, Depends(require_staff)]
