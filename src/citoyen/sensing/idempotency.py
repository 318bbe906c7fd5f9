"""Idempotency keys for SensorThings POSTs (`Idempotency-Key` header, as the IETF draft and Stripe have it).

A client that sent a batch and got no answer (timeout, crash of the server) cannot know whether it was
stored. With a key, it sends the same request again: the first answer is kept with the data, in the same
transaction, so the retry gets that answer back and nothing is stored twice. The same key with another
request is refused (422), as is a key whose first request has not finished yet (409).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.sensing.models import IdempotentAnswer
from citoyen.sensing.service import StaError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    location: str | None


@dataclass(frozen=True)
class Request:
    """A keyed request: whose (API token), which key, and what it asked (the fingerprint)."""

    token_id: int
    key: str
    fingerprint: str


def keyed_request(token_id: int, key: str | None, method: str, path: str, body: bytes) -> Request | None:
    """The request's key, checked; None when the client sent none."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise StaError(400, f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    digest = hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()
    return Request(token_id, key, digest)


async def earlier_answer(session: AsyncSession, request: Request) -> Answer | None:
    """The answer kept for this key, or None when it was never used (or has expired)."""
    row = (
        await session.execute(
            select(IdempotentAnswer).where(
                IdempotentAnswer.token_id == request.token_id, IdempotentAnswer.key == request.key
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.expires_at <= utcnow():
        await session.delete(row)
        await session.flush()
        return None
    if row.fingerprint != request.fingerprint:
        raise StaError(422, f"this {HEADER} was already used for a different request: use a new key for a new request")
    return Answer(row.status, row.body, row.location)


async def keep_answer(session: AsyncSession, request: Request, answer: Answer, lifetime: timedelta) -> None:
    """Keep the answer in the request's transaction (so it commits with the data, or not at all)."""
    now = utcnow()
    # Expired answers go as new ones come, a few at a time through the index on expires_at.
    await session.execute(delete(IdempotentAnswer).where(IdempotentAnswer.expires_at <= now))
    try:
        async with session.begin_nested():
            session.add(
                IdempotentAnswer(
                    token_id=request.token_id,
                    key=request.key,
                    fingerprint=request.fingerprint,
                    status=answer.status,
                    body=answer.body,
                    location=answer.location,
                    expires_at=now + lifetime,
                )
            )
    except IntegrityError:
        # Another request with this key committed first (PostgreSQL: both ran at once).
        raise StaError(409, f"a request with this {HEADER} was being processed at the same time: retry it") from None
