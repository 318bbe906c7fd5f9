"""Rate limits shared by every worker: fixed-window counters in the database (one row per key and window)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow
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


async def hit(session: AsyncSession, key: str, limit: int, window: timedelta) -> bool:
    """Count one use of `key`; False when it is over `limit` uses in the current window."""
    now = utcnow()
    start = _window_start(now, window)
    values = {"key_hash": hash_token(key), "window_start": start, "hits": 1}
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(RateCounter)
        .values(**values)
        .on_conflict_do_update(index_elements=["key_hash", "window_start"], set_={"hits": RateCounter.hits + 1})
        .returning(RateCounter.hits)
    )
    hits = int((await session.execute(statement)).scalar_one())
    return hits <= limit


async def prune(session: AsyncSession, older_than: timedelta = timedelta(days=1)) -> None:
    await session.execute(delete(RateCounter).where(RateCounter.window_start < utcnow() - older_than))


async def current_hits(session: AsyncSession, key: str, window: timedelta) -> int:
    start = _window_start(utcnow(), window)
    query = select(func.coalesce(func.sum(RateCounter.hits), 0)).where(
        RateCounter.key_hash == hash_token(key), RateCounter.window_start == start
    )
    return int((await session.execute(query)).scalar_one())
