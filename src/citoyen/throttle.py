"""Rate limits shared by every worker: fixed-window counters in the database (one row per key and window)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, affected_rows, utcnow
from citoyen.people.security import hash_token


class RateCounter(Base):
    __tablename__ = "rate_counters"

    # A hash of what is limited (an API token, a client address): no personal data kept in clear.
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


# A busy key's count is spread over several rows, so that concurrent requests don't all wait on one row's
# lock until their transactions commit; reads add the shards up.
SHARDS = 8


def _shard_hashes(key: str) -> list[str]:
    return [hash_token(f"{key}#{shard}") for shard in range(SHARDS)]


async def record(session: AsyncSession, key: str, window: timedelta) -> None:
    """Count one use of `key` in the current window."""
    if window > LONGEST_WINDOW:  # housekeeping would prune a window still counting
        raise ValueError(f"a rate window longer than {LONGEST_WINDOW} needs LONGEST_WINDOW raised")
    values = {
        "key_hash": _shard_hashes(key)[secrets.randbelow(SHARDS)],
        "window_start": _window_start(utcnow(), window),
        "hits": 1,
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(RateCounter)
        .values(**values)
        .on_conflict_do_update(index_elements=["key_hash", "window_start"], set_={"hits": RateCounter.hits + 1})
    )
    await session.execute(statement)


async def current_hits(session: AsyncSession, key: str, window: timedelta) -> int:
    """How many uses of `key` the current window has counted."""
    query = select(func.coalesce(func.sum(RateCounter.hits), 0)).where(
        RateCounter.key_hash.in_(_shard_hashes(key)), RateCounter.window_start == _window_start(utcnow(), window)
    )
    return int((await session.execute(query)).scalar_one())


async def hit(session: AsyncSession, key: str, limit: int, window: timedelta) -> bool:
    """Count one use of `key`; False when that makes more than `limit` uses in the current window."""
    await record(session, key, window)
    return await current_hits(session, key, window) <= limit


# The longest window any limit counts in (anonymous reports, residents' verification: one hour). Counters of
# windows that started earlier count nothing any more and are pruned.
LONGEST_WINDOW = timedelta(hours=1)


async def prune(session: AsyncSession, now: datetime) -> int:
    """Delete the counters of windows that are over (housekeeping); how many rows went."""
    result = await session.execute(
        delete(RateCounter)
        .where(RateCounter.window_start < now - LONGEST_WINDOW)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)


@dataclass
class _View:
    window_start: datetime
    hits: int
    read_at: float


class RateGate:
    """One app process's view of busy keys' counts, so that a key far below its limit is not read back on
    every request: the count last read from the database plus what this process recorded since. It is read
    again when older than `revalidate_seconds`, or once it reaches 90 % of the limit (from there on every
    request reads it: exact where it matters, give or take other processes' uses of the last moment)."""

    NEAR_LIMIT = 0.9
    MAX_KEYS = 10_000

    def __init__(self, revalidate_seconds: float) -> None:
        self.revalidate_seconds = revalidate_seconds
        self._views: dict[str, _View] = {}

    async def over_limit(self, session: AsyncSession, key: str, limit: int, window: timedelta) -> bool:
        """Whether `key` has already been used `limit` times in the current window."""
        start = _window_start(utcnow(), window)
        view = self._views.get(key)
        if (
            view is not None
            and view.window_start == start
            and time.monotonic() - view.read_at < self.revalidate_seconds
            and view.hits < limit * self.NEAR_LIMIT
        ):
            return False
        hits = await current_hits(session, key, window)
        if len(self._views) >= self.MAX_KEYS:
            self._views.clear()
        self._views[key] = _View(start, hits, time.monotonic())
        return hits >= limit

    async def record(self, session: AsyncSession, key: str, window: timedelta) -> None:
        """Count one use of `key` (in the database, and in this process's view)."""
        await record(session, key, window)
        view = self._views.get(key)
        if view is not None and view.window_start == _window_start(utcnow(), window):
            view.hits += 1
