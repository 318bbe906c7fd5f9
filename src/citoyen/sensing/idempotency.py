"""Idempotency keys for SensorThings POSTs (`Idempotency-Key` header, as the IETF draft and Stripe have it).

A client that sent a batch and got no answer (timeout, crash of the server) cannot know whether it was
stored. With a key, it sends the same request again: the first answer is kept with the data, in the same
transaction, so the retry gets that answer back and nothing is stored twice. The same key with another
request is refused (422), as is a key whose first request has not finished yet (409).

A large CreateObservations is stored in several transactions (`sta_observations_per_transaction`). Each one
keeps, with its Observations, its part of the answer: a row of the same table, with status 102 ("Processing")
and a key of its own (`part_key`), which no client can send. A retry after a failure or crash halfway
finds these parts, answers their rows with what they stored and resumes after them; the last transaction keeps
the whole answer and deletes the parts. Two requests resuming at once collide on a part's key: one gets 409.
"""

from __future__ import annotations

import hashlib
import json
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
PART_STATUS = 102  # HTTP's "Processing": the row is one stored part of an answer still being made


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


def part_key(request: Request, start: int) -> str:
    """The key of the part starting at row `start`: tabs are not printable, so no client key looks like it
    (and a digest of the client's key keeps it within the column)."""
    return f"\t{hashlib.sha256(request.key.encode()).hexdigest()[:40]}\t{start}"


async def stored_parts(session: AsyncSession, request: Request) -> list[str]:
    """The answer rows that earlier attempts of this request stored, in order (contiguous from the first row)."""
    prefix = part_key(request, 0)[:-1]
    rows = (
        await session.execute(
            select(IdempotentAnswer.key, IdempotentAnswer.body).where(
                IdempotentAnswer.token_id == request.token_id,
                IdempotentAnswer.fingerprint == request.fingerprint,
                IdempotentAnswer.status == PART_STATUS,
                IdempotentAnswer.expires_at > utcnow(),
            )
        )
    ).all()
    parts = {int(key[len(prefix) :]): body for key, body in rows if key.startswith(prefix)}
    answered: list[str] = []
    while len(answered) in parts:
        answered.extend(json.loads(parts[len(answered)]))
    return answered


async def keep_part(session: AsyncSession, request: Request, start: int, rows: list[str], lifetime: timedelta) -> None:
    """Keep the answer rows of one stored part in its transaction; 409 when another attempt stored it first."""
    try:
        async with session.begin_nested():
            session.add(
                IdempotentAnswer(
                    token_id=request.token_id,
                    key=part_key(request, start),
                    fingerprint=request.fingerprint,
                    status=PART_STATUS,
                    body=json.dumps(rows),
                    location=None,
                    expires_at=utcnow() + lifetime,
                )
            )
    except IntegrityError:
        raise StaError(409, f"a request with this {HEADER} was being processed at the same time: retry it") from None


async def forget_parts(session: AsyncSession, request: Request) -> None:
    """Delete the parts once the whole answer is kept."""
    prefix = part_key(request, 0)[:-1]
    mine = IdempotentAnswer.token_id == request.token_id, IdempotentAnswer.fingerprint == request.fingerprint
    keys = [key for key in (await session.execute(select(IdempotentAnswer.key).where(*mine))).scalars()]
    parts = [key for key in keys if key.startswith(prefix)]
    if parts:
        await session.execute(delete(IdempotentAnswer).where(*mine, IdempotentAnswer.key.in_(parts)))
