"""A counter of the changes of the neighbourhoods' rollups: one more for each fold that folded something, each
civic refresh, each push of counts by another domain and each rebuild. The pages' snapshots say which version
they were computed from (citoyen.indicators.snapshots)."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators.models import RollupVersion


async def bump(session: AsyncSession) -> None:
    """The neighbourhoods' rollups changed (in the session's transaction, at its end: on PostgreSQL the row stays
    locked until the commit, and another writer of the rollups waits for it)."""
    done = await session.execute(
        update(RollupVersion).where(RollupVersion.id == 1).values(version=RollupVersion.version + 1)
    )
    if not getattr(done, "rowcount", 1):
        await session.execute(insert(RollupVersion).values(id=1, version=1))


async def current_version(session: AsyncSession) -> int:
    found = (await session.execute(select(RollupVersion.version).where(RollupVersion.id == 1))).scalar()
    return int(found or 0)
