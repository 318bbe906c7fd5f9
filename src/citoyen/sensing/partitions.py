"""Monthly partitions of `sta_observations` on PostgreSQL (see docs/architecture.md, "Observations").

The migration creates January 2024 to December 2028 plus a default partition. Months beyond are added
ahead of time with `ensure_observation_partitions`; rows that arrive for a month without its partition
land in the default partition, which must then be emptied of that month before the month's partition
can be attached (PostgreSQL refuses otherwise), hence "ahead of time".
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


def partition_name(year: int, month: int) -> str:
    return f"sta_observations_y{year:04d}m{month:02d}"


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


async def ensure_observation_partitions(connection: AsyncConnection, until: datetime) -> list[str]:
    """Create the missing monthly partitions from the last existing one up to the month of `until`.

    Returns the names created. Does nothing on SQLite, where the table is not partitioned."""
    if connection.dialect.name != "postgresql":
        return []
    existing = set(
        (
            await connection.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'sta_observations'::regclass"
                )
            )
        ).scalars()
    )
    months = sorted(name for name in existing if name.startswith("sta_observations_y"))
    if months:
        last = months[-1]
        year, month = _next_month(int(last[18:22]), int(last[23:25]))
    else:
        now = datetime.now(UTC)
        year, month = now.year, now.month
    until = until.astimezone(UTC)
    created = []
    while (year, month) <= (until.year, until.month):
        next_year, next_month = _next_month(year, month)
        name = partition_name(year, month)
        await connection.execute(
            text(
                f"CREATE TABLE {name} PARTITION OF sta_observations "
                f"FOR VALUES FROM ('{year:04d}-{month:02d}-01 00:00:00+00') "
                f"TO ('{next_year:04d}-{next_month:02d}-01 00:00:00+00')"
            )
        )
        created.append(name)
        year, month = next_year, next_month
    return created
