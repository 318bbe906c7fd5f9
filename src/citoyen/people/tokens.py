"""API tokens for machines: created with scopes (only the hash is kept), revoked, verified, and
cached per process so that a busy partner's client is not looked up on every request."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import detached_copy, utcnow
from citoyen.i18n import N_
from citoyen.people.errors import PeopleError
from citoyen.people.models import ApiToken, Person
from citoyen.people.security import hash_token, new_token

API_SCOPES = ("sensing:write", "open311", "opendata:write", "carpool", "admin")
# Scopes that act for the person who created the token (a resident's own carpool app), not for a machine.
PERSONAL_SCOPES = ("carpool",)


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


async def tokens_created_by(session: AsyncSession, person_id: int, scope: str) -> list[ApiToken]:
    """A person's own tokens of a personal scope (live and revoked), newest first."""
    query = (
        select(ApiToken)
        .where(ApiToken.created_by_id == person_id, ApiToken.scopes == scope)
        .order_by(ApiToken.id.desc())
    )
    return list((await session.execute(query)).scalars())


async def delete_tokens_created_by(session: AsyncSession, person_id: int, scope: str) -> int:
    """Erasure: a person's own tokens of a personal scope go with them (their names are the person's words)."""
    tokens = await tokens_created_by(session, person_id, scope)
    for token in tokens:
        await session.delete(token)
    await session.flush()
    return len(tokens)


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
