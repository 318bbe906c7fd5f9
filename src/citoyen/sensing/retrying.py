"""Internal writers (the MQTT ingest, the demo's sensor feed) retry a transaction the database could not take
right now, instead of dropping what they were writing: SQLite's "database is locked" while another writer
holds the lock longer than busy_timeout, PostgreSQL's serialization failures and deadlocks."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
Result = TypeVar("Result")

# SQLSTATEs PostgreSQL asks a client to retry on: serialization_failure, deadlock_detected.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(error: BaseException) -> bool:
    """Whether the same transaction may succeed if tried again in a moment."""
    if not isinstance(error, DBAPIError):
        return False
    text = str(error.orig).lower()
    if "database is locked" in text or "database is busy" in text:
        return True
    origin = error.orig
    sqlstate = getattr(origin, "sqlstate", None) or getattr(getattr(origin, "__cause__", None), "sqlstate", None)
    return sqlstate in RETRY_SQLSTATES


async def with_retries(
    transaction: Callable[[], Awaitable[Result]],
    what: str,
    *,
    attempts: int = 8,
    first_delay: float = 0.05,
    max_delay: float = 5.0,
) -> Result:
    """Run `transaction` (which opens, writes and commits its own session) until it succeeds, waiting longer
    after each transient failure (with jitter, so writers that collided do not collide again); any other
    error, or the last transient one, goes to the caller."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return await transaction()
        except DBAPIError as error:
            if attempt == attempts or not is_transient(error):
                raise
            log.warning("%s: the database is busy (%s); retry %d in %.2f s", what, error.orig, attempt, delay)
            await asyncio.sleep(delay * (0.5 + random.random()))  # jitter, not a secret
            delay = min(delay * 2, max_delay)
    raise AssertionError("unreachable")
